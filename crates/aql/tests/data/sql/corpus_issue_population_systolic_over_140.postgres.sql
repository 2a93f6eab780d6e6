SELECT COUNT(DISTINCT v0.ehr_id)::float8 AS c0
FROM (SELECT r.ehr_id FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $1::text) AND r.kind IN (4, 5) AND ((r.kind IN (4, 5) AND r.num > $3::float8)) AND r.object_path_id = (SELECT path_id FROM query_path WHERE path = $4::text)) v0
-- 1: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 2: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 3: 140.0
-- 4: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- cells: [Number(0)]
