//! The AQL corpus (`crates/aql/tests/data/corpus`) on the SQL backends: each dataset is
//! committed to a real store with its own ids, times and committers, and every case is asked
//! through `POST /query/aql` on the real router, on SQLite and (with
//! `KITH_TEST_DATABASE_URL`) on PostgreSQL. The answers must be the corpus's, which the
//! reference evaluator also gives (`crates/aql/tests/corpus.rs`).

mod support;

#[path = "support/corpus_load.rs"]
mod corpus_load;

#[path = "../../aql/tests/corpus_case/mod.rs"]
mod corpus_case;

use corpus_case::{CorpusDataset, Expect};
use corpus_load::load;
use serde_json::json;
use support::{BASE, Backend, TestApp};

/// The REST error code in the corpus's terms (`aql_unknown_variable` → `unknown_variable`).
fn corpus_code(rest: &str) -> String {
    rest.strip_prefix("aql_").unwrap_or(rest).to_owned()
}

async fn ask(app: &TestApp, case: &corpus_case::Case, ordered: bool) -> Expect {
    let body = json!({"q": case.query, "query_parameters": case.parameters});
    let answer = app
        .post_json(
            &format!("{BASE}/query/aql"),
            body.to_string().as_bytes(),
            &[],
        )
        .await;
    let result = answer.json();
    match answer.status.as_u16() {
        200 => Expect::Rows {
            ordered,
            columns: result["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|column| column["name"].as_str().expect("name").to_owned())
                .collect(),
            rows: result["rows"].as_array().expect("rows").clone(),
        },
        400 => Expect::Error(corpus_code(result["error"].as_str().unwrap_or_default())),
        status => panic!("{}: status {status}: {result}", case.query),
    }
}

/// How the server answers the case: `sql`, `evaluation`, or `refused`.
async fn strategy(app: &TestApp, case: &corpus_case::Case) -> String {
    let body = json!({"q": case.query, "query_parameters": case.parameters});
    let answer = app
        .post_json(
            &format!("{BASE}/query/aql?explain=true"),
            body.to_string().as_bytes(),
            &[],
        )
        .await;
    match answer.status.as_u16() {
        200 => answer.json()["strategy"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        _ => "refused".into(),
    }
}

async fn corpus(backend: Backend) {
    let mut failures = Vec::new();
    let mut count = 0;
    let mut compiled = 0;
    let mut evaluated = Vec::new();
    for (directory, dataset) in corpus_case::datasets() {
        let Some(app) = TestApp::new(backend).await else {
            return;
        };
        let CorpusDataset { dataset, .. } = dataset;
        load(&app, &dataset).await;
        for path in corpus_case::case_files(&directory) {
            count += 1;
            let text = std::fs::read_to_string(&path).expect("case");
            let case = corpus_case::parse_case(&text, &path);
            let ordered = match &case.expect {
                Expect::Rows { ordered, .. } => *ordered,
                Expect::Error(_) => false,
            };
            let actual = ask(&app, &case, ordered).await;
            match strategy(&app, &case).await.as_str() {
                "sql" => compiled += 1,
                "evaluation" => evaluated.push(
                    path.file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                _ => {}
            }
            if !corpus_case::same(&case.expect, &actual) {
                failures.push(format!(
                    "{}:\n--- expected\n{}--- actual\n{}",
                    path.display(),
                    corpus_case::render(&case, &case.expect),
                    corpus_case::render(&case, &actual)
                ));
            }
        }
    }
    eprintln!(
        "{count} cases: {compiled} compiled to SQL, {} evaluated on documents: {}",
        evaluated.len(),
        evaluated.join(", ")
    );
    assert!(count >= 120, "the corpus has only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_on_sqlite() {
    corpus(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_on_postgres() {
    corpus(Backend::Postgres).await;
}
