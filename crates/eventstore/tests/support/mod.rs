//! Helpers shared by the event store's integration tests.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the helpers"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use eventstore::selftest::{Probe, ProbeCommand};
use eventstore::{
    Actor, Batch, Channel, Commands, EventMetadata, Handler, HandlerError, LogPosition,
    PgEventStore, PublishedEvent, SubscriptionConfig,
};
use testkit::TestDb;

pub fn meta() -> EventMetadata {
    EventMetadata::new(
        Actor {
            id: "tester".into(),
            role: "admin".into(),
        },
        Channel::Console,
    )
}

pub async fn store(db: &TestDb) -> PgEventStore {
    PgEventStore::new(&db.config().pool_size(12))
}

/// Opens a probe and ticks it `ticks` times in one command.
pub async fn open_probe(commands: &Commands<Probe>, id: &str, ticks: usize) {
    commands
        .execute(id, ProbeCommand::Open { label: id.into() }, &meta())
        .await
        .expect("open");
    if ticks > 0 {
        commands
            .execute(
                id,
                ProbeCommand::Tick {
                    amount: 1,
                    times: ticks,
                },
                &meta(),
            )
            .await
            .expect("tick");
    }
}

/// The table the recording handler writes: one row per delivery, in delivery order.
pub async fn create_seen_table(db: &TestDb) {
    db.connect()
        .await
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS selftest;
             CREATE TABLE selftest.seen (
                 delivery    bigint GENERATED ALWAYS AS IDENTITY,
                 event_id    uuid NOT NULL,
                 aggregate_id text NOT NULL,
                 sequence    bigint NOT NULL,
                 runner      text NOT NULL
             );",
        )
        .await
        .expect("seen table");
}

/// Records every delivered event into `selftest.seen`, inside the batch's transaction.
pub struct Recorder {
    pub runner: String,
    pub batches: Arc<AtomicU64>,
}

impl Recorder {
    pub fn new(runner: &str) -> Self {
        Recorder {
            runner: runner.into(),
            batches: Arc::new(AtomicU64::new(0)),
        }
    }
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        record(batch, events, &self.runner).await?;
        self.batches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

pub async fn record(
    batch: &Batch<'_>,
    events: &[PublishedEvent],
    runner: &str,
) -> Result<(), HandlerError> {
    let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.event_id).collect();
    let aggregates: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    batch
        .tx()
        .execute(
            "INSERT INTO selftest.seen (event_id, aggregate_id, sequence, runner)
             SELECT e, a, s, $4 FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(e, a, s, o)
             ORDER BY o",
            &[&ids, &aggregates, &sequences, &runner],
        )
        .await?;
    Ok(())
}

pub fn fast_config(name: &str) -> SubscriptionConfig {
    let mut config = SubscriptionConfig::new("selftest", name);
    config.poll_interval = Duration::from_millis(200);
    config.min_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_millis(200);
    config
}

/// The position of the newest event in the public log (committed ones only).
pub async fn head(db: &TestDb) -> LogPosition {
    store(db).await.published_head().await.expect("head")
}

pub struct SeenSummary {
    pub deliveries: i64,
    pub distinct: i64,
}

pub async fn seen_summary(db: &TestDb) -> SeenSummary {
    let row = db
        .connect()
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT event_id) FROM selftest.seen",
            &[],
        )
        .await
        .expect("summary");
    SeenSummary {
        deliveries: row.get(0),
        distinct: row.get(1),
    }
}

pub async fn published_count(db: &TestDb) -> i64 {
    db.connect()
        .await
        .query_one("SELECT count(*) FROM eventstore.published_event", &[])
        .await
        .expect("count")
        .get(0)
}

/// True when no stream was delivered out of its sequence order.
pub async fn streams_delivered_in_order(db: &TestDb) -> bool {
    db.connect()
        .await
        .query_one(
            "SELECT NOT EXISTS (
                 SELECT 1 FROM (
                     SELECT sequence, lag(sequence) OVER (PARTITION BY aggregate_id ORDER BY delivery) AS previous
                     FROM selftest.seen
                 ) d WHERE previous IS NOT NULL AND sequence <= previous
             )",
            &[],
        )
        .await
        .expect("order")
        .get(0)
}

/// The whole public log, once the horizon has passed everything committed so far. The horizon
/// is cluster-wide, so a transaction in another test's database can hold it back for a moment.
pub async fn settled_log(db: &TestDb, store: &PgEventStore) -> Vec<PublishedEvent> {
    let head = head(db).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = store
            .read_published(LogPosition::START, 100_000)
            .await
            .expect("read");
        if log.last().is_some_and(|e| e.position >= head) {
            return log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the horizon passed {head}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A new database with the `seen` table and a log of `probes` probes, each opened and
/// ticked `ticks` times, and a store over it.
pub async fn probed(probes: usize, ticks: usize) -> (TestDb, PgEventStore) {
    let db = TestDb::new().await;
    create_seen_table(&db).await;
    let store = store(&db).await;
    let commands = Commands::<Probe>::new(store.clone(), ());
    for p in 1..=probes {
        open_probe(&commands, &format!("p-{p}"), ticks).await;
    }
    (db, store)
}

/// Deliveries to `runner`: how many, of how many probes, and the highest sequence.
pub async fn seen_by(db: &TestDb, runner: &str) -> (i64, i64, i64) {
    let row = db
        .connect()
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT aggregate_id), coalesce(max(sequence), 0) \
             FROM selftest.seen WHERE runner = $1",
            &[&runner],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}
