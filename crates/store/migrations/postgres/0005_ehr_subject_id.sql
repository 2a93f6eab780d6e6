-- AQL reads the EHR's subject (`e/ehr_status/subject/external_ref/id/value`) from the EHR's
-- row; a ward query names people by it, without their namespace, so the subject lookup's
-- (namespace, subject_id) key cannot serve it.
CREATE INDEX ehr_subject_id ON ehr (subject_id) WHERE subject_id IS NOT NULL;
