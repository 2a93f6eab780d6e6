//! What a run produced, as one serialisable report and as the table printed to stdout.

use std::fmt::Write;

use serde::Serialize;

use crate::callers::CallerKind;
use crate::machine::Machine;
use crate::raw::RawFigures;
use crate::stats::PhaseFigures;

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    /// In-process template figures (parse, validate, FLAT conversion).
    pub templates: Option<crate::templates::TemplateFigures>,
    pub backends: Vec<BackendReport>,
    /// Backends that could not be measured, with the reason.
    pub failures: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub clients: usize,
    pub duration_secs: u64,
    pub warm_up_secs: u64,
    pub kith_binary: String,
    pub storage_compositions: usize,
}

#[derive(Debug, Serialize)]
pub struct ClassReport {
    pub class: &'static str,
    pub one_client: PhaseFigures,
    pub many_clients: PhaseFigures,
}

#[derive(Debug, Default, Serialize)]
pub struct Storage {
    /// Composition versions committed through the API during the class runs (fixture,
    /// warm-up and setup included), the divisor of `bytes_per_composition_version`.
    pub composition_versions: u64,
    /// What the database holds after the runs, minus an empty migrated database on
    /// PostgreSQL; on SQLite the main file after a clean stop and a checkpoint of its WAL.
    pub stored_bytes: u64,
    pub bytes_per_composition_version: f64,
    /// The SQLite main file and WAL as the server left them, before the checkpoint.
    pub sqlite_db_bytes: Option<u64>,
    pub sqlite_wal_bytes: Option<u64>,
    pub postgres_empty_bytes: Option<u64>,
}

/// Exactly `compositions` small compositions committed into a fresh server.
#[derive(Debug, Default, Serialize)]
pub struct DedicatedStorage {
    pub compositions: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub bytes_per_composition: f64,
    /// Wall-clock time of the commits (with the configured number of clients).
    pub commit_secs: f64,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub figure: &'static str,
    pub kith: Option<f64>,
    pub raw: Option<f64>,
    pub ratio_kith_over_raw: Option<f64>,
}

/// One caller's figures in a phase measured as several callers (`--as`), with its ratio to
/// the administrator's figures of the same phase.
#[derive(Debug, Serialize)]
pub struct CallerFigures {
    pub caller: CallerKind,
    pub figures: PhaseFigures,
    pub p50_over_admin: Option<f64>,
    pub p99_over_admin: Option<f64>,
}

impl CallerFigures {
    /// The figures of each caller, each set against the administrator's (when measured).
    pub fn compare(callers: &[CallerKind], sides: Vec<PhaseFigures>) -> Vec<CallerFigures> {
        let admin = callers
            .iter()
            .position(|caller| caller.is_admin())
            .map(|position| (sides[position].p50_ms, sides[position].p99_ms));
        let ratio = |value: Option<f64>, base: Option<f64>| match (value, base) {
            (Some(value), Some(base)) if base > 0.0 => Some(value / base),
            _ => None,
        };
        callers
            .iter()
            .zip(sides)
            .map(|(caller, figures)| CallerFigures {
                caller: *caller,
                p50_over_admin: admin.and_then(|(p50, _)| ratio(figures.p50_ms, p50)),
                p99_over_admin: admin.and_then(|(_, p99)| ratio(figures.p99_ms, p99)),
                figures,
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub struct AccessClassReport {
    pub class: &'static str,
    pub one_client: Vec<CallerFigures>,
    pub many_clients: Vec<CallerFigures>,
}

/// What the audit trail and the server's threads did during the phases measured as
/// several callers: every request sent (warm-up included) against the events appended,
/// and the CPU each of the server's threads used, by thread name.
#[derive(Debug, Default, Serialize)]
pub struct AuditFigures {
    pub requests_sent: u64,
    pub events_appended: u64,
    pub events_per_request: f64,
    pub wall_secs: f64,
    pub server_cpu_secs: f64,
    pub server_cpu_by_thread: std::collections::BTreeMap<String, f64>,
    /// Server CPU per request sent, in microseconds.
    pub server_cpu_us_per_request: f64,
    /// The SQLite writer thread's CPU per request: on a read-only workload it writes
    /// nothing but the audit events.
    pub sqlite_writer_cpu_us_per_request: Option<f64>,
    /// One-minute load averages sampled before and after the phases.
    pub load_average_before: Option<f64>,
    pub load_average_after: Option<f64>,
}

/// The classes measured as several callers, interleaved in the same run.
#[derive(Debug, Serialize)]
pub struct AccessReport {
    pub callers: Vec<CallerKind>,
    /// People registered (one per fixture EHR), each at the clinician's practice and with
    /// two directives in force.
    pub people_registered: usize,
    pub setup_secs: f64,
    pub classes: Vec<AccessClassReport>,
    pub audit: AuditFigures,
}

#[derive(Debug, Serialize)]
pub struct BackendReport {
    pub backend: &'static str,
    pub cold_start_ms: f64,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
    pub classes: Vec<ClassReport>,
    pub storage: Option<Storage>,
    pub dedicated_storage: Option<DedicatedStorage>,
    pub raw: Option<RawFigures>,
    pub comparisons: Vec<Comparison>,
    /// The classes as the administrator against a clinician (`--as`).
    pub access: Option<AccessReport>,
    /// Parts of the run that failed, with the reason; the rest is still reported.
    pub problems: Vec<String>,
}

impl BackendReport {
    pub fn empty(backend: &'static str) -> BackendReport {
        BackendReport {
            backend,
            cold_start_ms: 0.0,
            idle_rss_kib: 0,
            peak_rss_kib: 0,
            classes: Vec::new(),
            storage: None,
            dedicated_storage: None,
            raw: None,
            comparisons: Vec::new(),
            access: None,
            problems: Vec::new(),
        }
    }

    /// Kith next to the raw database for the figures both sides have.
    pub fn compare(&mut self) {
        let Some(raw) = &self.raw else { return };
        let class = |name: &str| self.classes.iter().find(|class| class.class == name);
        let small = class("comp-create-small");
        let read = class("comp-read-latest");
        let pair = |figure, kith: Option<f64>, raw: Option<f64>| Comparison {
            figure,
            kith,
            raw,
            ratio_kith_over_raw: match (kith, raw) {
                (Some(kith), Some(raw)) if raw > 0.0 => Some(kith / raw),
                _ => None,
            },
        };
        let throughput = |figures: &PhaseFigures| {
            (figures.aborted.is_none() && figures.requests > 0)
                .then_some(figures.throughput_per_sec)
        };
        let mut comparisons = vec![
            pair(
                "write p50 ms, 1 client",
                small.and_then(|c| c.one_client.p50_ms),
                raw.write_one.p50_ms,
            ),
            pair(
                "write p99 ms, 1 client",
                small.and_then(|c| c.one_client.p99_ms),
                raw.write_one.p99_ms,
            ),
            pair(
                "writes/s, N clients",
                small.and_then(|c| throughput(&c.many_clients)),
                throughput(&raw.write_many),
            ),
            pair(
                "write p50 ms, N clients",
                small.and_then(|c| c.many_clients.p50_ms),
                raw.write_many.p50_ms,
            ),
            pair(
                "read p50 ms, 1 client",
                read.and_then(|c| c.one_client.p50_ms),
                raw.read_one.p50_ms,
            ),
            pair(
                "read p99 ms, 1 client",
                read.and_then(|c| c.one_client.p99_ms),
                raw.read_one.p99_ms,
            ),
            pair(
                "reads/s, N clients",
                read.and_then(|c| throughput(&c.many_clients)),
                throughput(&raw.read_many),
            ),
            pair(
                "read p50 ms, N clients",
                read.and_then(|c| c.many_clients.p50_ms),
                raw.read_many.p50_ms,
            ),
        ];
        comparisons.push(pair(
            "bytes per small composition",
            self.dedicated_storage
                .as_ref()
                .map(|s| s.bytes_per_composition),
            Some(raw.bytes_per_document),
        ));
        self.comparisons = comparisons;
    }
}

fn number(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(value) => format!("{value:.decimals$}"),
        None => "-".to_owned(),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The human-readable form of the whole report.
fn render_templates(
    out: &mut String,
    figures: &crate::templates::TemplateFigures,
    backends: &[BackendReport],
) {
    let _ = writeln!(out, "\n=== templates, in process ===");
    let _ = writeln!(
        out,
        "{:<42} {:>9} {:>10} {:>10}",
        "opt::parse", "bytes", "best ms", "median ms"
    );
    for parse in &figures.parse {
        let _ = writeln!(
            out,
            "{:<42} {:>9} {:>10.2} {:>10.2}",
            parse.template, parse.bytes, parse.best_ms, parse.median_ms
        );
    }
    let timing = |name: &str, timing: &crate::templates::Timing| {
        format!(
            "{name:<42} p50 {:>8.1} µs   p99 {:>8.1} µs\n",
            timing.p50_us, timing.p99_us
        )
    };
    out.push_str(&timing(
        "validate vital signs (ehrn_vital_signs.v2)",
        &figures.validate_vital_signs,
    ));
    out.push_str(&timing(
        "FLAT -> canonical, vital signs",
        &figures.flat_to_canonical,
    ));
    out.push_str(&timing(
        "canonical -> FLAT, vital signs",
        &figures.canonical_to_flat,
    ));
    out.push_str(&timing(
        "validate vital signs example (every node)",
        &figures.validate_example,
    ));
    match (
        &figures.example_flat_to_canonical,
        &figures.example_canonical_to_flat,
    ) {
        (Some(to_canonical), Some(to_flat)) => {
            let _ = writeln!(
                out,
                "  its FLAT form has {} values",
                figures.example_leaf_values
            );
            out.push_str(&timing(
                "FLAT -> canonical, vital signs example",
                to_canonical,
            ));
            out.push_str(&timing("canonical -> FLAT, vital signs example", to_flat));
        }
        _ => {
            let _ = writeln!(
                out,
                "  the example has no FLAT form: {}",
                figures.example_flat_problem.as_deref().unwrap_or("?")
            );
        }
    }
    let _ = writeln!(
        out,
        "{:<42} {:.2} ms",
        "FLAT index of the vital signs template", figures.flat_index_ms
    );
    out.push_str(&timing(
        "small composition: json -> RM tree",
        &figures.small_parse,
    ));
    out.push_str(&timing(
        "small composition: validate",
        &figures.small_validate,
    ));
    for backend in backends {
        let create = backend
            .classes
            .iter()
            .find(|class| class.class == "comp-create-small")
            .and_then(|class| class.one_client.p50_ms);
        if let Some(create_ms) = create {
            let validate_ms = figures.small_validate.p50_us / 1e3;
            let both_ms = validate_ms + figures.small_parse.p50_us / 1e3;
            let _ = writeln!(
                out,
                "share of comp-create-small p50 on {} ({create_ms:.3} ms, 1 client): validation {:.2} %, \
                 json reading and validation {:.2} %",
                backend.backend,
                100.0 * validate_ms / create_ms,
                100.0 * both_ms / create_ms
            );
        }
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let machine = &report.machine;
    let _ = writeln!(
        out,
        "machine: {} x{}, {} MiB memory, linux {}, {}",
        machine.cpu_model,
        machine.cpu_count,
        machine.memory_total_mib,
        machine.kernel,
        machine.date_utc
    );
    let settings = &report.settings;
    let _ = writeln!(
        out,
        "settings: {} s measured per phase after {} s warm-up, 1 and {} clients, server {}",
        settings.duration_secs, settings.warm_up_secs, settings.clients, settings.kith_binary
    );
    if let Some(templates) = &report.templates {
        render_templates(&mut out, templates, &report.backends);
    }
    for backend in &report.backends {
        let _ = writeln!(out, "\n=== kith on {} ===", backend.backend);
        // A raw-only run has no server figures to show.
        let server_measured = backend.cold_start_ms > 0.0;
        if server_measured {
            render_server(&mut out, backend, settings.clients);
        }
        if let Some(raw) = &backend.raw {
            let _ = writeln!(
                out,
                "raw {} baseline (same small document, zstd, no http): write 1 writer p50 {} ms; \
                 {} writers {} /s; read 1 reader p50 {} ms; {} readers {} /s; {:.0} bytes per document",
                raw.database,
                number(raw.write_one.p50_ms, 3),
                settings.clients,
                number(Some(raw.write_many.throughput_per_sec), 0),
                number(raw.read_one.p50_ms, 3),
                settings.clients,
                number(Some(raw.read_many.throughput_per_sec), 0),
                raw.bytes_per_document
            );
            for phase in [
                &raw.write_one,
                &raw.write_many,
                &raw.read_one,
                &raw.read_many,
            ] {
                if let Some(aborted) = &phase.aborted {
                    let _ = writeln!(out, "    RAW ABORTED: {aborted}");
                }
            }
            if !backend.comparisons.is_empty() {
                let _ = writeln!(
                    out,
                    "{:<30} {:>12} {:>12} {:>10}",
                    "kith vs raw", "kith", "raw", "kith/raw"
                );
            }
            for comparison in &backend.comparisons {
                let _ = writeln!(
                    out,
                    "{:<30} {:>12} {:>12} {:>10}",
                    comparison.figure,
                    number(comparison.kith, 2),
                    number(comparison.raw, 2),
                    number(comparison.ratio_kith_over_raw, 2)
                );
            }
        }
        for problem in &backend.problems {
            let _ = writeln!(out, "PROBLEM: {problem}");
        }
    }
    for failure in &report.failures {
        let _ = writeln!(out, "\nFAILED: {failure}");
    }
    out
}

fn render_server(out: &mut String, backend: &BackendReport, clients: usize) {
    let _ = writeln!(
        out,
        "cold start {:.0} ms, idle memory {}, peak memory {}",
        backend.cold_start_ms,
        mib(backend.idle_rss_kib),
        mib(backend.peak_rss_kib)
    );
    if !backend.classes.is_empty() {
        render_classes(out, backend, clients);
    }
    if let Some(access) = &backend.access {
        render_access(out, access, clients);
    }
    render_storage(out, backend);
}

fn render_classes(out: &mut String, backend: &BackendReport, clients: usize) {
    let _ = writeln!(
        out,
        "{:<20} {:>9} {:>9} | {:>10} {:>9} {:>9} | {:>6}",
        "class",
        "1c p50ms",
        "1c p99ms",
        format!("{clients}c req/s"),
        format!("{clients}c p50"),
        format!("{clients}c p99"),
        "errors"
    );
    for class in &backend.classes {
        let one = &class.one_client;
        let many = &class.many_clients;
        let _ = writeln!(
            out,
            "{:<20} {:>9} {:>9} | {:>10} {:>9} {:>9} | {:>6}",
            class.class,
            number(one.p50_ms, 2),
            number(one.p99_ms, 2),
            number(Some(many.throughput_per_sec), 0),
            number(many.p50_ms, 2),
            number(many.p99_ms, 2),
            one.errors + many.errors
        );
        for aborted in [&one.aborted, &many.aborted].into_iter().flatten() {
            let _ = writeln!(out, "    ABORTED: {aborted}");
        }
    }
}

fn render_storage(out: &mut String, backend: &BackendReport) {
    if let Some(storage) = &backend.storage {
        let _ = writeln!(
            out,
            "storage after the runs: {} bytes for {} composition versions = {:.0} bytes each (everything else included)",
            storage.stored_bytes,
            storage.composition_versions,
            storage.bytes_per_composition_version
        );
    }
    if let (Some(main), Some(wal)) = (
        storage_field(backend, |s| s.sqlite_db_bytes),
        storage_field(backend, |s| s.sqlite_wal_bytes),
    ) {
        let _ = writeln!(
            out,
            "  (as the server left them, before checkpointing: kith.db {main} bytes + kith.db-wal {wal} bytes)"
        );
    }
    if let Some(dedicated) = &backend.dedicated_storage {
        let _ = writeln!(
            out,
            "storage, dedicated run: {} small compositions grew the database by {} bytes = {:.0} bytes ({:.2} KiB) each; committed in {:.1} s",
            dedicated.compositions,
            dedicated.bytes_after.saturating_sub(dedicated.bytes_before),
            dedicated.bytes_per_composition,
            dedicated.bytes_per_composition / 1024.0,
            dedicated.commit_secs
        );
    }
}

fn storage_field(backend: &BackendReport, field: impl Fn(&Storage) -> Option<u64>) -> Option<u64> {
    backend.storage.as_ref().and_then(field)
}

fn render_access(out: &mut String, access: &AccessReport, clients: usize) {
    let names: Vec<&str> = access.callers.iter().map(|caller| caller.name()).collect();
    let _ = writeln!(
        out,
        "as {} (interleaved, same objects; {} people registered in {:.1} s):",
        names.join(", "),
        access.people_registered,
        access.setup_secs
    );
    let _ = writeln!(
        out,
        "{:<20} {:<19} {:>9} {:>9} {:>7} | {:>10} {:>9} {:>9} {:>7}",
        "class",
        "caller",
        "1c p50ms",
        "1c p99ms",
        "1c x50",
        format!("{clients}c req/s"),
        format!("{clients}c p50"),
        format!("{clients}c p99"),
        "x50"
    );
    for class in &access.classes {
        for (one, many) in class.one_client.iter().zip(&class.many_clients) {
            let _ = writeln!(
                out,
                "{:<20} {:<19} {:>9} {:>9} {:>7} | {:>10} {:>9} {:>9} {:>7}",
                class.class,
                one.caller.name(),
                number(one.figures.p50_ms, 3),
                number(one.figures.p99_ms, 3),
                number(one.p50_over_admin, 3),
                number(Some(many.figures.throughput_per_sec), 0),
                number(many.figures.p50_ms, 3),
                number(many.figures.p99_ms, 3),
                number(many.p50_over_admin, 3)
            );
        }
        let aborted = class
            .one_client
            .iter()
            .chain(&class.many_clients)
            .filter_map(|side| side.figures.aborted.as_ref())
            .next();
        if let Some(aborted) = aborted {
            let _ = writeln!(out, "    ABORTED: {aborted}");
        }
    }
    let audit = &access.audit;
    let _ = writeln!(
        out,
        "audit: {} events for {} requests ({:.3} per request) in {:.1} s; server CPU {:.1} s = {:.0} µs per request{}; load average {} -> {}",
        audit.events_appended,
        audit.requests_sent,
        audit.events_per_request,
        audit.wall_secs,
        audit.server_cpu_secs,
        audit.server_cpu_us_per_request,
        audit
            .sqlite_writer_cpu_us_per_request
            .map(|writer| format!(
                " (SQLite writer thread, which writes only the audit here: {writer:.0} µs)"
            ))
            .unwrap_or_default(),
        number(audit.load_average_before, 2),
        number(audit.load_average_after, 2),
    );
    let threads: Vec<String> = audit
        .server_cpu_by_thread
        .iter()
        .filter(|(_, seconds)| **seconds > 0.0)
        .map(|(name, seconds)| format!("{name} {seconds:.2} s"))
        .collect();
    let _ = writeln!(out, "  server CPU by thread: {}", threads.join(", "));
}
