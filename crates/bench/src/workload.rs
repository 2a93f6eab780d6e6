//! The operation classes of the EHRbase comparison, driven over HTTP: the shared fixture
//! each class reads from, the per-client state each class writes to, and the timed loop
//! that runs N clients for a fixed duration after an uncounted warm-up.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::client::{API, Api};
use crate::stats::PhaseFigures;

const JSON: Option<&str> = Some("application/json");
const XML: Option<&str> = Some("application/xml");

/// How many EHRs the read and create classes spread over, as a real workload would
/// rather than hammering one row.
pub const SHARED_EHRS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    EhrCreate,
    EhrRead,
    CompCreateSmall,
    CompCreateLarge,
    CompReadLatest,
    CompReadVersion,
    CompUpdate,
    ContributionCommit,
    HistoryRead,
    StatusUpdate,
    DirUpdate,
    DirRead,
}

impl Class {
    pub const ALL: [Class; 12] = [
        Class::EhrCreate,
        Class::EhrRead,
        Class::CompCreateSmall,
        Class::CompCreateLarge,
        Class::CompReadLatest,
        Class::CompReadVersion,
        Class::CompUpdate,
        Class::ContributionCommit,
        Class::HistoryRead,
        Class::StatusUpdate,
        Class::DirUpdate,
        Class::DirRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::EhrCreate => "ehr-create",
            Class::EhrRead => "ehr-read",
            Class::CompCreateSmall => "comp-create-small",
            Class::CompCreateLarge => "comp-create-large",
            Class::CompReadLatest => "comp-read-latest",
            Class::CompReadVersion => "comp-read-version",
            Class::CompUpdate => "comp-update",
            Class::ContributionCommit => "contribution-commit",
            Class::HistoryRead => "history-read",
            Class::StatusUpdate => "status-update",
            Class::DirUpdate => "dir-update",
            Class::DirRead => "dir-read",
        }
    }

    pub fn parse(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|class| class.name() == name)
    }

    /// Whether the class only reads the shared fixture: the classes that can be measured
    /// as a clinician too (`--as`), every caller reading the same objects. Writing classes
    /// create EHRs and compositions of their own, which nobody but the administrator has a
    /// care relationship with.
    pub fn reads_fixture(self) -> bool {
        matches!(
            self,
            Class::EhrRead
                | Class::CompReadLatest
                | Class::CompReadVersion
                | Class::HistoryRead
                | Class::DirRead
        )
    }
}

/// The documents the benchmark sends, read once from the repository's testdata.
pub struct Documents {
    pub small_template: Bytes,
    pub large_template: Bytes,
    /// The small composition as canonical JSON text, also what the raw baseline writes.
    pub small: Bytes,
    pub large: Bytes,
    pub contribution: Bytes,
    pub folder: Bytes,
}

impl Documents {
    pub fn load(testdata: &Path) -> anyhow::Result<Documents> {
        let read = |relative: &str| -> anyhow::Result<Vec<u8>> {
            let path = testdata.join(relative);
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
        };
        let small =
            composition_without_uid(&read("compositions/minimal_observation.canonical.json")?)?;
        let large = composition_without_uid(&read(
            "compositions/all_types_systematic_tests.valid.canonical.json",
        )?)?;
        let small_value: Value = serde_json::from_slice(&small)?;
        let contribution = json!({
            "versions": [contribution_version(&small_value), contribution_version(&small_value)]
        });
        let folder = json!({
            "_type": "FOLDER",
            "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
            "name": { "_type": "DV_TEXT", "value": "root" },
            "folders": [
                {
                    "_type": "FOLDER",
                    "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
                    "name": { "_type": "DV_TEXT", "value": "episodes" }
                },
                {
                    "_type": "FOLDER",
                    "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
                    "name": { "_type": "DV_TEXT", "value": "referrals" }
                }
            ]
        });
        Ok(Documents {
            small_template: read("templates/minimal_observation.opt")?.into(),
            large_template: read("templates/Test_all_types.opt")?.into(),
            small: small.into(),
            large: large.into(),
            contribution: serde_json::to_vec(&contribution)?.into(),
            folder: serde_json::to_vec(&folder)?.into(),
        })
    }
}

/// The test files carry a placeholder uid; without one the server assigns a fresh object
/// id per commit, which is what a client creating new compositions does.
fn composition_without_uid(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(bytes)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("uid");
    }
    Ok(serde_json::to_vec(&value)?)
}

fn contribution_version(composition: &Value) -> Value {
    let coded = |value: &str, code: &str| {
        json!({
            "_type": "DV_CODED_TEXT",
            "value": value,
            "defining_code": {
                "_type": "CODE_PHRASE",
                "terminology_id": { "_type": "TERMINOLOGY_ID", "value": "openehr" },
                "code_string": code
            }
        })
    };
    json!({
        "_type": "ORIGINAL_VERSION",
        "data": composition,
        "commit_audit": {
            "_type": "AUDIT_DETAILS",
            "change_type": coded("creation", "249"),
            "committer": { "_type": "PARTY_IDENTIFIED", "name": "bench" }
        },
        "lifecycle_state": coded("complete", "532")
    })
}

/// A composition the read classes read: its EHR, object id and first (now historic) version.
#[derive(Clone)]
pub struct ReadTarget {
    pub ehr_id: String,
    pub object_id: String,
    pub first_version_uid: String,
}

/// What every client of every class may read, created once per server.
pub struct Fixture {
    pub ehrs: Vec<String>,
    pub read_targets: Vec<ReadTarget>,
}

/// State shared by all clients of a server: what they read and the count of composition
/// versions committed, which the storage figure divides by.
pub struct Context {
    pub documents: Arc<Documents>,
    pub fixture: Fixture,
    pub composition_versions: AtomicU64,
    pub address: String,
    pub token: String,
}

/// Uploads both templates; 409 means a previous start of this data directory did.
pub async fn upload_templates(api: &Api, documents: &Documents) -> anyhow::Result<()> {
    for template in [&documents.small_template, &documents.large_template] {
        let path = format!("{API}/definition/template/adl1.4");
        let answer = api
            .send(Method::POST, &path, XML, None, template.clone())
            .await?;
        if answer.status != StatusCode::CREATED && answer.status != StatusCode::CONFLICT {
            bail!(
                "POST {path} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(400)
                    .collect::<String>()
            );
        }
    }
    Ok(())
}

pub async fn create_ehr(api: &Api) -> anyhow::Result<String> {
    let answer = api
        .expect(
            Method::POST,
            &format!("{API}/ehr"),
            None,
            None,
            Bytes::new(),
            StatusCode::CREATED,
        )
        .await?;
    Api::etag_of(&answer, "POST /ehr")
}

/// Commits one small composition and returns its version uid.
pub async fn create_small_composition(
    api: &Api,
    documents: &Documents,
    ehr_id: &str,
) -> anyhow::Result<String> {
    let answer = api
        .expect(
            Method::POST,
            &format!("{API}/ehr/{ehr_id}/composition"),
            JSON,
            None,
            documents.small.clone(),
            StatusCode::CREATED,
        )
        .await?;
    Api::etag_of(&answer, "POST composition")
}

fn object_id_of(version_uid: &str) -> String {
    version_uid
        .split("::")
        .next()
        .unwrap_or(version_uid)
        .to_owned()
}

/// Templates, the shared EHRs, and one composition per EHR updated twice (so history
/// and version reads have more than one version to look at) plus a directory per EHR.
/// The EHRs are created here, or are `given` (those of registered people).
pub async fn build_fixture(
    api: &Api,
    documents: &Documents,
    given: Option<Vec<String>>,
) -> anyhow::Result<(Fixture, u64)> {
    upload_templates(api, documents).await?;
    let mut ehrs = Vec::with_capacity(SHARED_EHRS);
    let mut read_targets = Vec::with_capacity(SHARED_EHRS);
    let mut versions = 0;
    let mut given = given.map(Vec::into_iter);
    for _ in 0..SHARED_EHRS {
        let ehr_id = match given.as_mut().and_then(Iterator::next) {
            Some(ehr_id) => ehr_id,
            None => create_ehr(api).await?,
        };
        let first_version_uid = create_small_composition(api, documents, &ehr_id).await?;
        let object_id = object_id_of(&first_version_uid);
        let mut latest = first_version_uid.clone();
        for _ in 0..2 {
            latest =
                update_composition(api, &ehr_id, &object_id, &latest, &documents.small).await?;
        }
        versions += 3;
        create_directory(api, &ehr_id, &documents.folder).await?;
        read_targets.push(ReadTarget {
            ehr_id: ehr_id.clone(),
            object_id,
            first_version_uid,
        });
        ehrs.push(ehr_id);
    }
    Ok((Fixture { ehrs, read_targets }, versions))
}

async fn update_composition(
    api: &Api,
    ehr_id: &str,
    object_id: &str,
    latest: &str,
    body: &Bytes,
) -> anyhow::Result<String> {
    let answer = api
        .expect(
            Method::PUT,
            &format!("{API}/ehr/{ehr_id}/composition/{object_id}"),
            JSON,
            Some(latest),
            body.clone(),
            StatusCode::NO_CONTENT,
        )
        .await?;
    Api::etag_of(&answer, "PUT composition")
}

async fn create_directory(api: &Api, ehr_id: &str, folder: &Bytes) -> anyhow::Result<String> {
    let answer = api
        .expect(
            Method::POST,
            &format!("{API}/ehr/{ehr_id}/directory"),
            JSON,
            None,
            folder.clone(),
            StatusCode::CREATED,
        )
        .await?;
    Api::etag_of(&answer, "POST directory")
}

/// What a client of a writing class owns, so concurrent clients never conflict.
enum Owned {
    Nothing,
    /// (ehr id, object id, latest version uid)
    Compositions(Vec<(String, String, String)>),
    /// EHR ids whose status only this client updates.
    Statuses(Vec<String>),
    /// (ehr id, latest directory version uid)
    Directories(Vec<(String, String)>),
}

/// One benchmark client: its connection, its position in the shared fixture and what it owns.
struct Worker {
    api: Api,
    context: Arc<Context>,
    class: Class,
    index: usize,
    clients: usize,
    counter: usize,
    owned: Owned,
}

impl Worker {
    async fn prepare(
        context: Arc<Context>,
        class: Class,
        index: usize,
        clients: usize,
        token: &str,
    ) -> anyhow::Result<Worker> {
        let api = Api::new(&context.address, token)?;
        let owned = match class {
            Class::CompUpdate => {
                let ehr_id = create_ehr(&api).await?;
                let mut compositions = Vec::new();
                for _ in 0..4 {
                    let uid = create_small_composition(&api, &context.documents, &ehr_id).await?;
                    context.composition_versions.fetch_add(1, Ordering::Relaxed);
                    compositions.push((ehr_id.clone(), object_id_of(&uid), uid));
                }
                Owned::Compositions(compositions)
            }
            Class::StatusUpdate => {
                let mut ehrs = Vec::new();
                for _ in 0..2 {
                    ehrs.push(create_ehr(&api).await?);
                }
                Owned::Statuses(ehrs)
            }
            Class::DirUpdate => {
                let mut directories = Vec::new();
                for _ in 0..2 {
                    let ehr_id = create_ehr(&api).await?;
                    let uid = create_directory(&api, &ehr_id, &context.documents.folder).await?;
                    directories.push((ehr_id, uid));
                }
                Owned::Directories(directories)
            }
            _ => Owned::Nothing,
        };
        Ok(Worker {
            api,
            context,
            class,
            index,
            clients,
            counter: 0,
            owned,
        })
    }

    /// The next item of `length` for this client: clients interleave so that at any
    /// moment they work on different items.
    fn pick(&mut self, length: usize) -> usize {
        let position = (self.index + self.counter * self.clients) % length.max(1);
        self.counter += 1;
        position
    }

    /// Performs one operation and returns the time of its measured request.
    async fn perform(&mut self) -> anyhow::Result<Duration> {
        let context = Arc::clone(&self.context);
        let documents = &context.documents;
        let fixture = &context.fixture;
        let (method, path, content_type, if_match, body, expected) = match self.class {
            Class::EhrCreate => (
                Method::POST,
                format!("{API}/ehr"),
                None,
                None,
                Bytes::new(),
                StatusCode::CREATED,
            ),
            Class::EhrRead => {
                let ehr_id = &fixture.ehrs[self.pick(fixture.ehrs.len())];
                (
                    Method::GET,
                    format!("{API}/ehr/{ehr_id}"),
                    None,
                    None,
                    Bytes::new(),
                    StatusCode::OK,
                )
            }
            Class::CompCreateSmall | Class::CompCreateLarge => {
                let ehr_id = &fixture.ehrs[self.pick(fixture.ehrs.len())];
                let body = if self.class == Class::CompCreateSmall {
                    documents.small.clone()
                } else {
                    documents.large.clone()
                };
                let path = format!("{API}/ehr/{ehr_id}/composition");
                (Method::POST, path, JSON, None, body, StatusCode::CREATED)
            }
            Class::CompReadLatest | Class::CompReadVersion | Class::HistoryRead => {
                let target = &fixture.read_targets[self.pick(fixture.read_targets.len())];
                let ehr_id = &target.ehr_id;
                let path = match self.class {
                    Class::CompReadLatest => {
                        format!("{API}/ehr/{ehr_id}/composition/{}", target.object_id)
                    }
                    Class::CompReadVersion => {
                        format!(
                            "{API}/ehr/{ehr_id}/composition/{}",
                            target.first_version_uid
                        )
                    }
                    _ => format!(
                        "{API}/ehr/{ehr_id}/versioned_composition/{}/revision_history",
                        target.object_id
                    ),
                };
                (Method::GET, path, None, None, Bytes::new(), StatusCode::OK)
            }
            Class::CompUpdate => return self.update_own_composition().await,
            Class::ContributionCommit => {
                let ehr_id = &fixture.ehrs[self.pick(fixture.ehrs.len())];
                let path = format!("{API}/ehr/{ehr_id}/contribution");
                (
                    Method::POST,
                    path,
                    JSON,
                    None,
                    documents.contribution.clone(),
                    StatusCode::CREATED,
                )
            }
            Class::StatusUpdate => return self.update_own_status().await,
            Class::DirUpdate => return self.update_own_directory().await,
            Class::DirRead => {
                let ehr_id = &fixture.ehrs[self.pick(fixture.ehrs.len())];
                (
                    Method::GET,
                    format!("{API}/ehr/{ehr_id}/directory"),
                    None,
                    None,
                    Bytes::new(),
                    StatusCode::OK,
                )
            }
        };
        let started = Instant::now();
        self.api
            .expect(method, &path, content_type, if_match, body, expected)
            .await?;
        let elapsed = started.elapsed();
        let committed = match self.class {
            Class::CompCreateSmall | Class::CompCreateLarge => 1,
            Class::ContributionCommit => 2,
            _ => 0,
        };
        context
            .composition_versions
            .fetch_add(committed, Ordering::Relaxed);
        Ok(elapsed)
    }

    async fn update_own_composition(&mut self) -> anyhow::Result<Duration> {
        let position = match &self.owned {
            Owned::Compositions(list) => self.counter % list.len(),
            _ => bail!("comp-update client has no compositions"),
        };
        self.counter += 1;
        let Owned::Compositions(list) = &mut self.owned else {
            unreachable!()
        };
        let (ehr_id, object_id, latest) = &mut list[position];
        let started = Instant::now();
        let new_uid = update_composition(
            &self.api,
            ehr_id,
            object_id,
            latest,
            &self.context.documents.small,
        )
        .await?;
        let elapsed = started.elapsed();
        *latest = new_uid;
        self.context
            .composition_versions
            .fetch_add(1, Ordering::Relaxed);
        Ok(elapsed)
    }

    async fn update_own_status(&mut self) -> anyhow::Result<Duration> {
        let Owned::Statuses(list) = &self.owned else {
            bail!("status-update client has no ehrs")
        };
        let ehr_id = list[self.counter % list.len()].clone();
        self.counter += 1;
        let path = format!("{API}/ehr/{ehr_id}/ehr_status");
        // The read that a real client does before an update is not what this class times.
        let current = self
            .api
            .expect(Method::GET, &path, None, None, Bytes::new(), StatusCode::OK)
            .await?;
        let latest = Api::etag_of(&current, "GET ehr_status")?;
        let started = Instant::now();
        self.api
            .expect(
                Method::PUT,
                &path,
                JSON,
                Some(&latest),
                current.body,
                StatusCode::NO_CONTENT,
            )
            .await?;
        Ok(started.elapsed())
    }

    async fn update_own_directory(&mut self) -> anyhow::Result<Duration> {
        let position = match &self.owned {
            Owned::Directories(list) => self.counter % list.len(),
            _ => bail!("dir-update client has no directories"),
        };
        self.counter += 1;
        let Owned::Directories(list) = &mut self.owned else {
            unreachable!()
        };
        let (ehr_id, latest) = &mut list[position];
        let path = format!("{API}/ehr/{ehr_id}/directory");
        let started = Instant::now();
        let answer = self
            .api
            .expect(
                Method::PUT,
                &path,
                JSON,
                Some(latest),
                self.context.documents.folder.clone(),
                StatusCode::NO_CONTENT,
            )
            .await?;
        let elapsed = started.elapsed();
        *latest = Api::etag_of(&answer, "PUT directory")?;
        Ok(elapsed)
    }
}

/// Runs `class` with `clients` concurrent clients: `warm_up` uncounted, then `duration`
/// measured. A sample counts when its request both started and ended inside the measured
/// window, so throughput is exactly the requests completed in that window over its length.
/// The first unexpected answer stops the whole phase and is reported.
pub async fn run_phase(
    context: &Arc<Context>,
    class: Class,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
) -> PhaseFigures {
    let mut workers = Vec::with_capacity(clients);
    for index in 0..clients {
        match Worker::prepare(Arc::clone(context), class, index, clients, &context.token).await {
            Ok(worker) => workers.push(worker),
            Err(error) => {
                return PhaseFigures::from_samples(
                    clients,
                    Vec::new(),
                    Duration::ZERO,
                    1,
                    Some(format!("setup failed: {error:#}")),
                );
            }
        }
    }
    let abort = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let window_start = Instant::now() + warm_up;
    let window_end = window_start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for mut worker in workers {
        let abort = Arc::clone(&abort);
        let errors = Arc::clone(&errors);
        let first_error = Arc::clone(&first_error);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while !abort.load(Ordering::Relaxed) && Instant::now() < window_end {
                let started = Instant::now();
                match worker.perform().await {
                    Ok(elapsed) => {
                        if started >= window_start && Instant::now() <= window_end {
                            samples.push(elapsed);
                        }
                    }
                    Err(error) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        abort.store(true, Ordering::Relaxed);
                        let mut slot = first_error
                            .lock()
                            .unwrap_or_else(|poison| poison.into_inner());
                        slot.get_or_insert_with(|| format!("{error:#}"));
                        break;
                    }
                }
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        match task.await {
            Ok(mut part) => samples.append(&mut part),
            Err(error) => {
                errors.fetch_add(1, Ordering::Relaxed);
                abort.store(true, Ordering::Relaxed);
                first_error
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .get_or_insert_with(|| format!("client task failed: {error}"));
            }
        }
    }
    let aborted = first_error
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .take();
    // An aborted phase did not run its whole window; its throughput would mislead.
    let elapsed = if aborted.is_some() {
        Instant::now().saturating_duration_since(window_start)
    } else {
        duration
    };
    PhaseFigures::from_samples(
        clients,
        samples,
        elapsed,
        errors.load(Ordering::Relaxed),
        aborted,
    )
}

/// What a paired phase produced: one set of figures per caller, in the order of the tokens,
/// and every request sent (warm-up and setup included), which the audit figures divide by.
pub struct PairedFigures {
    pub sides: Vec<PhaseFigures>,
    pub requests_sent: u64,
}

/// Runs a fixture-reading `class` as each caller of `tokens`, interleaved: every client
/// holds one connection per caller and sends each target's request as every caller, one
/// after the other, the order rotating from one target to the next so that no caller is
/// always first (the second request for an object finds it in the caches the first warmed).
/// So the callers' samples are of the same objects, taken at the same moments under the
/// same load, which on a shared machine is what makes their ratio worth reading; `clients`
/// requests are in flight at any time, whoever they are sent as. Windows, samples and
/// aborts are as in [`run_phase`].
pub async fn run_paired_phase(
    context: &Arc<Context>,
    class: Class,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
    tokens: &[String],
) -> PairedFigures {
    let failed = |error: String| PairedFigures {
        sides: tokens
            .iter()
            .map(|_| {
                PhaseFigures::from_samples(
                    clients,
                    Vec::new(),
                    Duration::ZERO,
                    1,
                    Some(error.clone()),
                )
            })
            .collect(),
        requests_sent: 0,
    };
    if !class.reads_fixture() {
        return failed(format!(
            "{} cannot be measured as several callers",
            class.name()
        ));
    }
    let mut clients_workers = Vec::with_capacity(clients);
    for index in 0..clients {
        let mut workers = Vec::with_capacity(tokens.len());
        for token in tokens {
            match Worker::prepare(Arc::clone(context), class, index, clients, token).await {
                Ok(worker) => workers.push(worker),
                Err(error) => return failed(format!("setup failed: {error:#}")),
            }
        }
        clients_workers.push(workers);
    }
    let abort = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let window_start = Instant::now() + warm_up;
    let window_end = window_start + duration;
    let callers = tokens.len();
    let mut tasks = Vec::with_capacity(clients);
    for mut workers in clients_workers {
        let (abort, errors, sent) = (Arc::clone(&abort), Arc::clone(&errors), Arc::clone(&sent));
        let first_error = Arc::clone(&first_error);
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); callers];
            let mut step = 0usize;
            'targets: while !abort.load(Ordering::Relaxed) && Instant::now() < window_end {
                // Each worker picks the next target in its own sequence; all of a client's
                // workers advance together, so they read the same object at each step.
                for turn in 0..callers {
                    let side = (step + turn) % callers;
                    let started = Instant::now();
                    sent.fetch_add(1, Ordering::Relaxed);
                    match workers[side].perform().await {
                        Ok(elapsed) => {
                            if started >= window_start && Instant::now() <= window_end {
                                samples[side].push(elapsed);
                            }
                        }
                        Err(error) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            abort.store(true, Ordering::Relaxed);
                            let mut slot = first_error
                                .lock()
                                .unwrap_or_else(|poison| poison.into_inner());
                            slot.get_or_insert_with(|| format!("{error:#}"));
                            break 'targets;
                        }
                    }
                }
                step += 1;
            }
            samples
        }));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); callers];
    for task in tasks {
        match task.await {
            Ok(parts) => {
                for (side, mut part) in parts.into_iter().enumerate() {
                    samples[side].append(&mut part);
                }
            }
            Err(error) => {
                errors.fetch_add(1, Ordering::Relaxed);
                first_error
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .get_or_insert_with(|| format!("client task failed: {error}"));
            }
        }
    }
    let aborted = first_error
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .take();
    let elapsed = if aborted.is_some() {
        Instant::now().saturating_duration_since(window_start)
    } else {
        duration
    };
    let errors = errors.load(Ordering::Relaxed);
    PairedFigures {
        sides: samples
            .into_iter()
            .map(|side| PhaseFigures::from_samples(clients, side, elapsed, errors, aborted.clone()))
            .collect(),
        requests_sent: sent.load(Ordering::Relaxed),
    }
}

/// Commits `count` small compositions spread over `ehrs` with `clients` concurrent clients,
/// for the dedicated storage measurement.
pub async fn commit_small_compositions(
    context: &Arc<Context>,
    ehrs: &[String],
    count: usize,
    clients: usize,
) -> anyhow::Result<()> {
    let ehrs = Arc::new(ehrs.to_vec());
    let mut tasks = Vec::new();
    for index in 0..clients {
        let context = Arc::clone(context);
        let ehrs = Arc::clone(&ehrs);
        let share = count / clients + usize::from(index < count % clients);
        tasks.push(tokio::spawn(async move {
            let api = Api::new(&context.address, &context.token)?;
            for position in 0..share {
                let ehr_id = &ehrs[(index + position * clients) % ehrs.len()];
                create_small_composition(&api, &context.documents, ehr_id).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("a committing client failed")??;
    }
    Ok(())
}
