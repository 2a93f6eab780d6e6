-- A number that changes whenever the registry does (people, identifiers, organisations,
-- relationships, consent directives and their rules), bumped by triggers so that no write
-- can forget it. Access decisions computed from the registry (a caller's AQL row filter)
-- are reused while it stays the same, on every server sharing the database.
CREATE TABLE registry_generation (
    id integer NOT NULL PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO registry_generation (id, generation) VALUES (1, 0);
CREATE FUNCTION bump_registry_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER person_bumps_registry AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON person
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER person_identifier_bumps_registry AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON person_identifier
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER organisation_bumps_registry AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organisation
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER care_relationship_bumps_registry AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON care_relationship
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER consent_directive_bumps_registry AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consent_directive
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER consent_rule_bumps_registry AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consent_rule
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
