//! `heatline bench seal`: sealing and verifying a log of a million events, and what the sealer
//! costs writers: appends with it running beside appends without it, in one run, in a scratch
//! database.

use std::time::{Duration, Instant};

use eventstore::PgEventStore;
use eventstore::seal::SealKey;
use eventstore::seal::sealer::{SealerConfig, seal_all, spawn};
use tokio_postgres::NoTls;

use super::eventstore::{Scratch, commands};
use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Events in the log to seal and verify (half domain events, half published).
    #[arg(long, default_value_t = 1_000_000)]
    events: i64,
    /// Concurrent clients appending.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds each append phase runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Append phases of each kind (without and with the sealer, interleaved), to even out noise.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Seconds between seals while appending (the default setting is 60; shorter is harsher).
    #[arg(long, default_value_t = 1)]
    seal_every: u64,
}

const FILL_EVENTS: &str = "INSERT INTO eventstore.event
    (aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload, metadata)
    SELECT 'probe', 'fill-' || (g / 10), g % 10 + 1, gen_random_uuid(), 'ProbeTicked', '1',
           jsonb_build_object('Ticked', jsonb_build_object('amount', g, 'note', repeat('x', 200))),
           '{\"actor\":{\"id\":\"bench\",\"role\":\"system\"},\"channel\":\"system\"}'::jsonb
    FROM generate_series($1::bigint, $2::bigint) g";

const FILL_PUBLISHED: &str = "INSERT INTO eventstore.published_event
    (event_id, message_type, payload, aggregate_type, aggregate_id, sequence, metadata)
    SELECT gen_random_uuid(), 'heatline.selftest.v1.ProbeTicked', decode(repeat('08', 120), 'hex'),
           'probe', 'fill-' || (g / 10), g % 10 + 1,
           '{\"actor\":{\"id\":\"bench\",\"role\":\"system\"},\"channel\":\"system\"}'::jsonb
    FROM generate_series($1::bigint, $2::bigint) g";

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&database.config).await?;
    let outcome = measure(&scratch, database, &options).await;
    scratch.drop_database().await;
    outcome
}

async fn measure(scratch: &Scratch, database: &Database, options: &Options) -> anyhow::Result<()> {
    let config = scratch.config.clone().pool_size(options.clients + 4);
    {
        let (mut client, connection) = config.pg.connect(NoTls).await?;
        tokio::spawn(connection);
        eventstore::migrate(&mut client).await?;
    }
    let store = PgEventStore::new(&config);
    let half = options.events / 2;
    let filled = Instant::now();
    {
        let client = store.pool().get().await?;
        let mut from = 0i64;
        while from < half {
            let to = (from + 50_000).min(half) - 1;
            client.execute(FILL_EVENTS, &[&from, &to]).await?;
            client.execute(FILL_PUBLISHED, &[&from, &to]).await?;
            from = to + 1;
        }
        client
            .batch_execute("ANALYZE eventstore.event; ANALYZE eventstore.published_event")
            .await?;
    }
    println!(
        "heatline bench seal: {} events ({half} domain, {half} published, ~{} bytes of payload each), written in {:.1} s",
        half * 2,
        230,
        filled.elapsed().as_secs_f64()
    );

    let key = SealKey::load_or_create(&store, &database.keyring).await?;
    let started = Instant::now();
    let seals = seal_all_backlog(&store, &key).await?;
    let sealing = started.elapsed().as_secs_f64();
    println!(
        "(a) sealing the backlog          {:>10.0} events/s ({seals} seals of up to 20000 events of each log, {sealing:.1} s)",
        (half * 2) as f64 / sealing
    );

    let started = Instant::now();
    let report = eventstore::seal::verify::verify(&store, |_| {}).await?;
    let verifying = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.problem.is_none(),
        "the fresh log does not verify: {:?}",
        report.problem
    );
    println!(
        "(b) verify (heatline verify)     {:>10.0} events/s ({} events, {} seals, {verifying:.1} s)",
        report.events as f64 / verifying,
        report.events,
        report.seals
    );

    // Appends without and with the sealer, in the order ABBA ABBA ... so that the log's growth
    // over the run weighs on both alike. Before each phase the backlog is sealed, untimed: the
    // sealer then seals exactly what is appended beside it.
    let window = Duration::from_secs(options.seconds);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut seals_during = 0;
    for phase in 0..options.rounds * 2 {
        let sealed = matches!(phase % 4, 1 | 2);
        seal_all_backlog(&store, &key).await?;
        let writers = format!("phase{phase}");
        if sealed {
            let before = count_seals(&store).await?;
            let sealer = spawn(
                store.clone(),
                database.keyring.clone(),
                SealerConfig {
                    every: Duration::from_secs(options.seal_every),
                    ..Default::default()
                },
            );
            with.push(commands(&store, &writers, options.clients, window, 1).await?);
            drop(sealer);
            seals_during += count_seals(&store).await? - before;
        } else {
            without.push(commands(&store, &writers, options.clients, window, 1).await?);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (base, sealed) = (mean(&without), mean(&with));
    let cost = 1.0 - sealed / base;
    println!(
        "(c) appends, 1 event per command, {} clients, without the sealer {:>8.0} cmd/s (baseline; rounds {})",
        options.clients,
        base,
        list(&without)
    );
    println!(
        "(d) the same with the sealer every {} s             {:>8.0} cmd/s = {:+.1} % cost ({seals_during} seals made meanwhile; rounds {}); target cost <= 5 %: {}",
        options.seal_every,
        sealed,
        cost * 100.0,
        list(&with),
        super::verdict(cost <= 0.05)
    );
    // Closed before the scratch database is dropped under it.
    store.pool().close();
    Ok(())
}

async fn seal_all_backlog(store: &PgEventStore, key: &SealKey) -> anyhow::Result<usize> {
    let mut seals = 0;
    loop {
        let made = seal_all(store, key, SealerConfig::default().max_per_log).await?;
        if made == 0 {
            return Ok(seals);
        }
        seals += made;
    }
}

async fn count_seals(store: &PgEventStore) -> anyhow::Result<i64> {
    Ok(store
        .pool()
        .get()
        .await?
        .query_one("SELECT count(*) FROM eventstore.seal", &[])
        .await?
        .get(0))
}

fn list(figures: &[f64]) -> String {
    figures
        .iter()
        .map(|f| format!("{f:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}
