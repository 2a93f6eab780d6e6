//! The embedded SQLite backend: one writer thread that group-commits every queued request,
//! and a small pool of read-only connections so reads never wait for it.
//!
//! Durability comes from WAL with `synchronous=FULL`: each COMMIT fsyncs the WAL. That fsync
//! is the cost of a commit, so the writer amortises it: it takes every request that queued
//! while the previous transaction was syncing and commits them in one transaction, each in
//! its own SAVEPOINT so a failing request (a version conflict, say) rolls back only itself.
//! Replies are sent only after COMMIT returns, so an acknowledged write is on disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, params};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::codec::{
    compress, compress_contribution, corrupt_uuid, decompress, highest_version, join_time,
    parse_change_type, parse_json, parse_kind, parse_lifecycle_state, sort_stored_queries,
    split_time,
};
use crate::{
    Audit, ContributionRecord, Dialect, EhrRecord, IndexRows, NewContribution, NewEhr, ObjectKind,
    QueryRows, Result, SqlQuery, StatusFacts, Store, StoreError, StoredQuery, StoredVersion,
    SubjectKey, TemplateRecord, VersionMeta, VersionSelector, VersionedObjectMeta,
};
use crate::{
    AuditFilter, AuditLog, AuditRow, ConsentRecord, OrganisationRecord, PersonMerge, PersonRecord,
    PersonSearch, Registry, RelationshipRecord,
};

/// Numbered migrations, applied in order and recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
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
    (
        4,
        "query_rows_narrower",
        include_str!("../migrations/sqlite/0004_query_rows_narrower.sql"),
    ),
    (
        5,
        "ehr_subject_id",
        include_str!("../migrations/sqlite/0005_ehr_subject_id.sql"),
    ),
    (
        6,
        "query_object_archetype",
        include_str!("../migrations/sqlite/0006_query_object_archetype.sql"),
    ),
    (
        7,
        "query_node_template",
        include_str!("../migrations/sqlite/0007_query_node_template.sql"),
    ),
    (
        8,
        "registry_and_audit",
        include_str!("../migrations/sqlite/0008_registry_and_audit.sql"),
    ),
    (
        9,
        "audit_record",
        include_str!("../migrations/sqlite/0009_audit_record.sql"),
    ),
    (
        10,
        "registry_generation",
        include_str!("../migrations/sqlite/0010_registry_generation.sql"),
    ),
];

/// An upper bound on one group commit, so one transaction's WAL growth stays bounded.
const MAX_BATCH: usize = 1024;
/// Idle read connections kept open; more are opened on demand and closed after use.
const MAX_IDLE_READERS: usize = 8;

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

fn is_constraint_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::ConstraintViolation)
}

fn blocking_failed(error: tokio::task::JoinError) -> StoreError {
    StoreError::Database(format!("a blocking database task failed: {error}"))
}

fn writer_stopped() -> StoreError {
    StoreError::Database("the sqlite writer has stopped".to_owned())
}

pub struct SqliteStore {
    path: PathBuf,
    writer: mpsc::Sender<WriteRequest>,
    readers: Arc<ReaderPool>,
    /// Never sent on: dropping it with the store tells the checkpointer to stop.
    _checkpointer: mpsc::Sender<()>,
    /// `query_path` ids read so far (they never change).
    path_ids: Mutex<crate::PathIds>,
}

/// A write, with its documents already compressed by the caller.
enum WriteOp {
    CreateEhr(NewEhr),
    Commit(NewContribution),
    DeleteEhr(Uuid),
    PutTemplate(TemplateRecord),
    DeleteTemplate(String),
    ReplaceTemplate(TemplateRecord),
    PutStoredQuery(StoredQuery),
    DeleteStoredQuery(String, Option<String>),
    Registry(registry::RegistryWrite),
}

impl WriteOp {
    /// The versions a write commits, if it commits any.
    fn contribution(&self) -> Option<&NewContribution> {
        match self {
            WriteOp::CreateEhr(ehr) => Some(&ehr.contribution),
            WriteOp::Commit(contribution) => Some(contribution),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq)]
enum WriteOutcome {
    Done,
    Existed(bool),
    Count(u64),
}

struct WriteRequest {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteOutcome>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let path = path.to_path_buf();
        let writer_path = path.clone();
        let connection = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let connection = open_writer(&writer_path)?;
            migrate(&connection)?;
            optimize(&connection, true)?;
            Ok(connection)
        })
        .await
        .map_err(blocking_failed)??;
        let (writer, requests) = mpsc::channel();
        let restart_wanted = Arc::new(AtomicBool::new(false));
        let writer_restart_wanted = Arc::clone(&restart_wanted);
        std::thread::Builder::new()
            .name("kith-sqlite-writer".to_owned())
            .spawn(move || writer_loop(connection, requests, &writer_restart_wanted))
            .map_err(|error| {
                StoreError::Database(format!("cannot start the sqlite writer: {error}"))
            })?;
        let checkpoint_path = path.clone();
        let checkpoint_connection =
            tokio::task::spawn_blocking(move || open_checkpointer(&checkpoint_path))
                .await
                .map_err(blocking_failed)??;
        let (checkpointer, stop) = mpsc::channel();
        std::thread::Builder::new()
            .name("kith-sqlite-checkpointer".to_owned())
            .spawn(move || checkpoint_loop(checkpoint_connection, stop, &restart_wanted))
            .map_err(|error| {
                StoreError::Database(format!("cannot start the sqlite checkpointer: {error}"))
            })?;
        let readers = Arc::new(ReaderPool {
            path: path.clone(),
            idle: Mutex::new(Vec::new()),
        });
        Ok(SqliteStore {
            path,
            writer,
            readers,
            _checkpointer: checkpointer,
            path_ids: Mutex::default(),
        })
    }

    async fn write(&self, op: WriteOp) -> Result<WriteOutcome> {
        let (reply, response) = oneshot::channel();
        self.writer
            .send(WriteRequest { op, reply })
            .map_err(|_| writer_stopped())?;
        response.await.map_err(|_| writer_stopped())?
    }

    async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let result = read(&connection);
            readers.give_back(connection);
            result
        })
        .await
        .map_err(blocking_failed)?
    }
}

fn open_writer(path: &Path) -> Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    // Switching a new file to WAL upgrades a shared lock, and SQLite answers "busy" at once,
    // without waiting, when another connection is doing the same: two servers starting
    // together on a fresh file. So wait here instead.
    let mut attempts = 0;
    let journal_mode: String = loop {
        match connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == ErrorCode::DatabaseBusy && attempts < 500 =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other?,
        }
    };
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!(
            "cannot switch the database to wal (journal mode is {journal_mode})"
        )));
    }
    // FULL, not the usual NORMAL for WAL: NORMAL may lose the last commits on power loss,
    // and an acknowledged commit must survive it. Group commit pays for the extra fsync.
    // No automatic checkpoints: they would run inside the writer's COMMIT, adding the
    // database file's fsync to some commits' latency. The checkpointer thread does them.
    // A 256 MiB page cache (it fills only as pages are used): the query rows' index inserts
    // land all over indexes of hundreds of megabytes once the store holds a few hundred
    // thousand compositions, and each page missing from the cache is a read system call.
    connection.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -262144;
         PRAGMA temp_store = MEMORY;",
    )?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

/// How often the checkpointer copies the WAL back into the database file. A checkpoint
/// writes each page once, however many transactions changed it since the last one, so
/// under a heavy write load a longer interval writes less: at 250 ms, `kith seed` wrote
/// 6.3 GB of checkpoints for 199,000 compositions; at 5 s, 3.4 GB (BENCHMARKS.md, "Bulk
/// load").
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

fn open_checkpointer(path: &Path) -> Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")?;
    Ok(connection)
}

/// WAL length (in pages) past which the writer is asked to let the WAL restart: 1 GiB,
/// so that the checkpoint interval, not the WAL's length, decides when pages are copied.
const WAL_RESTART_FRAMES: i64 = 262_144;

/// Checkpoints the WAL in the background. PASSIVE never blocks the writer or readers, so the
/// copying of pages into the database file and its fsync happen off the commit path.
///
/// The WAL restarts from its beginning only when a write transaction starts with every
/// frame already copied, which a background checkpoint racing a busy writer rarely sees.
/// So when the WAL gets long, it asks the writer to checkpoint once itself, between two
/// batches: by then little is left to copy.
/// How often the planner's statistics are brought up to date (`PRAGMA optimize`).
const OPTIMIZE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Brings the planner's statistics up to date where they are missing or stale, reading a
/// bounded sample of each index. Without them SQLite cannot tell that 20 people named by
/// subject are fewer than every encounter composition, and a ward query scans the lot.
fn optimize(connection: &Connection, all_tables: bool) -> rusqlite::Result<()> {
    connection.execute_batch(if all_tables {
        "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;"
    } else {
        "PRAGMA analysis_limit = 1000; PRAGMA optimize;"
    })
}

fn checkpoint_loop(connection: Connection, stop: mpsc::Receiver<()>, restart_wanted: &AtomicBool) {
    let mut last_optimize = std::time::Instant::now();
    loop {
        if last_optimize.elapsed() >= OPTIMIZE_INTERVAL {
            if let Err(error) = optimize(&connection, false) {
                tracing::warn!(%error, "sqlite optimize failed");
            }
            last_optimize = std::time::Instant::now();
        }
        let stopping = !matches!(
            stop.recv_timeout(CHECKPOINT_INTERVAL),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        let checkpoint: rusqlite::Result<(i64, i64, i64)> =
            connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            });
        match checkpoint {
            Ok((_, frames, _)) if frames >= WAL_RESTART_FRAMES => {
                restart_wanted.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sqlite checkpoint failed"),
        }
        if stopping {
            return;
        }
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;")?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

fn migrate(connection: &Connection) -> Result<()> {
    // IMMEDIATE takes the write lock first, so two processes opening one file cannot both
    // apply the same migration.
    connection.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER NOT NULL PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL
         );",
    )?;
    let result = (|| -> Result<()> {
        for (version, name, sql) in MIGRATIONS {
            let applied: i64 = connection.query_row(
                "SELECT count(*) FROM schema_migrations WHERE version = ?1",
                [version],
                |row| row.get(0),
            )?;
            if applied == 0 {
                connection.execute_batch(sql)?;
                connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)
                     VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    params![version, name],
                )?;
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            connection.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn take(&self) -> Result<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            // Opening is cheap next to waiting: a burst of reads opens extra connections.
            None => open_reader(&self.path),
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(connection);
        }
    }
}

fn writer_loop(
    connection: Connection,
    requests: mpsc::Receiver<WriteRequest>,
    restart_wanted: &AtomicBool,
) {
    let mut paths = PathIds::default();
    // Ends when the store (the only sender) is dropped.
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<WriteOp>, Vec<_>) = batch
            .into_iter()
            .map(|request| (request.op, request.reply))
            .unzip();
        let started = std::time::Instant::now();
        let results = apply_batch(&connection, &mut paths, &ops);
        tracing::trace!(requests = ops.len(), elapsed = ?started.elapsed(), "sqlite group commit");
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that gave up waiting does not undo its committed write.
            let _ = reply.send(result);
        }
        if restart_wanted.swap(false, Ordering::Relaxed) {
            let checkpoint = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            if let Err(error) = checkpoint {
                tracing::warn!(%error, "sqlite checkpoint failed");
            }
        }
    }
}

/// The writer's cache of interned query paths (`query_path`), so a commit looks up only
/// paths it has not seen. Paths are interned before a request's savepoint, so only the
/// failure of a whole transaction can undo an insert, and that clears the cache.
#[derive(Default)]
struct PathIds {
    ids: std::collections::HashMap<String, i64>,
}

impl PathIds {
    /// The ids of `rows.paths`, then of the path keys of the nodes' archetypes (the
    /// archetype id itself) in node order, inserting the keys not yet known.
    fn intern(&mut self, connection: &Connection, rows: &IndexRows) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(rows.paths.len() + rows.nodes.len());
        let archetypes = rows.nodes.iter().map(|node| &node.archetype_id);
        for path in rows.paths.iter().chain(archetypes) {
            if let Some(id) = self.ids.get(path) {
                ids.push(*id);
                continue;
            }
            let (archetype_id, rel_path) = aql::index::split_path_key(path);
            connection
                .prepare_cached(
                    "INSERT OR IGNORE INTO query_path (path, archetype_id, rel_path)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute([path, archetype_id, rel_path])?;
            let id: i64 = connection
                .prepare_cached("SELECT path_id FROM query_path WHERE path = ?1")?
                .query_row([path], |row| row.get(0))?;
            self.ids.insert(path.clone(), id);
            ids.push(id);
        }
        Ok(ids)
    }

    /// Path ids of every version of a write that commits versions, in version order.
    fn intern_op(&mut self, connection: &Connection, op: &WriteOp) -> Result<Vec<Vec<i64>>> {
        let Some(contribution) = op.contribution() else {
            return Ok(Vec::new());
        };
        contribution
            .versions
            .iter()
            .map(|version| self.intern(connection, &version.index))
            .collect()
    }
}

/// Applies `ops` in one transaction, each inside its own savepoint, and returns one result
/// per op once the transaction has committed (or failed as a whole).
fn apply_batch(
    connection: &Connection,
    paths: &mut PathIds,
    ops: &[WriteOp],
) -> Vec<Result<WriteOutcome>> {
    // Every request fails with the error that ended the whole transaction (an IO error,
    // say, after which SQLite may already have rolled it back). Paths interned in it are
    // gone with it.
    fn all_failed(
        paths: &mut PathIds,
        ops: &[WriteOp],
        error: &dyn std::fmt::Display,
    ) -> Vec<Result<WriteOutcome>> {
        paths.ids.clear();
        let message = error.to_string();
        ops.iter()
            .map(|_| Err(StoreError::Database(message.clone())))
            .collect()
    }
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        return all_failed(paths, ops, &error);
    }
    let mut results = Vec::with_capacity(ops.len());
    // The query rows of the requests that succeeded so far, written after their savepoints.
    let mut pending = Vec::new();
    for op in ops {
        // An erasure must see every row written before it.
        if matches!(op, WriteOp::DeleteEhr(_))
            && let Err(error) = write_index_rows(connection, &mut pending)
        {
            let _ = connection.execute_batch("ROLLBACK");
            return all_failed(paths, ops, &error);
        }
        let path_ids = match paths.intern_op(connection, op) {
            Ok(path_ids) => path_ids,
            Err(error) => {
                let _ = connection.execute_batch("ROLLBACK");
                return all_failed(paths, ops, &error);
            }
        };
        if let Err(error) = connection.execute_batch("SAVEPOINT request") {
            let _ = connection.execute_batch("ROLLBACK");
            return all_failed(paths, ops, &error);
        }
        let result = apply_op(connection, op);
        let close = if result.is_ok() {
            "RELEASE request"
        } else {
            "ROLLBACK TO request; RELEASE request"
        };
        if let Err(error) = connection.execute_batch(close) {
            let _ = connection.execute_batch("ROLLBACK");
            return all_failed(paths, ops, &error);
        }
        if result.is_ok()
            && let Some(contribution) = op.contribution()
        {
            pending.push((contribution, path_ids));
        }
        results.push(result);
    }
    if let Err(error) = write_index_rows(connection, &mut pending) {
        let _ = connection.execute_batch("ROLLBACK");
        return all_failed(paths, ops, &error);
    }
    match connection.execute_batch("COMMIT") {
        Ok(()) => results,
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            paths.ids.clear();
            let message = error.to_string();
            // Requests that failed on their own keep their error: they changed nothing either way.
            results
                .into_iter()
                .map(|result| result.and(Err(StoreError::Database(message.clone()))))
                .collect()
        }
    }
}

/// Applies one write, except its versions' query rows (see [`write_index_rows`]).
fn apply_op(connection: &Connection, op: &WriteOp) -> Result<WriteOutcome> {
    match op {
        WriteOp::CreateEhr(ehr) => create_ehr(connection, ehr).map(|()| WriteOutcome::Done),
        WriteOp::Commit(contribution) => {
            commit(connection, contribution).map(|()| WriteOutcome::Done)
        }
        WriteOp::DeleteEhr(ehr_id) => delete_ehr(connection, *ehr_id).map(WriteOutcome::Existed),
        WriteOp::PutTemplate(template) => {
            put_template(connection, template).map(|()| WriteOutcome::Done)
        }
        WriteOp::DeleteTemplate(template_id) => {
            delete_template(connection, template_id).map(WriteOutcome::Existed)
        }
        WriteOp::ReplaceTemplate(template) => {
            replace_template(connection, template).map(WriteOutcome::Existed)
        }
        WriteOp::PutStoredQuery(query) => {
            put_stored_query(connection, query).map(|()| WriteOutcome::Done)
        }
        WriteOp::DeleteStoredQuery(name, version) => {
            delete_stored_query(connection, name, version.as_deref()).map(WriteOutcome::Count)
        }
        WriteOp::Registry(write) => registry::apply(connection, write),
    }
}

fn create_ehr(connection: &Connection, ehr: &NewEhr) -> Result<()> {
    let ehr_status_id = crate::new_ehr_status_id(ehr)?;
    let (created_micros, created_offset) = split_time(ehr.time_created);
    let inserted = connection
        .prepare_cached(
            "INSERT INTO ehr (ehr_id, system_id, time_created, time_created_offset,
                              ehr_status_id, directory_id, subject_namespace, subject_id,
                              is_modifiable)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8)",
        )?
        .execute(params![
            ehr.ehr_id.as_bytes(),
            ehr.system_id,
            created_micros,
            created_offset,
            ehr_status_id.as_bytes(),
            ehr.subject.as_ref().map(|subject| &subject.namespace),
            ehr.subject.as_ref().map(|subject| &subject.id),
            crate::new_ehr_is_modifiable(ehr),
        ]);
    match inserted {
        Err(error) if is_constraint_violation(&error) => {
            return Err(StoreError::EhrExists(ehr.ehr_id));
        }
        other => other?,
    };
    if let Some(subject) = &ehr.subject {
        let inserted = connection
            .prepare_cached(
                "INSERT INTO ehr_subject (namespace, subject_id, ehr_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                subject.namespace,
                subject.id,
                ehr.ehr_id.as_bytes()
            ]);
        match inserted {
            Err(error) if is_constraint_violation(&error) => {
                return Err(StoreError::SubjectHasEhr(subject.clone()));
            }
            other => other?,
        };
    }
    commit(connection, &ehr.contribution)
}

fn commit(connection: &Connection, contribution: &NewContribution) -> Result<()> {
    let ehr_id = contribution.ehr_id;
    let mut found: Option<(Option<Vec<u8>>, bool)> = None;
    {
        let mut statement = connection
            .prepare_cached("SELECT directory_id, is_modifiable FROM ehr WHERE ehr_id = ?1")?;
        let mut rows = statement.query([ehr_id.as_bytes()])?;
        if let Some(row) = rows.next()? {
            found = Some((row.get(0)?, row.get(1)?));
        }
    }
    let Some((directory, is_modifiable)) = found else {
        return Err(StoreError::EhrNotFound(ehr_id));
    };
    if !is_modifiable && touches_more_than_the_status(contribution) {
        return Err(StoreError::EhrNotModifiable(ehr_id));
    }
    let mut directory = directory
        .map(|bytes| Uuid::from_slice(&bytes).map_err(corrupt_uuid))
        .transpose()?;

    let audit = &contribution.audit;
    let (committed_micros, committed_offset) = split_time(audit.time_committed);
    let committer = audit.committer.to_string();
    let description = audit.description.as_ref().map(|value| value.to_string());
    let inserted = connection
        .prepare_cached(
            "INSERT INTO contribution (ehr_id, contribution_id, system_id, time_committed,
                                       time_committed_offset, change_type, committer, description)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            ehr_id.as_bytes(),
            contribution.contribution_id.as_bytes(),
            audit.system_id,
            committed_micros,
            committed_offset,
            audit.change_type.code(),
            committer,
            description,
        ]);
    match inserted {
        Err(error) if is_constraint_violation(&error) => {
            return Err(StoreError::ContributionExists(contribution.contribution_id));
        }
        other => other?,
    };

    for version in &contribution.versions {
        let object_id = version.object_id;
        let existing: Option<(String, u32)> = {
            let mut statement = connection.prepare_cached(
                "SELECT kind, latest_version FROM versioned_object
                 WHERE ehr_id = ?1 AND object_id = ?2",
            )?;
            let mut rows = statement.query([ehr_id.as_bytes(), object_id.as_bytes()])?;
            match rows.next()? {
                Some(row) => Some((row.get(0)?, row.get(1)?)),
                None => None,
            }
        };
        match existing {
            Some((kind, latest)) => {
                let actual = parse_kind(&kind)?;
                if actual != version.kind {
                    return Err(StoreError::KindMismatch {
                        object_id,
                        expected: version.kind,
                        actual,
                    });
                }
                if latest.checked_add(1) != Some(version.version) {
                    return Err(StoreError::VersionConflict {
                        object_id,
                        version: version.version,
                        latest: Some(latest),
                    });
                }
                connection
                    .prepare_cached(
                        "UPDATE versioned_object SET latest_version = ?3
                         WHERE ehr_id = ?1 AND object_id = ?2",
                    )?
                    .execute(params![
                        ehr_id.as_bytes(),
                        object_id.as_bytes(),
                        version.version
                    ])?;
            }
            None => {
                if version.version != 1 {
                    return Err(StoreError::VersionConflict {
                        object_id,
                        version: version.version,
                        latest: None,
                    });
                }
                if version.kind == ObjectKind::Folder {
                    if let Some(existing_directory) = directory {
                        return Err(StoreError::DirectoryExists(existing_directory));
                    }
                    connection
                        .prepare_cached("UPDATE ehr SET directory_id = ?2 WHERE ehr_id = ?1")?
                        .execute([ehr_id.as_bytes(), object_id.as_bytes()])?;
                    directory = Some(object_id);
                }
                connection
                    .prepare_cached(
                        "INSERT INTO versioned_object (ehr_id, object_id, kind, time_created,
                                                       time_created_offset, latest_version)
                         VALUES (?1, ?2, ?3, ?4, ?5, 1)",
                    )?
                    .execute(params![
                        ehr_id.as_bytes(),
                        object_id.as_bytes(),
                        version.kind.as_str(),
                        committed_micros,
                        committed_offset,
                    ])?;
            }
        }
        if version.kind == ObjectKind::EhrStatus
            && version.version > 1
            && let Some(facts) = &version.status
        {
            apply_status_facts(connection, ehr_id, facts)?;
        }
        connection
            .prepare_cached(
                "INSERT INTO version (ehr_id, object_id, version, kind, contribution_id,
                                      time_committed, change_type, lifecycle_state, template_id, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                ehr_id.as_bytes(),
                object_id.as_bytes(),
                version.version,
                version.kind.as_str(),
                contribution.contribution_id.as_bytes(),
                committed_micros,
                version.change_type.code(),
                version.lifecycle_state.code(),
                version.template_id,
                version.data,
            ])?;
        check_index_rows(&version.index)?;
    }
    Ok(())
}

/// Refuses index rows that name a path they do not list, so that writing them after the
/// request's savepoint (see [`write_index_rows`]) cannot fail for the request's own fault.
fn check_index_rows(rows: &IndexRows) -> Result<()> {
    let listed = |position: u32| (position as usize) < rows.paths.len();
    let parents = rows.nodes.iter().filter_map(|node| node.parent_path);
    match parents
        .chain(rows.values.iter().map(|value| value.path))
        .find(|position| !listed(*position))
    {
        Some(position) => Err(StoreError::Database(format!(
            "index row names path {position}, which is not listed"
        ))),
        None => Ok(()),
    }
}

/// Writes the query rows of the committed requests in `pending`, in commit order, and
/// empties it. This runs outside any request's savepoint: a page changed inside a
/// savepoint is first copied to the statement journal, and the index rows change pages
/// all over the value indexes: that copying was a quarter of the writer's instructions.
/// The rows of a request are written only once its savepoint was released, so a failed
/// request leaves none; a failure here fails the whole transaction.
fn write_index_rows(
    connection: &Connection,
    pending: &mut Vec<(&NewContribution, Vec<Vec<i64>>)>,
) -> Result<()> {
    for (contribution, path_ids) in pending.drain(..) {
        for (version, version_path_ids) in contribution.versions.iter().zip(&path_ids) {
            replace_index_rows(connection, contribution.ehr_id, version, version_path_ids)?;
        }
    }
    Ok(())
}

/// Replaces the query rows of the version's object with the version's own.
fn replace_index_rows(
    connection: &Connection,
    ehr_id: Uuid,
    version: &crate::NewVersion,
    path_ids: &[i64],
) -> Result<()> {
    let key = [ehr_id.as_bytes(), version.object_id.as_bytes()];
    if version.version > 1 {
        connection
            .prepare_cached("DELETE FROM query_node WHERE ehr_id = ?1 AND object_id = ?2")?
            .execute(key)?;
        connection
            .prepare_cached("DELETE FROM query_value WHERE ehr_id = ?1 AND object_id = ?2")?
            .execute(key)?;
    }
    let rows = &version.index;
    let path_id = |position: u32| -> Result<i64> {
        path_ids.get(position as usize).copied().ok_or_else(|| {
            StoreError::Database(format!(
                "index row names path {position}, which is not listed"
            ))
        })
    };
    let mut insert_node = connection.prepare_cached(
        "INSERT INTO query_node (ehr_id, object_id, seq, last_seq, rm_type, archetype_path_id,
                                 parent_path_id, name, template_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (position, node) in rows.nodes.iter().enumerate() {
        let archetype = rows.paths.len() + position;
        insert_node.execute(params![
            key[0],
            key[1],
            node.seq,
            node.last_seq,
            node.rm_type,
            path_ids.get(archetype).ok_or_else(|| {
                StoreError::Database(format!("index node {position} has no archetype key"))
            })?,
            node.parent_path.map(path_id).transpose()?,
            node.name,
            // The composition's template, on its root (migration 0007).
            if node.seq == 0 {
                version.template_id.as_deref()
            } else {
                None
            },
        ])?;
    }
    // Every value row names its object's root archetype (migration 0006).
    let object_path_id = match rows.nodes.iter().position(|node| node.seq == 0) {
        Some(position) => path_ids.get(rows.paths.len() + position).copied(),
        None => None,
    };
    let mut insert_value = connection.prepare_cached(
        "INSERT INTO query_value (ehr_id, object_id, item, root_seq, path_id, kind, num, text,
                                  code, system, units, instant, iso8601, object_path_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for (item, value) in rows.values.iter().enumerate() {
        insert_value.execute(params![
            key[0],
            key[1],
            item,
            value.root_seq,
            path_id(value.path)?,
            value.kind.code(),
            value.num,
            value.text,
            value.code,
            value.system,
            value.units,
            value.instant,
            value.iso8601,
            object_path_id,
        ])?;
    }
    Ok(())
}

/// Reads an object's query rows back into [`IndexRows`], paths in order of first use.
fn read_index_rows(connection: &Connection, ehr_id: Uuid, object_id: Uuid) -> Result<IndexRows> {
    let key = [ehr_id.as_bytes(), object_id.as_bytes()];
    let mut rows = IndexRows::default();
    let mut positions = std::collections::HashMap::new();
    let mut position_of = |rows: &mut IndexRows, path: String| -> u32 {
        *positions.entry(path.clone()).or_insert_with(|| {
            rows.paths.push(path);
            u32::try_from(rows.paths.len() - 1).unwrap_or(u32::MAX)
        })
    };
    let mut statement = connection.prepare_cached(
        "SELECT n.seq, n.last_seq, n.rm_type, a.path, p.path, n.name
         FROM query_node n JOIN query_path a ON a.path_id = n.archetype_path_id
         LEFT JOIN query_path p ON p.path_id = n.parent_path_id
         WHERE n.ehr_id = ?1 AND n.object_id = ?2 ORDER BY n.seq",
    )?;
    let mut found = statement.query(key)?;
    while let Some(row) = found.next()? {
        let rm_type: String = row.get(2)?;
        let parent_path: Option<String> = row.get(4)?;
        let node = aql::index::NodeRow {
            seq: row.get(0)?,
            last_seq: row.get(1)?,
            rm_type: crate::codec::rm_type_name(&rm_type)?,
            archetype_id: row.get(3)?,
            parent_path: parent_path.map(|path| position_of(&mut rows, path)),
            name: row.get(5)?,
        };
        rows.nodes.push(node);
    }
    let mut statement = connection.prepare_cached(
        "SELECT v.root_seq, p.path, v.kind, v.num, v.text, v.code, v.system, v.units, v.instant,
                v.iso8601
         FROM query_value v JOIN query_path p ON p.path_id = v.path_id
         WHERE v.ehr_id = ?1 AND v.object_id = ?2 ORDER BY v.item",
    )?;
    let mut found = statement.query(key)?;
    while let Some(row) = found.next()? {
        let path: String = row.get(1)?;
        let kind: u8 = row.get(2)?;
        let value = aql::index::ValueRow {
            root_seq: row.get(0)?,
            path: position_of(&mut rows, path),
            kind: crate::codec::parse_value_kind(kind)?,
            num: row.get(3)?,
            text: row.get(4)?,
            code: row.get(5)?,
            system: row.get(6)?,
            units: row.get(7)?,
            instant: row.get(8)?,
            iso8601: row.get(9)?,
        };
        rows.values.push(value);
    }
    Ok(rows)
}

/// Whether a contribution holds anything but EHR_STATUS versions (refused while the EHR may
/// not be modified; the status itself stays writable so the flag can be turned back).
pub(crate) fn touches_more_than_the_status(contribution: &NewContribution) -> bool {
    contribution
        .versions
        .iter()
        .any(|version| version.kind != ObjectKind::EhrStatus)
}

/// Records what a new EHR_STATUS version says: its modifiability, and its subject in the
/// one-EHR-per-subject lookup.
fn apply_status_facts(connection: &Connection, ehr_id: Uuid, facts: &StatusFacts) -> Result<()> {
    connection
        .prepare_cached("UPDATE ehr SET is_modifiable = ?2 WHERE ehr_id = ?1")?
        .execute(params![ehr_id.as_bytes(), facts.is_modifiable])?;
    let subject = facts.subject.as_ref();
    let current: (Option<String>, Option<String>) = connection
        .prepare_cached("SELECT subject_namespace, subject_id FROM ehr WHERE ehr_id = ?1")?
        .query_row([ehr_id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let current = match current {
        (Some(namespace), Some(id)) => Some(SubjectKey { namespace, id }),
        _ => None,
    };
    if current.as_ref() == subject {
        return Ok(());
    }
    if let Some(current) = &current {
        connection
            .prepare_cached(
                "DELETE FROM ehr_subject WHERE namespace = ?1 AND subject_id = ?2 AND ehr_id = ?3",
            )?
            .execute(params![current.namespace, current.id, ehr_id.as_bytes()])?;
    }
    if let Some(subject) = subject {
        let inserted = connection
            .prepare_cached(
                "INSERT INTO ehr_subject (namespace, subject_id, ehr_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![subject.namespace, subject.id, ehr_id.as_bytes()]);
        match inserted {
            Err(error) if is_constraint_violation(&error) => {
                return Err(StoreError::SubjectHasEhr(subject.clone()));
            }
            other => other?,
        };
    }
    connection
        .prepare_cached("UPDATE ehr SET subject_namespace = ?2, subject_id = ?3 WHERE ehr_id = ?1")?
        .execute(params![
            ehr_id.as_bytes(),
            subject.map(|subject| &subject.namespace),
            subject.map(|subject| &subject.id),
        ])?;
    Ok(())
}

fn delete_ehr(connection: &Connection, ehr_id: Uuid) -> Result<bool> {
    let subject: Option<(Option<String>, Option<String>)> = {
        let mut statement = connection
            .prepare_cached("SELECT subject_namespace, subject_id FROM ehr WHERE ehr_id = ?1")?;
        let mut rows = statement.query([ehr_id.as_bytes()])?;
        match rows.next()? {
            Some(row) => Some((row.get(0)?, row.get(1)?)),
            None => None,
        }
    };
    let Some(subject) = subject else {
        return Ok(false);
    };
    if let (Some(namespace), Some(subject_id)) = subject {
        connection
            .prepare_cached("DELETE FROM ehr_subject WHERE namespace = ?1 AND subject_id = ?2")?
            .execute([namespace, subject_id])?;
    }
    // The person registered with the EHR goes with it (the audit trail keeps what was done).
    connection
        .prepare_cached(
            "DELETE FROM person_identifier WHERE person_id IN
                 (SELECT person_id FROM person WHERE ehr_id = ?1)",
        )?
        .execute([ehr_id.as_bytes()])?;
    for sql in [
        "DELETE FROM person WHERE ehr_id = ?1",
        "DELETE FROM care_relationship WHERE ehr_id = ?1",
        "DELETE FROM consent_rule WHERE ehr_id = ?1",
        "DELETE FROM consent_directive WHERE ehr_id = ?1",
        "DELETE FROM query_value WHERE ehr_id = ?1",
        "DELETE FROM query_node WHERE ehr_id = ?1",
        "DELETE FROM version WHERE ehr_id = ?1",
        "DELETE FROM versioned_object WHERE ehr_id = ?1",
        "DELETE FROM contribution WHERE ehr_id = ?1",
        "DELETE FROM ehr WHERE ehr_id = ?1",
    ] {
        connection
            .prepare_cached(sql)?
            .execute([ehr_id.as_bytes()])?;
    }
    Ok(true)
}

fn put_template(connection: &Connection, template: &TemplateRecord) -> Result<()> {
    let (created_micros, created_offset) = split_time(template.created_at);
    let inserted = connection
        .prepare_cached(
            "INSERT INTO template (template_id, concept, archetype_id, created_at,
                                   created_at_offset, opt)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            template.template_id,
            template.concept,
            template.archetype_id,
            created_micros,
            created_offset,
            template.opt,
        ]);
    match inserted {
        Err(error) if is_constraint_violation(&error) => {
            Err(StoreError::TemplateExists(template.template_id.clone()))
        }
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

fn delete_template(connection: &Connection, template_id: &str) -> Result<bool> {
    let in_use = connection
        .prepare_cached("SELECT 1 FROM version WHERE template_id = ?1 LIMIT 1")?
        .exists([template_id])?;
    if in_use {
        return Err(StoreError::TemplateInUse(template_id.to_owned()));
    }
    let deleted = connection
        .prepare_cached("DELETE FROM template WHERE template_id = ?1")?
        .execute([template_id])?;
    Ok(deleted > 0)
}

fn replace_template(connection: &Connection, template: &TemplateRecord) -> Result<bool> {
    // The writer thread is the only writer, so the check and the update cannot interleave
    // with a commit that names the template.
    let in_use = connection
        .prepare_cached("SELECT 1 FROM version WHERE template_id = ?1 LIMIT 1")?
        .exists([&template.template_id])?;
    if in_use {
        return Err(StoreError::TemplateInUse(template.template_id.clone()));
    }
    let updated = connection
        .prepare_cached(
            "UPDATE template SET concept = ?2, archetype_id = ?3, opt = ?4 WHERE template_id = ?1",
        )?
        .execute(params![
            template.template_id,
            template.concept,
            template.archetype_id,
            template.opt,
        ])?;
    Ok(updated > 0)
}

fn put_stored_query(connection: &Connection, query: &StoredQuery) -> Result<()> {
    let (saved_micros, saved_offset) = split_time(query.saved);
    let inserted = connection
        .prepare_cached(
            "INSERT INTO stored_query (name, version, query_type, text, saved, saved_offset)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            query.name,
            query.version,
            query.query_type,
            query.text,
            saved_micros,
            saved_offset,
        ]);
    match inserted {
        Err(error) if is_constraint_violation(&error) => Err(StoreError::StoredQueryExists(
            query.name.clone(),
            query.version.clone(),
        )),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

fn delete_stored_query(connection: &Connection, name: &str, version: Option<&str>) -> Result<u64> {
    let deleted = match version {
        Some(version) => connection
            .prepare_cached("DELETE FROM stored_query WHERE name = ?1 AND version = ?2")?
            .execute([name, version])?,
        None => connection
            .prepare_cached("DELETE FROM stored_query WHERE name = ?1")?
            .execute([name])?,
    };
    Ok(deleted as u64)
}

fn uuid_at(row: &Row<'_>, index: usize) -> Result<Uuid> {
    let bytes: Vec<u8> = row.get(index)?;
    Uuid::from_slice(&bytes).map_err(corrupt_uuid)
}

fn optional_uuid_at(row: &Row<'_>, index: usize) -> Result<Option<Uuid>> {
    let bytes: Option<Vec<u8>> = row.get(index)?;
    bytes
        .map(|bytes| Uuid::from_slice(&bytes).map_err(corrupt_uuid))
        .transpose()
}

const EHR_COLUMNS: &str = "ehr_id, system_id, time_created, time_created_offset, ehr_status_id, \
                           directory_id, subject_namespace, subject_id";

fn ehr_from_row(row: &Row<'_>) -> Result<EhrRecord> {
    let namespace: Option<String> = row.get(6)?;
    let subject_id: Option<String> = row.get(7)?;
    Ok(EhrRecord {
        ehr_id: uuid_at(row, 0)?,
        system_id: row.get(1)?,
        time_created: join_time(row.get(2)?, row.get(3)?)?,
        ehr_status_id: uuid_at(row, 4)?,
        directory_id: optional_uuid_at(row, 5)?,
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

fn version_meta_from_row(row: &Row<'_>, ehr_id: Uuid) -> Result<VersionMeta> {
    let kind: String = row.get(2)?;
    let change_type: String = row.get(4)?;
    let lifecycle_state: String = row.get(5)?;
    let committer: String = row.get(10)?;
    let description: Option<String> = row.get(11)?;
    Ok(VersionMeta {
        ehr_id,
        object_id: uuid_at(row, 0)?,
        kind: parse_kind(&kind)?,
        version: row.get(1)?,
        contribution_id: uuid_at(row, 3)?,
        audit: Audit {
            system_id: row.get(7)?,
            time_committed: join_time(row.get(8)?, row.get(9)?)?,
            change_type: parse_change_type(&change_type)?,
            committer: parse_json(&committer)?,
            description: description.as_deref().map(parse_json).transpose()?,
        },
        lifecycle_state: parse_lifecycle_state(&lifecycle_state)?,
        template_id: row.get(6)?,
    })
}

fn stored_query_from_row(row: &Row<'_>) -> Result<StoredQuery> {
    Ok(StoredQuery {
        name: row.get(0)?,
        version: row.get(1)?,
        query_type: row.get(2)?,
        text: row.get(3)?,
        saved: join_time(row.get(4)?, row.get(5)?)?,
    })
}

fn read_ehr(connection: &Connection, ehr_id: Uuid) -> Result<Option<EhrRecord>> {
    let mut statement =
        connection.prepare_cached(&format!("SELECT {EHR_COLUMNS} FROM ehr WHERE ehr_id = ?1"))?;
    let mut rows = statement.query([ehr_id.as_bytes()])?;
    rows.next()?.map(ehr_from_row).transpose()
}

#[async_trait]
impl Store for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn create_ehr(&self, ehr: NewEhr) -> Result<()> {
        let contribution = compress_contribution(ehr.contribution)?;
        let ehr = NewEhr {
            contribution,
            ..ehr
        };
        self.write(WriteOp::CreateEhr(ehr)).await.map(|_| ())
    }

    async fn get_ehr(&self, ehr_id: Uuid) -> Result<Option<EhrRecord>> {
        self.read(move |connection| read_ehr(connection, ehr_id))
            .await
    }

    async fn find_ehr_by_subject(&self, subject: &SubjectKey) -> Result<Option<EhrRecord>> {
        let subject = subject.clone();
        self.read(move |connection| {
            let ehr_id = {
                let mut statement = connection.prepare_cached(
                    "SELECT ehr_id FROM ehr_subject WHERE namespace = ?1 AND subject_id = ?2",
                )?;
                let mut rows = statement.query([&subject.namespace, &subject.id])?;
                match rows.next()? {
                    Some(row) => uuid_at(row, 0)?,
                    None => return Ok(None),
                }
            };
            read_ehr(connection, ehr_id)
        })
        .await
    }

    async fn commit(&self, contribution: NewContribution) -> Result<()> {
        let contribution = compress_contribution(contribution)?;
        self.write(WriteOp::Commit(contribution)).await.map(|_| ())
    }

    async fn get_versioned_object(
        &self,
        ehr_id: Uuid,
        object_id: Uuid,
    ) -> Result<Option<VersionedObjectMeta>> {
        self.read(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT kind, time_created, time_created_offset, latest_version
                 FROM versioned_object WHERE ehr_id = ?1 AND object_id = ?2",
            )?;
            let mut rows = statement.query([ehr_id.as_bytes(), object_id.as_bytes()])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let kind: String = row.get(0)?;
            Ok(Some(VersionedObjectMeta {
                ehr_id,
                object_id,
                kind: parse_kind(&kind)?,
                time_created: join_time(row.get(1)?, row.get(2)?)?,
                latest_version: row.get(3)?,
            }))
        })
        .await
    }

    async fn get_version(
        &self,
        ehr_id: Uuid,
        object_id: Uuid,
        selector: VersionSelector,
    ) -> Result<Option<StoredVersion>> {
        self.read(move |connection| {
            let ehr = ehr_id.as_bytes();
            let object = object_id.as_bytes();
            let mut statement;
            let mut rows = match selector {
                VersionSelector::Latest => {
                    statement = connection.prepare_cached(version_query!(
                        ", v.data",
                        "WHERE v.ehr_id = ?1 AND v.object_id = ?2 ORDER BY v.version DESC LIMIT 1"
                    ))?;
                    statement.query(params![ehr, object])?
                }
                VersionSelector::Number(number) => {
                    statement = connection.prepare_cached(version_query!(
                        ", v.data",
                        "WHERE v.ehr_id = ?1 AND v.object_id = ?2 AND v.version = ?3"
                    ))?;
                    statement.query(params![ehr, object, number])?
                }
                VersionSelector::AtTime(instant) => {
                    let (micros, _) = split_time(instant);
                    statement = connection.prepare_cached(version_query!(
                        ", v.data",
                        "WHERE v.ehr_id = ?1 AND v.object_id = ?2 AND v.time_committed <= ?3 \
                         ORDER BY v.version DESC LIMIT 1"
                    ))?;
                    statement.query(params![ehr, object, micros])?
                }
            };
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let meta = version_meta_from_row(row, ehr_id)?;
            let compressed: Vec<u8> = row.get(12)?;
            Ok(Some(StoredVersion {
                meta,
                data: decompress(&compressed)?,
            }))
        })
        .await
    }

    async fn list_versions(&self, ehr_id: Uuid, object_id: Uuid) -> Result<Vec<VersionMeta>> {
        self.read(move |connection| {
            let mut statement = connection.prepare_cached(version_query!(
                "",
                "WHERE v.ehr_id = ?1 AND v.object_id = ?2 ORDER BY v.version"
            ))?;
            let mut rows = statement.query([ehr_id.as_bytes(), object_id.as_bytes()])?;
            let mut versions = Vec::new();
            while let Some(row) = rows.next()? {
                versions.push(version_meta_from_row(row, ehr_id)?);
            }
            Ok(versions)
        })
        .await
    }

    async fn get_contribution(
        &self,
        ehr_id: Uuid,
        contribution_id: Uuid,
    ) -> Result<Option<ContributionRecord>> {
        self.read(move |connection| {
            // One read transaction: the contribution and its versions from one snapshot.
            let transaction = connection.unchecked_transaction()?;
            let audit = {
                let mut statement = transaction.prepare_cached(
                    "SELECT system_id, time_committed, time_committed_offset, change_type,
                            committer, description
                     FROM contribution WHERE ehr_id = ?1 AND contribution_id = ?2",
                )?;
                let mut rows = statement.query([ehr_id.as_bytes(), contribution_id.as_bytes()])?;
                let Some(row) = rows.next()? else {
                    return Ok(None);
                };
                let change_type: String = row.get(3)?;
                let committer: String = row.get(4)?;
                let description: Option<String> = row.get(5)?;
                Audit {
                    system_id: row.get(0)?,
                    time_committed: join_time(row.get(1)?, row.get(2)?)?,
                    change_type: parse_change_type(&change_type)?,
                    committer: parse_json(&committer)?,
                    description: description.as_deref().map(parse_json).transpose()?,
                }
            };
            let mut versions = Vec::new();
            {
                let mut statement = transaction.prepare_cached(
                    "SELECT object_id, version, kind FROM version
                     WHERE ehr_id = ?1 AND contribution_id = ?2 ORDER BY object_id, version",
                )?;
                let mut rows = statement.query([ehr_id.as_bytes(), contribution_id.as_bytes()])?;
                while let Some(row) = rows.next()? {
                    let kind: String = row.get(2)?;
                    versions.push((uuid_at(row, 0)?, row.get(1)?, parse_kind(&kind)?));
                }
            }
            transaction.commit()?;
            Ok(Some(ContributionRecord {
                ehr_id,
                contribution_id,
                audit,
                versions,
            }))
        })
        .await
    }

    async fn delete_ehr(&self, ehr_id: Uuid) -> Result<bool> {
        match self.write(WriteOp::DeleteEhr(ehr_id)).await? {
            WriteOutcome::Existed(existed) => Ok(existed),
            other => Err(unexpected_outcome(&other)),
        }
    }

    async fn put_template(&self, template: TemplateRecord) -> Result<()> {
        let opt = compress(&template.opt)?;
        let template = TemplateRecord { opt, ..template };
        self.write(WriteOp::PutTemplate(template)).await.map(|_| ())
    }

    async fn get_template(&self, template_id: &str) -> Result<Option<TemplateRecord>> {
        let template_id = template_id.to_owned();
        self.read(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT template_id, concept, archetype_id, created_at, created_at_offset, opt
                 FROM template WHERE template_id = ?1",
            )?;
            let mut rows = statement.query([&template_id])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let compressed: Vec<u8> = row.get(5)?;
            Ok(Some(TemplateRecord {
                template_id: row.get(0)?,
                concept: row.get(1)?,
                archetype_id: row.get(2)?,
                created_at: join_time(row.get(3)?, row.get(4)?)?,
                opt: decompress(&compressed)?,
            }))
        })
        .await
    }

    async fn list_templates(&self) -> Result<Vec<TemplateRecord>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT template_id, concept, archetype_id, created_at, created_at_offset
                 FROM template ORDER BY template_id",
            )?;
            let mut rows = statement.query([])?;
            let mut templates = Vec::new();
            while let Some(row) = rows.next()? {
                templates.push(TemplateRecord {
                    template_id: row.get(0)?,
                    concept: row.get(1)?,
                    archetype_id: row.get(2)?,
                    created_at: join_time(row.get(3)?, row.get(4)?)?,
                    opt: Vec::new(),
                });
            }
            Ok(templates)
        })
        .await
    }

    async fn delete_template(&self, template_id: &str) -> Result<bool> {
        match self
            .write(WriteOp::DeleteTemplate(template_id.to_owned()))
            .await?
        {
            WriteOutcome::Existed(existed) => Ok(existed),
            other => Err(unexpected_outcome(&other)),
        }
    }

    async fn replace_template(&self, template: TemplateRecord) -> Result<bool> {
        let opt = compress(&template.opt)?;
        let template = TemplateRecord { opt, ..template };
        match self.write(WriteOp::ReplaceTemplate(template)).await? {
            WriteOutcome::Existed(existed) => Ok(existed),
            other => Err(unexpected_outcome(&other)),
        }
    }

    async fn put_stored_query(&self, query: StoredQuery) -> Result<()> {
        self.write(WriteOp::PutStoredQuery(query)).await.map(|_| ())
    }

    async fn get_stored_query(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<StoredQuery>> {
        let name = name.to_owned();
        let version = version.map(str::to_owned);
        self.read(move |connection| {
            let mut statement;
            let mut rows = match &version {
                Some(version) => {
                    statement = connection.prepare_cached(
                        "SELECT name, version, query_type, text, saved, saved_offset
                         FROM stored_query WHERE name = ?1 AND version = ?2",
                    )?;
                    statement.query([&name, version])?
                }
                None => {
                    statement = connection.prepare_cached(
                        "SELECT name, version, query_type, text, saved, saved_offset
                         FROM stored_query WHERE name = ?1",
                    )?;
                    statement.query([&name])?
                }
            };
            let mut queries = Vec::new();
            while let Some(row) = rows.next()? {
                queries.push(stored_query_from_row(row)?);
            }
            Ok(highest_version(queries))
        })
        .await
    }

    async fn list_stored_queries(&self, name_prefix: &str) -> Result<Vec<StoredQuery>> {
        let name_prefix = name_prefix.to_owned();
        self.read(move |connection| {
            // substr rather than LIKE: a prefix may contain % or _.
            let mut statement = connection.prepare_cached(
                "SELECT name, version, query_type, text, saved, saved_offset
                 FROM stored_query WHERE substr(name, 1, length(?1)) = ?1",
            )?;
            let mut rows = statement.query([&name_prefix])?;
            let mut queries = Vec::new();
            while let Some(row) = rows.next()? {
                queries.push(stored_query_from_row(row)?);
            }
            sort_stored_queries(&mut queries);
            Ok(queries)
        })
        .await
    }

    async fn delete_stored_query(&self, name: &str, version: Option<&str>) -> Result<u64> {
        let op = WriteOp::DeleteStoredQuery(name.to_owned(), version.map(str::to_owned));
        match self.write(op).await? {
            WriteOutcome::Count(count) => Ok(count),
            other => Err(unexpected_outcome(&other)),
        }
    }

    async fn index_of(&self, ehr_id: Uuid, object_id: Uuid) -> Result<IndexRows> {
        self.read(move |connection| read_index_rows(connection, ehr_id, object_id))
            .await
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn run_query(&self, query: &SqlQuery) -> Result<QueryRows> {
        let query = query.clone();
        self.read(move |connection| query::run(connection, &query))
            .await
    }

    async fn explain_query(&self, query: &SqlQuery) -> Result<Vec<String>> {
        let query = query.clone();
        self.read(move |connection| query::explain(connection, &query))
            .await
    }

    async fn path_ids(&self, keys: &[String]) -> Result<crate::PathIds> {
        let (mut found, missing) = crate::split_cached_path_ids(
            &self
                .path_ids
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            keys,
        );
        if missing.is_empty() {
            return Ok(found);
        }
        let read = self
            .read(move |connection| {
                use rusqlite::OptionalExtension as _;
                let mut statement =
                    connection.prepare_cached("SELECT path_id FROM query_path WHERE path = ?1")?;
                let mut read = Vec::new();
                for key in missing {
                    let id: Option<i64> =
                        statement.query_row([&key], |row| row.get(0)).optional()?;
                    if let Some(id) = id {
                        read.push((key, id));
                    }
                }
                Ok(read)
            })
            .await?;
        let mut known = self
            .path_ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (key, id) in read {
            known.insert(key.clone(), id);
            found.insert(key, id);
        }
        Ok(found)
    }

    async fn ehr_versions(&self, ehr_id: Uuid, latest_only: bool) -> Result<Vec<StoredVersion>> {
        self.read(move |connection| query::ehr_versions(connection, ehr_id, latest_only))
            .await
    }

    async fn storage_bytes(&self) -> Result<u64> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            // Fold the WAL into the database file first, so the figure measures the data
            // rather than how far the last checkpoint happens to be behind.
            // A checkpoint running elsewhere makes this one report busy: try again a little.
            let connection = open_checkpointer(&path)?;
            for _ in 0..100 {
                let busy: i64 =
                    connection
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
                if busy == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            drop(connection);
            let mut total = 0;
            for suffix in ["", "-wal"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                match std::fs::metadata(&file) {
                    Ok(metadata) => total += metadata.len(),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => {
                        return Err(StoreError::Database(format!(
                            "cannot read the size of {}: {error}",
                            Path::new(&file).display()
                        )));
                    }
                }
            }
            Ok(total)
        })
        .await
        .map_err(blocking_failed)?
    }
}

impl SqliteStore {
    async fn write_registry(&self, write: registry::RegistryWrite) -> Result<WriteOutcome> {
        self.write(WriteOp::Registry(write)).await
    }

    async fn write_registry_done(&self, write: registry::RegistryWrite) -> Result<()> {
        match self.write_registry(write).await? {
            WriteOutcome::Done => Ok(()),
            other => Err(unexpected_outcome(&other)),
        }
    }
}

#[async_trait]
impl Registry for SqliteStore {
    async fn records_facts(&self, ehr_ids: &[Uuid]) -> Result<Vec<crate::RecordFacts>> {
        let ehr_ids = ehr_ids.to_vec();
        // One reader for them all: the statements are cached, each read is an index probe.
        self.read(move |connection| {
            ehr_ids
                .iter()
                .map(|ehr_id| {
                    Ok(crate::RecordFacts {
                        person: registry::person_by_ehr(connection, *ehr_id)?,
                        relationships: registry::list_relationships(connection, *ehr_id)?,
                        consents: registry::list_consents_without_rules(connection, *ehr_id)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn record_facts(&self, ehr_id: Uuid) -> Result<crate::RecordFacts> {
        Ok(self
            .records_facts(&[ehr_id])
            .await?
            .pop()
            .unwrap_or_default())
    }

    async fn create_person(&self, person: PersonRecord) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::CreatePerson(person))
            .await
    }

    async fn get_person(&self, person_id: Uuid) -> Result<Option<PersonRecord>> {
        self.read(move |connection| registry::get_person(connection, person_id))
            .await
    }

    async fn person_by_ehr(&self, ehr_id: Uuid) -> Result<Option<PersonRecord>> {
        self.read(move |connection| registry::person_by_ehr(connection, ehr_id))
            .await
    }

    async fn person_by_identifier(
        &self,
        namespace: &str,
        value: &str,
    ) -> Result<Option<PersonRecord>> {
        let (namespace, value) = (namespace.to_owned(), value.to_owned());
        self.read(move |connection| registry::person_by_identifier(connection, &namespace, &value))
            .await
    }

    async fn search_people(&self, search: &PersonSearch) -> Result<Vec<PersonRecord>> {
        let search = search.clone();
        self.read(move |connection| registry::search_people(connection, &search))
            .await
    }

    async fn update_person(&self, person: PersonRecord) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::UpdatePerson(person))
            .await
    }

    async fn merge_people(&self, merge: PersonMerge) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::MergePeople(Box::new(merge)))
            .await
    }

    async fn put_organisation(&self, organisation: OrganisationRecord) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::PutOrganisation(organisation))
            .await
    }

    async fn get_organisation(&self, code: &str) -> Result<Option<OrganisationRecord>> {
        let code = code.to_owned();
        self.read(move |connection| registry::get_organisation(connection, &code))
            .await
    }

    async fn list_organisations(&self) -> Result<Vec<OrganisationRecord>> {
        self.read(registry::list_organisations).await
    }

    async fn put_relationship(&self, relationship: RelationshipRecord) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::PutRelationship(relationship))
            .await
    }

    async fn delete_relationship(&self, ehr_id: Uuid, relationship_id: Uuid) -> Result<bool> {
        match self
            .write_registry(registry::RegistryWrite::DeleteRelationship(
                ehr_id,
                relationship_id,
            ))
            .await?
        {
            WriteOutcome::Existed(existed) => Ok(existed),
            other => Err(unexpected_outcome(&other)),
        }
    }

    async fn list_relationships(&self, ehr_id: Uuid) -> Result<Vec<RelationshipRecord>> {
        self.read(move |connection| registry::list_relationships(connection, ehr_id))
            .await
    }

    async fn put_consent(&self, consent: ConsentRecord) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::PutConsent(consent))
            .await
    }

    async fn list_consents(&self, ehr_id: Uuid) -> Result<Vec<ConsentRecord>> {
        self.read(move |connection| registry::list_consents(connection, ehr_id))
            .await
    }

    async fn ehrs_in_reach(&self, organisation: Option<&str>, user: &str) -> Result<Vec<Uuid>> {
        let (organisation, user) = (organisation.map(str::to_owned), user.to_owned());
        self.read(move |connection| {
            registry::ehrs_in_reach(connection, organisation.as_deref(), &user)
        })
        .await
    }

    async fn ehrs_with_rules(&self) -> Result<Vec<Uuid>> {
        self.read(registry::ehrs_with_rules).await
    }

    async fn registry_generation(&self) -> Result<u64> {
        self.read(registry::registry_generation).await
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, events: Vec<AuditRow>) -> Result<()> {
        self.write_registry_done(registry::RegistryWrite::AppendAudit(events))
            .await
    }

    async fn audit_head(&self) -> Result<Option<(u64, [u8; 32])>> {
        self.read(registry::audit_head).await
    }

    async fn read_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        let filter = filter.clone();
        self.read(move |connection| registry::read_audit(connection, &filter))
            .await
    }
}

fn unexpected_outcome(outcome: &WriteOutcome) -> StoreError {
    StoreError::Database(format!("unexpected writer outcome {outcome:?}"))
}

#[cfg(test)]
mod tests {
    //! The group-commit batch itself, driven directly so a batch's make-up is certain.

    use super::*;
    use crate::{ChangeType, LifecycleState, NewVersion};
    use time::OffsetDateTime;

    fn contribution(ehr_id: Uuid, object_id: Uuid, version: u32) -> NewContribution {
        NewContribution {
            ehr_id,
            contribution_id: Uuid::new_v4(),
            audit: Audit {
                system_id: "test".to_owned(),
                time_committed: OffsetDateTime::now_utc(),
                change_type: ChangeType::Creation,
                committer: serde_json::json!({"_type": "PARTY_SELF"}),
                description: None,
            },
            versions: vec![NewVersion {
                object_id,
                kind: if version == 1 && object_id == ehr_id {
                    ObjectKind::EhrStatus
                } else {
                    ObjectKind::Composition
                },
                version,
                change_type: ChangeType::Creation,
                lifecycle_state: LifecycleState::Complete,
                template_id: None,
                status: None,
                data: compress(b"{}").expect("compresses"),
                index: IndexRows::default(),
            }],
        }
    }

    /// Opening a database that holds data gathers the planner's statistics, so plans follow
    /// the data rather than SQLite's guesses.
    #[tokio::test]
    async fn opening_gathers_planner_statistics() {
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join("kith.db");
        {
            let store = SqliteStore::open(&path).await.expect("opens");
            for _ in 0..3 {
                let ehr_id = Uuid::new_v4();
                store
                    .create_ehr(crate::NewEhr {
                        ehr_id,
                        system_id: "test".to_owned(),
                        time_created: OffsetDateTime::now_utc(),
                        subject: None,
                        contribution: contribution(ehr_id, ehr_id, 1),
                    })
                    .await
                    .expect("creates");
            }
        }
        let _store = SqliteStore::open(&path).await.expect("reopens");
        let connection = Connection::open(&path).expect("opens");
        let analysed: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'ehr'",
                [],
                |row| row.get(0),
            )
            .expect("statistics exist");
        assert!(analysed > 0, "no statistics for ehr");
    }

    #[test]
    fn one_failing_request_rolls_back_only_itself() {
        let directory = tempfile::tempdir().expect("tempdir");
        let connection = open_writer(&directory.path().join("kith.db")).expect("opens");
        migrate(&connection).expect("migrates");
        let ehr_id = Uuid::new_v4();
        let create = WriteOp::CreateEhr(NewEhr {
            ehr_id,
            system_id: "test".to_owned(),
            time_created: OffsetDateTime::now_utc(),
            subject: None,
            contribution: contribution(ehr_id, ehr_id, 1),
        });
        let existing = Uuid::new_v4();
        let mut paths = PathIds::default();
        let first = apply_batch(
            &connection,
            &mut paths,
            &[create, WriteOp::Commit(contribution(ehr_id, existing, 1))],
        );
        assert!(first.iter().all(Result::is_ok), "{first:?}");

        let fresh = Uuid::new_v4();
        let results = apply_batch(
            &connection,
            &mut paths,
            &[
                WriteOp::Commit(contribution(ehr_id, Uuid::new_v4(), 1)),
                WriteOp::Commit(contribution(ehr_id, existing, 3)),
                WriteOp::Commit(contribution(ehr_id, fresh, 1)),
            ],
        );
        assert!(results[0].is_ok());
        assert!(matches!(
            results[1],
            Err(StoreError::VersionConflict {
                latest: Some(1),
                ..
            })
        ));
        assert!(results[2].is_ok());
        let versions: i64 = connection
            .query_row("SELECT count(*) FROM version", [], |row| row.get(0))
            .expect("counts");
        let contributions: i64 = connection
            .query_row("SELECT count(*) FROM contribution", [], |row| row.get(0))
            .expect("counts");
        assert_eq!(versions, 4);
        assert_eq!(contributions, 4);
    }

    /// A contribution of one version carrying `values` value rows at one path.
    fn indexed(ehr_id: Uuid, object_id: Uuid, version: u32, values: usize) -> WriteOp {
        let mut contribution = contribution(ehr_id, object_id, version);
        contribution.versions[0].index = IndexRows {
            paths: vec!["openEHR-EHR-COMPOSITION.test.v1/context/start_time".to_owned()],
            nodes: Vec::new(),
            values: (0..values)
                .map(|_| aql::index::ValueRow {
                    root_seq: 0,
                    path: 0,
                    kind: aql::index::ValueKind::Count,
                    num: Some(1.0),
                    text: None,
                    code: None,
                    system: None,
                    units: None,
                    instant: None,
                    iso8601: None,
                })
                .collect(),
        };
        WriteOp::Commit(contribution)
    }

    fn value_rows(connection: &Connection, object_id: Uuid) -> i64 {
        connection
            .query_row(
                "SELECT count(*) FROM query_value WHERE object_id = ?1",
                [object_id.as_bytes()],
                |row| row.get(0),
            )
            .expect("counts")
    }

    #[test]
    fn query_rows_written_after_the_savepoints_keep_the_order_of_the_batch() {
        let directory = tempfile::tempdir().expect("tempdir");
        let connection = open_writer(&directory.path().join("kith.db")).expect("opens");
        migrate(&connection).expect("migrates");
        let new_ehr = |ehr_id| {
            WriteOp::CreateEhr(NewEhr {
                ehr_id,
                system_id: "test".to_owned(),
                time_created: OffsetDateTime::now_utc(),
                subject: None,
                contribution: contribution(ehr_id, ehr_id, 1),
            })
        };
        let (kept, erased) = (Uuid::new_v4(), Uuid::new_v4());
        let (updated, refused, gone) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut paths = PathIds::default();
        let results = apply_batch(
            &connection,
            &mut paths,
            &[
                new_ehr(kept),
                new_ehr(erased),
                indexed(kept, updated, 1, 3),
                // The second version's rows replace the first's, in the same batch.
                indexed(kept, updated, 2, 2),
                // A refused request (version 2 of nothing) leaves no rows.
                indexed(kept, refused, 2, 4),
                // Rows committed before an erasure in the same batch are erased with it.
                indexed(erased, gone, 1, 5),
                WriteOp::DeleteEhr(erased),
            ],
        );
        assert!(results[4].is_err(), "{results:?}");
        assert_eq!(
            results.iter().filter(|result| result.is_ok()).count(),
            6,
            "{results:?}"
        );
        assert_eq!(value_rows(&connection, updated), 2);
        assert_eq!(value_rows(&connection, refused), 0);
        assert_eq!(value_rows(&connection, gone), 0);
    }
}
