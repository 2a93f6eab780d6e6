//! The AQL corpus run through the reference evaluator.
//!
//! `tests/data/corpus/<dataset>/dataset.json` holds the EHRs and their versions;
//! next to it, each `*.test` file is one query and what it must give (format in the
//! corpus's README.md). `UPDATE_EXPECT=1` rewrites the expectations from the evaluator;
//! review the diff, the evaluator is not the specification. The same files are meant for the
//! SQL backends, committed through the real commit path.

mod corpus_case;
mod corpus_data;

use corpus_case::*;

use std::fs;
use std::path::Path;

use aql::eval::{Clock, Dataset};

use serde_json::Value;

pub fn template(file: &str) -> templates::model::Template {
    let path = format!(
        "{}/../../testdata/templates/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    templates::opt::parse(&bytes).unwrap_or_else(|error| panic!("{file}: {error}"))
}

/// The clock of the corpus; cases only use the date functions where any later date gives
/// the same answer, so that a backend on the real clock agrees.
fn clock() -> Clock {
    Clock {
        now: "2025-06-01T12:00:00.000+00:00".into(),
    }
}

/// What the evaluator gives for a case, in the case's own terms.
fn run(case: &Case, dataset: &Dataset, ordered: bool) -> Expect {
    let query = match aql::parse(&case.query) {
        Ok(query) => query,
        Err(_) => return Expect::Error("syntax_error".into()),
    };
    match aql::eval::evaluate_at(&query, &case.parameters, dataset, &clock()) {
        Ok(result) => Expect::Rows {
            ordered,
            columns: result
                .columns
                .into_iter()
                .map(|column| column.name)
                .collect(),
            rows: result.rows.into_iter().map(Value::Array).collect(),
        },
        Err(error) => Expect::Error(error_code(error.kind).to_string()),
    }
}

/// Runs one case file against `dataset`; rewrites it under `UPDATE_EXPECT`. Returns the
/// mismatch, if any.
fn check(dataset: &Dataset, path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).expect("case file");
    let case = parse_case(&text, path);
    let ordered = match &case.expect {
        Expect::Rows { ordered, .. } => *ordered,
        Expect::Error(_) => case.query.to_ascii_uppercase().contains("ORDER BY"),
    };
    let actual = run(&case, dataset, ordered);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(path, render(&case, &actual)).expect("write case");
        return None;
    }
    let same = same(&case.expect, &actual);
    (!same).then(|| {
        format!(
            "{}:\n--- expected\n{}--- actual\n{}",
            path.display(),
            render(&case, &case.expect),
            render(&case, &actual)
        )
    })
}

#[test]
fn corpus() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (directory, corpus) in datasets() {
        let cases = case_files(&directory);
        for case in cases {
            count += 1;
            if let Some(mismatch) = check(&corpus.dataset, &case) {
                failures.push(mismatch);
            }
        }
    }
    assert!(count >= 120, "the corpus has only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ (UPDATE_EXPECT=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every composition of the corpus passes the validation of the commit path, so that the
/// SQL backends can load the same datasets.
#[test]
fn datasets_are_valid() {
    for (directory, corpus) in datasets() {
        let parsed: Vec<templates::model::Template> =
            corpus.templates.iter().map(|file| template(file)).collect();
        for ehr in &corpus.dataset.ehrs {
            for contribution in &ehr.contributions {
                for version in &contribution.versions {
                    if version.kind != aql::eval::ObjectKind::Composition {
                        continue;
                    }
                    let object = openehr_rm::json::from_value(&version.data, "COMPOSITION")
                        .unwrap_or_else(|error| {
                            panic!("{}: {}: {error}", directory.display(), version.object_id)
                        });
                    let template_id = version.data["archetype_details"]["template_id"]["value"]
                        .as_str()
                        .expect("template id");
                    let template = parsed
                        .iter()
                        .find(|template| template.template_id == template_id)
                        .unwrap_or_else(|| panic!("{template_id} is not in the dataset's list"));
                    let violations = templates::validate::validate(template, &object);
                    assert!(
                        violations.is_empty(),
                        "{}: {} v{}: {violations:#?}",
                        directory.display(),
                        version.object_id,
                        version.version
                    );
                }
            }
        }
    }
}

#[test]
#[ignore = "writes the datasets; run by hand after changing corpus_data"]
fn write_datasets() {
    for (name, dataset) in [
        ("ward", corpus_data::ward()),
        ("minimal", corpus_data::minimal()),
    ] {
        let directory = corpus_dir().join(name);
        fs::create_dir_all(&directory).expect("directory");
        let mut text = serde_json::to_string_pretty(&dataset).expect("json");
        text.push('\n');
        fs::write(directory.join("dataset.json"), text).expect("write dataset");
    }
}
