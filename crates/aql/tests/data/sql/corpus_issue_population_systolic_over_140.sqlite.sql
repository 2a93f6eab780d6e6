SELECT COUNT(DISTINCT v2.ehr_id) AS c0
FROM query_node v2
WHERE v2.rm_type IN ('COMPOSITION')
  AND v2.seq = 0
  AND v2.archetype_path_id = (SELECT path_id FROM query_path WHERE path = ?1)
  AND (v2.ehr_id, v2.object_id) IN (SELECT r.ehr_id, r.object_id FROM query_value r WHERE r.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = ?3 AND rel_path = ?2) AND r.kind IN (4, 5) AND ((r.kind IN (4, 5) AND r.num > ?4)))
-- 1: 'openEHR-EHR-COMPOSITION.encounter.v1'
-- 2: '/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value'
-- 3: 'openEHR-EHR-OBSERVATION.blood_pressure.v2'
-- 4: 140.0
-- cells: [Number(0)]
