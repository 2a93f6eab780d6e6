//! The in-process template figures: parsing every shared template, validating and converting
//! the vital signs composition, and what validation costs a small composition, measured in
//! this process on the same machine and in the same run as the HTTP classes.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::stats::percentile;

/// Repetitions of each timed operation, after as many warm-up rounds as `WARM_UP`.
const ROUNDS: usize = 2_000;
const WARM_UP: usize = 100;
/// Parsing is slower; the best and the median of this many parses are reported.
const PARSE_ROUNDS: usize = 20;

#[derive(Debug, Serialize)]
pub struct TemplateFigures {
    pub parse: Vec<ParseFigure>,
    /// `validate::validate` of the vital signs composition (made from the shared FLAT example).
    pub validate_vital_signs: Timing,
    /// FLAT to canonical, and back, of the same composition.
    pub flat_to_canonical: Timing,
    pub canonical_to_flat: Timing,
    /// The same three on the template's generated example, which fills every node once.
    pub example_leaf_values: usize,
    pub validate_example: Timing,
    /// None when the example has no FLAT form (the reason is in `example_flat_problem`).
    pub example_flat_to_canonical: Option<Timing>,
    pub example_canonical_to_flat: Option<Timing>,
    pub example_flat_problem: Option<String>,
    /// Building the FLAT index of the vital signs template (once per template).
    pub flat_index_ms: f64,
    /// What the server does per comp-create-small request before the store: reading the
    /// canonical JSON into an RM tree, and validating it against its template.
    pub small_parse: Timing,
    pub small_validate: Timing,
}

#[derive(Debug, Serialize)]
pub struct ParseFigure {
    pub template: String,
    pub bytes: usize,
    pub best_ms: f64,
    pub median_ms: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timing {
    pub p50_us: f64,
    pub p99_us: f64,
}

fn time<T>(mut operation: impl FnMut() -> T) -> Timing {
    for _ in 0..WARM_UP {
        std::hint::black_box(operation());
    }
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        std::hint::black_box(operation());
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    let micros = |value: Option<Duration>| value.map_or(0.0, |value| value.as_secs_f64() * 1e6);
    Timing {
        p50_us: micros(percentile(&samples, 50.0)),
        p99_us: micros(percentile(&samples, 99.0)),
    }
}

pub fn measure(testdata: &Path) -> anyhow::Result<TemplateFigures> {
    let read = |relative: &str| {
        std::fs::read(testdata.join(relative)).with_context(|| format!("reading {relative}"))
    };
    let mut files: Vec<_> = std::fs::read_dir(testdata.join("templates"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".opt"))
        .collect();
    files.sort();
    let mut parse = Vec::new();
    for file in &files {
        let bytes = read(&format!("templates/{file}"))?;
        templates::opt::parse(&bytes).with_context(|| format!("parsing {file}"))?;
        let mut samples: Vec<Duration> = (0..PARSE_ROUNDS)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(templates::opt::parse(&bytes).ok());
                started.elapsed()
            })
            .collect();
        samples.sort_unstable();
        parse.push(ParseFigure {
            template: file.clone(),
            bytes: bytes.len(),
            best_ms: samples[0].as_secs_f64() * 1e3,
            median_ms: samples[PARSE_ROUNDS / 2].as_secs_f64() * 1e3,
        });
    }

    let vital_signs = templates::opt::parse(&read("templates/ehrn_vital_signs.v2.opt")?)?;
    let started = Instant::now();
    let formats = templates::flat::FlatFormat::new(&vital_signs);
    let flat_index_ms = started.elapsed().as_secs_f64() * 1e3;
    let flat: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&read("compositions/ehrn_vital_signs.v2.flat.json")?)?;
    let defaults = templates::flat::InputDefaults {
        time: Some("2026-01-01T00:00:00Z".into()),
    };
    let composition = formats.to_canonical(&flat, &defaults).map_err(|errors| {
        anyhow::anyhow!("the vital signs example does not convert: {errors:?}")
    })?;
    let violations = templates::validate::validate(&vital_signs, &composition);
    anyhow::ensure!(
        violations.is_empty(),
        "the vital signs example does not validate: {violations:?}"
    );
    let validate_vital_signs = time(|| templates::validate::validate(&vital_signs, &composition));
    let flat_to_canonical = time(|| formats.to_canonical(&flat, &defaults));
    let canonical_to_flat = time(|| formats.from_canonical(&composition));

    let example = templates::example::example(&vital_signs);
    let validate_example = time(|| templates::validate::validate(&vital_signs, &example));
    let (mut example_flat_to_canonical, mut example_canonical_to_flat) = (None, None);
    let mut example_flat_problem = None;
    let mut example_leaf_values = 0;
    match formats.from_canonical(&example) {
        Ok(example_flat) => {
            example_leaf_values = example_flat.len();
            example_canonical_to_flat = Some(time(|| formats.from_canonical(&example)));
            example_flat_to_canonical =
                Some(time(|| formats.to_canonical(&example_flat, &defaults)));
        }
        Err(errors) => example_flat_problem = Some(format!("{errors:?}")),
    }

    let small_template = templates::opt::parse(&read("templates/minimal_observation.opt")?)?;
    let small_json = read("compositions/minimal_observation.canonical.json")?;
    let small = openehr_rm::json::from_slice(&small_json, "COMPOSITION")?;
    let small_parse = time(|| openehr_rm::json::from_slice(&small_json, "COMPOSITION"));
    let small_validate = time(|| templates::validate::validate(&small_template, &small));

    Ok(TemplateFigures {
        parse,
        validate_vital_signs,
        flat_to_canonical,
        canonical_to_flat,
        example_leaf_values,
        validate_example,
        example_flat_to_canonical,
        example_canonical_to_flat,
        example_flat_problem,
        flat_index_ms,
        small_parse,
        small_validate,
    })
}
