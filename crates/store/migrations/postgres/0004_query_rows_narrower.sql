-- Query rows made cheaper to write and to keep (BENCHMARKS.md, "Query rows at commit").

-- Dates, times and durations are compared by `instant` or `num` and only returned as
-- written: their text moves to `iso8601`, out of the text index, which held them all
-- (more than half of all values) for conditions that never read them.
ALTER TABLE query_value ADD COLUMN iso8601 text;
UPDATE query_value SET iso8601 = text, text = NULL WHERE kind IN (9, 10, 11, 12);

-- The rows of an object are found by (ehr_id, object_id) and never by their number within
-- it, and only the store writes them: a non-unique index on the object, which PostgreSQL
-- deduplicates (one entry per object instead of one per row), replaces the primary keys.
ALTER TABLE query_value DROP CONSTRAINT query_value_pkey;
CREATE INDEX query_value_object ON query_value (ehr_id, object_id);
ALTER TABLE query_node DROP CONSTRAINT query_node_pkey;
CREATE INDEX query_node_object ON query_node (ehr_id, object_id);
