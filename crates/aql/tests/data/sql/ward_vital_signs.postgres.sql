SELECT v1.ehr_id AS c0, s0.kind AS c1, s0.iso8601 AS c2, s1.kind AS c3, s1.num AS c4, s1.num AS c5, s2.kind AS c6, s2.num AS c7, s2.num AS c8
FROM query_node v1
JOIN query_node v2 ON v2.rm_type IN ('OBSERVATION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $1::text) AND v2.ehr_id = v1.ehr_id AND v2.object_id = v1.object_id AND v2.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE rel_path = $4::text) AND s0.ehr_id = v1.ehr_id AND s0.object_id = v1.object_id AND s0.root_seq = v1.seq AND s0.kind IN (9)
LEFT JOIN query_value s1 ON s1.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $1::text AND rel_path = $5::text) AND s1.ehr_id = v2.ehr_id AND s1.object_id = v2.object_id AND s1.root_seq = v2.seq AND s1.kind IN (4, 5)
LEFT JOIN query_value s2 ON s2.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $1::text AND rel_path = $6::text) AND s2.ehr_id = v2.ehr_id AND s2.object_id = v2.object_id AND s2.root_seq = v2.seq AND s2.kind IN (4, 5)
WHERE v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND (v1.ehr_id = $2::uuid OR v1.ehr_id = $3::uuid OR 1 = 0)
ORDER BY s0.instant DESC NULLS FIRST
LIMIT $7::int8
-- 1: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 2: uuid 7d44b88c41994bad97dcd78268e01398
-- 3: uuid 0e5f3a441b9b4d3c9a576bb1e1f0b3a1
-- 4: '/context/start_time'
-- 5: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 6: '/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value'
-- 7: 20
-- cells: [EhrId(0), Value { kind: 1, columns: [(DateTime, 2, Text)] }, Value { kind: 3, columns: [(Quantity, 4, Real), (Count, 5, Integer)] }, Value { kind: 6, columns: [(Quantity, 7, Real), (Count, 8, Integer)] }]
