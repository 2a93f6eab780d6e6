//! The AQL corpus's files, shared by the runners: the evaluator's (`tests/corpus.rs` here)
//! and the SQL backends' (`crates/server/tests/aql_corpus.rs`, which includes this file by
//! path). The format is in `tests/data/corpus/README.md`.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use aql::eval::{Dataset, EvalErrorKind};
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

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../aql/tests/data/corpus")
}

/// One `.test` file.
pub struct Case {
    pub query: String,
    pub parameters: Map<String, Value>,
    pub expect: Expect,
}

#[derive(Debug, PartialEq)]
pub enum Expect {
    Rows {
        ordered: bool,
        columns: Vec<String>,
        rows: Vec<Value>,
    },
    Error(String),
}

pub fn parse_case(text: &str, path: &Path) -> Case {
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

/// Numbers by value, rounded to 9 significant digits (averages differ in the last bits
/// between engines), so that rows compare and sort as text.
pub fn normalise(value: &Value) -> Value {
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

pub fn comparable_rows(rows: &[Value], ordered: bool) -> Vec<String> {
    let mut texts: Vec<String> = rows.iter().map(|row| normalise(row).to_string()).collect();
    if !ordered {
        texts.sort();
    }
    texts
}

pub fn render(case: &Case, expect: &Expect) -> String {
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

pub fn datasets() -> Vec<(PathBuf, CorpusDataset)> {
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

/// The case files of a dataset's directory, sorted.
pub fn case_files(directory: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(directory)
        .expect("dataset directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "test")
        })
        .collect();
    cases.sort();
    cases
}

/// Whether an actual answer is the expected one (rows compared as the case says).
pub fn same(expected: &Expect, actual: &Expect) -> bool {
    match (expected, actual) {
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
    }
}

/// An evaluator refusal in the corpus's terms (`== error <code>`).
pub fn error_code(kind: EvalErrorKind) -> &'static str {
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
