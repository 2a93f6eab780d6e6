SELECT v1.name AS c0, v1.ehr_id AS c1, v1.object_id AS c2, v1.seq AS c3
FROM query_node v1
WHERE v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND NOT EXISTS (SELECT 1 FROM query_node v2 WHERE v2.rm_type IN ('OBSERVATION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = $1::text) AND v2.ehr_id = v1.ehr_id AND v2.object_id = v1.object_id AND v2.seq > 0)
  AND (v1.name LIKE $2::text OR NOT ((v1.ehr_id, v1.object_id, v1.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE rel_path = $3::text) AND r.kind IN (9))) OR (v1.ehr_id, v1.object_id, v1.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE rel_path = $4::text) AND r.kind IN (3) AND ((r.kind = 3 AND r.code COLLATE "C" != $5::text))))
LIMIT $6::int8 OFFSET $7::int8
-- 1: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 2: 'Vital%'
-- 3: '/context/start_time'
-- 4: '/context/setting'
-- 5: '238'
-- 6: 10
-- 7: 5
-- cells: [Text(0), Object { ehr_id: 1, object_id: 2, seq: 3 }]
