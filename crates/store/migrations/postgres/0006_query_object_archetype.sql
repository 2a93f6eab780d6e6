-- Population queries ("people with a systolic over 140 in an encounter") ask whether a value
-- lies in an object of a given archetype. Each value row now names the archetype of its
-- object's root (the path key id of the node at seq 0), so that question is answered from
-- the value rows alone, without a lookup of the object's root node per matching value.
ALTER TABLE query_value ADD COLUMN object_path_id integer;
UPDATE query_value v SET object_path_id = n.archetype_path_id
FROM query_node n
WHERE n.ehr_id = v.ehr_id AND n.object_id = v.object_id AND n.seq = 0;

-- The numeric index carries what a condition on numbers needs besides the number (the
-- row's kind, object, root and object archetype), so that a population query reads the
-- index alone (an index-only scan) instead of one table page per matching value.
DROP INDEX query_value_num;
CREATE INDEX query_value_num ON query_value (path_id, num)
    INCLUDE (kind, ehr_id, object_id, root_seq, object_path_id) WHERE num IS NOT NULL;

-- Compositions and EHR_STATUS are the roots (seq 0) of their objects; a query binds them by
-- EHR, object and archetype, which this small index answers without reading the table.
CREATE INDEX query_node_root ON query_node (ehr_id, object_id)
    INCLUDE (archetype_path_id, rm_type) WHERE seq = 0;
