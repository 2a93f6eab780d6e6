//! Times `validate::validate` on one composition:
//! `cargo run --release -p templates --example validate_composition -- TEMPLATE.opt COMPOSITION.json`.

use std::time::{Duration, Instant};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| {
        eprintln!("{path}: {error}");
        std::process::exit(1);
    })
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [template_path, composition_path] = arguments.as_slice() else {
        eprintln!("usage: validate_composition TEMPLATE.opt COMPOSITION.json");
        std::process::exit(2);
    };
    let template = templates::opt::parse(&read(template_path)).unwrap_or_else(|error| {
        eprintln!("{template_path}: {error}");
        std::process::exit(1);
    });
    let composition = openehr_rm::json::from_slice(&read(composition_path), "COMPOSITION")
        .unwrap_or_else(|error| {
            eprintln!("{composition_path}: {error}");
            std::process::exit(1);
        });
    // The first rounds warm the regex cache and the allocator; the figures are of the rest.
    let rounds = 2000;
    let mut times: Vec<Duration> = Vec::with_capacity(rounds);
    let mut violations = 0;
    for round in 0..rounds + 100 {
        let started = Instant::now();
        let found = templates::validate::validate(&template, &composition);
        let elapsed = started.elapsed();
        if round >= 100 {
            times.push(elapsed);
        }
        violations = found.len();
    }
    times.sort();
    println!(
        "{composition_path}: {violations} violations; p50 {:?}, p99 {:?} over {rounds} rounds",
        times[rounds / 2],
        times[rounds * 99 / 100]
    );
}
