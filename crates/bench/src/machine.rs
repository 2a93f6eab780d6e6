//! The machine a run happened on, read from /proc, so every result carries its context.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpu_count: usize,
    pub memory_total_mib: u64,
    pub kernel: String,
    pub date_utc: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let cpu_count = cpuinfo
            .lines()
            .filter(|line| line.split(':').next().map(str::trim) == Some("processor"))
            .count();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_total_mib = proc_field_kib(&meminfo, "MemTotal").unwrap_or(0) / 1024;
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|text| text.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let date_utc = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Machine {
            cpu_model,
            cpu_count,
            memory_total_mib,
            kernel,
            date_utc,
        }
    }
}

/// A `Name:   1234 kB` field of /proc/meminfo or /proc/<pid>/status, in KiB.
pub fn proc_field_kib(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key.trim() != name {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

/// The one-minute load average now, from /proc/loadavg: on a shared machine, the context
/// every latency of a run needs.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU seconds (user + system) each thread of a process has used, summed by thread name
/// (what /proc shows as `comm`, cut to 15 characters), so the SQLite writer thread, the
/// runtime's workers and the blocking readers can be told apart.
pub fn thread_cpu_seconds(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((name, seconds)) = parse_thread_stat(&stat) {
            *by_name.entry(name).or_insert(0.0) += seconds;
        }
    }
    by_name
}

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux in use).
const TICKS_PER_SECOND: f64 = 100.0;

/// The name and CPU seconds of one `/proc/<pid>/task/<tid>/stat` line. The name is in
/// parentheses and may hold spaces or parentheses itself, so the fields after it are found
/// from the last `)`: utime and stime are the 14th and 15th fields of the line.
fn parse_thread_stat(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line, so utime (14) is index 11 here.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (user + system) / TICKS_PER_SECOND))
}

/// `after - before`, thread name by thread name (threads that appeared count from zero).
pub fn cpu_used(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
) -> std::collections::BTreeMap<String, f64> {
    after
        .iter()
        .map(|(name, seconds)| {
            let earlier = before.get(name).copied().unwrap_or(0.0);
            (name.clone(), (seconds - earlier).max(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_stat_names_may_hold_spaces_and_parentheses() {
        let line = "4242 (kith-sqlite (w)) S 1 4242 4242 0 -1 4194368 100 0 0 0 250 75 0 0 20 0 1 0 100 0 0";
        assert_eq!(
            parse_thread_stat(line),
            Some(("kith-sqlite (w)".to_owned(), 3.25))
        );
        assert_eq!(parse_thread_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_threads_with_cpu_time() {
        let spent: f64 = (0..200_000u64).map(|value| value as f64).sum();
        assert!(spent > 0.0);
        let threads = thread_cpu_seconds(std::process::id());
        assert!(!threads.is_empty());
        let used = cpu_used(&std::collections::BTreeMap::new(), &threads);
        assert_eq!(used.len(), threads.len());
    }
}
