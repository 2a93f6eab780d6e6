SELECT DISTINCT v1.ehr_id AS c0
FROM query_node v1
WHERE v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND v1.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $1::text)
  AND ((v1.ehr_id, v1.object_id) IN (SELECT r.ehr_id, r.object_id FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $3::text AND rel_path = $2::text) AND r.kind IN (4, 5) AND ((r.kind IN (4, 5) AND r.num > $4::float8))) OR (v1.ehr_id, v1.object_id) IN (SELECT r.ehr_id, r.object_id FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $3::text AND rel_path = $5::text) AND r.kind IN (4, 5) AND ((r.kind IN (4, 5) AND r.num < $6::float8))))
-- 1: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 2: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 3: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 4: 150.0
-- 5: '/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value'
-- 6: 80.0
-- cells: [EhrId(0)]
