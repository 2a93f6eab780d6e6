-- Kith store, SQLite schema 1.
-- Every per-record table leads its primary key with ehr_id, the same layout as the
-- PostgreSQL schema, so one EHR's rows sit together in each b-tree.
-- Identifiers are 16-byte UUID blobs; instants are unix microseconds plus the UTC offset
-- in seconds, so the instant orders numerically and the caller's offset round-trips.
-- There are no foreign keys: the single writer checks existence itself, and keeping the
-- schema free of them keeps it identical in shape to the distributable PostgreSQL one.

CREATE TABLE ehr (
    ehr_id BLOB NOT NULL PRIMARY KEY,
    system_id TEXT NOT NULL,
    time_created INTEGER NOT NULL,
    time_created_offset INTEGER NOT NULL,
    ehr_status_id BLOB NOT NULL,
    directory_id BLOB,
    subject_namespace TEXT,
    subject_id TEXT
) WITHOUT ROWID;

-- The one-EHR-per-subject lookup. Keyed by the subject, not by ehr_id: in a distributed
-- PostgreSQL this is a reference table, the only way to keep the subject unique.
CREATE TABLE ehr_subject (
    namespace TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    ehr_id BLOB NOT NULL,
    PRIMARY KEY (namespace, subject_id)
) WITHOUT ROWID;

CREATE TABLE contribution (
    ehr_id BLOB NOT NULL,
    contribution_id BLOB NOT NULL,
    system_id TEXT NOT NULL,
    time_committed INTEGER NOT NULL,
    time_committed_offset INTEGER NOT NULL,
    change_type TEXT NOT NULL,
    committer TEXT NOT NULL,
    description TEXT,
    PRIMARY KEY (ehr_id, contribution_id)
) WITHOUT ROWID;

CREATE TABLE versioned_object (
    ehr_id BLOB NOT NULL,
    object_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    time_created INTEGER NOT NULL,
    time_created_offset INTEGER NOT NULL,
    latest_version INTEGER NOT NULL,
    PRIMARY KEY (ehr_id, object_id)
) WITHOUT ROWID;

-- A rowid table (not WITHOUT ROWID) because its rows carry kilobytes of compressed JSON,
-- which SQLite stores better out of the primary key b-tree.
CREATE TABLE version (
    ehr_id BLOB NOT NULL,
    object_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    contribution_id BLOB NOT NULL,
    time_committed INTEGER NOT NULL,
    change_type TEXT NOT NULL,
    lifecycle_state TEXT NOT NULL,
    template_id TEXT,
    data BLOB NOT NULL,
    PRIMARY KEY (ehr_id, object_id, version)
);

-- The "template in use" check.
CREATE INDEX version_template ON version (template_id) WHERE template_id IS NOT NULL;
-- The versions of one contribution.
CREATE INDEX version_contribution ON version (ehr_id, contribution_id);

CREATE TABLE template (
    template_id TEXT NOT NULL PRIMARY KEY,
    concept TEXT NOT NULL,
    archetype_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_at_offset INTEGER NOT NULL,
    opt BLOB NOT NULL
);

CREATE TABLE stored_query (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    query_type TEXT NOT NULL,
    text TEXT NOT NULL,
    saved INTEGER NOT NULL,
    saved_offset INTEGER NOT NULL,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;
