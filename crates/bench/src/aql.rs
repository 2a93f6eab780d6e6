//! The AQL benchmark (`--aql`): the five questions of issue 4 asked over HTTP of a server
//! on an already seeded store, and the same questions as hand-written SQL on the same
//! database in the same run, with the answers compared.
//!
//! The store is seeded once with `kith seed` and reused run after run; nothing here writes
//! to it, except the stored query (`PUT /definition/query/...`), which is idempotent.
//! Questions run one after another with one client: the figures are latencies, not
//! throughput. The hand-written SQL reads the query rows the server's compiler reads
//! (`query_node`, `query_value`, `query_path`; see `aql::index`) through their indexes,
//! with statements prepared once and the path ids resolved once, as an engineer writing
//! SQL against Kith's tables would.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::callers::{self, CallerKind};
use crate::client::{API, Api};
use crate::server::{Backend, RunningServer, random_hex};
use crate::stats::percentile;

const ENCOUNTER: &str = "openEHR-EHR-COMPOSITION.encounter.v1";
const REPORT: &str = "openEHR-EHR-COMPOSITION.report.v1";
const BLOOD_PRESSURE: &str = "openEHR-EHR-OBSERVATION.blood_pressure.v2";
const PULSE: &str = "openEHR-EHR-OBSERVATION.pulse.v1";
const NHS_NUMBER_NAMESPACE: &str = "uk.nhs.nhs_number";
const START_TIME: &str = "openEHR-EHR-COMPOSITION.encounter.v1/context/start_time";
const SYSTOLIC: &str = "openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value";
const DIASTOLIC: &str = "openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value";
const PULSE_RATE: &str =
    "openEHR-EHR-OBSERVATION.pulse.v1/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value";
const CPR_DECISION: &str =
    "openEHR-EHR-EVALUATION.cpr_decision_uk.v0/data[at0001]/items[at0003]/value";
const CPR_DECISION_DATE: &str =
    "openEHR-EHR-EVALUATION.cpr_decision_uk.v0/data[at0001]/items[at0002]/value";

/// The stored query's name and version.
const STORED_NAME: &str = "kith.bench::blood_pressures_over";
const STORED_VERSION: &str = "1.0.0";
/// The stored query's fixed parameters; the person varies.
const STORED_FROM: &str = "2023-01-01";
const STORED_UNTIL: &str = "2025-01-01";
const STORED_THRESHOLD: f64 = 130.0;

/// Real people per ward set, and NHS-number-shaped ids nobody has.
const WARD_PEOPLE: usize = 20;
const WARD_UNKNOWN: [&str; 3] = ["9000000000", "9000000019", "9000000027"];

// The five questions in AQL, the shapes of crates/aql/tests/data/corpus/ward/issue_*.test.

const PATIENT_AQL: &str = "SELECT
    c/context/start_time/value AS time,
    o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude AS systolic,
    o/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value/magnitude AS diastolic
FROM EHR e[ehr_id/value=$ehr_id]
    CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1]
        CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]
ORDER BY c/context/start_time/value ASC, systolic, diastolic";

const POPULATION_AQL: &str = "SELECT COUNT(DISTINCT e/ehr_id/value) AS people
FROM EHR e
    CONTAINS VERSION v[LATEST_VERSION]
        CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1]
            CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]
WHERE o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude > 140";

const CARE_PLAN_AQL: &str = "SELECT
    e/ehr_id/value AS ehr_id,
    cpr/data[at0001]/items[at0002]/value/value AS decided
FROM EHR e
    CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.report.v1]
        CONTAINS EVALUATION cpr[openEHR-EHR-EVALUATION.cpr_decision_uk.v0]
WHERE c/archetype_details/template_id/value = 'ReSPECT-3.v0'
  AND cpr/data[at0001]/items[at0003]/value/defining_code/code_string = 'at0005'
ORDER BY cpr/data[at0001]/items[at0002]/value/value DESC";

const STORED_AQL: &str = "SELECT c/context/start_time/value AS time, o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude AS systolic
FROM EHR e[ehr_id/value=$ehr_id]
    CONTAINS COMPOSITION c
        CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]
WHERE c/context/start_time/value >= $from AND c/context/start_time/value < $until AND o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude > $threshold
ORDER BY c/context/start_time/value DESC
LIMIT 50 OFFSET 0";

/// The ward query with `count` subject parameters `$p01`...
fn ward_aql(count: usize) -> String {
    let parameters: Vec<String> = (1..=count).map(|index| format!("$p{index:02}")).collect();
    format!(
        "SELECT
    e/ehr_status/subject/external_ref/id/value AS subject,
    c/context/start_time/value AS time,
    o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude AS systolic,
    o/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value/magnitude AS diastolic,
    p/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value/magnitude AS pulse
FROM EHR e
    CONTAINS VERSION v[LATEST_VERSION]
        CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1]
            CONTAINS (OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2] OR OBSERVATION p[openEHR-EHR-OBSERVATION.pulse.v1])
WHERE e/ehr_status/subject/external_ref/id/value MATCHES {{{}}}
ORDER BY c/context/start_time/value DESC, systolic, pulse",
        parameters.join(", ")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    Patient,
    Ward,
    Population,
    CarePlan,
    Stored,
}

impl Question {
    pub const ALL: [Question; 5] = [
        Question::Patient,
        Question::Ward,
        Question::Population,
        Question::CarePlan,
        Question::Stored,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Question::Patient => "aql-patient",
            Question::Ward => "aql-ward",
            Question::Population => "aql-population",
            Question::CarePlan => "aql-care-plan",
            Question::Stored => "aql-stored",
        }
    }

    pub fn parse(name: &str) -> Option<Question> {
        Question::ALL
            .into_iter()
            .find(|question| question.name() == name)
    }

    fn describe(self) -> &'static str {
        match self {
            Question::Patient => "one person's blood pressures over time (varying person)",
            Question::Ward => "latest vital signs of 20 named people and 3 unknown ids",
            Question::Population => {
                "people with a systolic over 140 in their latest compositions, counted"
            }
            Question::CarePlan => "people with a ReSPECT 'not for CPR' decision",
            Question::Stored => "stored query with parameters (varying person)",
        }
    }
}

pub struct AqlSettings {
    pub sqlite_data_dir: Option<PathBuf>,
    pub postgres_url: Option<String>,
    pub questions: Vec<Question>,
    pub people: usize,
    pub ward_sets: usize,
    pub checks: usize,
    pub warm_up: Duration,
    pub duration: Duration,
    pub min_samples: usize,
    /// Who to ask as (`--as`); more than the administrator measures the callers against
    /// each other instead of AQL against SQL.
    pub callers: Vec<CallerKind>,
    /// People to register at the clinician's practice (`--aql-practice-people`).
    pub practice_people: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Latencies {
    pub samples: usize,
    pub errors: u64,
    pub first_error: Option<String>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Mean rows per answer over the measured requests.
    pub mean_rows: f64,
    /// AQL only: the server's time in the database per request (its `Server-Timing`), the
    /// figure to hold against the hand-written SQL's, HTTP and JSON aside.
    pub database_p50_ms: Option<f64>,
    pub database_p99_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct QuestionReport {
    pub question: &'static str,
    pub description: &'static str,
    /// `sql` or `evaluation`, from `?explain=true`, with the reason when not compiled.
    pub strategy: Option<String>,
    pub strategy_reason: Option<String>,
    pub aql: Latencies,
    pub sql: Latencies,
    pub ratio_p50: Option<f64>,
    pub ratio_p99: Option<f64>,
    /// The AQL statement's time in the database against the hand-written SQL's.
    pub database_ratio_p50: Option<f64>,
    pub database_ratio_p99: Option<f64>,
    /// Inputs whose AQL and SQL answers were compared, and how many agreed row for row.
    pub inputs_checked: usize,
    pub inputs_agreeing: usize,
    pub first_disagreement: Option<String>,
    /// The answer of the first input (rows, or the count for the population question).
    pub first_answer_rows: usize,
    pub population_count: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct AqlBackendReport {
    pub backend: &'static str,
    pub people: u64,
    pub compositions: u64,
    pub composition_versions: u64,
    pub stored_bytes: u64,
    pub query_value_rows: u64,
    pub query_node_rows: u64,
    pub server_rss_kib_after: Option<u64>,
    pub questions: Vec<QuestionReport>,
    /// The questions as the administrator against a clinician (`--as`).
    pub callers: Option<CallersReport>,
    pub problems: Vec<String>,
}

/// One caller's latencies for a question, set against the administrator's.
#[derive(Debug, Serialize)]
pub struct CallerLatencies {
    pub caller: CallerKind,
    pub latencies: Latencies,
    pub p50_over_admin: Option<f64>,
    pub p99_over_admin: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct CallerQuestionReport {
    pub question: &'static str,
    pub sides: Vec<CallerLatencies>,
    /// Inputs whose answers were compared between the callers, and how many were the same
    /// row for row (what makes the comparison one of the same work).
    pub inputs_checked: usize,
    pub inputs_agreeing: usize,
    pub first_disagreement: Option<String>,
}

/// The questions asked as several callers, interleaved, in one run.
#[derive(Debug, Serialize)]
pub struct CallersReport {
    pub callers: Vec<CallerKind>,
    /// People registered at the clinician's practice: the clinician's reach, which every
    /// query of theirs is filtered by.
    pub practice_people: usize,
    pub setup_secs: f64,
    pub questions: Vec<CallerQuestionReport>,
    pub requests_sent: u64,
    pub audit_events_appended: u64,
    pub server_cpu_secs: f64,
    pub server_cpu_by_thread: std::collections::BTreeMap<String, f64>,
    pub load_average_before: Option<f64>,
    pub load_average_after: Option<f64>,
}

/// Path ids resolved once from `query_path`; a node's archetype is the id of the path key
/// that is the archetype id alone (`query_node.archetype_path_id`).
struct PathIds {
    encounter: i64,
    report: i64,
    blood_pressure: i64,
    pulse_archetype: i64,
    start_time: i64,
    systolic: i64,
    diastolic: i64,
    pulse: i64,
    cpr_decision: i64,
    cpr_decision_date: i64,
    /// `context/start_time` in the frame of every composition archetype, for the stored
    /// query, whose composition names no archetype.
    any_start_time: Vec<i64>,
}

/// The hand-written side: the database the server runs on, opened directly.
enum Database {
    Sqlite(rusqlite::Connection),
    Postgres(PostgresStatements),
}

struct PostgresStatements {
    client: tokio_postgres::Client,
    patient: tokio_postgres::Statement,
    ward: tokio_postgres::Statement,
    population: tokio_postgres::Statement,
    care_plan: tokio_postgres::Statement,
    stored: tokio_postgres::Statement,
}

/// The input of one request: a person, a ward set, or nothing.
#[derive(Clone)]
enum Input {
    Person(Uuid),
    Ward(Vec<String>),
    None,
}

type Rows = Vec<Vec<Value>>;

fn micros(date: &str) -> anyhow::Result<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(date, &format)?;
    Ok((day.midnight().assume_utc().unix_timestamp_nanos() / 1000) as i64)
}

fn uuid_text(bytes: &[u8]) -> anyhow::Result<Value> {
    Ok(Value::from(Uuid::from_slice(bytes)?.to_string()))
}

fn number(value: Option<f64>) -> Value {
    value.map_or(Value::Null, Value::from)
}

fn text(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::from)
}

// ---------------------------------------------------------------------------------------
// Hand-written SQL. SQLite numbers its parameters ?1...; PostgreSQL's are $1...

fn patient_sql(paths: &PathIds, dialect: Backend) -> String {
    let sql = format!(
        "SELECT t.iso8601, s.num, d.num
FROM query_node c
JOIN query_node o ON o.ehr_id = c.ehr_id AND o.object_id = c.object_id
    AND o.seq > c.seq AND o.seq <= c.last_seq AND o.archetype_path_id = {blood_pressure}
LEFT JOIN query_value t ON t.ehr_id = c.ehr_id AND t.object_id = c.object_id
    AND t.root_seq = c.seq AND t.path_id = {start}
LEFT JOIN query_value s ON s.ehr_id = o.ehr_id AND s.object_id = o.object_id
    AND s.root_seq = o.seq AND s.path_id = {systolic}
LEFT JOIN query_value d ON d.ehr_id = o.ehr_id AND d.object_id = o.object_id
    AND d.root_seq = o.seq AND d.path_id = {diastolic}
WHERE c.ehr_id = ?1 AND c.seq = 0 AND c.archetype_path_id = {encounter}
ORDER BY t.instant, s.num, d.num",
        start = paths.start_time,
        systolic = paths.systolic,
        diastolic = paths.diastolic,
        encounter = paths.encounter,
        blood_pressure = paths.blood_pressure,
    );
    placeholders(sql, dialect)
}

fn ward_sql(paths: &PathIds, dialect: Backend) -> String {
    let subjects = match dialect {
        Backend::Sqlite => {
            let list: Vec<String> = (1..=WARD_PEOPLE + WARD_UNKNOWN.len())
                .map(|index| format!("?{index}"))
                .collect();
            format!("IN ({})", list.join(", "))
        }
        Backend::Postgres => "= ANY($1)".to_owned(),
    };
    // One branch per observation of the OR: each row binds one of them, the other's
    // columns are null, as the AQL's containment with OR answers.
    format!(
        "WITH people AS (
    SELECT subject_id, ehr_id FROM ehr_subject
    WHERE namespace = '{NHS_NUMBER_NAMESPACE}' AND subject_id {subjects}
), encounters AS (
    SELECT p.subject_id, c.ehr_id, c.object_id, c.seq, c.last_seq, t.iso8601 AS time, t.instant
    FROM people p
    JOIN query_node c ON c.ehr_id = p.ehr_id AND c.seq = 0 AND c.archetype_path_id = {encounter}
    LEFT JOIN query_value t ON t.ehr_id = c.ehr_id AND t.object_id = c.object_id
        AND t.root_seq = 0 AND t.path_id = {start}
)
SELECT x.subject_id, x.time, s.num AS systolic, d.num AS diastolic, NULL AS pulse, x.instant
FROM encounters x
JOIN query_node o ON o.ehr_id = x.ehr_id AND o.object_id = x.object_id
    AND o.seq > x.seq AND o.seq <= x.last_seq AND o.archetype_path_id = {blood_pressure}
LEFT JOIN query_value s ON s.ehr_id = o.ehr_id AND s.object_id = o.object_id
    AND s.root_seq = o.seq AND s.path_id = {systolic}
LEFT JOIN query_value d ON d.ehr_id = o.ehr_id AND d.object_id = o.object_id
    AND d.root_seq = o.seq AND d.path_id = {diastolic}
UNION ALL
SELECT x.subject_id, x.time, NULL, NULL, r.num, x.instant
FROM encounters x
JOIN query_node o ON o.ehr_id = x.ehr_id AND o.object_id = x.object_id
    AND o.seq > x.seq AND o.seq <= x.last_seq AND o.archetype_path_id = {pulse_archetype}
LEFT JOIN query_value r ON r.ehr_id = o.ehr_id AND r.object_id = o.object_id
    AND r.root_seq = o.seq AND r.path_id = {pulse}
ORDER BY 6 DESC, 3, 5",
        start = paths.start_time,
        systolic = paths.systolic,
        diastolic = paths.diastolic,
        pulse = paths.pulse,
        encounter = paths.encounter,
        blood_pressure = paths.blood_pressure,
        pulse_archetype = paths.pulse_archetype,
    )
}

fn population_sql(paths: &PathIds) -> String {
    format!(
        "SELECT COUNT(DISTINCT s.ehr_id)
FROM query_value s
WHERE s.path_id = {systolic} AND s.num > 140 AND s.object_path_id = {encounter}",
        systolic = paths.systolic,
        encounter = paths.encounter,
    )
}

fn care_plan_sql(paths: &PathIds, dialect: Backend) -> String {
    // PostgreSQL indexes codes by their first 200 characters (see its migration).
    let code = match dialect {
        Backend::Sqlite => "x.code = 'at0005'",
        Backend::Postgres => "left(x.code, 200) = 'at0005' AND x.code = 'at0005'",
    };
    format!(
        "SELECT x.ehr_id, d.iso8601
FROM query_value x
JOIN query_node c ON c.ehr_id = x.ehr_id AND c.object_id = x.object_id
    AND c.seq = 0 AND c.archetype_path_id = {report}
JOIN versioned_object vo ON vo.ehr_id = x.ehr_id AND vo.object_id = x.object_id
JOIN version v ON v.ehr_id = x.ehr_id AND v.object_id = x.object_id
    AND v.version = vo.latest_version AND v.template_id = 'ReSPECT-3.v0'
LEFT JOIN query_value d ON d.ehr_id = x.ehr_id AND d.object_id = x.object_id
    AND d.root_seq = x.root_seq AND d.path_id = {date}
WHERE x.path_id = {decision} AND {code}
ORDER BY d.instant DESC",
        date = paths.cpr_decision_date,
        decision = paths.cpr_decision,
        report = paths.report,
    )
}

fn stored_sql(paths: &PathIds, dialect: Backend) -> String {
    let starts: Vec<String> = paths.any_start_time.iter().map(i64::to_string).collect();
    // Both planners would otherwise read the systolic or the time condition from the
    // (path_id, num) or (path_id, instant) index across every EHR (EXPLAIN showed it, on
    // PostgreSQL in the generic plan of the prepared statement); the unary plus keeps
    // them on this person's rows.
    let unindexed = "+";
    let sql = format!(
        "SELECT t.iso8601, s.num
FROM query_node c
JOIN query_node o ON o.ehr_id = c.ehr_id AND o.object_id = c.object_id
    AND o.seq > c.seq AND o.seq <= c.last_seq AND o.archetype_path_id = {blood_pressure}
JOIN query_value t ON t.ehr_id = c.ehr_id AND t.object_id = c.object_id
    AND t.root_seq = c.seq AND {unindexed}t.path_id IN ({starts})
JOIN query_value s ON s.ehr_id = o.ehr_id AND s.object_id = o.object_id
    AND s.root_seq = o.seq AND {unindexed}s.path_id = {systolic}
WHERE c.ehr_id = ?1 AND c.rm_type = 'COMPOSITION'
    AND t.instant >= ?2 AND t.instant < ?3 AND s.num > ?4
ORDER BY t.instant DESC
LIMIT 50",
        starts = starts.join(", "),
        systolic = paths.systolic,
        blood_pressure = paths.blood_pressure,
    );
    placeholders(sql, dialect)
}

fn placeholders(sql: String, dialect: Backend) -> String {
    match dialect {
        Backend::Sqlite => sql,
        Backend::Postgres => sql.replace('?', "$"),
    }
}

impl Database {
    async fn open(backend: Backend, target: &Target) -> anyhow::Result<Database> {
        match backend {
            Backend::Sqlite => {
                let path = target.sqlite_file();
                let connection = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .with_context(|| format!("opening {} read-only", path.display()))?;
                // The server's read connections use the same cache.
                connection
                    .execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;")?;
                Ok(Database::Sqlite(connection))
            }
            Backend::Postgres => {
                let url = target
                    .postgres_url
                    .as_deref()
                    .context("--aql-database-url is needed for PostgreSQL")?;
                let client = crate::server::connect(url).await?;
                // Prepared below, once the path ids are known.
                let placeholder = client.prepare("SELECT 1").await?;
                Ok(Database::Postgres(PostgresStatements {
                    client,
                    patient: placeholder.clone(),
                    ward: placeholder.clone(),
                    population: placeholder.clone(),
                    care_plan: placeholder.clone(),
                    stored: placeholder,
                }))
            }
        }
    }

    async fn scalar(&self, sql: &str) -> anyhow::Result<i64> {
        match self {
            Database::Sqlite(connection) => Ok(connection.query_row(sql, [], |row| row.get(0))?),
            Database::Postgres(statements) => {
                Ok(statements.client.query_one(sql, &[]).await?.get(0))
            }
        }
    }

    async fn path_id(&self, path: &str) -> anyhow::Result<i64> {
        let found = match self {
            Database::Sqlite(connection) => connection
                .query_row(
                    "SELECT path_id FROM query_path WHERE path = ?1",
                    [path],
                    |row| row.get::<_, i64>(0),
                )
                .ok(),
            Database::Postgres(statements) => statements
                .client
                .query_opt("SELECT path_id FROM query_path WHERE path = $1", &[&path])
                .await?
                .map(|row| i64::from(row.get::<_, i32>(0))),
        };
        found.with_context(|| format!("no path {path} in query_path: is the store seeded?"))
    }

    async fn path_ids(&self) -> anyhow::Result<PathIds> {
        let any_start_time = match self {
            Database::Sqlite(connection) => {
                let mut statement = connection.prepare(
                    "SELECT path_id FROM query_path WHERE rel_path = '/context/start_time'
                     AND archetype_id LIKE 'openEHR-EHR-COMPOSITION.%' ORDER BY path_id",
                )?;
                statement
                    .query_map([], |row| row.get::<_, i64>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            }
            Database::Postgres(statements) => statements
                .client
                .query(
                    "SELECT path_id FROM query_path WHERE rel_path = '/context/start_time'
                     AND archetype_id LIKE 'openEHR-EHR-COMPOSITION.%' ORDER BY path_id",
                    &[],
                )
                .await?
                .iter()
                .map(|row| i64::from(row.get::<_, i32>(0)))
                .collect(),
        };
        anyhow::ensure!(
            !any_start_time.is_empty(),
            "no /context/start_time path in query_path"
        );
        Ok(PathIds {
            encounter: self.path_id(ENCOUNTER).await?,
            report: self.path_id(REPORT).await?,
            blood_pressure: self.path_id(BLOOD_PRESSURE).await?,
            pulse_archetype: self.path_id(PULSE).await?,
            start_time: self.path_id(START_TIME).await?,
            systolic: self.path_id(SYSTOLIC).await?,
            diastolic: self.path_id(DIASTOLIC).await?,
            pulse: self.path_id(PULSE_RATE).await?,
            cpr_decision: self.path_id(CPR_DECISION).await?,
            cpr_decision_date: self.path_id(CPR_DECISION_DATE).await?,
            any_start_time,
        })
    }

    async fn prepare(&mut self, paths: &PathIds) -> anyhow::Result<()> {
        match self {
            Database::Sqlite(connection) => {
                // Prepared into the connection's cache; each run takes them from there.
                for sql in [
                    patient_sql(paths, Backend::Sqlite),
                    ward_sql(paths, Backend::Sqlite),
                    population_sql(paths),
                    care_plan_sql(paths, Backend::Sqlite),
                    stored_sql(paths, Backend::Sqlite),
                ] {
                    connection.set_prepared_statement_cache_capacity(16);
                    connection
                        .prepare_cached(&sql)
                        .with_context(|| format!("preparing {sql}"))?;
                }
                Ok(())
            }
            Database::Postgres(statements) => {
                let client = &statements.client;
                statements.patient = client
                    .prepare(&patient_sql(paths, Backend::Postgres))
                    .await?;
                statements.ward = client.prepare(&ward_sql(paths, Backend::Postgres)).await?;
                statements.population = client.prepare(&population_sql(paths)).await?;
                statements.care_plan = client
                    .prepare(&care_plan_sql(paths, Backend::Postgres))
                    .await?;
                statements.stored = client
                    .prepare(&stored_sql(paths, Backend::Postgres))
                    .await?;
                Ok(())
            }
        }
    }

    /// Every EHR id, sorted, to draw people from.
    async fn ehr_ids(&self) -> anyhow::Result<Vec<Uuid>> {
        let mut ids = match self {
            Database::Sqlite(connection) => {
                let mut statement = connection.prepare("SELECT ehr_id FROM ehr")?;
                let blobs = statement
                    .query_map([], |row| row.get::<_, Vec<u8>>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                blobs
                    .iter()
                    .map(|blob| Uuid::from_slice(blob))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Database::Postgres(statements) => statements
                .client
                .query("SELECT ehr_id FROM ehr", &[])
                .await?
                .iter()
                .map(|row| row.get::<_, Uuid>(0))
                .collect(),
        };
        ids.sort_unstable();
        Ok(ids)
    }

    /// Every NHS number with its EHR, sorted by number.
    async fn subjects(&self) -> anyhow::Result<Vec<String>> {
        let mut subjects: Vec<String> = match self {
            Database::Sqlite(connection) => {
                let mut statement = connection
                    .prepare("SELECT subject_id FROM ehr_subject WHERE namespace = ?1")?;
                statement
                    .query_map([NHS_NUMBER_NAMESPACE], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            }
            Database::Postgres(statements) => statements
                .client
                .query(
                    "SELECT subject_id FROM ehr_subject WHERE namespace = $1",
                    &[&NHS_NUMBER_NAMESPACE],
                )
                .await?
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect(),
        };
        subjects.sort_unstable();
        Ok(subjects)
    }

    /// The NHS number of an EHR's subject, if it has one.
    async fn subject_of(&self, ehr_id: Uuid) -> anyhow::Result<Option<String>> {
        const SQL: &str = "SELECT subject_id FROM ehr_subject WHERE ehr_id = ?1 AND namespace = ?2";
        Ok(match self {
            Database::Sqlite(connection) => connection
                .query_row(
                    SQL,
                    rusqlite::params![ehr_id.as_bytes().as_slice(), NHS_NUMBER_NAMESPACE],
                    |row| row.get(0),
                )
                .ok(),
            Database::Postgres(statements) => statements
                .client
                .query_opt(&SQL.replace('?', "$"), &[&ehr_id, &NHS_NUMBER_NAMESPACE])
                .await?
                .map(|row| row.get(0)),
        })
    }

    /// Runs the hand-written SQL of `question` for `input`, reading every row.
    async fn ask(
        &self,
        paths: &PathIds,
        question: Question,
        input: &Input,
    ) -> anyhow::Result<Rows> {
        match self {
            Database::Sqlite(connection) => sqlite_ask(connection, paths, question, input),
            Database::Postgres(statements) => postgres_ask(statements, question, input).await,
        }
    }
}

fn sqlite_ask(
    connection: &rusqlite::Connection,
    paths: &PathIds,
    question: Question,
    input: &Input,
) -> anyhow::Result<Rows> {
    let sql = match question {
        Question::Patient => patient_sql(paths, Backend::Sqlite),
        Question::Ward => ward_sql(paths, Backend::Sqlite),
        Question::Population => population_sql(paths),
        Question::CarePlan => care_plan_sql(paths, Backend::Sqlite),
        Question::Stored => stored_sql(paths, Backend::Sqlite),
    };
    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = Rows::new();
    match (question, input) {
        (Question::Patient, Input::Person(ehr_id)) => {
            let mut cursor = statement.query([ehr_id.as_bytes().as_slice()])?;
            while let Some(row) = cursor.next()? {
                rows.push(vec![
                    text(row.get(0)?),
                    number(row.get(1)?),
                    number(row.get(2)?),
                ]);
            }
        }
        (Question::Ward, Input::Ward(subjects)) => {
            let mut cursor = statement.query(rusqlite::params_from_iter(subjects.iter()))?;
            while let Some(row) = cursor.next()? {
                rows.push(vec![
                    text(row.get(0)?),
                    text(row.get(1)?),
                    number(row.get(2)?),
                    number(row.get(3)?),
                    number(row.get(4)?),
                ]);
            }
        }
        (Question::Population, _) => {
            let count: i64 = statement.query_row([], |row| row.get(0))?;
            rows.push(vec![Value::from(count)]);
        }
        (Question::CarePlan, _) => {
            let mut cursor = statement.query([])?;
            while let Some(row) = cursor.next()? {
                let ehr_id: Vec<u8> = row.get(0)?;
                rows.push(vec![uuid_text(&ehr_id)?, text(row.get(1)?)]);
            }
        }
        (Question::Stored, Input::Person(ehr_id)) => {
            let mut cursor = statement.query(rusqlite::params![
                ehr_id.as_bytes().as_slice(),
                micros(STORED_FROM)?,
                micros(STORED_UNTIL)?,
                STORED_THRESHOLD
            ])?;
            while let Some(row) = cursor.next()? {
                rows.push(vec![text(row.get(0)?), number(row.get(1)?)]);
            }
        }
        _ => bail!("{} has no such input", question.name()),
    }
    Ok(rows)
}

async fn postgres_ask(
    statements: &PostgresStatements,
    question: Question,
    input: &Input,
) -> anyhow::Result<Rows> {
    let client = &statements.client;
    let mut rows = Rows::new();
    match (question, input) {
        (Question::Patient, Input::Person(ehr_id)) => {
            for row in client.query(&statements.patient, &[ehr_id]).await? {
                rows.push(vec![
                    text(row.get(0)),
                    number(row.get(1)),
                    number(row.get(2)),
                ]);
            }
        }
        (Question::Ward, Input::Ward(subjects)) => {
            for row in client.query(&statements.ward, &[subjects]).await? {
                rows.push(vec![
                    text(row.get(0)),
                    text(row.get(1)),
                    number(row.get(2)),
                    number(row.get(3)),
                    number(row.get(4)),
                ]);
            }
        }
        (Question::Population, _) => {
            let count: i64 = client.query_one(&statements.population, &[]).await?.get(0);
            rows.push(vec![Value::from(count)]);
        }
        (Question::CarePlan, _) => {
            for row in client.query(&statements.care_plan, &[]).await? {
                let ehr_id: Uuid = row.get(0);
                rows.push(vec![Value::from(ehr_id.to_string()), text(row.get(1))]);
            }
        }
        (Question::Stored, Input::Person(ehr_id)) => {
            let from = micros(STORED_FROM)?;
            let until = micros(STORED_UNTIL)?;
            for row in client
                .query(
                    &statements.stored,
                    &[ehr_id, &from, &until, &STORED_THRESHOLD],
                )
                .await?
            {
                rows.push(vec![text(row.get(0)), number(row.get(1))]);
            }
        }
        _ => bail!("{} has no such input", question.name()),
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// The AQL side, over HTTP.

/// The path and JSON body of the request asking `question` for `input`.
fn aql_request(question: Question, input: &Input) -> anyhow::Result<(String, Value)> {
    let adhoc = format!("{API}/query/aql");
    Ok(match (question, input) {
        (Question::Patient, Input::Person(ehr_id)) => (
            adhoc,
            json!({"q": PATIENT_AQL, "query_parameters": {"ehr_id": ehr_id.to_string()}}),
        ),
        (Question::Ward, Input::Ward(subjects)) => {
            let parameters: Map<String, Value> = subjects
                .iter()
                .enumerate()
                .map(|(index, subject)| {
                    (format!("p{:02}", index + 1), Value::from(subject.clone()))
                })
                .collect();
            (
                adhoc,
                json!({"q": ward_aql(subjects.len()), "query_parameters": parameters}),
            )
        }
        (Question::Population, _) => (adhoc, json!({"q": POPULATION_AQL})),
        (Question::CarePlan, _) => (adhoc, json!({"q": CARE_PLAN_AQL})),
        (Question::Stored, Input::Person(ehr_id)) => (
            format!("{API}/query/{STORED_NAME}/{STORED_VERSION}"),
            json!({"query_parameters": {
                "ehr_id": ehr_id.to_string(),
                "from": STORED_FROM,
                "until": STORED_UNTIL,
                "threshold": STORED_THRESHOLD,
            }}),
        ),
        _ => bail!("{} has no such input", question.name()),
    })
}

/// Sends an AQL request; the body and the server's time in the database.
async fn aql_send_timed(
    api: &Api,
    path: &str,
    body: &Bytes,
) -> anyhow::Result<(Bytes, Option<f64>)> {
    let answer = api
        .expect(
            Method::POST,
            path,
            Some("application/json"),
            None,
            body.clone(),
            StatusCode::OK,
        )
        .await?;
    Ok((answer.body, answer.database_ms))
}

async fn aql_send(api: &Api, path: &str, body: &Bytes) -> anyhow::Result<Bytes> {
    Ok(aql_send_timed(api, path, body).await?.0)
}

fn result_rows(body: &[u8]) -> anyhow::Result<Rows> {
    let result: Value = serde_json::from_slice(body).context("the result set is not JSON")?;
    let rows = result
        .get("rows")
        .and_then(Value::as_array)
        .context("the result set has no rows array")?;
    rows.iter()
        .map(|row| {
            row.as_array()
                .cloned()
                .context("a row of the result set is not an array")
        })
        .collect()
}

/// Rows in a comparable form: numbers as f64 (an integer count and a real magnitude are the
/// same answer), each row as its JSON text, sorted (ties in ORDER BY may come in any order).
fn normalised(rows: &Rows) -> Vec<String> {
    fn value(value: &Value) -> Value {
        match value {
            Value::Number(number) => number.as_f64().map_or(Value::Null, Value::from),
            other => other.clone(),
        }
    }
    let mut texts: Vec<String> = rows
        .iter()
        .map(|row| Value::Array(row.iter().map(value).collect()).to_string())
        .collect();
    texts.sort_unstable();
    texts
}

// ---------------------------------------------------------------------------------------
// The run.

/// Where the seeded store is.
struct Target {
    sqlite_data_dir: Option<PathBuf>,
    postgres_url: Option<String>,
    scratch: tempfile::TempDir,
}

impl Target {
    fn data_dir(&self, backend: Backend) -> PathBuf {
        match backend {
            Backend::Sqlite => self
                .sqlite_data_dir
                .clone()
                .unwrap_or_else(|| self.scratch.path().join("data")),
            // The PostgreSQL server needs a data directory only for its own files.
            Backend::Postgres => self.scratch.path().join("data"),
        }
    }

    fn sqlite_file(&self) -> PathBuf {
        self.data_dir(Backend::Sqlite).join("kith.db")
    }
}

/// A deterministic spread of `count` items of `items` (SplitMix64 from a fixed seed), so
/// both backends, seeded alike, are asked about the same people.
fn spread<T: Clone>(items: &[T], count: usize, seed: u64) -> Vec<T> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..count.min(items.len()))
        .map(|_| items[(next() % items.len() as u64) as usize].clone())
        .collect()
}

pub async fn run(
    binary: &Path,
    backend: Backend,
    settings: &AqlSettings,
) -> anyhow::Result<AqlBackendReport> {
    let target = Target {
        sqlite_data_dir: settings.sqlite_data_dir.clone(),
        postgres_url: settings.postgres_url.clone(),
        scratch: tempfile::Builder::new()
            .prefix("kith-bench-aql-")
            .tempdir()?,
    };
    if backend == Backend::Sqlite {
        let file = target.sqlite_file();
        anyhow::ensure!(
            settings.sqlite_data_dir.is_some() && file.exists(),
            "--aql needs --aql-data-dir with a seeded kith.db for SQLite (no {})",
            file.display()
        );
    }
    let token = random_hex(24)?;
    eprintln!("[{}] aql: starting {}", backend.name(), binary.display());
    let server = RunningServer::start(
        binary,
        &target.data_dir(backend),
        target
            .postgres_url
            .as_deref()
            .filter(|_| backend == Backend::Postgres),
        &token,
        &target.scratch.path().join("server.log"),
    )
    .await?;
    let outcome = measure(binary, &server, backend, &target, settings).await;
    let mut report = match outcome {
        Ok(report) => report,
        Err(error) => {
            let _ = server.stop().await;
            return Err(error);
        }
    };
    if let Err(error) = server.stop().await {
        report
            .problems
            .push(format!("stopping the server: {error:#}"));
    }
    Ok(report)
}

async fn measure(
    binary: &Path,
    server: &RunningServer,
    backend: Backend,
    target: &Target,
    settings: &AqlSettings,
) -> anyhow::Result<AqlBackendReport> {
    let api = server.api()?;
    let mut database = Database::open(backend, target).await?;
    let paths = database.path_ids().await?;
    database.prepare(&paths).await?;

    let people = database.scalar("SELECT COUNT(*) FROM ehr").await? as u64;
    let compositions = database
        .scalar("SELECT COUNT(*) FROM versioned_object WHERE kind = 'COMPOSITION'")
        .await? as u64;
    let composition_versions = database
        .scalar("SELECT COUNT(*) FROM version WHERE kind = 'COMPOSITION'")
        .await? as u64;
    let query_value_rows = database.scalar("SELECT COUNT(*) FROM query_value").await? as u64;
    let query_node_rows = database.scalar("SELECT COUNT(*) FROM query_node").await? as u64;
    let stored_bytes = match backend {
        Backend::Sqlite => {
            let (main, wal) = crate::server::sqlite_size(&target.data_dir(backend));
            main + wal
        }
        Backend::Postgres => {
            database
                .scalar("SELECT pg_database_size(current_database())")
                .await? as u64
        }
    };
    eprintln!(
        "[{}] aql: {people} people, {compositions} compositions, {stored_bytes} bytes",
        backend.name()
    );

    let ehr_ids = database.ehr_ids().await?;
    let persons: Vec<Input> = spread(&ehr_ids, settings.people, 7)
        .into_iter()
        .map(Input::Person)
        .collect();
    let subjects = database.subjects().await?;
    let ward_sets: Vec<Input> = (0..settings.ward_sets as u64)
        .map(|set| {
            let mut ward = spread(&subjects, WARD_PEOPLE, 1000 + set);
            ward.extend(WARD_UNKNOWN.iter().map(|id| (*id).to_owned()));
            Input::Ward(ward)
        })
        .collect();
    anyhow::ensure!(!persons.is_empty(), "the store has no EHRs");

    // The stored query; a rerun finds it there already.
    let definition = format!("{API}/definition/query/{STORED_NAME}/{STORED_VERSION}");
    let answer = api
        .send(
            Method::PUT,
            &definition,
            Some("text/plain"),
            None,
            Bytes::from_static(STORED_AQL.as_bytes()),
        )
        .await?;
    if !answer.status.is_success() {
        let existing = api
            .expect(
                Method::GET,
                &definition,
                None,
                None,
                Bytes::new(),
                StatusCode::OK,
            )
            .await
            .context("storing the benchmark's query")?;
        let stored: Value = serde_json::from_slice(&existing.body)?;
        anyhow::ensure!(
            stored.get("q").and_then(Value::as_str) == Some(STORED_AQL),
            "{STORED_NAME}/{STORED_VERSION} is stored with another text ({})",
            answer.status
        );
    }

    if settings.callers != [CallerKind::Admin] {
        let callers_report = measure_callers(
            binary, server, &api, &database, backend, target, settings, &persons, &ehr_ids,
        )
        .await?;
        return Ok(AqlBackendReport {
            backend: backend.name(),
            people,
            compositions,
            composition_versions,
            stored_bytes,
            query_value_rows,
            query_node_rows,
            server_rss_kib_after: server.resident_kib().ok(),
            questions: Vec::new(),
            callers: Some(callers_report),
            problems: Vec::new(),
        });
    }

    let mut questions = Vec::new();
    for question in &settings.questions {
        let inputs: &[Input] = match question {
            Question::Patient | Question::Stored => &persons,
            Question::Ward => &ward_sets,
            Question::Population | Question::CarePlan => &[Input::None],
        };
        let figures =
            measure_question(&api, &database, &paths, *question, inputs, settings).await?;
        eprintln!(
            "[{}] {:<15} {:<10} AQL p50 {:>8.2} ms p99 {:>8.2} ms ({} samples; in db p50 {:>8.2} ms) | SQL p50 {:>8.2} ms p99 {:>8.2} ms | ratio {:.2} | agree {}/{}",
            backend.name(),
            question.name(),
            figures.strategy.as_deref().unwrap_or("?"),
            figures.aql.p50_ms.unwrap_or(f64::NAN),
            figures.aql.p99_ms.unwrap_or(f64::NAN),
            figures.aql.samples,
            figures.aql.database_p50_ms.unwrap_or(f64::NAN),
            figures.sql.p50_ms.unwrap_or(f64::NAN),
            figures.sql.p99_ms.unwrap_or(f64::NAN),
            figures.ratio_p50.unwrap_or(f64::NAN),
            figures.inputs_agreeing,
            figures.inputs_checked,
        );
        questions.push(figures);
    }
    Ok(AqlBackendReport {
        backend: backend.name(),
        people,
        compositions,
        composition_versions,
        stored_bytes,
        query_value_rows,
        query_node_rows,
        server_rss_kib_after: server.resident_kib().ok(),
        questions,
        callers: None,
        problems: Vec::new(),
    })
}

/// The explain strategy of a question, asked once.
async fn strategy(
    api: &Api,
    question: Question,
    input: &Input,
) -> (Option<String>, Option<String>) {
    let Ok((path, body)) = aql_request(question, input) else {
        return (None, None);
    };
    let answer = api
        .send(
            Method::POST,
            &format!("{path}?explain=true"),
            Some("application/json"),
            None,
            Bytes::from(body.to_string()),
        )
        .await;
    match answer {
        Ok(answer) if answer.status == StatusCode::OK => {
            let explanation: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            (
                explanation
                    .get("strategy")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                explanation
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        }
        Ok(answer) => (
            None,
            Some(format!(
                "explain answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )),
        ),
        Err(error) => (None, Some(format!("explain failed: {error:#}"))),
    }
}

async fn measure_question(
    api: &Api,
    database: &Database,
    paths: &PathIds,
    question: Question,
    inputs: &[Input],
    settings: &AqlSettings,
) -> anyhow::Result<QuestionReport> {
    let (strategy, strategy_reason) = strategy(api, question, &inputs[0]).await;

    // Agreement first (also a warm-up of both sides), outside the timed loops.
    let mut inputs_checked = 0;
    let mut inputs_agreeing = 0;
    let mut first_disagreement = None;
    let mut first_answer_rows = 0;
    let mut population_count = None;
    for (index, input) in inputs.iter().take(settings.checks.max(1)).enumerate() {
        let (path, body) = aql_request(question, input)?;
        let aql = match aql_send(api, &path, &Bytes::from(body.to_string())).await {
            Ok(body) => result_rows(&body)?,
            Err(error) => {
                // A failure (a timeout, usually) would only repeat on the next inputs.
                first_disagreement.get_or_insert(format!("AQL failed: {error:#}"));
                inputs_checked += 1;
                break;
            }
        };
        let sql = database.ask(paths, question, input).await?;
        if index == 0 {
            first_answer_rows = aql.len();
            if question == Question::Population {
                population_count = sql
                    .first()
                    .and_then(|row| row.first())
                    .and_then(Value::as_f64);
            }
        }
        inputs_checked += 1;
        let (aql_rows, sql_rows) = (normalised(&aql), normalised(&sql));
        if aql_rows == sql_rows {
            inputs_agreeing += 1;
        } else if first_disagreement.is_none() {
            let first_difference = aql_rows
                .iter()
                .zip(&sql_rows)
                .find(|(a, s)| a != s)
                .map(|(a, s)| format!("; first differing rows (sorted): AQL {a} SQL {s}"))
                .unwrap_or_default();
            first_disagreement = Some(format!(
                "input {index}: AQL {} rows, SQL {} rows{first_difference}",
                aql_rows.len(),
                sql_rows.len()
            ));
        }
    }

    let requests: Vec<(String, Bytes)> = inputs
        .iter()
        .map(|input| {
            aql_request(question, input).map(|(path, body)| (path, Bytes::from(body.to_string())))
        })
        .collect::<anyhow::Result<_>>()?;
    let aql = timed(
        settings,
        inputs.len(),
        |index| {
            let (path, body) = &requests[index];
            async move { aql_send_timed(api, path, body).await }
        },
        |(body, _): &(Bytes, Option<f64>)| result_rows(body).map(|rows| rows.len()).unwrap_or(0),
        |(_, database): &(Bytes, Option<f64>)| *database,
    )
    .await;
    let sql = timed(
        settings,
        inputs.len(),
        |index| database.ask(paths, question, &inputs[index]),
        |rows: &Rows| rows.len(),
        |_: &Rows| None,
    )
    .await;
    let ratio = |aql: Option<f64>, sql: Option<f64>| match (aql, sql) {
        (Some(aql), Some(sql)) if sql > 0.0 => Some(aql / sql),
        _ => None,
    };
    Ok(QuestionReport {
        question: question.name(),
        description: question.describe(),
        strategy,
        strategy_reason,
        ratio_p50: ratio(aql.p50_ms, sql.p50_ms),
        ratio_p99: ratio(aql.p99_ms, sql.p99_ms),
        database_ratio_p50: ratio(aql.database_p50_ms, sql.p50_ms),
        database_ratio_p99: ratio(aql.database_p99_ms, sql.p99_ms),
        aql,
        sql,
        inputs_checked,
        inputs_agreeing,
        first_disagreement,
        first_answer_rows,
        population_count,
    })
}

/// Asks `ask(i)` over the inputs in turn: an uncounted warm-up, then a measured window
/// that lasts at least the duration and `min_samples` requests. Each request is timed
/// from sending until its whole answer has been read; `rows` counts the rows afterwards.
async fn timed<T, F, Fut>(
    settings: &AqlSettings,
    inputs: usize,
    mut ask: F,
    rows: impl Fn(&T) -> usize,
    database_ms: impl Fn(&T) -> Option<f64>,
) -> Latencies
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut next = 0usize;
    let mut errors = 0u64;
    let mut first_error = None;
    let warm_up_end = Instant::now() + settings.warm_up;
    loop {
        let outcome = ask(next % inputs).await;
        next += 1;
        if let Err(error) = outcome {
            errors += 1;
            first_error.get_or_insert(format!("{error:#}"));
            break;
        }
        if Instant::now() >= warm_up_end {
            break;
        }
    }
    let mut samples = Vec::new();
    let mut database_samples = Vec::new();
    let mut total_rows = 0usize;
    let started = Instant::now();
    while first_error.is_none()
        && (started.elapsed() < settings.duration || samples.len() < settings.min_samples)
    {
        let sent = Instant::now();
        let outcome = ask(next % inputs).await;
        let latency = sent.elapsed();
        next += 1;
        match outcome {
            Ok(answer) => {
                samples.push(latency);
                total_rows += rows(&answer);
                if let Some(milliseconds) = database_ms(&answer) {
                    database_samples.push(Duration::from_secs_f64(milliseconds / 1e3));
                }
            }
            Err(error) => {
                errors += 1;
                first_error.get_or_insert(format!("{error:#}"));
            }
        }
    }
    summarise(samples, database_samples, total_rows, errors, first_error)
}

/// The table printed at the end of an AQL run.
pub fn render(reports: &[AqlBackendReport]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for report in reports {
        let _ = writeln!(
            out,
            "\n## AQL, {}: {} people, {} compositions ({} versions), {:.2} GiB stored ({:.0} bytes per composition)",
            report.backend,
            report.people,
            report.compositions,
            report.composition_versions,
            report.stored_bytes as f64 / (1u64 << 30) as f64,
            report.stored_bytes as f64 / report.compositions.max(1) as f64,
        );
        if !report.questions.is_empty() {
            let _ = writeln!(
                out,
                "| question | strategy | AQL p50 ms | AQL p99 ms | samples | AQL in db p50 ms | AQL in db p99 ms | SQL p50 ms | SQL p99 ms | AQL/SQL p50 | AQL/SQL p99 | in db/SQL p50 | in db/SQL p99 | rows/answer | answers agree |"
            );
            let _ = writeln!(
                out,
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
            );
        }
        let figure =
            |value: Option<f64>| value.map_or("-".to_owned(), |value| format!("{value:.2}"));
        for question in &report.questions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {}/{} |",
                question.question,
                question.strategy.as_deref().unwrap_or("?"),
                figure(question.aql.p50_ms),
                figure(question.aql.p99_ms),
                question.aql.samples,
                figure(question.aql.database_p50_ms),
                figure(question.aql.database_p99_ms),
                figure(question.sql.p50_ms),
                figure(question.sql.p99_ms),
                figure(question.ratio_p50),
                figure(question.ratio_p99),
                figure(question.database_ratio_p50),
                figure(question.database_ratio_p99),
                question.aql.mean_rows,
                question.inputs_agreeing,
                question.inputs_checked,
            );
        }
        for question in &report.questions {
            if let Some(reason) = &question.strategy_reason {
                let _ = writeln!(out, "- {} not compiled: {reason}", question.question);
            }
            if let Some(count) = question.population_count {
                let _ = writeln!(out, "- {} answer: {count}", question.question);
            }
            if let Some(disagreement) = &question.first_disagreement {
                let _ = writeln!(out, "- {} DISAGREES: {disagreement}", question.question);
            }
            for (side, latencies) in [("AQL", &question.aql), ("SQL", &question.sql)] {
                if let Some(error) = &latencies.first_error {
                    let _ = writeln!(out, "- {} {side} error: {error}", question.question);
                }
            }
        }
        if let Some(callers) = &report.callers {
            render_callers(&mut out, callers);
        }
        for problem in &report.problems {
            let _ = writeln!(out, "- problem: {problem}");
        }
    }
    out
}

fn render_callers(out: &mut String, report: &CallersReport) {
    use std::fmt::Write;
    let figure = |value: Option<f64>| value.map_or("-".to_owned(), |value| format!("{value:.3}"));
    let _ = writeln!(
        out,
        "\nAs several callers, interleaved ({} people at practice {}, registered in {:.1} s):",
        report.practice_people,
        callers::PRACTICE,
        report.setup_secs
    );
    let _ = writeln!(
        out,
        "| question | caller | p50 ms | p99 ms | samples | in db p50 ms | p50 / admin | p99 / admin | rows/answer | answers agree |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for question in &report.questions {
        for side in &question.sides {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {}/{} |",
                question.question,
                side.caller.name(),
                figure(side.latencies.p50_ms),
                figure(side.latencies.p99_ms),
                side.latencies.samples,
                figure(side.latencies.database_p50_ms),
                figure(side.p50_over_admin),
                figure(side.p99_over_admin),
                side.latencies.mean_rows,
                question.inputs_agreeing,
                question.inputs_checked,
            );
            if let Some(error) = &side.latencies.first_error {
                let _ = writeln!(
                    out,
                    "- {} as {} error: {error}",
                    question.question,
                    side.caller.name()
                );
            }
        }
        if let Some(disagreement) = &question.first_disagreement {
            let _ = writeln!(
                out,
                "- {} DISAGREES between callers: {disagreement}",
                question.question
            );
        }
    }
    let threads: Vec<String> = report
        .server_cpu_by_thread
        .iter()
        .filter(|(_, seconds)| **seconds > 0.0)
        .map(|(name, seconds)| format!("{name} {seconds:.2} s"))
        .collect();
    let _ = writeln!(
        out,
        "- audit: {} events for {} requests; server CPU {:.1} s ({}); load average {} -> {}",
        report.audit_events_appended,
        report.requests_sent,
        report.server_cpu_secs,
        threads.join(", "),
        figure(report.load_average_before),
        figure(report.load_average_after),
    );
}

// ---------------------------------------------------------------------------------------
// The callers (`--as`): the administrator against a clinician, on the same questions.

/// Registers the people asked about (and, for `--aql-practice-people`, more of the store's
/// people) at the clinician's practice with two directives each, mints the tokens, and asks
/// aql-patient and aql-stored as every caller, interleaved.
#[allow(clippy::too_many_arguments)]
async fn measure_callers(
    binary: &Path,
    server: &RunningServer,
    admin: &Api,
    database: &Database,
    backend: Backend,
    target: &Target,
    settings: &AqlSettings,
    persons: &[Input],
    ehr_ids: &[Uuid],
) -> anyhow::Result<CallersReport> {
    let refused: Vec<&str> = settings
        .questions
        .iter()
        .filter(|question| !matches!(question, Question::Patient | Question::Stored))
        .map(|question| question.name())
        .collect();
    anyhow::ensure!(
        refused.is_empty(),
        "--as with a clinician asks only aql-patient and aql-stored (one person's record, \
         the same answer for every caller); pass --aql-questions aql-patient,aql-stored, not {}",
        refused.join(", ")
    );
    let setup_started = Instant::now();
    callers::register_practice(admin).await?;
    // The people asked about first, then others in id order up to the practice's size.
    let mut practice: Vec<Uuid> = Vec::new();
    for input in persons {
        if let Input::Person(ehr_id) = input
            && !practice.contains(ehr_id)
        {
            practice.push(*ehr_id);
        }
    }
    let wanted = settings.practice_people.unwrap_or(0).max(practice.len());
    for ehr_id in ehr_ids {
        if practice.len() >= wanted {
            break;
        }
        if !practice.contains(ehr_id) {
            practice.push(*ehr_id);
        }
    }
    let mut numbers = Vec::with_capacity(practice.len());
    for ehr_id in &practice {
        let number = database
            .subject_of(*ehr_id)
            .await?
            .with_context(|| format!("ehr {ehr_id} has no NHS number to register it by"))?;
        numbers.push((*ehr_id, number));
    }
    eprintln!(
        "[{}] aql: registering {} people at practice {}",
        backend.name(),
        numbers.len(),
        callers::PRACTICE
    );
    // A few registrations at a time: thousands one by one would take minutes.
    let mut registrations = tokio::task::JoinSet::new();
    for chunk in numbers.chunks(numbers.len().div_ceil(8).max(1)) {
        let (admin, chunk) = (admin.clone(), chunk.to_vec());
        registrations.spawn(async move {
            for (ehr_id, number) in chunk {
                let person = callers::register_person(&admin, &number, "Bench").await?;
                anyhow::ensure!(
                    person.ehr_id == ehr_id.to_string(),
                    "registering {number} gave ehr {} where the store has {ehr_id}",
                    person.ehr_id
                );
                callers::put_circle_of_care(&admin, &person.person_id).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = registrations.join_next().await {
        joined.context("a registering task failed")??;
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let tokens = callers::tokens(
        &settings.callers,
        binary,
        &target.data_dir(backend),
        &server.token,
    )?;
    let apis: Vec<Api> = tokens
        .iter()
        .map(|caller| Api::new(&server.address, &caller.token))
        .collect::<anyhow::Result<_>>()?;

    const AUDIT_EVENTS: &str = "SELECT COUNT(*) FROM audit_event";
    let events_before = database.scalar(AUDIT_EVENTS).await?;
    let cpu_before = crate::machine::thread_cpu_seconds(server.pid);
    let load_average_before = crate::machine::load_average();
    let mut requests_sent = 0;
    let mut questions = Vec::new();
    for question in &settings.questions {
        let report =
            compare_callers(&apis, &settings.callers, *question, persons, settings).await?;
        requests_sent += report.1;
        let report = report.0;
        for side in &report.sides {
            eprintln!(
                "[{}] {:<12} as {:<18} p50 {:>8.3} ms p99 {:>8.3} ms ({} samples; x{} of admin at p50) | answers agree {}/{}",
                backend.name(),
                report.question,
                side.caller.name(),
                side.latencies.p50_ms.unwrap_or(f64::NAN),
                side.latencies.p99_ms.unwrap_or(f64::NAN),
                side.latencies.samples,
                side.p50_over_admin
                    .map_or("-".to_owned(), |ratio| format!("{ratio:.3}")),
                report.inputs_agreeing,
                report.inputs_checked,
            );
        }
        questions.push(report);
    }
    let server_cpu_by_thread =
        crate::machine::cpu_used(&cpu_before, &crate::machine::thread_cpu_seconds(server.pid));
    let events_after = database.scalar(AUDIT_EVENTS).await?;
    Ok(CallersReport {
        callers: settings.callers.clone(),
        practice_people: numbers.len(),
        setup_secs,
        questions,
        requests_sent,
        audit_events_appended: events_after.saturating_sub(events_before) as u64,
        server_cpu_secs: server_cpu_by_thread.values().sum(),
        server_cpu_by_thread,
        load_average_before,
        load_average_after: crate::machine::load_average(),
    })
}

/// One question as every caller: the answers compared between the callers on the first
/// inputs, then an interleaved timed loop (each input asked as every caller in turn, the
/// order rotating). Returns the report and the requests sent.
async fn compare_callers(
    apis: &[Api],
    kinds: &[CallerKind],
    question: Question,
    inputs: &[Input],
    settings: &AqlSettings,
) -> anyhow::Result<(CallerQuestionReport, u64)> {
    let requests: Vec<(String, Bytes)> = inputs
        .iter()
        .map(|input| {
            aql_request(question, input).map(|(path, body)| (path, Bytes::from(body.to_string())))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut sent = 0u64;
    let mut inputs_checked = 0;
    let mut inputs_agreeing = 0;
    let mut first_disagreement = None;
    for (index, (path, body)) in requests.iter().take(settings.checks.max(1)).enumerate() {
        let mut answers = Vec::with_capacity(apis.len());
        for (api, kind) in apis.iter().zip(kinds) {
            sent += 1;
            let body = aql_send(api, path, body)
                .await
                .with_context(|| format!("{} as {}", question.name(), kind.name()))?;
            answers.push(normalised(&result_rows(&body)?));
        }
        inputs_checked += 1;
        if answers.windows(2).all(|pair| pair[0] == pair[1]) {
            inputs_agreeing += 1;
        } else if first_disagreement.is_none() {
            let counts: Vec<String> = kinds
                .iter()
                .zip(&answers)
                .map(|(kind, rows)| format!("{} {} rows", kind.name(), rows.len()))
                .collect();
            first_disagreement = Some(format!("input {index}: {}", counts.join(", ")));
        }
    }

    let callers = apis.len();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); callers];
    let mut database_samples: Vec<Vec<Duration>> = vec![Vec::new(); callers];
    let mut rows = vec![0usize; callers];
    let mut errors = vec![0u64; callers];
    let mut first_errors: Vec<Option<String>> = vec![None; callers];
    let mut step = 0usize;
    let warm_up_end = Instant::now() + settings.warm_up;
    let mut window_start = None;
    loop {
        let measuring = match window_start {
            Some(_) => true,
            None if Instant::now() >= warm_up_end => {
                window_start = Some(Instant::now());
                true
            }
            None => false,
        };
        if let Some(start) = window_start {
            let enough = samples
                .iter()
                .all(|side| side.len() >= settings.min_samples);
            if start.elapsed() >= settings.duration && enough {
                break;
            }
        }
        let (path, body) = &requests[step % requests.len()];
        for turn in 0..callers {
            let side = (step + turn) % callers;
            let started = Instant::now();
            sent += 1;
            let outcome = aql_send_timed(&apis[side], path, body).await;
            let latency = started.elapsed();
            match outcome {
                Ok((answer, database_ms)) if measuring => {
                    samples[side].push(latency);
                    rows[side] += result_rows(&answer).map(|rows| rows.len()).unwrap_or(0);
                    if let Some(milliseconds) = database_ms {
                        database_samples[side].push(Duration::from_secs_f64(milliseconds / 1e3));
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    errors[side] += 1;
                    first_errors[side].get_or_insert(format!("{error:#}"));
                }
            }
        }
        step += 1;
        if first_errors.iter().any(Option::is_some) {
            break;
        }
    }
    let latencies: Vec<Latencies> = (0..callers)
        .map(|side| {
            summarise(
                std::mem::take(&mut samples[side]),
                std::mem::take(&mut database_samples[side]),
                rows[side],
                errors[side],
                first_errors[side].take(),
            )
        })
        .collect();
    let admin = kinds
        .iter()
        .position(|kind| kind.is_admin())
        .map(|position| (latencies[position].p50_ms, latencies[position].p99_ms));
    let ratio = |value: Option<f64>, base: Option<f64>| match (value, base) {
        (Some(value), Some(base)) if base > 0.0 => Some(value / base),
        _ => None,
    };
    let sides = kinds
        .iter()
        .zip(latencies)
        .map(|(kind, latencies)| CallerLatencies {
            caller: *kind,
            p50_over_admin: admin.and_then(|(p50, _)| ratio(latencies.p50_ms, p50)),
            p99_over_admin: admin.and_then(|(_, p99)| ratio(latencies.p99_ms, p99)),
            latencies,
        })
        .collect();
    Ok((
        CallerQuestionReport {
            question: question.name(),
            sides,
            inputs_checked,
            inputs_agreeing,
            first_disagreement,
        },
        sent,
    ))
}

/// Latencies from their samples (sorted here).
fn summarise(
    mut samples: Vec<Duration>,
    mut database_samples: Vec<Duration>,
    total_rows: usize,
    errors: u64,
    first_error: Option<String>,
) -> Latencies {
    samples.sort_unstable();
    database_samples.sort_unstable();
    let milliseconds = |value: Option<Duration>| value.map(|value| value.as_secs_f64() * 1e3);
    Latencies {
        samples: samples.len(),
        errors,
        first_error,
        p50_ms: milliseconds(percentile(&samples, 50.0)),
        p99_ms: milliseconds(percentile(&samples, 99.0)),
        max_ms: milliseconds(samples.last().copied()),
        mean_rows: total_rows as f64 / samples.len().max(1) as f64,
        database_p50_ms: milliseconds(percentile(&database_samples, 50.0)),
        database_p99_ms: milliseconds(percentile(&database_samples, 99.0)),
    }
}
