//! The raw database baseline: the same JSON documents written and read straight through
//! rusqlite and tokio-postgres, with no HTTP and no Kith, under the same durability
//! settings, so each Kith figure has a floor to be compared with.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use crate::stats::PhaseFigures;

/// The level Kith's store uses, so the raw side pays the same compression cost.
const ZSTD_LEVEL: i32 = 3;
/// The largest group a single SQLite transaction commits, mirroring group commit.
const BATCH: usize = 64;
/// How many distinct EHR ids the rows are spread over, as on the Kith side.
const EHRS: usize = 100;

#[derive(Debug, Clone, Serialize)]
pub struct RawFigures {
    pub database: &'static str,
    pub write_one: PhaseFigures,
    pub write_many: PhaseFigures,
    pub read_one: PhaseFigures,
    pub read_many: PhaseFigures,
    /// Rows written by both write phases, warm-up included.
    pub rows: usize,
    /// Bytes the database grew by, over `rows`.
    pub bytes_per_document: f64,
}

/// Whether a request that started at `started` and ended now lies in the measured window.
fn in_window(started: Instant, window_start: Instant, window_end: Instant) -> bool {
    started >= window_start && Instant::now() <= window_end
}

/// Runs `threads` OS threads, each calling the operation `make(index)` returns until the
/// window closes, timing each call; the same windowing as the HTTP runs.
fn run_threads<Make, Operation>(
    threads: usize,
    warm_up: Duration,
    duration: Duration,
    make: Make,
) -> PhaseFigures
where
    Make: Fn(usize) -> anyhow::Result<Operation> + Sync,
    Operation: FnMut() -> anyhow::Result<()>,
{
    let window_start = Instant::now() + warm_up;
    let window_end = window_start + duration;
    let abort = AtomicBool::new(false);
    let results: Vec<(Vec<Duration>, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let make = &make;
                let abort = &abort;
                scope.spawn(move || {
                    let mut samples = Vec::new();
                    let mut operation = match make(index) {
                        Ok(operation) => operation,
                        Err(error) => {
                            abort.store(true, Ordering::Relaxed);
                            return (samples, Some(format!("{error:#}")));
                        }
                    };
                    while !abort.load(Ordering::Relaxed) && Instant::now() < window_end {
                        let started = Instant::now();
                        if let Err(error) = operation() {
                            abort.store(true, Ordering::Relaxed);
                            return (samples, Some(format!("{error:#}")));
                        }
                        let elapsed = started.elapsed();
                        if in_window(started, window_start, window_end) {
                            samples.push(elapsed);
                        }
                    }
                    (samples, None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| (Vec::new(), Some("a thread panicked".to_owned())))
            })
            .collect()
    });
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut aborted = None;
    for (mut part, error) in results {
        samples.append(&mut part);
        if let Some(error) = error {
            errors += 1;
            aborted.get_or_insert(error);
        }
    }
    PhaseFigures::from_samples(threads, samples, duration, errors, aborted)
}

fn compress(document: &[u8]) -> anyhow::Result<Vec<u8>> {
    Ok(zstd::bulk::compress(document, ZSTD_LEVEL)?)
}

fn decompress(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    Ok(zstd::stream::decode_all(data)?)
}

fn open_sqlite(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;",
    )?;
    Ok(connection)
}

/// Writes of one document per transaction from one writer, writes batched by one writer
/// thread fed by `clients` producers, then reads by key with one and `clients` readers.
pub fn sqlite_baseline(
    document: &[u8],
    directory: &Path,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
) -> anyhow::Result<RawFigures> {
    let path = directory.join("raw.db");
    let setup = open_sqlite(&path)?;
    setup.execute_batch(
        "CREATE TABLE raw_version (id BLOB PRIMARY KEY, ehr_id BLOB NOT NULL, data BLOB NOT NULL)",
    )?;
    drop(setup);
    let ehr_ids: Vec<Uuid> = (0..EHRS).map(|_| Uuid::new_v4()).collect();

    let single_writer = std::sync::Mutex::new(Some(open_sqlite(&path)?));
    let write_one = run_threads(1, warm_up, duration, |_| {
        let connection = single_writer
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .take()
            .context("the writer connection was taken twice")?;
        let mut counter = 0usize;
        let ehr_ids = &ehr_ids;
        Ok(move || {
            let data = compress(document)?;
            let transaction = connection.unchecked_transaction()?;
            transaction
                .prepare_cached("INSERT INTO raw_version (id, ehr_id, data) VALUES (?1, ?2, ?3)")?
                .execute(params![
                    Uuid::new_v4().as_bytes().as_slice(),
                    ehr_ids[counter % EHRS].as_bytes().as_slice(),
                    data
                ])?;
            transaction.commit()?;
            counter += 1;
            Ok(())
        })
    });

    // Group commit: producers hand documents to one writer thread, which commits whatever
    // has queued (up to BATCH) in one transaction and then acknowledges each producer.
    type Job = (Vec<u8>, Vec<u8>, mpsc::SyncSender<anyhow::Result<()>>);
    let (queue, inbox) = mpsc::sync_channel::<Job>(clients * 4);
    let writer_connection = open_sqlite(&path)?;
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        while let Ok(first) = inbox.recv() {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match inbox.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let outcome = (|| -> anyhow::Result<()> {
                let transaction = writer_connection.unchecked_transaction()?;
                {
                    let mut insert = transaction.prepare_cached(
                        "INSERT INTO raw_version (id, ehr_id, data) VALUES (?1, ?2, ?3)",
                    )?;
                    for (ehr_id, data, _) in &batch {
                        insert.execute(params![
                            Uuid::new_v4().as_bytes().as_slice(),
                            ehr_id,
                            data
                        ])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })();
            for (_, _, reply) in batch {
                let _ = reply.send(match &outcome {
                    Ok(()) => Ok(()),
                    Err(error) => Err(anyhow::anyhow!("{error:#}")),
                });
            }
        }
        Ok(())
    });
    let write_many = run_threads(clients, warm_up, duration, |index| {
        let queue = queue.clone();
        let mut counter = index;
        let ehr_ids = &ehr_ids;
        Ok(move || {
            let data = compress(document)?;
            let (reply, answer) = mpsc::sync_channel(1);
            queue
                .send((ehr_ids[counter % EHRS].as_bytes().to_vec(), data, reply))
                .map_err(|_| anyhow::anyhow!("the writer thread stopped"))?;
            counter += clients;
            answer.recv().context("the writer thread dropped a job")?
        })
    });
    drop(queue);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;

    let ids: Vec<Vec<u8>> = {
        let connection = open_sqlite(&path)?;
        let mut statement = connection.prepare("SELECT id FROM raw_version")?;
        statement
            .query_map([], |row| row.get::<_, Vec<u8>>(0))?
            .collect::<Result<_, _>>()?
    };
    anyhow::ensure!(!ids.is_empty(), "the raw sqlite writes stored nothing");
    // Measured like Kith's file: after folding the WAL into the main file.
    crate::server::checkpoint(&path)?;
    let stored_bytes = std::fs::metadata(&path)?.len();
    let reader = |threads: usize| {
        run_threads(threads, warm_up, duration, |index| {
            let connection = open_sqlite(&path)?;
            let ids = &ids;
            let mut counter = index.wrapping_mul(7919);
            Ok(move || {
                // A large prime stride visits the keys in a scattered order, as readers
                // of different patients would.
                let id = &ids[counter % ids.len()];
                counter = counter.wrapping_add(104_729);
                let data: Vec<u8> = connection
                    .prepare_cached("SELECT data FROM raw_version WHERE id = ?1")?
                    .query_row(params![id], |row| row.get(0))?;
                decompress(&data)?;
                Ok(())
            })
        })
    };
    let read_one = reader(1);
    let read_many = reader(clients);
    Ok(RawFigures {
        database: "sqlite",
        write_one,
        write_many,
        read_one,
        read_many,
        rows: ids.len(),
        bytes_per_document: stored_bytes as f64 / ids.len() as f64,
    })
}

/// One connection per client, a prepared INSERT per document with synchronous_commit on
/// (each INSERT is its own transaction), then prepared SELECTs by key.
pub async fn postgres_baseline(
    document: &[u8],
    url: &str,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
) -> anyhow::Result<RawFigures> {
    let setup = crate::server::connect(url).await?;
    let size_query = "SELECT pg_database_size(current_database())";
    let empty_size: i64 = setup.query_one(size_query, &[]).await?.get(0);
    setup
        .batch_execute(
            "CREATE TABLE raw_version (id uuid PRIMARY KEY, ehr_id uuid NOT NULL, data bytea NOT NULL)",
        )
        .await?;
    let document = Arc::new(document.to_vec());
    let ehr_ids: Arc<Vec<Uuid>> = Arc::new((0..EHRS).map(|_| Uuid::new_v4()).collect());
    let write_one = postgres_phase(url, 1, warm_up, duration, &document, &ehr_ids, None).await;
    let write_many =
        postgres_phase(url, clients, warm_up, duration, &document, &ehr_ids, None).await;
    let ids: Vec<Uuid> = setup
        .query("SELECT id FROM raw_version", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    anyhow::ensure!(!ids.is_empty(), "the raw postgresql writes stored nothing");
    let full_size: i64 = setup.query_one(size_query, &[]).await?.get(0);
    let ids = Arc::new(ids);
    let read_one = postgres_phase(url, 1, warm_up, duration, &document, &ehr_ids, Some(&ids)).await;
    let read_many = postgres_phase(
        url,
        clients,
        warm_up,
        duration,
        &document,
        &ehr_ids,
        Some(&ids),
    )
    .await;
    Ok(RawFigures {
        database: "postgresql",
        write_one,
        write_many,
        read_one,
        read_many,
        rows: ids.len(),
        bytes_per_document: (full_size - empty_size) as f64 / ids.len() as f64,
    })
}

/// One PostgreSQL phase: inserts when `read_ids` is None, reads of those ids otherwise.
async fn postgres_phase(
    url: &str,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
    document: &Arc<Vec<u8>>,
    ehr_ids: &Arc<Vec<Uuid>>,
    read_ids: Option<&Arc<Vec<Uuid>>>,
) -> PhaseFigures {
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        match crate::server::connect(url).await {
            Ok(client) => connections.push(client),
            Err(error) => {
                return PhaseFigures::from_samples(
                    clients,
                    Vec::new(),
                    Duration::ZERO,
                    1,
                    Some(format!("{error:#}")),
                );
            }
        }
    }
    let window_start = Instant::now() + warm_up;
    let window_end = window_start + duration;
    let abort = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (index, client) in connections.into_iter().enumerate() {
        let abort = Arc::clone(&abort);
        let document = Arc::clone(document);
        let ehr_ids = Arc::clone(ehr_ids);
        let read_ids = read_ids.cloned();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let outcome: anyhow::Result<()> = async {
                // The server default, set anyway: a baseline with lax durability would flatter it.
                client.batch_execute("SET synchronous_commit = on").await?;
                let insert = client
                    .prepare("INSERT INTO raw_version (id, ehr_id, data) VALUES ($1, $2, $3)")
                    .await?;
                let select = client
                    .prepare("SELECT data FROM raw_version WHERE id = $1")
                    .await?;
                let mut counter = index.wrapping_mul(7919);
                while !abort.load(Ordering::Relaxed) && Instant::now() < window_end {
                    let started = Instant::now();
                    match &read_ids {
                        None => {
                            let data = compress(&document)?;
                            client
                                .execute(
                                    &insert,
                                    &[&Uuid::new_v4(), &ehr_ids[counter % EHRS], &data],
                                )
                                .await?;
                            counter += clients;
                        }
                        Some(ids) => {
                            let id = ids[counter % ids.len()];
                            counter = counter.wrapping_add(104_729);
                            let row = client.query_one(&select, &[&id]).await?;
                            decompress(row.get::<_, &[u8]>(0))?;
                        }
                    }
                    let elapsed = started.elapsed();
                    if in_window(started, window_start, window_end) {
                        samples.push(elapsed);
                    }
                }
                Ok(())
            }
            .await;
            if outcome.is_err() {
                abort.store(true, Ordering::Relaxed);
            }
            (samples, outcome.err().map(|error| format!("{error:#}")))
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut aborted = None;
    for task in tasks {
        let (mut part, error) = task
            .await
            .unwrap_or_else(|error| (Vec::new(), Some(format!("task failed: {error}"))));
        samples.append(&mut part);
        if let Some(error) = error {
            errors += 1;
            aborted.get_or_insert(error);
        }
    }
    PhaseFigures::from_samples(clients, samples, duration, errors, aborted)
}
