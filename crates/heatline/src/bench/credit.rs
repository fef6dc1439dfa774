//! `heatline bench credit`: a season of published dispatch events replayed into supplier
//! scores (what a what-if or a rebuilt ledger feed does), beside reading the same log without
//! scoring it, in a scratch database.
//!
//! The season is synthetic but shaped like a real one: tickets of several suppliers, each
//! opened, dispatched, signed, assigned, on site, measured twice, resolved (mostly with a
//! supplier-side cause), rated and closed, with breaches and incidents mixed in, their events
//! interleaved as concurrent repairs interleave in the log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use contracts::dispatch::v1 as proto;
use credit::domain::rulebook::Rulebook;
use credit::domain::scorer::Scorer;
use eventstore::{Actor, Channel, EventMetadata, LogPosition, PgEventStore};
use prost::{Message, Name};
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::eventstore::Scratch;
use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Published events in the season.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Suppliers.
    #[arg(long, default_value_t = 12)]
    suppliers: usize,
}

struct Seed {
    ids: Vec<Uuid>,
    types: Vec<String>,
    payloads: Vec<Vec<u8>>,
    tickets: Vec<String>,
    sequences: Vec<i64>,
}

impl Seed {
    fn push<M: Message + Name>(&mut self, ticket: &str, sequence: i64, message: M) {
        self.ids.push(Uuid::now_v7());
        self.types.push(M::full_name());
        self.payloads.push(message.encode_to_vec());
        self.tickets.push(ticket.to_owned());
        self.sequences.push(sequence);
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The events of ticket `n`, step by step.
fn step(seed: &mut Seed, n: usize, step: usize, suppliers: usize, start_ms: i64) {
    let ticket = format!("T{n:07}");
    let supplier = format!("supplier-{:02}", n % suppliers);
    let at = start_ms + (n as i64 % 100_000) * 60_000 + step as i64 * 1_800_000;
    let incident = n.is_multiple_of(97);
    let breach = n.is_multiple_of(7);
    let seq = step as i64 + 1;
    match step {
        0 => seed.push(
            &ticket,
            seq,
            proto::TicketOpened {
                ticket_id: ticket.clone(),
                origin: if incident { "incident" } else { "complaint" }.into(),
                complaint_ids: vec![format!("{ticket}-c"); if incident { 6 } else { 1 }],
                households: vec![format!("{ticket}-h"); if incident { 6 } else { 1 }],
                opened_at_ms: at,
                filed_at_ms: at,
                ..Default::default()
            },
        ),
        1 => seed.push(
            &ticket,
            seq,
            proto::TicketDispatched {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                cycle: 1,
                dispatched_at_ms: at,
                sign_deadline_ms: at + 1_800_000,
            },
        ),
        2 => seed.push(
            &ticket,
            seq,
            proto::TicketSigned {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                cycle: 1,
                signed_at_ms: at,
            },
        ),
        3 if breach => seed.push(
            &ticket,
            seq,
            proto::SlaBreached {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                clock: if n.is_multiple_of(2) {
                    proto::Clock::OnSite
                } else {
                    proto::Clock::Sign
                }
                .into(),
                cycle: 1,
                target: "2 h".into(),
                deadline_ms: at,
                recorded_at_ms: at,
                late_by_ms: 1_000,
            },
        ),
        3 => seed.push(
            &ticket,
            seq,
            proto::CrewAssigned {
                ticket_id: ticket.clone(),
                crew_id: format!("crew-{}", n % 50),
                supplier_id: supplier,
                assigned_at_ms: at,
            },
        ),
        4 => seed.push(
            &ticket,
            seq,
            proto::CrewOnSite {
                ticket_id: ticket.clone(),
                crew_id: format!("crew-{}", n % 50),
                arrived_at_ms: at,
                latitude: 45.75,
                longitude: 126.63,
            },
        ),
        5 | 6 => seed.push(
            &ticket,
            seq,
            proto::TemperatureMeasured {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                tenths_celsius: if step == 5 {
                    150 + (n % 40) as i32
                } else {
                    175 + (n % 30) as i32
                },
                room: "bedroom".into(),
                device_id: "TM-1".into(),
                measured_at_ms: at,
                standard_met: false,
                cycle: 1,
            },
        ),
        7 => seed.push(
            &ticket,
            seq,
            proto::TicketResolved {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                cause: match n % 10 {
                    0 => proto::Cause::ResidentSide,
                    1 => proto::Cause::DeveloperHandover,
                    _ => proto::Cause::Supplier,
                }
                .into(),
                standard_met: true,
                resolved_at_ms: at,
                cycle: 1,
                households: Vec::new(),
            },
        ),
        8 => seed.push(
            &ticket,
            seq,
            proto::FeedbackGiven {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                rating: match n % 5 {
                    0 => proto::Rating::Unsatisfied,
                    1 => proto::Rating::BasicallySatisfied,
                    _ => proto::Rating::Satisfied,
                }
                .into(),
                given_at_ms: at,
                cycle: 1,
            },
        ),
        _ => seed.push(
            &ticket,
            seq,
            proto::TicketClosed {
                ticket_id: ticket.clone(),
                supplier_id: supplier,
                outcome: "completed".into(),
                closed_at_ms: at,
                into_ticket_id: String::new(),
            },
        ),
    }
}

/// Ten events per ticket, interleaved a thousand tickets at a time.
fn season(options: &Options) -> Seed {
    let mut seed = Seed {
        ids: Vec::with_capacity(options.events),
        types: Vec::with_capacity(options.events),
        payloads: Vec::with_capacity(options.events),
        tickets: Vec::with_capacity(options.events),
        sequences: Vec::with_capacity(options.events),
    };
    // 1 December 2026, 00:00 China time.
    let start_ms = 1_796_054_400_000;
    let mut wave = 0;
    while seed.len() < options.events {
        for s in 0..10 {
            for n in wave * 1000..(wave + 1) * 1000 {
                if seed.len() < options.events {
                    step(&mut seed, n, s, options.suppliers, start_ms);
                }
            }
        }
        wave += 1;
    }
    seed
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
    let store = PgEventStore::new(&scratch.config);
    let mut registry = String::from("supplier_id,name,districts,heated_area_m2,contact\n");
    for s in 0..options.suppliers {
        registry.push_str(&format!(
            "supplier-{s:02},Supplier {s},district-{s},{},0451-0000\n",
            2_000_000 + s * 250_000
        ));
    }
    credit::registry::import(store.pool(), registry.as_bytes()).await?;

    let started = Instant::now();
    let seed = season(options);
    let metadata = serde_json::to_value(EventMetadata::new(Actor::system(), Channel::System))?;
    let seeding = crate::progress::bar(seed.len() as u64, "seeding the public log");
    for from in (0..seed.len()).step_by(20_000) {
        let range = from..(from + 20_000).min(seed.len());
        seeding.inc(range.len() as u64);
        client
            .execute(
                "INSERT INTO eventstore.published_event (event_id, message_type, payload, \
                 aggregate_type, aggregate_id, sequence, metadata) \
                 SELECT id, t, p, 'ticket', a, s, $6 FROM unnest($1::uuid[], $2::text[], \
                 $3::bytea[], $4::text[], $5::bigint[]) AS u(id, t, p, a, s)",
                &[
                    &&seed.ids[range.clone()],
                    &&seed.types[range.clone()],
                    &&seed.payloads[range.clone()],
                    &&seed.tickets[range.clone()],
                    &&seed.sequences[range],
                    &metadata,
                ],
            )
            .await
            .context("seeding the public log")?;
    }
    seeding.finish_and_clear();
    client
        .batch_execute("VACUUM ANALYZE eventstore.published_event")
        .await?;
    println!(
        "seeded {} published events of {} tickets and {} suppliers in {:.1} s",
        seed.len(),
        seed.len() / 10,
        options.suppliers,
        started.elapsed().as_secs_f64()
    );
    drop(seed);

    let rate = |n: u64, since: Instant| n as f64 / since.elapsed().as_secs_f64();
    // Baseline: the same pages of the log read and decoded, nothing scored.
    let started = Instant::now();
    let (mut read, mut facts, mut after) = (0u64, 0u64, LogPosition::START);
    loop {
        let events = store.read_published(after, 5_000).await?;
        let Some(last) = events.last() else { break };
        after = last.position;
        read += events.len() as u64;
        facts += events.iter().filter_map(credit::publish::fact).count() as u64;
    }
    println!(
        "baseline  read the log and decode its facts:  {read} events, {facts} facts, {:>9.0} events/s",
        rate(read, started)
    );

    let rulebook = Arc::new(Rulebook::shipped());
    let areas: HashMap<String, f64> = credit::feed::areas(&store.pool().get().await?).await?;
    let started = Instant::now();
    let mut scorer = Scorer::new(rulebook.clone());
    scorer.set_areas(areas.clone());
    let mut entries = 0u64;
    let replayed = credit::feed::replay(&store, &mut scorer, None, |_| entries += 1).await?;
    let read = replayed;
    let per_second = rate(replayed, started);
    println!(
        "replay    read, decode and score:              {replayed} events, {entries} entries, {per_second:>9.0} events/s; target >= 100,000: {}",
        super::verdict(per_second >= 100_000.0)
    );

    let started = Instant::now();
    let mut strict =
        Scorer::under(rulebook.clone(), "2027.1").context("the shipped 2027.1 rulebook")?;
    strict.set_areas(areas);
    let mut changed = 0u64;
    let replayed = credit::feed::replay(&store, &mut strict, None, |_| changed += 1).await?;
    println!(
        "what-if   the same under rulebook 2027.1:      {replayed} events, {changed} entries, {:>9.0} events/s",
        rate(replayed, started)
    );
    for ((supplier, season), standing) in scorer.standings().iter().take(3) {
        let total: i64 = standing.points.iter().sum();
        println!(
            "          {supplier} {season}: score {:.2} under rulebook {}",
            total as f64 / 100.0,
            standing.version
        );
    }
    drop(scorer);
    restart(&store, rulebook, read).await
}

/// The ledger feed taken by a new process whose checkpoint is at the log's head, with the
/// scorer's snapshot as far behind as the feed leaves it at worst, beside the same start with
/// no snapshot (the whole log replayed).
async fn restart(store: &PgEventStore, rulebook: Arc<Rulebook>, events: u64) -> anyhow::Result<()> {
    let behind = credit::feed::SNAPSHOT_EVERY.min(events);
    let client = store.pool().get().await?;
    let row = client
        .query_one(
            "SELECT tx_id::text, global_position FROM eventstore.published_event \
             ORDER BY published_event.tx_id, published_event.global_position OFFSET $1 LIMIT 1",
            &[&((events - behind).saturating_sub(1) as i64)],
        )
        .await?;
    let at = LogPosition::from_parts(row.get(0), row.get(1))?;
    let mut partial = Scorer::new(rulebook.clone());
    partial.set_areas(credit::feed::areas(&client).await?);
    let read = credit::feed::replay(store, &mut partial, Some(at), |_| {}).await?;
    let started = Instant::now();
    let state = partial.save().map_err(anyhow::Error::msg)?;
    let encoded = started.elapsed();
    credit::feed::save_snapshot(&client, &state, &rulebook.fingerprint(), at, read).await?;
    println!(
        "snapshot  the scorer after {read} events: {:.1} MiB, encoded in {:.2} s, saved in {:.2} s",
        state.len() as f64 / (1024.0 * 1024.0),
        encoded.as_secs_f64(),
        (started.elapsed() - encoded).as_secs_f64()
    );
    drop(partial);

    let head = store.published_head().await?;
    let clock: Arc<dyn platform::clock::Clock> = Arc::new(platform::clock::SystemClock);
    let mut taken = Vec::new();
    for with_snapshot in [true, false] {
        if !with_snapshot {
            client
                .execute("DELETE FROM credit.scorer_snapshot", &[])
                .await?;
        }
        eventstore::subscription::set_checkpoint(store, "credit", credit::feed::NAME, head).await?;
        let started = Instant::now();
        let feed = credit::feed::spawn(
            store,
            rulebook.clone(),
            clock.clone(),
            credit::feed::SNAPSHOT_EVERY,
        )?;
        let mut status = feed.watch();
        tokio::time::timeout(
            std::time::Duration::from_secs(300),
            status.wait_for(|s| s.holding),
        )
        .await
        .context("the feed did not take its subscription within 5 minutes")??;
        taken.push(started.elapsed().as_secs_f64());
        feed.stop().await;
    }
    println!(
        "restart   feed taken at the head ({events} events), scorer from its snapshot and the {} after it: {:.2} s; target <= 2 s: {}",
        events - read,
        taken[0],
        super::verdict(taken[0] <= 2.0)
    );
    println!(
        "baseline  the same start without a snapshot (the whole log replayed):                 {:.2} s",
        taken[1]
    );
    Ok(())
}
