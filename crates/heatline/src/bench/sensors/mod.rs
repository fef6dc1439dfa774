//! `heatline bench sensors`: a million registered room sensors reporting through MQTT to
//! intake (a steady phase at the rate of one reading per sensor every 15 minutes, then a
//! burst), beside a raw `COPY` of the same rows, in one run, in a scratch database and a
//! private Mosquitto. Prints the rate stored, the lag from sending to storing, how soon a
//! home cold for the configured hours is found, the storage per million readings, and how
//! many readings the broker acknowledged but the table lacks. Then it tells where a flood's
//! rate is bounded: what the broker relays alone to a subscriber that only acknowledges, and
//! intake's ingest without the broker (batches handed to its store as the MQTT subscriber
//! hands them, and signed pushes over HTTP), each beside the COPY; and what storing raw
//! defers: the hour's roll-up pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, DurationRound, Utc};
use eventstore::PgEventStore;
use futures_util::SinkExt;
use intake::{Intake, IntakeConfig};
use platform::clock::SystemClock;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_postgres::NoTls;

mod bound;
mod mqtt;

use bound::{broker_alone, push_over_http, store_directly};
use mqtt::{Broker, PREFIX, flood, publish, reading, sensor_id};

use super::eventstore::Scratch;
use super::{ms, verdict};
use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Registered room sensors (one per home).
    #[arg(long, default_value_t = 1_000_000)]
    sensors: usize,
    /// Readings a second of the steady phase (a million sensors every 15 minutes: 1,111).
    #[arg(long, default_value_t = 1_111)]
    steady_rate: u64,
    /// Seconds of the steady phase.
    #[arg(long, default_value_t = 60)]
    steady_seconds: u64,
    /// Readings a second of the burst.
    #[arg(long, default_value_t = 20_000)]
    burst_rate: u64,
    /// Seconds of the burst.
    #[arg(long, default_value_t = 30)]
    burst_seconds: u64,
    /// Readings sent as fast as the publishers can, to find the rate intake stores at when
    /// the offered rate does not bound it.
    #[arg(long, default_value_t = 300_000)]
    flood: u64,
    /// Homes whose last 4 whole hours are sent cold, to time their detection.
    #[arg(long, default_value_t = 200)]
    cold_homes: usize,
    /// The private broker's `max_inflight_messages` (how many unacknowledged messages it
    /// sends intake at a time; Mosquitto's default is 20).
    #[arg(long, default_value_t = 1_000)]
    inflight: u32,
    /// MQTT connections publishing.
    #[arg(long, default_value_t = 8)]
    publishers: usize,
    /// Readings handed straight to intake's store (no broker), in batches of 1,000, three at
    /// a time as the MQTT subscriber stores them, to time the storing alone.
    #[arg(long, default_value_t = 300_000)]
    direct: usize,
}

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&database.config).await?;
    let outcome = measure(&scratch, &options).await;
    scratch.drop_database().await;
    outcome
}

async fn count(client: &tokio_postgres::Client) -> anyhow::Result<i64> {
    Ok(client
        .query_one("SELECT count(*) FROM intake.reading", &[])
        .await?
        .get(0))
}

/// The lag from sending (the reading's own time) to storing (handed to the database), p50
/// and p99, of the readings measured in `[from, to)`; and the rate they were stored at.
async fn phase(
    client: &tokio_postgres::Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<(i64, Duration, Duration, f64)> {
    let row = client
        .query_one(
            "SELECT count(*),
                    coalesce(percentile_cont(0.5) WITHIN GROUP
                        (ORDER BY extract(epoch FROM received_at - measured_at)), 0)::float8,
                    coalesce(percentile_cont(0.99) WITHIN GROUP
                        (ORDER BY extract(epoch FROM received_at - measured_at)), 0)::float8,
                    coalesce(extract(epoch FROM max(received_at) - min(measured_at)), 0)::float8
               FROM intake.reading WHERE measured_at >= $1 AND measured_at < $2",
            &[&from, &to],
        )
        .await?;
    let rows: i64 = row.get(0);
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
    let span: f64 = row.get(3);
    Ok((
        rows,
        secs(row.get(1)),
        secs(row.get(2)),
        if span > 0.0 { rows as f64 / span } else { 0.0 },
    ))
}

async fn measure(scratch: &Scratch, options: &Options) -> anyhow::Result<()> {
    let config = scratch.config.clone().pool_size(16);
    let (client, connection) = config.pg.connect(NoTls).await?;
    tokio::spawn(connection);
    {
        let (mut migrating, connection) = config.pg.connect(NoTls).await?;
        tokio::spawn(connection);
        eventstore::migrate(&mut migrating).await?;
        intake::migrate(&mut migrating).await?;
    }
    let store = PgEventStore::new(&config);
    let buildings = (options.sensors / 1000).max(1);
    let now = Utc::now();
    intake::registry::import(
        store.pool(),
        super::intake::registry(buildings).as_bytes(),
        now,
    )
    .await
    .context("importing the bench registry")?;
    let started = Instant::now();
    let sensors: Vec<intake::sensors::Sensor> = (0..options.sensors)
        .map(|n| {
            let b = n % buildings;
            intake::sensors::Sensor {
                id: sensor_id(n),
                kind: intake::sensors::Kind::Room,
                building_id: Some(format!("B{b:05}")),
                household: Some(format!("hh-bench-{n:07}")),
                station: Some(format!("S{:04}", b / 8)),
                district: None,
                room: None,
                certified: true,
                installed_on: (now - chrono::Duration::days(30)).date_naive(),
            }
        })
        .collect();
    intake::sensors::import(store.pool(), &sensors, now).await?;
    let imported = started.elapsed();
    drop(sensors);

    let broker = Broker::start(options.inflight)?;
    let mut intake_config = IntakeConfig::new(
        std::env::temp_dir()
            .join(format!("heatline-bench-photos-{}", std::process::id()))
            .display()
            .to_string(),
    );
    intake_config.mqtt = Some(intake::mqtt::MqttConfig {
        url: format!("mqtt://127.0.0.1:{}", broker.port),
        client_id: "heatline-bench-intake".into(),
        prefix: PREFIX.into(),
        ca_file: None,
    });
    let secret = format!("{:032x}", rand::random::<u128>());
    intake_config.readings.secret = Some(secret.clone());
    let master = secrets::Keyring::from_bytes(rand::random(), &[]);
    let intake = Intake::open(store.clone(), Arc::new(SystemClock), intake_config, master)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let background = intake.start()?;
    let verifier = platform::auth::Verifier::in_process(
        identity::tokens::ISSUER,
        identity::tokens::AUDIENCE,
        Arc::new(SystemClock),
    );
    let (address, server) = super::intake::serve(&intake, verifier)?;

    // The publishers, each counting the broker's acknowledgements.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for p in 0..options.publishers {
        let mut mqtt = MqttOptions::new(
            format!("heatline-bench-sensor-{p}"),
            "127.0.0.1",
            broker.port,
        );
        mqtt.set_inflight(1_000)
            .set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(mqtt, 10_000);
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.poll().await {
                if let Event::Incoming(Packet::PubAck(_)) = event {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        clients.push(client);
    }
    // Intake subscribes on connecting; wait until a probe is stored.
    let probe_at = Utc::now();
    let (topic, body) = reading(options.sensors - 1, probe_at, 20.0);
    let probe_deadline = Instant::now() + Duration::from_secs(30);
    while count(&client).await? == 0 {
        clients[0]
            .publish(&topic, QoS::AtLeastOnce, false, body.clone())
            .await?;
        anyhow::ensure!(
            Instant::now() < probe_deadline,
            "intake never stored a reading from the broker"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A probe published before intake had subscribed was acknowledged and went to nobody:
    // the count of what must be stored starts after the probes (their acknowledgements in).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probes = acknowledged.load(Ordering::Relaxed);
    let probes_stored = count(&client).await? as u64;

    // Cold homes: their last 4 whole hours at 15 ℃, the last reading the one that crosses.
    let hour = Utc::now().duration_trunc(chrono::Duration::hours(1))?;
    let cold = options.cold_homes.min(options.sensors - 1);
    let mut backfill = 0u64;
    for quarter in 0..16i64 {
        let at = hour - chrono::Duration::hours(4) + chrono::Duration::minutes(15 * quarter);
        for home in 0..cold {
            let (topic, body) = reading(home, at, 15.0);
            clients[home % clients.len()]
                .publish(topic, QoS::AtLeastOnce, false, body)
                .await?;
            backfill += 1;
        }
    }

    let n = options.sensors as u64;
    // A warm reading of one of the homes that are not sent cold, taken in turn.
    let warm = move |k: u64| {
        reading(
            cold + (k % (n - cold as u64 - 1)) as usize,
            Utc::now(),
            20.5,
        )
    };
    let steady_from = Utc::now();
    let steady = publish(
        &clients,
        options.steady_rate,
        options.steady_seconds,
        0,
        warm,
    )
    .await;
    let burst_from = Utc::now();
    let burst = publish(
        &clients,
        options.burst_rate,
        options.burst_seconds,
        steady,
        warm,
    )
    .await;
    let burst_to = Utc::now();
    // Let the burst's backlog clear before the flood, so that the flood's rows are its own.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let flood_from = Utc::now();
    let flooded = flood(&clients, options.flood, steady + burst, move |k| {
        reading(
            cold + (k % (n - cold as u64 - 1)) as usize,
            Utc::now(),
            20.5,
        )
    })
    .await;

    // Drain: until every acknowledged reading is stored, or nothing moves for 15 s.
    let published = probes + backfill + steady + burst + flooded;
    let mut last = (count(&client).await?, Instant::now());
    loop {
        let stored = count(&client).await?;
        let acked = acknowledged.load(Ordering::Relaxed);
        if acked >= published && stored as u64 - probes_stored >= acked - probes {
            break;
        }
        if stored != last.0 {
            last = (stored, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(15) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A reading the broker acknowledged a moment ago may still be on its way to the table.
    let acked = acknowledged.load(Ordering::Relaxed) - probes;
    let settling = Instant::now();
    let mut stored = count(&client).await? as u64 - probes_stored;
    while stored < acked && settling.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stored = count(&client).await? as u64 - probes_stored;
    }

    // The broker alone: as many readings through the same Mosquitto to a subscriber that only
    // acknowledges them, to tell the broker's share of the flood from intake's.
    let echo = broker_alone(&clients, broker.port, options.flood, n as usize).await?;

    // Detection: the episodes of the cold homes, after their crossing reading was stored.
    let detection_deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM eventstore.event WHERE aggregate_type = 'low_temperature_episode'",
                &[],
            )
            .await?
            .get(0);
        if found as usize >= cold || Instant::now() > detection_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let detection = client
        .query_one(
            "WITH crossing AS (
                SELECT s.household, max(r.received_at) AS stored
                  FROM intake.reading r JOIN intake.sensor s USING (sensor_id)
                 WHERE r.celsius < 18 GROUP BY s.household
             ), found AS (
                SELECT e.payload -> 'Detected' ->> 'household' AS household, e.recorded_at
                  FROM eventstore.event e WHERE e.aggregate_type = 'low_temperature_episode'
                   AND e.event_type = 'LowTemperatureDetected'
             )
             SELECT count(*),
                    coalesce(percentile_cont(0.5) WITHIN GROUP
                        (ORDER BY extract(epoch FROM f.recorded_at - c.stored)), 0)::float8,
                    coalesce(percentile_cont(0.99) WITHIN GROUP
                        (ORDER BY extract(epoch FROM f.recorded_at - c.stored)), 0)::float8
               FROM found f JOIN crossing c USING (household)",
            &[],
        )
        .await?;
    drop(background);
    drop(broker);
    // What the minute's watcher costs over every home's last whole hours, once more by hand:
    // the cold homes' episodes are open, so it finds nothing new.
    let watching = Instant::now();
    let pass = intake.watch_room_temperatures().await?;
    let watch_took = watching.elapsed();

    let (steady_rows, steady_p50, steady_p99, _) = phase(&client, steady_from, burst_from).await?;
    let (burst_rows, burst_p50, burst_p99, burst_rate) =
        phase(&client, burst_from, burst_to).await?;
    let (flood_rows, flood_p50, flood_p99, flood_rate) =
        phase(&client, flood_from, Utc::now()).await?;

    // Intake's storing alone: the same kind of readings handed to it as the subscriber hands
    // them, with no broker or publishers sharing the cores.
    let direct = store_directly(&intake, options.sensors, cold, options.direct).await?;
    // The same over HTTP: signed pushes of 10,000, as an IoT platform sends them.
    let pushed = push_over_http(address, &secret, options.sensors, cold, options.direct).await?;
    server.stop(true).await;
    // What storing raw defers: the current hour's roll-up, done by the pass once it is over.
    let rolling = Instant::now();
    let rolled = intake::readings::Readings::new(store.pool().clone(), 90)
        .roll_up(Utc::now() + chrono::Duration::hours(1))
        .await?;
    let roll_took = rolling.elapsed();
    let in_hour: i64 = client
        .query_one(
            "SELECT count(*) FROM intake.reading WHERE measured_at >= $1",
            &[&Utc::now().duration_trunc(chrono::Duration::hours(1))?],
        )
        .await?
        .get(0);

    let storage: i64 = client
        .query_one(
            "SELECT ((SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)
                        FROM pg_inherits WHERE inhparent = 'intake.reading'::regclass)
                   + pg_total_relation_size('intake.reading_hourly'))::int8",
            &[],
        )
        .await?
        .get(0);
    let all_rows = count(&client).await?;

    // The baseline: the same rows copied raw into a table of the same key.
    client
        .batch_execute(
            "CREATE TABLE bench_raw_reading (sensor_id text NOT NULL, measured_at timestamptz NOT NULL,
                 received_at timestamptz NOT NULL, celsius real,
                 PRIMARY KEY (sensor_id, measured_at))",
        )
        .await?;
    let rows = client
        .query(
            "SELECT sensor_id, measured_at, received_at, celsius FROM intake.reading",
            &[],
        )
        .await?;
    let mut text = String::with_capacity(rows.len() * 80);
    for row in &rows {
        let (id, measured, received, celsius): (String, DateTime<Utc>, DateTime<Utc>, Option<f32>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        text.push_str(&format!(
            "{id}\t{}\t{}\t{}\n",
            measured.to_rfc3339(),
            received.to_rfc3339(),
            celsius.map_or("\\N".to_owned(), |c| c.to_string())
        ));
    }
    let copy_started = Instant::now();
    let sink = client.copy_in("COPY bench_raw_reading FROM STDIN").await?;
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(text)).await?;
    let copied = sink.finish().await?;
    let copy_rate = copied as f64 / copy_started.elapsed().as_secs_f64();

    let found: i64 = detection.get(0);
    println!(
        "heatline bench sensors: {} room sensors in {} buildings, private Mosquitto with max_inflight_messages {}, {} publishing connections",
        options.sensors, buildings, options.inflight, options.publishers
    );
    println!(
        "setup     registered {} sensors in {:.1} s",
        options.sensors,
        imported.as_secs_f64()
    );
    println!(
        "baseline  raw COPY of the {copied} stored readings into a table of the same key: {copy_rate:>8.0} rows/s"
    );
    println!(
        "steady    {steady} published at {}/s for {} s, {steady_rows} stored; lag sent -> stored p50 {:.0} ms, p99 {:.0} ms",
        options.steady_rate,
        options.steady_seconds,
        ms(steady_p50),
        ms(steady_p99)
    );
    println!(
        "burst     {burst} published at {}/s for {} s, {burst_rows} stored at {burst_rate:.0} readings/s (absorbed: {})",
        options.burst_rate,
        options.burst_seconds,
        verdict(burst_rate >= options.burst_rate as f64 * 0.95)
    );
    println!(
        "burst     lag sent -> stored p50 {:.0} ms, p99 {:.0} ms (target p99 <= 5 s: {})",
        ms(burst_p50),
        ms(burst_p99),
        verdict(burst_p99 <= Duration::from_secs(5))
    );
    println!(
        "flood     {flooded} published as fast as {} connections go, {flood_rows} stored at {flood_rate:.0} readings/s = {:.0} % of COPY, {:.0} % of what the broker relays alone (next line); lag p50 {:.0} ms, p99 {:.0} ms",
        options.publishers,
        flood_rate * 100.0 / copy_rate,
        flood_rate * 100.0 / echo.rate,
        ms(flood_p50),
        ms(flood_p99)
    );
    println!(
        "broker    {} of {} relayed by the same Mosquitto to a subscriber that only acknowledges: {:.0} readings/s = {:.0} % of COPY (publishers, broker and subscriber on the same cores)",
        echo.received,
        options.flood,
        echo.rate,
        echo.rate * 100.0 / copy_rate
    );
    for (ingest, how) in [
        (
            &direct,
            "handed to intake's store in batches of 1,000, three at once as from MQTT",
        ),
        (
            &pushed,
            "pushed over HTTP in signed batches of 10,000, three at once",
        ),
    ] {
        println!(
            "ingest    {} {how}: {:.0} readings/s = {:.0} % of COPY (target >= 50 %: {})",
            ingest.stored,
            ingest.rate,
            ingest.rate * 100.0 / copy_rate,
            verdict(ingest.rate >= copy_rate * 0.5)
        );
    }
    println!(
        "roll-up   the hour's {in_hour} readings rolled up in one pass once it is over: {:.1} s ({} sensor-hours, {:.0} readings/s)",
        roll_took.as_secs_f64(),
        rolled.sensor_hours,
        in_hour as f64 / roll_took.as_secs_f64()
    );
    println!(
        "loss      acknowledged by the broker after the probe {acked}, stored {stored}: {} lost (target 0: {})",
        acked.saturating_sub(stored),
        verdict(acked <= stored)
    );
    println!(
        "detection {found} of {cold} cold homes found; crossing reading stored -> LowTemperatureDetected p50 {:.1} s, p99 {:.1} s (the watcher passes every minute)",
        detection.get::<_, f64>(1),
        detection.get::<_, f64>(2)
    );
    println!(
        "watcher   one pass over the last whole hours of {} homes: {} ms ({} opened, {} recovered)",
        options.sensors,
        watch_took.as_millis(),
        pass.opened.len(),
        pass.recovered.len()
    );
    println!(
        "storage   {:.1} MiB per million readings (raw partitions with their keys, and the hourly roll-ups)",
        storage as f64 / all_rows.max(1) as f64 * 1e6 / (1024.0 * 1024.0)
    );
    Ok(())
}
