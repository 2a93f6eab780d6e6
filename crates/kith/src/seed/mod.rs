//! `kith seed`: a synthetic population committed through the commit path the REST API uses.
//!
//! [`population`] decides who the people are and writes their compositions as FLAT
//! documents; this module uploads the templates and commits everything through
//! `server::ingest` (FLAT conversion, template validation, index rows, audit, store commit,
//! exactly as `POST /ehr/{ehr_id}/composition`), with many commits in flight so that
//! SQLite's group commit and PostgreSQL's connection pool are used.

pub mod population;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use server::AppState;
use server::ingest::{self, IngestError};
use store::SubjectKey;

use population::{NHS_NUMBER_NAMESPACE, Person, Population};

/// The templates a population uses, built into the binary so that `kith seed` needs no
/// files.
pub const TEMPLATES: &[(&str, &[u8])] = &[
    (
        population::VITAL_SIGNS,
        include_bytes!("../../../../testdata/templates/ehrn_vital_signs.v2.opt"),
    ),
    (
        population::PROBLEM_LIST,
        include_bytes!("../../../../testdata/templates/IDCR - Problem List.v1.opt"),
    ),
    (
        population::ADVERSE_REACTIONS,
        include_bytes!("../../../../testdata/templates/IDCR - Adverse Reaction List.v1.opt"),
    ),
    (
        population::RESPECT,
        include_bytes!("../../../../testdata/templates/ReSPECT-3.v0.opt"),
    ),
];

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub people: u64,
    pub seed: u64,
    /// The mean number of compositions per person; each person's count is skewed around it.
    pub compositions_per_person: f64,
    /// How many commits are in flight at once (a quarter as many people are written at
    /// once). SQLite commits whatever has queued in one transaction, so more in flight
    /// means fewer, larger transactions.
    pub concurrency: usize,
    /// Print progress on stderr this often; None for silence.
    pub progress_every: Option<Duration>,
    /// The committer named in every audit.
    pub committer: String,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            people: 100,
            seed: 1,
            compositions_per_person: 10.0,
            concurrency: 2048,
            progress_every: None,
            committer: "kith seed".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeedReport {
    pub people: u64,
    pub compositions: u64,
    pub compositions_by_template: BTreeMap<&'static str, u64>,
    /// Templates uploaded by this run (those already there are reused).
    pub templates_uploaded: usize,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn compositions_per_second(&self) -> f64 {
        self.compositions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("uploading template {template_id}: {source}")]
    Template {
        template_id: &'static str,
        source: IngestError,
    },
    #[error("person {index} (nhs number {nhs_number}): {what}: {source}")]
    Person {
        index: u64,
        nhs_number: String,
        what: String,
        source: Box<IngestError>,
    },
    #[error("a seeding task failed: {0}")]
    Task(String),
}

/// Uploads the population's templates that the store does not have yet; returns how many.
pub async fn upload_templates(state: &AppState) -> Result<usize, SeedError> {
    let mut uploaded = 0;
    for (template_id, opt) in TEMPLATES {
        let failed = |source| SeedError::Template {
            template_id,
            source,
        };
        if !ingest::has_template(state, template_id)
            .await
            .map_err(failed)?
        {
            ingest::upload_template(state, opt).await.map_err(failed)?;
            uploaded += 1;
        }
    }
    Ok(uploaded)
}

/// What the workers have done so far.
#[derive(Default)]
struct Counters {
    next_person: AtomicU64,
    people: AtomicU64,
    compositions: AtomicU64,
    failed: AtomicBool,
}

/// Seeds `options.people` people into the store behind `state`.
pub async fn seed(state: &AppState, options: &SeedOptions) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let templates_uploaded = upload_templates(state).await?;
    let population = Arc::new(Population::new(
        options.seed,
        options.compositions_per_person,
    ));
    let counters = Arc::new(Counters::default());
    // Commits in flight, across people: a person with hundreds of compositions must not
    // write them one group commit after another while everyone else is done.
    let in_flight = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut workers = tokio::task::JoinSet::new();
    // People at a time: enough that their compositions, ten or so each, keep every commit
    // slot busy; more would only hold more plans in memory.
    for _ in 0..(options.concurrency / 4).max(1) {
        let (state, population, counters) = (state.clone(), population.clone(), counters.clone());
        let in_flight = in_flight.clone();
        let (people, committer) = (options.people, Arc::<str>::from(options.committer.as_str()));
        workers.spawn(async move {
            let mut by_template: BTreeMap<&'static str, u64> = BTreeMap::new();
            loop {
                let index = counters.next_person.fetch_add(1, Ordering::Relaxed);
                if index >= people || counters.failed.load(Ordering::Relaxed) {
                    return Ok(by_template);
                }
                let person = Arc::new(population.person(index));
                let written =
                    write_person(&state, &person, &committer, &in_flight, &counters).await;
                match written {
                    Ok(()) => {
                        for planned in &person.compositions {
                            *by_template.entry(planned.template_id).or_insert(0) += 1;
                        }
                        counters.people.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        counters.failed.store(true, Ordering::Relaxed);
                        return Err(error);
                    }
                }
            }
        });
    }
    let ticker = options.progress_every.map(|every| {
        let counters = counters.clone();
        let people = options.people;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            let (mut last_count, mut last_time) = (0, Instant::now());
            loop {
                interval.tick().await;
                let count = counters.compositions.load(Ordering::Relaxed);
                let now = Instant::now();
                let rate = (count - last_count) as f64 / (now - last_time).as_secs_f64();
                eprintln!(
                    "seed: {}/{people} people, {count} compositions, {rate:.0} compositions/s",
                    counters.people.load(Ordering::Relaxed),
                );
                (last_count, last_time) = (count, now);
            }
        })
    });
    let mut compositions_by_template = BTreeMap::new();
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(by_template)) => {
                for (template_id, count) in by_template {
                    *compositions_by_template.entry(template_id).or_insert(0) += count;
                }
            }
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Err(error) => {
                first_error.get_or_insert(SeedError::Task(error.to_string()));
            }
        }
    }
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    Ok(SeedReport {
        people: counters.people.load(Ordering::Relaxed),
        compositions: counters.compositions.load(Ordering::Relaxed),
        compositions_by_template,
        templates_uploaded,
        elapsed: started.elapsed(),
    })
}

/// The error of one person's write.
fn person_error(person: &Person, what: String, source: IngestError) -> SeedError {
    SeedError::Person {
        index: person.index,
        nhs_number: person.nhs_number.clone(),
        what,
        source: Box::new(source),
    }
}

/// One person's EHR, then their compositions, each as soon as a commit slot is free.
async fn write_person(
    state: &AppState,
    person: &Arc<Person>,
    committer: &Arc<str>,
    in_flight: &Arc<Semaphore>,
    counters: &Arc<Counters>,
) -> Result<(), SeedError> {
    let subject = SubjectKey {
        namespace: NHS_NUMBER_NAMESPACE.into(),
        id: person.nhs_number.clone(),
    };
    {
        let _slot = in_flight.acquire().await;
        ingest::create_ehr_for_subject(
            state,
            person.ehr_id,
            &subject,
            "nhs_number",
            Some(person.status_details.clone()),
            committer,
        )
        .await
        .map_err(|source| person_error(person, "creating the ehr".into(), source))?;
    }
    let mut commits = tokio::task::JoinSet::new();
    for position in 0..person.compositions.len() {
        let (state, person, committer) = (state.clone(), person.clone(), committer.clone());
        let (in_flight, counters) = (in_flight.clone(), counters.clone());
        commits.spawn(async move {
            let _slot = in_flight.acquire().await;
            let planned = &person.compositions[position];
            let failed = |source| {
                let what = format!(
                    "composition {} ({})",
                    planned.object_id, planned.template_id
                );
                person_error(&person, what, source)
            };
            let composition = ingest::composition_from_flat(
                &state,
                planned.template_id,
                &planned.flat,
                &planned.time,
            )
            .await
            .map_err(failed)?;
            ingest::commit_composition(&state, person.ehr_id, composition, &committer)
                .await
                .map_err(failed)?;
            counters.compositions.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
    }
    let mut first_error = None;
    while let Some(joined) = commits.join_next().await {
        let result = joined.unwrap_or_else(|error| Err(SeedError::Task(error.to_string())));
        if let Err(error) = result {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}
