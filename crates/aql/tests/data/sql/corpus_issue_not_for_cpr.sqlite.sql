SELECT v1.ehr_id AS c0, s0.kind AS c1, s0.num AS c2, s0.text AS c3, s0.text AS c4, s0.num AS c5, s0.num AS c6, s0.iso8601 AS c7, s0.iso8601 AS c8, s0.iso8601 AS c9, s0.iso8601 AS c10, s0.text AS c11, s0.text AS c12, s0.text AS c13
FROM query_node v1
JOIN query_node v2 ON v2.rm_type IN ('EVALUATION') AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?2) AND v2.ehr_id = v1.ehr_id AND v2.object_id = v1.object_id AND v2.seq > 0
LEFT JOIN query_value s0 ON s0.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?2 AND rel_path = ?6) AND s0.ehr_id = v2.ehr_id AND s0.object_id = v2.object_id AND s0.root_seq = v2.seq AND s0.kind IN (1, 2, 3, 7, 8, 9, 10, 11, 12, 14, 15, 16)
WHERE v1.rm_type IN ('COMPOSITION')
  AND v1.seq = 0
  AND v1.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?1)
  AND (v1.template_id = ?3 AND (v2.ehr_id, v2.object_id, v2.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?2 AND rel_path = ?4) AND r.kind IN (3) AND ((r.kind = 3 AND r.code = ?5))))
ORDER BY CASE WHEN s0.kind IN (7, 8) THEN 0 WHEN s0.kind IN (9, 10, 11) THEN 1 WHEN s0.kind IN (12) THEN 2 WHEN s0.kind IN (2, 3, 14, 15, 16) THEN 3 WHEN s0.kind IN (1) THEN 4 END DESC NULLS FIRST, CASE WHEN s0.kind IN (7, 8) THEN s0.num END DESC NULLS FIRST, CASE WHEN s0.kind IN (9, 10, 11) THEN s0.instant END DESC NULLS FIRST, CASE WHEN s0.kind IN (12) THEN s0.num END DESC NULLS FIRST, CASE WHEN s0.kind IN (2, 3, 14, 15, 16) THEN s0.text END DESC NULLS FIRST, CASE WHEN s0.kind IN (1) THEN s0.num END DESC NULLS FIRST
-- 1: 'openEHR-EHR-COMPOSITION.report.v1'
-- 2: 'openEHR-EHR-EVALUATION.cpr_decision_uk.v0'
-- 3: 'ReSPECT-3.v0'
-- 4: '/data[at0001]/items[at0003]/value'
-- 5: 'at0005'
-- 6: '/data[at0001]/items[at0002]/value'
-- cells: [EhrId(0), Value { kind: 1, columns: [(Boolean, 2, Boolean), (Text, 3, Text), (CodedText, 4, Text), (Ordinal, 5, Integer), (Scale, 6, Real), (DateTime, 7, Text), (Date, 8, Text), (Time, 9, Text), (Duration, 10, Text), (Uri, 11, Text), (EhrUri, 12, Text), (Parsable, 13, Text)] }]
