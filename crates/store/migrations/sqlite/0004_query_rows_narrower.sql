-- Query rows made cheaper to write and to keep (BENCHMARKS.md, "Query rows at commit").

-- Dates, times and durations are compared by `instant` or `num` and only returned as
-- written: their text moves to `iso8601`, out of the text index, which held them all
-- (more than half of all values) for conditions that never read them.
ALTER TABLE query_value ADD COLUMN iso8601 TEXT;
UPDATE query_value SET iso8601 = text, text = NULL WHERE kind IN (9, 10, 11, 12);
