//! Web templates of the shared templates: their ids, paths and inputs as clients expect them.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use templates::web_template::web_template;

fn template_file(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn web_template_of(file: &str) -> Value {
    let template = templates::opt::parse(&template_file(&format!("templates/{file}")))
        .unwrap_or_else(|error| panic!("{file}: {error}"));
    web_template(&template)
}

fn nodes(node: &Value) -> Vec<&Value> {
    let mut all = vec![node];
    for child in node["children"].as_array().into_iter().flatten() {
        all.extend(nodes(child));
    }
    all
}

/// The node at `ids` (a FLAT path without indexes) under the tree.
fn node_at<'a>(tree: &'a Value, ids: &str) -> &'a Value {
    let mut node = tree;
    for id in ids.split('/') {
        node = node["children"]
            .as_array()
            .and_then(|children| children.iter().find(|child| child["id"] == id))
            .unwrap_or_else(|| panic!("no node {id} in {ids}"));
    }
    node
}

/// The tree as indented `id aqlPath` lines, the form of the expected files.
fn outline(node: &Value, depth: usize, lines: &mut Vec<String>) {
    let path = node["aqlPath"].as_str().unwrap_or("");
    let line = format!(
        "{}{} {path}",
        "  ".repeat(depth),
        node["id"].as_str().unwrap()
    );
    lines.push(line.trim_end().to_owned());
    for child in node["children"].as_array().into_iter().flatten() {
        outline(child, depth + 1, lines);
    }
}

const SHARED_TEMPLATES: [&str; 15] = [
    "EHRN Vital signs.v2.opt",
    "IDCR - Adverse Reaction List.v1.opt",
    "IDCR - Immunisation summary.v0.opt",
    "IDCR - Problem List.v1.opt",
    "ReSPECT-3.v0.opt",
    "Test_all_types.opt",
    "ehrbase_blood_pressure_simple.de.v0.opt",
    "ehrbase_multi_occurrence.de.opt",
    "ehrn_vital_signs.v2.opt",
    "minimal_action2.opt",
    "minimal_evaluation.opt",
    "minimal_instruction.opt",
    "minimal_observation.opt",
    "nested.en.v1.opt",
    "persistent_minimal.opt",
];

#[test]
fn test_all_types_has_the_ids_and_paths_of_the_sdk() {
    // The ids and paths of openEHR_SDK's expected web template for this template
    // (test-data webtemplate/test_all_types.json), written down as facts.
    let expected = include_str!("web_template_test_all_types.txt");
    let wt = web_template_of("Test_all_types.opt");
    let mut lines = Vec::new();
    outline(&wt["tree"], 0, &mut lines);
    let actual = lines.join("\n") + "\n";
    assert_eq!(actual, expected);
}

#[test]
fn blood_pressure_snapshot() {
    let wt = web_template_of("ehrbase_blood_pressure_simple.de.v0.opt");
    assert_eq!(wt["templateId"], "ehrbase_blood_pressure_simple.de.v0");
    assert_eq!(wt["version"], "2.3");
    assert_eq!(wt["defaultLanguage"], "en");
    assert_eq!(wt["languages"], json!(["en"]));
    let tree = &wt["tree"];
    assert_eq!(tree["id"], "encounter_training_sample");
    assert_eq!(
        tree["nodeId"],
        "openEHR-EHR-COMPOSITION.sample_encounter.v1"
    );
    assert_eq!(tree.get("aqlPath"), None, "the root's path is empty");

    let observation = node_at(tree, "blood_pressure_training_sample");
    assert_eq!(
        observation["aqlPath"],
        "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]"
    );
    assert_eq!(
        (&observation["min"], &observation["max"]),
        (&json!(1), &json!(8))
    );

    // The single event is dissolved: its data and time sit on the observation.
    let systolic = node_at(tree, "blood_pressure_training_sample/systolic");
    assert_eq!(systolic["rmType"], "DV_QUANTITY");
    assert_eq!(systolic["nodeId"], "at0004");
    assert_eq!((&systolic["min"], &systolic["max"]), (&json!(0), &json!(1)));
    assert_eq!(
        systolic["aqlPath"],
        "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value"
    );
    let validation = json!({
        "range": {"min": 0.0, "minOp": ">=", "max": 1000.0, "maxOp": "<"},
        "precision": {"min": 0, "minOp": ">=", "max": 0, "maxOp": "<="},
    });
    assert_eq!(
        systolic["inputs"],
        json!([
            {"suffix": "magnitude", "type": "DECIMAL", "validation": validation},
            {"suffix": "unit", "type": "CODED_TEXT",
             "list": [{"value": "mm[Hg]", "label": "mm[Hg]", "validation": validation}]},
        ])
    );

    let position = node_at(tree, "blood_pressure_training_sample/position");
    assert_eq!(position["rmType"], "DV_CODED_TEXT");
    assert_eq!((&position["min"], &position["max"]), (&json!(1), &json!(1)));
    let code = &position["inputs"][0];
    assert_eq!(
        (&code["suffix"], &code["type"]),
        (&json!("code"), &json!("CODED_TEXT"))
    );
    assert_eq!(code["terminology"], "local");
    let first = &code["list"][0];
    assert_eq!(
        (&first["value"], &first["label"]),
        (&json!("at1000"), &json!("Standing"))
    );
    assert_eq!(first["localizedLabels"], json!({"en": "Standing"}));
    assert_eq!(code["list"].as_array().unwrap().len(), 6);

    let time = node_at(tree, "blood_pressure_training_sample/time");
    assert_eq!(time["inContext"], true);
    assert_eq!(time["inputs"], json!([{"type": "DATETIME"}]));
    for (ids, rm_type) in [
        ("category", "DV_CODED_TEXT"),
        ("composer", "PARTY_PROXY"),
        ("language", "CODE_PHRASE"),
        ("territory", "CODE_PHRASE"),
        ("context/start_time", "DV_DATE_TIME"),
        ("context/setting", "DV_CODED_TEXT"),
        ("blood_pressure_training_sample/subject", "PARTY_PROXY"),
        ("blood_pressure_training_sample/language", "CODE_PHRASE"),
        ("blood_pressure_training_sample/encoding", "CODE_PHRASE"),
    ] {
        let node = node_at(tree, ids);
        assert_eq!(node["rmType"], rm_type, "{ids}");
        assert_eq!(node["inContext"], true, "{ids}");
    }
    assert_eq!(
        node_at(tree, "category")["inputs"][0]["list"],
        json!([{"value": "433", "label": "event", "localizedLabels": {"en": "event"}}])
    );
}

#[test]
fn vital_signs_snapshot() {
    let wt = web_template_of("ehrn_vital_signs.v2.opt");
    let tree = &wt["tree"];
    assert_eq!(tree["id"], "ehrn_vital_signs.v2");
    let event = node_at(tree, "vital_signs/blood_pressure/any_event");
    assert_eq!(event["rmType"], "EVENT");
    assert_eq!((&event["min"], &event["max"]), (&json!(0), &json!(-1)));
    let systolic = node_at(tree, "vital_signs/blood_pressure/any_event/systolic");
    assert_eq!(
        systolic["aqlPath"],
        "/content[openEHR-EHR-SECTION.vital_signs.v1]/items[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value"
    );
    assert_eq!(systolic["inputs"][1]["list"][0]["value"], "mm[Hg]");
    let time = node_at(tree, "vital_signs/blood_pressure/any_event/time");
    assert_eq!(time["inContext"], true);
}

#[test]
fn every_shared_template_has_unique_paths_and_sibling_ids() {
    for file in SHARED_TEMPLATES {
        let wt = web_template_of(file);
        let mut paths = BTreeSet::new();
        for node in nodes(&wt["tree"]) {
            // Alternatives of a choice share a path and differ by type.
            let key = (node["aqlPath"].to_string(), node["rmType"].to_string());
            assert!(paths.insert(key.clone()), "{file}: repeated path {key:?}");
            let mut ids = BTreeSet::new();
            for child in node["children"].as_array().into_iter().flatten() {
                let id = child["id"].as_str().unwrap();
                assert!(!id.is_empty(), "{file}: empty id under {}", node["id"]);
                assert!(
                    ids.insert(id),
                    "{file}: repeated id {id} under {}",
                    node["id"]
                );
            }
        }
    }
}

#[test]
fn every_flat_example_path_names_nodes_of_its_web_template() {
    for (composition, template) in [
        (
            "Adverse Reaction List.v1.flat.json",
            "IDCR - Adverse Reaction List.v1.opt",
        ),
        ("ReSPECT-3.v0.flat.json", "ReSPECT-3.v0.opt"),
        ("ehrn_vital_signs.v2.flat.json", "ehrn_vital_signs.v2.opt"),
    ] {
        let tree = web_template_of(template)["tree"].clone();
        let flat: Value =
            serde_json::from_slice(&template_file(&format!("compositions/{composition}"))).unwrap();
        let mut checked = 0;
        for path in flat.as_object().unwrap().keys() {
            if path.starts_with("ctx/") {
                continue;
            }
            let path = path.split('|').next().unwrap();
            let mut segments = path.split('/');
            assert_eq!(
                segments.next(),
                tree["id"].as_str(),
                "{composition}: {path}"
            );
            let mut node = &tree;
            for segment in segments {
                // `_uid`, `_link` and the like are FLAT attributes, not web template nodes.
                if segment.starts_with('_') {
                    break;
                }
                let id = segment.split(':').next().unwrap();
                node = node["children"]
                    .as_array()
                    .and_then(|children| children.iter().find(|child| child["id"] == id))
                    .unwrap_or_else(|| panic!("{composition}: no node {id} in {path}"));
            }
            checked += 1;
        }
        assert!(checked > 10, "{composition}: only {checked} paths");
    }
}

/// An INTERVAL_EVENT lists `width` and `math_function` beside `time`, in context as
/// EHRbase serves them (optional unless the template says otherwise: these templates
/// constrain the width); the math function's code is of the openEHR terminology.
#[test]
fn interval_events_advertise_width_and_math_function() {
    let wt = web_template_of("ehrn_vital_signs.v2.opt");
    let events: Vec<&Value> = nodes(&wt["tree"])
        .into_iter()
        .filter(|node| node["rmType"] == "INTERVAL_EVENT")
        .collect();
    assert!(!events.is_empty());
    for event in events {
        let children = event["children"].as_array().expect("children");
        let child = |id: &str| {
            children
                .iter()
                .find(|child| child["id"] == id)
                .unwrap_or_else(|| panic!("{id} under {}", event["id"]))
        };
        let path = event["aqlPath"].as_str().expect("path");
        let width = child("width");
        assert_eq!(width["rmType"], "DV_DURATION");
        assert_eq!(width["max"], 1);
        assert_eq!(width["aqlPath"], format!("{path}/width"));
        assert_eq!(width["inContext"], true);
        let function = child("math_function");
        assert_eq!(function["rmType"], "DV_CODED_TEXT");
        assert_eq!(function["aqlPath"], format!("{path}/math_function"));
        assert_eq!(function["inContext"], true);
        let code = function["inputs"]
            .as_array()
            .and_then(|inputs| inputs.iter().find(|input| input["suffix"] == "code"))
            .expect("a code input");
        assert_eq!(code["terminology"], "openehr");
        assert_eq!(child("time")["rmType"], "DV_DATE_TIME");
    }
}
