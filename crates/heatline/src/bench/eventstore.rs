//! `heatline bench eventstore`: the event store beside a raw INSERT baseline, in one run, on
//! one PostgreSQL, in a scratch database created for the run and dropped after it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use contracts::selftest::v1::ProbeTicked;
use eventstore::selftest::{Probe, ProbeCommand};
use eventstore::{
    Actor, Batch, Channel, Commands, DbConfig, EventMetadata, Handler, HandlerError, LogPosition,
    PgEventStore, PublishedEvent, SubscriptionConfig, subscription,
};
use tokio_postgres::NoTls;

use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Concurrent clients for the write phases.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds each write phase runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Events per second written during the latency phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds the latency phase runs.
    #[arg(long, default_value_t = 10)]
    latency_seconds: u64,
}

pub(super) const RAW_TABLE: &str = "CREATE TABLE bench_raw (
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    aggregate_type text NOT NULL, aggregate_id text NOT NULL, sequence bigint NOT NULL,
    event_id uuid NOT NULL UNIQUE, event_type text NOT NULL, event_version text NOT NULL,
    payload jsonb NOT NULL, metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence));
CREATE UNIQUE INDEX ON bench_raw (tx_id, global_position)";

const RAW_INSERT: &str = "INSERT INTO bench_raw
    (aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload, metadata)
    VALUES ('probe', $1, $2, $3, 'ProbeTicked', '1', $4, $5)";

fn metadata() -> EventMetadata {
    EventMetadata::new(
        Actor {
            id: "bench".into(),
            role: "system".into(),
        },
        Channel::System,
    )
}

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&database.config).await?;
    let outcome = measure(&scratch.config, &options).await;
    scratch.drop_database().await;
    let report = outcome?;
    report.print(&options);
    Ok(())
}

struct Report {
    raw_per_s: f64,
    commands_per_s: f64,
    batch_events_per_s: f64,
    read_events: usize,
    read_per_s: f64,
    raw_read_per_s: f64,
    partitions_per_s: [f64; 2],
    latency: Percentiles,
    latency_samples: usize,
}

struct Percentiles {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            max: *samples.last().expect("at least one sample"),
        }
    }
}

impl Report {
    fn print(&self, options: &Options) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let verdict = super::verdict;
        let ratio = self.commands_per_s / self.raw_per_s;
        println!(
            "heatline bench eventstore: {} clients, {} s per write phase",
            options.clients, options.seconds
        );
        println!(
            "(a) raw single-row INSERT transactions    {:>10.0} tx/s   (baseline)",
            self.raw_per_s
        );
        println!(
            "(b) CqrsFramework commands, 1 event each  {:>10.0} cmd/s  = {:.0} % of (a); target >= 50 %: {}",
            self.commands_per_s,
            ratio * 100.0,
            verdict(ratio >= 0.5)
        );
        println!(
            "(c) appends of 100 events per transaction {:>10.0} events/s",
            self.batch_events_per_s
        );
        println!(
            "(d) catch-up read of the public log       {:>10.0} events/s over {} events, decoded; target >= 238,830 (twice the 119,415 once measured): {}",
            self.read_per_s,
            self.read_events,
            verdict(self.read_per_s >= 238_830.0)
        );
        println!(
            "    raw SELECT of the same rows, same pages {:>8.0} rows/s (baseline): (d) is {:.0} % of it",
            self.raw_read_per_s,
            self.read_per_s / self.raw_read_per_s * 100.0
        );
        println!(
            "(e) commit-to-handler latency at {} events/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} events; target p99 <= 50 ms: {}",
            options.rate,
            ms(self.latency.p50),
            ms(self.latency.p99),
            ms(self.latency.max),
            self.latency_samples,
            verdict(self.latency.p99 <= Duration::from_millis(50))
        );
        let [one, two] = self.partitions_per_s;
        println!(
            "(f) a per-stream projection (a statement per event) over the newest {} events: 1 partition {:>7.0} events/s, 2 partitions {:>7.0} events/s ({:.2}x)",
            super::partitions::EVENTS,
            one,
            two,
            two / one
        );
    }
}

async fn measure(config: &DbConfig, options: &Options) -> anyhow::Result<Report> {
    let config = config.clone().pool_size(options.clients + 4);
    {
        let (mut client, connection) = config.pg.connect(NoTls).await?;
        tokio::spawn(connection);
        eventstore::migrate(&mut client).await?;
        client.batch_execute(RAW_TABLE).await?;
    }
    let store = PgEventStore::new(&config);
    let window = Duration::from_secs(options.seconds);

    let raw_per_s = raw_inserts(&store, options.clients, window).await?;
    let commands_per_s = commands(&store, "cmd1", options.clients, window, 1).await?;
    let batch_events_per_s = commands(&store, "cmd100", options.clients, window, 100).await?;
    // Both reads plan with the written log's statistics.
    store
        .pool()
        .get()
        .await?
        .batch_execute("ANALYZE eventstore.published_event")
        .await?;
    let raw_read_per_s = raw_catch_up(&store).await?;
    let (read_events, read_per_s) = catch_up(&store).await?;
    let partitions_per_s = super::partitions::run(&store).await?;
    let samples = latency(
        &store,
        options.rate,
        Duration::from_secs(options.latency_seconds),
    )
    .await?;
    Ok(Report {
        raw_per_s,
        commands_per_s,
        batch_events_per_s,
        read_events,
        read_per_s,
        raw_read_per_s,
        partitions_per_s,
        latency_samples: samples.len(),
        latency: Percentiles::of(samples),
    })
}

/// (a): each client inserts one row per autocommit statement, as fast as it can.
pub(super) async fn raw_inserts(
    store: &PgEventStore,
    clients: usize,
    window: Duration,
) -> anyhow::Result<f64> {
    let payload = serde_json::json!({"Ticked": {"amount": 1}});
    let meta = serde_json::to_value(metadata())?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let pool = store.pool().clone();
            let (payload, meta) = (payload.clone(), meta.clone());
            tokio::spawn(async move {
                let client = pool.get().await?;
                let insert = client.prepare_cached(RAW_INSERT).await?;
                let mut done = 0u64;
                while started.elapsed() < window {
                    let id = format!("raw-{c}-{}", done / 10);
                    let sequence = (done % 10 + 1) as i64;
                    client
                        .execute(
                            &insert,
                            &[&id, &sequence, &uuid::Uuid::now_v7(), &payload, &meta],
                        )
                        .await?;
                    done += 1;
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// (b) and (c): each client runs commands on short streams of its own (ten commands a stream,
/// named after `writers`); returns events per second.
pub(super) async fn commands(
    store: &PgEventStore,
    writers: &str,
    clients: usize,
    window: Duration,
    per_command: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let commands = Commands::<Probe>::new(store.clone(), ());
            let writer = format!("{writers}-{c}");
            tokio::spawn(async move {
                let meta = metadata();
                let mut events = 0u64;
                let mut n = 0u64;
                while started.elapsed() < window {
                    let (id, command) = short_stream_command(&writer, n, per_command);
                    let receipt = commands.execute(&id, command, &meta).await?;
                    events += receipt.events as u64;
                    n += 1;
                }
                anyhow::Ok(events)
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// The `n`th command of a writer: streams of ten commands (an open, then ticks of `times`
/// events), as real aggregates have short streams. Returns the stream id and the command.
fn short_stream_command(writer: &str, n: u64, times: usize) -> (String, ProbeCommand) {
    let id = format!("{writer}-{}", n / 10);
    let command = if n.is_multiple_of(10) {
        ProbeCommand::Open { label: id.clone() }
    } else {
        ProbeCommand::Tick { amount: 1, times }
    };
    (id, command)
}

/// The baseline of (d): the same rows in the same pages of 5,000 by the same `SELECT` (below
/// the horizon), every column fetched as PostgreSQL sends it (the metadata as text), nothing
/// decoded.
async fn raw_catch_up(store: &PgEventStore) -> anyhow::Result<f64> {
    let client = store.pool().get().await?;
    let statement = client
        .prepare(
            "SELECT tx_id::text, global_position, event_id, message_type, payload, \
             aggregate_type, aggregate_id, sequence, metadata::text, recorded_at \
             FROM eventstore.published_event \
             WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint) \
               AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY published_event.tx_id, published_event.global_position LIMIT 5000",
        )
        .await?;
    let started = Instant::now();
    let (mut tx, mut position, mut rows) = ("0".to_owned(), 0i64, 0usize);
    loop {
        let page = client.query(&statement, &[&tx, &position]).await?;
        let Some(last) = page.last() else { break };
        rows += page.len();
        (tx, position) = (last.get(0), last.get(1));
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// (d): reads the whole public log from the start, decoding every message.
async fn catch_up(store: &PgEventStore) -> anyhow::Result<(usize, f64)> {
    let started = Instant::now();
    let mut after = LogPosition::START;
    let mut events = 0;
    let mut checksum = 0i64;
    loop {
        let batch = store.read_published(after, 5_000).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        events += batch.len();
        for event in &batch {
            if let Ok(ticked) = event.decode::<ProbeTicked>() {
                checksum = checksum.wrapping_add(ticked.amount);
            }
        }
    }
    anyhow::ensure!(checksum >= 0, "decoded amounts are positive");
    Ok((events, events as f64 / started.elapsed().as_secs_f64()))
}

type Sent = Arc<Mutex<HashMap<(String, i64), Instant>>>;

/// Notes when each event reaches the handler, and writes a projection row as a real one would.
struct LatencyProbe {
    sent: Sent,
    seen: Arc<Mutex<Vec<Duration>>>,
}

#[async_trait]
impl Handler for LatencyProbe {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let arrived = Instant::now();
        {
            let mut sent = self.sent.lock().expect("not poisoned");
            let mut seen = self.seen.lock().expect("not poisoned");
            for event in events {
                if let Some(at) = sent.remove(&(event.aggregate_id.clone(), event.sequence)) {
                    seen.push(arrived.saturating_duration_since(at));
                }
            }
        }
        batch
            .tx()
            .execute(
                "INSERT INTO bench.seen_count (n) VALUES ($1)",
                &[&(events.len() as i64)],
            )
            .await?;
        Ok(())
    }
}

/// (e): four writers at a steady total rate; the time from each commit's acknowledgement to the
/// subscription handler receiving its event.
async fn latency(
    store: &PgEventStore,
    rate: u64,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    store
        .pool()
        .get()
        .await?
        .batch_execute("CREATE SCHEMA bench; CREATE TABLE bench.seen_count (n bigint NOT NULL)")
        .await?;
    let sent: Sent = Arc::default();
    let seen: Arc<Mutex<Vec<Duration>>> = Arc::default();
    // Start after everything already in the log, as a live consumer would be.
    let mut config = SubscriptionConfig::new("bench", "latency");
    config.batch_size = 1_000;
    let head = store.published_head().await?;
    let running = subscription::spawn(
        store,
        config,
        LatencyProbe {
            sent: sent.clone(),
            seen: seen.clone(),
        },
    )?;
    // Catch the subscription up on the earlier phases' events before measuring.
    anyhow::ensure!(
        running.wait_for(head, Duration::from_secs(300)).await,
        "the subscription did not catch up with the earlier phases"
    );
    seen.lock().expect("not poisoned").clear();
    // Measure the steady state, not the aftermath of the bulk phases: without this, the
    // autovacuum and autoanalyze they set off run during the measurement, and an ANALYZE holds
    // a transaction id, which holds back every reader's horizon while it runs.
    let client = store.pool().get().await?;
    client
        .batch_execute("VACUUM ANALYZE eventstore.event, eventstore.published_event")
        .await?;
    client.batch_execute("CHECKPOINT").await?;
    drop(client);

    let writers = 4u64;
    let period = Duration::from_secs_f64(writers as f64 / rate as f64);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let commands = Commands::<Probe>::new(store.clone(), ());
            let sent = sent.clone();
            tokio::spawn(async move {
                let meta = metadata();
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut n = 0u64;
                while started.elapsed() < duration {
                    ticker.tick().await;
                    let (id, command) = short_stream_command(&format!("lat-{w}"), n, 1);
                    // Timed from before the command, so the figure also counts the command's
                    // own round trips: an upper bound of commit-to-handler.
                    let sequence = (n % 10 + 1) as i64;
                    sent.lock()
                        .expect("not poisoned")
                        .insert((id.clone(), sequence), Instant::now());
                    commands.execute(&id, command, &meta).await?;
                    n += 1;
                }
                anyhow::Ok(n)
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let end = store.published_head().await?;
    anyhow::ensure!(
        running.wait_for(end, Duration::from_secs(60)).await,
        "the subscription did not catch up"
    );
    running.stop().await;
    let samples = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    anyhow::ensure!(!samples.is_empty(), "no latency samples");
    Ok(samples)
}

/// A database created for one run on the configured server.
pub(super) struct Scratch {
    admin: tokio_postgres::Client,
    name: String,
    pub(super) config: DbConfig,
}

impl Scratch {
    pub(super) async fn create(base: &DbConfig) -> anyhow::Result<Scratch> {
        let (admin, connection) = base
            .pg
            .connect(NoTls)
            .await
            .context("connecting to PostgreSQL")?;
        tokio::spawn(connection);
        let name = format!("heatline_bench_{}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .context("creating a scratch database for the benchmark (needs CREATEDB)")?;
        let mut config = base.clone();
        config.pg.dbname(&name);
        Ok(Scratch {
            admin,
            name,
            config,
        })
    }

    pub(super) async fn drop_database(&self) {
        if let Err(error) = self
            .admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
        {
            eprintln!("could not drop the scratch database {}: {error}", self.name);
        }
    }
}
