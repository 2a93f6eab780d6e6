//! Group commit on PostgreSQL: committer tasks take whatever commits have queued and write
//! them in one transaction, with one multi-row statement per table for the whole group.
//!
//! A commit alone costs BEGIN, a pipeline of six or more statements and COMMIT, each
//! statement with the server's per-statement work (planning a generic plan, opening the
//! relation and its indexes, starting an executor) and the COMMIT with a WAL flush. Under
//! load most of that is the same for every commit, so a group pays it once: `kith seed`
//! spent more of the database's CPU on it than on inserting rows.
//!
//! A group either commits whole or changes nothing: every check is a row count over the
//! whole group (rows inserted, EHR rows locked), and when one fails, or anything fails,
//! the transaction is rolled back and every commit of the group is retried on its own by
//! the single-commit path, which finds the one at fault and gives it its exact error. So a
//! failing commit costs its group one rolled-back transaction, never a wrong outcome, and a
//! commit is acknowledged only once the transaction holding it has committed.

use std::collections::BTreeSet;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{
    CommitStatements, IndexParams, Step, StepOutput, Writer, execute, kind_ref, pipeline,
    version_number,
};
use crate::codec::truncate_to_micros;
use crate::{NewContribution, NewEhr, ObjectKind, Result, StoreError};

/// Committer tasks. Two cores run the database and the server here; a few transactions
/// in flight keep both busy while one group is being sent and another committed.
const COMMITTERS: usize = 4;

/// An upper bound on one group, so a transaction's statements stay a few megabytes.
const MAX_GROUP: usize = 256;

/// A write the committers commit.
pub(super) enum Write {
    NewEhr(NewEhr),
    Contribution(NewContribution),
}

impl Write {
    fn parts(&self) -> (Option<&NewEhr>, &NewContribution) {
        match self {
            Write::NewEhr(ehr) => (Some(ehr), &ehr.contribution),
            Write::Contribution(contribution) => (None, contribution),
        }
    }

    /// Whether the group statements cover everything this write does. A new folder (the
    /// EHR's directory) and an EHR_STATUS that changes the subject need statements of their
    /// own; such writes are rare and commit alone.
    fn groupable(&self) -> bool {
        let (_, contribution) = self.parts();
        contribution
            .versions
            .iter()
            .all(|version| match version.kind {
                ObjectKind::Folder => version.version > 1,
                ObjectKind::EhrStatus => version.version == 1 || version.status.is_none(),
                ObjectKind::Composition => true,
            })
    }
}

pub(super) struct Queued {
    pub(super) write: Write,
    pub(super) reply: oneshot::Sender<Result<()>>,
}

/// Starts the committer tasks on the current runtime; they end when the sender is dropped.
pub(super) fn start_committers(writer: Arc<Writer>) -> mpsc::UnboundedSender<Queued> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..COMMITTERS {
        tokio::spawn(committer(writer.clone(), receiver.clone()));
    }
    sender
}

async fn committer(writer: Arc<Writer>, queue: Arc<Mutex<mpsc::UnboundedReceiver<Queued>>>) {
    loop {
        let mut group = Vec::new();
        {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            group.push(first);
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(queued) => group.push(queued),
                    Err(_) => break,
                }
            }
        }
        writer.commit_queued(group).await;
    }
}

impl Writer {
    async fn commit_queued(&self, group: Vec<Queued>) {
        let (together, alone): (Vec<Queued>, Vec<Queued>) = group
            .into_iter()
            .partition(|queued| queued.write.groupable());
        let retry = if together.is_empty() {
            Vec::new()
        } else {
            match self.commit_group(&together).await {
                Ok(true) => {
                    for queued in together {
                        // A caller that gave up waiting does not undo its committed write.
                        let _ = queued.reply.send(Ok(()));
                    }
                    Vec::new()
                }
                Ok(false) => together,
                Err(error) => {
                    tracing::debug!(%error, "postgresql group commit failed; committing one by one");
                    together
                }
            }
        };
        for queued in alone.into_iter().chain(retry) {
            let (new_ehr, contribution) = queued.write.parts();
            let result = self.commit_contribution(new_ehr, contribution).await;
            let _ = queued.reply.send(result);
        }
    }

    /// Commits every write of `group` in one transaction: `Ok(true)` once committed,
    /// `Ok(false)` when a check failed and the transaction was rolled back.
    async fn commit_group(&self, group: &[Queued]) -> Result<bool> {
        let mut client = self.client().await?;
        let contributions: Vec<&NewContribution> =
            group.iter().map(|queued| queued.write.parts().1).collect();
        self.intern_paths(&client, &contributions).await?;
        let rows = GroupRows::new(group, &self.known_paths())?;
        let group_statements = GroupStatements::prepare(&client).await?;
        // Each prepared statement is looked up by its text, hashed: fetch the single-commit
        // statements only for the later versions that use them.
        let statements = if rows.updates.is_empty() {
            None
        } else {
            Some(CommitStatements::prepare(&client).await?)
        };

        let transaction = client.transaction().await?;
        let mut steps: Vec<Step<'_>> = Vec::new();
        // How many rows each step must report, or None for no check.
        let mut expected: Vec<Expect> = Vec::new();
        if !rows.ehr_id.is_empty() {
            steps.push(execute(
                &transaction,
                &group_statements.insert_ehrs,
                vec![
                    &rows.ehr_id,
                    &rows.ehr_system_id,
                    &rows.ehr_time_created,
                    &rows.ehr_time_created_offset,
                    &rows.ehr_status_id,
                    &rows.ehr_subject_namespace,
                    &rows.ehr_subject_id,
                    &rows.ehr_is_modifiable,
                ],
            ));
            expected.push(Expect::Rows(rows.ehr_id.len()));
        }
        if !rows.subject_ehr_id.is_empty() {
            steps.push(execute(
                &transaction,
                &group_statements.insert_subjects,
                vec![
                    &rows.subject_namespace,
                    &rows.subject_id,
                    &rows.subject_ehr_id,
                ],
            ));
            expected.push(Expect::Rows(rows.subject_ehr_id.len()));
        }
        steps.push(query_rows(
            &transaction,
            &group_statements.lock_ehrs,
            vec![&rows.locked_ehr_id],
        ));
        expected.push(Expect::ModifiableEhrs(rows.locked_ehr_id.len()));
        steps.push(execute(
            &transaction,
            &group_statements.insert_contributions,
            vec![
                &rows.contribution_ehr_id,
                &rows.contribution_id,
                &rows.contribution_system_id,
                &rows.contribution_time,
                &rows.contribution_offset,
                &rows.contribution_change_type,
                &rows.contribution_committer,
                &rows.contribution_description,
            ],
        ));
        expected.push(Expect::Rows(rows.contribution_id.len()));
        if !rows.object_id.is_empty() {
            steps.push(execute(
                &transaction,
                &group_statements.create_objects,
                vec![
                    &rows.object_ehr_id,
                    &rows.object_id,
                    &rows.object_kind,
                    &rows.object_time,
                    &rows.object_offset,
                ],
            ));
            expected.push(Expect::Rows(rows.object_id.len()));
        }
        // Later versions move their object's `latest_version` one at a time: each must
        // match its own predecessor.
        if let Some(statements) = &statements {
            for update in &rows.updates {
                steps.push(execute(
                    &transaction,
                    &statements.advance_object,
                    vec![
                        &update.ehr_id,
                        &update.object_id,
                        &update.version,
                        &update.previous,
                        kind_ref(&update.kind),
                    ],
                ));
                expected.push(Expect::Rows(1));
            }
        }
        steps.push(execute(
            &transaction,
            &group_statements.insert_versions,
            vec![
                &rows.version_ehr_id,
                &rows.version_object_id,
                &rows.version_number,
                &rows.version_kind,
                &rows.version_contribution_id,
                &rows.version_time,
                &rows.version_change_type,
                &rows.version_lifecycle_state,
                &rows.version_template_id,
                &rows.version_data,
            ],
        ));
        expected.push(Expect::Rows(rows.version_object_id.len()));
        if let Some(statements) = &statements {
            for update in &rows.updates {
                for statement in [&statements.delete_nodes, &statements.delete_values] {
                    steps.push(execute(
                        &transaction,
                        statement,
                        vec![&update.ehr_id, &update.object_id],
                    ));
                    expected.push(Expect::Any);
                }
            }
        }
        let index = &rows.index;
        if !index.node_seq.is_empty() {
            steps.push(execute(
                &transaction,
                &group_statements.insert_nodes,
                vec![
                    &rows.node_ehr_id,
                    &rows.node_object_id,
                    &index.node_seq,
                    &index.node_last_seq,
                    &index.node_rm_type,
                    &index.node_archetype,
                    &index.node_parent_path,
                    &index.node_name,
                    &index.node_template,
                ],
            ));
            expected.push(Expect::Any);
        }
        if !index.value_item.is_empty() {
            steps.push(execute(
                &transaction,
                &group_statements.insert_values,
                vec![
                    &rows.value_ehr_id,
                    &rows.value_object_id,
                    &index.value_item,
                    &index.value_root_seq,
                    &index.value_path,
                    &index.value_kind,
                    &index.value_num,
                    &index.value_text,
                    &index.value_code,
                    &index.value_system,
                    &index.value_units,
                    &index.value_instant,
                    &index.value_iso8601,
                    &index.value_object_path,
                ],
            ));
            expected.push(Expect::Any);
        }

        let outputs = pipeline(steps).await;
        let mut passed = true;
        for (expect, output) in expected.iter().zip(outputs) {
            let output = match output {
                Some(Ok(output)) => output,
                Some(Err(error)) => {
                    transaction.rollback().await?;
                    return Err(error.into());
                }
                None => {
                    transaction.rollback().await?;
                    return Err(StoreError::Database(
                        "a pipelined statement did not finish".to_owned(),
                    ));
                }
            };
            let ok = match (expect, output) {
                (Expect::Any, _) => true,
                (Expect::Rows(count), StepOutput::Rows(rows)) => rows == *count as u64,
                (Expect::ModifiableEhrs(count), StepOutput::AllRows(rows)) => {
                    rows.len() == *count
                        && rows
                            .iter()
                            .all(|row| row.try_get::<_, bool>(0).unwrap_or(false))
                }
                _ => false,
            };
            if !ok {
                passed = false;
                break;
            }
        }
        if !passed {
            transaction.rollback().await?;
            return Ok(false);
        }
        transaction.commit().await?;
        Ok(true)
    }
}

/// What a group step's result must show.
enum Expect {
    /// Exactly this many rows inserted or updated.
    Rows(usize),
    /// This many EHR rows found (and share-locked), every one modifiable.
    ModifiableEhrs(usize),
    /// Nothing to check.
    Any,
}

fn query_rows<'a>(
    transaction: &'a deadpool_postgres::Transaction<'_>,
    statement: &'a Statement,
    params: Vec<&'a (dyn ToSql + Sync)>,
) -> Step<'a> {
    Box::pin(async move {
        transaction
            .query(statement, &params)
            .await
            .map(StepOutput::AllRows)
    })
}

/// A later version, moved forward by its own statement.
struct Update {
    ehr_id: Uuid,
    object_id: Uuid,
    version: i32,
    previous: i32,
    kind: ObjectKind,
}

/// The rows of a group, column by column, for `unnest`. Versions are in (EHR, object)
/// order, so two groups writing the same objects take their locks in the same order.
#[derive(Default)]
struct GroupRows<'a> {
    ehr_id: Vec<Uuid>,
    ehr_system_id: Vec<&'a str>,
    ehr_time_created: Vec<OffsetDateTime>,
    ehr_time_created_offset: Vec<i32>,
    ehr_status_id: Vec<Uuid>,
    ehr_subject_namespace: Vec<Option<&'a str>>,
    ehr_subject_id: Vec<Option<&'a str>>,
    ehr_is_modifiable: Vec<bool>,
    subject_namespace: Vec<&'a str>,
    subject_id: Vec<&'a str>,
    subject_ehr_id: Vec<Uuid>,
    locked_ehr_id: Vec<Uuid>,
    contribution_ehr_id: Vec<Uuid>,
    contribution_id: Vec<Uuid>,
    contribution_system_id: Vec<&'a str>,
    contribution_time: Vec<OffsetDateTime>,
    contribution_offset: Vec<i32>,
    contribution_change_type: Vec<&'static str>,
    contribution_committer: Vec<&'a serde_json::Value>,
    contribution_description: Vec<Option<&'a serde_json::Value>>,
    object_ehr_id: Vec<Uuid>,
    object_id: Vec<Uuid>,
    object_kind: Vec<&'static str>,
    object_time: Vec<OffsetDateTime>,
    object_offset: Vec<i32>,
    updates: Vec<Update>,
    version_ehr_id: Vec<Uuid>,
    version_object_id: Vec<Uuid>,
    version_number: Vec<i32>,
    version_kind: Vec<&'static str>,
    version_contribution_id: Vec<Uuid>,
    version_time: Vec<OffsetDateTime>,
    version_change_type: Vec<&'static str>,
    version_lifecycle_state: Vec<&'static str>,
    version_template_id: Vec<Option<&'a str>>,
    version_data: Vec<&'a [u8]>,
    node_ehr_id: Vec<Uuid>,
    node_object_id: Vec<Uuid>,
    value_ehr_id: Vec<Uuid>,
    value_object_id: Vec<Uuid>,
    index: IndexParams<'a>,
}

impl<'a> GroupRows<'a> {
    fn new(
        group: &'a [Queued],
        path_ids: &std::collections::HashMap<String, i32>,
    ) -> Result<GroupRows<'a>> {
        let mut rows = GroupRows::default();
        let mut locked = BTreeSet::new();
        let mut versions = Vec::new();
        for queued in group {
            let (new_ehr, contribution) = queued.write.parts();
            if let Some(ehr) = new_ehr {
                rows.ehr_id.push(ehr.ehr_id);
                rows.ehr_system_id.push(&ehr.system_id);
                rows.ehr_time_created
                    .push(truncate_to_micros(ehr.time_created));
                rows.ehr_time_created_offset
                    .push(ehr.time_created.offset().whole_seconds());
                rows.ehr_status_id.push(crate::new_ehr_status_id(ehr)?);
                let subject = ehr.subject.as_ref();
                rows.ehr_subject_namespace
                    .push(subject.map(|subject| subject.namespace.as_str()));
                rows.ehr_subject_id
                    .push(subject.map(|subject| subject.id.as_str()));
                rows.ehr_is_modifiable
                    .push(crate::new_ehr_is_modifiable(ehr));
                if let Some(subject) = subject {
                    rows.subject_namespace.push(&subject.namespace);
                    rows.subject_id.push(&subject.id);
                    rows.subject_ehr_id.push(ehr.ehr_id);
                }
            }
            locked.insert(contribution.ehr_id);
            let audit = &contribution.audit;
            let time_committed = truncate_to_micros(audit.time_committed);
            let offset = audit.time_committed.offset().whole_seconds();
            rows.contribution_ehr_id.push(contribution.ehr_id);
            rows.contribution_id.push(contribution.contribution_id);
            rows.contribution_system_id.push(&audit.system_id);
            rows.contribution_time.push(time_committed);
            rows.contribution_offset.push(offset);
            rows.contribution_change_type.push(audit.change_type.code());
            rows.contribution_committer.push(&audit.committer);
            rows.contribution_description
                .push(audit.description.as_ref());
            for version in &contribution.versions {
                versions.push((contribution, version, time_committed, offset));
            }
        }
        rows.locked_ehr_id = locked.into_iter().collect();
        versions
            .sort_by_key(|(contribution, version, ..)| (contribution.ehr_id, version.object_id));
        for (contribution, version, time_committed, offset) in versions {
            let number = version_number(version.version)?;
            if version.version == 1 {
                rows.object_ehr_id.push(contribution.ehr_id);
                rows.object_id.push(version.object_id);
                rows.object_kind.push(version.kind.as_str());
                rows.object_time.push(time_committed);
                rows.object_offset.push(offset);
            } else {
                rows.updates.push(Update {
                    ehr_id: contribution.ehr_id,
                    object_id: version.object_id,
                    version: number,
                    previous: version_number(version.version - 1)?,
                    kind: version.kind,
                });
            }
            rows.version_ehr_id.push(contribution.ehr_id);
            rows.version_object_id.push(version.object_id);
            rows.version_number.push(number);
            rows.version_kind.push(version.kind.as_str());
            rows.version_contribution_id
                .push(contribution.contribution_id);
            rows.version_time.push(time_committed);
            rows.version_change_type.push(version.change_type.code());
            rows.version_lifecycle_state
                .push(version.lifecycle_state.code());
            rows.version_template_id
                .push(version.template_id.as_deref());
            rows.version_data.push(&version.data);
            let ids = (contribution.ehr_id, version.object_id);
            rows.node_ehr_id
                .extend(std::iter::repeat_n(ids.0, version.index.nodes.len()));
            rows.node_object_id
                .extend(std::iter::repeat_n(ids.1, version.index.nodes.len()));
            rows.value_ehr_id
                .extend(std::iter::repeat_n(ids.0, version.index.values.len()));
            rows.value_object_id
                .extend(std::iter::repeat_n(ids.1, version.index.values.len()));
            rows.index
                .push(&version.index, version.template_id.as_deref(), path_ids)?;
        }
        Ok(rows)
    }
}

/// The group statements, prepared once per connection and then taken from its cache.
struct GroupStatements {
    insert_ehrs: Statement,
    insert_subjects: Statement,
    lock_ehrs: Statement,
    insert_contributions: Statement,
    create_objects: Statement,
    insert_versions: Statement,
    insert_nodes: Statement,
    insert_values: Statement,
}

impl GroupStatements {
    async fn prepare(client: &deadpool_postgres::Object) -> Result<GroupStatements> {
        Ok(GroupStatements {
            insert_ehrs: client
                .prepare_cached(
                    "INSERT INTO ehr (ehr_id, system_id, time_created, time_created_offset,
                                      ehr_status_id, subject_namespace, subject_id, is_modifiable)
                     SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int4[],
                                          $5::uuid[], $6::text[], $7::text[], $8::bool[])
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            insert_subjects: client
                .prepare_cached(
                    "INSERT INTO ehr_subject (namespace, subject_id, ehr_id)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            // KEY SHARE, as for a single commit: commits to one EHR do not block each
            // other, but an erasure of the EHR waits for them and they for it.
            lock_ehrs: client
                .prepare_cached(
                    "SELECT is_modifiable FROM ehr WHERE ehr_id = ANY($1::uuid[])
                     ORDER BY ehr_id FOR KEY SHARE",
                )
                .await?,
            insert_contributions: client
                .prepare_cached(
                    "INSERT INTO contribution (ehr_id, contribution_id, system_id, time_committed,
                                               time_committed_offset, change_type, committer,
                                               description)
                     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[],
                                          $5::int4[], $6::text[], $7::jsonb[], $8::jsonb[])
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            create_objects: client
                .prepare_cached(
                    "INSERT INTO versioned_object (ehr_id, object_id, kind, time_created,
                                                   time_created_offset, latest_version)
                     SELECT *, 1 FROM unnest($1::uuid[], $2::uuid[], $3::text[],
                                             $4::timestamptz[], $5::int4[])
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            insert_versions: client
                .prepare_cached(
                    "INSERT INTO version (ehr_id, object_id, version, kind, contribution_id,
                                          time_committed, change_type, lifecycle_state,
                                          template_id, data)
                     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::text[],
                                          $5::uuid[], $6::timestamptz[], $7::text[], $8::text[],
                                          $9::text[], $10::bytea[])
                     ON CONFLICT DO NOTHING",
                )
                .await?,
            insert_nodes: client
                .prepare_cached(
                    "INSERT INTO query_node (ehr_id, object_id, seq, last_seq, rm_type,
                                             archetype_path_id, parent_path_id, name, template_id)
                     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::int4[],
                                          $5::text[], $6::int4[], $7::int4[], $8::text[],
                                          $9::text[])",
                )
                .await?,
            insert_values: client
                .prepare_cached(
                    "INSERT INTO query_value (ehr_id, object_id, item, root_seq, path_id, kind,
                                              num, text, code, system, units, instant, iso8601,
                                              object_path_id)
                     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::int4[],
                                          $5::int4[], $6::int2[], $7::float8[], $8::text[],
                                          $9::text[], $10::text[], $11::text[], $12::int8[],
                                          $13::text[], $14::int4[])",
                )
                .await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::PostgresStore;
    use super::*;
    use crate::{Audit, ChangeType, IndexRows, LifecycleState, NewVersion, Store, SubjectKey};
    use aql::index::{NodeRow, ValueKind, ValueRow};

    /// A fresh database on `KITH_TEST_DATABASE_URL`'s server, dropped when this is.
    struct Database {
        admin_url: String,
        name: String,
        url: String,
    }

    impl Database {
        async fn create() -> Option<Database> {
            let Ok(admin_url) = std::env::var("KITH_TEST_DATABASE_URL") else {
                eprintln!("skipped: KITH_TEST_DATABASE_URL is not set");
                return None;
            };
            let name = format!("kith_test_group_{}", Uuid::new_v4().simple());
            Self::admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            let url = format!("{base}/{name}");
            Some(Database {
                admin_url,
                name,
                url,
            })
        }

        async fn admin(admin_url: &str, statement: &str) {
            let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
                .await
                .expect("connects to KITH_TEST_DATABASE_URL");
            tokio::spawn(connection);
            client.batch_execute(statement).await.expect("runs");
        }

        async fn drop(self) {
            let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            Self::admin(&self.admin_url, &statement).await;
        }
    }

    fn rows(label: &str) -> IndexRows {
        IndexRows {
            paths: vec![format!(
                "openEHR-EHR-COMPOSITION.test.v1/items[{label}]/value"
            )],
            nodes: vec![NodeRow {
                seq: 0,
                last_seq: 0,
                rm_type: "COMPOSITION",
                archetype_id: "openEHR-EHR-COMPOSITION.test.v1".to_owned(),
                parent_path: None,
                name: Some(label.to_owned()),
            }],
            values: vec![ValueRow {
                root_seq: 0,
                path: 0,
                kind: ValueKind::Text,
                num: None,
                text: Some(label.to_owned()),
                code: None,
                system: None,
                units: None,
                instant: None,
                iso8601: None,
            }],
        }
    }

    fn version(object_id: Uuid, kind: ObjectKind, number: u32, label: &str) -> NewVersion {
        NewVersion {
            object_id,
            kind,
            version: number,
            change_type: ChangeType::Creation,
            lifecycle_state: LifecycleState::Complete,
            template_id: (kind == ObjectKind::Composition).then(|| "test.v1".to_owned()),
            status: None,
            data: crate::codec::compress(label.as_bytes()).expect("compresses"),
            index: rows(label),
        }
    }

    fn contribution(ehr_id: Uuid, versions: Vec<NewVersion>) -> NewContribution {
        NewContribution {
            ehr_id,
            contribution_id: Uuid::new_v4(),
            audit: Audit {
                system_id: "kith.test".to_owned(),
                time_committed: OffsetDateTime::now_utc(),
                change_type: ChangeType::Creation,
                committer: serde_json::json!({"_type": "PARTY_IDENTIFIED", "name": "Dr Test"}),
                description: None,
            },
            versions,
        }
    }

    fn new_ehr(subject: &str) -> NewEhr {
        let ehr_id = Uuid::new_v4();
        let status = version(Uuid::new_v4(), ObjectKind::EhrStatus, 1, "status");
        NewEhr {
            ehr_id,
            system_id: "kith.test".to_owned(),
            time_created: OffsetDateTime::now_utc(),
            subject: Some(SubjectKey {
                namespace: "nhs_number".to_owned(),
                id: subject.to_owned(),
            }),
            contribution: contribution(ehr_id, vec![status]),
        }
    }

    /// A writer of its own on the store's database, to hand groups to directly.
    fn writer(store: &PostgresStore) -> Writer {
        Writer {
            pool: store.pool.clone(),
            paths: std::sync::Mutex::default(),
        }
    }

    fn queued(write: Write) -> (Queued, oneshot::Receiver<Result<()>>) {
        let (reply, outcome) = oneshot::channel();
        (Queued { write, reply }, outcome)
    }

    async fn versions(store: &PostgresStore, ehr_id: Uuid, object_id: Uuid) -> usize {
        store
            .list_versions(ehr_id, object_id)
            .await
            .expect("reads")
            .len()
    }

    /// One group holding good writes and writes that must fail, each for its own reason:
    /// the group's transaction is rolled back, every write is retried alone, and each gets
    /// the outcome it would have had alone, with nothing of the failed ones written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_in_a_group_fails_alone() {
        let Some(database) = Database::create().await else {
            return;
        };
        let store = PostgresStore::connect(&database.url)
            .await
            .expect("connects");
        let held = new_ehr("9000000009");
        let ehr_id = held.ehr_id;
        store.create_ehr(held).await.expect("creates an ehr");
        let (existing, updated) = (Uuid::new_v4(), Uuid::new_v4());
        for object_id in [existing, updated] {
            let first = version(object_id, ObjectKind::Composition, 1, "first");
            store
                .commit(contribution(ehr_id, vec![first]))
                .await
                .expect("commits");
        }

        let good_new = Uuid::new_v4();
        let good_ehr = new_ehr("9000000017");
        let good_ehr_id = good_ehr.ehr_id;
        let mut second = version(updated, ObjectKind::Composition, 2, "second");
        second.change_type = ChangeType::Modification;
        let duplicate = contribution(
            ehr_id,
            vec![version(Uuid::new_v4(), ObjectKind::Composition, 1, "dup")],
        );
        let mut duplicate_again = contribution(
            ehr_id,
            vec![version(Uuid::new_v4(), ObjectKind::Composition, 1, "dup")],
        );
        duplicate_again.contribution_id = duplicate.contribution_id;
        let unknown_ehr = Uuid::new_v4();
        let writes = vec![
            Write::Contribution(contribution(
                ehr_id,
                vec![version(good_new, ObjectKind::Composition, 1, "good")],
            )),
            Write::Contribution(contribution(
                ehr_id,
                vec![version(existing, ObjectKind::Composition, 1, "again")],
            )),
            Write::NewEhr(good_ehr),
            Write::NewEhr(new_ehr("9000000009")),
            Write::Contribution(contribution(
                unknown_ehr,
                vec![version(Uuid::new_v4(), ObjectKind::Composition, 1, "lost")],
            )),
            Write::Contribution(contribution(ehr_id, vec![second])),
            Write::Contribution(duplicate),
            Write::Contribution(duplicate_again),
        ];
        let (group, outcomes): (Vec<Queued>, Vec<_>) = writes.into_iter().map(queued).unzip();
        assert!(group.iter().all(|queued| queued.write.groupable()));
        writer(&store).commit_queued(group).await;
        let mut results = Vec::new();
        for outcome in outcomes {
            results.push(outcome.await.expect("answered"));
        }
        assert!(results[0].is_ok(), "{:?}", results[0]);
        assert!(
            matches!(
                results[1],
                Err(StoreError::VersionConflict {
                    latest: Some(1),
                    ..
                })
            ),
            "{:?}",
            results[1]
        );
        assert!(results[2].is_ok(), "{:?}", results[2]);
        assert!(
            matches!(results[3], Err(StoreError::SubjectHasEhr(_))),
            "{:?}",
            results[3]
        );
        assert!(
            matches!(results[4], Err(StoreError::EhrNotFound(id)) if id == unknown_ehr),
            "{:?}",
            results[4]
        );
        assert!(results[5].is_ok(), "{:?}", results[5]);
        assert!(results[6].is_ok(), "{:?}", results[6]);
        assert!(
            matches!(results[7], Err(StoreError::ContributionExists(_))),
            "{:?}",
            results[7]
        );

        assert_eq!(versions(&store, ehr_id, good_new).await, 1);
        assert_eq!(versions(&store, ehr_id, existing).await, 1);
        assert_eq!(versions(&store, ehr_id, updated).await, 2);
        assert!(store.get_ehr(good_ehr_id).await.expect("reads").is_some());
        assert_eq!(
            store
                .index_of(ehr_id, good_new)
                .await
                .expect("reads")
                .values
                .len(),
            1
        );
        let replaced = store.index_of(ehr_id, updated).await.expect("reads");
        assert_eq!(replaced.values.len(), 1);
        assert_eq!(replaced.values[0].text.as_deref(), Some("second"));
        // The conflicting create left the existing object's rows as they were.
        let kept = store.index_of(ehr_id, existing).await.expect("reads");
        assert_eq!(kept.values[0].text.as_deref(), Some("first"));
        drop(store);
        database.drop().await;
    }

    /// A group of good writes commits in one transaction, and everything it wrote reads back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_of_good_writes_commits_together() {
        let Some(database) = Database::create().await else {
            return;
        };
        let store = PostgresStore::connect(&database.url)
            .await
            .expect("connects");
        let ehrs: Vec<NewEhr> = (0..3)
            .map(|index| new_ehr(&format!("90000000{index}")))
            .collect();
        let ehr_ids: Vec<Uuid> = ehrs.iter().map(|ehr| ehr.ehr_id).collect();
        let mut writes: Vec<Write> = ehrs.into_iter().map(Write::NewEhr).collect();
        let mut objects = Vec::new();
        for (index, ehr_id) in ehr_ids.iter().enumerate() {
            for _ in 0..=index {
                let object_id = Uuid::new_v4();
                objects.push((*ehr_id, object_id));
                writes.push(Write::Contribution(contribution(
                    *ehr_id,
                    vec![version(object_id, ObjectKind::Composition, 1, "good")],
                )));
            }
        }
        let (group, outcomes): (Vec<Queued>, Vec<_>) = writes.into_iter().map(queued).unzip();
        assert!(writer(&store).commit_group(&group).await.expect("commits"));
        drop(outcomes);
        for (ehr_id, object_id) in objects {
            assert_eq!(versions(&store, ehr_id, object_id).await, 1);
            let rows = store.index_of(ehr_id, object_id).await.expect("reads");
            assert_eq!((rows.nodes.len(), rows.values.len()), (1, 1));
        }
        drop(store);
        database.drop().await;
    }
}
