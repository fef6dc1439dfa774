//! `heatline bench targets`: the regulator's targets board over a season of a million
//! events, in a scratch database, beside reading the same rows once with plain counts.
//!
//! The board reads credit's targets read model (what the `targets_feed` subscription keeps
//! from the log), so the season is written straight into those tables: each complaint
//! accepted, each ticket opened, dispatched, signed, resolved and closed, each measurement and
//! each verdict stands for one published event. The rows go through the same triggers that
//! keep the daily counts as the feed's do, so the seeding time includes their cost.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_postgres::NoTls;

use super::eventstore::Scratch;
use super::{ms, percentile, verdict};
use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Events in the season (about: complaints 25 %, ticket events 60 %, measurements 10 %,
    /// verdicts 5 %).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Reads of the board.
    #[arg(long, default_value_t = 60)]
    reads: usize,
}

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&database.config).await?;
    let outcome = measure(&scratch, &options).await;
    scratch.drop_database().await;
    outcome
}

async fn measure(scratch: &Scratch, options: &Options) -> anyhow::Result<()> {
    let (mut client, connection) = scratch.config.pg.connect(NoTls).await?;
    tokio::spawn(connection);
    eventstore::migrate(&mut client).await?;
    credit::migrate(&mut client).await?;
    let complaints = options.events / 4;
    let tickets = options.events / 10;
    let measurements = options.events / 10;
    let verdicts = options.events / 20;
    println!(
        "heatline bench targets: a season of {} events ({complaints} complaints, {tickets} \
         tickets × 6 events, {measurements} measurements, {verdicts} verdicts), {} reads",
        complaints + tickets * 6 + measurements + verdicts,
        options.reads
    );
    let started = Instant::now();
    // Twelve suppliers in six districts, 1 November to 31 January (China time).
    client
        .batch_execute(&format!(
            "INSERT INTO credit.supplier (supplier_id, name, districts, heated_area_m2, contact) \
             SELECT 'supplier-' || n, 'Supplier ' || n, ARRAY['district-' || (n % 6)], \
                    2000000, '0451-0000' FROM generate_series(0, 11) n;
             INSERT INTO credit.target_complaint (complaint_id, household, category, source, \
               district, station, building_id, supplier_id, filed_at) \
             SELECT 'c' || n, 'h' || (n % 180000), 'low_temperature', 'app', \
                    'district-' || (n % 6), 's' || (n % 600), 'b' || (n % 6000), \
                    'supplier-' || (n % 12), \
                    timestamptz '2026-10-31 16:00Z' + (n::float8 / {complaints}) * interval '92 days' \
             FROM generate_series(0, {complaints} - 1) n;
             INSERT INTO credit.target_ticket (ticket_id, incident, category, district, station, \
               building_id, supplier_id, opened_at, households, dispatched_at, signed_at, \
               resolved_at, cause, closed_at) \
             SELECT 't' || n, n % 97 = 0, 'no_heat', 'district-' || (n % 6), 's' || (n % 600), \
                    'b' || (n % 6000), 'supplier-' || (n % 12), o, 1, o, \
                    o + (n % 50) * interval '1 minute', o + (n % 40) * interval '1 hour', \
                    'supplier', CASE WHEN n % 10 = 0 THEN NULL ELSE o + interval '3 days' END \
             FROM (SELECT n, timestamptz '2026-10-31 16:00Z' \
                     + (n::float8 / {tickets}) * interval '92 days' AS o \
                   FROM generate_series(0, {tickets} - 1) n) x;
             INSERT INTO credit.target_measurement (event_id, ticket_id, district, supplier_id, \
               tenths, at) \
             SELECT md5('m' || n)::uuid, 't' || (n % {tickets}), \
                    'district-' || (n % {tickets} % 6), 'supplier-' || (n % 12), \
                    150 + n % 60, \
                    timestamptz '2026-10-31 16:00Z' + (n::float8 / {measurements}) * interval '92 days' \
             FROM generate_series(0, {measurements} - 1) n;
             INSERT INTO credit.target_verdict (event_id, ticket_id, district, supplier_id, \
               rating, at) \
             SELECT md5('v' || n)::uuid, 't' || (n % {tickets}), \
                    'district-' || (n % {tickets} % 6), 'supplier-' || (n % 12), \
                    (ARRAY['satisfied', 'basically_satisfied', 'unsatisfied'])[n % 3 + 1], \
                    timestamptz '2026-10-31 16:00Z' + (n::float8 / {verdicts}) * interval '92 days' \
             FROM generate_series(0, {verdicts} - 1) n;
             SELECT credit.target_day_fold();
             ANALYZE credit.target_complaint, credit.target_ticket, credit.target_measurement, \
               credit.target_verdict, credit.target_day, credit.target_day_change, credit.supplier;"
        ))
        .await?;
    println!("  seeded in {:.1} s", started.elapsed().as_secs_f64());

    let season = credit::domain::values::Season::parse("2026-2027").expect("a season");
    let now: DateTime<Utc> = "2027-01-31T15:59:00Z".parse()?;
    let filter = credit::targets::board::Filter::default();
    let pool = scratch.config.pool();
    let client = pool.get().await?;
    // Warm the cache once, as a board opened every morning would be.
    let board = credit::targets::board::board(&client, season, now, &filter).await?;
    let mut board_times = Vec::with_capacity(options.reads);
    for _ in 0..options.reads {
        let started = Instant::now();
        credit::targets::board::board(&client, season, now, &filter).await?;
        board_times.push(started.elapsed());
    }
    let mut count_times = Vec::with_capacity(options.reads);
    for _ in 0..options.reads {
        let started = Instant::now();
        client
            .query_one(
                "SELECT (SELECT count(*) FROM credit.target_complaint), \
                        (SELECT count(*) FROM credit.target_ticket), \
                        (SELECT count(*) FROM credit.target_measurement), \
                        (SELECT count(*) FROM credit.target_verdict)",
                &[],
            )
            .await?;
        count_times.push(started.elapsed());
    }
    board_times.sort();
    count_times.sort();
    let line = |name: &str, times: &[Duration]| {
        println!(
            "  {name:<44} p50 {:>7.1} ms  p99 {:>7.1} ms",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99))
        );
    };
    line(
        "targets board (every scope, both windows, trend)",
        &board_times,
    );
    line("baseline: count(*) of the same four tables", &count_times);
    println!(
        "  the board: {} districts, {} suppliers, {} days; city complaints {}",
        board.districts.len(),
        board.suppliers.len(),
        board.days.len(),
        board.city.season.complaints
    );
    let p99 = percentile(&board_times, 0.99);
    println!(
        "  target p99 ≤ 200 ms: {} ({:.1} ms)",
        verdict(p99 <= Duration::from_millis(200)),
        ms(p99)
    );
    Ok(())
}
