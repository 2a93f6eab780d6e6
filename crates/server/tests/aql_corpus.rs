//! The AQL corpus (`crates/aql/tests/data/corpus`) on the SQL backends: each dataset is
//! committed to a real store with its own ids, times and committers, and every case is asked
//! through `POST /query/aql` on the real router, on SQLite and (with
//! `KITH_TEST_DATABASE_URL`) on PostgreSQL. The answers must be the corpus's, which the
//! reference evaluator also gives (`crates/aql/tests/corpus.rs`).

mod support;

#[path = "../../aql/tests/corpus_case/mod.rs"]
mod corpus_case;

use aql::eval::{
    ChangeType as EvalChange, Dataset, LifecycleState as EvalState, ObjectKind as EvalKind,
};
use corpus_case::{CorpusDataset, Expect};
use serde_json::json;
use store::{
    Audit, ChangeType, LifecycleState, NewContribution, NewEhr, NewVersion, ObjectKind, StatusFacts,
};
use support::{BASE, Backend, TestApp};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

fn instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn id(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

/// The EHR_STATUS's subject as the commit path keys it.
fn subject_of(status: &serde_json::Value) -> Option<store::SubjectKey> {
    let reference = &status["subject"]["external_ref"];
    Some(store::SubjectKey {
        namespace: reference["namespace"].as_str()?.to_owned(),
        id: reference["id"]["value"].as_str()?.to_owned(),
    })
}

/// Commits a corpus dataset version by version, as the commit path would.
async fn load(app: &TestApp, dataset: &Dataset) {
    for ehr in &dataset.ehrs {
        let ehr_id = id(&ehr.ehr_id);
        let mut created = false;
        for contribution in &ehr.contributions {
            let versions = contribution
                .versions
                .iter()
                .map(|version| {
                    let (kind, rm_type) = match version.kind {
                        EvalKind::Composition => (ObjectKind::Composition, "COMPOSITION"),
                        EvalKind::EhrStatus => (ObjectKind::EhrStatus, "EHR_STATUS"),
                        EvalKind::Folder => (ObjectKind::Folder, "FOLDER"),
                    };
                    let lifecycle_state = match version.lifecycle_state {
                        EvalState::Complete => LifecycleState::Complete,
                        EvalState::Incomplete => LifecycleState::Incomplete,
                        EvalState::Deleted => LifecycleState::Deleted,
                    };
                    let object = openehr_rm::json::from_value(&version.data, rm_type)
                        .unwrap_or_else(|error| panic!("{}: {error}", version.object_id));
                    NewVersion {
                        object_id: id(&version.object_id),
                        kind,
                        version: version.version,
                        change_type: match version.change_type {
                            EvalChange::Creation => ChangeType::Creation,
                            EvalChange::Amendment => ChangeType::Amendment,
                            EvalChange::Modification => ChangeType::Modification,
                            EvalChange::Synthesis => ChangeType::Synthesis,
                            EvalChange::Deleted => ChangeType::Deleted,
                            EvalChange::AttestationOnly => ChangeType::AttestationOnly,
                            EvalChange::FormatConversion => ChangeType::FormatConversion,
                            EvalChange::Unknown => ChangeType::Unknown,
                        },
                        lifecycle_state,
                        template_id: version.data["archetype_details"]["template_id"]["value"]
                            .as_str()
                            .filter(|_| kind == ObjectKind::Composition)
                            .map(str::to_owned),
                        status: (kind == ObjectKind::EhrStatus).then(|| StatusFacts {
                            subject: subject_of(&version.data),
                            is_modifiable: version.data["is_modifiable"] != json!(false),
                        }),
                        data: serde_json::to_vec(&version.data).expect("json"),
                        index: if lifecycle_state == LifecycleState::Deleted {
                            store::IndexRows::default()
                        } else {
                            aql::index::index_rows(&object)
                        },
                    }
                })
                .collect::<Vec<_>>();
            let change_type = versions[0].change_type;
            let commit = NewContribution {
                ehr_id,
                contribution_id: id(&contribution.contribution_id),
                audit: Audit {
                    system_id: ehr.system_id.clone(),
                    time_committed: instant(&contribution.time_committed),
                    change_type,
                    committer: contribution.committer.clone(),
                    description: None,
                },
                versions,
            };
            if created {
                app.store.commit(commit).await.expect("commit");
            } else {
                app.store
                    .create_ehr(NewEhr {
                        ehr_id,
                        system_id: ehr.system_id.clone(),
                        time_created: instant(&ehr.time_created),
                        subject: commit.versions[0]
                            .status
                            .as_ref()
                            .and_then(|facts| facts.subject.clone()),
                        contribution: commit,
                    })
                    .await
                    .expect("create ehr");
                created = true;
            }
        }
    }
}

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
