-- Query rows made cheaper to write and to keep (BENCHMARKS.md, "Query rows at
-- commit: profile and reductions").

-- Dates, times and durations are compared by `instant` or `num` and only returned as
-- written: their text moves to `iso8601`, out of the text index, which held them all
-- (more than half of all values) for conditions that never read them.
ALTER TABLE query_value ADD COLUMN iso8601 TEXT;
UPDATE query_value SET iso8601 = text, text = NULL WHERE kind IN (9, 10, 11, 12);

-- A node names its archetype by the archetype's own path key (the archetype id, with an
-- empty `rel_path`) instead of repeating the id's text in every row and index entry.
INSERT OR IGNORE INTO query_path (path, archetype_id, rel_path)
SELECT DISTINCT archetype_id, archetype_id, '' FROM query_node;
CREATE TABLE query_node_keyed (
    ehr_id BLOB NOT NULL,
    object_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    rm_type TEXT NOT NULL,
    archetype_path_id INTEGER NOT NULL,
    parent_path_id INTEGER,
    name TEXT,
    PRIMARY KEY (ehr_id, object_id, seq)
) WITHOUT ROWID;
INSERT INTO query_node_keyed
SELECT n.ehr_id, n.object_id, n.seq, n.last_seq, n.rm_type, p.path_id, n.parent_path_id, n.name
FROM query_node n JOIN query_path p ON p.path = n.archetype_id;
DROP TABLE query_node;
ALTER TABLE query_node_keyed RENAME TO query_node;
-- Population queries that start from an archetype ("every ReSPECT form").
CREATE INDEX query_node_archetype ON query_node (archetype_path_id);
