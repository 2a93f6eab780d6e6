SELECT s0.kind AS c0, s0.iso8601 AS c1
FROM query_node v0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?1 AND rel_path = ?2) AND s0.ehr_id = v0.ehr_id AND s0.object_id = v0.object_id AND s0.root_seq = v0.seq AND s0.kind IN (9)
WHERE v0.rm_type IN ('COMPOSITION')
  AND v0.seq = 0
  AND v0.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?1)
  AND (((CASE WHEN (v0.ehr_id, v0.object_id, v0.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?1 AND rel_path = ?2) AND r.kind IN (9) AND ((r.kind = 9 AND r.instant > ?3))) THEN 1 ELSE 0 END) + (CASE WHEN (v0.ehr_id, v0.object_id, v0.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?1 AND rel_path = ?2) AND r.kind IN (9) AND ((r.kind = 9 AND r.instant < ?4))) THEN 1 ELSE 0 END)) % 2 = 1)
-- 1: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 2: '/context/start_time'
-- 3: 1714521600000000
-- 4: 1577836800000000
-- cells: [Value { kind: 0, columns: [(DateTime, 1, Text)] }]
