//! `kith-bench`: starts the real `kith` server, drives the openEHR REST API over HTTP with
//! concurrent clients, and sets each figure beside the raw database doing the same work.
//! Results go to stdout as a table and to a JSON file; BENCHMARKS.md says how to read them.

mod aql;
mod callers;
mod client;
mod machine;
mod raw;
mod report;
mod server;
mod stats;
mod templates;
mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::report::{BackendReport, ClassReport, DedicatedStorage, Report, Settings, Storage};
use crate::server::{
    Backend, RunningServer, ScratchDatabase, random_hex, sqlite_checkpointed_size, sqlite_size,
};
use crate::workload::{Class, Context, Documents, SHARED_EHRS};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Parser)]
#[command(
    name = "kith-bench",
    about = "Benchmarks a kith server over HTTP against the raw databases"
)]
struct Arguments {
    /// Which store to run the server on.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendChoice,
    /// PostgreSQL administration URL; the benchmark creates and drops its own databases there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
    /// Measured seconds per phase (each class runs one phase with 1 client, one with N).
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Uncounted seconds before each measured phase.
    #[arg(long, default_value_t = 1)]
    warm_up_secs: u64,
    /// N, the number of concurrent clients of the second phase.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Where to write every figure as JSON.
    #[arg(long)]
    output: Option<PathBuf>,
    /// The server binary; build it first with `cargo build --release -p kith`.
    #[arg(long)]
    kith_binary: Option<PathBuf>,
    /// The repository's testdata directory (templates and compositions).
    #[arg(long)]
    testdata: Option<PathBuf>,
    /// Only these classes (comma-separated names, e.g. comp-create-small,comp-read-latest).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// How many small compositions the dedicated storage run commits.
    #[arg(long, default_value_t = 10_000)]
    storage_compositions: usize,
    /// Skip the raw database baseline.
    #[arg(long, conflicts_with = "raw_only")]
    skip_raw: bool,
    /// Measure only the raw database baseline, without starting a server.
    #[arg(long)]
    raw_only: bool,
    /// Measure only the in-process template figures (parse, validate, FLAT), no server.
    #[arg(long, conflicts_with_all = ["raw_only", "skip_templates"])]
    templates_only: bool,
    /// Skip the in-process template figures.
    #[arg(long)]
    skip_templates: bool,
    /// Run the AQL benchmark instead of the operation classes: the five questions of
    /// issue 4 over HTTP and as hand-written SQL, on a store seeded beforehand with
    /// `kith seed` (--aql-data-dir for SQLite, --aql-database-url for PostgreSQL), which is
    /// reused as it is. --backend, --duration-secs, --warm-up-secs and --output apply.
    #[arg(long, conflicts_with_all = ["raw_only", "templates_only"])]
    aql: bool,
    /// The seeded SQLite data directory (holding kith.db) the AQL benchmark serves from.
    #[arg(long, requires = "aql")]
    aql_data_dir: Option<PathBuf>,
    /// The seeded PostgreSQL database the AQL benchmark serves from; it is not dropped.
    #[arg(long, requires = "aql")]
    aql_database_url: Option<String>,
    /// Only these AQL questions (aql-patient, aql-ward, aql-population, aql-care-plan,
    /// aql-stored).
    #[arg(long, value_delimiter = ',', requires = "aql")]
    aql_questions: Vec<String>,
    /// How many people aql-patient and aql-stored cycle through.
    #[arg(long, default_value_t = 200)]
    aql_people: usize,
    /// How many fixed ward sets (20 people and 3 unknown ids each) aql-ward cycles through.
    #[arg(long, default_value_t = 10)]
    aql_ward_sets: usize,
    /// How many inputs of each question have their AQL and SQL answers compared.
    #[arg(long, default_value_t = 20)]
    aql_checks: usize,
    /// The fewest measured requests per question and side, however long they take.
    #[arg(long, default_value_t = 5)]
    aql_min_samples: usize,
    /// Who the requests are sent as: admin (the default), clinician (a clinician at GP
    /// practice A81001, decided with the person's relationships and directives) and
    /// clinician-org-type (the same, the organisation type in the token). With more than
    /// the administrator, the people of the records read are registered at the practice
    /// with two directives in force, and each class (or, with --aql, aql-patient and
    /// aql-stored) is measured as every caller, interleaved, in the same run.
    #[arg(long = "as", value_delimiter = ',')]
    callers: Vec<String>,
    /// With --aql and a clinician: how many people are registered at the practice, the
    /// ones asked about and then others of the store, so that the clinician's reach (what
    /// a query is filtered by) has this size. Default: only the ones asked about.
    #[arg(long, requires = "aql")]
    aql_practice_people: Option<usize>,
}

/// A path given relative to the workspace: as given when it exists from here, else
/// resolved from this crate's directory, so `cargo run` works from anywhere in the tree.
fn workspace_path(given: Option<PathBuf>, default: &str) -> PathBuf {
    let path = given.unwrap_or_else(|| PathBuf::from(default));
    if path.is_absolute() || path.exists() {
        return path;
    }
    let from_manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&path);
    if from_manifest.exists() {
        from_manifest
    } else {
        path
    }
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(arguments.clients >= 1, "--clients must be at least 1");
    anyhow::ensure!(
        arguments.duration_secs >= 1,
        "--duration-secs must be at least 1"
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(arguments))
}

async fn run(arguments: Arguments) -> anyhow::Result<()> {
    let binary = workspace_path(arguments.kith_binary.clone(), "target/release/kith");
    anyhow::ensure!(
        arguments.raw_only || arguments.templates_only || binary.exists(),
        "no server binary at {}; build it first: cargo build --release -p kith -p kith-bench",
        binary.display()
    );
    let callers = callers::parse_callers(&arguments.callers)?;
    if arguments.aql {
        return run_aql(&arguments, &binary, callers).await;
    }
    let testdata = workspace_path(arguments.testdata.clone(), "testdata");
    let documents = Arc::new(Documents::load(&testdata)?);
    let classes: Vec<Class> = if arguments.classes.is_empty() {
        Class::ALL.to_vec()
    } else {
        arguments
            .classes
            .iter()
            .map(|name| Class::parse(name).with_context(|| format!("unknown class {name}")))
            .collect::<anyhow::Result<_>>()?
    };
    if callers != [callers::CallerKind::Admin] {
        let writers: Vec<&str> = classes
            .iter()
            .filter(|class| !class.reads_fixture())
            .map(|class| class.name())
            .collect();
        anyhow::ensure!(
            writers.is_empty() && !arguments.classes.is_empty(),
            "--as with a clinician needs --classes naming only classes that read the fixture \
             (ehr-read, comp-read-latest, comp-read-version, history-read, dir-read){}",
            if writers.is_empty() {
                String::new()
            } else {
                format!("; not {}", writers.join(", "))
            }
        );
    }
    let backends: &[Backend] = match arguments.backend {
        BackendChoice::Sqlite => &[Backend::Sqlite],
        BackendChoice::Postgres => &[Backend::Postgres],
        BackendChoice::Both => &[Backend::Sqlite, Backend::Postgres],
    };
    let mut report = Report {
        machine: machine::Machine::describe(),
        settings: Settings {
            clients: arguments.clients,
            duration_secs: arguments.duration_secs,
            warm_up_secs: arguments.warm_up_secs,
            kith_binary: binary.display().to_string(),
            storage_compositions: arguments.storage_compositions,
        },
        templates: None,
        backends: Vec::new(),
        failures: Vec::new(),
    };
    // In process and first, while nothing else of the benchmark runs.
    if !arguments.skip_templates {
        match templates::measure(&testdata) {
            Ok(figures) => report.templates = Some(figures),
            Err(error) => report.failures.push(format!("templates: {error:#}")),
        }
    }
    if arguments.templates_only {
        print!("{}", report::render(&report));
        return Ok(());
    }
    let bench = Bench {
        arguments: &arguments,
        binary: &binary,
        documents,
        classes,
        callers,
    };
    for backend in backends {
        match bench.run_backend(*backend).await {
            Ok(figures) => report.backends.push(figures),
            Err(error) => {
                eprintln!("{}: {error:#}", backend.name());
                report
                    .failures
                    .push(format!("{}: {error:#}", backend.name()));
            }
        }
    }
    print!("{}", report::render(&report));
    if let Some(output) = &arguments.output {
        std::fs::write(output, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", output.display()))?;
        println!("\nwrote {}", output.display());
    }
    anyhow::ensure!(
        report.failures.is_empty(),
        "some backends could not be measured"
    );
    Ok(())
}

/// `--aql`: the AQL questions on an already seeded store, per backend.
async fn run_aql(
    arguments: &Arguments,
    binary: &Path,
    callers: Vec<callers::CallerKind>,
) -> anyhow::Result<()> {
    let questions = if arguments.aql_questions.is_empty() {
        aql::Question::ALL.to_vec()
    } else {
        arguments
            .aql_questions
            .iter()
            .map(|name| {
                aql::Question::parse(name).with_context(|| format!("unknown question {name}"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let settings = aql::AqlSettings {
        sqlite_data_dir: arguments.aql_data_dir.clone(),
        postgres_url: arguments.aql_database_url.clone(),
        questions,
        people: arguments.aql_people.max(1),
        ward_sets: arguments.aql_ward_sets.max(1),
        checks: arguments.aql_checks,
        warm_up: Duration::from_secs(arguments.warm_up_secs),
        duration: Duration::from_secs(arguments.duration_secs),
        min_samples: arguments.aql_min_samples.max(1),
        callers,
        practice_people: arguments.aql_practice_people,
    };
    let backends: &[Backend] = match arguments.backend {
        BackendChoice::Sqlite => &[Backend::Sqlite],
        BackendChoice::Postgres => &[Backend::Postgres],
        BackendChoice::Both => &[Backend::Sqlite, Backend::Postgres],
    };
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for backend in backends {
        match aql::run(binary, *backend, &settings).await {
            Ok(report) => reports.push(report),
            Err(error) => {
                eprintln!("{}: {error:#}", backend.name());
                failures.push(format!("{}: {error:#}", backend.name()));
            }
        }
    }
    print!("{}", aql::render(&reports));
    if let Some(output) = &arguments.output {
        let document = serde_json::json!({
            "machine": machine::Machine::describe(),
            "duration_secs": arguments.duration_secs,
            "warm_up_secs": arguments.warm_up_secs,
            "kith_binary": binary.display().to_string(),
            "aql": reports,
            "failures": failures,
        });
        std::fs::write(output, serde_json::to_vec_pretty(&document)?)
            .with_context(|| format!("writing {}", output.display()))?;
        println!("\nwrote {}", output.display());
    }
    anyhow::ensure!(failures.is_empty(), "some backends could not be measured");
    Ok(())
}

struct Bench<'a> {
    arguments: &'a Arguments,
    binary: &'a Path,
    documents: Arc<Documents>,
    classes: Vec<Class>,
    callers: Vec<callers::CallerKind>,
}

/// Where one server keeps its data: a temporary directory, and on PostgreSQL a scratch
/// database. Both go away when the run ends, whether it succeeded or not.
struct Place {
    directory: tempfile::TempDir,
    database: Option<ScratchDatabase>,
}

impl Place {
    async fn new(backend: Backend, admin_url: &str) -> anyhow::Result<Place> {
        let directory = tempfile::Builder::new().prefix("kith-bench-").tempdir()?;
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(ScratchDatabase::create(admin_url, "kith_bench").await?),
        };
        Ok(Place {
            directory,
            database,
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    async fn start(&self, binary: &Path, token: &str) -> anyhow::Result<RunningServer> {
        RunningServer::start(
            binary,
            &self.data_dir(),
            self.database.as_ref().map(|database| database.url.as_str()),
            token,
            &self.directory.path().join("server.log"),
        )
        .await
    }

    /// The stored bytes: the checkpointed SQLite file (the server must have stopped) or
    /// the PostgreSQL database size.
    async fn stored_bytes(&self) -> anyhow::Result<u64> {
        match &self.database {
            Some(database) => database.size().await,
            None => sqlite_checkpointed_size(&self.data_dir()),
        }
    }

    /// Events in the audit trail now (the server may be running: SQLite is read through
    /// its WAL, as any reader would).
    async fn audit_events(&self) -> anyhow::Result<u64> {
        const COUNT: &str = "SELECT COUNT(*) FROM audit_event";
        match &self.database {
            Some(database) => {
                let client = server::connect(&database.url).await?;
                let count: i64 = client.query_one(COUNT, &[]).await?.get(0);
                Ok(count as u64)
            }
            None => {
                let path = self.data_dir().join("kith.db");
                let connection = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .with_context(|| format!("opening {} to count audit events", path.display()))?;
                let count: i64 = connection.query_row(COUNT, [], |row| row.get(0))?;
                Ok(count as u64)
            }
        }
    }

    async fn finish(self) {
        if let Some(database) = self.database
            && let Err(error) = database.drop_database().await
        {
            eprintln!("warning: {error:#}");
        }
    }
}

impl Bench<'_> {
    async fn run_backend(&self, backend: Backend) -> anyhow::Result<BackendReport> {
        if self.arguments.raw_only {
            let mut figures = BackendReport::empty(backend.name());
            figures.raw = Some(self.raw_baseline(backend).await?);
            return Ok(figures);
        }
        let place = Place::new(backend, &self.arguments.database_url).await?;
        let outcome = self.measure_backend(backend, &place).await;
        place.finish().await;
        let mut figures = outcome?;
        if self.callers != [callers::CallerKind::Admin] {
            // A run as several callers measures reads only: storage and the raw baseline
            // belong to the administrator's class runs.
            return Ok(figures);
        }
        figures.dedicated_storage = match self.dedicated_storage(backend).await {
            Ok(dedicated) => Some(dedicated),
            Err(error) => {
                figures
                    .problems
                    .push(format!("dedicated storage run: {error:#}"));
                None
            }
        };
        if !self.arguments.skip_raw {
            figures.raw = match self.raw_baseline(backend).await {
                Ok(raw) => Some(raw),
                Err(error) => {
                    figures.problems.push(format!("raw baseline: {error:#}"));
                    None
                }
            };
        }
        figures.compare();
        Ok(figures)
    }

    async fn measure_backend(
        &self,
        backend: Backend,
        place: &Place,
    ) -> anyhow::Result<BackendReport> {
        let token = random_hex(24)?;
        eprintln!("[{}] starting {}", backend.name(), self.binary.display());
        let server = place.start(self.binary, &token).await?;
        let cold_start_ms = server.cold_start.as_secs_f64() * 1e3;
        // Measured before any request, so migrations are in and no data is.
        let empty_bytes = match backend {
            Backend::Postgres => Some(place.stored_bytes().await?),
            Backend::Sqlite => None,
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle_rss_kib = server.resident_kib()?;
        eprintln!(
            "[{}] cold start {cold_start_ms:.0} ms, idle {} KiB; building the fixture",
            backend.name(),
            idle_rss_kib
        );
        let api = server.api()?;
        let several_callers = self.callers != [callers::CallerKind::Admin];
        // The clinician reads records of registered people: register them first, so the
        // fixture is built in their EHRs and every caller reads the same objects.
        let setup_started = Instant::now();
        let people = if several_callers {
            callers::register_practice(&api).await?;
            let mut people = Vec::with_capacity(SHARED_EHRS);
            for (index, nhs_number) in callers::nhs_numbers(SHARED_EHRS).iter().enumerate() {
                people.push(
                    callers::register_person(&api, nhs_number, &format!("Bench{index}")).await?,
                );
            }
            people
        } else {
            Vec::new()
        };
        let given_ehrs =
            several_callers.then(|| people.iter().map(|person| person.ehr_id.clone()).collect());
        let (fixture, fixture_versions) =
            workload::build_fixture(&api, &self.documents, given_ehrs).await?;
        for person in &people {
            callers::put_circle_of_care(&api, &person.person_id).await?;
        }
        let setup_secs = setup_started.elapsed().as_secs_f64();
        let context = Arc::new(Context {
            documents: Arc::clone(&self.documents),
            fixture,
            composition_versions: AtomicU64::new(fixture_versions),
            address: server.address.clone(),
            token: token.clone(),
        });
        let warm_up = Duration::from_secs(self.arguments.warm_up_secs);
        let duration = Duration::from_secs(self.arguments.duration_secs);
        let mut classes = Vec::new();
        let access = if several_callers {
            let tokens = callers::tokens(&self.callers, self.binary, &place.data_dir(), &token)?;
            let access = self
                .measure_callers(backend, place, &server, &context, tokens, setup_secs)
                .await?;
            Some(access)
        } else {
            None
        };
        for class in self.classes.iter().filter(|_| !several_callers) {
            let one_client = workload::run_phase(&context, *class, 1, warm_up, duration).await;
            let many_clients =
                workload::run_phase(&context, *class, self.arguments.clients, warm_up, duration)
                    .await;
            eprintln!(
                "[{}] {:<20} 1 client p50 {:.2} ms | {} clients {:.0}/s p50 {:.2} ms p99 {:.2} ms{}",
                backend.name(),
                class.name(),
                one_client.p50_ms.unwrap_or(f64::NAN),
                self.arguments.clients,
                many_clients.throughput_per_sec,
                many_clients.p50_ms.unwrap_or(f64::NAN),
                many_clients.p99_ms.unwrap_or(f64::NAN),
                if one_client.aborted.is_some() || many_clients.aborted.is_some() {
                    " ABORTED"
                } else {
                    ""
                }
            );
            classes.push(ClassReport {
                class: class.name(),
                one_client,
                many_clients,
            });
        }
        let peak_rss_kib = server.peak_resident_kib()?;
        let composition_versions = context.composition_versions.load(Ordering::Relaxed);
        let mut problems = Vec::new();
        let stored_before_stop = place.stored_bytes().await;
        if let Err(error) = server.stop().await {
            problems.push(format!("stopping the server: {error:#}"));
        }
        let (sqlite_db_bytes, sqlite_wal_bytes, stored_bytes) = match backend {
            Backend::Sqlite => {
                let (main, wal) = sqlite_size(&place.data_dir());
                (Some(main), Some(wal), place.stored_bytes().await?)
            }
            Backend::Postgres => (
                None,
                None,
                stored_before_stop?.saturating_sub(empty_bytes.unwrap_or(0)),
            ),
        };
        Ok(BackendReport {
            backend: backend.name(),
            cold_start_ms,
            idle_rss_kib,
            peak_rss_kib,
            classes,
            storage: Some(Storage {
                composition_versions,
                stored_bytes,
                bytes_per_composition_version: stored_bytes as f64
                    / composition_versions.max(1) as f64,
                sqlite_db_bytes,
                sqlite_wal_bytes,
                postgres_empty_bytes: empty_bytes,
            }),
            dedicated_storage: None,
            raw: None,
            comparisons: Vec::new(),
            access,
            problems,
        })
    }

    /// Every class as every caller, interleaved (1 client, then N), with the audit events
    /// appended and the server's CPU by thread over all of it.
    async fn measure_callers(
        &self,
        backend: Backend,
        place: &Place,
        server: &RunningServer,
        context: &Arc<Context>,
        callers: Vec<callers::Caller>,
        setup_secs: f64,
    ) -> anyhow::Result<report::AccessReport> {
        let warm_up = Duration::from_secs(self.arguments.warm_up_secs);
        let duration = Duration::from_secs(self.arguments.duration_secs);
        let kinds: Vec<callers::CallerKind> = callers.iter().map(|caller| caller.kind).collect();
        let tokens: Vec<String> = callers.into_iter().map(|caller| caller.token).collect();
        let events_before = place.audit_events().await?;
        let cpu_before = machine::thread_cpu_seconds(server.pid);
        let load_average_before = machine::load_average();
        let started = Instant::now();
        let mut requests_sent = 0;
        let mut classes = Vec::new();
        for class in &self.classes {
            let mut phases = Vec::new();
            for clients in [1, self.arguments.clients] {
                let paired = workload::run_paired_phase(
                    context, *class, clients, warm_up, duration, &tokens,
                )
                .await;
                requests_sent += paired.requests_sent;
                let figures = report::CallerFigures::compare(&kinds, paired.sides);
                for side in &figures {
                    eprintln!(
                        "[{}] {:<18} as {:<18} {:>2} clients: {:>6.0}/s p50 {:.3} ms p99 {:.3} ms (x{} of admin at p50){}",
                        backend.name(),
                        class.name(),
                        side.caller.name(),
                        clients,
                        side.figures.throughput_per_sec,
                        side.figures.p50_ms.unwrap_or(f64::NAN),
                        side.figures.p99_ms.unwrap_or(f64::NAN),
                        side.p50_over_admin
                            .map_or("-".to_owned(), |ratio| format!("{ratio:.3}")),
                        if side.figures.aborted.is_some() {
                            " ABORTED"
                        } else {
                            ""
                        }
                    );
                }
                phases.push(figures);
            }
            let many_clients = phases.pop().unwrap_or_default();
            let one_client = phases.pop().unwrap_or_default();
            classes.push(report::AccessClassReport {
                class: class.name(),
                one_client,
                many_clients,
            });
        }
        let wall_secs = started.elapsed().as_secs_f64();
        let server_cpu_by_thread =
            machine::cpu_used(&cpu_before, &machine::thread_cpu_seconds(server.pid));
        let events_appended = place.audit_events().await?.saturating_sub(events_before);
        let server_cpu_secs: f64 = server_cpu_by_thread.values().sum();
        let per_request = |seconds: f64| seconds * 1e6 / requests_sent.max(1) as f64;
        let writer = server_cpu_by_thread
            .iter()
            .filter(|(name, _)| name.starts_with("kith-sqlite-wri"))
            .map(|(_, seconds)| *seconds)
            .reduce(|a, b| a + b);
        Ok(report::AccessReport {
            callers: kinds,
            people_registered: SHARED_EHRS,
            setup_secs,
            classes,
            audit: report::AuditFigures {
                requests_sent,
                events_appended,
                events_per_request: events_appended as f64 / requests_sent.max(1) as f64,
                wall_secs,
                server_cpu_secs,
                server_cpu_us_per_request: per_request(server_cpu_secs),
                sqlite_writer_cpu_us_per_request: writer.map(per_request),
                server_cpu_by_thread,
                load_average_before,
                load_average_after: machine::load_average(),
            },
        })
    }

    /// A fresh server; templates and EHRs first, then the size, then exactly `count`
    /// small compositions, then the size again. SQLite is measured with the server stopped
    /// so that the files are complete; the server is restarted on the same directory.
    async fn dedicated_storage(&self, backend: Backend) -> anyhow::Result<DedicatedStorage> {
        let place = Place::new(backend, &self.arguments.database_url).await?;
        let outcome = self.dedicated_storage_in(backend, &place).await;
        place.finish().await;
        outcome
    }

    async fn dedicated_storage_in(
        &self,
        backend: Backend,
        place: &Place,
    ) -> anyhow::Result<DedicatedStorage> {
        let count = self.arguments.storage_compositions;
        eprintln!(
            "[{}] dedicated storage run: {count} small compositions",
            backend.name()
        );
        let token = random_hex(24)?;
        let mut server = place.start(self.binary, &token).await?;
        let api = server.api()?;
        workload::upload_templates(&api, &self.documents).await?;
        let mut ehrs = Vec::with_capacity(SHARED_EHRS);
        for _ in 0..SHARED_EHRS {
            ehrs.push(workload::create_ehr(&api).await?);
        }
        let bytes_before = match backend {
            Backend::Postgres => place.stored_bytes().await?,
            Backend::Sqlite => {
                server.stop().await?;
                let size = place.stored_bytes().await?;
                server = place.start(self.binary, &token).await?;
                size
            }
        };
        let context = Arc::new(Context {
            documents: Arc::clone(&self.documents),
            fixture: workload::Fixture {
                ehrs: ehrs.clone(),
                read_targets: Vec::new(),
            },
            composition_versions: AtomicU64::new(0),
            address: server.address.clone(),
            token,
        });
        let started = Instant::now();
        workload::commit_small_compositions(&context, &ehrs, count, self.arguments.clients).await?;
        let commit_secs = started.elapsed().as_secs_f64();
        let bytes_after = match backend {
            Backend::Postgres => {
                let size = place.stored_bytes().await?;
                server.stop().await?;
                size
            }
            Backend::Sqlite => {
                server.stop().await?;
                place.stored_bytes().await?
            }
        };
        Ok(DedicatedStorage {
            compositions: count,
            bytes_before,
            bytes_after,
            bytes_per_composition: bytes_after.saturating_sub(bytes_before) as f64
                / count.max(1) as f64,
            commit_secs,
        })
    }

    async fn raw_baseline(&self, backend: Backend) -> anyhow::Result<raw::RawFigures> {
        eprintln!("[{}] raw database baseline", backend.name());
        let warm_up = Duration::from_secs(self.arguments.warm_up_secs);
        let duration = Duration::from_secs(self.arguments.duration_secs);
        let clients = self.arguments.clients;
        let document = self.documents.small.to_vec();
        match backend {
            Backend::Sqlite => {
                let directory = tempfile::Builder::new()
                    .prefix("kith-bench-raw-")
                    .tempdir()?;
                tokio::task::spawn_blocking(move || {
                    raw::sqlite_baseline(&document, directory.path(), clients, warm_up, duration)
                })
                .await?
            }
            Backend::Postgres => {
                let database =
                    ScratchDatabase::create(&self.arguments.database_url, "kith_bench_raw").await?;
                let outcome =
                    raw::postgres_baseline(&document, &database.url, clients, warm_up, duration)
                        .await;
                database.drop_database().await?;
                outcome
            }
        }
    }
}
