-- A composition's template id (`c/archetype_details/template_id/value`, the latest
-- version's) on its root node row, so that the very common template condition is a column
-- of the row a query already binds instead of a lookup of the latest version per
-- composition. Only roots (seq 0) of compositions have one.
ALTER TABLE query_node ADD COLUMN template_id text;
UPDATE query_node n SET template_id = v.template_id
FROM versioned_object o
JOIN version v ON v.ehr_id = o.ehr_id AND v.object_id = o.object_id
    AND v.version = o.latest_version
WHERE n.ehr_id = o.ehr_id AND n.object_id = o.object_id AND n.seq = 0
    AND v.template_id IS NOT NULL;
