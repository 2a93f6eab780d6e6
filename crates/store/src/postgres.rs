//! The PostgreSQL backend: a deadpool of tokio-postgres connections, cached prepared
//! statements, and group commit: commits queue for a few committer tasks, which write
//! whatever has queued in one transaction (`group`), and fall back to one transaction per
//! contribution, described below, for a group that fails and for the rare writes the group
//! statements do not cover.
//!
//! A commit alone is BEGIN, then every statement of the contribution sent at once (pipelined:
//! tokio-postgres writes a request when its future is first polled, and the statements run
//! in the order sent), then COMMIT. Checks are folded into the statements so no result is
//! needed before the next statement is sent: inserts use `ON CONFLICT DO NOTHING` and an
//! update of `latest_version` matches only the expected predecessor, so a row count of zero
//! means the check failed. Row locks taken by those statements serialise concurrent writers
//! to one object; the loser's UPDATE re-reads the committed row and matches nothing.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};
use uuid::Uuid;

use crate::codec::{
    compress, compress_contribution, decompress, highest_version, parse_change_type, parse_kind,
    parse_lifecycle_state, sort_stored_queries, truncate_to_micros, with_offset,
};
use crate::{
    Audit, ContributionRecord, Dialect, EhrRecord, IndexRows, NewContribution, NewEhr, ObjectKind,
    PathIds, QueryRows, Result, SqlQuery, StatusFacts, Store, StoreError, StoredQuery,
    StoredVersion, SubjectKey, TemplateRecord, VersionMeta, VersionSelector, VersionedObjectMeta,
};

/// Numbered migrations, applied in order and recorded in `schema_migrations`.
const MIGRATIONS: &[(i32, &str, &str)] = &[
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
    (
        4,
        "query_rows_narrower",
        include_str!("../migrations/postgres/0004_query_rows_narrower.sql"),
    ),
    (
        5,
        "ehr_subject_id",
        include_str!("../migrations/postgres/0005_ehr_subject_id.sql"),
    ),
    (
        6,
        "query_object_archetype",
        include_str!("../migrations/postgres/0006_query_object_archetype.sql"),
    ),
    (
        7,
        "query_node_template",
        include_str!("../migrations/postgres/0007_query_node_template.sql"),
    ),
    (
        8,
        "registry_and_audit",
        include_str!("../migrations/postgres/0008_registry_and_audit.sql"),
    ),
    (
        9,
        "audit_record",
        include_str!("../migrations/postgres/0009_audit_record.sql"),
    ),
    (
        10,
        "registry_generation",
        include_str!("../migrations/postgres/0010_registry_generation.sql"),
    ),
];

/// Key of the advisory lock that serialises migrations between servers starting together.
const MIGRATION_LOCK_KEY: i64 = 0x6b69_7468_6d69_6772; // "kithmigr"

/// Connections per server. Enough for the 16-committer benchmark without queueing; more
/// only adds contention on a small machine.
const POOL_SIZE: usize = 16;

/// The tables whose size `storage_bytes` reports.
const TABLES: [&str; 10] = [
    "ehr",
    "ehr_subject",
    "contribution",
    "versioned_object",
    "version",
    "template",
    "stored_query",
    "query_path",
    "query_node",
    "query_value",
];

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        // The server's message, when there is one, is more useful than the kind.
        match error.as_db_error() {
            Some(db_error) => StoreError::Database(format!(
                "{}: {}",
                db_error.code().code(),
                db_error.message()
            )),
            None => StoreError::Database(error.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(format!("cannot get a database connection: {error}"))
    }
}

fn version_number(version: u32) -> Result<i32> {
    i32::try_from(version)
        .map_err(|_| StoreError::Database(format!("version number {version} is too large")))
}

fn stored_version_number(version: i32) -> Result<u32> {
    u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("bad version {version}")))
}

pub struct PostgresStore {
    pool: Pool,
    /// Shared with the committers: the interned path ids, also read by [`Store::path_ids`].
    writer: std::sync::Arc<Writer>,
    /// Commits waiting for a committer task (`group`); dropping the store ends them.
    commits: tokio::sync::mpsc::UnboundedSender<group::Queued>,
}

/// What commits need: connections and the path ids interned so far. Shared by the store
/// and its committer tasks.
struct Writer {
    pool: Pool,
    /// Interned query paths (`query_path`). Rows there are never deleted, so a cached id
    /// stays right whatever other servers sharing the database do.
    paths: std::sync::Mutex<std::collections::HashMap<String, i32>>,
}

/// The parameters of index-row inserts, as arrays for `unnest`: one version's, or a whole
/// group's (then with the ehr and object ids of each row, `group`).
#[derive(Default)]
struct IndexParams<'a> {
    node_seq: Vec<i32>,
    node_last_seq: Vec<i32>,
    node_rm_type: Vec<&'static str>,
    node_archetype: Vec<i32>,
    node_parent_path: Vec<Option<i32>>,
    node_name: Vec<Option<&'a str>>,
    /// A composition's template id on its root row (migration 0007).
    node_template: Vec<Option<&'a str>>,
    value_item: Vec<i32>,
    value_root_seq: Vec<i32>,
    value_path: Vec<i32>,
    value_kind: Vec<i16>,
    value_num: Vec<Option<f64>>,
    value_text: Vec<Option<&'a str>>,
    value_code: Vec<Option<&'a str>>,
    value_system: Vec<Option<&'a str>>,
    value_units: Vec<Option<&'a str>>,
    value_instant: Vec<Option<i64>>,
    value_iso8601: Vec<Option<&'a str>>,
    /// The archetype of each value row's object root (migration 0006).
    value_object_path: Vec<Option<i32>>,
}

impl<'a> IndexParams<'a> {
    fn new(
        rows: &'a IndexRows,
        template_id: Option<&'a str>,
        path_ids: &std::collections::HashMap<String, i32>,
    ) -> Result<Self> {
        let mut params = IndexParams::default();
        params.push(rows, template_id, path_ids)?;
        Ok(params)
    }

    /// Appends the rows of one version.
    fn push(
        &mut self,
        rows: &'a IndexRows,
        template_id: Option<&'a str>,
        path_ids: &std::collections::HashMap<String, i32>,
    ) -> Result<()> {
        let path_id = |position: u32| -> Result<i32> {
            rows.paths
                .get(position as usize)
                .and_then(|path| path_ids.get(path))
                .copied()
                .ok_or_else(|| {
                    StoreError::Database(format!("index row names unknown path {position}"))
                })
        };
        let number = |value: u32| -> Result<i32> {
            i32::try_from(value)
                .map_err(|_| StoreError::Database(format!("index number {value} is too large")))
        };
        // Every value row names its object's root archetype (migration 0006).
        let object_path_id = rows
            .nodes
            .iter()
            .find(|node| node.seq == 0)
            .and_then(|root| path_ids.get(&root.archetype_id).copied());
        for node in &rows.nodes {
            self.node_seq.push(number(node.seq)?);
            self.node_last_seq.push(number(node.last_seq)?);
            self.node_rm_type.push(node.rm_type);
            self.node_archetype
                .push(path_ids.get(&node.archetype_id).copied().ok_or_else(|| {
                    StoreError::Database(format!("unknown archetype key {}", node.archetype_id))
                })?);
            self.node_parent_path
                .push(node.parent_path.map(path_id).transpose()?);
            self.node_name.push(node.name.as_deref());
            self.node_template
                .push(if node.seq == 0 { template_id } else { None });
        }
        for (item, value) in rows.values.iter().enumerate() {
            self.value_item
                .push(number(u32::try_from(item).unwrap_or(u32::MAX))?);
            self.value_root_seq.push(number(value.root_seq)?);
            self.value_path.push(path_id(value.path)?);
            self.value_kind.push(i16::from(value.kind.code()));
            self.value_num.push(value.num);
            self.value_text.push(value.text.as_deref());
            self.value_code.push(value.code.as_deref());
            self.value_system.push(value.system.as_deref());
            self.value_units.push(value.units.as_deref());
            self.value_instant.push(value.instant);
            self.value_iso8601.push(value.iso8601.as_deref());
            self.value_object_path.push(object_path_id);
        }
        Ok(())
    }
}

impl PostgresStore {
    /// Connects, and applies pending migrations under an advisory lock.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| StoreError::Database(format!("bad database url: {error}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|error| StoreError::Database(format!("cannot build the pool: {error}")))?;
        let writer = std::sync::Arc::new(Writer {
            pool: pool.clone(),
            paths: std::sync::Mutex::default(),
        });
        let commits = group::start_committers(writer.clone());
        let store = PostgresStore {
            pool,
            writer,
            commits,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// Queues a commit for the committer tasks, which may commit it in one transaction with
    /// others, and waits for its own outcome.
    async fn queue_commit(&self, write: group::Write) -> Result<()> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let queued = group::Queued { write, reply };
        let stopped = || StoreError::Database("the postgresql committers have stopped".to_owned());
        self.commits.send(queued).map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // A transaction-scoped lock: released by COMMIT or ROLLBACK whatever happens.
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version integer NOT NULL PRIMARY KEY,
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await?;
        let applied: Vec<i32> = transaction
            .query("SELECT version FROM schema_migrations", &[])
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for (version, name, sql) in MIGRATIONS {
            if !applied.contains(version) {
                transaction.batch_execute(sql).await?;
                transaction
                    .execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        &[version, name],
                    )
                    .await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }
}

impl Writer {
    async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// Interns the paths the contributions' index rows use that this server has not seen,
    /// in one round trip outside the commit's transaction (an entry left by a commit that
    /// then fails is harmless); afterwards [`Writer::known_paths`] has them all.
    async fn intern_paths(
        &self,
        client: &Object,
        contributions: &[&NewContribution],
    ) -> Result<()> {
        let mut missing: Vec<&str> = Vec::new();
        {
            let known = self
                .paths
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for version in contributions
                .iter()
                .flat_map(|contribution| &contribution.versions)
            {
                // The nodes' archetypes are keyed by the archetype id itself.
                let archetypes = version.index.nodes.iter().map(|node| &node.archetype_id);
                for path in version.index.paths.iter().chain(archetypes) {
                    if !known.contains_key(path) {
                        missing.push(path);
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let statement = client
            .prepare_cached(
                "WITH inserted AS (
                     INSERT INTO query_path (path, archetype_id, rel_path)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                     ON CONFLICT (path) DO NOTHING RETURNING path_id, path)
                 SELECT path_id, path FROM inserted
                 UNION ALL
                 SELECT path_id, path FROM query_path WHERE path = ANY($1::text[])",
            )
            .await?;
        let (archetype_ids, rel_paths): (Vec<&str>, Vec<&str>) = missing
            .iter()
            .map(|path| aql::index::split_path_key(path))
            .unzip();
        let rows = client
            .query(&statement, &[&missing, &archetype_ids, &rel_paths])
            .await?;
        let mut found = Vec::with_capacity(missing.len());
        for row in rows {
            found.push((row.try_get::<_, i32>(0)?, row.try_get::<_, String>(1)?));
        }
        // A path another transaction inserted while this statement ran is neither inserted
        // nor visible to it (its snapshot predates that commit): read those again.
        if found.len() < missing.len() {
            let again = client
                .prepare_cached("SELECT path_id, path FROM query_path WHERE path = ANY($1::text[])")
                .await?;
            found.clear();
            for row in client.query(&again, &[&missing]).await? {
                found.push((row.try_get(0)?, row.try_get(1)?));
            }
        }
        let mut known = self
            .paths
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (id, path) in found {
            known.insert(path, id);
        }
        Ok(())
    }

    /// The path ids interned so far; not to be held across an await.
    fn known_paths(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, i32>> {
        self.paths
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Commits `contribution`, first creating the EHR when `new_ehr` is given, in one
    /// transaction.
    async fn commit_contribution(
        &self,
        new_ehr: Option<&NewEhr>,
        contribution: &NewContribution,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let statements = CommitStatements::prepare(&client).await?;
        self.intern_paths(&client, &[contribution]).await?;
        let index_params = {
            let path_ids = self.known_paths();
            contribution
                .versions
                .iter()
                .map(|version| {
                    IndexParams::new(&version.index, version.template_id.as_deref(), &path_ids)
                })
                .collect::<Result<Vec<_>>>()?
        };

        let ehr_id = contribution.ehr_id;
        let audit = &contribution.audit;
        let time_committed = truncate_to_micros(audit.time_committed);
        let committed_offset = audit.time_committed.offset().whole_seconds();
        let numbers = contribution
            .versions
            .iter()
            .map(|version| {
                Ok((
                    version_number(version.version)?,
                    version_number(version.version.saturating_sub(1))?,
                ))
            })
            .collect::<Result<Vec<(i32, i32)>>>()?;
        let new_ehr_columns = match new_ehr {
            Some(ehr) => Some((
                crate::new_ehr_status_id(ehr)?,
                truncate_to_micros(ehr.time_created),
                ehr.time_created.offset().whole_seconds(),
            )),
            None => None,
        };

        let modifiable = &new_ehr.is_none_or(crate::new_ehr_is_modifiable);
        let transaction = client.transaction().await?;
        let mut steps: Vec<Step<'_>> = Vec::new();
        let mut checks: Vec<Check> = Vec::new();
        if let (Some(ehr), Some((ehr_status_id, time_created, created_offset))) =
            (new_ehr, &new_ehr_columns)
        {
            steps.push(execute(
                &transaction,
                &statements.insert_ehr,
                vec![
                    &ehr.ehr_id,
                    &ehr.system_id,
                    time_created,
                    created_offset,
                    ehr_status_id,
                    namespace_ref(&ehr.subject),
                    subject_id_ref(&ehr.subject),
                    modifiable,
                ],
            ));
            checks.push(Check::InsertEhr);
            if ehr.subject.is_some() {
                steps.push(execute(
                    &transaction,
                    &statements.insert_subject,
                    vec![
                        namespace_ref(&ehr.subject),
                        subject_id_ref(&ehr.subject),
                        &ehr.ehr_id,
                    ],
                ));
                checks.push(Check::InsertSubject);
            }
        }
        steps.push(query_opt(
            &transaction,
            &statements.lock_ehr,
            vec![&contribution.ehr_id],
        ));
        checks.push(Check::LockEhr);
        steps.push(execute(
            &transaction,
            &statements.insert_contribution,
            vec![
                &contribution.ehr_id,
                &contribution.contribution_id,
                &audit.system_id,
                &time_committed,
                &committed_offset,
                change_type_ref(&audit.change_type),
                &audit.committer,
                &audit.description,
            ],
        ));
        checks.push(Check::InsertContribution);
        // Objects in id order (stable, so one object's versions keep theirs): two
        // contributions touching the same objects lock them in the same order and cannot
        // deadlock.
        let mut order: Vec<usize> = (0..contribution.versions.len()).collect();
        order.sort_by_key(|&index| contribution.versions[index].object_id);
        for index in order {
            let (Some(version), Some((number, previous))) =
                (contribution.versions.get(index), numbers.get(index))
            else {
                continue;
            };
            if version.version == 1 {
                steps.push(execute(
                    &transaction,
                    &statements.create_object,
                    vec![
                        &contribution.ehr_id,
                        &version.object_id,
                        kind_ref(&version.kind),
                        &time_committed,
                        &committed_offset,
                    ],
                ));
                checks.push(Check::AdvanceObject(index));
                if version.kind == ObjectKind::Folder {
                    steps.push(execute(
                        &transaction,
                        &statements.set_directory,
                        vec![&contribution.ehr_id, &version.object_id],
                    ));
                    checks.push(Check::SetDirectory(index));
                }
            } else {
                steps.push(execute(
                    &transaction,
                    &statements.advance_object,
                    vec![
                        &contribution.ehr_id,
                        &version.object_id,
                        number,
                        previous,
                        kind_ref(&version.kind),
                    ],
                ));
                checks.push(Check::AdvanceObject(index));
            }
            steps.push(execute(
                &transaction,
                &statements.insert_version,
                vec![
                    &contribution.ehr_id,
                    &version.object_id,
                    number,
                    kind_ref(&version.kind),
                    &contribution.contribution_id,
                    &time_committed,
                    change_type_ref(&version.change_type),
                    lifecycle_ref(&version.lifecycle_state),
                    &version.template_id,
                    &version.data,
                ],
            ));
            // A version row already there means another commit got this version first.
            checks.push(Check::AdvanceObject(index));
            let Some(params) = index_params.get(index) else {
                continue;
            };
            if version.version > 1 {
                for statement in [&statements.delete_nodes, &statements.delete_values] {
                    steps.push(execute(
                        &transaction,
                        statement,
                        vec![&contribution.ehr_id, &version.object_id],
                    ));
                    checks.push(Check::Any);
                }
            }
            if !params.node_seq.is_empty() {
                steps.push(execute(
                    &transaction,
                    &statements.insert_nodes,
                    vec![
                        &contribution.ehr_id,
                        &version.object_id,
                        &params.node_seq,
                        &params.node_last_seq,
                        &params.node_rm_type,
                        &params.node_archetype,
                        &params.node_parent_path,
                        &params.node_name,
                        &params.node_template,
                    ],
                ));
                checks.push(Check::Any);
            }
            if !params.value_item.is_empty() {
                steps.push(execute(
                    &transaction,
                    &statements.insert_values,
                    vec![
                        &contribution.ehr_id,
                        &version.object_id,
                        &params.value_item,
                        &params.value_root_seq,
                        &params.value_path,
                        &params.value_kind,
                        &params.value_num,
                        &params.value_text,
                        &params.value_code,
                        &params.value_system,
                        &params.value_units,
                        &params.value_instant,
                        &params.value_iso8601,
                        &params.value_object_path,
                    ],
                ));
                checks.push(Check::Any);
            }
        }

        let outputs = pipeline(steps).await;
        let mut directory_before = None;
        let mut failure = None;
        for (check, output) in checks.iter().zip(outputs) {
            let output = match output {
                Some(Ok(output)) => output,
                Some(Err(error)) => {
                    failure = Some(Failure::Error(error.into()));
                    break;
                }
                None => {
                    failure = Some(Failure::Error(StoreError::Database(
                        "a pipelined statement did not finish".to_owned(),
                    )));
                    break;
                }
            };
            let passed = match (check, output) {
                (Check::LockEhr, StepOutput::Row(row)) => match row {
                    Some(row) => {
                        directory_before = row.try_get::<_, Option<Uuid>>(0)?;
                        let is_modifiable: bool = row.try_get(1)?;
                        if !is_modifiable
                            && crate::sqlite::touches_more_than_the_status(contribution)
                        {
                            failure = Some(Failure::Error(StoreError::EhrNotModifiable(ehr_id)));
                            break;
                        }
                        true
                    }
                    None => false,
                },
                (Check::Any, _) => true,
                (_, StepOutput::Rows(count)) => count == 1,
                (_, StepOutput::Row(_) | StepOutput::AllRows(_)) => true,
            };
            if !passed {
                failure = Some(Failure::Check(*check));
                break;
            }
        }
        let Some(failure) = failure else {
            // Rare (a changed subject), so plain statements after the pipeline.
            for version in &contribution.versions {
                if version.kind == ObjectKind::EhrStatus
                    && version.version > 1
                    && let Some(facts) = &version.status
                    && let Err(error) =
                        apply_status_facts(&transaction, contribution.ehr_id, facts).await
                {
                    transaction.rollback().await?;
                    return Err(error);
                }
            }
            transaction.commit().await?;
            return Ok(());
        };
        transaction.rollback().await?;
        let check = match failure {
            Failure::Error(error) => return Err(error),
            Failure::Check(check) => check,
        };
        Err(match check {
            Check::InsertEhr => StoreError::EhrExists(ehr_id),
            Check::InsertSubject => match new_ehr.and_then(|ehr| ehr.subject.clone()) {
                Some(subject) => StoreError::SubjectHasEhr(subject),
                None => StoreError::Database("subject insert failed without a subject".to_owned()),
            },
            Check::LockEhr => StoreError::EhrNotFound(ehr_id),
            Check::InsertContribution => {
                StoreError::ContributionExists(contribution.contribution_id)
            }
            Check::AdvanceObject(index) => {
                let Some(version) = contribution.versions.get(index) else {
                    return Err(StoreError::Database("bad version index".to_owned()));
                };
                // Read after the rollback: the committed state that made the check fail.
                let row = client
                    .query_opt(&statements.object_state, &[&ehr_id, &version.object_id])
                    .await?;
                match row {
                    Some(row) => {
                        let actual = parse_kind(row.try_get(0)?)?;
                        let latest = stored_version_number(row.try_get(1)?)?;
                        if actual != version.kind {
                            StoreError::KindMismatch {
                                object_id: version.object_id,
                                expected: version.kind,
                                actual,
                            }
                        } else {
                            StoreError::VersionConflict {
                                object_id: version.object_id,
                                version: version.version,
                                latest: Some(latest),
                            }
                        }
                    }
                    None => StoreError::VersionConflict {
                        object_id: version.object_id,
                        version: version.version,
                        latest: None,
                    },
                }
            }
            Check::Any => StoreError::Database("an unchecked statement failed".to_owned()),
            Check::SetDirectory(index) => {
                // The directory that was there, or one this contribution set before (folders
                // go in id order), or one a concurrent commit set first.
                let this = contribution
                    .versions
                    .get(index)
                    .map(|version| version.object_id);
                let earlier = contribution
                    .versions
                    .iter()
                    .filter(|version| version.kind == ObjectKind::Folder && version.version == 1)
                    .map(|version| version.object_id)
                    .filter(|object_id| Some(*object_id) < this)
                    .min();
                let existing = match directory_before.or(earlier) {
                    Some(directory) => Some(directory),
                    None => client
                        .query_opt(&statements.lock_ehr_plain, &[&ehr_id])
                        .await?
                        .map(|row| row.try_get::<_, Option<Uuid>>(0))
                        .transpose()?
                        .flatten(),
                };
                match existing {
                    Some(directory) => StoreError::DirectoryExists(directory),
                    None => StoreError::EhrNotFound(ehr_id),
                }
            }
        })
    }
}

/// Records what a new EHR_STATUS version says: its modifiability, and its subject in the
/// one-EHR-per-subject lookup.
async fn apply_status_facts(
    transaction: &deadpool_postgres::Transaction<'_>,
    ehr_id: Uuid,
    facts: &StatusFacts,
) -> Result<()> {
    // One round trip for the common case (the subject unchanged): the update returns the
    // subject the EHR has now.
    let statement = transaction
        .prepare_cached(
            "UPDATE ehr SET is_modifiable = $2 WHERE ehr_id = $1
             RETURNING subject_namespace, subject_id",
        )
        .await?;
    let row = transaction
        .query_one(&statement, &[&ehr_id, &facts.is_modifiable])
        .await?;
    let subject = facts.subject.as_ref();
    let current = match (
        row.try_get::<_, Option<String>>(0)?,
        row.try_get::<_, Option<String>>(1)?,
    ) {
        (Some(namespace), Some(id)) => Some(SubjectKey { namespace, id }),
        _ => None,
    };
    if current.as_ref() == subject {
        return Ok(());
    }
    if let Some(current) = &current {
        transaction
            .execute(
                "DELETE FROM ehr_subject WHERE namespace = $1 AND subject_id = $2 AND ehr_id = $3",
                &[&current.namespace, &current.id, &ehr_id],
            )
            .await?;
    }
    if let Some(subject) = subject {
        let inserted = transaction
            .execute(
                "INSERT INTO ehr_subject (namespace, subject_id, ehr_id) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&subject.namespace, &subject.id, &ehr_id],
            )
            .await?;
        if inserted != 1 {
            return Err(StoreError::SubjectHasEhr(subject.clone()));
        }
    }
    transaction
        .execute(
            "UPDATE ehr SET subject_namespace = $2, subject_id = $3 WHERE ehr_id = $1",
            &[
                &ehr_id,
                &subject.map(|subject| &subject.namespace),
                &subject.map(|subject| &subject.id),
            ],
        )
        .await?;
    Ok(())
}

fn namespace_ref(subject: &Option<SubjectKey>) -> &(dyn ToSql + Sync) {
    match subject {
        Some(subject) => &subject.namespace,
        None => &NULL_TEXT,
    }
}

fn subject_id_ref(subject: &Option<SubjectKey>) -> &(dyn ToSql + Sync) {
    match subject {
        Some(subject) => &subject.id,
        None => &NULL_TEXT,
    }
}

static NULL_TEXT: Option<String> = None;

/// The text codes as `'static` parameters, so they can be borrowed by pipelined steps.
fn kind_ref(kind: &ObjectKind) -> &'static (dyn ToSql + Sync) {
    static CODES: [&str; 3] = ["EHR_STATUS", "COMPOSITION", "FOLDER"];
    match kind {
        ObjectKind::EhrStatus => &CODES[0],
        ObjectKind::Composition => &CODES[1],
        ObjectKind::Folder => &CODES[2],
    }
}

fn change_type_ref(change_type: &crate::ChangeType) -> &'static (dyn ToSql + Sync) {
    use crate::ChangeType;
    static CODES: [&str; 8] = ["249", "250", "251", "252", "523", "666", "817", "253"];
    match change_type {
        ChangeType::Creation => &CODES[0],
        ChangeType::Amendment => &CODES[1],
        ChangeType::Modification => &CODES[2],
        ChangeType::Synthesis => &CODES[3],
        ChangeType::Deleted => &CODES[4],
        ChangeType::AttestationOnly => &CODES[5],
        ChangeType::FormatConversion => &CODES[6],
        ChangeType::Unknown => &CODES[7],
    }
}

fn lifecycle_ref(state: &crate::LifecycleState) -> &'static (dyn ToSql + Sync) {
    use crate::LifecycleState;
    static CODES: [&str; 3] = ["532", "553", "523"];
    match state {
        LifecycleState::Complete => &CODES[0],
        LifecycleState::Incomplete => &CODES[1],
        LifecycleState::Deleted => &CODES[2],
    }
}

/// What a pipelined statement's result must show for the commit to go ahead.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// One row inserted, else the EHR exists.
    InsertEhr,
    /// One row inserted, else the subject has an EHR.
    InsertSubject,
    /// The EHR row exists (and is now share-locked against deletion).
    LockEhr,
    /// One row inserted, else the contribution exists.
    InsertContribution,
    /// One row created or advanced, else a version conflict (or kind mismatch) on the
    /// contribution's version at this index.
    AdvanceObject(usize),
    /// The EHR had no directory, else it has one.
    SetDirectory(usize),
    /// Nothing to check (the query rows of a version).
    Any,
}

enum Failure {
    Error(StoreError),
    Check(Check),
}

enum StepOutput {
    Rows(u64),
    Row(Option<Row>),
    AllRows(Vec<Row>),
}

type Step<'a> = Pin<
    Box<dyn Future<Output = std::result::Result<StepOutput, tokio_postgres::Error>> + Send + 'a>,
>;

fn execute<'a>(
    transaction: &'a deadpool_postgres::Transaction<'_>,
    statement: &'a Statement,
    params: Vec<&'a (dyn ToSql + Sync)>,
) -> Step<'a> {
    Box::pin(async move {
        transaction
            .execute(statement, &params)
            .await
            .map(StepOutput::Rows)
    })
}

fn query_opt<'a>(
    transaction: &'a deadpool_postgres::Transaction<'_>,
    statement: &'a Statement,
    params: Vec<&'a (dyn ToSql + Sync)>,
) -> Step<'a> {
    Box::pin(async move {
        transaction
            .query_opt(statement, &params)
            .await
            .map(StepOutput::Row)
    })
}

/// Runs `steps` concurrently on one connection, first polling each in order so their
/// requests go out in that order, and returns their outputs in the same order.
async fn pipeline(
    steps: Vec<Step<'_>>,
) -> Vec<Option<std::result::Result<StepOutput, tokio_postgres::Error>>> {
    let mut outputs: Vec<_> = steps.iter().map(|_| None).collect();
    let mut steps: Vec<Option<Step<'_>>> = steps.into_iter().map(Some).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (slot, output) in steps.iter_mut().zip(outputs.iter_mut()) {
            if let Some(step) = slot {
                match step.as_mut().poll(context) {
                    Poll::Ready(result) => {
                        *output = Some(result);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
}

/// The statements of a commit, prepared once per connection and then taken from its cache.
struct CommitStatements {
    insert_ehr: Statement,
    insert_subject: Statement,
    lock_ehr: Statement,
    lock_ehr_plain: Statement,
    insert_contribution: Statement,
    create_object: Statement,
    advance_object: Statement,
    set_directory: Statement,
    insert_version: Statement,
    object_state: Statement,
    delete_nodes: Statement,
    delete_values: Statement,
    insert_nodes: Statement,
    insert_values: Statement,
}

impl CommitStatements {
    async fn prepare(client: &Object) -> Result<CommitStatements> {
        Ok(CommitStatements {
            insert_ehr: client
                .prepare_cached(
                    "INSERT INTO ehr (ehr_id, system_id, time_created, time_created_offset,
                                      ehr_status_id, subject_namespace, subject_id, is_modifiable)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .await?,
            insert_subject: client
                .prepare_cached(
                    "INSERT INTO ehr_subject (namespace, subject_id, ehr_id) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            // KEY SHARE: concurrent commits to one EHR do not block each other, but
            // delete_ehr (which deletes this row) waits for them and they for it.
            lock_ehr: client
                .prepare_cached(
                    "SELECT directory_id, is_modifiable FROM ehr WHERE ehr_id = $1 FOR KEY SHARE",
                )
                .await?,
            lock_ehr_plain: client
                .prepare_cached("SELECT directory_id FROM ehr WHERE ehr_id = $1")
                .await?,
            insert_contribution: client
                .prepare_cached(
                    "INSERT INTO contribution (ehr_id, contribution_id, system_id, time_committed,
                                               time_committed_offset, change_type, committer,
                                               description)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .await?,
            create_object: client
                .prepare_cached(
                    "INSERT INTO versioned_object (ehr_id, object_id, kind, time_created,
                                                   time_created_offset, latest_version)
                     VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT DO NOTHING",
                )
                .await?,
            advance_object: client
                .prepare_cached(
                    "UPDATE versioned_object SET latest_version = $3
                     WHERE ehr_id = $1 AND object_id = $2 AND latest_version = $4 AND kind = $5",
                )
                .await?,
            set_directory: client
                .prepare_cached(
                    "UPDATE ehr SET directory_id = $2 WHERE ehr_id = $1 AND directory_id IS NULL",
                )
                .await?,
            insert_version: client
                .prepare_cached(
                    "INSERT INTO version (ehr_id, object_id, version, kind, contribution_id,
                                          time_committed, change_type, lifecycle_state,
                                          template_id, data)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                )
                .await?,
            object_state: client
                .prepare_cached(
                    "SELECT kind, latest_version FROM versioned_object
                     WHERE ehr_id = $1 AND object_id = $2",
                )
                .await?,
            delete_nodes: client
                .prepare_cached("DELETE FROM query_node WHERE ehr_id = $1 AND object_id = $2")
                .await?,
            delete_values: client
                .prepare_cached("DELETE FROM query_value WHERE ehr_id = $1 AND object_id = $2")
                .await?,
            insert_nodes: client
                .prepare_cached(
                    "INSERT INTO query_node (ehr_id, object_id, seq, last_seq, rm_type,
                                             archetype_path_id, parent_path_id, name, template_id)
                     SELECT $1::uuid, $2::uuid, * FROM unnest($3::int4[], $4::int4[], $5::text[],
                                                  $6::int4[], $7::int4[], $8::text[], $9::text[])",
                )
                .await?,
            insert_values: client
                .prepare_cached(
                    "INSERT INTO query_value (ehr_id, object_id, item, root_seq, path_id, kind,
                                              num, text, code, system, units, instant, iso8601,
                                              object_path_id)
                     SELECT $1::uuid, $2::uuid, * FROM unnest($3::int4[], $4::int4[], $5::int4[],
                                                  $6::int2[], $7::float8[], $8::text[],
                                                  $9::text[], $10::text[], $11::text[],
                                                  $12::int8[], $13::text[], $14::int4[])",
                )
                .await?,
        })
    }
}

const EHR_COLUMNS: &str = "ehr_id, system_id, time_created, time_created_offset, ehr_status_id, \
                           directory_id, subject_namespace, subject_id";

fn ehr_from_row(row: &Row) -> Result<EhrRecord> {
    let namespace: Option<String> = row.try_get(6)?;
    let subject_id: Option<String> = row.try_get(7)?;
    Ok(EhrRecord {
        ehr_id: row.try_get(0)?,
        system_id: row.try_get(1)?,
        time_created: with_offset(row.try_get(2)?, row.try_get(3)?)?,
        ehr_status_id: row.try_get(4)?,
        directory_id: row.try_get(5)?,
        subject: namespace
            .zip(subject_id)
            .map(|(namespace, id)| SubjectKey { namespace, id }),
    })
}

/// Columns of a version joined with its contribution, read by [`version_meta_from_row`];
/// the version's own change type replaces the contribution's in its audit.
macro_rules! version_query {
    ($data:literal, $tail:literal) => {
        concat!(
            "SELECT v.object_id, v.version, v.kind, v.contribution_id, v.change_type, \
                    v.lifecycle_state, v.template_id, c.system_id, c.time_committed, \
                    c.time_committed_offset, c.committer, c.description",
            $data,
            " FROM version v JOIN contribution c \
               ON c.ehr_id = v.ehr_id AND c.contribution_id = v.contribution_id ",
            $tail
        )
    };
}

// After `version_query!`, which it uses.
mod query;
mod registry;

mod group;

/// A read-only REPEATABLE READ transaction: several reads from one snapshot.
async fn read_snapshot(client: &mut Object) -> Result<deadpool_postgres::Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

fn version_meta_from_row(row: &Row, ehr_id: Uuid) -> Result<VersionMeta> {
    Ok(VersionMeta {
        ehr_id,
        object_id: row.try_get(0)?,
        version: stored_version_number(row.try_get(1)?)?,
        kind: parse_kind(row.try_get(2)?)?,
        contribution_id: row.try_get(3)?,
        audit: Audit {
            system_id: row.try_get(7)?,
            time_committed: with_offset(row.try_get(8)?, row.try_get(9)?)?,
            change_type: parse_change_type(row.try_get(4)?)?,
            committer: row.try_get(10)?,
            description: row.try_get(11)?,
        },
        lifecycle_state: parse_lifecycle_state(row.try_get(5)?)?,
        template_id: row.try_get(6)?,
    })
}

fn stored_query_from_row(row: &Row) -> Result<StoredQuery> {
    Ok(StoredQuery {
        name: row.try_get(0)?,
        version: row.try_get(1)?,
        query_type: row.try_get(2)?,
        text: row.try_get(3)?,
        saved: with_offset(row.try_get(4)?, row.try_get(5)?)?,
    })
}

fn template_from_row(row: &Row, with_opt: bool) -> Result<TemplateRecord> {
    let opt = if with_opt {
        let compressed: Vec<u8> = row.try_get(5)?;
        decompress(&compressed)?
    } else {
        Vec::new()
    };
    Ok(TemplateRecord {
        template_id: row.try_get(0)?,
        concept: row.try_get(1)?,
        archetype_id: row.try_get(2)?,
        created_at: with_offset(row.try_get(3)?, row.try_get(4)?)?,
        opt,
    })
}

#[async_trait]
impl Store for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgresql"
    }

    async fn create_ehr(&self, mut ehr: NewEhr) -> Result<()> {
        ehr.contribution = compress_contribution(ehr.contribution)?;
        self.queue_commit(group::Write::NewEhr(ehr)).await
    }

    async fn get_ehr(&self, ehr_id: Uuid) -> Result<Option<EhrRecord>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!("SELECT {EHR_COLUMNS} FROM ehr WHERE ehr_id = $1"))
            .await?;
        client
            .query_opt(&statement, &[&ehr_id])
            .await?
            .as_ref()
            .map(ehr_from_row)
            .transpose()
    }

    async fn find_ehr_by_subject(&self, subject: &SubjectKey) -> Result<Option<EhrRecord>> {
        let client = self.client().await?;
        // Looked up in two steps, not joined: under Citus the first is a reference table
        // and the second a single-shard read.
        let statement = client
            .prepare_cached(
                "SELECT ehr_id FROM ehr_subject WHERE namespace = $1 AND subject_id = $2",
            )
            .await?;
        let Some(row) = client
            .query_opt(&statement, &[&subject.namespace, &subject.id])
            .await?
        else {
            return Ok(None);
        };
        let ehr_id: Uuid = row.try_get(0)?;
        drop(client);
        self.get_ehr(ehr_id).await
    }

    async fn commit(&self, contribution: NewContribution) -> Result<()> {
        let contribution = compress_contribution(contribution)?;
        self.queue_commit(group::Write::Contribution(contribution))
            .await
    }

    async fn get_versioned_object(
        &self,
        ehr_id: Uuid,
        object_id: Uuid,
    ) -> Result<Option<VersionedObjectMeta>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT kind, time_created, time_created_offset, latest_version
                 FROM versioned_object WHERE ehr_id = $1 AND object_id = $2",
            )
            .await?;
        let Some(row) = client.query_opt(&statement, &[&ehr_id, &object_id]).await? else {
            return Ok(None);
        };
        Ok(Some(VersionedObjectMeta {
            ehr_id,
            object_id,
            kind: parse_kind(row.try_get(0)?)?,
            time_created: with_offset(row.try_get(1)?, row.try_get(2)?)?,
            latest_version: stored_version_number(row.try_get(3)?)?,
        }))
    }

    async fn get_version(
        &self,
        ehr_id: Uuid,
        object_id: Uuid,
        selector: VersionSelector,
    ) -> Result<Option<StoredVersion>> {
        let client = self.client().await?;
        let row = match selector {
            VersionSelector::Latest => {
                let statement = client
                    .prepare_cached(version_query!(
                        ", v.data",
                        "WHERE v.ehr_id = $1 AND v.object_id = $2 ORDER BY v.version DESC LIMIT 1"
                    ))
                    .await?;
                client.query_opt(&statement, &[&ehr_id, &object_id]).await?
            }
            VersionSelector::Number(number) => {
                let Ok(number) = i32::try_from(number) else {
                    return Ok(None);
                };
                let statement = client
                    .prepare_cached(version_query!(
                        ", v.data",
                        "WHERE v.ehr_id = $1 AND v.object_id = $2 AND v.version = $3"
                    ))
                    .await?;
                client
                    .query_opt(&statement, &[&ehr_id, &object_id, &number])
                    .await?
            }
            VersionSelector::AtTime(instant) => {
                let instant: OffsetDateTime = truncate_to_micros(instant);
                let statement = client
                    .prepare_cached(version_query!(
                        ", v.data",
                        "WHERE v.ehr_id = $1 AND v.object_id = $2 AND v.time_committed <= $3 \
                         ORDER BY v.version DESC LIMIT 1"
                    ))
                    .await?;
                client
                    .query_opt(&statement, &[&ehr_id, &object_id, &instant])
                    .await?
            }
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let meta = version_meta_from_row(&row, ehr_id)?;
        let compressed: &[u8] = row.try_get(12)?;
        Ok(Some(StoredVersion {
            meta,
            data: decompress(compressed)?,
        }))
    }

    async fn list_versions(&self, ehr_id: Uuid, object_id: Uuid) -> Result<Vec<VersionMeta>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(version_query!(
                "",
                "WHERE v.ehr_id = $1 AND v.object_id = $2 ORDER BY v.version"
            ))
            .await?;
        client
            .query(&statement, &[&ehr_id, &object_id])
            .await?
            .iter()
            .map(|row| version_meta_from_row(row, ehr_id))
            .collect()
    }

    async fn get_contribution(
        &self,
        ehr_id: Uuid,
        contribution_id: Uuid,
    ) -> Result<Option<ContributionRecord>> {
        let mut client = self.client().await?;
        let contribution_statement = client
            .prepare_cached(
                "SELECT system_id, time_committed, time_committed_offset, change_type,
                        committer, description
                 FROM contribution WHERE ehr_id = $1 AND contribution_id = $2",
            )
            .await?;
        let versions_statement = client
            .prepare_cached(
                "SELECT object_id, version, kind FROM version
                 WHERE ehr_id = $1 AND contribution_id = $2 ORDER BY object_id, version",
            )
            .await?;
        // REPEATABLE READ: the contribution and its versions from one snapshot, as a
        // concurrent delete_ehr could otherwise remove the versions between the reads.
        let transaction = read_snapshot(&mut client).await?;
        let keys: [&(dyn ToSql + Sync); 2] = [&ehr_id, &contribution_id];
        let (contribution, versions) = tokio::try_join!(
            transaction.query_opt(&contribution_statement, &keys),
            transaction.query(&versions_statement, &keys),
        )?;
        transaction.commit().await?;
        let Some(row) = contribution else {
            return Ok(None);
        };
        let audit = Audit {
            system_id: row.try_get(0)?,
            time_committed: with_offset(row.try_get(1)?, row.try_get(2)?)?,
            change_type: parse_change_type(row.try_get(3)?)?,
            committer: row.try_get(4)?,
            description: row.try_get(5)?,
        };
        let versions = versions
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    stored_version_number(row.try_get(1)?)?,
                    parse_kind(row.try_get(2)?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ContributionRecord {
            ehr_id,
            contribution_id,
            audit,
            versions,
        }))
    }

    async fn delete_ehr(&self, ehr_id: Uuid) -> Result<bool> {
        let mut client = self.client().await?;
        let delete_ehr = client
            .prepare_cached(
                "DELETE FROM ehr WHERE ehr_id = $1 RETURNING subject_namespace, subject_id",
            )
            .await?;
        let delete_subject = client
            .prepare_cached(
                "DELETE FROM ehr_subject WHERE namespace = $1 AND subject_id = $2 AND ehr_id = $3",
            )
            .await?;
        let delete_versions = client
            .prepare_cached("DELETE FROM version WHERE ehr_id = $1")
            .await?;
        let delete_objects = client
            .prepare_cached("DELETE FROM versioned_object WHERE ehr_id = $1")
            .await?;
        let delete_contributions = client
            .prepare_cached("DELETE FROM contribution WHERE ehr_id = $1")
            .await?;
        let delete_nodes = client
            .prepare_cached("DELETE FROM query_node WHERE ehr_id = $1")
            .await?;
        let delete_values = client
            .prepare_cached("DELETE FROM query_value WHERE ehr_id = $1")
            .await?;
        // The person registered with the EHR goes with it (the audit trail keeps what was done).
        let delete_registry = client
            .prepare_cached(
                "WITH gone AS (DELETE FROM person WHERE ehr_id = $1 RETURNING person_id),
                      identifiers AS (DELETE FROM person_identifier
                                      WHERE person_id IN (SELECT person_id FROM gone)),
                      relationships AS (DELETE FROM care_relationship WHERE ehr_id = $1),
                      rules AS (DELETE FROM consent_rule WHERE ehr_id = $1)
                 DELETE FROM consent_directive WHERE ehr_id = $1",
            )
            .await?;
        let transaction = client.transaction().await?;
        // Deleting the ehr row first takes its lock, which waits for commits in flight
        // (they hold KEY SHARE) and makes later ones find no EHR.
        let Some(row) = transaction.query_opt(&delete_ehr, &[&ehr_id]).await? else {
            transaction.rollback().await?;
            return Ok(false);
        };
        let namespace: Option<String> = row.try_get(0)?;
        let subject_id: Option<String> = row.try_get(1)?;
        let subject_key: [&(dyn ToSql + Sync); 3] = [&namespace, &subject_id, &ehr_id];
        let ehr_key: [&(dyn ToSql + Sync); 1] = [&ehr_id];
        tokio::try_join!(
            transaction.execute(&delete_subject, &subject_key),
            transaction.execute(&delete_versions, &ehr_key),
            transaction.execute(&delete_objects, &ehr_key),
            transaction.execute(&delete_contributions, &ehr_key),
            transaction.execute(&delete_nodes, &ehr_key),
            transaction.execute(&delete_values, &ehr_key),
            transaction.execute(&delete_registry, &ehr_key),
        )?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn put_template(&self, template: TemplateRecord) -> Result<()> {
        let opt = compress(&template.opt)?;
        let created_at = truncate_to_micros(template.created_at);
        let created_offset = template.created_at.offset().whole_seconds();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO template (template_id, concept, archetype_id, created_at,
                                       created_at_offset, opt)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .await?;
        let inserted = client
            .execute(
                &statement,
                &[
                    &template.template_id,
                    &template.concept,
                    &template.archetype_id,
                    &created_at,
                    &created_offset,
                    &opt,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::TemplateExists(template.template_id));
        }
        Ok(())
    }

    async fn get_template(&self, template_id: &str) -> Result<Option<TemplateRecord>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT template_id, concept, archetype_id, created_at, created_at_offset, opt
                 FROM template WHERE template_id = $1",
            )
            .await?;
        client
            .query_opt(&statement, &[&template_id])
            .await?
            .map(|row| template_from_row(&row, true))
            .transpose()
    }

    async fn list_templates(&self) -> Result<Vec<TemplateRecord>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT template_id, concept, archetype_id, created_at, created_at_offset
                 FROM template ORDER BY template_id",
            )
            .await?;
        client
            .query(&statement, &[])
            .await?
            .iter()
            .map(|row| template_from_row(row, false))
            .collect()
    }

    async fn delete_template(&self, template_id: &str) -> Result<bool> {
        let client = self.client().await?;
        // One statement, so the check and the delete see the same snapshot. A composition
        // committed concurrently with the delete can still name the template; the store
        // keeps the version either way and the template can be uploaded again.
        let statement = client
            .prepare_cached(
                "WITH in_use AS (SELECT EXISTS (SELECT 1 FROM version WHERE template_id = $1) AS used),
                      deleted AS (DELETE FROM template WHERE template_id = $1
                                  AND NOT (SELECT used FROM in_use) RETURNING 1)
                 SELECT (SELECT used FROM in_use), (SELECT count(*) FROM deleted)",
            )
            .await?;
        let row = client.query_one(&statement, &[&template_id]).await?;
        let in_use: bool = row.try_get(0)?;
        let deleted: i64 = row.try_get(1)?;
        if in_use {
            return Err(StoreError::TemplateInUse(template_id.to_owned()));
        }
        Ok(deleted > 0)
    }

    async fn replace_template(&self, template: TemplateRecord) -> Result<bool> {
        let opt = compress(&template.opt)?;
        let client = self.client().await?;
        // As for deletion, one statement: the check and the update see one snapshot.
        let statement = client
            .prepare_cached(
                "WITH in_use AS (SELECT EXISTS (SELECT 1 FROM version WHERE template_id = $1) AS used),
                      updated AS (UPDATE template SET concept = $2, archetype_id = $3, opt = $4
                                  WHERE template_id = $1 AND NOT (SELECT used FROM in_use)
                                  RETURNING 1)
                 SELECT (SELECT used FROM in_use), (SELECT count(*) FROM updated)",
            )
            .await?;
        let row = client
            .query_one(
                &statement,
                &[
                    &template.template_id,
                    &template.concept,
                    &template.archetype_id,
                    &opt,
                ],
            )
            .await?;
        let in_use: bool = row.try_get(0)?;
        let updated: i64 = row.try_get(1)?;
        if in_use {
            return Err(StoreError::TemplateInUse(template.template_id));
        }
        Ok(updated > 0)
    }

    async fn put_stored_query(&self, query: StoredQuery) -> Result<()> {
        let saved = truncate_to_micros(query.saved);
        let saved_offset = query.saved.offset().whole_seconds();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO stored_query (name, version, query_type, text, saved, saved_offset)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .await?;
        let inserted = client
            .execute(
                &statement,
                &[
                    &query.name,
                    &query.version,
                    &query.query_type,
                    &query.text,
                    &saved,
                    &saved_offset,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::StoredQueryExists(query.name, query.version));
        }
        Ok(())
    }

    async fn get_stored_query(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<StoredQuery>> {
        let client = self.client().await?;
        let rows = match version {
            Some(version) => {
                let statement = client
                    .prepare_cached(
                        "SELECT name, version, query_type, text, saved, saved_offset
                         FROM stored_query WHERE name = $1 AND version = $2",
                    )
                    .await?;
                client.query(&statement, &[&name, &version]).await?
            }
            None => {
                let statement = client
                    .prepare_cached(
                        "SELECT name, version, query_type, text, saved, saved_offset
                         FROM stored_query WHERE name = $1",
                    )
                    .await?;
                client.query(&statement, &[&name]).await?
            }
        };
        let queries = rows
            .iter()
            .map(stored_query_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(highest_version(queries))
    }

    async fn list_stored_queries(&self, name_prefix: &str) -> Result<Vec<StoredQuery>> {
        let client = self.client().await?;
        // starts_with rather than LIKE: a prefix may contain % or _.
        let statement = client
            .prepare_cached(
                "SELECT name, version, query_type, text, saved, saved_offset
                 FROM stored_query WHERE starts_with(name, $1)",
            )
            .await?;
        let mut queries = client
            .query(&statement, &[&name_prefix])
            .await?
            .iter()
            .map(stored_query_from_row)
            .collect::<Result<Vec<_>>>()?;
        sort_stored_queries(&mut queries);
        Ok(queries)
    }

    async fn delete_stored_query(&self, name: &str, version: Option<&str>) -> Result<u64> {
        let client = self.client().await?;
        let deleted = match version {
            Some(version) => {
                let statement = client
                    .prepare_cached("DELETE FROM stored_query WHERE name = $1 AND version = $2")
                    .await?;
                client.execute(&statement, &[&name, &version]).await?
            }
            None => {
                let statement = client
                    .prepare_cached("DELETE FROM stored_query WHERE name = $1")
                    .await?;
                client.execute(&statement, &[&name]).await?
            }
        };
        Ok(deleted)
    }

    async fn index_of(&self, ehr_id: Uuid, object_id: Uuid) -> Result<IndexRows> {
        let client = self.client().await?;
        let nodes = client
            .prepare_cached(
                "SELECT n.seq, n.last_seq, n.rm_type, a.path, p.path, n.name
                 FROM query_node n JOIN query_path a ON a.path_id = n.archetype_path_id
                 LEFT JOIN query_path p ON p.path_id = n.parent_path_id
                 WHERE n.ehr_id = $1 AND n.object_id = $2 ORDER BY n.seq",
            )
            .await?;
        let values = client
            .prepare_cached(
                "SELECT v.root_seq, p.path, v.kind, v.num, v.text, v.code, v.system, v.units,
                        v.instant, v.iso8601
                 FROM query_value v JOIN query_path p ON p.path_id = v.path_id
                 WHERE v.ehr_id = $1 AND v.object_id = $2 ORDER BY v.item",
            )
            .await?;
        let mut rows = IndexRows::default();
        let mut positions = std::collections::HashMap::new();
        let mut position_of = |rows: &mut IndexRows, path: String| -> u32 {
            *positions.entry(path.clone()).or_insert_with(|| {
                rows.paths.push(path);
                u32::try_from(rows.paths.len() - 1).unwrap_or(u32::MAX)
            })
        };
        let unsigned = |number: i32| {
            u32::try_from(number)
                .map_err(|_| StoreError::Corrupt(format!("negative index number {number}")))
        };
        for row in client.query(&nodes, &[&ehr_id, &object_id]).await? {
            let parent_path: Option<String> = row.try_get(4)?;
            let node = aql::index::NodeRow {
                seq: unsigned(row.try_get(0)?)?,
                last_seq: unsigned(row.try_get(1)?)?,
                rm_type: crate::codec::rm_type_name(row.try_get(2)?)?,
                archetype_id: row.try_get(3)?,
                parent_path: parent_path.map(|path| position_of(&mut rows, path)),
                name: row.try_get(5)?,
            };
            rows.nodes.push(node);
        }
        for row in client.query(&values, &[&ehr_id, &object_id]).await? {
            let kind: i16 = row.try_get(2)?;
            let value = aql::index::ValueRow {
                root_seq: unsigned(row.try_get(0)?)?,
                path: position_of(&mut rows, row.try_get(1)?),
                kind: crate::codec::parse_value_kind(
                    u8::try_from(kind)
                        .map_err(|_| StoreError::Corrupt(format!("bad value kind {kind}")))?,
                )?,
                num: row.try_get(3)?,
                text: row.try_get(4)?,
                code: row.try_get(5)?,
                system: row.try_get(6)?,
                units: row.try_get(7)?,
                instant: row.try_get(8)?,
                iso8601: row.try_get(9)?,
            };
            rows.values.push(value);
        }
        Ok(rows)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn run_query(&self, query: &SqlQuery) -> Result<QueryRows> {
        let mut client = self.client().await?;
        query::run(&mut client, query).await
    }

    async fn explain_query(&self, query: &SqlQuery) -> Result<Vec<String>> {
        let client = self.client().await?;
        query::explain(&client, query).await
    }

    async fn path_ids(&self, keys: &[String]) -> Result<PathIds> {
        let (mut found, missing) = crate::split_cached_path_ids(&self.writer.known_paths(), keys);
        if missing.is_empty() {
            return Ok(found);
        }
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT path_id, path FROM query_path WHERE path = ANY($1::text[])")
            .await?;
        let rows = client.query(&statement, &[&missing]).await?;
        let mut known = self.writer.known_paths();
        for row in rows {
            let id: i32 = row.try_get(0)?;
            let path: String = row.try_get(1)?;
            known.insert(path.clone(), id);
            found.insert(path, i64::from(id));
        }
        Ok(found)
    }

    async fn ehr_versions(&self, ehr_id: Uuid, latest_only: bool) -> Result<Vec<StoredVersion>> {
        let client = self.client().await?;
        query::ehr_versions(&client, ehr_id, latest_only).await
    }

    async fn storage_bytes(&self) -> Result<u64> {
        let client = self.client().await?;
        let tables: Vec<&str> = TABLES.to_vec();
        let row = client
            .query_one(
                "SELECT coalesce(sum(pg_total_relation_size(to_regclass(name))), 0)::bigint
                 FROM unnest($1::text[]) AS name",
                &[&tables],
            )
            .await?;
        let bytes: i64 = row.try_get(0)?;
        u64::try_from(bytes).map_err(|_| StoreError::Corrupt(format!("negative size {bytes}")))
    }
}
