SELECT v0.ehr_id AS c0, COUNT(*)::float8 AS c1, MAX(s0.num) AS c2, AVG(s0.num) AS c3
FROM ehr v0
JOIN query_node v1 ON v1.rm_type IN ('OBSERVATION') AND v1.archetype_id = $1::text AND v1.ehr_id = v0.ehr_id
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $3::text AND rel_path = $2::text) AND s0.ehr_id = v1.ehr_id AND s0.object_id = v1.object_id AND s0.root_seq = v1.seq AND s0.kind IN (4, 5)
GROUP BY c0
-- 1: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 2: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 3: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- cells: [EhrId(0), Number(1), Number(2), Number(3)]
