SELECT v0.subject_id AS c0, s0.kind AS c1, s0.iso8601 AS c2, s1.kind AS c3, s1.num AS c4, s1.num AS c5, s2.kind AS c6, s2.num AS c7, s2.num AS c8, s3.kind AS c9, s3.num AS c10, s3.num AS c11
FROM ehr v0
JOIN query_node v2 ON v2.rm_type IN ('COMPOSITION') AND v2.seq = 0 AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $1::text) AND v2.ehr_id = v0.ehr_id
JOIN (SELECT 0 AS operand UNION ALL SELECT 1 AS operand) operands ON 1 = 1
LEFT JOIN query_node v3 ON operands.operand = 0 AND v3.rm_type IN ('OBSERVATION') AND v3.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $2::text) AND v3.ehr_id = v2.ehr_id AND v3.object_id = v2.object_id AND v3.seq > 0
LEFT JOIN query_node v4 ON operands.operand = 1 AND v4.rm_type IN ('OBSERVATION') AND v4.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $3::text) AND v4.ehr_id = v2.ehr_id AND v4.object_id = v2.object_id AND v4.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $1::text AND rel_path = $24::text) AND s0.ehr_id = v2.ehr_id AND s0.object_id = v2.object_id AND s0.root_seq = v2.seq AND s0.kind IN (9)
LEFT JOIN query_value s1 ON s1.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $25::text) AND s1.ehr_id = v3.ehr_id AND s1.object_id = v3.object_id AND s1.root_seq = v3.seq AND s1.kind IN (4, 5)
LEFT JOIN query_value s2 ON s2.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $26::text) AND s2.ehr_id = v3.ehr_id AND s2.object_id = v3.object_id AND s2.root_seq = v3.seq AND s2.kind IN (4, 5)
LEFT JOIN query_value s3 ON s3.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $3::text AND rel_path = $27::text) AND s3.ehr_id = v4.ehr_id AND s3.object_id = v4.object_id AND s3.root_seq = v4.seq AND s3.kind IN (4, 5)
WHERE ((operands.operand = 0 AND v3.seq IS NOT NULL) OR (operands.operand = 1 AND v4.seq IS NOT NULL))
  AND (v0.subject_id = $4::text OR v0.subject_id = $5::text OR v0.subject_id = $6::text OR v0.subject_id = $7::text OR v0.subject_id = $8::text OR v0.subject_id = $9::text OR v0.subject_id = $10::text OR v0.subject_id = $11::text OR v0.subject_id = $12::text OR v0.subject_id = $13::text OR v0.subject_id = $14::text OR v0.subject_id = $15::text OR v0.subject_id = $16::text OR v0.subject_id = $17::text OR v0.subject_id = $18::text OR v0.subject_id = $19::text OR v0.subject_id = $20::text OR v0.subject_id = $21::text OR v0.subject_id = $22::text OR v0.subject_id = $23::text)
ORDER BY s0.instant DESC NULLS FIRST, s1.num ASC NULLS LAST, s3.num ASC NULLS LAST
-- 1: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 2: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 3: 'openEHR-EHR-OBSERVATION.pulse.v1'
-- 4: '8880000001'
-- 5: '9990000002'
-- 6: '9990000003'
-- 7: '8880000004'
-- 8: '9990000005'
-- 9: '8880000006'
-- 10: '8880000007'
-- 11: '8880000008'
-- 12: '8880000009'
-- 13: '8880000010'
-- 14: '8880000011'
-- 15: '8880000012'
-- 16: '8880000013'
-- 17: '8880000014'
-- 18: '8880000015'
-- 19: '8880000016'
-- 20: '8880000017'
-- 21: '8880000018'
-- 22: '8880000019'
-- 23: '8880000020'
-- 24: '/context/start_time'
-- 25: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 26: '/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value'
-- 27: '/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value'
-- cells: [Text(0), Value { kind: 1, columns: [(DateTime, 2, Text)] }, Value { kind: 3, columns: [(Quantity, 4, Real), (Count, 5, Integer)] }, Value { kind: 6, columns: [(Quantity, 7, Real), (Count, 8, Integer)] }, Value { kind: 9, columns: [(Quantity, 10, Real), (Count, 11, Integer)] }]
