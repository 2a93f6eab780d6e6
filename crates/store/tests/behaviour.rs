//! The behavioural suite of the `Store` trait: one set of cases, run against SQLite (a
//! fresh file per test) and PostgreSQL (a fresh database per test, when
//! `KITH_TEST_DATABASE_URL` is set) by `backend_tests!`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use store::{
    Audit, ChangeType, IndexRows, LifecycleState, NewContribution, NewEhr, NewVersion, ObjectKind,
    StatusFacts, Store, StoreError, StoredQuery, SubjectKey, TemplateRecord, VersionSelector,
    open_store,
};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// A store under test, and what must outlive it (its directory or database).
struct Harness {
    store: Arc<dyn Store>,
    location: Location,
    _cleanup: Cleanup,
}

enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

enum Cleanup {
    Directory(#[allow(dead_code)] tempfile::TempDir),
    Database(#[allow(dead_code)] DropDatabase),
}

impl Harness {
    /// Opens the same database again, as a restarted server would.
    async fn reopen(&self) -> Arc<dyn Store> {
        match &self.location {
            Location::Sqlite(data_dir) => open_store(None, data_dir).await,
            Location::Postgres(url) => open_store(Some(url), Path::new("unused")).await,
        }
        .expect("reopens")
    }
}

async fn open_sqlite() -> Option<Harness> {
    let directory = tempfile::tempdir().expect("creates a temporary directory");
    let data_dir = directory.path().join("data");
    // Two opens of a fresh database at once, as two servers starting together: creating
    // the file and migrating must not race.
    let (store, _twin) = tokio::join!(open_store(None, &data_dir), open_store(None, &data_dir));
    let store = store.expect("opens sqlite");
    assert_eq!(store.backend_name(), "sqlite");
    Some(Harness {
        store,
        location: Location::Sqlite(data_dir),
        _cleanup: Cleanup::Directory(directory),
    })
}

/// Drops a test database when the test ends, whether it passed or panicked.
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop cannot await, and may run inside a runtime: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("builds a runtime");
            runtime.block_on(async move {
                let client = admin_client(&admin_url).await;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects to KITH_TEST_DATABASE_URL");
    tokio::spawn(connection);
    client
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A new, empty PostgreSQL database (dropped when the guard is) and its URL.
async fn fresh_database(admin_url: &str) -> (String, DropDatabase) {
    let name = format!("kith_test_{}", Uuid::new_v4().simple());
    admin_client(admin_url)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("creates a test database");
    let url = with_database(admin_url, &name);
    (
        url,
        DropDatabase {
            admin_url: admin_url.to_owned(),
            name,
        },
    )
}

async fn open_postgres() -> Option<Harness> {
    let Ok(admin_url) = std::env::var("KITH_TEST_DATABASE_URL") else {
        eprintln!("skipped: KITH_TEST_DATABASE_URL is not set");
        return None;
    };
    let (url, cleanup) = fresh_database(&admin_url).await;
    // Two servers starting together on a fresh database: migrations must not race.
    let (store, _twin) = tokio::join!(
        open_store(Some(&url), Path::new("unused")),
        open_store(Some(&url), Path::new("unused"))
    );
    let store = store.expect("connects to postgresql");
    assert_eq!(store.backend_name(), "postgresql");
    Some(Harness {
        store,
        location: Location::Postgres(url),
        _cleanup: Cleanup::Database(cleanup),
    })
}

macro_rules! backend_tests {
    ($backend:ident, $open:ident) => {
        mod $backend {
            backend_tests!(@cases $open;
                create_and_get_ehr,
                missing_things_read_as_none,
                duplicate_ehr_id_is_refused,
                subject_with_an_ehr_is_refused,
                status_update_moves_the_subject,
                an_unmodifiable_ehr_takes_only_status_versions,
                commit_to_unknown_ehr_is_refused,
                versions_accumulate_oldest_first,
                version_one_of_an_existing_object_conflicts,
                version_gap_conflicts,
                kind_must_match,
                commit_is_all_or_nothing,
                duplicate_contribution_is_refused,
                folder_becomes_the_directory,
                version_at_time_is_the_last_committed_before,
                audit_and_metadata_round_trip,
                contribution_lists_its_versions,
                delete_ehr_erases_everything,
                templates,
                stored_queries,
                storage_bytes_grow,
                reopening_keeps_everything,
                concurrent_updates_of_one_object_have_one_winner,
                concurrent_creates_all_succeed,
                conflicting_commit_among_concurrent_ones_fails_alone,
                concurrent_ehrs_for_one_subject_have_one_winner,
                crossed_concurrent_contributions_have_one_winner,
                query_rows_follow_the_latest_version,
                concurrent_commits_intern_new_paths_once,
            );
            backend_tests!(@registry $open;
                people_are_registered_found_and_updated,
                a_refused_registration_writes_nothing,
                merging_moves_identifiers_and_hides_the_source,
                organisations_and_relationships,
                consent_directives_keep_versions_and_rules,
                the_audit_trail_appends_in_order_only,
                concurrent_audit_appends_never_fork_the_chain,
                erasing_an_ehr_erases_its_registry_rows_but_not_the_audit,
                the_ehrs_in_reach_of_a_caller_and_those_with_denials,
                every_registry_change_moves_the_generation,
                a_records_facts_read_alone_or_in_a_batch,
            );
        }
    };
    (@registry $open:ident; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(harness) = super::$open().await else {
                    return;
                };
                super::registry_cases::$case(&harness).await;
            }
        )*
    };
    (@cases $open:ident; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(harness) = super::$open().await else {
                    return;
                };
                super::cases::$case(&harness).await;
            }
        )*
    };
}

backend_tests!(sqlite, open_sqlite);
backend_tests!(postgres, open_postgres);

/// Builders for the records the cases commit.
mod fixtures {
    use super::*;

    pub fn audit(time_committed: OffsetDateTime) -> Audit {
        Audit {
            system_id: "kith.test".to_owned(),
            time_committed,
            change_type: ChangeType::Creation,
            committer: serde_json::json!({"_type": "PARTY_IDENTIFIED", "name": "Dr Test"}),
            description: None,
        }
    }

    /// A small JSON document naming the object and version, so reads can be checked.
    pub fn document(object_id: Uuid, version: u32) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "_type": "COMPOSITION",
            "uid": {"value": format!("{object_id}::kith.test::{version}")},
            "content": [{"value": "x".repeat(500)}],
        }))
        .expect("serialises")
    }

    pub fn version(object_id: Uuid, kind: ObjectKind, version: u32) -> NewVersion {
        NewVersion {
            object_id,
            kind,
            version,
            change_type: if version == 1 {
                ChangeType::Creation
            } else {
                ChangeType::Modification
            },
            lifecycle_state: LifecycleState::Complete,
            template_id: (kind == ObjectKind::Composition).then(|| "test.template.v1".to_owned()),
            status: None,
            data: document(object_id, version),
            index: IndexRows::default(),
        }
    }

    /// Query rows naming `label` in their values, with paths in order of first use (the
    /// order `index_of` lists them in), so what is read back compares equal.
    pub fn index(label: &str) -> IndexRows {
        use aql::index::{NodeRow, ValueKind, ValueRow};
        let value = |path: u32, kind: ValueKind| ValueRow {
            root_seq: 1,
            path,
            kind,
            num: None,
            text: None,
            code: None,
            system: None,
            units: None,
            instant: None,
            iso8601: None,
        };
        IndexRows {
            paths: vec![
                "openEHR-EHR-COMPOSITION.test.v1/content[openEHR-EHR-OBSERVATION.test.v1]"
                    .to_owned(),
                format!("openEHR-EHR-OBSERVATION.test.v1/data[at0001]/items[{label}]/value"),
                "openEHR-EHR-COMPOSITION.test.v1/context/start_time".to_owned(),
            ],
            nodes: vec![
                NodeRow {
                    seq: 0,
                    last_seq: 1,
                    rm_type: "COMPOSITION",
                    archetype_id: "openEHR-EHR-COMPOSITION.test.v1".to_owned(),
                    parent_path: None,
                    name: Some("Test".to_owned()),
                },
                NodeRow {
                    seq: 1,
                    last_seq: 1,
                    rm_type: "OBSERVATION",
                    archetype_id: "openEHR-EHR-OBSERVATION.test.v1".to_owned(),
                    parent_path: Some(0),
                    name: None,
                },
            ],
            values: vec![
                ValueRow {
                    num: Some(120.5),
                    units: Some("mm[Hg]".to_owned()),
                    ..value(1, ValueKind::Quantity)
                },
                ValueRow {
                    text: Some(label.to_owned()),
                    code: Some("at0002".to_owned()),
                    system: Some("local".to_owned()),
                    ..value(1, ValueKind::CodedText)
                },
                ValueRow {
                    root_seq: 0,
                    instant: Some(1_709_287_200_000_000),
                    iso8601: Some("2024-03-01T10:00:00Z".to_owned()),
                    ..value(2, ValueKind::DateTime)
                },
            ],
        }
    }

    pub fn composition(object_id: Uuid, version: u32) -> NewVersion {
        self::version(object_id, ObjectKind::Composition, version)
    }

    /// Now, at the microsecond precision both databases keep, so what is written compares
    /// equal to what is read back.
    pub fn now() -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .expect("a valid nanosecond")
    }

    pub fn contribution(ehr_id: Uuid, versions: Vec<NewVersion>) -> NewContribution {
        contribution_at(ehr_id, versions, now())
    }

    pub fn contribution_at(
        ehr_id: Uuid,
        versions: Vec<NewVersion>,
        time_committed: OffsetDateTime,
    ) -> NewContribution {
        NewContribution {
            ehr_id,
            contribution_id: Uuid::new_v4(),
            audit: audit(time_committed),
            versions,
        }
    }

    pub fn subject(id: &str) -> SubjectKey {
        SubjectKey {
            namespace: "nhs_number".to_owned(),
            id: id.to_owned(),
        }
    }

    /// A new EHR; returns the NewEhr so the caller knows its status id.
    pub fn new_ehr(subject: Option<SubjectKey>) -> NewEhr {
        let ehr_id = Uuid::new_v4();
        NewEhr {
            ehr_id,
            system_id: "kith.test".to_owned(),
            time_created: now(),
            subject,
            contribution: contribution(
                ehr_id,
                vec![version(Uuid::new_v4(), ObjectKind::EhrStatus, 1)],
            ),
        }
    }

    pub async fn create_ehr(store: &dyn Store) -> Uuid {
        let ehr = new_ehr(None);
        let ehr_id = ehr.ehr_id;
        store.create_ehr(ehr).await.expect("creates an ehr");
        ehr_id
    }

    pub async fn create_composition(store: &dyn Store, ehr_id: Uuid) -> Uuid {
        let object_id = Uuid::new_v4();
        store
            .commit(contribution(ehr_id, vec![composition(object_id, 1)]))
            .await
            .expect("commits a composition");
        object_id
    }

    pub fn template(template_id: &str) -> TemplateRecord {
        TemplateRecord {
            template_id: template_id.to_owned(),
            concept: format!("{template_id} concept"),
            archetype_id: "openEHR-EHR-COMPOSITION.encounter.v1".to_owned(),
            created_at: datetime!(2024-05-06 07:08:09.123456 +01:00),
            // Not valid UTF-8 and with a BOM: must come back byte for byte.
            opt: [
                &[0xEF, 0xBB, 0xBF][..],
                b"<template>\r\n",
                &[0xFF, 0x00],
                b"</template>",
            ]
            .concat(),
        }
    }

    pub fn stored_query(name: &str, version: &str) -> StoredQuery {
        StoredQuery {
            name: name.to_owned(),
            version: version.to_owned(),
            query_type: "AQL".to_owned(),
            text: format!("SELECT c FROM EHR e CONTAINS COMPOSITION c -- {version}"),
            saved: datetime!(2024-01-02 03:04:05.678901 -05:00),
        }
    }
}

mod cases {
    use super::fixtures::*;
    use super::*;

    pub async fn create_and_get_ehr(harness: &Harness) {
        let store = &*harness.store;
        let mut ehr = new_ehr(Some(subject("9000000009")));
        ehr.time_created = datetime!(2024-03-04 05:06:07.891234 +02:00);
        let ehr_id = ehr.ehr_id;
        let status_id = ehr.contribution.versions[0].object_id;
        let contribution_id = ehr.contribution.contribution_id;
        store.create_ehr(ehr).await.expect("creates");

        let record = store.get_ehr(ehr_id).await.expect("reads").expect("exists");
        assert_eq!(record.ehr_id, ehr_id);
        assert_eq!(record.system_id, "kith.test");
        assert_eq!(
            record.time_created,
            datetime!(2024-03-04 05:06:07.891234 +02:00)
        );
        assert_eq!(record.time_created.offset().whole_hours(), 2);
        assert_eq!(record.ehr_status_id, status_id);
        assert_eq!(record.directory_id, None);
        assert_eq!(record.subject, Some(subject("9000000009")));

        let by_subject = store
            .find_ehr_by_subject(&subject("9000000009"))
            .await
            .expect("reads")
            .expect("found");
        assert_eq!(by_subject, record);

        let object = store
            .get_versioned_object(ehr_id, status_id)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(object.kind, ObjectKind::EhrStatus);
        assert_eq!(object.latest_version, 1);

        let status = store
            .get_version(ehr_id, status_id, VersionSelector::Latest)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(status.data, document(status_id, 1));
        assert_eq!(status.meta.contribution_id, contribution_id);
        assert_eq!(status.meta.kind, ObjectKind::EhrStatus);
    }

    pub async fn missing_things_read_as_none(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let unknown = Uuid::new_v4();
        assert_eq!(store.get_ehr(unknown).await.expect("reads"), None);
        assert_eq!(
            store
                .find_ehr_by_subject(&subject("nobody"))
                .await
                .expect("reads"),
            None
        );
        assert_eq!(
            store
                .get_versioned_object(ehr_id, unknown)
                .await
                .expect("reads"),
            None
        );
        assert_eq!(
            store
                .get_version(ehr_id, unknown, VersionSelector::Latest)
                .await
                .expect("reads"),
            None
        );
        assert!(
            store
                .list_versions(ehr_id, unknown)
                .await
                .expect("reads")
                .is_empty()
        );
        assert_eq!(
            store
                .get_contribution(ehr_id, unknown)
                .await
                .expect("reads"),
            None
        );
        let object_id = create_composition(store, ehr_id).await;
        assert_eq!(
            store
                .get_version(ehr_id, object_id, VersionSelector::Number(2))
                .await
                .expect("reads"),
            None
        );
        // An object is found only under its own EHR.
        let other_ehr = create_ehr(store).await;
        assert_eq!(
            store
                .get_versioned_object(other_ehr, object_id)
                .await
                .expect("reads"),
            None
        );
    }

    pub async fn duplicate_ehr_id_is_refused(harness: &Harness) {
        let store = &*harness.store;
        let first = new_ehr(None);
        let ehr_id = first.ehr_id;
        store.create_ehr(first).await.expect("creates");
        let mut second = new_ehr(Some(subject("dup")));
        second.ehr_id = ehr_id;
        second.contribution.ehr_id = ehr_id;
        let error = store.create_ehr(second).await.expect_err("refused");
        assert!(
            matches!(error, StoreError::EhrExists(id) if id == ehr_id),
            "{error:?}"
        );
        // Nothing of the refused EHR was kept, its subject included.
        assert_eq!(
            store
                .find_ehr_by_subject(&subject("dup"))
                .await
                .expect("reads"),
            None
        );
    }

    pub async fn subject_with_an_ehr_is_refused(harness: &Harness) {
        let store = &*harness.store;
        store
            .create_ehr(new_ehr(Some(subject("42"))))
            .await
            .expect("creates");
        let second = new_ehr(Some(subject("42")));
        let second_id = second.ehr_id;
        let error = store.create_ehr(second).await.expect_err("refused");
        assert!(
            matches!(&error, StoreError::SubjectHasEhr(key) if *key == subject("42")),
            "{error:?}"
        );
        assert_eq!(store.get_ehr(second_id).await.expect("reads"), None);
        // The same id in another namespace is another subject.
        let other_namespace = SubjectKey {
            namespace: "local".to_owned(),
            id: "42".to_owned(),
        };
        store
            .create_ehr(new_ehr(Some(other_namespace)))
            .await
            .expect("creates");
    }

    pub async fn status_update_moves_the_subject(harness: &Harness) {
        let store = &*harness.store;
        let ehr = new_ehr(Some(subject("before")));
        let (ehr_id, status_id) = (ehr.ehr_id, ehr.contribution.versions[0].object_id);
        store.create_ehr(ehr).await.expect("creates");
        let other = new_ehr(Some(subject("taken")));
        let other_id = other.ehr_id;
        store.create_ehr(other).await.expect("creates");

        let facts = |id: Option<&str>, is_modifiable: bool| {
            Some(StatusFacts {
                subject: id.map(subject),
                is_modifiable,
            })
        };
        let mut second = version(status_id, ObjectKind::EhrStatus, 2);
        second.status = facts(Some("after"), true);
        store
            .commit(contribution(ehr_id, vec![second]))
            .await
            .expect("commits");
        let found = store
            .find_ehr_by_subject(&subject("after"))
            .await
            .expect("reads");
        assert_eq!(found.map(|record| record.ehr_id), Some(ehr_id));
        assert_eq!(
            store
                .find_ehr_by_subject(&subject("before"))
                .await
                .expect("reads"),
            None
        );
        let record = store.get_ehr(ehr_id).await.expect("reads").expect("exists");
        assert_eq!(record.subject, Some(subject("after")));

        // Another EHR's subject is refused, and the refused version is not kept.
        let mut third = version(status_id, ObjectKind::EhrStatus, 3);
        third.status = facts(Some("taken"), true);
        let error = store
            .commit(contribution(ehr_id, vec![third]))
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, StoreError::SubjectHasEhr(key) if *key == subject("taken")),
            "{error:?}"
        );
        assert_eq!(
            store
                .list_versions(ehr_id, status_id)
                .await
                .expect("reads")
                .len(),
            2
        );
        let taken = store
            .find_ehr_by_subject(&subject("taken"))
            .await
            .expect("reads");
        assert_eq!(taken.map(|record| record.ehr_id), Some(other_id));

        // A version without facts changes nothing; one without a subject frees it.
        let unstated = version(status_id, ObjectKind::EhrStatus, 3);
        store
            .commit(contribution(ehr_id, vec![unstated]))
            .await
            .expect("commits");
        assert!(
            store
                .find_ehr_by_subject(&subject("after"))
                .await
                .expect("reads")
                .is_some()
        );
        let mut fourth = version(status_id, ObjectKind::EhrStatus, 4);
        fourth.status = facts(None, true);
        store
            .commit(contribution(ehr_id, vec![fourth]))
            .await
            .expect("commits");
        assert_eq!(
            store
                .find_ehr_by_subject(&subject("after"))
                .await
                .expect("reads"),
            None
        );
    }

    pub async fn an_unmodifiable_ehr_takes_only_status_versions(harness: &Harness) {
        let store = &*harness.store;
        let mut ehr = new_ehr(None);
        ehr.contribution.versions[0].status = Some(StatusFacts {
            subject: None,
            is_modifiable: false,
        });
        let (ehr_id, status_id) = (ehr.ehr_id, ehr.contribution.versions[0].object_id);
        store.create_ehr(ehr).await.expect("creates");
        let composition_id = Uuid::new_v4();
        let error = store
            .commit(contribution(ehr_id, vec![composition(composition_id, 1)]))
            .await
            .expect_err("refused");
        assert!(
            matches!(error, StoreError::EhrNotModifiable(id) if id == ehr_id),
            "{error:?}"
        );
        assert_eq!(
            store
                .get_versioned_object(ehr_id, composition_id)
                .await
                .expect("reads"),
            None
        );

        // The status itself stays writable, so the flag can be turned back.
        let mut second = version(status_id, ObjectKind::EhrStatus, 2);
        second.status = Some(StatusFacts {
            subject: None,
            is_modifiable: true,
        });
        store
            .commit(contribution(ehr_id, vec![second]))
            .await
            .expect("commits");
        store
            .commit(contribution(ehr_id, vec![composition(composition_id, 1)]))
            .await
            .expect("commits once modifiable");
        let mut third = version(status_id, ObjectKind::EhrStatus, 3);
        third.status = Some(StatusFacts {
            subject: None,
            is_modifiable: false,
        });
        store
            .commit(contribution(ehr_id, vec![third]))
            .await
            .expect("commits");
        let error = store
            .commit(contribution(ehr_id, vec![composition(composition_id, 2)]))
            .await
            .expect_err("refused");
        assert!(
            matches!(error, StoreError::EhrNotModifiable(_)),
            "{error:?}"
        );
    }

    pub async fn commit_to_unknown_ehr_is_refused(harness: &Harness) {
        let store = &*harness.store;
        let unknown = Uuid::new_v4();
        let error = store
            .commit(contribution(unknown, vec![composition(Uuid::new_v4(), 1)]))
            .await
            .expect_err("refused");
        assert!(
            matches!(error, StoreError::EhrNotFound(id) if id == unknown),
            "{error:?}"
        );
    }

    pub async fn versions_accumulate_oldest_first(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = create_composition(store, ehr_id).await;
        for version in 2..=3 {
            store
                .commit(contribution(ehr_id, vec![composition(object_id, version)]))
                .await
                .expect("commits");
        }
        let history = store.list_versions(ehr_id, object_id).await.expect("reads");
        let numbers: Vec<u32> = history.iter().map(|meta| meta.version).collect();
        assert_eq!(numbers, [1, 2, 3]);
        assert!(
            history
                .iter()
                .all(|meta| meta.object_id == object_id && meta.ehr_id == ehr_id)
        );

        let latest = store
            .get_version(ehr_id, object_id, VersionSelector::Latest)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(latest.meta.version, 3);
        assert_eq!(latest.data, document(object_id, 3));
        let second = store
            .get_version(ehr_id, object_id, VersionSelector::Number(2))
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(second.data, document(object_id, 2));
        assert_eq!(second.meta, history[1]);
        let object = store
            .get_versioned_object(ehr_id, object_id)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(object.latest_version, 3);
        assert_eq!(object.kind, ObjectKind::Composition);
    }

    pub async fn version_one_of_an_existing_object_conflicts(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = create_composition(store, ehr_id).await;
        let error = store
            .commit(contribution(ehr_id, vec![composition(object_id, 1)]))
            .await
            .expect_err("conflicts");
        assert!(
            matches!(error, StoreError::VersionConflict { object_id: id, version: 1, latest: Some(1) } if id == object_id),
            "{error:?}"
        );
    }

    pub async fn version_gap_conflicts(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = create_composition(store, ehr_id).await;
        let error = store
            .commit(contribution(ehr_id, vec![composition(object_id, 3)]))
            .await
            .expect_err("conflicts");
        assert!(
            matches!(
                error,
                StoreError::VersionConflict {
                    version: 3,
                    latest: Some(1),
                    ..
                }
            ),
            "{error:?}"
        );
        let unknown = Uuid::new_v4();
        let error = store
            .commit(contribution(ehr_id, vec![composition(unknown, 2)]))
            .await
            .expect_err("conflicts");
        assert!(
            matches!(error, StoreError::VersionConflict { object_id: id, version: 2, latest: None } if id == unknown),
            "{error:?}"
        );
        let history = store.list_versions(ehr_id, object_id).await.expect("reads");
        assert_eq!(history.len(), 1);
    }

    pub async fn kind_must_match(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = create_composition(store, ehr_id).await;
        let error = store
            .commit(contribution(
                ehr_id,
                vec![version(object_id, ObjectKind::Folder, 2)],
            ))
            .await
            .expect_err("refused");
        assert!(
            matches!(
                error,
                StoreError::KindMismatch {
                    expected: ObjectKind::Folder,
                    actual: ObjectKind::Composition,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    pub async fn commit_is_all_or_nothing(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let existing = create_composition(store, ehr_id).await;
        let fresh = Uuid::new_v4();
        let refused = contribution(
            ehr_id,
            vec![
                composition(fresh, 1),
                version(Uuid::new_v4(), ObjectKind::Folder, 1),
                composition(existing, 2),
                composition(existing, 5),
            ],
        );
        let refused_id = refused.contribution_id;
        let error = store.commit(refused).await.expect_err("conflicts");
        assert!(
            matches!(error, StoreError::VersionConflict { .. }),
            "{error:?}"
        );
        assert_eq!(
            store
                .get_versioned_object(ehr_id, fresh)
                .await
                .expect("reads"),
            None
        );
        assert_eq!(
            store
                .get_contribution(ehr_id, refused_id)
                .await
                .expect("reads"),
            None
        );
        let ehr = store.get_ehr(ehr_id).await.expect("reads").expect("exists");
        assert_eq!(ehr.directory_id, None);
        let object = store
            .get_versioned_object(ehr_id, existing)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(object.latest_version, 1);
        assert_eq!(
            store
                .list_versions(ehr_id, existing)
                .await
                .expect("reads")
                .len(),
            1
        );

        // Two versions of one object in one contribution are applied in order.
        store
            .commit(contribution(
                ehr_id,
                vec![composition(existing, 2), composition(existing, 3)],
            ))
            .await
            .expect("commits");
        assert_eq!(
            store
                .list_versions(ehr_id, existing)
                .await
                .expect("reads")
                .len(),
            3
        );
    }

    pub async fn duplicate_contribution_is_refused(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let first = contribution(ehr_id, vec![composition(Uuid::new_v4(), 1)]);
        let contribution_id = first.contribution_id;
        store.commit(first).await.expect("commits");
        let fresh = Uuid::new_v4();
        let mut second = contribution(ehr_id, vec![composition(fresh, 1)]);
        second.contribution_id = contribution_id;
        let error = store.commit(second).await.expect_err("refused");
        assert!(
            matches!(error, StoreError::ContributionExists(id) if id == contribution_id),
            "{error:?}"
        );
        assert_eq!(
            store
                .get_versioned_object(ehr_id, fresh)
                .await
                .expect("reads"),
            None
        );
    }

    pub async fn folder_becomes_the_directory(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let folder_id = Uuid::new_v4();
        store
            .commit(contribution(
                ehr_id,
                vec![version(folder_id, ObjectKind::Folder, 1)],
            ))
            .await
            .expect("commits");
        let ehr = store.get_ehr(ehr_id).await.expect("reads").expect("exists");
        assert_eq!(ehr.directory_id, Some(folder_id));

        let second_folder = Uuid::new_v4();
        let error = store
            .commit(contribution(
                ehr_id,
                vec![version(second_folder, ObjectKind::Folder, 1)],
            ))
            .await
            .expect_err("refused");
        assert!(
            matches!(error, StoreError::DirectoryExists(id) if id == folder_id),
            "{error:?}"
        );
        assert_eq!(
            store
                .get_versioned_object(ehr_id, second_folder)
                .await
                .expect("reads"),
            None
        );

        // The directory itself takes new versions.
        store
            .commit(contribution(
                ehr_id,
                vec![version(folder_id, ObjectKind::Folder, 2)],
            ))
            .await
            .expect("commits");
        let ehr = store.get_ehr(ehr_id).await.expect("reads").expect("exists");
        assert_eq!(ehr.directory_id, Some(folder_id));

        // Two directories in one contribution: refused as a whole.
        let other_ehr = create_ehr(store).await;
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        let error = store
            .commit(contribution(
                other_ehr,
                vec![
                    version(first, ObjectKind::Folder, 1),
                    version(second, ObjectKind::Folder, 1),
                ],
            ))
            .await
            .expect_err("refused");
        // Which of the two counts as already there is the backend's choice.
        assert!(
            matches!(error, StoreError::DirectoryExists(id) if id == first || id == second),
            "{error:?}"
        );
        let other = store
            .get_ehr(other_ehr)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(other.directory_id, None);
    }

    pub async fn version_at_time_is_the_last_committed_before(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = Uuid::new_v4();
        let first = datetime!(2024-01-01 10:00:00.000001 UTC);
        let second = datetime!(2024-01-01 12:00:00.5 +01:00); // 11:00:00.5 UTC
        store
            .commit(contribution_at(
                ehr_id,
                vec![composition(object_id, 1)],
                first,
            ))
            .await
            .expect("commits");
        store
            .commit(contribution_at(
                ehr_id,
                vec![composition(object_id, 2)],
                second,
            ))
            .await
            .expect("commits");
        let at = |instant| store.get_version(ehr_id, object_id, VersionSelector::AtTime(instant));
        assert_eq!(
            at(datetime!(2024-01-01 10:00:00 UTC)).await.expect("reads"),
            None
        );
        let version_at = |stored: Option<store::StoredVersion>| stored.map(|s| s.meta.version);
        assert_eq!(version_at(at(first).await.expect("reads")), Some(1));
        assert_eq!(
            version_at(
                at(datetime!(2024-01-01 11:00:00.499999 UTC))
                    .await
                    .expect("reads")
            ),
            Some(1)
        );
        assert_eq!(
            version_at(
                at(datetime!(2024-01-01 11:00:00.5 UTC))
                    .await
                    .expect("reads")
            ),
            Some(2)
        );
        assert_eq!(
            version_at(
                at(datetime!(2030-01-01 00:00:00 +09:00))
                    .await
                    .expect("reads")
            ),
            Some(2)
        );
    }

    pub async fn audit_and_metadata_round_trip(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = Uuid::new_v4();
        // Nanoseconds are dropped (both databases keep microseconds); the offset is kept.
        let written = datetime!(2024-07-08 09:10:11.123456789 +05:30);
        let mut new = contribution_at(ehr_id, vec![composition(object_id, 1)], written);
        new.audit.change_type = ChangeType::Amendment;
        new.audit.description = Some(serde_json::json!({"_type": "DV_TEXT", "value": "why"}));
        new.versions[0].change_type = ChangeType::Deleted;
        new.versions[0].lifecycle_state = LifecycleState::Deleted;
        new.versions[0].template_id = Some("vital_signs.v2".to_owned());
        let contribution_id = new.contribution_id;
        store.commit(new).await.expect("commits");

        let stored = store
            .get_version(ehr_id, object_id, VersionSelector::Number(1))
            .await
            .expect("reads")
            .expect("exists");
        let meta = stored.meta;
        assert_eq!(meta.contribution_id, contribution_id);
        assert_eq!(meta.lifecycle_state, LifecycleState::Deleted);
        assert_eq!(meta.template_id.as_deref(), Some("vital_signs.v2"));
        // A version's audit carries the version's own change type.
        assert_eq!(meta.audit.change_type, ChangeType::Deleted);
        assert_eq!(meta.audit.system_id, "kith.test");
        assert_eq!(
            meta.audit.time_committed,
            datetime!(2024-07-08 09:10:11.123456 +05:30)
        );
        assert_eq!(meta.audit.time_committed.offset(), written.offset());
        assert_eq!(
            meta.audit.committer,
            serde_json::json!({"_type": "PARTY_IDENTIFIED", "name": "Dr Test"})
        );
        assert_eq!(
            meta.audit.description,
            Some(serde_json::json!({"_type": "DV_TEXT", "value": "why"}))
        );

        let object = store
            .get_versioned_object(ehr_id, object_id)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(
            object.time_created,
            datetime!(2024-07-08 09:10:11.123456 +05:30)
        );

        // A large document survives compression byte for byte.
        let large_id = Uuid::new_v4();
        let mut large = composition(large_id, 1);
        large.data = serde_json::to_vec(&serde_json::json!({
            "items": (0..2_000).map(|index| format!("element {index} ü")).collect::<Vec<_>>()
        }))
        .expect("serialises");
        let expected = large.data.clone();
        store
            .commit(contribution(ehr_id, vec![large]))
            .await
            .expect("commits");
        let read = store
            .get_version(ehr_id, large_id, VersionSelector::Latest)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(read.data, expected);
    }

    pub async fn contribution_lists_its_versions(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let existing = create_composition(store, ehr_id).await;
        let fresh = Uuid::new_v4();
        let folder = Uuid::new_v4();
        let mut new = contribution(
            ehr_id,
            vec![
                composition(existing, 2),
                composition(fresh, 1),
                version(folder, ObjectKind::Folder, 1),
            ],
        );
        new.audit.description = Some(serde_json::json!({"value": "batch"}));
        let contribution_id = new.contribution_id;
        let audit = new.audit.clone();
        store.commit(new).await.expect("commits");

        let record = store
            .get_contribution(ehr_id, contribution_id)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(record.ehr_id, ehr_id);
        assert_eq!(record.contribution_id, contribution_id);
        assert_eq!(record.audit, audit);
        let mut versions = record.versions;
        versions.sort_by_key(|(object, version, _)| (*object, *version));
        let mut expected = vec![
            (existing, 2, ObjectKind::Composition),
            (fresh, 1, ObjectKind::Composition),
            (folder, 1, ObjectKind::Folder),
        ];
        expected.sort_by_key(|(object, version, _)| (*object, *version));
        assert_eq!(versions, expected);
    }

    pub async fn delete_ehr_erases_everything(harness: &Harness) {
        let store = &*harness.store;
        let ehr = new_ehr(Some(subject("to-delete")));
        let ehr_id = ehr.ehr_id;
        let status_id = ehr.contribution.versions[0].object_id;
        store.create_ehr(ehr).await.expect("creates");
        let object_id = create_composition(store, ehr_id).await;
        let update = contribution(ehr_id, vec![composition(object_id, 2)]);
        let contribution_id = update.contribution_id;
        store.commit(update).await.expect("commits");
        let kept_ehr = create_ehr(store).await;
        let kept_object = create_composition(store, kept_ehr).await;

        assert!(store.delete_ehr(ehr_id).await.expect("deletes"));
        assert_eq!(store.get_ehr(ehr_id).await.expect("reads"), None);
        assert_eq!(
            store
                .find_ehr_by_subject(&subject("to-delete"))
                .await
                .expect("reads"),
            None
        );
        for object in [status_id, object_id] {
            assert_eq!(
                store
                    .get_versioned_object(ehr_id, object)
                    .await
                    .expect("reads"),
                None
            );
            assert!(
                store
                    .list_versions(ehr_id, object)
                    .await
                    .expect("reads")
                    .is_empty()
            );
        }
        assert_eq!(
            store
                .get_contribution(ehr_id, contribution_id)
                .await
                .expect("reads"),
            None
        );
        assert!(!store.delete_ehr(ehr_id).await.expect("deletes"));

        // The subject is free again, and other EHRs are untouched.
        store
            .create_ehr(new_ehr(Some(subject("to-delete"))))
            .await
            .expect("creates");
        assert!(store.get_ehr(kept_ehr).await.expect("reads").is_some());
        assert_eq!(
            store
                .list_versions(kept_ehr, kept_object)
                .await
                .expect("reads")
                .len(),
            1
        );
        // The deleted EHR's object ids and contribution id are free again too.
        let mut again = new_ehr(None);
        again.ehr_id = ehr_id;
        again.contribution.ehr_id = ehr_id;
        again.contribution.contribution_id = contribution_id;
        store.create_ehr(again).await.expect("recreates");
    }

    pub async fn templates(harness: &Harness) {
        let store = &*harness.store;
        assert!(store.list_templates().await.expect("lists").is_empty());
        store
            .put_template(template("b.template"))
            .await
            .expect("puts");
        store
            .put_template(template("a.template"))
            .await
            .expect("puts");
        let error = store
            .put_template(template("a.template"))
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, StoreError::TemplateExists(id) if id == "a.template"),
            "{error:?}"
        );

        let read = store
            .get_template("a.template")
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(read, template("a.template"));
        assert_eq!(read.created_at.offset().whole_hours(), 1);
        assert_eq!(store.get_template("missing").await.expect("reads"), None);

        let listed = store.list_templates().await.expect("lists");
        let ids: Vec<&str> = listed.iter().map(|t| t.template_id.as_str()).collect();
        assert_eq!(ids, ["a.template", "b.template"]);
        assert!(listed.iter().all(|t| t.opt.is_empty()));
        assert_eq!(listed[0].concept, "a.template concept");

        // In use by any version (an old one included) blocks deletion.
        let ehr_id = create_ehr(store).await;
        let mut used = composition(Uuid::new_v4(), 1);
        used.template_id = Some("b.template".to_owned());
        let object_id = used.object_id;
        store
            .commit(contribution(ehr_id, vec![used]))
            .await
            .expect("commits");
        let mut next = composition(object_id, 2);
        next.template_id = Some("other".to_owned());
        store
            .commit(contribution(ehr_id, vec![next]))
            .await
            .expect("commits");
        let error = store
            .delete_template("b.template")
            .await
            .expect_err("in use");
        assert!(
            matches!(&error, StoreError::TemplateInUse(id) if id == "b.template"),
            "{error:?}"
        );
        let mut replacement = template("b.template");
        replacement.opt = b"<template>replaced</template>".to_vec();
        let error = store
            .replace_template(replacement)
            .await
            .expect_err("in use");
        assert!(
            matches!(&error, StoreError::TemplateInUse(id) if id == "b.template"),
            "{error:?}"
        );
        assert_eq!(
            store.get_template("b.template").await.expect("reads"),
            Some(template("b.template"))
        );

        // Unused, a template is replaced in place and keeps its upload time.
        let mut replacement = template("a.template");
        replacement.opt = b"<template>replaced</template>".to_vec();
        replacement.concept = "replaced concept".to_owned();
        replacement.created_at += time::Duration::hours(1);
        assert!(store.replace_template(replacement).await.expect("replaces"));
        let read = store
            .get_template("a.template")
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(read.opt, b"<template>replaced</template>");
        assert_eq!(read.concept, "replaced concept");
        assert_eq!(read.created_at, template("a.template").created_at);
        assert!(
            !store
                .replace_template(template("missing"))
                .await
                .expect("answers")
        );
        assert!(
            store
                .get_template("b.template")
                .await
                .expect("reads")
                .is_some()
        );

        assert!(store.delete_template("a.template").await.expect("deletes"));
        assert!(!store.delete_template("a.template").await.expect("deletes"));
        assert_eq!(store.get_template("a.template").await.expect("reads"), None);
    }

    pub async fn stored_queries(harness: &Harness) {
        let store = &*harness.store;
        let name = "org.example::blood_pressure";
        for version in ["1.9.0", "1.10.0", "1.2.0"] {
            store
                .put_stored_query(stored_query(name, version))
                .await
                .expect("puts");
        }
        store
            .put_stored_query(stored_query("org.example::weight", "1.0.0"))
            .await
            .expect("puts");
        store
            .put_stored_query(stored_query("org.other::weight", "2.0.0"))
            .await
            .expect("puts");
        let error = store
            .put_stored_query(stored_query(name, "1.9.0"))
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, StoreError::StoredQueryExists(n, v) if n == name && v == "1.9.0"),
            "{error:?}"
        );

        let highest = store
            .get_stored_query(name, None)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(highest, stored_query(name, "1.10.0"));
        assert_eq!(highest.saved.offset().whole_hours(), -5);
        let exact = store
            .get_stored_query(name, Some("1.9.0"))
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(exact.version, "1.9.0");
        assert_eq!(
            store
                .get_stored_query(name, Some("3.0.0"))
                .await
                .expect("reads"),
            None
        );
        assert_eq!(
            store
                .get_stored_query("missing", None)
                .await
                .expect("reads"),
            None
        );

        let listed = store
            .list_stored_queries("org.example::")
            .await
            .expect("lists");
        let keys: Vec<(&str, &str)> = listed
            .iter()
            .map(|query| (query.name.as_str(), query.version.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (name, "1.2.0"),
                (name, "1.9.0"),
                (name, "1.10.0"),
                ("org.example::weight", "1.0.0"),
            ]
        );
        assert_eq!(store.list_stored_queries("").await.expect("lists").len(), 5);
        assert!(
            store
                .list_stored_queries("org.ex%")
                .await
                .expect("lists")
                .is_empty()
        );

        assert_eq!(
            store
                .delete_stored_query(name, Some("1.2.0"))
                .await
                .expect("deletes"),
            1
        );
        assert_eq!(
            store
                .delete_stored_query(name, Some("1.2.0"))
                .await
                .expect("deletes"),
            0
        );
        assert_eq!(
            store
                .delete_stored_query(name, None)
                .await
                .expect("deletes"),
            2
        );
        assert_eq!(
            store.get_stored_query(name, None).await.expect("reads"),
            None
        );
    }

    pub async fn query_rows_follow_the_latest_version(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let object_id = Uuid::new_v4();
        let with_index = |version: u32, label: &str| NewVersion {
            index: index(label),
            ..composition(object_id, version)
        };
        store
            .commit(contribution(ehr_id, vec![with_index(1, "at0004")]))
            .await
            .expect("commits");
        assert_eq!(
            store.index_of(ehr_id, object_id).await.expect("reads"),
            index("at0004")
        );

        // A refused commit leaves the rows as they were, even with paths never seen before.
        let error = store
            .commit(contribution(ehr_id, vec![with_index(5, "at0009")]))
            .await
            .expect_err("conflicts");
        assert!(
            matches!(error, StoreError::VersionConflict { .. }),
            "{error:?}"
        );
        assert_eq!(
            store.index_of(ehr_id, object_id).await.expect("reads"),
            index("at0004")
        );

        // A new version replaces the rows, and a path a refused commit interned works.
        store
            .commit(contribution(ehr_id, vec![with_index(2, "at0009")]))
            .await
            .expect("commits");
        assert_eq!(
            store.index_of(ehr_id, object_id).await.expect("reads"),
            index("at0009")
        );

        // Another object with the same paths has rows of its own.
        let other = Uuid::new_v4();
        store
            .commit(contribution(
                ehr_id,
                vec![NewVersion {
                    index: index("at0009"),
                    ..composition(other, 1)
                }],
            ))
            .await
            .expect("commits");
        assert_eq!(
            store.index_of(ehr_id, other).await.expect("reads"),
            index("at0009")
        );

        // The rows survive a restart.
        let reopened = harness.reopen().await;
        assert_eq!(
            reopened.index_of(ehr_id, object_id).await.expect("reads"),
            index("at0009")
        );

        // A deleted version leaves its object without rows.
        let deleted = NewVersion {
            lifecycle_state: LifecycleState::Deleted,
            change_type: ChangeType::Deleted,
            ..composition(object_id, 3)
        };
        store
            .commit(contribution(ehr_id, vec![deleted]))
            .await
            .expect("commits");
        assert_eq!(
            store.index_of(ehr_id, object_id).await.expect("reads"),
            IndexRows::default()
        );
        assert_eq!(
            store.index_of(ehr_id, other).await.expect("reads"),
            index("at0009")
        );

        // Erasing the EHR erases its rows.
        assert!(store.delete_ehr(ehr_id).await.expect("deletes"));
        assert_eq!(
            store.index_of(ehr_id, other).await.expect("reads"),
            IndexRows::default()
        );
    }

    /// Commits racing to intern the same new paths all succeed, on a fresh store (so no
    /// path is cached) and with the paths new to the database.
    pub async fn concurrent_commits_intern_new_paths_once(harness: &Harness) {
        let store = harness.reopen().await;
        let mut ehrs = Vec::new();
        for _ in 0..8 {
            ehrs.push(create_ehr(&*store).await);
        }
        let commits = ehrs.iter().map(|&ehr_id| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let object_id = Uuid::new_v4();
                let version = NewVersion {
                    index: index("at0777"),
                    ..composition(object_id, 1)
                };
                store.commit(contribution(ehr_id, vec![version])).await?;
                store.index_of(ehr_id, object_id).await
            })
        });
        for commit in commits.collect::<Vec<_>>() {
            let rows = commit.await.expect("joins").expect("commits");
            assert_eq!(rows, index("at0777"));
        }
    }

    pub async fn storage_bytes_grow(harness: &Harness) {
        let store = &*harness.store;
        let before = store.storage_bytes().await.expect("measures");
        assert!(before > 0);
        let ehr_id = create_ehr(store).await;
        for _ in 0..50 {
            // Random text, which compression cannot shrink: about 4 KB a version.
            let mut version = composition(Uuid::new_v4(), 1);
            let noise: Vec<String> = (0..100).map(|_| Uuid::new_v4().to_string()).collect();
            version.data = serde_json::to_vec(&noise).expect("serialises");
            store
                .commit(contribution(ehr_id, vec![version]))
                .await
                .expect("commits");
        }
        let after = store.storage_bytes().await.expect("measures");
        assert!(after > before, "{after} > {before}");
    }

    pub async fn reopening_keeps_everything(harness: &Harness) {
        let ehr_id = create_ehr(&*harness.store).await;
        let object_id = create_composition(&*harness.store, ehr_id).await;
        // Two opens at once: migrations must not race.
        let (first, second) = tokio::join!(harness.reopen(), harness.reopen());
        for store in [first, second] {
            let read = store
                .get_version(ehr_id, object_id, VersionSelector::Latest)
                .await
                .expect("reads")
                .expect("exists");
            assert_eq!(read.data, document(object_id, 1));
        }
    }

    pub async fn concurrent_updates_of_one_object_have_one_winner(harness: &Harness) {
        let ehr_id = create_ehr(&*harness.store).await;
        let object_id = create_composition(&*harness.store, ehr_id).await;
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let store = Arc::clone(&harness.store);
            tasks.push(tokio::spawn(async move {
                store
                    .commit(contribution(ehr_id, vec![composition(object_id, 2)]))
                    .await
            }));
        }
        let mut successes = 0;
        for task in tasks {
            match task.await.expect("task runs") {
                Ok(()) => successes += 1,
                Err(StoreError::VersionConflict {
                    version: 2,
                    latest: Some(2),
                    ..
                }) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(successes, 1);
        let numbers: Vec<u32> = harness
            .store
            .list_versions(ehr_id, object_id)
            .await
            .expect("reads")
            .iter()
            .map(|meta| meta.version)
            .collect();
        assert_eq!(numbers, [1, 2]);
    }

    pub async fn concurrent_creates_all_succeed(harness: &Harness) {
        let ehrs = [
            create_ehr(&*harness.store).await,
            create_ehr(&*harness.store).await,
        ];
        let mut tasks = Vec::new();
        for index in 0..64 {
            let store = Arc::clone(&harness.store);
            let ehr_id = ehrs[index % 2];
            tasks.push(tokio::spawn(async move {
                let object_id = Uuid::new_v4();
                store
                    .commit(contribution(ehr_id, vec![composition(object_id, 1)]))
                    .await
                    .map(|()| (ehr_id, object_id))
            }));
        }
        for task in tasks {
            let (ehr_id, object_id) = task.await.expect("task runs").expect("commits");
            let read = harness
                .store
                .get_version(ehr_id, object_id, VersionSelector::Latest)
                .await
                .expect("reads")
                .expect("exists");
            assert_eq!(read.data, document(object_id, 1));
        }
    }

    pub async fn conflicting_commit_among_concurrent_ones_fails_alone(harness: &Harness) {
        let ehr_id = create_ehr(&*harness.store).await;
        let existing = create_composition(&*harness.store, ehr_id).await;
        let mut tasks = Vec::new();
        for index in 0..32 {
            let store = Arc::clone(&harness.store);
            tasks.push(tokio::spawn(async move {
                let conflicting = index % 8 == 3;
                let object_id = if conflicting {
                    existing
                } else {
                    Uuid::new_v4()
                };
                let result = store
                    .commit(contribution(ehr_id, vec![composition(object_id, 1)]))
                    .await;
                (conflicting, object_id, result)
            }));
        }
        for task in tasks {
            let (conflicting, object_id, result) = task.await.expect("task runs");
            if conflicting {
                assert!(
                    matches!(
                        result,
                        Err(StoreError::VersionConflict {
                            latest: Some(1),
                            ..
                        })
                    ),
                    "{result:?}"
                );
            } else {
                result.expect("commits");
                assert!(
                    harness
                        .store
                        .get_versioned_object(ehr_id, object_id)
                        .await
                        .expect("reads")
                        .is_some()
                );
            }
        }
        assert_eq!(
            harness
                .store
                .list_versions(ehr_id, existing)
                .await
                .expect("reads")
                .len(),
            1
        );
    }

    pub async fn concurrent_ehrs_for_one_subject_have_one_winner(harness: &Harness) {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = Arc::clone(&harness.store);
            tasks.push(tokio::spawn(async move {
                store.create_ehr(new_ehr(Some(subject("contended")))).await
            }));
        }
        let mut successes = 0;
        for task in tasks {
            match task.await.expect("task runs") {
                Ok(()) => successes += 1,
                Err(StoreError::SubjectHasEhr(_)) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(successes, 1);
    }

    pub async fn crossed_concurrent_contributions_have_one_winner(harness: &Harness) {
        let ehr_id = create_ehr(&*harness.store).await;
        let first = create_composition(&*harness.store, ehr_id).await;
        let second = create_composition(&*harness.store, ehr_id).await;
        let mut tasks = Vec::new();
        for index in 0..16 {
            let store = Arc::clone(&harness.store);
            // Half name the objects in one order, half in the other: a backend that locked
            // them in the order given could deadlock (PostgreSQL locks them in id order).
            let (a, b) = if index % 2 == 0 {
                (first, second)
            } else {
                (second, first)
            };
            tasks.push(tokio::spawn(async move {
                store
                    .commit(contribution(
                        ehr_id,
                        vec![composition(a, 2), composition(b, 2)],
                    ))
                    .await
            }));
        }
        let mut successes = 0;
        for task in tasks {
            match task.await.expect("task runs") {
                Ok(()) => successes += 1,
                Err(StoreError::VersionConflict { .. }) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(successes, 1);
        for object_id in [first, second] {
            let object = harness
                .store
                .get_versioned_object(ehr_id, object_id)
                .await
                .expect("reads")
                .expect("exists");
            assert_eq!(object.latest_version, 2);
        }
    }
}

/// The registry (people, organisations, relationships, consent directives) and the audit
/// trail.
mod registry_cases {
    use super::fixtures::*;
    use super::*;
    use store::{
        AuditFilter, AuditRow, ConsentRecord, ConsentRule, OrganisationRecord, PersonMerge,
        PersonRecord, PersonSearch, RelationshipRecord,
    };

    const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

    fn person(ehr_id: Uuid, family: &str, given: &str, birth_date: &str) -> PersonRecord {
        PersonRecord {
            person_id: Uuid::new_v4(),
            ehr_id,
            version: 1,
            merged_into: None,
            identifiers: Vec::new(),
            family_name: Some(family.to_owned()),
            given_name: Some(given.to_owned()),
            birth_date: Some(birth_date.to_owned()),
            document: serde_json::json!({"name": [{"family": family, "given": [given]}]}),
            created: datetime!(2026-01-02 03:04:05.123456 UTC),
            updated: datetime!(2026-01-02 03:04:05.123456 UTC),
        }
    }

    async fn registered(store: &dyn Store, family: &str, nhs_number: &str) -> PersonRecord {
        let ehr_id = create_ehr(store).await;
        let mut record = person(ehr_id, family, "Ann", "1950-01-01");
        record.identifiers = vec![(NHS.to_owned(), nhs_number.to_owned())];
        store
            .create_person(record.clone())
            .await
            .expect("registers");
        record
    }

    pub async fn people_are_registered_found_and_updated(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let mut record = person(ehr_id, "O'Brien", "Siobhán", "1948-07-05");
        record.identifiers = vec![
            (NHS.to_owned(), "9434765919".to_owned()),
            ("https://hospital.example/mrn".to_owned(), "H123".to_owned()),
        ];
        store
            .create_person(record.clone())
            .await
            .expect("registers");
        assert_eq!(
            store.get_person(record.person_id).await.unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            store.person_by_ehr(ehr_id).await.unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            store.person_by_identifier(NHS, "9434765919").await.unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            store.person_by_identifier(NHS, "9434765918").await.unwrap(),
            None
        );
        let other = registered(store, "OBrien", "9000000009").await;

        let search =
            |family: Option<&str>, given: Option<&str>, birth: Option<&str>| PersonSearch {
                family_name: family.map(str::to_owned),
                given_name: given.map(str::to_owned),
                birth_date: birth.map(str::to_owned),
                include_merged: false,
                limit: 10,
            };
        let found = |people: Vec<PersonRecord>| -> Vec<Uuid> {
            people.into_iter().map(|person| person.person_id).collect()
        };
        // Family names match without regard to case, exactly otherwise; given names by prefix.
        for (query, expected) in [
            (search(Some("o'brien"), None, None), vec![record.person_id]),
            (
                search(Some("O'BRIEN"), Some("sio"), Some("1948-07-05")),
                vec![record.person_id],
            ),
            (search(Some("O'Brien"), Some("Ann"), None), vec![]),
            (search(Some("obrien"), None, None), vec![other.person_id]),
            (
                search(None, None, Some("1950-01-01")),
                vec![other.person_id],
            ),
            (search(None, Some("%"), None), vec![]),
        ] {
            assert_eq!(
                found(store.search_people(&query).await.unwrap()),
                expected,
                "{query:?}"
            );
        }

        let mut updated = record.clone();
        updated.version = 2;
        updated.family_name = Some("Byrne".to_owned());
        updated.identifiers = vec![(NHS.to_owned(), "9434765919".to_owned())];
        updated.updated = datetime!(2026-02-03 04:05:06 UTC);
        store.update_person(updated.clone()).await.expect("updates");
        assert_eq!(
            store.get_person(record.person_id).await.unwrap(),
            Some(updated.clone())
        );
        assert_eq!(
            store
                .person_by_identifier("https://hospital.example/mrn", "H123")
                .await
                .unwrap(),
            None,
            "identifiers are replaced as a whole"
        );
        assert!(
            store
                .search_people(&search(Some("o'brien"), None, None))
                .await
                .unwrap()
                .is_empty()
        );
        // A stale update, and an update of nobody, conflict.
        let stale = updated.clone();
        assert!(matches!(
            store.update_person(stale).await,
            Err(StoreError::RecordVersionConflict {
                version: 2,
                latest: Some(2),
                ..
            })
        ));
        let mut nobody = person(Uuid::new_v4(), "Nobody", "N", "2000-01-01");
        nobody.version = 2;
        assert!(matches!(
            store.update_person(nobody).await,
            Err(StoreError::RecordVersionConflict { latest: None, .. })
        ));
    }

    pub async fn a_refused_registration_writes_nothing(harness: &Harness) {
        let store = &*harness.store;
        let first = registered(store, "First", "9434765919").await;

        let mut same_id = person(create_ehr(store).await, "Second", "B", "1960-01-01");
        same_id.person_id = first.person_id;
        assert!(matches!(
            store.create_person(same_id).await,
            Err(StoreError::PersonExists(id)) if id == first.person_id
        ));

        let same_ehr = person(first.ehr_id, "Third", "C", "1960-01-01");
        assert!(matches!(
            store.create_person(same_ehr.clone()).await,
            Err(StoreError::EhrHasPerson(id)) if id == first.ehr_id
        ));
        assert_eq!(store.get_person(same_ehr.person_id).await.unwrap(), None);

        let mut taken = person(create_ehr(store).await, "Fourth", "D", "1960-01-01");
        taken.identifiers = vec![
            ("https://hospital.example/mrn".to_owned(), "H9".to_owned()),
            (NHS.to_owned(), "9434765919".to_owned()),
        ];
        match store.create_person(taken.clone()).await {
            Err(StoreError::IdentifierTaken { namespace, value }) => {
                assert_eq!((namespace.as_str(), value.as_str()), (NHS, "9434765919"));
            }
            other => panic!("expected IdentifierTaken, got {other:?}"),
        }
        // All or nothing: neither the person nor their free identifier was kept.
        assert_eq!(store.get_person(taken.person_id).await.unwrap(), None);
        assert_eq!(
            store
                .person_by_identifier("https://hospital.example/mrn", "H9")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .person_by_identifier(NHS, "9434765919")
                .await
                .unwrap()
                .map(|p| p.person_id),
            Some(first.person_id)
        );
    }

    pub async fn merging_moves_identifiers_and_hides_the_source(harness: &Harness) {
        let store = &*harness.store;
        let source = registered(store, "Merge", "9434765919").await;
        let target = registered(store, "Merge", "9000000009").await;
        let mut merged_source = source.clone();
        merged_source.version = 2;
        merged_source.merged_into = Some(target.person_id);
        merged_source.identifiers = Vec::new();
        let mut merged_target = target.clone();
        merged_target.version = 2;
        merged_target.identifiers.push((
            "https://kith.example/merged".to_owned(),
            "9434765919".to_owned(),
        ));
        let merge = PersonMerge {
            source: merged_source.clone(),
            target: merged_target.clone(),
        };
        store.merge_people(merge.clone()).await.expect("merges");
        assert_eq!(
            store.get_person(source.person_id).await.unwrap(),
            Some(merged_source)
        );
        assert_eq!(
            store.get_person(target.person_id).await.unwrap(),
            Some(merged_target)
        );
        assert_eq!(
            store.person_by_identifier(NHS, "9434765919").await.unwrap(),
            None
        );
        let search = PersonSearch {
            family_name: Some("merge".to_owned()),
            limit: 10,
            ..PersonSearch::default()
        };
        let found = store.search_people(&search).await.unwrap();
        assert_eq!(
            found.iter().map(|p| p.person_id).collect::<Vec<_>>(),
            vec![target.person_id]
        );
        let with_merged = PersonSearch {
            include_merged: true,
            ..search
        };
        assert_eq!(store.search_people(&with_merged).await.unwrap().len(), 2);
        // The same merge again is stale, and changes nothing.
        assert!(matches!(
            store.merge_people(merge).await,
            Err(StoreError::RecordVersionConflict { .. })
        ));
        assert_eq!(
            store
                .get_person(target.person_id)
                .await
                .unwrap()
                .unwrap()
                .version,
            2
        );
    }

    pub async fn organisations_and_relationships(harness: &Harness) {
        let store = &*harness.store;
        let organisation = |code: &str, name: &str| OrganisationRecord {
            code: code.to_owned(),
            name: name.to_owned(),
            kind: "gp-practice".to_owned(),
            document: serde_json::json!({"code": code, "name": name}),
            created: datetime!(2026-01-01 00:00 UTC),
            updated: datetime!(2026-01-01 00:00 UTC),
        };
        store
            .put_organisation(organisation("Y0002", "Second"))
            .await
            .unwrap();
        store
            .put_organisation(organisation("A8100", "Surgery"))
            .await
            .unwrap();
        let mut renamed = organisation("A8100", "Renamed Surgery");
        renamed.updated = datetime!(2026-03-01 00:00 UTC);
        store.put_organisation(renamed.clone()).await.unwrap();
        let mut expected = renamed.clone();
        expected.created = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(
            store.get_organisation("A8100").await.unwrap(),
            Some(expected)
        );
        assert_eq!(store.get_organisation("nope").await.unwrap(), None);
        let codes: Vec<String> = store
            .list_organisations()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.code)
            .collect();
        assert_eq!(codes, ["A8100", "Y0002"]);

        let ehr_id = create_ehr(store).await;
        let other_ehr = create_ehr(store).await;
        let relationship = |ehr_id: Uuid, created: OffsetDateTime| RelationshipRecord {
            ehr_id,
            relationship_id: Uuid::new_v4(),
            kind: "registered-gp".to_owned(),
            organisation: Some("A8100".to_owned()),
            professional: None,
            authority: None,
            starts: Some(datetime!(2020-01-01 00:00 UTC)),
            ends: None,
            document: serde_json::json!({"kind": "registered-gp"}),
            created,
        };
        let gp = relationship(ehr_id, datetime!(2026-01-01 00:00 UTC));
        let mut proxy = relationship(ehr_id, datetime!(2026-01-02 00:00 UTC));
        proxy.kind = "proxy".to_owned();
        proxy.organisation = None;
        proxy.professional = Some("daughter-1".to_owned());
        proxy.authority = Some("lasting-power-of-attorney-health".to_owned());
        proxy.ends = Some(datetime!(2027-01-01 00:00 UTC));
        store.put_relationship(proxy.clone()).await.unwrap();
        store.put_relationship(gp.clone()).await.unwrap();
        store
            .put_relationship(relationship(other_ehr, datetime!(2026-01-01 00:00 UTC)))
            .await
            .unwrap();
        assert_eq!(
            store.list_relationships(ehr_id).await.unwrap(),
            vec![gp.clone(), proxy.clone()]
        );
        let mut ended = gp.clone();
        ended.ends = Some(datetime!(2026-06-01 00:00 UTC));
        store.put_relationship(ended.clone()).await.unwrap();
        assert_eq!(
            store.list_relationships(ehr_id).await.unwrap(),
            vec![ended, proxy.clone()]
        );
        assert!(
            store
                .delete_relationship(ehr_id, gp.relationship_id)
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_relationship(ehr_id, gp.relationship_id)
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_relationship(other_ehr, proxy.relationship_id)
                .await
                .unwrap()
        );
        assert_eq!(store.list_relationships(ehr_id).await.unwrap(), vec![proxy]);
        assert_eq!(store.list_relationships(other_ehr).await.unwrap().len(), 1);
    }

    /// A relationship of this kind, with no period, created at the start of 2026.
    fn care_relationship(
        ehr_id: Uuid,
        kind: &str,
        organisation: Option<&str>,
        professional: Option<&str>,
    ) -> RelationshipRecord {
        RelationshipRecord {
            ehr_id,
            relationship_id: Uuid::new_v4(),
            kind: kind.to_owned(),
            organisation: organisation.map(str::to_owned),
            professional: professional.map(str::to_owned),
            authority: None,
            starts: None,
            ends: None,
            document: serde_json::json!({}),
            created: datetime!(2026-01-01 00:00 UTC),
        }
    }

    /// An active directive's first version with these rules.
    fn active_consent(ehr_id: Uuid, rules: Vec<ConsentRule>) -> ConsentRecord {
        ConsentRecord {
            ehr_id,
            directive_id: Uuid::new_v4(),
            version: 1,
            status: "active".to_owned(),
            document: serde_json::json!({}),
            rules,
            created: datetime!(2026-01-01 00:00 UTC),
            updated: datetime!(2026-01-01 00:00 UTC),
        }
    }

    fn rule(
        effect: &str,
        actor_kind: &str,
        actor: Option<&str>,
        category: Option<&str>,
    ) -> ConsentRule {
        ConsentRule {
            effect: effect.to_owned(),
            actor_kind: actor_kind.to_owned(),
            actor: actor.map(str::to_owned),
            purpose: Some("direct-care".to_owned()),
            category: category.map(str::to_owned),
            starts: Some(datetime!(2026-01-01 00:00 UTC)),
            ends: None,
        }
    }

    pub async fn consent_directives_keep_versions_and_rules(harness: &Harness) {
        let store = &*harness.store;
        let ehr_id = create_ehr(store).await;
        let directive_id = Uuid::new_v4();
        let first = ConsentRecord {
            ehr_id,
            directive_id,
            version: 1,
            status: "active".to_owned(),
            document: serde_json::json!({"decision": "deny"}),
            rules: vec![
                rule("deny", "organisation", Some("RJ1"), Some("mental-health")),
                rule("deny", "organisation-type", Some("pharmacy"), None),
            ],
            created: datetime!(2026-01-01 00:00 UTC),
            updated: datetime!(2026-01-01 00:00 UTC),
        };
        store.put_consent(first.clone()).await.expect("records");
        assert_eq!(
            store.list_consents(ehr_id).await.unwrap(),
            vec![first.clone()]
        );
        // Version 1 again is a conflict, as is a gap.
        assert!(matches!(
            store.put_consent(first.clone()).await,
            Err(StoreError::RecordVersionConflict {
                latest: Some(1),
                ..
            })
        ));
        let mut gap = first.clone();
        gap.version = 3;
        assert!(matches!(
            store.put_consent(gap).await,
            Err(StoreError::RecordVersionConflict {
                latest: Some(1),
                ..
            })
        ));
        let mut second = first.clone();
        second.version = 2;
        second.status = "inactive".to_owned();
        second.rules = Vec::new();
        second.updated = datetime!(2026-02-01 00:00 UTC);
        store.put_consent(second.clone()).await.expect("updates");
        let later = ConsentRecord {
            directive_id: Uuid::new_v4(),
            rules: vec![rule("permit", "any", None, None)],
            created: datetime!(2026-03-01 00:00 UTC),
            ..first.clone()
        };
        store
            .put_consent(later.clone())
            .await
            .expect("records another");
        assert_eq!(
            store.list_consents(ehr_id).await.unwrap(),
            vec![second, later]
        );
        assert!(
            store
                .list_consents(create_ehr(store).await)
                .await
                .unwrap()
                .is_empty()
        );
    }

    fn event(seq: u64, previous: [u8; 32], person_id: Option<Uuid>, break_glass: bool) -> AuditRow {
        let canonical = format!("{{\"seq\":{seq}}}").into_bytes();
        // Any function of the previous hash serves the store's tests; the chain's real hash
        // is the access crate's.
        let mut hash = previous;
        hash[(seq % 32) as usize] ^= seq as u8 | 1;
        AuditRow {
            seq,
            time: datetime!(2026-01-01 00:00 UTC) + time::Duration::seconds(seq as i64),
            person_id,
            user: format!("user-{seq}"),
            break_glass,
            allowed: !break_glass || seq.is_multiple_of(2),
            canonical,
            hash,
            ehr_ids: Vec::new(),
        }
    }

    pub async fn the_audit_trail_appends_in_order_only(harness: &Harness) {
        let store = &*harness.store;
        assert_eq!(store.audit_head().await.unwrap(), None);
        let person = Uuid::new_v4();
        // The second event is a query that showed two records.
        let mut records = vec![Uuid::new_v4(), Uuid::new_v4()];
        records.sort();
        let first = event(1, [0; 32], Some(person), false);
        let mut second = event(2, first.hash, None, true);
        second.ehr_ids = records.clone();
        let third = event(3, second.hash, Some(person), true);
        store
            .append_audit(vec![first.clone()])
            .await
            .expect("appends");
        store
            .append_audit(vec![second.clone(), third.clone()])
            .await
            .expect("appends");
        assert_eq!(store.audit_head().await.unwrap(), Some((3, third.hash)));
        // A seq already taken, a gap, and a batch with a gap inside are refused whole.
        let mut taken = event(3, third.hash, None, false);
        taken.ehr_ids = vec![records[0]];
        let mut late = event(5, third.hash, None, false);
        late.ehr_ids = vec![records[1]];
        for batch in [
            vec![taken],
            vec![late],
            vec![
                event(4, third.hash, None, false),
                event(6, third.hash, None, false),
            ],
        ] {
            assert!(matches!(
                store.append_audit(batch).await,
                Err(StoreError::AuditSeqTaken(_))
            ),);
        }
        assert_eq!(store.audit_head().await.unwrap(), Some((3, third.hash)));
        let read = |filter: AuditFilter| async move { store.read_audit(&filter).await.unwrap() };
        assert_eq!(
            read(AuditFilter::default()).await,
            vec![first.clone(), second.clone(), third.clone()]
        );
        assert_eq!(
            read(AuditFilter {
                person_id: Some(person),
                ..AuditFilter::default()
            })
            .await,
            vec![first.clone(), third.clone()]
        );
        // A person's events include those that showed their records (and nothing a refused
        // batch would have added).
        for record in &records {
            assert_eq!(
                read(AuditFilter {
                    records: vec![*record],
                    ..AuditFilter::default()
                })
                .await,
                vec![second.clone()]
            );
        }
        assert_eq!(
            read(AuditFilter {
                person_id: Some(person),
                records: vec![records[1], Uuid::new_v4()],
                ..AuditFilter::default()
            })
            .await,
            vec![first.clone(), second.clone(), third.clone()]
        );
        assert_eq!(
            read(AuditFilter {
                break_glass_only: true,
                ..AuditFilter::default()
            })
            .await,
            vec![second.clone(), third.clone()]
        );
        assert_eq!(
            read(AuditFilter {
                from_seq: 2,
                limit: 1,
                ..AuditFilter::default()
            })
            .await,
            vec![second]
        );
    }

    pub async fn concurrent_audit_appends_never_fork_the_chain(harness: &Harness) {
        // Writers on several nodes: each reads the head and tries to append after it; on a
        // clash it rereads and tries again. Every event lands once, without gaps.
        let mut tasks = Vec::new();
        for writer in 0..4u8 {
            let store = Arc::clone(&harness.store);
            tasks.push(tokio::spawn(async move {
                let mut written = 0;
                while written < 5 {
                    let (seq, hash) = store.audit_head().await.unwrap().unwrap_or((0, [0; 32]));
                    let mut row = event(seq + 1, hash, None, false);
                    row.user = format!("writer-{writer}");
                    match store.append_audit(vec![row]).await {
                        Ok(()) => written += 1,
                        Err(StoreError::AuditSeqTaken(_)) => tokio::task::yield_now().await,
                        Err(other) => panic!("unexpected error {other:?}"),
                    }
                }
            }));
        }
        for task in tasks {
            task.await.expect("writer runs");
        }
        let events = harness
            .store
            .read_audit(&AuditFilter::default())
            .await
            .unwrap();
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=20).collect::<Vec<_>>()
        );
        for writer in 0..4 {
            let user = format!("writer-{writer}");
            assert_eq!(events.iter().filter(|e| e.user == user).count(), 5);
        }
    }

    pub async fn the_ehrs_in_reach_of_a_caller_and_those_with_denials(harness: &Harness) {
        let store = &*harness.store;
        let mut ehrs: Vec<Uuid> = Vec::new();
        for _ in 0..6 {
            ehrs.push(create_ehr(store).await);
        }
        let relationship =
            |ehr_id: Uuid, organisation: Option<&str>, professional: Option<&str>| {
                care_relationship(ehr_id, "care-team", organisation, professional)
            };
        store
            .put_relationship(relationship(ehrs[0], Some("A81001"), None))
            .await
            .unwrap();
        store
            .put_relationship(relationship(ehrs[1], None, Some("dr-who")))
            .await
            .unwrap();
        store
            .put_relationship(relationship(ehrs[2], Some("OTHER"), Some("dr-other")))
            .await
            .unwrap();
        let consent = active_consent;
        store
            .put_consent(consent(
                ehrs[3],
                vec![rule("permit", "organisation-type", Some("hospice"), None)],
            ))
            .await
            .unwrap();
        store
            .put_consent(consent(
                ehrs[4],
                vec![rule("permit", "organisation", Some("A81001"), None)],
            ))
            .await
            .unwrap();
        store
            .put_consent(consent(ehrs[5], vec![rule("deny", "any", None, None)]))
            .await
            .unwrap();
        store
            .put_consent(consent(
                ehrs[0],
                vec![rule("deny", "organisation", Some("X"), None)],
            ))
            .await
            .unwrap();
        let sorted = |mut ids: Vec<Uuid>| {
            ids.sort();
            ids
        };
        assert_eq!(
            store.ehrs_in_reach(Some("A81001"), "dr-who").await.unwrap(),
            sorted(vec![ehrs[0], ehrs[1], ehrs[3], ehrs[4]])
        );
        assert_eq!(
            store.ehrs_in_reach(None, "nobody").await.unwrap(),
            vec![ehrs[3]],
            "a permit for an organisation type may be anyone's; the policy decides"
        );
        assert_eq!(
            store.ehrs_with_rules().await.unwrap(),
            sorted(vec![ehrs[0], ehrs[3], ehrs[4], ehrs[5]])
        );
    }

    pub async fn every_registry_change_moves_the_generation(harness: &Harness) {
        let store = &*harness.store;
        let mut last = store.registry_generation().await.unwrap();
        let mut moved = |what: &str, now: u64| {
            assert!(now > last, "{what}: the generation stayed at {last}");
            last = now;
        };
        let person = registered(store, "Generation", "9434765919").await;
        moved("register", store.registry_generation().await.unwrap());
        let ehr_id = person.ehr_id;
        let relationship = care_relationship(ehr_id, "care-team", Some("A81001"), None);
        let relationship_id = relationship.relationship_id;
        store.put_relationship(relationship).await.unwrap();
        moved("relationship", store.registry_generation().await.unwrap());
        store
            .put_consent(active_consent(
                ehr_id,
                vec![rule("deny", "any", None, None)],
            ))
            .await
            .unwrap();
        moved("consent", store.registry_generation().await.unwrap());
        store
            .delete_relationship(ehr_id, relationship_id)
            .await
            .unwrap();
        moved(
            "relationship ended",
            store.registry_generation().await.unwrap(),
        );
        // Reads leave it alone.
        store.get_person(person.person_id).await.unwrap();
        store.record_facts(ehr_id).await.unwrap();
        assert_eq!(store.registry_generation().await.unwrap(), last);
    }

    pub async fn a_records_facts_read_alone_or_in_a_batch(harness: &Harness) {
        let store = &*harness.store;
        let registered_person = registered(store, "Facts", "9434765919").await;
        let bare_ehr = create_ehr(store).await;
        store
            .put_relationship(RelationshipRecord {
                ehr_id: registered_person.ehr_id,
                relationship_id: Uuid::new_v4(),
                kind: "registered-gp".to_owned(),
                organisation: Some("A81001".to_owned()),
                professional: None,
                authority: None,
                starts: None,
                ends: None,
                document: serde_json::json!({"kind": "registered-gp"}),
                created: datetime!(2026-01-01 00:00 UTC),
            })
            .await
            .unwrap();
        store
            .put_consent(ConsentRecord {
                ehr_id: registered_person.ehr_id,
                directive_id: Uuid::new_v4(),
                version: 1,
                status: "active".to_owned(),
                document: serde_json::json!({"decision": "deny"}),
                rules: vec![rule("deny", "any", None, None)],
                created: datetime!(2026-01-01 00:00 UTC),
                updated: datetime!(2026-01-01 00:00 UTC),
            })
            .await
            .unwrap();
        let alone = store.record_facts(registered_person.ehr_id).await.unwrap();
        assert_eq!(alone.person, Some(registered_person.clone()));
        assert_eq!(alone.relationships.len(), 1);
        assert_eq!(alone.consents.len(), 1);
        assert!(
            alone.consents[0].rules.is_empty(),
            "decisions read documents, not rules"
        );
        let unknown = Uuid::new_v4();
        let batch = store
            .records_facts(&[bare_ehr, registered_person.ehr_id, unknown])
            .await
            .unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch[0], store::RecordFacts::default());
        assert_eq!(batch[1], alone);
        assert_eq!(batch[2], store::RecordFacts::default());
        assert!(store.records_facts(&[]).await.unwrap().is_empty());
    }

    pub async fn erasing_an_ehr_erases_its_registry_rows_but_not_the_audit(harness: &Harness) {
        let store = &*harness.store;
        let kept = registered(store, "Kept", "9000000009").await;
        let erased = registered(store, "Erased", "9434765919").await;
        for record in [&kept, &erased] {
            store
                .put_relationship(care_relationship(
                    record.ehr_id,
                    "registered-gp",
                    Some("A8100"),
                    None,
                ))
                .await
                .unwrap();
            store
                .put_consent(active_consent(
                    record.ehr_id,
                    vec![rule("deny", "any", None, None)],
                ))
                .await
                .unwrap();
        }
        store
            .append_audit(vec![event(1, [0; 32], Some(erased.person_id), false)])
            .await
            .unwrap();
        assert!(store.delete_ehr(erased.ehr_id).await.unwrap());
        assert_eq!(store.get_person(erased.person_id).await.unwrap(), None);
        assert_eq!(
            store.person_by_identifier(NHS, "9434765919").await.unwrap(),
            None
        );
        assert!(
            store
                .list_relationships(erased.ehr_id)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.list_consents(erased.ehr_id).await.unwrap().is_empty());
        assert_eq!(
            store
                .read_audit(&AuditFilter::default())
                .await
                .unwrap()
                .len(),
            1
        );
        // The other person is untouched.
        assert!(store.get_person(kept.person_id).await.unwrap().is_some());
        assert_eq!(
            store.list_relationships(kept.ehr_id).await.unwrap().len(),
            1
        );
        assert_eq!(store.list_consents(kept.ehr_id).await.unwrap().len(), 1);
    }
}

/// Migrations of existing data: a database at an earlier schema, with rows written the way
/// that schema wrote them, opened by the current store.
mod migrations {
    use super::*;
    use aql::index::{ValueKind, ValueRow};

    /// The migrations before the one under test, as the stores record them.
    const SQLITE_BEFORE: [(i64, &str, &str); 3] = [
        (
            1,
            "init",
            include_str!("../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "ehr_is_modifiable",
            include_str!("../migrations/sqlite/0002_ehr_is_modifiable.sql"),
        ),
        (
            3,
            "query_index",
            include_str!("../migrations/sqlite/0003_query_index.sql"),
        ),
    ];
    const POSTGRES_BEFORE: [(i32, &str, &str); 3] = [
        (
            1,
            "init",
            include_str!("../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "ehr_is_modifiable",
            include_str!("../migrations/postgres/0002_ehr_is_modifiable.sql"),
        ),
        (
            3,
            "query_index",
            include_str!("../migrations/postgres/0003_query_index.sql"),
        ),
    ];
    const PATH: &str = "openEHR-EHR-COMPOSITION.test.v1/context/start_time";
    const ROOT_ARCHETYPE: &str = "openEHR-EHR-COMPOSITION.test.v1";
    const TEMPLATE: &str = "Test.v1";

    /// Schema 3's rows of one object: its root, with its archetype id as text, and a coded
    /// text, a date-time and a duration, all with their text in `text`. `ehr` and `object`
    /// are the ids as SQL literals.
    fn schema_3_rows(ehr: &str, object: &str, time: &str, data: &str) -> String {
        let row = |item: u32, kind: u8, num: &str, text: &str, code: &str, instant: &str| {
            format!(
                "INSERT INTO query_value (ehr_id, object_id, item, root_seq, path_id, kind, num,
                                          text, code, system, units, instant)
                 SELECT {ehr}, {object}, {item}, 0, path_id, {kind}, {num}, {text}, {code},
                        {system}, NULL, {instant}
                 FROM query_path;",
                system = if code == "NULL" { "NULL" } else { "'openehr'" },
            )
        };
        [
            format!(
                "INSERT INTO query_path (path, archetype_id, rel_path)
                 VALUES ('{PATH}', 'openEHR-EHR-COMPOSITION.test.v1', '/context/start_time');"
            ),
            format!(
                "INSERT INTO query_node (ehr_id, object_id, seq, last_seq, rm_type, archetype_id,
                                         parent_path_id, name)
                 VALUES ({ehr}, {object}, 0, 0, 'COMPOSITION', 'openEHR-EHR-COMPOSITION.test.v1',
                         NULL, 'Test');"
            ),
            // Two versions of the object: the root row takes the latest one's template
            // (migration 0007).
            format!(
                "INSERT INTO versioned_object (ehr_id, object_id, kind, time_created,
                                               time_created_offset, latest_version)
                 VALUES ({ehr}, {object}, 'COMPOSITION', {time}, 0, 2);
                 INSERT INTO version (ehr_id, object_id, version, kind, contribution_id,
                                      time_committed, change_type, lifecycle_state, template_id,
                                      data)
                 VALUES ({ehr}, {object}, 1, 'COMPOSITION', {object}, {time}, 'creation',
                         'complete', 'Old.v0', {data}),
                        ({ehr}, {object}, 2, 'COMPOSITION', {object}, {time}, 'modification',
                         'complete', '{TEMPLATE}', {data});"
            ),
            row(0, 3, "NULL", "'event'", "'433'", "NULL"),
            row(
                1,
                9,
                "NULL",
                "'2024-03-01T10:00:00Z'",
                "NULL",
                "1709287200000000",
            ),
            row(2, 12, "300.0", "'PT5M'", "NULL", "NULL"),
        ]
        .concat()
    }

    /// What the current schema reads back for those rows.
    fn migrated_rows() -> IndexRows {
        let value = |kind| ValueRow {
            root_seq: 0,
            path: 0,
            kind,
            num: None,
            text: None,
            code: None,
            system: None,
            units: None,
            instant: None,
            iso8601: None,
        };
        IndexRows {
            paths: vec![PATH.to_owned()],
            nodes: vec![aql::index::NodeRow {
                seq: 0,
                last_seq: 0,
                rm_type: "COMPOSITION",
                archetype_id: "openEHR-EHR-COMPOSITION.test.v1".to_owned(),
                parent_path: None,
                name: Some("Test".to_owned()),
            }],
            values: vec![
                ValueRow {
                    text: Some("event".to_owned()),
                    code: Some("433".to_owned()),
                    system: Some("openehr".to_owned()),
                    ..value(ValueKind::CodedText)
                },
                ValueRow {
                    instant: Some(1_709_287_200_000_000),
                    iso8601: Some("2024-03-01T10:00:00Z".to_owned()),
                    ..value(ValueKind::DateTime)
                },
                ValueRow {
                    num: Some(300.0),
                    iso8601: Some("PT5M".to_owned()),
                    ..value(ValueKind::Duration)
                },
            ],
        }
    }

    fn hex(id: Uuid) -> String {
        format!("X'{}'", id.simple())
    }

    #[tokio::test]
    async fn sqlite_query_rows_are_migrated() {
        let directory = tempfile::tempdir().expect("creates a temporary directory");
        let data_dir = directory.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("creates the data dir");
        let (ehr_id, object_id) = (Uuid::new_v4(), Uuid::new_v4());
        {
            let connection =
                rusqlite::Connection::open(data_dir.join("kith.db")).expect("opens sqlite");
            connection
                .execute_batch(
                    "CREATE TABLE schema_migrations (
                         version INTEGER NOT NULL PRIMARY KEY,
                         name TEXT NOT NULL,
                         applied_at TEXT NOT NULL
                     );",
                )
                .expect("creates schema_migrations");
            for (version, name, sql) in SQLITE_BEFORE {
                connection.execute_batch(sql).expect("migrates");
                connection
                    .execute(
                        "INSERT INTO schema_migrations VALUES (?1, ?2, 'then')",
                        rusqlite::params![version, name],
                    )
                    .expect("records the migration");
            }
            connection
                .execute_batch(&schema_3_rows(&hex(ehr_id), &hex(object_id), "0", "X'00'"))
                .expect("writes schema 3 rows");
        }
        let store = open_store(None, &data_dir).await.expect("opens");
        assert_eq!(
            store.index_of(ehr_id, object_id).await.expect("reads"),
            migrated_rows()
        );
        // Migration 0006: every value row names its object's root archetype.
        let connection = rusqlite::Connection::open(data_dir.join("kith.db")).expect("opens");
        let named: Vec<Option<String>> = connection
            .prepare(
                "SELECT p.path FROM query_value v
                 LEFT JOIN query_path p ON p.path_id = v.object_path_id ORDER BY v.item",
            )
            .expect("prepares")
            .query_map([], |row| row.get(0))
            .expect("queries")
            .collect::<Result<_, _>>()
            .expect("reads");
        assert_eq!(named, vec![Some(ROOT_ARCHETYPE.to_owned()); 3]);
        // Migration 0007: the root row keeps the latest version's template.
        let template: Option<String> = connection
            .query_row(
                "SELECT template_id FROM query_node WHERE seq = 0",
                [],
                |row| row.get(0),
            )
            .expect("reads");
        assert_eq!(template.as_deref(), Some(TEMPLATE));
    }

    #[tokio::test]
    async fn postgres_query_rows_are_migrated() {
        let Ok(admin_url) = std::env::var("KITH_TEST_DATABASE_URL") else {
            eprintln!("skipped: KITH_TEST_DATABASE_URL is not set");
            return;
        };
        let (url, _cleanup) = super::fresh_database(&admin_url).await;
        let (ehr_id, object_id) = (Uuid::new_v4(), Uuid::new_v4());
        let client = admin_client(&url).await;
        client
            .batch_execute(
                "CREATE TABLE schema_migrations (
                     version integer NOT NULL PRIMARY KEY,
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await
            .expect("creates schema_migrations");
        for (version, name, sql) in POSTGRES_BEFORE {
            client.batch_execute(sql).await.expect("migrates");
            client
                .execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[&version, &name],
                )
                .await
                .expect("records the migration");
        }
        let literal = |id: Uuid| format!("'{id}'::uuid");
        client
            .batch_execute(&schema_3_rows(
                &literal(ehr_id),
                &literal(object_id),
                "now()",
                "'\\x00'::bytea",
            ))
            .await
            .expect("writes schema 3 rows");
        drop(client);
        let store = open_store(Some(&url), Path::new("unused"))
            .await
            .expect("connects");
        assert_eq!(
            store.index_of(ehr_id, object_id).await.expect("reads"),
            migrated_rows()
        );
        // Migration 0006: every value row names its object's root archetype.
        let client = admin_client(&url).await;
        let named: Vec<Option<String>> = client
            .query(
                "SELECT p.path FROM query_value v
                 LEFT JOIN query_path p ON p.path_id = v.object_path_id ORDER BY v.item",
                &[],
            )
            .await
            .expect("queries")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(named, vec![Some(ROOT_ARCHETYPE.to_owned()); 3]);
        // Migration 0007: the root row keeps the latest version's template.
        let template: Option<String> = client
            .query_one("SELECT template_id FROM query_node WHERE seq = 0", &[])
            .await
            .expect("reads")
            .get(0);
        assert_eq!(template.as_deref(), Some(TEMPLATE));
    }
}
