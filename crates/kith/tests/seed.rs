//! `kith seed` on a fresh SQLite and (with `KITH_TEST_DATABASE_URL`) PostgreSQL store: the
//! counts add up, every composition is in the store and conforms to its template, the same
//! seed gives byte-identical compositions, and the commit path refuses what the validator
//! refuses.

use std::collections::BTreeMap;
use std::sync::Arc;

use kith::seed::population::{NHS_NUMBER_NAMESPACE, Population, is_valid_nhs_number};
use kith::seed::{SeedOptions, TEMPLATES, seed};
use server::AppState;
use store::{Store, SubjectKey, VersionSelector};

const PEOPLE: u64 = 30;
const SEED: u64 = 42;

fn options() -> SeedOptions {
    SeedOptions {
        people: PEOPLE,
        seed: SEED,
        compositions_per_person: 6.0,
        concurrency: 8,
        ..SeedOptions::default()
    }
}

async fn state(store: Arc<dyn Store>) -> AppState {
    let config = server::Config {
        system_id: "kith.local".into(),
        admin_token: String::new(),
        body_limit: server::DEFAULT_BODY_LIMIT,
        aql_evaluation_limit: server::DEFAULT_AQL_EVALUATION_LIMIT,
        query_timeout: server::DEFAULT_QUERY_TIMEOUT,
        authentication: server::auth::Authenticator::default(),
        trusted_proxies: server::client::TrustedProxies::default(),
    };
    AppState::new(store, config).await.expect("app state")
}

/// Every planned composition of the population as stored, by object id, after checking
/// that each is there and conforms to its template.
async fn stored_compositions(store: &dyn Store) -> BTreeMap<uuid::Uuid, Vec<u8>> {
    let templates: BTreeMap<&str, templates::model::Template> = TEMPLATES
        .iter()
        .map(|(id, opt)| (*id, templates::opt::parse(opt).expect("template parses")))
        .collect();
    let population = Population::new(SEED, options().compositions_per_person);
    let mut stored = BTreeMap::new();
    for index in 0..PEOPLE {
        let person = population.person(index);
        assert!(is_valid_nhs_number(&person.nhs_number));
        let subject = SubjectKey {
            namespace: NHS_NUMBER_NAMESPACE.into(),
            id: person.nhs_number.clone(),
        };
        let ehr = store
            .find_ehr_by_subject(&subject)
            .await
            .expect("find ehr")
            .expect("every person has an ehr");
        assert_eq!(ehr.ehr_id, person.ehr_id);
        for planned in &person.compositions {
            let version = store
                .get_version(person.ehr_id, planned.object_id, VersionSelector::Latest)
                .await
                .expect("read composition")
                .unwrap_or_else(|| panic!("composition {} is missing", planned.object_id));
            assert_eq!(
                version.meta.template_id.as_deref(),
                Some(planned.template_id)
            );
            let composition =
                openehr_rm::json::from_slice_deferring_mandatory(&version.data, "COMPOSITION")
                    .expect("stored composition parses");
            let violations =
                templates::validate::validate(&templates[planned.template_id], &composition);
            assert!(
                violations.is_empty(),
                "{} breaks {}: {violations:?}",
                planned.object_id,
                planned.template_id
            );
            composition
                .check_mandatory_everywhere()
                .expect("nothing mandatory is missing");
            stored.insert(planned.object_id, version.data);
        }
    }
    stored
}

/// Seeds two fresh stores from `open` with the same seed and compares them.
async fn seeds_reproducibly<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn Store>>,
{
    let population = Population::new(SEED, options().compositions_per_person);
    let planned: u64 = (0..PEOPLE)
        .map(|index| population.person(index).compositions.len() as u64)
        .sum();

    let first = state(open().await).await;
    let report = seed(&first, &options()).await.expect("first seeding");
    assert_eq!(report.people, PEOPLE);
    assert_eq!(report.compositions, planned);
    assert_eq!(report.templates_uploaded, TEMPLATES.len());
    assert_eq!(
        report.compositions_by_template.values().sum::<u64>(),
        planned
    );
    let first_compositions = stored_compositions(first.store.as_ref()).await;
    assert_eq!(first_compositions.len() as u64, planned);

    let second = state(open().await).await;
    let again = seed(&second, &options()).await.expect("second seeding");
    assert_eq!(again.compositions, planned);
    let second_compositions = stored_compositions(second.store.as_ref()).await;
    assert!(
        first_compositions == second_compositions,
        "the same seed gave different compositions"
    );

    // The path refuses what the validator refuses: a negative systolic pressure.
    let person = population.person(0);
    let mut vital_signs = person
        .compositions
        .iter()
        .find(|planned| planned.template_id == kith::seed::population::VITAL_SIGNS)
        .expect("everyone has vital signs")
        .clone();
    let key = "ehrn_vital_signs.v2/vital_signs:0/blood_pressure:0/any_event:0/systolic|magnitude";
    vital_signs.flat.insert(key.into(), serde_json::json!(-5.0));
    vital_signs.flat.insert(
        "ehrn_vital_signs.v2/_uid".into(),
        serde_json::json!(format!("{}::kith.local::1", uuid::Uuid::new_v4())),
    );
    let composition = server::ingest::composition_from_flat(
        &first,
        vital_signs.template_id,
        &vital_signs.flat,
        &vital_signs.time,
    )
    .await
    .expect("the flat document converts");
    let refused =
        server::ingest::commit_composition(&first, person.ehr_id, composition, "test").await;
    let error = refused.expect_err("an invalid composition is refused");
    assert_eq!(error.code(), "template_violation", "{error}");
    eprintln!(
        "seed: {} people, {planned} compositions, reproducible and valid on {}",
        PEOPLE,
        first.store.backend_name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_seeding_is_complete_valid_and_reproducible() {
    let directories = std::sync::Mutex::new(Vec::new());
    seeds_reproducibly(|| async {
        let directory = tempfile::tempdir().expect("temporary directory");
        let store = store::open_store(None, directory.path())
            .await
            .expect("sqlite store");
        directories.lock().expect("not poisoned").push(directory);
        store
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_seeding_is_complete_valid_and_reproducible() {
    let Ok(admin_url) = std::env::var("KITH_TEST_DATABASE_URL") else {
        eprintln!("skipped: KITH_TEST_DATABASE_URL is not set");
        return;
    };
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .expect("postgresql is unreachable");
    tokio::spawn(connection);
    let names = std::sync::Mutex::new(Vec::new());
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .unwrap_or_else(|| admin_url.clone());
    seeds_reproducibly(|| async {
        let name = format!("kith_seed_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        names.lock().expect("not poisoned").push(name.clone());
        store::open_store(Some(&format!("{base}/{name}")), std::path::Path::new("."))
            .await
            .expect("postgresql store")
    })
    .await;
    for name in names.into_inner().expect("not poisoned") {
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop database");
    }
}

/// Where a seeded composition's time goes before the store: run with
/// `cargo test --release -p kith --test seed -- --ignored --nocapture`. The same steps the
/// commit path takes, timed one by one over the first people of a population, so that a
/// bulk-load rate can be split into generation, FLAT conversion, validation, index rows,
/// serialisation and (by difference) the store.
#[test]
#[ignore = "a measurement, not a check; run it in release mode"]
fn profile_the_commit_path_stages() {
    use std::time::{Duration, Instant};
    let parsed: BTreeMap<&str, (templates::model::Template, templates::flat::FlatFormat)> =
        TEMPLATES
            .iter()
            .map(|(id, opt)| {
                let template = templates::opt::parse(opt).expect("template parses");
                let format = templates::flat::FlatFormat::new(&template);
                (*id, (template, format))
            })
            .collect();
    let population = Population::new(SEED, 10.0);
    let mut stages = [Duration::ZERO; 5];
    let (mut compositions, mut values, mut nodes) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    for index in 0..2_000 {
        let mark = Instant::now();
        let person = population.person(index);
        stages[0] += mark.elapsed();
        for planned in &person.compositions {
            let (template, format) = &parsed[planned.template_id];
            let defaults = templates::flat::InputDefaults {
                time: Some(planned.time.clone()),
            };
            let mark = Instant::now();
            let composition = format
                .to_canonical(&planned.flat, &defaults)
                .expect("converts");
            stages[1] += mark.elapsed();
            let mark = Instant::now();
            assert!(templates::validate::validate(template, &composition).is_empty());
            composition.check_mandatory_everywhere().expect("complete");
            stages[2] += mark.elapsed();
            let mark = Instant::now();
            let rows = aql::index::index_rows(&composition);
            stages[3] += mark.elapsed();
            let mark = Instant::now();
            let json = openehr_rm::json::to_vec(&composition);
            stages[4] += mark.elapsed();
            compositions += 1;
            values += rows.values.len() as u64;
            nodes += rows.nodes.len() as u64;
            std::hint::black_box(json);
        }
    }
    let total = started.elapsed();
    let per = |duration: Duration| duration.as_secs_f64() * 1e6 / compositions as f64;
    eprintln!(
        "{compositions} compositions, {:.1} value rows and {:.1} archetype rows each",
        values as f64 / compositions as f64,
        nodes as f64 / compositions as f64
    );
    for (name, duration) in [
        "generating people and flat documents",
        "flat to canonical",
        "validation and mandatory check",
        "index rows",
        "canonical json",
    ]
    .iter()
    .zip(stages)
    {
        eprintln!("{name}: {:.1} µs per composition", per(duration));
    }
    eprintln!(
        "all of it: {:.1} µs per composition, {:.0} compositions/s on one core",
        per(total),
        compositions as f64 / total.as_secs_f64()
    );
}
