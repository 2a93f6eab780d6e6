//! Times `opt::parse` on one OPT: `cargo run --release -p templates --example parse_opt -- FILE`.

use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_opt FILE.opt");
        std::process::exit(2);
    };
    let opt = match std::fs::read(&path) {
        Ok(opt) => opt,
        Err(error) => {
            eprintln!("{path}: {error}");
            std::process::exit(1);
        }
    };
    // The first parse warms caches and the allocator; the figure is the best of the rest.
    let rounds = 20;
    let mut best = None;
    for _ in 0..=rounds {
        let started = Instant::now();
        if let Err(error) = templates::opt::parse(&opt) {
            eprintln!("{path}: {error}");
            std::process::exit(1);
        }
        let elapsed = started.elapsed();
        best = Some(best.map_or(elapsed, |best: std::time::Duration| best.min(elapsed)));
    }
    if let Some(best) = best {
        println!(
            "{path}: {} bytes parsed in {best:?} (best of {rounds})",
            opt.len()
        );
    }
}
