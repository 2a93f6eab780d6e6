//! Reading every shared operational template into its constraint tree, and refusing broken ones.

use templates::model::{ObjectConstraint, ObjectKind};
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
