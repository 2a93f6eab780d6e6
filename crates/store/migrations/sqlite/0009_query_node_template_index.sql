-- "Which records hold compositions of these templates": the access filter's question for
-- data categories (sensitive templates), answered from the composition roots' template ids.
CREATE INDEX query_node_template ON query_node (template_id, ehr_id)
    WHERE template_id IS NOT NULL;
