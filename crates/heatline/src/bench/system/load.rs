//! The load generator of `bench system`: a process of its own that files complaints over HTTP
//! from many connections and prints what it measured as one JSON line, and the side of the
//! bench that runs it and reads that line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::Options;
use crate::bench::procfs;
use crate::bench::{ms, percentile};

/// The load generator, run by `bench system` as a process of its own.
#[derive(clap::Args)]
pub struct LoadOptions {
    /// The server's base URL.
    #[arg(long)]
    base: String,
    /// A file of `operator TOKEN` and `resident TOKEN` lines; none drives the ceiling.
    #[arg(long)]
    tokens: Option<PathBuf>,
    #[arg(long)]
    connections: usize,
    #[arg(long)]
    seconds: u64,
    #[arg(long)]
    buildings: usize,
}

/// What the load generator prints, as one JSON line.
#[derive(Serialize, Deserialize)]
pub(super) struct Outcome {
    pub(super) accepted: usize,
    pub(super) failed: u64,
    pub(super) elapsed_s: f64,
    pub(super) p50_ms: f64,
    pub(super) p90_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) p999_ms: f64,
    pub(super) max_ms: f64,
    /// Of each second of the load, the requests that took longer than 50 ms.
    pub(super) slow_by_second: Vec<usize>,
    /// The operators' filings' p50 and p99, then the residents'.
    pub(super) by_filer_ms: [f64; 4],
    /// The generator's own CPU time (user and system), in seconds.
    pub(super) cpu_s: Option<f64>,
}

impl Outcome {
    pub(super) fn per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed_s
    }
}

/// The generator: each connection files in a loop until the time is up.
pub async fn load(options: LoadOptions) -> anyhow::Result<()> {
    let (operators, residents) = match &options.tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path).context("reading the tokens")?;
            let mut operators = Vec::new();
            let mut residents = Vec::new();
            for line in text.lines() {
                match line.split_once(' ') {
                    Some(("operator", token)) => operators.push(token.to_owned()),
                    Some(("resident", token)) => residents.push(token.to_owned()),
                    _ => anyhow::bail!("a tokens line is neither operator nor resident"),
                }
            }
            (operators, residents)
        }
        None => (Vec::new(), Vec::new()),
    };
    let (operators, residents) = (Arc::new(operators), Arc::new(residents));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.connections)
        .build()?;
    let window = Duration::from_secs(options.seconds);
    let started = Instant::now();
    let connections = options.connections;
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (http, base) = (http.clone(), options.base.clone());
            let (operators, residents) = (operators.clone(), residents.clone());
            let buildings = options.buildings;
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed = 0u64;
                let mut n = 0usize;
                while started.elapsed() < window {
                    let building = (c * 7919 + n * 104_729) % buildings;
                    let request = if operators.is_empty() {
                        http.post(format!("{base}/insert"))
                            .json(&serde_json::json!({ "building": building, "n": n }))
                    } else if c % 2 == 0 {
                        let token = &operators[c / 2 % operators.len()];
                        http.post(format!("{base}/api/v1/hotline/complaints"))
                            .bearer_auth(token)
                            .json(&serde_json::json!({
                                "category": "no_heat",
                                "address": format!("和平区测试路{building}号{c}单元{n}室"),
                                "caller_phone": "13800138000",
                            }))
                    } else {
                        // Each resident files 5 at most, then the next one takes over.
                        let slot = (c / 2) + (n / 5) * connections.div_ceil(2);
                        let Some(token) = residents.get(slot) else {
                            failed += 1;
                            break;
                        };
                        http.post(format!("{base}/api/v1/complaints"))
                            .bearer_auth(token)
                            .json(&serde_json::json!({
                                "category": "low_temperature",
                                "heating_account": format!("HB{building:05}{c:03}{n:06}"),
                                "room_temperature": 16.0,
                                "description": "bench",
                            }))
                    };
                    let sent = Instant::now();
                    match request.send().await {
                        Ok(r) if r.status().is_success() => {
                            latencies.push((sent.elapsed(), (sent - started).as_secs(), c % 2))
                        }
                        _ => failed += 1,
                    }
                    n += 1;
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (l, f) = task.await?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let mut slow_by_second = vec![0; options.seconds as usize + 1];
    for (latency, second, _) in &latencies {
        if *latency > Duration::from_millis(50) {
            slow_by_second[(*second as usize).min(options.seconds as usize)] += 1;
        }
    }
    let of = |kind: usize| {
        let mut of: Vec<Duration> = latencies
            .iter()
            .filter(|(_, _, k)| *k == kind)
            .map(|(l, _, _)| *l)
            .collect();
        of.sort_unstable();
        [ms(percentile(&of, 0.50)), ms(percentile(&of, 0.99))]
    };
    let ([op50, op99], [re50, re99]) = (of(0), of(1));
    let by_filer_ms = [op50, op99, re50, re99];
    let mut latencies: Vec<Duration> = latencies.into_iter().map(|(l, _, _)| l).collect();
    latencies.sort_unstable();
    let outcome = Outcome {
        accepted: latencies.len(),
        failed,
        elapsed_s,
        p50_ms: ms(percentile(&latencies, 0.50)),
        p90_ms: ms(percentile(&latencies, 0.90)),
        p99_ms: ms(percentile(&latencies, 0.99)),
        p999_ms: ms(percentile(&latencies, 0.999)),
        max_ms: ms(latencies.last().copied().unwrap_or_default()),
        slow_by_second,
        by_filer_ms,
        cpu_s: procfs::cpu_seconds("self"),
    };
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(())
}

/// Runs the load generator as a child process against `base` and waits for its outcome.
pub(super) async fn drive(
    url: &str,
    base: &str,
    tokens: Option<&Path>,
    options: &Options,
) -> anyhow::Result<Outcome> {
    let (url, base, options) = (url.to_owned(), base.to_owned(), options.clone());
    let tokens = tokens.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || drive_blocking(&url, &base, tokens.as_deref(), &options))
        .await?
}

fn drive_blocking(
    url: &str,
    base: &str,
    tokens: Option<&Path>,
    options: &Options,
) -> anyhow::Result<Outcome> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .args(["bench", "load", "--base", base])
        .args(["--connections", &options.connections.to_string()])
        .args(["--seconds", &options.seconds.to_string()])
        .args(["--buildings", &options.buildings.to_string()]);
    if let Some(tokens) = tokens {
        command.arg("--tokens").arg(tokens);
    }
    let output = command.stderr(Stdio::inherit()).output()?;
    anyhow::ensure!(output.status.success(), "the load generator failed");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .last()
        .context("the load generator printed nothing")?;
    Ok(serde_json::from_str(line)?)
}
