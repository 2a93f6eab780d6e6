SELECT v1.ehr_id AS c0, MAX(s0.num) AS c1
FROM query_node v1
JOIN query_node v3 ON v3.rm_type IN ('OBSERVATION') AND v3.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $2::text) AND v3.ehr_id = v1.ehr_id AND v3.object_id = v1.object_id AND v3.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $6::text) AND s0.ehr_id = v3.ehr_id AND s0.object_id = v3.object_id AND s0.root_seq = v3.seq AND s0.kind IN (4, 5)
WHERE v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND v1.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $1::text)
  AND (v1.ehr_id, v1.object_id) IN (SELECT r.ehr_id, r.object_id FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $4::text AND rel_path = $3::text) AND r.kind IN (4, 5) AND ((r.kind IN (4, 5) AND r.num > $5::float8)))
GROUP BY c0
-- 1: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 2: 'openEHR-EHR-OBSERVATION.pulse.v1'
-- 3: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 4: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 5: 140.0
-- 6: '/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value'
-- cells: [EhrId(0), Number(1)]
