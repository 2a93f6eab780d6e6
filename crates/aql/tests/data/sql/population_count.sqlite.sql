SELECT COUNT(DISTINCT v0.ehr_id) AS c0
FROM ehr v0
JOIN query_node v1 ON v1.rm_type IN ('OBSERVATION') AND v1.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?1) AND v1.ehr_id = v0.ehr_id
WHERE (v1.ehr_id, v1.object_id, v1.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?3 AND rel_path = ?2) AND r.kind IN (4, 5) AND ((r.kind = 4 AND r.num > ?4) OR (r.kind = 5 AND r.num > ?5)))
-- 1: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 2: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 3: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 4: 140.0
-- 5: 140.0
-- cells: [Number(0)]
