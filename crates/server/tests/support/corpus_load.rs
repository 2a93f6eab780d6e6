//! Loading a corpus dataset (`aql::eval::Dataset`) into a real store with its own ids,
//! times and committers, version by version, for the tests that ask the router about it
//! (`aql_corpus.rs`, `aql_differential.rs`).

use aql::eval::{
    ChangeType as EvalChange, Dataset, LifecycleState as EvalState, ObjectKind as EvalKind,
};
use serde_json::json;
use store::{
    Audit, ChangeType, LifecycleState, NewContribution, NewEhr, NewVersion, ObjectKind, StatusFacts,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::support::TestApp;

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
pub async fn load(app: &TestApp, dataset: &Dataset) {
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
