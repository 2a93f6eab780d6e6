//! Unit tests of `validate`: one hand-built template and composition per constraint, each
//! breaking exactly that constraint, through one `check` helper.

use serde_json::{Value, json};

use super::*;
use crate::model::{Cardinality, CodeRef, Multiplicity, Term, Terminology};

/// The path of the ITEM_TREE every test puts its items in.
const TREE: &str =
    "/content[openEHR-EHR-OBSERVATION.test.v1]/data[at0001]/events[at0002]/data[at0003]";

fn occurrences(lower: u32, upper: Option<u32>) -> Multiplicity {
    Interval {
        lower: Some(lower),
        upper,
        lower_included: true,
        upper_included: upper.is_some(),
    }
}

fn complex(rm_type: &str, node_id: &str, attributes: Vec<AttributeConstraint>) -> ObjectConstraint {
    ObjectConstraint {
        rm_type: rm_type.to_owned(),
        node_id: node_id.to_owned(),
        occurrences: occurrences(0, Some(1)),
        kind: ObjectKind::Complex { attributes },
    }
}

fn with_occurrences(
    mut constraint: ObjectConstraint,
    lower: u32,
    upper: Option<u32>,
) -> ObjectConstraint {
    constraint.occurrences = occurrences(lower, upper);
    constraint
}

fn of_kind(rm_type: &str, kind: ObjectKind) -> ObjectConstraint {
    ObjectConstraint {
        rm_type: rm_type.to_owned(),
        node_id: String::new(),
        occurrences: occurrences(1, Some(1)),
        kind,
    }
}

fn primitive(rm_type: &str, constraint: PrimitiveConstraint) -> ObjectConstraint {
    of_kind(rm_type, ObjectKind::Primitive(constraint))
}

fn single(name: &str, children: Vec<ObjectConstraint>) -> AttributeConstraint {
    AttributeConstraint {
        name: name.to_owned(),
        existence: occurrences(1, Some(1)),
        cardinality: None,
        children,
    }
}

fn multiple(
    name: &str,
    lower: u32,
    upper: Option<u32>,
    children: Vec<ObjectConstraint>,
) -> AttributeConstraint {
    AttributeConstraint {
        name: name.to_owned(),
        existence: occurrences(0, Some(1)),
        cardinality: Some(Cardinality {
            interval: occurrences(lower, upper),
            is_ordered: false,
            is_unique: false,
        }),
        children,
    }
}

/// An ELEMENT whose value must match one of `values`.
fn element(node_id: &str, values: Vec<ObjectConstraint>) -> ObjectConstraint {
    complex("ELEMENT", node_id, vec![single("value", values)])
}

/// A DATA_VALUE of `rm_type` with one primitive-constrained attribute.
fn value_with(rm_type: &str, attribute: &str, constraint: ObjectConstraint) -> ObjectConstraint {
    complex(rm_type, "", vec![single(attribute, vec![constraint])])
}

fn strings(pattern: Option<&str>, list: &[&str]) -> PrimitiveConstraint {
    PrimitiveConstraint::String {
        pattern: pattern.map(str::to_owned),
        list: list.iter().map(|item| (*item).to_owned()).collect(),
    }
}

fn temporal(pattern: Option<&str>, range: Option<(&str, &str)>) -> TemporalConstraint {
    TemporalConstraint {
        pattern: pattern.map(str::to_owned),
        range: range.map(|(lower, upper)| Interval {
            lower: Some(lower.to_owned()),
            upper: Some(upper.to_owned()),
            lower_included: true,
            upper_included: true,
        }),
    }
}

fn local_terms() -> Terminology {
    let mut terms = Terminology::default();
    let english = terms.terms.entry("en".to_owned()).or_default();
    for (code, text) in [("at0010", "mild"), ("at0011", "severe")] {
        english.insert(
            code.to_owned(),
            Term {
                text: text.to_owned(),
                description: String::new(),
            },
        );
    }
    terms
}

/// A template whose observation's ITEM_TREE has `items` as its items attribute.
fn template_with(items: AttributeConstraint) -> Template {
    let tree = complex("ITEM_TREE", "at0003", vec![items]);
    let event = complex("EVENT", "at0002", vec![single("data", vec![tree])]);
    let history = complex(
        "HISTORY",
        "at0001",
        vec![multiple(
            "events",
            0,
            None,
            vec![with_occurrences(event, 0, None)],
        )],
    );
    let observation = ObjectConstraint {
        rm_type: "OBSERVATION".to_owned(),
        node_id: "openEHR-EHR-OBSERVATION.test.v1".to_owned(),
        occurrences: occurrences(0, None),
        kind: ObjectKind::ArchetypeRoot {
            archetype_id: "openEHR-EHR-OBSERVATION.test.v1".to_owned(),
            attributes: vec![single("data", vec![history])],
            terms: local_terms(),
        },
    };
    Template {
        template_id: "test".to_owned(),
        concept: "test".to_owned(),
        language: "en".to_owned(),
        root: ObjectConstraint {
            rm_type: "COMPOSITION".to_owned(),
            node_id: "openEHR-EHR-COMPOSITION.test.v1".to_owned(),
            occurrences: occurrences(1, Some(1)),
            kind: ObjectKind::ArchetypeRoot {
                archetype_id: "openEHR-EHR-COMPOSITION.test.v1".to_owned(),
                attributes: vec![multiple("content", 0, None, vec![observation])],
                terms: Terminology::default(),
            },
        },
    }
}

fn text(value: &str) -> Value {
    json!({"_type": "DV_TEXT", "value": value})
}

fn code(terminology: &str, code: &str) -> Value {
    json!({"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology}, "code_string": code})
}

fn coded(value: &str, terminology: &str, code_string: &str) -> Value {
    json!({"_type": "DV_CODED_TEXT", "value": value, "defining_code": code(terminology, code_string)})
}

fn item(node_id: &str, name: &str, value: Value) -> Value {
    json!({"_type": "ELEMENT", "name": text(name), "archetype_node_id": node_id, "value": value})
}

fn event(items: Value) -> Value {
    json!({
        "_type": "POINT_EVENT", "name": text("any event"), "archetype_node_id": "at0002",
        "time": {"_type": "DV_DATE_TIME", "value": "2020-01-01T10:00:00Z"},
        "data": {"_type": "ITEM_TREE", "name": text("tree"), "archetype_node_id": "at0003", "items": items}
    })
}

fn composition_json(events: Value) -> Value {
    json!({
        "_type": "COMPOSITION", "name": text("test"), "archetype_node_id": "openEHR-EHR-COMPOSITION.test.v1",
        "language": code("ISO_639-1", "en"), "territory": code("ISO_3166-1", "DE"),
        "category": coded("event", "openehr", "433"),
        "composer": {"_type": "PARTY_SELF"},
        "context": {
            "_type": "EVENT_CONTEXT",
            "start_time": {"_type": "DV_DATE_TIME", "value": "2020-01-01T10:00:00Z"},
            "setting": coded("other care", "openehr", "238")
        },
        "content": [{
            "_type": "OBSERVATION", "name": text("observation"), "archetype_node_id": "openEHR-EHR-OBSERVATION.test.v1",
            "language": code("ISO_639-1", "en"), "encoding": code("IANA_character-sets", "UTF-8"),
            "subject": {"_type": "PARTY_SELF"},
            "data": {
                "_type": "HISTORY", "name": text("history"), "archetype_node_id": "at0001",
                "origin": {"_type": "DV_DATE_TIME", "value": "2020-01-01T10:00:00Z"},
                "events": events
            }
        }]
    })
}

fn parse(value: &Value) -> RmObject {
    openehr_rm::json::from_value(value, "COMPOSITION").expect("a well-formed composition")
}

fn found(template: &Template, composition: &RmObject) -> Vec<(String, String)> {
    validate(template, composition)
        .into_iter()
        .map(|violation| (violation.path, violation.message))
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(path, message)| (path.replace("{tree}", TREE), (*message).to_owned()))
        .collect()
}

/// Validates `items` in the ITEM_TREE against `constraint` on its items attribute; `{tree}` in
/// expected paths stands for the tree's path.
fn check_items(constraint: AttributeConstraint, items: Value, expectation: &[(&str, &str)]) {
    let template = template_with(constraint);
    let composition = parse(&composition_json(json!([event(items)])));
    assert_eq!(found(&template, &composition), expected(expectation));
}

/// Validates one element `at0004` holding `value` against `values` (the alternatives of its
/// value attribute).
fn check(values: Vec<ObjectConstraint>, value: Value, expectation: &[(&str, &str)]) {
    check_items(
        multiple("items", 0, None, vec![element("at0004", values)]),
        json!([item("at0004", "element", value)]),
        expectation,
    );
}

const VALUE: &str = "{tree}/items[at0004]/value";

#[test]
fn root_archetype_id_must_be_the_templates() {
    let template = template_with(multiple("items", 0, None, vec![]));
    let mut document = composition_json(json!([event(json!([]))]));
    document["archetype_node_id"] = json!("openEHR-EHR-COMPOSITION.other.v1");
    assert_eq!(
        found(&template, &parse(&document)),
        expected(&[(
            "/",
            "node id \"openEHR-EHR-COMPOSITION.other.v1\" does not match the template's \"openEHR-EHR-COMPOSITION.test.v1\""
        )])
    );
}

#[test]
fn rm_types_conform_with_subtyping() {
    let quantity = || complex("DV_QUANTITY", "", vec![]);
    check(
        vec![complex("DV_TEXT", "", vec![])],
        coded("mild", "local", "at0010"),
        &[],
    );
    check(
        vec![quantity()],
        text("high"),
        &[(VALUE, "type DV_TEXT does not conform to DV_QUANTITY")],
    );
}

#[test]
fn unknown_nodes_are_reported() {
    check_items(
        multiple("items", 0, None, vec![element("at0004", vec![])]),
        json!([item("at0099", "stray", text("x"))]),
        &[(
            "{tree}/items[at0099]",
            "node \"at0099\" is not allowed by the template",
        )],
    );
}

#[test]
fn mandatory_attributes_must_be_present() {
    let mut constraint = element("at0004", vec![]);
    if let ObjectKind::Complex { attributes } = &mut constraint.kind {
        attributes.push(single("null_reason", vec![]));
    }
    check_items(
        multiple("items", 0, None, vec![constraint]),
        json!([item("at0004", "element", text("x"))]),
        &[(
            "{tree}/items[at0004]/null_reason",
            "mandatory attribute is missing",
        )],
    );
}

#[test]
fn a_null_flavour_stands_in_for_a_mandatory_value() {
    check_items(
        multiple("items", 0, None, vec![element("at0004", vec![])]),
        json!([{"_type": "ELEMENT", "name": text("element"), "archetype_node_id": "at0004",
                "null_flavour": coded("unknown", "openehr", "253")}]),
        &[],
    );
}

#[test]
fn attributes_of_existence_zero_are_not_allowed() {
    let mut constraint = element("at0004", vec![]);
    if let ObjectKind::Complex { attributes } = &mut constraint.kind {
        attributes[0].existence = occurrences(0, Some(0));
    }
    check_items(
        multiple("items", 0, None, vec![constraint]),
        json!([item("at0004", "element", text("x"))]),
        &[(
            "{tree}/items[at0004]/value",
            "attribute is not allowed by the template",
        )],
    );
}

#[test]
fn container_cardinality() {
    check_items(
        multiple(
            "items",
            0,
            Some(1),
            vec![element("at0004", vec![]), element("at0005", vec![])],
        ),
        json!([
            item("at0004", "a", text("x")),
            item("at0005", "b", text("y"))
        ]),
        &[("{tree}/items", "expected 0..1 members, found 2")],
    );
}

#[test]
fn occurrences_of_each_child() {
    let children = || {
        vec![
            with_occurrences(element("at0004", vec![]), 0, Some(1)),
            with_occurrences(element("at0005", vec![]), 1, Some(1)),
        ]
    };
    check_items(
        multiple("items", 0, None, children()),
        json!([
            item("at0004", "a", text("x")),
            item("at0004", "b", text("y")),
            item("at0005", "c", text("z"))
        ]),
        &[("{tree}/items[at0004]", "expected 0..1 occurrences, found 2")],
    );
    check_items(
        multiple("items", 0, None, children()),
        json!([item("at0004", "a", text("x"))]),
        &[("{tree}/items[at0005]", "expected 1..1 occurrences, found 0")],
    );
}

#[test]
fn siblings_sharing_a_node_id_are_told_apart_by_name_then_position() {
    let quantity = of_kind(
        "DV_QUANTITY",
        ObjectKind::Quantity {
            property: None,
            items: vec![QuantityItem {
                units: "mm[Hg]".to_owned(),
                magnitude: None,
                precision: None,
            }],
        },
    );
    let value = |units: &str| json!({"_type": "DV_QUANTITY", "magnitude": 1.0, "units": units});
    check_items(
        multiple(
            "items",
            0,
            None,
            vec![with_occurrences(
                element("at0004", vec![quantity.clone()]),
                0,
                None,
            )],
        ),
        json!([
            item("at0004", "a", value("mm[Hg]")),
            item("at0004", "it's", value("cm")),
            item("at0004", "it's", value("kg"))
        ]),
        &[
            (
                "{tree}/items[at0004 and name/value='it\\'s'][2]/value/units",
                "units \"cm\" are not allowed, expected one of: mm[Hg]",
            ),
            (
                "{tree}/items[at0004 and name/value='it\\'s'][3]/value/units",
                "units \"kg\" are not allowed, expected one of: mm[Hg]",
            ),
        ],
    );
    check_items(
        multiple(
            "items",
            0,
            None,
            vec![with_occurrences(element("at0004", vec![quantity]), 0, None)],
        ),
        json!([
            item("at0004", "a", value("mm[Hg]")),
            item("at0004", "b", value("cm"))
        ]),
        &[(
            "{tree}/items[at0004 and name/value='b']/value/units",
            "units \"cm\" are not allowed, expected one of: mm[Hg]",
        )],
    );
}

fn slot(includes: &[&str], excludes: &[&str]) -> ObjectConstraint {
    ObjectConstraint {
        rm_type: "CLUSTER".to_owned(),
        node_id: "at0020".to_owned(),
        occurrences: occurrences(0, None),
        kind: ObjectKind::Slot {
            includes: includes.iter().map(|item| (*item).to_owned()).collect(),
            excludes: excludes.iter().map(|item| (*item).to_owned()).collect(),
        },
    }
}

fn cluster(archetype_id: &str) -> Value {
    json!([{"_type": "CLUSTER", "name": text("cluster"), "archetype_node_id": archetype_id, "items": []}])
}

#[test]
fn slots_include_and_exclude_archetypes() {
    let device = r"openEHR-EHR-CLUSTER\.device(-[a-z]+)*\.v1";
    check_items(
        multiple("items", 0, None, vec![slot(&[device], &[".*"])]),
        cluster("openEHR-EHR-CLUSTER.device-usb.v1"),
        &[],
    );
    check_items(
        multiple("items", 0, None, vec![slot(&[device], &[".*"])]),
        cluster("openEHR-EHR-CLUSTER.other.v1"),
        &[(
            "{tree}/items[openEHR-EHR-CLUSTER.other.v1]",
            "archetype \"openEHR-EHR-CLUSTER.other.v1\" is not allowed in this slot",
        )],
    );
    check_items(
        multiple("items", 0, None, vec![slot(&[".*"], &[device])]),
        cluster("openEHR-EHR-CLUSTER.device.v1"),
        &[(
            "{tree}/items[openEHR-EHR-CLUSTER.device.v1]",
            "archetype \"openEHR-EHR-CLUSTER.device.v1\" is not allowed in this slot",
        )],
    );
}

#[test]
fn a_value_must_match_one_of_the_alternatives() {
    let alternatives = || {
        vec![
            complex("DV_QUANTITY", "", vec![]),
            complex("DV_COUNT", "", vec![]),
        ]
    };
    check(
        alternatives(),
        json!({"_type": "DV_COUNT", "magnitude": 3}),
        &[],
    );
    check(
        alternatives(),
        text("three"),
        &[(
            VALUE,
            "type DV_TEXT conforms to none of the allowed types: DV_QUANTITY, DV_COUNT",
        )],
    );
    // A coded text that breaks its code list may still be a valid plain text.
    let coded_alternative = complex(
        "DV_CODED_TEXT",
        "",
        vec![single(
            "defining_code",
            vec![of_kind(
                "CODE_PHRASE",
                ObjectKind::CodePhrase(CodePhraseConstraint {
                    terminology_id: "local".to_owned(),
                    codes: vec!["at0010".to_owned()],
                    reference_set_uri: None,
                }),
            )],
        )],
    );
    check(
        vec![coded_alternative, complex("DV_TEXT", "", vec![])],
        text("free text"),
        &[],
    );
}

#[test]
fn names_constrained_by_the_template() {
    let mut constraint = element("at0004", vec![]);
    if let ObjectKind::Complex { attributes } = &mut constraint.kind {
        attributes.push(single(
            "name",
            vec![value_with(
                "DV_TEXT",
                "value",
                primitive("STRING", strings(None, &["Systolic"])),
            )],
        ));
    }
    check_items(
        multiple("items", 0, None, vec![constraint]),
        json!([item("at0004", "Other", text("x"))]),
        &[(
            "{tree}/items[at0004]/name/value",
            "\"Other\" is not one of the allowed values: Systolic",
        )],
    );
}

fn quantity_item(
    units: &str,
    magnitude: Option<(f64, f64)>,
    precision: Option<i32>,
) -> QuantityItem {
    QuantityItem {
        units: units.to_owned(),
        magnitude: magnitude.map(|(lower, upper)| Interval::closed(lower, upper)),
        precision: precision.map(|places| Interval::closed(places, places)),
    }
}

fn quantity(items: Vec<QuantityItem>) -> Vec<ObjectConstraint> {
    vec![of_kind(
        "DV_QUANTITY",
        ObjectKind::Quantity {
            property: None,
            items,
        },
    )]
}

#[test]
fn quantity_units() {
    check(
        quantity(vec![
            quantity_item("mm[Hg]", None, None),
            quantity_item("kPa", None, None),
        ]),
        json!({"_type": "DV_QUANTITY", "magnitude": 120.0, "units": "cm"}),
        &[(
            "{tree}/items[at0004]/value/units",
            "units \"cm\" are not allowed, expected one of: mm[Hg], kPa",
        )],
    );
}

#[test]
fn quantity_magnitude_range() {
    check(
        quantity(vec![quantity_item("mm[Hg]", Some((0.0, 1000.0)), None)]),
        json!({"_type": "DV_QUANTITY", "magnitude": 1200.5, "units": "mm[Hg]"}),
        &[(
            "{tree}/items[at0004]/value/magnitude",
            "magnitude 1200.5 is outside |0..1000|",
        )],
    );
}

#[test]
fn quantity_precision() {
    check(
        quantity(vec![quantity_item("Cel", None, Some(1))]),
        json!({"_type": "DV_QUANTITY", "magnitude": 37.25, "units": "Cel"}),
        &[(
            "{tree}/items[at0004]/value/magnitude",
            "magnitude 37.25 has more than 1 decimal places",
        )],
    );
    check(
        quantity(vec![quantity_item("Cel", None, Some(1))]),
        json!({"_type": "DV_QUANTITY", "magnitude": 37.5, "units": "Cel", "precision": 2}),
        &[(
            "{tree}/items[at0004]/value/precision",
            "precision 2 is outside |1..1|",
        )],
    );
}

fn coded_constraint(terminology: &str, codes: &[&str]) -> Vec<ObjectConstraint> {
    vec![complex(
        "DV_CODED_TEXT",
        "",
        vec![single(
            "defining_code",
            vec![of_kind(
                "CODE_PHRASE",
                ObjectKind::CodePhrase(CodePhraseConstraint {
                    terminology_id: terminology.to_owned(),
                    codes: codes.iter().map(|code| (*code).to_owned()).collect(),
                    reference_set_uri: None,
                }),
            )],
        )],
    )]
}

#[test]
fn coded_text_code_in_the_list() {
    check(
        coded_constraint("local", &["at0010"]),
        coded("severe", "local", "at0011"),
        &[(
            "{tree}/items[at0004]/value/defining_code/code_string",
            "code \"at0011\" is not one of the allowed codes: at0010",
        )],
    );
}

#[test]
fn coded_text_terminology() {
    check(
        coded_constraint("SNOMED-CT", &[]),
        coded("mild", "LOINC", "123"),
        &[(
            "{tree}/items[at0004]/value/defining_code/terminology_id/value",
            "terminology \"LOINC\" is not the allowed \"SNOMED-CT\"",
        )],
    );
}

#[test]
fn local_codes_carry_their_own_text() {
    check(
        coded_constraint("local", &["at0010", "at0011"]),
        coded("mild", "local", "at0010"),
        &[],
    );
    check(
        coded_constraint("local", &["at0010", "at0011"]),
        coded("mild", "local", "at0011"),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"mild\" is not the text of local code at0011 (\"severe\")",
        )],
    );
}

#[test]
fn ordinal_value_and_symbol_pair() {
    let items = ["at0010", "at0011"]
        .iter()
        .enumerate()
        .map(|(index, code)| OrdinalItem {
            value: i64::try_from(index).unwrap_or_default() + 1,
            symbol: CodeRef {
                terminology_id: "local".to_owned(),
                code: (*code).to_owned(),
            },
        })
        .collect();
    let constraint = vec![of_kind("DV_ORDINAL", ObjectKind::Ordinal { items })];
    let ordinal = |value: i64, code: &str, text: &str| json!({"_type": "DV_ORDINAL", "value": value, "symbol": coded(text, "local", code)});
    check(constraint.clone(), ordinal(2, "at0011", "severe"), &[]);
    check(
        constraint,
        ordinal(1, "at0011", "severe"),
        &[(
            VALUE,
            "ordinal 1 with symbol local::at0011 is not one of the allowed: 1 local::at0010, 2 local::at0011",
        )],
    );
}

#[test]
fn count_proportion_and_boolean_through_their_attributes() {
    let count = value_with(
        "DV_COUNT",
        "magnitude",
        primitive(
            "INTEGER",
            PrimitiveConstraint::Integer {
                list: vec![],
                range: Some(Interval::closed(0, 10)),
            },
        ),
    );
    check(
        vec![count],
        json!({"_type": "DV_COUNT", "magnitude": 11}),
        &[(
            "{tree}/items[at0004]/value/magnitude",
            "11 is outside |0..10|",
        )],
    );
    let proportion = value_with(
        "DV_PROPORTION",
        "numerator",
        primitive(
            "REAL",
            PrimitiveConstraint::Real {
                list: vec![],
                range: Some(Interval::closed(0.0, 100.0)),
            },
        ),
    );
    check(
        vec![proportion],
        json!({"_type": "DV_PROPORTION", "numerator": 150.0, "denominator": 100.0, "type": 2}),
        &[(
            "{tree}/items[at0004]/value/numerator",
            "150 is outside |0..100|",
        )],
    );
    let boolean = value_with(
        "DV_BOOLEAN",
        "value",
        primitive(
            "BOOLEAN",
            PrimitiveConstraint::Boolean {
                true_valid: true,
                false_valid: false,
            },
        ),
    );
    check(
        vec![boolean],
        json!({"_type": "DV_BOOLEAN", "value": false}),
        &[("{tree}/items[at0004]/value/value", "false is not allowed")],
    );
}

#[test]
fn strings_by_pattern_and_list() {
    let patterned = value_with(
        "DV_TEXT",
        "value",
        primitive("STRING", strings(Some("[A-Z]{3}-[0-9]+"), &[])),
    );
    check(vec![patterned.clone()], text("ABC-12"), &[]);
    check(
        vec![patterned],
        text("abc-12"),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"abc-12\" does not match the pattern [A-Z]{3}-[0-9]+",
        )],
    );
    let listed = value_with(
        "DV_TEXT",
        "value",
        primitive("STRING", strings(None, &["left", "right"])),
    );
    check(
        vec![listed],
        text("both"),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"both\" is not one of the allowed values: left, right",
        )],
    );
}

#[test]
fn dates_and_times_are_valid_iso_8601() {
    for (rm_type, value, kind) in [
        ("DV_DATE", "2021-02-29", "date"),
        ("DV_TIME", "25:00", "time"),
        ("DV_DATE_TIME", "2020-05-01 10:00", "date-time"),
        ("DV_DURATION", "P1H", "duration"),
    ] {
        check(
            vec![complex(rm_type, "", vec![])],
            json!({"_type": rm_type, "value": value}),
            &[(
                "{tree}/items[at0004]/value/value",
                &format!("\"{value}\" is not a valid iso 8601 {kind}"),
            )],
        );
    }
    check(
        vec![complex("DV_DATE_TIME", "", vec![])],
        json!({"_type": "DV_DATE_TIME", "value": "2020-05-01T10:00:00,5+02:00"}),
        &[],
    );
}

#[test]
fn temporal_patterns_and_ranges() {
    let date = |constraint| {
        vec![value_with(
            "DV_DATE",
            "value",
            primitive("DATE", PrimitiveConstraint::Date(constraint)),
        )]
    };
    check(
        date(temporal(Some("YYYY-MM-DD"), None)),
        json!({"_type": "DV_DATE", "value": "2020-05"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"2020-05\" does not match the pattern YYYY-MM-DD",
        )],
    );
    check(
        date(temporal(None, Some(("1900-01-01", "2000-12-31")))),
        json!({"_type": "DV_DATE", "value": "2020-05-01"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"2020-05-01\" is outside |1900-01-01..2000-12-31|",
        )],
    );
    let time = vec![value_with(
        "DV_TIME",
        "value",
        primitive(
            "TIME",
            PrimitiveConstraint::Time(temporal(Some("HH:MM:XX"), None)),
        ),
    )];
    check(
        time,
        json!({"_type": "DV_TIME", "value": "10:30:15"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"10:30:15\" does not match the pattern HH:MM:XX",
        )],
    );
    let date_time = vec![value_with(
        "DV_DATE_TIME",
        "value",
        primitive(
            "DATE_TIME",
            PrimitiveConstraint::DateTime(temporal(
                None,
                Some(("2020-01-01T00:00:00Z", "2020-12-31T23:59:59Z")),
            )),
        ),
    )];
    check(
        date_time,
        json!({"_type": "DV_DATE_TIME", "value": "2021-01-01T00:30:00+01:00"}),
        &[],
    );
    let duration = |constraint| {
        vec![value_with(
            "DV_DURATION",
            "value",
            primitive("DURATION", PrimitiveConstraint::Duration(constraint)),
        )]
    };
    check(
        duration(temporal(Some("PDTH"), None)),
        json!({"_type": "DV_DURATION", "value": "PT30M"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"PT30M\" does not match the pattern PDTH",
        )],
    );
    check(
        duration(temporal(None, Some(("PT0S", "P7D")))),
        json!({"_type": "DV_DURATION", "value": "P2W"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"P2W\" is outside |PT0S..P7D|",
        )],
    );
}

#[test]
fn identifiers_uris_multimedia_and_parsables() {
    let any = |rm_type: &str| vec![complex(rm_type, "", vec![])];
    check(
        any("DV_IDENTIFIER"),
        json!({"_type": "DV_IDENTIFIER", "id": " "}),
        &[("{tree}/items[at0004]/value/id", "must not be empty")],
    );
    check(
        any("DV_URI"),
        json!({"_type": "DV_URI", "value": "http://example.org/a b"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"http://example.org/a b\" is not a valid uri",
        )],
    );
    check(
        any("DV_EHR_URI"),
        json!({"_type": "DV_EHR_URI", "value": "http://example.org/x"}),
        &[(
            "{tree}/items[at0004]/value/value",
            "\"http://example.org/x\" is not an ehr: uri",
        )],
    );
    check(
        any("DV_MULTIMEDIA"),
        json!({"_type": "DV_MULTIMEDIA", "media_type": code("IANA_media-types", "image/png"), "size": 0}),
        &[(VALUE, "a multimedia value must have data or a uri")],
    );
    check(
        any("DV_PARSABLE"),
        json!({"_type": "DV_PARSABLE", "value": "x", "formalism": ""}),
        &[("{tree}/items[at0004]/value/formalism", "must not be empty")],
    );
}

#[test]
fn interval_limits_are_ordered() {
    let interval = |lower: i64, upper: i64| {
        json!({"_type": "DV_INTERVAL", "lower": {"_type": "DV_COUNT", "magnitude": lower},
               "upper": {"_type": "DV_COUNT", "magnitude": upper}, "lower_unbounded": false, "upper_unbounded": false})
    };
    check(
        vec![complex("DV_INTERVAL<DV_COUNT>", "", vec![])],
        interval(1, 5),
        &[],
    );
    check(
        vec![complex("DV_INTERVAL<DV_COUNT>", "", vec![])],
        interval(5, 1),
        &[(VALUE, "the lower limit is above the upper limit")],
    );
}

/// The object at a canonical JSON-like path of attribute names and list indexes.
fn object_at<'o>(root: &'o mut RmObject, path: &[&str]) -> &'o mut RmObject {
    let mut object = root;
    for segment in path {
        let value = match segment.parse::<usize>() {
            Ok(_) => unreachable!("indexes follow their attribute"),
            Err(_) => object.get_mut(segment).expect("attribute present"),
        };
        object = match value {
            RmValue::Object(child) => child,
            RmValue::List(members) => match &mut members[0] {
                RmValue::Object(child) => child,
                _ => unreachable!("objects in lists"),
            },
            _ => unreachable!("objects on the path"),
        };
    }
    object
}

#[test]
fn rm_invariants_that_matter_for_safety() {
    let template = template_with(multiple("items", 0, None, vec![element("at0004", vec![])]));
    let document = composition_json(json!([event(json!([item(
        "at0004",
        "element",
        coded("mild", "local", "at0010")
    )]))]));
    let event_path = ["content", "data", "events"];

    let mut composition = parse(&document);
    object_at(
        &mut composition,
        &["content", "data", "events", "data", "items", "value"],
    )
    .remove("defining_code");
    assert_eq!(
        found(&template, &composition),
        expected(&[(
            "{tree}/items[at0004]/value/defining_code",
            "a coded text must have a defining code"
        )])
    );

    let mut composition = parse(&document);
    object_at(&mut composition, &event_path).remove("time");
    assert_eq!(
        found(&template, &composition),
        expected(&[(
            "/content[openEHR-EHR-OBSERVATION.test.v1]/data[at0001]/events[at0002]/time",
            "an event must have a time"
        )])
    );

    let mut interval = document.clone();
    let events = &mut interval["content"][0]["data"]["events"][0];
    events["_type"] = json!("INTERVAL_EVENT");
    events["width"] = json!({"_type": "DV_DURATION", "value": "PT1H"});
    events["math_function"] = coded("mean", "openehr", "146");
    let mut composition = parse(&interval);
    object_at(&mut composition, &event_path).remove("width");
    assert_eq!(
        found(&template, &composition),
        expected(&[(
            "/content[openEHR-EHR-OBSERVATION.test.v1]/data[at0001]/events[at0002]/width",
            "an interval event must have a width"
        )])
    );

    let mut composition = parse(&document);
    composition.remove("context");
    assert_eq!(
        found(&template, &composition),
        expected(&[(
            "/context",
            "a composition of category event (433) must have a context"
        )])
    );
}

#[test]
fn internal_references_validate_against_their_target() {
    let units = of_kind(
        "DV_QUANTITY",
        ObjectKind::Quantity {
            property: None,
            items: vec![quantity_item("mm", None, None)],
        },
    );
    let reference = ObjectConstraint {
        rm_type: "ELEMENT".to_owned(),
        node_id: String::new(),
        occurrences: occurrences(0, None),
        kind: ObjectKind::InternalRef {
            target_path: "/data[at0001]/events[at0002]/data[at0003]/items[at0004]".to_owned(),
        },
    };
    let group = complex(
        "CLUSTER",
        "at0010",
        vec![multiple("items", 0, None, vec![reference])],
    );
    let cluster = json!({"_type": "CLUSTER", "name": text("group"), "archetype_node_id": "at0010",
        "items": [item("at0004", "inner", json!({"_type": "DV_QUANTITY", "magnitude": 1.0, "units": "cm"}))]});
    check_items(
        multiple(
            "items",
            0,
            None,
            vec![element("at0004", vec![units]), group],
        ),
        json!([cluster]),
        &[(
            "{tree}/items[at0010]/items[at0004]/value/units",
            "units \"cm\" are not allowed, expected one of: mm",
        )],
    );
}

#[test]
fn every_mandatory_rm_attribute_is_reported_once_with_its_path() {
    let template = template_with(multiple("items", 0, None, vec![element("at0004", vec![])]));
    let document = composition_json(json!([event(json!([item(
        "at0004",
        "element",
        text("x")
    )]))]));
    // Compositions read with their mandatory attributes deferred arrive here incomplete.
    let mut composition = parse(&document);
    composition.remove("language");
    object_at(&mut composition, &["content"]).remove("encoding");
    object_at(
        &mut composition,
        &["content", "data", "events", "data", "items"],
    )
    .remove("name");
    assert_eq!(
        found(&template, &composition),
        expected(&[
            (
                "/language",
                "missing mandatory attribute \"language\" of COMPOSITION"
            ),
            (
                "/content[openEHR-EHR-OBSERVATION.test.v1]/encoding",
                "missing mandatory attribute \"encoding\" of OBSERVATION"
            ),
            (
                "{tree}/items[at0004]/name",
                "missing mandatory attribute \"name\" of ELEMENT"
            ),
        ])
    );
}

fn quantity_of_property(code: &str, units: &[&str]) -> Vec<ObjectConstraint> {
    vec![of_kind(
        "DV_QUANTITY",
        ObjectKind::Quantity {
            property: Some(CodeRef {
                terminology_id: "openehr".to_owned(),
                code: code.to_owned(),
            }),
            items: units
                .iter()
                .map(|units| quantity_item(units, None, None))
                .collect(),
        },
    )]
}

fn quantity_value(units: &str) -> Value {
    json!({"_type": "DV_QUANTITY", "magnitude": 70.0, "units": units})
}

#[test]
fn quantity_units_measure_the_property() {
    let wrong = |units: &str, property: &str| {
        vec![(
            "{tree}/items[at0004]/value/units".to_owned(),
            format!("units \"{units}\" are not a ucum unit of the property {property}"),
        )]
    };
    let check_property = |code: &str, listed: &[&str], units: &str| {
        let template = template_with(multiple(
            "items",
            0,
            None,
            vec![element("at0004", quantity_of_property(code, listed))],
        ));
        let composition = parse(&composition_json(json!([event(json!([item(
            "at0004",
            "element",
            quantity_value(units)
        )]))])));
        found(&template, &composition)
            .into_iter()
            .map(|(path, message)| (path.replace(TREE, "{tree}"), message))
            .collect::<Vec<_>>()
    };
    // A property without a list of units: any unit of its dimension.
    for units in ["kg", "g", "[lb_av]", "[oz_av]", "mg"] {
        assert_eq!(check_property("124", &[], units), vec![], "{units}");
    }
    assert_eq!(
        check_property("124", &[], "cm"),
        wrong("cm", "Mass (openehr::124)")
    );
    assert_eq!(
        check_property("125", &[], "kg"),
        wrong("kg", "Pressure (openehr::125)")
    );
    for units in ["mm[Hg]", "cm[H2O]", "kPa"] {
        assert_eq!(check_property("125", &[], units), vec![], "{units}");
    }
    // What the analyser cannot read is not a unit of the property...
    assert_eq!(
        check_property("124", &[], "gm"),
        wrong("gm", "Mass (openehr::124)")
    );
    // ...unless the template lists it itself.
    assert_eq!(check_property("124", &["gm", "kg"], "gm"), vec![]);
    // A listed unit of another dimension contradicts the property the template names.
    assert_eq!(
        check_property("125", &["mm[Hg]", "kg"], "kg"),
        wrong("kg", "Pressure (openehr::125)")
    );
    // Pure numbers: dimensionless units only.
    for units in ["1", "%", "{ratio}", "10*3"] {
        assert_eq!(check_property("380", &[], units), vec![], "{units}");
    }
    assert_eq!(
        check_property("380", &[], "/min"),
        wrong("/min", "Qualified real (openehr::380)")
    );
    // A property code outside the terminology's group is not checked.
    assert_eq!(check_property("99999", &[], "anything"), vec![]);
}

#[test]
fn null_flavours_come_from_the_openehr_terminology() {
    let with_null_flavour = |null_flavour: Value| {
        let template = template_with(multiple("items", 0, None, vec![element("at0004", vec![])]));
        let composition = parse(&composition_json(json!([event(json!([{
            "_type": "ELEMENT", "name": text("element"), "archetype_node_id": "at0004",
            "null_flavour": null_flavour
        }]))])));
        found(&template, &composition)
    };
    for (code, rubric) in [
        ("253", "unknown"),
        ("271", "no information"),
        ("272", "masked"),
        ("273", "not applicable"),
    ] {
        assert_eq!(with_null_flavour(coded(rubric, "openehr", code)), vec![]);
    }
    assert_eq!(
        with_null_flavour(coded("unknown", "openehr", "433")),
        expected(&[(
            "{tree}/items[at0004]/null_flavour/defining_code/code_string",
            "code \"433\" is not a null flavour: 271 no information, 253 unknown, 272 masked, 273 not applicable"
        )])
    );
    assert_eq!(
        with_null_flavour(coded("mild", "local", "at0010")),
        expected(&[(
            "{tree}/items[at0004]/null_flavour/defining_code/terminology_id/value",
            "a null flavour must be coded in the openehr terminology, not \"local\""
        )])
    );
}

fn value_set(uri: &str) -> Vec<ObjectConstraint> {
    vec![complex(
        "DV_CODED_TEXT",
        "",
        vec![single(
            "defining_code",
            vec![of_kind(
                "CODE_PHRASE",
                ObjectKind::CodePhrase(CodePhraseConstraint {
                    terminology_id: String::new(),
                    codes: Vec::new(),
                    reference_set_uri: Some(uri.to_owned()),
                }),
            )],
        )],
    )]
}

#[test]
fn value_sets_fix_the_terminology_of_their_codes() {
    let uri = "terminology:SNOMED-CT?subset=diagnoses";
    check(
        value_set(uri),
        coded("asthma", "LOINC", "195967001"),
        &[(
            "{tree}/items[at0004]/value/defining_code/terminology_id/value",
            "terminology \"LOINC\" is not the value set's \"SNOMED-CT\" (terminology:SNOMED-CT?subset=diagnoses)",
        )],
    );
    for terminology in ["SNOMED-CT", "SNOMED CT", "http://snomed.info/sct"] {
        check(
            value_set(uri),
            coded("asthma", terminology, "195967001"),
            &[],
        );
    }
    check(
        value_set("terminology://snomed.info"),
        coded("asthma", "SNOMED-CT", "195967001"),
        &[],
    );
    check(
        value_set("terminology:LOINC?subset=laboratory"),
        coded("glucose", "SNOMED-CT", "2345-7"),
        &[(
            "{tree}/items[at0004]/value/defining_code/terminology_id/value",
            "terminology \"SNOMED-CT\" is not the value set's \"LOINC\" (terminology:LOINC?subset=laboratory)",
        )],
    );
    // A terminology server may serve any terminology.
    check(
        value_set("terminology://fhir.hl7.org/ValueSet/$expand?url=http://example.org/vs"),
        coded("glucose", "LOINC", "2345-7"),
        &[],
    );
}

#[test]
fn constraint_references_fix_the_terminologies_they_are_bound_to() {
    let reference = vec![complex(
        "DV_CODED_TEXT",
        "",
        vec![single(
            "defining_code",
            vec![of_kind(
                "CODE_PHRASE",
                ObjectKind::ConstraintRef {
                    reference: "ac0001".to_owned(),
                },
            )],
        )],
    )];
    let template = template_with(multiple(
        "items",
        0,
        None,
        vec![element("at0004", reference)],
    ));
    let validate_code = |template: &Template, terminology: &str| {
        let composition = parse(&composition_json(json!([event(json!([item(
            "at0004",
            "element",
            coded("asthma", terminology, "195967001")
        )]))])));
        found(template, &composition)
    };
    // Unbound: nothing to check without a terminology service.
    assert_eq!(validate_code(&template, "ANY"), vec![]);
    let mut bound = template.clone();
    let ObjectKind::ArchetypeRoot { attributes, .. } = &mut bound.root.kind else {
        unreachable!("the root is an archetype root")
    };
    let ObjectKind::ArchetypeRoot { terms, .. } = &mut attributes[0].children[0].kind else {
        unreachable!("the observation is an archetype root")
    };
    terms.constraint_bindings.insert(
        "ac0001".to_owned(),
        [(
            "SNOMED-CT".to_owned(),
            "terminology:SNOMED-CT?subset=diagnoses".to_owned(),
        )]
        .into(),
    );
    assert_eq!(validate_code(&bound, "SNOMED-CT"), vec![]);
    assert_eq!(
        validate_code(&bound, "ICD10"),
        expected(&[(
            "{tree}/items[at0004]/value/defining_code/terminology_id/value",
            "terminology \"ICD10\" is not one that ac0001 is bound to: SNOMED-CT"
        )])
    );
}

#[test]
fn unique_containers_hold_no_equal_members() {
    let mut items = multiple("items", 0, None, vec![element("at0004", vec![])]);
    items.children[0].occurrences = occurrences(0, None);
    if let Some(cardinality) = &mut items.cardinality {
        cardinality.is_unique = true;
    }
    check_items(
        items.clone(),
        json!([
            item("at0004", "element", text("a")),
            item("at0004", "element", text("b"))
        ]),
        &[],
    );
    check_items(
        items.clone(),
        json!([
            item("at0004", "element", text("a")),
            item("at0004", "other", text("b")),
            item("at0004", "element", text("a"))
        ]),
        &[(
            "{tree}/items[at0004 and name/value='element'][3]",
            "equal to member 1 of items, whose members the template requires to be unique",
        )],
    );
    // Without is_unique, equal members are fine.
    let mut repeated = items;
    if let Some(cardinality) = &mut repeated.cardinality {
        cardinality.is_unique = false;
    }
    check_items(
        repeated,
        json!([
            item("at0004", "element", text("a")),
            item("at0004", "element", text("a"))
        ]),
        &[],
    );
}

fn archetype_details(archetype_id: &str, template_id: &str) -> Value {
    json!({
        "_type": "ARCHETYPED",
        "archetype_id": {"_type": "ARCHETYPE_ID", "value": archetype_id},
        "template_id": {"_type": "TEMPLATE_ID", "value": template_id},
        "rm_version": "1.1.0"
    })
}

#[test]
fn archetype_roots_name_the_template_validated_against() {
    let template = template_with(multiple("items", 0, None, vec![]));
    let mut document = composition_json(json!([event(json!([]))]));
    document["archetype_details"] = archetype_details("openEHR-EHR-COMPOSITION.test.v1", "test");
    document["content"][0]["archetype_details"] =
        archetype_details("openEHR-EHR-OBSERVATION.test.v1", "test");
    assert_eq!(found(&template, &parse(&document)), vec![]);

    let mut other = document.clone();
    other["archetype_details"]["template_id"]["value"] = json!("other");
    assert_eq!(
        found(&template, &parse(&other)),
        expected(&[(
            "/archetype_details/template_id/value",
            "template id \"other\" does not match the template's \"test\""
        )])
    );

    let mut inner = document;
    inner["content"][0]["archetype_details"]["template_id"]["value"] = json!("other");
    assert_eq!(
        found(&template, &parse(&inner)),
        expected(&[(
            "/content[openEHR-EHR-OBSERVATION.test.v1]/archetype_details/template_id/value",
            "template id \"other\" does not match the template's \"test\""
        )])
    );
}
