//! Integration tests of the RM tree: round trips over the shared example files, error cases
//! with their kinds, paths and messages, versions and identifiers.

use std::path::{Path, PathBuf};

use openehr_rm::ids::ObjectVersionId;
use openehr_rm::{RmErrorKind, RmObject, RmValue, conforms_to, json, xml};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/compositions")
}

fn example_files(suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata())
        .expect("testdata directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no {suffix} files in {}",
        testdata().display()
    );
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every round trip a tree must survive: JSON and XML each to themselves and to each other.
fn check_round_trips(tree: &RmObject, name: &str) {
    let compact =
        json::from_slice(&json::to_vec(tree), "COMPOSITION").expect("compact json reads back");
    assert_eq!(&compact, tree, "{name}: json round trip");
    let pretty = json::from_slice(&json::to_vec_pretty(tree), "COMPOSITION")
        .expect("pretty json reads back");
    assert_eq!(&pretty, tree, "{name}: pretty json round trip");
    let value =
        json::from_value(&json::to_value(tree), "COMPOSITION").expect("json value reads back");
    assert_eq!(&value, tree, "{name}: json value round trip");
    let xml_bytes = xml::to_vec(tree, "composition");
    let from_xml = xml::from_slice(&xml_bytes, "COMPOSITION").unwrap_or_else(|error| {
        panic!(
            "{name}: xml reads back: {error}\n{}",
            String::from_utf8_lossy(&xml_bytes)
        )
    });
    assert_eq!(&from_xml, tree, "{name}: xml round trip");
}

#[test]
fn canonical_json_examples_round_trip() {
    for path in example_files(".canonical.json") {
        let name = path.display().to_string();
        let tree = json::from_slice(&read(&path), "COMPOSITION")
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(tree.type_name(), "COMPOSITION");
        check_round_trips(&tree, &name);
    }
}

#[test]
fn canonical_xml_examples_round_trip() {
    for path in example_files(".canonical.xml") {
        let name = path.display().to_string();
        let tree = xml::from_slice(&read(&path), "COMPOSITION")
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(tree.type_name(), "COMPOSITION");
        check_round_trips(&tree, &name);
    }
}

#[test]
fn xml_of_the_example_keeps_element_order_and_xsi_types() {
    let path = testdata().join("adverse_reac_with_feeder_audit.canonical.xml");
    let tree = xml::from_slice(&read(&path), "COMPOSITION").expect("example reads");
    let text = String::from_utf8(xml::to_vec(&tree, "composition")).expect("utf-8");
    assert!(text.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><composition xmlns=\"http://schemas.openehr.org/v1\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"COMPOSITION\" \
         archetype_node_id=\"openEHR-EHR-COMPOSITION.adverse_reaction_list.v1\"><name><value>"
    ));
    // Declared UID_BASED_ID, runtime OBJECT_VERSION_ID: the type must be written.
    assert!(text.contains("<uid xsi:type=\"OBJECT_VERSION_ID\"><value>"));
    // Declared and runtime type agree: no xsi:type.
    assert!(text.contains("<language><terminology_id><value>ISO_639-1</value></terminology_id><code_string>en</code_string></language>"));
}

// ---------------------------------------------------------------- other roots

const EHR_STATUS: &str = r#"{
  "_type": "EHR_STATUS",
  "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
  "name": {"value": "EHR status"},
  "subject": {"_type": "PARTY_SELF", "external_ref": {"_type": "PARTY_REF",
    "id": {"_type": "GENERIC_ID", "value": "9999999000", "scheme": "nhs-number"},
    "namespace": "uk.nhs.nhs_number", "type": "PERSON"}},
  "is_queryable": true,
  "is_modifiable": true
}"#;

const FOLDER: &str = r#"{
  "_type": "FOLDER",
  "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
  "name": {"_type": "DV_TEXT", "value": "root"},
  "folders": [{"_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
    "name": {"value": "episodes"}, "items": []}],
  "items": [{"_type": "OBJECT_REF", "id": {"_type": "HIER_OBJECT_ID",
    "value": "8849182c-82ad-4088-a07f-48ead4180515"}, "namespace": "local", "type": "VERSIONED_COMPOSITION"}]
}"#;

#[test]
fn ehr_status_parses_and_round_trips() {
    let status = json::from_slice(EHR_STATUS.as_bytes(), "EHR_STATUS").expect("ehr status");
    assert_eq!(status.get("is_queryable"), Some(&RmValue::Boolean(true)));
    let subject = status.get_object("subject").expect("subject");
    assert_eq!(subject.type_name(), "PARTY_SELF");
    assert!(subject.is_a("PARTY_PROXY"));
    // `name` had no `_type`: DV_TEXT is concrete, so it is inferred and written out.
    assert_eq!(
        status.get_object("name").map(RmObject::type_name),
        Some("DV_TEXT")
    );
    assert_eq!(
        json::from_slice(&json::to_vec(&status), "EHR_STATUS").expect("json"),
        status
    );
    let xml_bytes = xml::to_vec(&status, "ehr_status");
    assert_eq!(
        xml::from_slice(&xml_bytes, "EHR_STATUS").expect("xml"),
        status
    );
}

#[test]
fn folder_parses_and_round_trips_keeping_empty_lists_in_json() {
    let folder = json::from_slice(FOLDER.as_bytes(), "FOLDER").expect("folder");
    let again = json::from_slice(&json::to_vec_pretty(&folder), "FOLDER").expect("json");
    assert_eq!(again, folder);
    let text = String::from_utf8(json::to_vec(&folder)).expect("utf-8");
    assert!(text.starts_with("{\"_type\":\"FOLDER\","), "{text}");
    assert!(text.contains("\"items\":[]"), "{text}");
    // XML cannot carry an empty list: everything else survives.
    let mut without_empty = folder.clone();
    if let Some(RmValue::List(folders)) = without_empty.get_mut("folders")
        && let Some(RmValue::Object(child)) = folders.first_mut()
    {
        child.remove("items");
    }
    let from_xml = xml::from_slice(&xml::to_vec(&folder, "folder"), "FOLDER").expect("xml");
    assert_eq!(from_xml, without_empty);
}

#[test]
fn original_version_wrapping_a_composition_parses() {
    let composition = read(&testdata().join("minimal_observation.canonical.json"));
    let composition = String::from_utf8(composition).expect("utf-8");
    let version = format!(
        r#"{{"_type": "ORIGINAL_VERSION",
          "contribution": {{"id": {{"_type": "HIER_OBJECT_ID", "value": "0b5bc8e5-6e1a-4cb3-b43c-b8b9b2a5e7a4"}},
             "namespace": "local", "type": "CONTRIBUTION"}},
          "commit_audit": {{"system_id": "kith.local",
             "committer": {{"_type": "PARTY_IDENTIFIED", "name": "Dr Who"}},
             "time_committed": {{"value": "2024-01-01T10:00:00Z"}},
             "change_type": {{"value": "creation", "defining_code": {{"terminology_id": {{"value": "openehr"}}, "code_string": "249"}}}}}},
          "uid": {{"value": "8849182c-82ad-4088-a07f-48ead4180515::kith.local::1"}},
          "lifecycle_state": {{"value": "complete", "defining_code": {{"terminology_id": {{"value": "openehr"}}, "code_string": "532"}}}},
          "data": {composition}}}"#
    );
    let parsed = json::from_slice(version.as_bytes(), "ORIGINAL_VERSION").expect("version");
    assert!(parsed.is_a("VERSION"));
    assert_eq!(
        parsed.get_object("data").map(RmObject::type_name),
        Some("COMPOSITION")
    );
    let xml_bytes = xml::to_vec(&parsed, "version");
    let text = String::from_utf8_lossy(&xml_bytes);
    assert!(
        text.contains("<data xsi:type=\"COMPOSITION\""),
        "data is declared Any, so its type is written"
    );
    assert_eq!(
        xml::from_slice(&xml_bytes, "ORIGINAL_VERSION").expect("xml"),
        parsed
    );
    assert_eq!(
        json::from_slice(&json::to_vec(&parsed), "VERSION").expect("json"),
        parsed
    );

    let without_type = version.replacen("\"_type\": \"COMPOSITION\"", "\"_tipe\": 1", 1);
    let error =
        json::from_slice(without_type.as_bytes(), "ORIGINAL_VERSION").expect_err("untyped data");
    assert_eq!(error.kind, RmErrorKind::AbstractType);
    assert_eq!(error.path, "/data");
    assert_eq!(error.message, "missing \"_type\" where any type is allowed");
}

#[test]
fn parameterised_type_names_are_accepted() {
    let interval = r#"{"_type": "DV_INTERVAL<DV_QUANTITY>",
        "lower": {"_type": "DV_QUANTITY", "magnitude": 1, "units": "mg"},
        "lower_unbounded": false, "upper_unbounded": true}"#;
    let parsed = json::from_slice(interval.as_bytes(), "DATA_VALUE").expect("interval");
    assert_eq!(parsed.type_name(), "DV_INTERVAL");
    let lower = parsed.get_object("lower").expect("lower");
    assert_eq!(lower.get("magnitude"), Some(&RmValue::Real(1.0)));
    assert!(
        String::from_utf8_lossy(&json::to_vec(&parsed)).starts_with("{\"_type\":\"DV_INTERVAL\",")
    );
}

#[test]
fn subtype_test_and_conformance() {
    assert!(conforms_to("POINT_EVENT", "EVENT"));
    assert!(conforms_to("DV_CODED_TEXT", "DATA_VALUE"));
    assert!(conforms_to("COMPOSITION", "Any"));
    assert!(!conforms_to("DV_TEXT", "DV_CODED_TEXT"));
    assert!(!conforms_to("NOT_A_TYPE", "Any"));
    let observation = RmObject::new("OBSERVATION").expect("concrete");
    assert!(
        observation.is_a("CARE_ENTRY")
            && observation.is_a("LOCATABLE")
            && !observation.is_a("SECTION")
    );
}

// ---------------------------------------------------------------- errors

/// Applies `edit` to the minimal observation example and checks the error it then causes.
fn check_json_error(
    edit: impl FnOnce(&mut serde_json::Value),
    kind: RmErrorKind,
    path: &str,
    message: &str,
) {
    let mut document: serde_json::Value = serde_json::from_slice(&read(
        &testdata().join("minimal_observation.canonical.json"),
    ))
    .expect("example");
    edit(&mut document);
    let error = json::from_value(&document, "COMPOSITION").expect_err("edited document must fail");
    assert_eq!(
        (error.kind, error.path.as_str(), error.message.as_str()),
        (kind, path, message)
    );
    assert_eq!(error.to_string(), format!("{message} at {path}"));
}

fn element_value(document: &mut serde_json::Value) -> &mut serde_json::Value {
    &mut document["content"][0]["data"]["events"][0]["data"]["items"][0]["value"]
}

#[test]
fn malformed_json_reports_line_and_column() {
    let error = json::from_slice(
        b"{\n  \"_type\": \"COMPOSITION\",\n  \"name\": }",
        "COMPOSITION",
    )
    .expect_err("bad");
    assert_eq!(error.kind, RmErrorKind::Syntax);
    assert_eq!(error.path, "/");
    assert_eq!(
        error.message,
        "malformed json: expected value at line 3 column 11"
    );
}

#[test]
fn unknown_type_is_reported_where_it_occurs() {
    check_json_error(
        |document| element_value(document)["_type"] = "DV_TEXTT".into(),
        RmErrorKind::UnknownType,
        "/content/0/data/events/0/data/items/0/value",
        "unknown type \"DV_TEXTT\"",
    );
    let error = json::from_slice(b"{}", "COMPOSITIONN").expect_err("unknown root type");
    assert_eq!(
        (error.kind, error.path.as_str()),
        (RmErrorKind::UnknownType, "/")
    );
}

#[test]
fn abstract_type_is_rejected() {
    check_json_error(
        |document| element_value(document)["_type"] = "DV_ORDERED".into(),
        RmErrorKind::AbstractType,
        "/content/0/data/events/0/data/items/0/value",
        "type \"DV_ORDERED\" is abstract",
    );
    check_json_error(
        |document| {
            element_value(document)
                .as_object_mut()
                .expect("object")
                .remove("_type");
        },
        RmErrorKind::AbstractType,
        "/content/0/data/events/0/data/items/0/value",
        "missing \"_type\" for abstract type DATA_VALUE",
    );
}

#[test]
fn missing_mandatory_attribute_names_its_path() {
    check_json_error(
        |document| {
            document["content"][0]
                .as_object_mut()
                .expect("object")
                .remove("name");
        },
        RmErrorKind::MissingAttribute,
        "/content/0/name",
        "missing mandatory attribute \"name\" of OBSERVATION",
    );
    check_json_error(
        |document| {
            document["content"][0]["data"]["events"][0]
                .as_object_mut()
                .expect("object")
                .remove("time");
        },
        RmErrorKind::MissingAttribute,
        "/content/0/data/events/0/time",
        "missing mandatory attribute \"time\" of POINT_EVENT",
    );
}

#[test]
fn unknown_attribute_is_rejected() {
    check_json_error(
        |document| {
            document["content"][0]["data"]["events"][0]["data"]["items"][0]["foo"] = 1.into()
        },
        RmErrorKind::UnknownAttribute,
        "/content/0/data/events/0/data/items/0/foo",
        "unknown attribute \"foo\" of ELEMENT",
    );
}

#[test]
fn wrong_primitive_types_are_rejected() {
    check_json_error(
        |document| document["context"]["start_time"]["value"] = 20190128.into(),
        RmErrorKind::WrongType,
        "/context/start_time/value",
        "expected a string, found a number",
    );
    check_json_error(
        |document| {
            *element_value(document) = serde_json::json!({"_type": "DV_COUNT", "magnitude": 1.5});
        },
        RmErrorKind::WrongType,
        "/content/0/data/events/0/data/items/0/value/magnitude",
        "expected an integer, found a decimal number",
    );
    check_json_error(
        |document| document["content"][0]["data"]["events"] = serde_json::json!({}),
        RmErrorKind::WrongType,
        "/content/0/data/events",
        "expected an array, found an object",
    );
}

#[test]
fn non_conforming_type_is_rejected() {
    check_json_error(
        |document| document["composer"]["_type"] = "DV_TEXT".into(),
        RmErrorKind::WrongType,
        "/composer",
        "type \"DV_TEXT\" does not conform to PARTY_PROXY",
    );
    let error = json::from_slice(br#"{"_type": "FOLDER"}"#, "COMPOSITION").expect_err("root");
    assert_eq!(
        (error.kind, error.path.as_str()),
        (RmErrorKind::WrongType, "/")
    );
    assert_eq!(
        error.message,
        "type \"FOLDER\" does not conform to COMPOSITION"
    );
}

fn example_xml() -> String {
    String::from_utf8(read(
        &testdata().join("adverse_reac_with_feeder_audit.canonical.xml"),
    ))
    .expect("utf-8")
}

#[test]
fn malformed_xml_reports_line_and_column() {
    let error = xml::from_slice(
        b"<composition>\n  <name><value>x</valu></name>\n</composition>",
        "COMPOSITION",
    )
    .expect_err("mismatched tags");
    assert_eq!(error.kind, RmErrorKind::Syntax);
    assert_eq!(error.path, "/name/value");
    assert!(
        error.message.starts_with("malformed xml: "),
        "{}",
        error.message
    );
    assert!(
        error.message.ends_with("at line 2 column 17"),
        "{}",
        error.message
    );
}

#[test]
fn unknown_xsi_type_is_rejected() {
    let document = example_xml().replacen(
        "xsi:type=\"PARTY_IDENTIFIED\"",
        "xsi:type=\"PARTY_IDENTIFYED\"",
        1,
    );
    let error = xml::from_slice(document.as_bytes(), "COMPOSITION").expect_err("unknown type");
    assert_eq!(
        (error.kind, error.path.as_str(), error.message.as_str()),
        (
            RmErrorKind::UnknownType,
            "/composer",
            "unknown type \"PARTY_IDENTIFYED\""
        )
    );
}

#[test]
fn xml_errors_carry_attribute_paths_with_list_indexes() {
    let document = example_xml().replacen(
        "<code_string>433</code_string>",
        "<code_strin>433</code_strin>",
        1,
    );
    let error = xml::from_slice(document.as_bytes(), "COMPOSITION").expect_err("unknown element");
    assert_eq!(
        (error.kind, error.path.as_str(), error.message.as_str()),
        (
            RmErrorKind::UnknownAttribute,
            "/category/defining_code/code_strin",
            "unknown attribute \"code_strin\" of CODE_PHRASE"
        )
    );
    let document = example_xml().replacen("xsi:type=\"PARTY_IDENTIFIED\"", "", 1);
    let error = xml::from_slice(document.as_bytes(), "COMPOSITION").expect_err("abstract");
    assert_eq!(
        (error.kind, error.path.as_str(), error.message.as_str()),
        (
            RmErrorKind::AbstractType,
            "/composer",
            "missing \"xsi:type\" for abstract type PARTY_PROXY"
        )
    );
    let tree = xml::from_slice(example_xml().as_bytes(), "COMPOSITION").expect("example");
    let mut json_document = json::to_value(&tree);
    json_document["content"][0]["archetype_node_id"] = 5.into();
    let error = json::from_value(&json_document, "COMPOSITION").expect_err("number as node id");
    assert_eq!(error.path, "/content/0/archetype_node_id");
    let observation = json::from_slice(
        &read(&testdata().join("minimal_observation.canonical.json")),
        "COMPOSITION",
    )
    .expect("example");
    let observation_xml =
        String::from_utf8(xml::to_vec(&observation, "composition")).expect("utf-8");
    let broken = observation_xml
        .replacen("<time><value>", "<time><valu>", 1)
        .replacen("</value></time>", "</valu></time>", 1);
    let error = xml::from_slice(broken.as_bytes(), "COMPOSITION")
        .expect_err("unknown element in a list item");
    assert_eq!(error.path, "/content/0/data/events/0/time/valu");
    let bad_xml = xml::to_vec(&tree, "composition");
    let bad_xml = String::from_utf8(bad_xml).expect("utf-8").replacen(
        "<rm_version>",
        "<rm_version><oops/>",
        1,
    );
    let error = xml::from_slice(bad_xml.as_bytes(), "COMPOSITION").expect_err("element in text");
    assert_eq!(
        (error.kind, error.path.as_str()),
        (RmErrorKind::WrongType, "/archetype_details/rm_version")
    );
}

#[test]
fn xml_booleans_and_numbers_are_checked() {
    let status = json::from_slice(EHR_STATUS.as_bytes(), "EHR_STATUS").expect("ehr status");
    let text = String::from_utf8(xml::to_vec(&status, "ehr_status")).expect("utf-8");
    assert!(text.contains("<is_queryable>true</is_queryable>"), "{text}");
    let broken = text.replacen("<is_queryable>true<", "<is_queryable>yes<", 1);
    let error = xml::from_slice(broken.as_bytes(), "EHR_STATUS").expect_err("not a boolean");
    assert_eq!(
        (error.kind, error.path.as_str(), error.message.as_str()),
        (
            RmErrorKind::WrongType,
            "/is_queryable",
            "expected a boolean, found \"yes\""
        )
    );
}

// ---------------------------------------------------------------- identifiers

#[test]
fn object_version_ids_parse() {
    let id = ObjectVersionId::parse("8849182c-82ad-4088-a07f-48ead4180515::kith.local::3")
        .expect("trunk");
    assert_eq!(id.object_id, "8849182c-82ad-4088-a07f-48ead4180515");
    assert_eq!(id.creating_system_id, "kith.local");
    assert_eq!(id.version_number(), Some(3));
    assert_eq!(
        id.to_string(),
        "8849182c-82ad-4088-a07f-48ead4180515::kith.local::3"
    );
    let branch: ObjectVersionId = "abc::sys::1.2.3".parse().expect("branch");
    assert_eq!(
        (branch.version_tree_id.as_str(), branch.version_number()),
        ("1.2.3", None)
    );
    assert_eq!(
        ObjectVersionId::new("abc", "sys", 2).to_string(),
        "abc::sys::2"
    );
}

#[test]
fn invalid_object_version_ids_are_rejected() {
    for text in [
        "",
        "abc",
        "abc::sys",
        "abc::sys::",
        "::sys::1",
        "abc::::1",
        "abc::sys::0",
        "abc::sys::01",
        "abc::sys::1.2",
        "abc::sys::1.2.3.4",
        "abc::sys::-1",
        "abc::sys::1::2",
        "abc::sys::x",
        "a b::sys::1",
    ] {
        let error = ObjectVersionId::parse(text).expect_err(text);
        assert_eq!(error.kind, RmErrorKind::InvalidValue, "{text}");
        assert!(
            error
                .message
                .starts_with(&format!("invalid object version id \"{text}\"")),
            "{}",
            error.message
        );
    }
}
