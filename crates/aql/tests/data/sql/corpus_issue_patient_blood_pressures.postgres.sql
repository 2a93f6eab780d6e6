SELECT s0.kind AS c0, s0.iso8601 AS c1, s1.kind AS c2, s1.num AS c3, s1.num AS c4, s2.kind AS c5, s2.num AS c6, s2.num AS c7
FROM query_node v1
JOIN query_node v2 ON v2.rm_type IN ('OBSERVATION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $3::text) AND v2.ehr_id = v1.ehr_id AND v2.object_id = v1.object_id AND v2.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $2::text AND rel_path = $4::text) AND s0.ehr_id = v1.ehr_id AND s0.object_id = v1.object_id AND s0.root_seq = v1.seq AND s0.kind IN (9)
LEFT JOIN query_value s1 ON s1.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $3::text AND rel_path = $5::text) AND s1.ehr_id = v2.ehr_id AND s1.object_id = v2.object_id AND s1.root_seq = v2.seq AND s1.kind IN (4, 5)
LEFT JOIN query_value s2 ON s2.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $3::text AND rel_path = $6::text) AND s2.ehr_id = v2.ehr_id AND s2.object_id = v2.object_id AND s2.root_seq = v2.seq AND s2.kind IN (4, 5)
WHERE v1.ehr_id = $1::uuid
  AND v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND v1.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $2::text)
ORDER BY s0.instant ASC NULLS LAST, s1.num ASC NULLS LAST, s2.num ASC NULLS LAST
-- 1: uuid e0000001000040008000000000000000
-- 2: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 3: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 4: '/context/start_time'
-- 5: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 6: '/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value'
-- cells: [Value { kind: 0, columns: [(DateTime, 1, Text)] }, Value { kind: 2, columns: [(Quantity, 3, Real), (Count, 4, Integer)] }, Value { kind: 5, columns: [(Quantity, 6, Real), (Count, 7, Integer)] }]
