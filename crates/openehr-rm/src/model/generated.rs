//! Generated RM 1.1.0 class table: do not edit, rerun generate/generate_model.py.
// Sources: openEHR specifications-ITS-BMM (BASE and RM Release-1.1.0 .bmm) and
// specifications-ITS-XML (RM Release-1.1.0 and BASE Release-1.1.0 .xsd).

use super::{AttributeDef, ClassDef, ValueKind::*};

/// Attribute type for declared type `Any`: every class conforms to it.
pub const ANY_CLASS: u16 = u16::MAX;

/// Every RM class, sorted by name so that a class id is its position.
pub static CLASSES: &[ClassDef] = &[
    // 0
    ClassDef { name: "ACCESS_CONTROL_SETTINGS", is_abstract: true, ancestors: &[], by_name: &[], xml_order: &[], attributes: &[
    ] },
    // 1
    ClassDef { name: "ACCESS_GROUP_REF", is_abstract: false, ancestors: &[78], by_name: &[0, 1, 2], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "id", type_name: "OBJECT_ID", kind: Object, class: 77, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "namespace", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "type", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 2
    ClassDef { name: "ACTION", is_abstract: false, ancestors: &[9, 13, 50, 75, 88], by_name: &[3, 1, 15, 7, 4, 13, 17, 16, 6, 5, 2, 10, 12, 9, 8, 14, 0, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "protocol", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "guideline_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "description", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "ism_transition", type_name: "ISM_TRANSITION", kind: Object, class: 66, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "instruction_details", type_name: "INSTRUCTION_DETAILS", kind: Object, class: 63, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 3
    ClassDef { name: "ACTIVITY", is_abstract: false, ancestors: &[75, 88], by_name: &[8, 3, 1, 6, 4, 5, 2, 7, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "description", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "timing", type_name: "DV_PARSABLE", kind: Object, class: 34, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "action_archetype_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 4
    ClassDef { name: "ADMIN_ENTRY", is_abstract: false, ancestors: &[13, 50, 75, 88], by_name: &[3, 1, 12, 7, 4, 6, 5, 2, 10, 9, 8, 0, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 5
    ClassDef { name: "ARCHETYPED", is_abstract: false, ancestors: &[], by_name: &[0, 2, 1], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "archetype_id", type_name: "ARCHETYPE_ID", kind: Object, class: 6, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "template_id", type_name: "TEMPLATE_ID", kind: Object, class: 94, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "rm_version", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 6
    ClassDef { name: "ARCHETYPE_ID", is_abstract: false, ancestors: &[77], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 7
    ClassDef { name: "ATTESTATION", is_abstract: false, ancestors: &[8], by_name: &[5, 2, 4, 3, 9, 7, 6, 8, 0, 1], xml_order: &[0, 4, 1, 2, 3, 5, 6, 7, 8, 9], attributes: &[
        AttributeDef { name: "system_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_committed", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "change_type", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "description", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "committer", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "attested_view", type_name: "DV_MULTIMEDIA", kind: Object, class: 30, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "proof", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "items", type_name: "DV_EHR_URI", kind: Object, class: 25, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "reason", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "is_pending", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 8
    ClassDef { name: "AUDIT_DETAILS", is_abstract: false, ancestors: &[], by_name: &[2, 4, 3, 0, 1], xml_order: &[0, 4, 1, 2, 3], attributes: &[
        AttributeDef { name: "system_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_committed", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "change_type", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "description", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "committer", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 9
    ClassDef { name: "CARE_ENTRY", is_abstract: true, ancestors: &[13, 50, 75, 88], by_name: &[3, 1, 7, 4, 13, 6, 5, 2, 10, 12, 9, 8, 0, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "protocol", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "guideline_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 10
    ClassDef { name: "CLUSTER", is_abstract: false, ancestors: &[68, 75, 88], by_name: &[3, 1, 4, 6, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "items", type_name: "ITEM", kind: Object, class: 68, list: true, mandatory: true, xml_attribute: false },
    ] },
    // 11
    ClassDef { name: "CODE_PHRASE", is_abstract: false, ancestors: &[], by_name: &[1, 2, 0], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "terminology_id", type_name: "TERMINOLOGY_ID", kind: Object, class: 95, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "code_string", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "preferred_term", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 12
    ClassDef { name: "COMPOSITION", is_abstract: false, ancestors: &[75, 88], by_name: &[3, 1, 8, 9, 11, 10, 4, 6, 5, 2, 7, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "territory", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "category", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "composer", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "context", type_name: "EVENT_CONTEXT", kind: Object, class: 53, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "content", type_name: "CONTENT_ITEM", kind: Object, class: 13, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 13
    ClassDef { name: "CONTENT_ITEM", is_abstract: true, ancestors: &[75, 88], by_name: &[3, 1, 4, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 14
    ClassDef { name: "CONTRIBUTION", is_abstract: false, ancestors: &[], by_name: &[1, 0, 2], xml_order: &[0, 2, 1], attributes: &[
        AttributeDef { name: "uid", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "audit", type_name: "AUDIT_DETAILS", kind: Object, class: 8, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "versions", type_name: "OBJECT_REF", kind: Object, class: 78, list: true, mandatory: true, xml_attribute: false },
    ] },
    // 15
    ClassDef { name: "DATA_STRUCTURE", is_abstract: true, ancestors: &[75, 88], by_name: &[3, 1, 4, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 16
    ClassDef { name: "DATA_VALUE", is_abstract: true, ancestors: &[], by_name: &[], xml_order: &[], attributes: &[
    ] },
    // 17
    ClassDef { name: "DV_ABSOLUTE_QUANTITY", is_abstract: true, ancestors: &[16, 31, 37], by_name: &[4, 3, 1, 0, 2], xml_order: &[1, 2, 0, 3, 4], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "DV_AMOUNT", kind: Object, class: 18, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 18
    ClassDef { name: "DV_AMOUNT", is_abstract: true, ancestors: &[16, 31, 37], by_name: &[4, 5, 3, 1, 0, 2], xml_order: &[1, 2, 0, 3, 4, 5], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "Real", kind: Real, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy_is_percent", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 19
    ClassDef { name: "DV_BOOLEAN", is_abstract: false, ancestors: &[16], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 20
    ClassDef { name: "DV_CODED_TEXT", is_abstract: false, ancestors: &[16, 42], by_name: &[6, 3, 4, 1, 2, 5, 0], xml_order: &[0, 1, 4, 5, 2, 3, 6], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "hyperlink", type_name: "DV_URI", kind: Object, class: 45, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "formatting", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "mappings", type_name: "TERM_MAPPING", kind: Object, class: 96, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "defining_code", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 21
    ClassDef { name: "DV_COUNT", is_abstract: false, ancestors: &[16, 18, 31, 37], by_name: &[4, 5, 6, 3, 1, 0, 2], xml_order: &[1, 2, 0, 3, 4, 5, 6], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "Real", kind: Real, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy_is_percent", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude", type_name: "Integer64", kind: Integer64, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 22
    ClassDef { name: "DV_DATE", is_abstract: false, ancestors: &[16, 17, 31, 37, 41], by_name: &[4, 3, 1, 0, 2, 5], xml_order: &[1, 2, 0, 3, 4, 5], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 23
    ClassDef { name: "DV_DATE_TIME", is_abstract: false, ancestors: &[16, 17, 31, 37, 41], by_name: &[4, 3, 1, 0, 2, 5], xml_order: &[1, 2, 0, 3, 4, 5], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 24
    ClassDef { name: "DV_DURATION", is_abstract: false, ancestors: &[16, 18, 31, 37], by_name: &[4, 5, 3, 1, 0, 2, 6], xml_order: &[1, 2, 0, 3, 4, 5, 6], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "Real", kind: Real, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy_is_percent", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 25
    ClassDef { name: "DV_EHR_URI", is_abstract: false, ancestors: &[16, 45], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 26
    ClassDef { name: "DV_ENCAPSULATED", is_abstract: true, ancestors: &[16], by_name: &[0, 1], xml_order: &[0, 1], attributes: &[
        AttributeDef { name: "charset", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 27
    ClassDef { name: "DV_GENERAL_TIME_SPECIFICATION", is_abstract: false, ancestors: &[16, 44], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "DV_PARSABLE", kind: Object, class: 34, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 28
    ClassDef { name: "DV_IDENTIFIER", is_abstract: false, ancestors: &[16], by_name: &[3, 1, 0, 2], xml_order: &[0, 3, 1, 2], attributes: &[
        AttributeDef { name: "issuer", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "type", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "assigner", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 29
    ClassDef { name: "DV_INTERVAL", is_abstract: false, ancestors: &[16], by_name: &[0, 4, 2, 1, 5, 3], xml_order: &[0, 1, 4, 5, 2, 3], attributes: &[
        AttributeDef { name: "lower", type_name: "DV_ORDERED", kind: Object, class: 31, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "upper", type_name: "DV_ORDERED", kind: Object, class: 31, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "lower_unbounded", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "upper_unbounded", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "lower_included", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "upper_included", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 30
    ClassDef { name: "DV_MULTIMEDIA", is_abstract: false, ancestors: &[16, 26], by_name: &[2, 0, 6, 4, 7, 8, 1, 5, 10, 9, 3], xml_order: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 9], attributes: &[
        AttributeDef { name: "charset", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "alternate_text", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "uri", type_name: "DV_URI", kind: Object, class: 45, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "Octet", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "media_type", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "compression_algorithm", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "integrity_check", type_name: "Octet", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "integrity_check_algorithm", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "thumbnail", type_name: "DV_MULTIMEDIA", kind: Object, class: 30, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "size", type_name: "Integer", kind: Integer, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 31
    ClassDef { name: "DV_ORDERED", is_abstract: true, ancestors: &[16], by_name: &[1, 0, 2], xml_order: &[1, 2, 0], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 32
    ClassDef { name: "DV_ORDINAL", is_abstract: false, ancestors: &[16, 31], by_name: &[1, 0, 2, 4, 3], xml_order: &[1, 2, 0, 3, 4], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "Integer", kind: Integer, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "symbol", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 33
    ClassDef { name: "DV_PARAGRAPH", is_abstract: false, ancestors: &[16], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "items", type_name: "DV_TEXT", kind: Object, class: 42, list: true, mandatory: true, xml_attribute: false },
    ] },
    // 34
    ClassDef { name: "DV_PARSABLE", is_abstract: false, ancestors: &[16, 26], by_name: &[0, 3, 1, 2], xml_order: &[0, 1, 2, 3], attributes: &[
        AttributeDef { name: "charset", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "formalism", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 35
    ClassDef { name: "DV_PERIODIC_TIME_SPECIFICATION", is_abstract: false, ancestors: &[16, 44], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "DV_PARSABLE", kind: Object, class: 34, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 36
    ClassDef { name: "DV_PROPORTION", is_abstract: false, ancestors: &[16, 18, 31, 37], by_name: &[4, 5, 7, 3, 1, 0, 6, 2, 9, 8], xml_order: &[1, 2, 0, 3, 4, 5, 6, 7, 8, 9], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "Real", kind: Real, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy_is_percent", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "numerator", type_name: "Real", kind: Real, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "denominator", type_name: "Real", kind: Real, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "type", type_name: "PROPORTION_KIND", kind: Integer, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "precision", type_name: "Integer", kind: Integer, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 37
    ClassDef { name: "DV_QUANTIFIED", is_abstract: true, ancestors: &[16, 31], by_name: &[4, 3, 1, 0, 2], xml_order: &[1, 2, 0, 3, 4], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "Any", kind: Object, class: ANY_CLASS, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 38
    ClassDef { name: "DV_QUANTITY", is_abstract: false, ancestors: &[16, 18, 31, 37], by_name: &[4, 5, 6, 3, 1, 0, 2, 11, 7, 8, 10, 9], xml_order: &[1, 2, 0, 3, 4, 5, 6, 8, 11, 9, 10, 7], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "Real", kind: Real, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy_is_percent", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude", type_name: "Real", kind: Real, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "property", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "units", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "units_system", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "units_display_name", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "precision", type_name: "Integer", kind: Integer, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 39
    ClassDef { name: "DV_SCALE", is_abstract: false, ancestors: &[16, 31], by_name: &[1, 0, 2, 4, 3], xml_order: &[1, 2, 0, 3, 4], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "Real", kind: Real, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "symbol", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 40
    ClassDef { name: "DV_STATE", is_abstract: false, ancestors: &[16], by_name: &[1, 0], xml_order: &[0, 1], attributes: &[
        AttributeDef { name: "value", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "is_terminal", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 41
    ClassDef { name: "DV_TEMPORAL", is_abstract: true, ancestors: &[16, 17, 31, 37], by_name: &[4, 3, 1, 0, 2], xml_order: &[1, 2, 0, 3, 4], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 42
    ClassDef { name: "DV_TEXT", is_abstract: false, ancestors: &[16], by_name: &[3, 4, 1, 2, 5, 0], xml_order: &[0, 1, 4, 5, 2, 3], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "hyperlink", type_name: "DV_URI", kind: Object, class: 45, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "formatting", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "mappings", type_name: "TERM_MAPPING", kind: Object, class: 96, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 43
    ClassDef { name: "DV_TIME", is_abstract: false, ancestors: &[16, 17, 31, 37, 41], by_name: &[4, 3, 1, 0, 2, 5], xml_order: &[1, 2, 0, 3, 4, 5], attributes: &[
        AttributeDef { name: "normal_status", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "normal_range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_reference_ranges", type_name: "REFERENCE_RANGE", kind: Object, class: 90, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "magnitude_status", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "accuracy", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 44
    ClassDef { name: "DV_TIME_SPECIFICATION", is_abstract: true, ancestors: &[16], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "DV_PARSABLE", kind: Object, class: 34, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 45
    ClassDef { name: "DV_URI", is_abstract: false, ancestors: &[16], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 46
    ClassDef { name: "EHR", is_abstract: false, ancestors: &[], by_name: &[7, 8, 5, 3, 1, 4, 6, 0, 2], xml_order: &[0, 1, 2, 8, 3, 4, 5, 6, 7], attributes: &[
        AttributeDef { name: "system_id", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "ehr_id", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_created", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "ehr_access", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "ehr_status", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "directory", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "folders", type_name: "OBJECT_REF", kind: Object, class: 78, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "compositions", type_name: "OBJECT_REF", kind: Object, class: 78, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "contributions", type_name: "OBJECT_REF", kind: Object, class: 78, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 47
    ClassDef { name: "EHR_ACCESS", is_abstract: false, ancestors: &[75, 88], by_name: &[3, 1, 4, 5, 2, 6, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "settings", type_name: "ACCESS_CONTROL_SETTINGS", kind: Object, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 48
    ClassDef { name: "EHR_STATUS", is_abstract: false, ancestors: &[75, 88], by_name: &[3, 1, 4, 8, 7, 5, 2, 9, 6, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_SELF", kind: Object, class: 87, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "is_queryable", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "is_modifiable", type_name: "Boolean", kind: Boolean, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "other_details", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 49
    ClassDef { name: "ELEMENT", is_abstract: false, ancestors: &[68, 75, 88], by_name: &[3, 1, 4, 5, 2, 6, 8, 0, 7], xml_order: &[1, 2, 0, 5, 3, 4, 7, 6, 8], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "null_flavour", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "value", type_name: "DATA_VALUE", kind: Object, class: 16, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "null_reason", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 50
    ClassDef { name: "ENTRY", is_abstract: true, ancestors: &[13, 75, 88], by_name: &[3, 1, 7, 4, 6, 5, 2, 10, 9, 8, 0, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 51
    ClassDef { name: "EVALUATION", is_abstract: false, ancestors: &[9, 13, 50, 75, 88], by_name: &[3, 1, 14, 7, 4, 13, 6, 5, 2, 10, 12, 9, 8, 0, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "protocol", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "guideline_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 52
    ClassDef { name: "EVENT", is_abstract: true, ancestors: &[75, 88], by_name: &[3, 1, 8, 4, 5, 2, 7, 6, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 8, 7], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "state", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 53
    ClassDef { name: "EVENT_CONTEXT", is_abstract: false, ancestors: &[88], by_name: &[2, 0, 4, 6, 3, 5, 1], xml_order: &[1, 2, 4, 5, 6, 0, 3], attributes: &[
        AttributeDef { name: "health_care_facility", type_name: "PARTY_IDENTIFIED", kind: Object, class: 83, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "start_time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "end_time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "location", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "setting", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "other_context", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 54
    ClassDef { name: "FEEDER_AUDIT", is_abstract: false, ancestors: &[], by_name: &[4, 1, 2, 3, 0], xml_order: &[0, 1, 2, 3, 4], attributes: &[
        AttributeDef { name: "originating_system_item_ids", type_name: "DV_IDENTIFIER", kind: Object, class: 28, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_system_item_ids", type_name: "DV_IDENTIFIER", kind: Object, class: 28, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "original_content", type_name: "DV_ENCAPSULATED", kind: Object, class: 26, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "originating_system_audit", type_name: "FEEDER_AUDIT_DETAILS", kind: Object, class: 55, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "feeder_system_audit", type_name: "FEEDER_AUDIT_DETAILS", kind: Object, class: 55, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 55
    ClassDef { name: "FEEDER_AUDIT_DETAILS", is_abstract: false, ancestors: &[], by_name: &[1, 6, 2, 3, 0, 4, 5], xml_order: &[0, 1, 2, 3, 4, 5, 6], attributes: &[
        AttributeDef { name: "system_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "location", type_name: "PARTY_IDENTIFIED", kind: Object, class: 83, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_IDENTIFIED", kind: Object, class: 83, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "version_id", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_details", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 56
    ClassDef { name: "FOLDER", is_abstract: false, ancestors: &[75, 88], by_name: &[3, 1, 8, 4, 6, 7, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "folders", type_name: "FOLDER", kind: Object, class: 56, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "items", type_name: "OBJECT_REF", kind: Object, class: 78, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "details", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 57
    ClassDef { name: "GENERIC_ENTRY", is_abstract: false, ancestors: &[13, 75, 88], by_name: &[3, 1, 6, 4, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "ITEM_TREE", kind: Object, class: 73, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 58
    ClassDef { name: "GENERIC_ID", is_abstract: false, ancestors: &[77], by_name: &[1, 0], xml_order: &[0, 1], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "scheme", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 59
    ClassDef { name: "HIER_OBJECT_ID", is_abstract: false, ancestors: &[77, 98], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 60
    ClassDef { name: "HISTORY", is_abstract: false, ancestors: &[15, 75, 88], by_name: &[3, 1, 8, 10, 4, 5, 2, 6, 7, 9, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 10, 9], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "origin", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "period", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "duration", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "summary", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "events", type_name: "EVENT", kind: Object, class: 52, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 61
    ClassDef { name: "IMPORTED_VERSION", is_abstract: false, ancestors: &[100], by_name: &[1, 0, 3, 2], xml_order: &[0, 1, 2, 3], attributes: &[
        AttributeDef { name: "contribution", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "commit_audit", type_name: "AUDIT_DETAILS", kind: Object, class: 8, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "signature", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "item", type_name: "ORIGINAL_VERSION", kind: Object, class: 81, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 62
    ClassDef { name: "INSTRUCTION", is_abstract: false, ancestors: &[9, 13, 50, 75, 88], by_name: &[17, 3, 1, 7, 15, 4, 13, 6, 5, 2, 14, 10, 12, 9, 8, 0, 16, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "protocol", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "guideline_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "narrative", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "expiry_time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "wf_definition", type_name: "DV_PARSABLE", kind: Object, class: 34, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "activities", type_name: "ACTIVITY", kind: Object, class: 3, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 63
    ClassDef { name: "INSTRUCTION_DETAILS", is_abstract: false, ancestors: &[88], by_name: &[2, 0, 1], xml_order: &[0, 2, 1], attributes: &[
        AttributeDef { name: "instruction_id", type_name: "LOCATABLE_REF", kind: Object, class: 76, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "wf_details", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "activity_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 64
    ClassDef { name: "INTERNET_ID", is_abstract: false, ancestors: &[97], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 65
    ClassDef { name: "INTERVAL_EVENT", is_abstract: false, ancestors: &[52, 75, 88], by_name: &[3, 1, 8, 4, 5, 11, 2, 10, 7, 6, 0, 9], xml_order: &[1, 2, 0, 5, 3, 4, 6, 8, 7, 9, 10, 11], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "state", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "width", type_name: "DV_DURATION", kind: Object, class: 24, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "sample_count", type_name: "Integer", kind: Integer, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "math_function", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 66
    ClassDef { name: "ISM_TRANSITION", is_abstract: false, ancestors: &[88], by_name: &[2, 0, 3, 1], xml_order: &[0, 1, 2, 3], attributes: &[
        AttributeDef { name: "current_state", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "transition", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "careflow_step", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "reason", type_name: "DV_TEXT", kind: Object, class: 42, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 67
    ClassDef { name: "ISO_OID", is_abstract: false, ancestors: &[97], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 68
    ClassDef { name: "ITEM", is_abstract: true, ancestors: &[75, 88], by_name: &[3, 1, 4, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 69
    ClassDef { name: "ITEM_LIST", is_abstract: false, ancestors: &[15, 71, 75, 88], by_name: &[3, 1, 4, 6, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "items", type_name: "ELEMENT", kind: Object, class: 49, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 70
    ClassDef { name: "ITEM_SINGLE", is_abstract: false, ancestors: &[15, 71, 75, 88], by_name: &[3, 1, 4, 6, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "item", type_name: "ELEMENT", kind: Object, class: 49, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 71
    ClassDef { name: "ITEM_STRUCTURE", is_abstract: true, ancestors: &[15, 75, 88], by_name: &[3, 1, 4, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 72
    ClassDef { name: "ITEM_TABLE", is_abstract: false, ancestors: &[15, 71, 75, 88], by_name: &[3, 1, 4, 5, 2, 6, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "rows", type_name: "CLUSTER", kind: Object, class: 10, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 73
    ClassDef { name: "ITEM_TREE", is_abstract: false, ancestors: &[15, 71, 75, 88], by_name: &[3, 1, 4, 6, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "items", type_name: "ITEM", kind: Object, class: 68, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 74
    ClassDef { name: "LINK", is_abstract: false, ancestors: &[], by_name: &[0, 2, 1], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "meaning", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "type", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "target", type_name: "DV_EHR_URI", kind: Object, class: 25, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 75
    ClassDef { name: "LOCATABLE", is_abstract: true, ancestors: &[88], by_name: &[3, 1, 4, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 76
    ClassDef { name: "LOCATABLE_REF", is_abstract: false, ancestors: &[78], by_name: &[0, 1, 3, 2], xml_order: &[0, 1, 2, 3], attributes: &[
        AttributeDef { name: "id", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "namespace", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "type", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "path", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 77
    ClassDef { name: "OBJECT_ID", is_abstract: true, ancestors: &[], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 78
    ClassDef { name: "OBJECT_REF", is_abstract: false, ancestors: &[], by_name: &[0, 1, 2], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "id", type_name: "OBJECT_ID", kind: Object, class: 77, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "namespace", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "type", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 79
    ClassDef { name: "OBJECT_VERSION_ID", is_abstract: false, ancestors: &[77, 98], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 80
    ClassDef { name: "OBSERVATION", is_abstract: false, ancestors: &[9, 13, 50, 75, 88], by_name: &[3, 1, 14, 7, 4, 13, 6, 5, 2, 10, 12, 9, 15, 8, 0, 11], xml_order: &[1, 2, 0, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "language", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "encoding", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "subject", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "provider", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_participations", type_name: "PARTICIPATION", kind: Object, class: 82, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "workflow_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "protocol", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "guideline_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "HISTORY", kind: Object, class: 60, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "state", type_name: "HISTORY", kind: Object, class: 60, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 81
    ClassDef { name: "ORIGINAL_VERSION", is_abstract: false, ancestors: &[100], by_name: &[6, 1, 0, 8, 7, 5, 4, 2, 3], xml_order: &[0, 1, 2, 3, 8, 4, 5, 6, 7], attributes: &[
        AttributeDef { name: "contribution", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "commit_audit", type_name: "AUDIT_DETAILS", kind: Object, class: 8, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "signature", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "uid", type_name: "OBJECT_VERSION_ID", kind: Object, class: 79, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "preceding_version_uid", type_name: "OBJECT_VERSION_ID", kind: Object, class: 79, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "other_input_version_uids", type_name: "OBJECT_VERSION_ID", kind: Object, class: 79, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "attestations", type_name: "ATTESTATION", kind: Object, class: 7, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "lifecycle_state", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "data", type_name: "Any", kind: Object, class: ANY_CLASS, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 82
    ClassDef { name: "PARTICIPATION", is_abstract: false, ancestors: &[], by_name: &[0, 2, 3, 1], xml_order: &[0, 3, 1, 2], attributes: &[
        AttributeDef { name: "function", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "mode", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "performer", type_name: "PARTY_PROXY", kind: Object, class: 84, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 83
    ClassDef { name: "PARTY_IDENTIFIED", is_abstract: false, ancestors: &[84], by_name: &[0, 2, 1], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "external_ref", type_name: "PARTY_REF", kind: Object, class: 85, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "name", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "identifiers", type_name: "DV_IDENTIFIER", kind: Object, class: 28, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 84
    ClassDef { name: "PARTY_PROXY", is_abstract: true, ancestors: &[], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "external_ref", type_name: "PARTY_REF", kind: Object, class: 85, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 85
    ClassDef { name: "PARTY_REF", is_abstract: false, ancestors: &[78], by_name: &[0, 1, 2], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "id", type_name: "OBJECT_ID", kind: Object, class: 77, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "namespace", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "type", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 86
    ClassDef { name: "PARTY_RELATED", is_abstract: false, ancestors: &[83, 84], by_name: &[0, 2, 1, 3], xml_order: &[0, 1, 2, 3], attributes: &[
        AttributeDef { name: "external_ref", type_name: "PARTY_REF", kind: Object, class: 85, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "name", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "identifiers", type_name: "DV_IDENTIFIER", kind: Object, class: 28, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "relationship", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 87
    ClassDef { name: "PARTY_SELF", is_abstract: false, ancestors: &[84], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "external_ref", type_name: "PARTY_REF", kind: Object, class: 85, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 88
    ClassDef { name: "PATHABLE", is_abstract: true, ancestors: &[], by_name: &[], xml_order: &[], attributes: &[
    ] },
    // 89
    ClassDef { name: "POINT_EVENT", is_abstract: false, ancestors: &[52, 75, 88], by_name: &[3, 1, 8, 4, 5, 2, 7, 6, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6, 8, 7], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "time", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "state", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "data", type_name: "ITEM_STRUCTURE", kind: Object, class: 71, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 90
    ClassDef { name: "REFERENCE_RANGE", is_abstract: false, ancestors: &[], by_name: &[1, 0], xml_order: &[1, 0], attributes: &[
        AttributeDef { name: "range", type_name: "DV_INTERVAL", kind: Object, class: 29, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "meaning", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 91
    ClassDef { name: "REVISION_HISTORY", is_abstract: false, ancestors: &[], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "items", type_name: "REVISION_HISTORY_ITEM", kind: Object, class: 92, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 92
    ClassDef { name: "REVISION_HISTORY_ITEM", is_abstract: false, ancestors: &[], by_name: &[1, 0], xml_order: &[0, 1], attributes: &[
        AttributeDef { name: "version_id", type_name: "OBJECT_VERSION_ID", kind: Object, class: 79, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "audits", type_name: "AUDIT_DETAILS", kind: Object, class: 8, list: true, mandatory: true, xml_attribute: false },
    ] },
    // 93
    ClassDef { name: "SECTION", is_abstract: false, ancestors: &[13, 75, 88], by_name: &[3, 1, 4, 6, 5, 2, 0], xml_order: &[1, 2, 0, 5, 3, 4, 6], attributes: &[
        AttributeDef { name: "uid", type_name: "UID_BASED_ID", kind: Object, class: 98, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "archetype_node_id", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: true },
        AttributeDef { name: "name", type_name: "DV_TEXT", kind: Object, class: 42, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "archetype_details", type_name: "ARCHETYPED", kind: Object, class: 5, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "feeder_audit", type_name: "FEEDER_AUDIT", kind: Object, class: 54, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "links", type_name: "LINK", kind: Object, class: 74, list: true, mandatory: false, xml_attribute: false },
        AttributeDef { name: "items", type_name: "CONTENT_ITEM", kind: Object, class: 13, list: true, mandatory: false, xml_attribute: false },
    ] },
    // 94
    ClassDef { name: "TEMPLATE_ID", is_abstract: false, ancestors: &[77], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 95
    ClassDef { name: "TERMINOLOGY_ID", is_abstract: false, ancestors: &[77], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 96
    ClassDef { name: "TERM_MAPPING", is_abstract: false, ancestors: &[], by_name: &[0, 1, 2], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "match", type_name: "Character", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "purpose", type_name: "DV_CODED_TEXT", kind: Object, class: 20, list: false, mandatory: false, xml_attribute: false },
        AttributeDef { name: "target", type_name: "CODE_PHRASE", kind: Object, class: 11, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 97
    ClassDef { name: "UID", is_abstract: true, ancestors: &[], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 98
    ClassDef { name: "UID_BASED_ID", is_abstract: true, ancestors: &[77], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 99
    ClassDef { name: "UUID", is_abstract: false, ancestors: &[97], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 100
    ClassDef { name: "VERSION", is_abstract: true, ancestors: &[], by_name: &[1, 0, 2], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "contribution", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "commit_audit", type_name: "AUDIT_DETAILS", kind: Object, class: 8, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "signature", type_name: "String", kind: String, class: 0, list: false, mandatory: false, xml_attribute: false },
    ] },
    // 101
    ClassDef { name: "VERSIONED_COMPOSITION", is_abstract: false, ancestors: &[105], by_name: &[1, 2, 0], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "uid", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "owner_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_created", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 102
    ClassDef { name: "VERSIONED_EHR_ACCESS", is_abstract: false, ancestors: &[105], by_name: &[1, 2, 0], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "uid", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "owner_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_created", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 103
    ClassDef { name: "VERSIONED_EHR_STATUS", is_abstract: false, ancestors: &[105], by_name: &[1, 2, 0], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "uid", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "owner_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_created", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 104
    ClassDef { name: "VERSIONED_FOLDER", is_abstract: false, ancestors: &[105], by_name: &[1, 2, 0], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "uid", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "owner_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_created", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 105
    ClassDef { name: "VERSIONED_OBJECT", is_abstract: false, ancestors: &[], by_name: &[1, 2, 0], xml_order: &[0, 1, 2], attributes: &[
        AttributeDef { name: "uid", type_name: "HIER_OBJECT_ID", kind: Object, class: 59, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "owner_id", type_name: "OBJECT_REF", kind: Object, class: 78, list: false, mandatory: true, xml_attribute: false },
        AttributeDef { name: "time_created", type_name: "DV_DATE_TIME", kind: Object, class: 23, list: false, mandatory: true, xml_attribute: false },
    ] },
    // 106
    ClassDef { name: "VERSION_TREE_ID", is_abstract: false, ancestors: &[], by_name: &[0], xml_order: &[0], attributes: &[
        AttributeDef { name: "value", type_name: "String", kind: String, class: 0, list: false, mandatory: true, xml_attribute: false },
    ] },
];
