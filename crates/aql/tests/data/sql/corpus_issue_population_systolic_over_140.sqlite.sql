SELECT COUNT(DISTINCT v0.ehr_id) AS c0
FROM ehr v0
JOIN query_node v2 ON v2.rm_type IN ('COMPOSITION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?1) AND v2.ehr_id = v0.ehr_id
JOIN query_node v3 ON v3.rm_type IN ('OBSERVATION') AND v3.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?2) AND v3.ehr_id = v2.ehr_id AND v3.object_id = v2.object_id AND v3.seq > v2.seq AND v3.seq <= v2.last_seq
WHERE (v3.ehr_id, v3.object_id, v3.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?4 AND rel_path = ?3) AND r.kind IN (4, 5) AND ((r.kind = 4 AND r.num > ?5) OR (r.kind = 5 AND r.num > ?6)))
-- 1: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 2: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 3: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 4: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 5: 140.0
-- 6: 140.0
-- cells: [Number(0)]
