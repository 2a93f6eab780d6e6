-- The registry (people, organisations, care relationships, consent directives) and the
-- hash-chained audit trail. Times are microseconds since the epoch, UTC.

-- People are reference data: one row per person, keyed by their own id; each has one EHR.
CREATE TABLE person (
    person_id BLOB NOT NULL PRIMARY KEY,
    ehr_id BLOB NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    merged_into BLOB,
    family_name TEXT,
    -- lower(family_name), for searches without regard to case
    family_key TEXT,
    given_name TEXT,
    birth_date TEXT,
    document TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX person_family ON person (family_key, birth_date);
CREATE INDEX person_birth_date ON person (birth_date);

CREATE TABLE person_identifier (
    namespace TEXT NOT NULL,
    value TEXT NOT NULL,
    person_id BLOB NOT NULL,
    PRIMARY KEY (namespace, value)
) WITHOUT ROWID;
CREATE INDEX person_identifier_person ON person_identifier (person_id);

CREATE TABLE organisation (
    code TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    document TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
) WITHOUT ROWID;

-- Per record: led by the EHR id.
CREATE TABLE care_relationship (
    ehr_id BLOB NOT NULL,
    relationship_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    organisation TEXT,
    professional TEXT,
    authority TEXT,
    starts INTEGER,
    ends INTEGER,
    document TEXT NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (ehr_id, relationship_id)
) WITHOUT ROWID;
-- "whose records may this organisation or professional see": the query filter's lookups
CREATE INDEX care_relationship_organisation ON care_relationship (organisation, ehr_id)
    WHERE organisation IS NOT NULL;
CREATE INDEX care_relationship_professional ON care_relationship (professional, ehr_id)
    WHERE professional IS NOT NULL;

CREATE TABLE consent_directive (
    ehr_id BLOB NOT NULL,
    directive_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (ehr_id, directive_id)
) WITHOUT ROWID;

-- The active directives' rules, flattened so that the query filter can test them in SQL.
CREATE TABLE consent_rule (
    ehr_id BLOB NOT NULL,
    directive_id BLOB NOT NULL,
    rule INTEGER NOT NULL,
    effect TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT,
    purpose TEXT,
    category TEXT,
    starts INTEGER,
    ends INTEGER,
    PRIMARY KEY (ehr_id, directive_id, rule)
) WITHOUT ROWID;

-- Append-only; `canonical` is what the hash chain covers, the other columns are copies for
-- lookups.
CREATE TABLE audit_event (
    seq INTEGER NOT NULL PRIMARY KEY,
    time INTEGER NOT NULL,
    person_id BLOB,
    user_id TEXT NOT NULL,
    break_glass INTEGER NOT NULL,
    allowed INTEGER NOT NULL,
    canonical BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_event_person ON audit_event (person_id, seq) WHERE person_id IS NOT NULL;
CREATE INDEX audit_event_break_glass ON audit_event (seq) WHERE break_glass = 1;
