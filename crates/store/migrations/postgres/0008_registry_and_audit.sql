-- The registry (people, organisations, care relationships, consent directives) and the
-- hash-chained audit trail.

-- People are reference data: one row per person, keyed by their own id; each has one EHR.
CREATE TABLE person (
    person_id uuid NOT NULL PRIMARY KEY,
    ehr_id uuid NOT NULL UNIQUE,
    version integer NOT NULL,
    merged_into uuid,
    family_name text,
    -- lower(family_name), for searches without regard to case
    family_key text,
    given_name text,
    birth_date text,
    document jsonb NOT NULL,
    created timestamptz NOT NULL,
    updated timestamptz NOT NULL
);
CREATE INDEX person_family ON person (family_key, birth_date);
CREATE INDEX person_birth_date ON person (birth_date);

CREATE TABLE person_identifier (
    namespace text NOT NULL,
    value text NOT NULL,
    person_id uuid NOT NULL,
    PRIMARY KEY (namespace, value)
);
CREATE INDEX person_identifier_person ON person_identifier (person_id);

CREATE TABLE organisation (
    code text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    document jsonb NOT NULL,
    created timestamptz NOT NULL,
    updated timestamptz NOT NULL
);

-- Per record: led by the EHR id.
CREATE TABLE care_relationship (
    ehr_id uuid NOT NULL,
    relationship_id uuid NOT NULL,
    kind text NOT NULL,
    organisation text,
    professional text,
    authority text,
    starts timestamptz,
    ends timestamptz,
    document jsonb NOT NULL,
    created timestamptz NOT NULL,
    PRIMARY KEY (ehr_id, relationship_id)
);
-- "whose records may this organisation or professional see": the query filter's lookups
CREATE INDEX care_relationship_organisation ON care_relationship (organisation, ehr_id)
    WHERE organisation IS NOT NULL;
CREATE INDEX care_relationship_professional ON care_relationship (professional, ehr_id)
    WHERE professional IS NOT NULL;

CREATE TABLE consent_directive (
    ehr_id uuid NOT NULL,
    directive_id uuid NOT NULL,
    version integer NOT NULL,
    status text NOT NULL,
    document jsonb NOT NULL,
    created timestamptz NOT NULL,
    updated timestamptz NOT NULL,
    PRIMARY KEY (ehr_id, directive_id)
);

-- The active directives' rules, flattened so that the query filter can test them in SQL.
CREATE TABLE consent_rule (
    ehr_id uuid NOT NULL,
    directive_id uuid NOT NULL,
    rule integer NOT NULL,
    effect text NOT NULL,
    actor_kind text NOT NULL,
    actor text,
    purpose text,
    category text,
    starts timestamptz,
    ends timestamptz,
    PRIMARY KEY (ehr_id, directive_id, rule)
);

-- Append-only; `canonical` is what the hash chain covers, the other columns are copies for
-- lookups.
CREATE TABLE audit_event (
    seq bigint NOT NULL PRIMARY KEY,
    time timestamptz NOT NULL,
    person_id uuid,
    user_id text NOT NULL,
    break_glass boolean NOT NULL,
    allowed boolean NOT NULL,
    canonical bytea NOT NULL,
    hash bytea NOT NULL
);
CREATE INDEX audit_event_person ON audit_event (person_id, seq) WHERE person_id IS NOT NULL;
CREATE INDEX audit_event_break_glass ON audit_event (seq) WHERE break_glass;
