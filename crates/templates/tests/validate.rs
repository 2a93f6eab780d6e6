//! Validating every shared example composition against its template.

use templates::validate::{Violation, validate};

mod support;
use support::{CANONICAL_EXAMPLES, read};

fn violations(template: &str, composition: &str) -> Vec<Violation> {
    let template = templates::opt::parse(&read("templates", template))
        .unwrap_or_else(|error| panic!("{template}: {error}"));
    let composition =
        openehr_rm::json::from_slice(&read("compositions", composition), "COMPOSITION")
            .unwrap_or_else(|error| panic!("{composition}: {error}"));
    validate(&template, &composition)
}

fn check(template: &str, composition: &str, expected: &[(&str, &str)]) {
    let found: Vec<(String, String)> = violations(template, composition)
        .into_iter()
        .map(|violation| (violation.path, violation.message))
        .collect();
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(path, message)| ((*path).to_owned(), (*message).to_owned()))
        .collect();
    assert_eq!(found, expected, "{composition}");
}

#[test]
fn valid_examples_have_no_violations() {
    for (template, composition) in CANONICAL_EXAMPLES {
        check(template, composition, &[]);
    }
}

/// The all-types example was written as a smoke test for an older server and breaks four
/// rules; each is real:
/// - RM Data Types, DV_CODED_TEXT: "a text item whose value must be the rubric from a
///   controlled terminology, the key of which is the defining_code"; `value1` is not the
///   rubric of local code at0006 ("coded text terminology") in the template.
/// - RM Data Types, DV_URI: the value is a URI per RFC 3986, whose grammar starts with a
///   scheme (`URI = scheme ":" hier-part ...`); `www.iana.org` has none.
/// - RM Data Structures, ELEMENT invariant `Inv_null_flavour_indicated`
///   (`is_null() xor null_flavour = Void`): the element `uri` has neither a value nor a null
///   flavour.
/// - ADL 1.4 (C_DATE patterns): in `yyyy-??-XX` the day is not allowed, and `20190114`
///   (compact ISO 8601 for 2019-01-14) has one.
#[test]
fn all_types_example_breaks_four_rules() {
    let observation = "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]";
    check(
        "Test_all_types.opt",
        "all_types_systematic_tests.canonical.json",
        &[
            (
                &format!("{observation}/items[at0005]/value/value"),
                "\"value1\" is not the text of local code at0006 (\"coded text terminology\")",
            ),
            (
                &format!("{observation}/items[at0019]/value/uri/value"),
                "\"www.iana.org\" is not a valid uri",
            ),
            (
                "/content[openEHR-EHR-EVALUATION.test_all_types.v1]/data[at0001]/items[at0002]",
                "an element must have a value or a null flavour",
            ),
            (
                "/content[openEHR-EHR-SECTION.test_all_types.v1]/items[at0001]/items[at0002]/items[openEHR-EHR-INSTRUCTION.test_all_types.v1]/activities[at0001]/description[at0002]/items[at0003]/value/value",
                "\"20190114\" does not match the pattern yyyy-??-XX",
            ),
        ],
    );
}

fn handwritten(name: &str) -> templates::model::Template {
    templates::opt::parse(&read("handwritten", name))
        .unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn found(violations: Vec<Violation>) -> Vec<(String, String)> {
    violations
        .into_iter()
        .map(|violation| (violation.path, violation.message))
        .collect()
}

/// The hand-written EHR_STATUS template: its root is an EHR_STATUS, validated like a
/// composition's, with the checks the shared templates have no occasion for.
#[test]
fn ehr_status_templates_validate_ehr_status_objects() {
    use openehr_rm::RmValue;
    let template = handwritten("kith_ehr_status.v1.opt");
    assert_eq!(template.root.rm_type, "EHR_STATUS");
    let status = templates::example::example(&template);
    assert_eq!(status.type_name(), "EHR_STATUS");
    assert_eq!(validate(&template, &status), vec![]);
    // Committing the example must leave the EHR writable and queryable.
    assert_eq!(status.get("is_modifiable"), Some(&RmValue::Boolean(true)));
    assert_eq!(status.get("is_queryable"), Some(&RmValue::Boolean(true)));

    let items = "/other_details[at0001]/items";
    let mut broken = status.clone();
    let Some(RmValue::Object(tree)) = broken.get_mut("other_details") else {
        panic!("other_details")
    };
    let Some(RmValue::List(members)) = tree.get_mut("items") else {
        panic!("items")
    };
    // The mandatory comment removed; the weight in centimetres.
    members.retain(|member| {
        !matches!(member, RmValue::Object(element) if element.get_str("archetype_node_id") == Some("at0002"))
    });
    for member in members.iter_mut() {
        if let RmValue::Object(element) = member
            && element.get_str("archetype_node_id") == Some("at0003")
            && let Some(RmValue::Object(quantity)) = element.get_mut("value")
        {
            quantity.set("units", RmValue::String("cm".into())).unwrap();
        }
    }
    assert_eq!(
        found(validate(&template, &broken)),
        vec![
            (
                format!("{items}[at0003]/value/units"),
                "units \"cm\" are not a ucum unit of the property Mass (openehr::124)".to_owned()
            ),
            (
                format!("{items}[at0002]"),
                "expected 1..1 occurrences, found 0".to_owned()
            ),
        ]
    );

    // A composition template is not an EHR_STATUS template, nor the reverse.
    let composition_template =
        templates::opt::parse(&read("templates", "minimal_observation.opt")).unwrap();
    assert_eq!(
        found(validate(&composition_template, &status)),
        vec![(
            "/".to_owned(),
            "type EHR_STATUS does not conform to COMPOSITION".to_owned()
        )]
    );
}

/// Objects whose templates are optional: a subtree naming a known template is validated
/// against it, with paths from the root; one naming an unknown template, or none, against
/// the RM only.
#[test]
fn folders_are_validated_where_they_name_a_known_template() {
    use openehr_rm::RmValue;
    let template = handwritten("kith_folder.v1.opt");
    let known = |id: &str| (id == "kith_folder.v1").then_some(&template);
    let folder = templates::example::example(&template);
    assert_eq!(folder.type_name(), "FOLDER");
    assert_eq!(
        templates::validate::named_template_ids(&folder),
        vec!["kith_folder.v1"]
    );
    assert_eq!(
        templates::validate::validate_named_templates(&folder, known),
        vec![]
    );

    // Two equal references in a folder whose items must be unique.
    let mut duplicated = folder.clone();
    let reference = |id: &str| {
        openehr_rm::json::from_value(
            &serde_json::json!({"_type": "OBJECT_REF", "namespace": "local", "type": "VERSIONED_COMPOSITION",
                "id": {"_type": "HIER_OBJECT_ID", "value": id}}),
            "OBJECT_REF",
        )
        .unwrap()
    };
    let items = vec![
        RmValue::Object(Box::new(reference("8849182c-82ad-4088-a07f-48ead4180515"))),
        RmValue::Object(Box::new(reference("b1b7d4d5-5e5b-4d5d-8d38-3a6a9f0f7e0a"))),
        RmValue::Object(Box::new(reference("8849182c-82ad-4088-a07f-48ead4180515"))),
    ];
    duplicated.set("items", RmValue::List(items)).unwrap();
    let expected = vec![(
        "/items[3]".to_owned(),
        "equal to member 1 of items, whose members the template requires to be unique".to_owned(),
    )];
    assert_eq!(found(validate(&template, &duplicated)), expected);
    assert_eq!(
        found(templates::validate::validate_named_templates(
            &duplicated,
            known
        )),
        expected
    );

    // The same folder as a sub-folder of an untemplated directory: its paths start at the
    // directory; under an unknown template it is checked against the RM only.
    let mut directory: openehr_rm::RmObject = openehr_rm::json::from_value(
        &serde_json::json!({"_type": "FOLDER", "name": {"_type": "DV_TEXT", "value": "root"},
            "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1"}),
        "FOLDER",
    )
    .unwrap();
    directory
        .set(
            "folders",
            RmValue::List(vec![RmValue::Object(Box::new(duplicated.clone()))]),
        )
        .unwrap();
    assert_eq!(
        found(templates::validate::validate_named_templates(
            &directory, known
        )),
        vec![(
            "/folders[openEHR-EHR-FOLDER.generic.v1]/items[3]".to_owned(),
            "equal to member 1 of items, whose members the template requires to be unique"
                .to_owned()
        )]
    );
    assert_eq!(
        templates::validate::validate_named_templates(&directory, |_| None),
        vec![]
    );

    // An inner folder naming another template than the one validated against.
    let mut other = folder.clone();
    let Some(RmValue::List(folders)) = other.get_mut("folders") else {
        panic!("the example has sub-folders")
    };
    let Some(RmValue::Object(inner)) = folders.first_mut() else {
        panic!("a sub-folder")
    };
    inner
        .set(
            "archetype_details",
            folder.get("archetype_details").unwrap().clone(),
        )
        .unwrap();
    let Some(RmValue::Object(details)) = inner.get_mut("archetype_details") else {
        panic!("details")
    };
    let Some(RmValue::Object(template_id)) = details.get_mut("template_id") else {
        panic!("template id")
    };
    template_id
        .set("value", RmValue::String("kith_other.v1".into()))
        .unwrap();
    assert_eq!(
        found(validate(&template, &other)),
        vec![(
            "/folders[at0003]/archetype_details/template_id/value".to_owned(),
            "template id \"kith_other.v1\" does not match the template's \"kith_folder.v1\""
                .to_owned()
        )]
    );
}
