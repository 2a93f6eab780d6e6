//! Reading every shared operational template into its constraint tree, and refusing broken ones.

use templates::TemplateError;
use templates::model::{
    CodeRef, Interval, ObjectConstraint, ObjectKind, PrimitiveConstraint, Template,
    TemporalConstraint, Terminology,
};
use templates::opt::parse;

fn template_file(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/templates/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn walk<'a>(
    node: &'a ObjectConstraint,
    path: String,
    out: &mut Vec<(String, &'a ObjectConstraint)>,
) {
    out.push((path.clone(), node));
    for attribute in node.attributes() {
        for child in &attribute.children {
            let child_path = if child.node_id.is_empty() {
                format!("{path}/{}", attribute.name)
            } else {
                format!("{path}/{}[{}]", attribute.name, child.node_id)
            };
            walk(child, child_path, out);
        }
    }
}

/// Every archetype root and its node path below the template root.
fn archetype_roots(template: &templates::model::Template) -> Vec<String> {
    let mut nodes = Vec::new();
    walk(&template.root, String::new(), &mut nodes);
    nodes
        .into_iter()
        .filter(|(_, node)| matches!(node.kind, ObjectKind::ArchetypeRoot { .. }))
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn every_shared_template_parses() {
    // (file, template id, language, root archetype, archetype roots including the root)
    let expected = [
        (
            "EHRN Vital signs.v2.opt",
            "EHRN Vital signs.v2",
            "en",
            "openEHR-EHR-COMPOSITION.encounter.v1",
            9,
        ),
        (
            "IDCR - Adverse Reaction List.v1.opt",
            "Adverse Reaction List.v1",
            "en",
            "openEHR-EHR-COMPOSITION.adverse_reaction_list.v1",
            7,
        ),
        (
            "IDCR - Immunisation summary.v0.opt",
            "IDCR - Immunisation summary.v0",
            "en",
            "openEHR-EHR-COMPOSITION.health_summary.v1",
            2,
        ),
        (
            "IDCR - Problem List.v1.opt",
            "IDCR - Problem List.v1",
            "en",
            "openEHR-EHR-COMPOSITION.problem_list.v1",
            3,
        ),
        (
            "ReSPECT-3.v0.opt",
            "ReSPECT-3.v0",
            "en",
            "openEHR-EHR-COMPOSITION.report.v1",
            20,
        ),
        (
            "Test_all_types.opt",
            "test_all_types.en.v1",
            "en",
            "openEHR-EHR-COMPOSITION.test_all_types.v1",
            8,
        ),
        (
            "ehrbase_blood_pressure_simple.de.v0.opt",
            "ehrbase_blood_pressure_simple.de.v0",
            "en",
            "openEHR-EHR-COMPOSITION.sample_encounter.v1",
            3,
        ),
        (
            "ehrbase_multi_occurrence.de.opt",
            "ehrbase_multi_occurrence.de.v1",
            "en",
            "openEHR-EHR-COMPOSITION.encounter.v1",
            2,
        ),
        (
            "ehrn_vital_signs.v2.opt",
            "ehrn_vital_signs.v2",
            "en",
            "openEHR-EHR-COMPOSITION.encounter.v1",
            9,
        ),
        (
            "minimal_action2.opt",
            "Minimal action 2",
            "es",
            "openEHR-EHR-COMPOSITION.minimal.v1",
            2,
        ),
        (
            "minimal_evaluation.opt",
            "minimal_evaluation.en.v1",
            "en",
            "openEHR-EHR-COMPOSITION.minimal.v1",
            2,
        ),
        (
            "minimal_instruction.opt",
            "minimal_instruction.en.v1",
            "en",
            "openEHR-EHR-COMPOSITION.minimal.v1",
            2,
        ),
        (
            "minimal_observation.opt",
            "minimal_observation.en.v1",
            "en",
            "openEHR-EHR-COMPOSITION.minimal.v1",
            2,
        ),
        (
            "nested.en.v1.opt",
            "nested.en.v1",
            "en",
            "openEHR-EHR-COMPOSITION.nesting.v1",
            6,
        ),
        (
            "persistent_minimal.opt",
            "persistent_minimal.en.v1",
            "en",
            "openEHR-EHR-COMPOSITION.persistent_minimal.v1",
            2,
        ),
    ];
    for (file, template_id, language, root_archetype, roots) in expected {
        let template =
            parse(&template_file(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        assert_eq!(template.template_id, template_id, "{file}");
        assert_eq!(template.language, language, "{file}");
        assert_eq!(template.root.rm_type, "COMPOSITION", "{file}");
        assert_eq!(template.root.node_id, root_archetype, "{file}");
        match &template.root.kind {
            ObjectKind::ArchetypeRoot { archetype_id, .. } => {
                assert_eq!(archetype_id, root_archetype, "{file}")
            }
            other => panic!("{file}: root is {other:?}"),
        }
        assert_eq!(archetype_roots(&template).len(), roots, "{file}");
    }
}

/// The node at `path` (as `walk` spells paths), or a panic naming the file and path.
fn node<'a>(template: &'a Template, path: &str) -> &'a ObjectConstraint {
    let mut nodes = Vec::new();
    walk(&template.root, String::new(), &mut nodes);
    nodes
        .into_iter()
        .find(|(node_path, _)| node_path == path)
        .map(|(_, node)| node)
        .unwrap_or_else(|| panic!("{}: no node at {path}", template.template_id))
}

fn terms(node: &ObjectConstraint) -> &Terminology {
    match &node.kind {
        ObjectKind::ArchetypeRoot { terms, .. } => terms,
        other => panic!("not an archetype root: {other:?}"),
    }
}

const BLOOD_PRESSURE: &str =
    "/content[openEHR-EHR-SECTION.vital_signs.v1]/items[openEHR-EHR-OBSERVATION.blood_pressure.v2]";

#[test]
fn systolic_pressure_is_a_quantity_in_mm_hg_with_its_term() {
    // The same template as written by two tools (Archetype Designer and Template Designer).
    for file in ["ehrn_vital_signs.v2.opt", "EHRN Vital signs.v2.opt"] {
        let template = parse(&template_file(file)).unwrap_or_else(|error| panic!("{error}"));
        let systolic = node(
            &template,
            &format!(
                "{BLOOD_PRESSURE}/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value"
            ),
        );
        assert_eq!(systolic.rm_type, "DV_QUANTITY", "{file}");
        let ObjectKind::Quantity { items, .. } = &systolic.kind else {
            panic!("{file}: {:?}", systolic.kind)
        };
        assert_eq!(items.len(), 1, "{file}");
        assert_eq!(items[0].units, "mm[Hg]", "{file}");
        let magnitude = items[0].magnitude.as_ref().expect("a magnitude range");
        assert_eq!(
            (magnitude.lower, magnitude.upper),
            (Some(0.0), Some(1000.0)),
            "{file}"
        );
        assert!(
            magnitude.contains(120.0) && !magnitude.contains(1000.0),
            "{file}"
        );
        assert_eq!(items[0].precision, Some(Interval::closed(0, 0)), "{file}");

        let blood_pressure = node(&template, BLOOD_PRESSURE);
        let systolic_term = terms(blood_pressure).term("en", "at0004").expect("at0004");
        assert_eq!(systolic_term.text, "Systolic", "{file}");
        assert!(
            systolic_term
                .description
                .starts_with("Peak systemic arterial"),
            "{file}"
        );

        // A point-in-time event may repeat: 0..*.
        let event = node(
            &template,
            &format!("{BLOOD_PRESSURE}/data[at0001]/events[at0006]"),
        );
        assert_eq!(
            (event.occurrences.lower, event.occurrences.upper),
            (Some(0), None),
            "{file}"
        );
    }
}

#[test]
fn term_bindings_are_kept() {
    let template = parse(&template_file("EHRN Vital signs.v2.opt")).expect("parses");
    let bindings = &terms(node(&template, BLOOD_PRESSURE)).bindings;
    assert_eq!(
        bindings["SNOMED-CT"]["at0004"],
        CodeRef {
            terminology_id: "SNOMED-CT".into(),
            code: "[SNOMED-CT(2003)::271649006]".into()
        }
    );
}

#[test]
fn content_is_an_unordered_container() {
    let template = parse(&template_file("ehrn_vital_signs.v2.opt")).expect("parses");
    let content = template.root.attribute("content").expect("content");
    assert_eq!(content.existence, Interval::closed(0, 1));
    let cardinality = content.cardinality.as_ref().expect("a multiple attribute");
    assert_eq!(
        (cardinality.interval.lower, cardinality.interval.upper),
        (Some(0), None)
    );
    assert!(!cardinality.is_ordered && !cardinality.is_unique);
    // A single attribute has no cardinality.
    assert_eq!(
        template
            .root
            .attribute("category")
            .expect("category")
            .cardinality,
        None
    );
}

#[test]
fn slots_keep_their_include_and_exclude_patterns() {
    let template = parse(&template_file("ehrn_vital_signs.v2.opt")).expect("parses");
    let device = node(
        &template,
        "/content[openEHR-EHR-SECTION.vital_signs.v1]/items[openEHR-EHR-OBSERVATION.pulse.v1]/protocol[at0010]/items[at1013]",
    );
    assert_eq!(device.rm_type, "CLUSTER");
    assert_eq!(
        device.kind,
        ObjectKind::Slot {
            includes: vec![r"openEHR-EHR-CLUSTER\.device(-[a-zA-Z0-9_]+)*\.v1".into()],
            excludes: vec![".*".into()],
        }
    );
}

#[test]
fn coded_text_with_local_codes_and_their_terms() {
    let template = parse(&template_file("ReSPECT-3.v0.opt")).expect("parses");
    let decision = "/content[openEHR-EHR-SECTION.respect_headings.v0]/items[at0007]/items[openEHR-EHR-EVALUATION.cpr_decision_uk.v0]";
    let code = node(
        &template,
        &format!("{decision}/data[at0001]/items[at0003]/value/defining_code"),
    );
    let ObjectKind::CodePhrase(code) = &code.kind else {
        panic!("{:?}", code.kind)
    };
    assert_eq!(code.terminology_id, "local");
    assert_eq!(code.codes, ["at0004", "at0005", "at0022", "at0027"]);
    assert_eq!(code.reference_set_uri, None);
    let archetype_terms = terms(node(&template, decision));
    for at_code in &code.codes {
        let term = archetype_terms
            .term(&template.language, at_code)
            .expect("a term");
        assert!(!term.text.is_empty(), "{at_code}");
    }
    // An external value set (C_CODE_REFERENCE) names no codes.
    let snomed = node(
        &template,
        "/context/other_context[at0001]/items[openEHR-EHR-CLUSTER.xds_metadata.v0]/items[at0003]/value/defining_code",
    );
    let ObjectKind::CodePhrase(snomed) = &snomed.kind else {
        panic!("{:?}", snomed.kind)
    };
    assert_eq!(
        snomed.reference_set_uri.as_deref(),
        Some("terminology://snomed.info")
    );
    assert!(snomed.codes.is_empty());
}

#[test]
fn ordinals_and_primitives_of_the_all_types_template() {
    let template = parse(&template_file("Test_all_types.opt")).expect("parses");
    let items = "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]";
    let ordinal = node(&template, &format!("{items}/items[at0013]/value"));
    let ObjectKind::Ordinal { items: ordinals } = &ordinal.kind else {
        panic!("{:?}", ordinal.kind)
    };
    assert_eq!(ordinals[0].value, 0);
    assert_eq!(
        ordinals[0].symbol,
        CodeRef {
            terminology_id: "local".into(),
            code: "at0014".into()
        }
    );
    let quantity = node(&template, &format!("{items}/items[at0007]/value"));
    let ObjectKind::Quantity {
        property,
        items: units,
    } = &quantity.kind
    else {
        panic!("{:?}", quantity.kind)
    };
    assert_eq!(
        property.as_ref().map(|code| code.code.as_str()),
        Some("124")
    );
    assert_eq!(
        units
            .iter()
            .map(|unit| unit.units.as_str())
            .collect::<Vec<_>>(),
        ["mg", "kg"]
    );

    let mut nodes = Vec::new();
    walk(&template.root, String::new(), &mut nodes);
    let primitives: Vec<&PrimitiveConstraint> = nodes
        .iter()
        .filter_map(|(_, node)| match &node.kind {
            ObjectKind::Primitive(primitive) => Some(primitive),
            _ => None,
        })
        .collect();
    assert!(primitives.contains(&&PrimitiveConstraint::Boolean {
        true_valid: true,
        false_valid: true
    }));
    assert!(primitives.iter().any(|primitive| matches!(
        primitive,
        PrimitiveConstraint::Date(TemporalConstraint { pattern: Some(pattern), .. }) if pattern == "yyyy-??-XX"
    )));
}

#[test]
fn a_duration_range_and_an_integer_range() {
    let template = parse(&template_file("EHRN Vital signs.v2.opt")).expect("parses");
    let mut nodes = Vec::new();
    walk(&template.root, String::new(), &mut nodes);
    let integer_ranges: Vec<_> = nodes
        .iter()
        .filter_map(|(_, node)| match &node.kind {
            ObjectKind::Primitive(PrimitiveConstraint::Integer {
                range: Some(range), ..
            }) => Some(range.clone()),
            _ => None,
        })
        .collect();
    assert!(
        integer_ranges.contains(&Interval::closed(0, 10)),
        "{integer_ranges:?}"
    );
    assert!(nodes.iter().any(|(_, node)| matches!(
        &node.kind,
        ObjectKind::Primitive(PrimitiveConstraint::Duration(TemporalConstraint { range: Some(range), .. }))
            if range.lower.as_deref() == Some("PT24H")
    )));
}

/// A minimal OPT around `definition_content` (the children of `<definition>`).
fn opt_with(definition_content: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<template xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <language><terminology_id><value>ISO_639-1</value></terminology_id><code_string>en</code_string></language>
  <template_id><value>broken.v1</value></template_id>
  <concept>broken</concept>
  <definition xsi:type="C_ARCHETYPE_ROOT">
    <rm_type_name>COMPOSITION</rm_type_name>
    <occurrences><lower_included>true</lower_included><upper_included>true</upper_included>
      <lower_unbounded>false</lower_unbounded><upper_unbounded>false</upper_unbounded><lower>1</lower><upper>1</upper></occurrences>
    <node_id>at0000</node_id>
    {definition_content}
    <archetype_id><value>openEHR-EHR-COMPOSITION.broken.v1</value></archetype_id>
    <term_definitions code="at0000"><items id="text">Broken</items><items id="description">d</items></term_definitions>
    <constraint_definitions code="ac0001"><items id="text">Some codes</items></constraint_definitions>
  </definition>
</template>"#
    )
}

/// An attribute `content` holding one child of the given xsi:type and inner XML.
fn content_child(xsi_type: &str, inner: &str) -> String {
    opt_with(&format!(
        r#"<attributes xsi:type="C_MULTIPLE_ATTRIBUTE"><rm_attribute_name>content</rm_attribute_name>
        <cardinality><is_ordered>true</is_ordered><is_unique>false</is_unique>
          <interval><lower_included>true</lower_included><lower_unbounded>false</lower_unbounded><upper_unbounded>true</upper_unbounded><lower>0</lower></interval></cardinality>
        <children xsi:type="{xsi_type}"><rm_type_name>SECTION</rm_type_name><node_id>at0001</node_id>{inner}</children>
      </attributes>"#
    ))
}

fn check_error(opt: &str, expected: &str) {
    match parse(opt.as_bytes()) {
        Ok(_) => panic!("accepted; expected {expected}"),
        Err(error) => assert_eq!(error.to_string(), expected),
    }
}

#[test]
fn a_minimal_opt_parses_with_its_references() {
    let template = parse(
        content_child(
            "C_COMPLEX_OBJECT",
            r#"<attributes xsi:type="C_MULTIPLE_ATTRIBUTE"><rm_attribute_name>items</rm_attribute_name>
                <children xsi:type="ARCHETYPE_INTERNAL_REF"><rm_type_name>SECTION</rm_type_name><node_id/><target_path>/content[at0001]</target_path></children>
                <children xsi:type="CONSTRAINT_REF"><rm_type_name>CODE_PHRASE</rm_type_name><node_id/><reference>ac0001</reference></children>
              </attributes>"#,
        )
        .as_bytes(),
    )
    .expect("parses");
    assert_eq!(template.concept, "broken");
    let items = node(&template, "/content[at0001]")
        .attribute("items")
        .expect("items");
    assert_eq!(
        items.children[0].kind,
        ObjectKind::InternalRef {
            target_path: "/content[at0001]".into()
        }
    );
    assert_eq!(
        items.children[1].kind,
        ObjectKind::ConstraintRef {
            reference: "ac0001".into()
        }
    );
    // Occurrences default to 1..1 where the OPT leaves them out.
    assert_eq!(items.children[0].occurrences, Interval::closed(1, 1));
    assert_eq!(
        terms(&template.root)
            .term("en", "ac0001")
            .map(|term| term.text.as_str()),
        Some("Some codes")
    );
}

#[test]
fn refuses_what_is_not_an_operational_template() {
    assert!(matches!(
        parse(b"not xml at all"),
        Err(TemplateError::Xml { .. })
    ));
    assert!(matches!(
        parse(b"<template><concept>x</wrong></template>"),
        Err(TemplateError::Xml { .. })
    ));
    assert!(matches!(
        parse(b"<template><concept>x</concept>"),
        Err(TemplateError::Xml { .. })
    ));
    assert_eq!(parse(b""), Err(TemplateError::Empty));
    assert_eq!(
        parse(b"<composition/>"),
        Err(TemplateError::NotATemplate("composition".into()))
    );
    assert_eq!(
        parse(b"<archetype><concept>x</concept></archetype>"),
        Err(TemplateError::NotATemplate("archetype".into()))
    );
    let without_id =
        opt_with("").replace("<template_id><value>broken.v1</value></template_id>", "");
    assert_eq!(
        parse(without_id.as_bytes()),
        Err(TemplateError::Missing("template_id"))
    );
    // Templates of the other versioned LOCATABLEs are templates too; an entry alone is not.
    let ehr_status = opt_with("").replace(">COMPOSITION<", ">EHR_STATUS<");
    assert!(parse(ehr_status.as_bytes()).is_ok());
    let observation = opt_with("").replace(">COMPOSITION<", ">OBSERVATION<");
    assert_eq!(
        parse(observation.as_bytes()),
        Err(TemplateError::UnsupportedRoot("OBSERVATION".into()))
    );
}

#[test]
fn refuses_broken_constraints_naming_where() {
    check_error(
        &content_child("C_FANCY_OBJECT", ""),
        "unknown constraint type C_FANCY_OBJECT at /content[at0001]",
    );
    check_error(
        &opt_with(
            r#"<attributes xsi:type="C_SINGLE_ATTRIBUTE"><existence><lower>0</lower><upper>1</upper></existence></attributes>"#,
        ),
        "missing <rm_attribute_name> at /",
    );
    check_error(
        &content_child("C_COMPLEX_OBJECT", "").replace(
            "<node_id>at0001</node_id>",
            "<node_id>at0001</node_id><occurrences><lower>3</lower><upper>1</upper></occurrences>",
        ),
        "broken interval <occurrences> at /content[at0001]: lower 3 is above upper 1",
    );
    check_error(
        &content_child(
            "C_COMPLEX_OBJECT",
            "<occurrences><lower_unbounded>false</lower_unbounded><lower>-1</lower></occurrences>",
        ),
        "broken interval <occurrences> at /content[at0001]: lower '-1' is not a valid bound",
    );
    check_error(
        &content_child(
            "C_COMPLEX_OBJECT",
            "<occurrences><lower_unbounded>false</lower_unbounded><upper>1</upper></occurrences>",
        ),
        "broken interval <occurrences> at /content[at0001]: lower is missing but lower_unbounded is false",
    );
    check_error(
        &content_child(
            "ARCHETYPE_INTERNAL_REF",
            "<target_path>/content[at0099]</target_path>",
        ),
        "broken constraint reference at /content[at0001]: /content[at0099] names no node of its archetype",
    );
    check_error(
        &content_child("CONSTRAINT_REF", "<reference>ac0009</reference>"),
        "broken constraint reference at /content[at0001]: ac0009 is not defined in its archetype's constraint_definitions",
    );
    check_error(
        &content_child(
            "C_PRIMITIVE_OBJECT",
            r#"<item xsi:type="C_INTEGER"><list>seven</list></item>"#,
        ),
        "invalid <list> 'seven' at /content[at0001]",
    );
    check_error(
        &content_child("C_COMPLEX_OBJECT", "")
            .replace(r#"<children xsi:type="C_COMPLEX_OBJECT">"#, "<children>"),
        "the constraint at /content[at0001] has no xsi:type",
    );
    check_error(
        &content_child("C_COMPLEX_OBJECT", "").replace("<rm_type_name>SECTION</rm_type_name>", ""),
        "missing <rm_type_name> at /content[at0001]",
    );
}
