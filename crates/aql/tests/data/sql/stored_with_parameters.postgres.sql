SELECT s0.kind AS c0, s0.iso8601 AS c1, s1.kind AS c2, s1.num AS c3, s1.num AS c4
FROM query_node v1
JOIN query_node v2 ON v2.rm_type IN ('OBSERVATION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $2::text) AND v2.ehr_id = v1.ehr_id AND v2.object_id = v1.object_id AND v2.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE rel_path = $3::text) AND s0.ehr_id = v1.ehr_id AND s0.object_id = v1.object_id AND s0.root_seq = v1.seq AND s0.kind IN (9)
LEFT JOIN query_value s1 ON s1.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $5::text) AND s1.ehr_id = v2.ehr_id AND s1.object_id = v2.object_id AND s1.root_seq = v2.seq AND s1.kind IN (4, 5)
WHERE v1.ehr_id = $1::uuid
  AND v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND (EXISTS (SELECT 1 FROM query_value r WHERE r.ehr_id = v1.ehr_id AND r.object_id = v1.object_id AND r.root_seq = v1.seq AND r.path_id IN (SELECT path_id FROM query_path WHERE rel_path = $3::text) AND r.kind IN (9) AND ((r.kind = 9 AND r.instant >= $4::int8))) AND EXISTS (SELECT 1 FROM query_value r WHERE r.ehr_id = v2.ehr_id AND r.object_id = v2.object_id AND r.root_seq = v2.seq AND r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $5::text) AND r.kind IN (4, 5) AND ((r.kind IN (4, 5) AND r.num > $6::float8))))
-- 1: uuid 7d44b88c41994bad97dcd78268e01398
-- 2: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 3: '/context/start_time'
-- 4: 1704067200000000
-- 5: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 6: 140.0
-- cells: [Value { kind: 0, columns: [(DateTime, 1, Text)] }, Value { kind: 2, columns: [(Quantity, 3, Real), (Count, 4, Integer)] }]
