//! Generated compositions against the validator: examples and random compositions of every
//! template validate, and every single-constraint mutation is reported at its path. Examples
//! also show only what the template defines: no invented archetypes, so they convert to FLAT.

use std::collections::BTreeSet;

use openehr_rm::{RmObject, RmValue};
use templates::example::{example, random};
use templates::model::{AttributeConstraint, ObjectConstraint, ObjectKind, Template};
use templates::validate::validate;

/// Every template of the test data: the shared ones, and those written by hand for what the
/// shared ones lack (EHR_STATUS and FOLDER roots, quantities with a property and no units,
/// value sets, constraint references, unique containers).
fn templates() -> Vec<(String, Template)> {
    let mut paths: Vec<_> = ["templates", "handwritten"]
        .into_iter()
        .flat_map(|folder| {
            let folder = format!("{}/../../testdata/{folder}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_dir(&folder)
                .unwrap_or_else(|error| panic!("{folder}: {error}"))
                .map(|entry| entry.expect("directory entry").path())
        })
        .filter(|path| path.extension().is_some_and(|extension| extension == "opt"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{name}: {error}"));
            let template =
                templates::opt::parse(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
            (name, template)
        })
        .collect()
}

/// Every object in the tree has its RM-mandatory attributes.
fn check_mandatory_everywhere(object: &RmObject, path: &str, problems: &mut Vec<String>) {
    if let Err(error) = object.check_mandatory() {
        problems.push(format!("{path}: {error}"));
    }
    for (definition, value) in object.attributes() {
        match value {
            openehr_rm::RmValue::Object(child) => {
                check_mandatory_everywhere(child, &format!("{path}/{}", definition.name), problems);
            }
            openehr_rm::RmValue::List(members) => {
                for (index, member) in members.iter().enumerate() {
                    if let openehr_rm::RmValue::Object(child) = member {
                        check_mandatory_everywhere(
                            child,
                            &format!("{path}/{}[{index}]", definition.name),
                            problems,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn assert_valid(name: &str, what: &str, template: &Template, composition: &RmObject) {
    let violations = validate(template, composition);
    let mut problems = Vec::new();
    check_mandatory_everywhere(composition, "", &mut problems);
    assert!(
        violations.is_empty() && problems.is_empty(),
        "{name} ({what}): {violations:#?}\nmissing RM attributes: {problems:#?}\n{}",
        String::from_utf8_lossy(&openehr_rm::json::to_vec_pretty(composition))
    );
}

#[test]
fn examples_validate() {
    for (name, template) in templates() {
        let composition = example(&template);
        assert_valid(&name, "example", &template, &composition);
        assert_eq!(
            composition,
            example(&template),
            "{name}: example is deterministic"
        );
    }
}

/// The archetype ids of the constraint tree's archetype roots.
fn template_archetypes(constraint: &ObjectConstraint, ids: &mut BTreeSet<String>) {
    if let ObjectKind::ArchetypeRoot { archetype_id, .. } = &constraint.kind {
        ids.insert(archetype_id.clone());
    }
    for attribute in constraint.attributes() {
        for child in &attribute.children {
            template_archetypes(child, ids);
        }
    }
}

/// The archetype roots of a composition (objects with `archetype_details`), by path and id.
fn composition_archetypes(object: &RmObject, path: &str, roots: &mut Vec<(String, String)>) {
    if let Some(id) = object
        .get_object("archetype_details")
        .and_then(|details| details.get_object("archetype_id"))
        .and_then(|id| id.get_str("value"))
    {
        roots.push((path.to_owned(), id.to_owned()));
    }
    for (definition, value) in object.attributes() {
        let members = match value {
            RmValue::Object(child) => vec![&**child],
            RmValue::List(members) => members
                .iter()
                .filter_map(|member| match member {
                    RmValue::Object(child) => Some(&**child),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for child in members {
            let node = child.get_str("archetype_node_id").unwrap_or_default();
            composition_archetypes(child, &format!("{path}/{}[{node}]", definition.name), roots);
        }
    }
}

/// The example shows what the template defines: every archetype in it is one the template
/// uses, none is made up to fill an open slot.
#[test]
fn examples_invent_no_archetypes() {
    let mut invented = Vec::new();
    for (name, template) in templates() {
        let mut known = BTreeSet::new();
        template_archetypes(&template.root, &mut known);
        let mut roots = Vec::new();
        composition_archetypes(&example(&template), "", &mut roots);
        assert!(!roots.is_empty(), "{name}: the example has archetype roots");
        invented.extend(
            roots
                .into_iter()
                .filter(|(_, id)| !known.contains(id))
                .map(|(path, id)| format!("{name}: {id} at {path}")),
        );
    }
    assert!(
        invented.is_empty(),
        "invented archetypes:\n{}",
        invented.join("\n")
    );
}

/// The example endpoint serves the example in FLAT too: it has nothing the web template has
/// no node for (content of an open slot has none).
#[test]
fn examples_convert_to_flat() {
    // FLAT and STRUCTURED are formats of compositions only.
    for (name, template) in templates()
        .into_iter()
        .filter(|(_, template)| template.root.rm_type == "COMPOSITION")
    {
        let format = templates::flat::FlatFormat::new(&template);
        if let Err(errors) = format.from_canonical(&example(&template)) {
            panic!("{name}: {errors:#?}");
        }
    }
}

/// Makes the CLUSTER at0007 of the sample_device archetype in the blood pressure template
/// (items: an optional slot for `openEHR-EHR-CLUSTER.device.v1`, nothing else) required,
/// with every node and attribute above it when `chain` is set, or its slot's occurrences
/// `1..*` otherwise. Returns whether it was found.
fn require_components(constraint: &mut ObjectConstraint, in_device: bool, chain: bool) -> bool {
    let in_device = in_device || constraint.node_id == "openEHR-EHR-CLUSTER.sample_device.v1";
    if in_device && constraint.node_id == "at0007" {
        if chain {
            constraint.occurrences.lower = Some(1);
        } else {
            for attribute in attributes_mut(constraint) {
                for child in &mut attribute.children {
                    if matches!(child.kind, ObjectKind::Slot { .. }) {
                        child.occurrences.lower = Some(1);
                    }
                }
            }
        }
        return true;
    }
    for attribute in attributes_mut(constraint) {
        for child in &mut attribute.children {
            if require_components(child, in_device, chain) {
                if chain {
                    attribute.existence.lower = Some(1);
                    child.occurrences.lower = Some(1);
                }
                return true;
            }
        }
    }
    false
}

fn attributes_mut(constraint: &mut ObjectConstraint) -> &mut [AttributeConstraint] {
    match &mut constraint.kind {
        ObjectKind::Complex { attributes } | ObjectKind::ArchetypeRoot { attributes, .. } => {
            attributes
        }
        _ => &mut [],
    }
}

/// An open slot is filled in the example only when it must be: an optional node that only
/// an invented archetype could make RM-valid is left out, a required one (here the whole
/// way from the root) gets the filler, and so does a slot whose occurrences require it.
#[test]
fn example_fills_a_slot_only_when_required() {
    let (name, template) = templates()
        .into_iter()
        .find(|(name, _)| name == "ehrbase_blood_pressure_simple.de.v0.opt")
        .expect("ehrbase_blood_pressure_simple.de.v0.opt");
    let device_paths = |template: &Template| {
        let mut roots = Vec::new();
        composition_archetypes(&example(template), "", &mut roots);
        roots
            .into_iter()
            .filter(|(_, id)| id == "openEHR-EHR-CLUSTER.device.v1")
            .map(|(path, _)| path)
            .collect::<Vec<_>>()
    };
    assert_eq!(device_paths(&template), Vec::<String>::new(), "{name}");

    for chain in [true, false] {
        let mut required = template.clone();
        assert!(require_components(&mut required.root, false, chain));
        let composition = example(&required);
        assert_valid(
            &name,
            &format!("required, chain {chain}"),
            &required,
            &composition,
        );
        let paths = device_paths(&required);
        assert_eq!(paths.len(), 1, "chain {chain}: {paths:?}");
        assert!(
            paths[0].ends_with(
                "/items[openEHR-EHR-CLUSTER.sample_device.v1]/items[at0007]\
                 /items[openEHR-EHR-CLUSTER.device.v1]"
            ),
            "chain {chain}: {}",
            paths[0]
        );
    }
}

#[test]
fn random_compositions_validate() {
    for (name, template) in templates() {
        for seed in 0..100 {
            let composition = random(&template, seed);
            assert_valid(&name, &format!("seed {seed}"), &template, &composition);
        }
        assert_eq!(
            random(&template, 7),
            random(&template, 7),
            "{name}: random is reproducible"
        );
    }
}

/// Every mutation is reported by `validate` at exactly its path, and nowhere else; every
/// kind of mutation is produced by some template.
#[test]
fn mutations_are_reported_at_their_path() {
    use std::collections::BTreeMap;
    use templates::example::{MutationKind, mutations};
    let mut per_kind: BTreeMap<MutationKind, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (name, template) in templates() {
        let compositions = std::iter::once(("example".to_owned(), example(&template)))
            .chain((0..25).map(|seed| (format!("seed {seed}"), random(&template, seed))));
        for (what, composition) in compositions {
            for mutation in mutations(&template, &composition) {
                *per_kind.entry(mutation.kind).or_default() += 1;
                let violations = validate(&template, &mutation.composition);
                if violations.is_empty()
                    || violations
                        .iter()
                        .any(|violation| violation.path != mutation.path)
                {
                    failures.push(format!(
                        "{name} ({what}) {:?} {}: expected at {}, found {violations:#?}",
                        mutation.kind, mutation.description, mutation.path
                    ));
                }
            }
        }
    }
    for (kind, count) in &per_kind {
        println!("{kind:?}: {count}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let missing: Vec<_> = MutationKind::ALL
        .iter()
        .filter(|kind| !per_kind.contains_key(kind))
        .collect();
    assert!(missing.is_empty(), "kinds never produced: {missing:?}");
}

#[test]
fn random_mutations_are_a_reproducible_selection() {
    use templates::example::{mutations, random_mutations};
    let (_, template) = templates()
        .into_iter()
        .find(|(name, _)| name == "Test_all_types.opt")
        .expect("Test_all_types.opt");
    let composition = example(&template);
    let all = mutations(&template, &composition);
    let chosen = random_mutations(&template, &composition, 3, 5);
    assert_eq!(chosen.len(), 5);
    let again = random_mutations(&template, &composition, 3, 5);
    for (first, second) in chosen.iter().zip(&again) {
        assert_eq!((first.kind, &first.path), (second.kind, &second.path));
        assert!(
            all.iter()
                .any(|mutation| mutation.path == first.path && mutation.kind == first.kind)
        );
    }
}
