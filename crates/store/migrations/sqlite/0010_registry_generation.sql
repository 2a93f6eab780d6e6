-- A number that changes whenever the registry does (people, identifiers, organisations,
-- relationships, consent directives and their rules), bumped by triggers so that no write
-- can forget it. Access decisions computed from the registry (a caller's AQL row filter)
-- are reused while it stays the same, on every server sharing the database.
CREATE TABLE registry_generation (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO registry_generation (id, generation) VALUES (1, 0);
CREATE TRIGGER person_insert_bumps_registry AFTER INSERT ON person
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER person_update_bumps_registry AFTER UPDATE ON person
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER person_delete_bumps_registry AFTER DELETE ON person
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER person_identifier_insert_bumps_registry AFTER INSERT ON person_identifier
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER person_identifier_update_bumps_registry AFTER UPDATE ON person_identifier
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER person_identifier_delete_bumps_registry AFTER DELETE ON person_identifier
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER organisation_insert_bumps_registry AFTER INSERT ON organisation
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER organisation_update_bumps_registry AFTER UPDATE ON organisation
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER organisation_delete_bumps_registry AFTER DELETE ON organisation
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER care_relationship_insert_bumps_registry AFTER INSERT ON care_relationship
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER care_relationship_update_bumps_registry AFTER UPDATE ON care_relationship
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER care_relationship_delete_bumps_registry AFTER DELETE ON care_relationship
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER consent_directive_insert_bumps_registry AFTER INSERT ON consent_directive
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER consent_directive_update_bumps_registry AFTER UPDATE ON consent_directive
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER consent_directive_delete_bumps_registry AFTER DELETE ON consent_directive
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER consent_rule_insert_bumps_registry AFTER INSERT ON consent_rule
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER consent_rule_update_bumps_registry AFTER UPDATE ON consent_rule
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
CREATE TRIGGER consent_rule_delete_bumps_registry AFTER DELETE ON consent_rule
BEGIN UPDATE registry_generation SET generation = generation + 1; END;
