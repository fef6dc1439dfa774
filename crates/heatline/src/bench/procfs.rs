//! What a benchmark reads of processes and of the machine from `/proc`: CPU time and peak
//! memory. A process is named by its pid or `self`.

/// The CPU time (user and system) of the process `pid`, in seconds.
pub(super) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th,
    // in clock ticks of 1/100 s.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The CPU time so far of every PostgreSQL process of the machine (the postmaster, its
/// background workers and the connections' backends alive now), in seconds.
pub(super) fn postgres_cpu_seconds() -> Option<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let is_postgres = std::fs::read_to_string(entry.path().join("comm"))
            .is_ok_and(|comm| comm.trim_end() == "postgres");
        if is_postgres {
            total += cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    Some(total)
}

/// The machine's busy CPU time so far (every core, all but idle and I/O wait), in seconds.
pub(super) fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((ticks.iter().sum::<f64>() - idle) / 100.0)
}

/// The peak resident memory (VmHWM) of the process `pid`, in KiB.
pub(super) fn peak_rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
