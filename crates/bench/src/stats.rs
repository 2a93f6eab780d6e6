//! Latency samples and the figures drawn from them: percentiles over the whole sorted
//! sample vector, never over a sample of it.

use std::time::Duration;

use serde::Serialize;

/// The value at percentile `percentile` (0–100) of an ascending `sorted` slice, by the
/// nearest-rank method: the smallest sample such that at least `percentile` per cent of
/// the samples are at or below it. Nearest rank returns a latency that was actually
/// observed, which is what a reader of p99 expects; interpolation would invent one.
pub fn percentile(sorted: &[Duration], percentile: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[index])
}

/// What one measured phase (a class at one concurrency) produced.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseFigures {
    pub clients: usize,
    pub requests: usize,
    pub errors: u64,
    /// The first unexpected answer, when the phase was aborted because of one.
    pub aborted: Option<String>,
    pub elapsed_secs: f64,
    pub throughput_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl PhaseFigures {
    /// Sorts `samples` and summarises them; throughput is successful requests over the
    /// wall-clock time of the measured window.
    pub fn from_samples(
        clients: usize,
        mut samples: Vec<Duration>,
        elapsed: Duration,
        errors: u64,
        aborted: Option<String>,
    ) -> Self {
        samples.sort_unstable();
        let milliseconds = |value: Option<Duration>| value.map(|value| value.as_secs_f64() * 1e3);
        let elapsed_secs = elapsed.as_secs_f64();
        PhaseFigures {
            clients,
            requests: samples.len(),
            errors,
            aborted,
            elapsed_secs,
            throughput_per_sec: if elapsed_secs > 0.0 {
                samples.len() as f64 / elapsed_secs
            } else {
                0.0
            },
            p50_ms: milliseconds(percentile(&samples, 50.0)),
            p99_ms: milliseconds(percentile(&samples, 99.0)),
            max_ms: milliseconds(samples.last().copied()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values
            .iter()
            .map(|value| Duration::from_millis(*value))
            .collect()
    }

    #[test]
    fn percentile_uses_nearest_rank_on_sorted_samples() {
        let samples = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(
            percentile(&samples, 100.0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(percentile(&samples, 0.0), Some(Duration::from_millis(1)));
    }

    #[test]
    fn percentile_of_few_samples_is_an_observed_value() {
        let samples = millis(&[3, 7, 20]);
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(20)));
        assert_eq!(
            percentile(&[Duration::from_millis(4)], 99.0),
            Some(Duration::from_millis(4))
        );
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_sorts_before_taking_percentiles() {
        let figures = PhaseFigures::from_samples(
            1,
            millis(&[9, 1, 5, 3, 7]),
            Duration::from_secs(1),
            0,
            None,
        );
        assert_eq!(figures.p50_ms, Some(5.0));
        assert_eq!(figures.max_ms, Some(9.0));
        assert_eq!(figures.throughput_per_sec, 5.0);
    }
}
