//! The AQL corpus run through the reference evaluator.
//!
//! `tests/data/corpus/<dataset>/dataset.json` holds the EHRs and their versions;
//! next to it, each `*.test` file is one query and what it must give (format in the
//! corpus's README.md). `UPDATE_EXPECT=1` rewrites the expectations from the evaluator;
//! review the diff, the evaluator is not the specification. The same files are meant for the
//! SQL backends, committed through the real commit path.

mod corpus_data;

use std::fs;
use std::path::{Path, PathBuf};

use aql::eval::{Clock, Dataset, EvalErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A dataset file: the templates its compositions follow (files in `testdata/templates`)
/// and the EHRs.
#[derive(Debug, Serialize, Deserialize)]
pub struct CorpusDataset {
    pub templates: Vec<String>,
    #[serde(flatten)]
    pub dataset: Dataset,
}

pub fn template(file: &str) -> templates::model::Template {
    let path = format!(
        "{}/../../testdata/templates/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    templates::opt::parse(&bytes).unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus")
}

/// The clock of the corpus; cases only use the date functions where any later date gives
/// the same answer, so that a backend on the real clock agrees.
fn clock() -> Clock {
    Clock {
        now: "2025-06-01T12:00:00.000+00:00".into(),
    }
}

/// One `.test` file.
struct Case {
    query: String,
    parameters: Map<String, Value>,
    expect: Expect,
}

#[derive(Debug, PartialEq)]
enum Expect {
    Rows {
        ordered: bool,
        columns: Vec<String>,
        rows: Vec<Value>,
    },
    Error(String),
}

fn parse_case(text: &str, path: &Path) -> Case {
    let mut sections: Vec<(String, Vec<&str>)> = vec![(String::new(), Vec::new())];
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("== ") {
            sections.push((header.trim().to_string(), Vec::new()));
        } else {
            sections.last_mut().expect("a section").1.push(line);
        }
    }
    let mut case = Case {
        query: sections[0].1.join("\n").trim().to_string(),
        parameters: Map::new(),
        expect: Expect::Error(String::new()),
    };
    let json = |lines: &[&str]| -> Value {
        let text = lines.join("\n");
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    };
    let mut columns = Vec::new();
    for (header, lines) in &sections[1..] {
        let mut words = header.split_whitespace();
        match words.next() {
            Some("parameters") => match json(lines) {
                Value::Object(map) => case.parameters = map,
                other => panic!("{}: parameters must be an object: {other}", path.display()),
            },
            Some("columns") => {
                columns = serde_json::from_value(json(lines))
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            }
            Some("rows") => {
                let ordered = match words.next() {
                    Some("ordered") => true,
                    Some("unordered") => false,
                    other => panic!(
                        "{}: rows ordered or unordered, not {other:?}",
                        path.display()
                    ),
                };
                let rows = lines
                    .iter()
                    .filter(|line| !line.trim().is_empty())
                    .map(|line| json(&[line]))
                    .collect();
                case.expect = Expect::Rows {
                    ordered,
                    columns: columns.clone(),
                    rows,
                };
            }
            Some("error") => {
                case.expect = Expect::Error(words.next().unwrap_or_default().to_string());
            }
            other => panic!("{}: unknown section {other:?}", path.display()),
        }
    }
    case
}

fn error_code(kind: EvalErrorKind) -> &'static str {
    match kind {
        EvalErrorKind::UnknownVariable => "unknown_variable",
        EvalErrorKind::DuplicateVariable => "duplicate_variable",
        EvalErrorKind::MissingParameter => "missing_parameter",
        EvalErrorKind::UnknownClass => "unknown_class",
        EvalErrorKind::ObjectComparison => "object_comparison",
        EvalErrorKind::TypeMismatch => "type_mismatch",
        EvalErrorKind::Unsupported => "unsupported",
        EvalErrorKind::Invalid => "invalid_query",
    }
}

/// Numbers by value, rounded to 9 significant digits (averages differ in the last bits
/// between engines), so that rows compare and sort as text.
fn normalise(value: &Value) -> Value {
    match value {
        Value::Number(number) => {
            let real = number.as_f64().unwrap_or(f64::NAN);
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            if real.fract() == 0.0 && real.abs() < 9.0e15 {
                Value::from(real as i64)
            } else {
                let rounded: f64 = format!("{real:.9e}").parse().unwrap_or(real);
                Value::from(rounded)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), normalise(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn comparable_rows(rows: &[Value], ordered: bool) -> Vec<String> {
    let mut texts: Vec<String> = rows.iter().map(|row| normalise(row).to_string()).collect();
    if !ordered {
        texts.sort();
    }
    texts
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

fn render(case: &Case, expect: &Expect) -> String {
    let mut out = format!("{}\n", case.query);
    if !case.parameters.is_empty() {
        out.push_str("== parameters\n");
        out.push_str(&serde_json::to_string(&case.parameters).expect("json"));
        out.push('\n');
    }
    match expect {
        Expect::Rows {
            ordered,
            columns,
            rows,
        } => {
            out.push_str("== columns\n");
            out.push_str(&serde_json::to_string(columns).expect("json"));
            out.push('\n');
            out.push_str(if *ordered {
                "== rows ordered\n"
            } else {
                "== rows unordered\n"
            });
            for row in rows {
                out.push_str(&serde_json::to_string(row).expect("json"));
                out.push('\n');
            }
        }
        Expect::Error(code) => {
            out.push_str(&format!("== error {code}\n"));
        }
    }
    out
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
    let same = match (&case.expect, &actual) {
        (
            Expect::Rows {
                ordered,
                columns,
                rows,
            },
            Expect::Rows {
                columns: actual_columns,
                rows: actual_rows,
                ..
            },
        ) => {
            columns == actual_columns
                && comparable_rows(rows, *ordered) == comparable_rows(actual_rows, *ordered)
        }
        (expected, actual) => expected == actual,
    };
    (!same).then(|| {
        format!(
            "{}:\n--- expected\n{}--- actual\n{}",
            path.display(),
            render(&case, &case.expect),
            render(&case, &actual)
        )
    })
}

fn datasets() -> Vec<(PathBuf, CorpusDataset)> {
    let mut directories: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("dataset.json").exists())
        .collect();
    directories.sort();
    directories
        .into_iter()
        .map(|directory| {
            let bytes = fs::read(directory.join("dataset.json")).expect("dataset");
            let dataset = serde_json::from_slice(&bytes)
                .unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
            (directory, dataset)
        })
        .collect()
}

#[test]
fn corpus() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (directory, corpus) in datasets() {
        let mut cases: Vec<PathBuf> = fs::read_dir(&directory)
            .expect("dataset directory")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "test")
            })
            .collect();
        cases.sort();
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
