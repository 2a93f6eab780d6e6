//! Generated compositions against the validator: examples and random compositions of every
//! template validate, and every single-constraint mutation is reported at its path.

use openehr_rm::RmObject;
use templates::example::{example, random};
use templates::model::Template;
use templates::validate::validate;

fn templates() -> Vec<(String, Template)> {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/templates");
    let mut paths: Vec<_> = std::fs::read_dir(folder)
        .expect("testdata/templates")
        .map(|entry| entry.expect("directory entry").path())
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
