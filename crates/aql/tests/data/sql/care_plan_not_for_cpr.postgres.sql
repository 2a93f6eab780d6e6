SELECT v1.ehr_id AS c0, s0.kind AS c1, s0.iso8601 AS c2
FROM query_node v1
JOIN query_node v2 ON v2.rm_type IN ('EVALUATION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $2::text) AND v2.ehr_id = v1.ehr_id AND v2.object_id = v1.object_id AND v2.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $1::text AND rel_path = $5::text) AND s0.ehr_id = v1.ehr_id AND s0.object_id = v1.object_id AND s0.root_seq = v1.seq AND s0.kind IN (9)
WHERE v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND v1.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $1::text)
  AND (v2.ehr_id, v2.object_id, v2.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $3::text) AND r.kind IN (3) AND ((r.kind = 3 AND left(r.code, 200) = left($4::text, 200) AND r.code = $4::text)))
-- 1: 'openEHR-EHR-COMPOSITION.respect_form.v0'
-- 2: 'openEHR-EHR-EVALUATION.cpr_decision_uk.v0'
-- 3: '/data[at0001]/items[at0003]/value'
-- 4: 'at0005'
-- 5: '/context/start_time'
-- cells: [EhrId(0), Value { kind: 1, columns: [(DateTime, 2, Text)] }]
