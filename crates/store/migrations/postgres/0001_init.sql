-- Kith store, PostgreSQL schema 1.
-- Every per-record table carries ehr_id, leads its primary key with it, and no foreign key
-- crosses two EHRs, so with Citus each can be distributed by ehr_id
-- (ehr, contribution, versioned_object, version) and the rest made reference tables
-- (ehr_subject, template, stored_query).
-- Instants are timestamptz; the *_offset columns keep the caller's UTC offset in seconds,
-- which timestamptz drops, so times read back as they were written.

CREATE TABLE ehr (
    ehr_id uuid NOT NULL PRIMARY KEY,
    system_id text NOT NULL,
    time_created timestamptz NOT NULL,
    time_created_offset integer NOT NULL,
    ehr_status_id uuid NOT NULL,
    directory_id uuid,
    subject_namespace text,
    subject_id text
);

-- The one-EHR-per-subject lookup. Keyed by the subject, not by ehr_id: under Citus this is
-- a reference table, the only way to keep the subject unique across shards.
CREATE TABLE ehr_subject (
    namespace text NOT NULL,
    subject_id text NOT NULL,
    ehr_id uuid NOT NULL,
    PRIMARY KEY (namespace, subject_id)
);

CREATE TABLE contribution (
    ehr_id uuid NOT NULL,
    contribution_id uuid NOT NULL,
    system_id text NOT NULL,
    time_committed timestamptz NOT NULL,
    time_committed_offset integer NOT NULL,
    change_type text NOT NULL,
    committer jsonb NOT NULL,
    description jsonb,
    PRIMARY KEY (ehr_id, contribution_id)
);

CREATE TABLE versioned_object (
    ehr_id uuid NOT NULL,
    object_id uuid NOT NULL,
    kind text NOT NULL,
    time_created timestamptz NOT NULL,
    time_created_offset integer NOT NULL,
    latest_version integer NOT NULL,
    PRIMARY KEY (ehr_id, object_id)
);

CREATE TABLE version (
    ehr_id uuid NOT NULL,
    object_id uuid NOT NULL,
    version integer NOT NULL,
    kind text NOT NULL,
    contribution_id uuid NOT NULL,
    time_committed timestamptz NOT NULL,
    change_type text NOT NULL,
    lifecycle_state text NOT NULL,
    template_id text,
    data bytea NOT NULL,
    PRIMARY KEY (ehr_id, object_id, version)
);
-- The data is already zstd-compressed: spare TOAST a futile second compression.
ALTER TABLE version ALTER COLUMN data SET STORAGE EXTERNAL;

-- The "template in use" check.
CREATE INDEX version_template ON version (template_id) WHERE template_id IS NOT NULL;
-- The versions of one contribution.
CREATE INDEX version_contribution ON version (ehr_id, contribution_id);

CREATE TABLE template (
    template_id text NOT NULL PRIMARY KEY,
    concept text NOT NULL,
    archetype_id text NOT NULL,
    created_at timestamptz NOT NULL,
    created_at_offset integer NOT NULL,
    opt bytea NOT NULL
);
ALTER TABLE template ALTER COLUMN opt SET STORAGE EXTERNAL;

CREATE TABLE stored_query (
    name text NOT NULL,
    version text NOT NULL,
    query_type text NOT NULL,
    text text NOT NULL,
    saved timestamptz NOT NULL,
    saved_offset integer NOT NULL,
    PRIMARY KEY (name, version)
);
