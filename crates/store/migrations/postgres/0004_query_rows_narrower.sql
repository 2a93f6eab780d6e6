-- Query rows made cheaper to write and to keep (BENCHMARKS.md, "Query rows at
-- commit: profile and reductions").

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

-- A node names its archetype by the archetype's own path key (the archetype id, with an
-- empty `rel_path`) instead of repeating the id's text in every row.
INSERT INTO query_path (path, archetype_id, rel_path)
SELECT DISTINCT archetype_id, archetype_id, '' FROM query_node
ON CONFLICT (path) DO NOTHING;
ALTER TABLE query_node ADD COLUMN archetype_path_id integer;
UPDATE query_node n SET archetype_path_id = p.path_id FROM query_path p
WHERE p.path = n.archetype_id;
ALTER TABLE query_node ALTER COLUMN archetype_path_id SET NOT NULL;
DROP INDEX query_node_archetype;
ALTER TABLE query_node DROP COLUMN archetype_id;
CREATE INDEX query_node_archetype ON query_node (archetype_path_id);
