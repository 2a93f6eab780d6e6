-- Population queries ("people with a systolic over 140 in an encounter") ask whether a value
-- lies in an object of a given archetype. Each value row now names the archetype of its
-- object's root (the path key id of the node at seq 0), so that question is answered from
-- the value rows alone, without a lookup of the object's root node per matching value.
ALTER TABLE query_value ADD COLUMN object_path_id INTEGER;
UPDATE query_value SET object_path_id = n.archetype_path_id
FROM query_node n
WHERE n.ehr_id = query_value.ehr_id AND n.object_id = query_value.object_id AND n.seq = 0;

-- The numeric index carries what a condition on numbers needs besides the number (the
-- primary key's ehr_id and object_id are in every index of this WITHOUT ROWID table), so that
-- a population query reads the index alone.
DROP INDEX query_value_num;
CREATE INDEX query_value_num ON query_value (path_id, num, kind, object_path_id, root_seq)
    WHERE num IS NOT NULL;
