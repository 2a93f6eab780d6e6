-- The rows AQL queries are answered from, derived at commit time from the latest version of
-- each object (aql::index documents the path keys and the typed columns). The rows of an
-- object are replaced whenever a version is committed, and removed when it is deleted.

-- Path keys, interned: the value and node rows carry the small id. A key is an archetype id
-- and a path from that archetype's root (`rel_path`), kept apart as well so a query on a
-- variable whose archetype it does not name can find every archetype's key for a path.
CREATE TABLE query_path (
    path_id INTEGER NOT NULL PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    archetype_id TEXT NOT NULL,
    rel_path TEXT NOT NULL
);
CREATE INDEX query_path_rel_path ON query_path (rel_path);

-- Archetype roots as nested sets: B is inside A (same object) when A.seq < B.seq <= A.last_seq.
CREATE TABLE query_node (
    ehr_id BLOB NOT NULL,
    object_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    rm_type TEXT NOT NULL,
    archetype_id TEXT NOT NULL,
    parent_path_id INTEGER,
    name TEXT,
    PRIMARY KEY (ehr_id, object_id, seq)
) WITHOUT ROWID;
-- Population queries that start from an archetype ("every ReSPECT form").
CREATE INDEX query_node_archetype ON query_node (archetype_id);

-- One row per data value, with typed columns; `item` numbers the values of one object.
CREATE TABLE query_value (
    ehr_id BLOB NOT NULL,
    object_id BLOB NOT NULL,
    item INTEGER NOT NULL,
    root_seq INTEGER NOT NULL,
    path_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    num REAL,
    text TEXT,
    code TEXT,
    system TEXT,
    units TEXT,
    instant INTEGER,
    PRIMARY KEY (ehr_id, object_id, item)
) WITHOUT ROWID;
-- Conditions across all EHRs on a path's magnitude, code, date or text.
CREATE INDEX query_value_num ON query_value (path_id, num) WHERE num IS NOT NULL;
CREATE INDEX query_value_code ON query_value (path_id, code) WHERE code IS NOT NULL;
CREATE INDEX query_value_instant ON query_value (path_id, instant) WHERE instant IS NOT NULL;
CREATE INDEX query_value_text ON query_value (path_id, text) WHERE text IS NOT NULL;
