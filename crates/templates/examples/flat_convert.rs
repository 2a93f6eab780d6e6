//! Times the FLAT format on one template and one FLAT document:
//! `cargo run --release -p templates --example flat_convert -- [TEMPLATE.opt] [FLAT.json]`
//! (defaults: the vital signs template and its FLAT example, relative to the workspace).

use std::time::{Duration, Instant};

use serde_json::Value;
use templates::flat::{FlatFormat, InputDefaults};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| {
        eprintln!("{path}: {error}");
        std::process::exit(1);
    })
}

/// p50 and p99 of `rounds` timed runs of `run`, after 100 untimed ones (which warm the
/// regex cache and the allocator).
fn time(rounds: usize, mut run: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = Vec::with_capacity(rounds);
    for round in 0..rounds + 100 {
        let started = Instant::now();
        run();
        let elapsed = started.elapsed();
        if round >= 100 {
            times.push(elapsed);
        }
    }
    times.sort();
    (times[rounds / 2], times[rounds * 99 / 100])
}

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut arguments = std::env::args().skip(1);
    let template_path = arguments
        .next()
        .unwrap_or_else(|| format!("{root}/testdata/templates/ehrn_vital_signs.v2.opt"));
    let flat_path = arguments
        .next()
        .unwrap_or_else(|| format!("{root}/testdata/compositions/ehrn_vital_signs.v2.flat.json"));
    let template = templates::opt::parse(&read(&template_path)).unwrap_or_else(|error| {
        eprintln!("{template_path}: {error}");
        std::process::exit(1);
    });
    let flat = match serde_json::from_slice(&read(&flat_path)) {
        Ok(Value::Object(flat)) => flat,
        _ => {
            eprintln!("{flat_path}: not a FLAT object");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let format = FlatFormat::new(&template);
    println!("FlatFormat::new: {:?}", started.elapsed());

    let defaults = InputDefaults {
        time: Some("2024-01-02T03:04:05Z".into()),
    };
    let composition = format
        .to_canonical(&flat, &defaults)
        .unwrap_or_else(|errors| {
            eprintln!("{flat_path}: {errors:#?}");
            std::process::exit(1);
        });
    if let Err(errors) = format.from_canonical(&composition) {
        eprintln!("{flat_path}: back to flat: {errors:#?}");
        std::process::exit(1);
    }
    let name = std::path::Path::new(&flat_path)
        .file_name()
        .map_or(flat_path.clone(), |name| {
            name.to_string_lossy().into_owned()
        });
    let rounds = 2000;
    let (p50, p99) = time(rounds, || {
        std::hint::black_box(format.to_canonical(&flat, &defaults).ok());
    });
    println!(
        "{name}: FLAT → canonical p50 {:.1} µs, p99 {:.1} µs over {rounds} rounds",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    let (p50, p99) = time(rounds, || {
        std::hint::black_box(format.from_canonical(&composition).ok());
    });
    println!(
        "{name}: canonical → FLAT p50 {:.1} µs, p99 {:.1} µs over {rounds} rounds",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}
