//! Appends queued in a subscription's batch: they go out with its rows when the batch ends,
//! each stream's sequence continues from what the batch appended before, and an append that
//! is not the transaction's first write still fails the batch.

mod support;

use std::time::Duration;

use async_trait::async_trait;
use eventstore::selftest::{Probe, ProbeCommand, ProbeEvent};
use eventstore::{Batch, Commands, Handler, HandlerError, PublishedEvent, params, subscription};
use support::meta;
use testkit::TestDb;

/// Mirrors every probe's tick onto the stream `mirror`, one queued append per tick, and
/// notes each mirrored event in `selftest.mirrored`.
struct Mirror;

#[async_trait]
impl Handler for Mirror {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        for event in events {
            if !event.aggregate_id.starts_with("p-") || event.sequence == 1 {
                continue;
            }
            let mirror = batch.load::<Probe>("mirror").await?;
            let mut new = Vec::new();
            if mirror.current_sequence() == 0 {
                new.push(ProbeEvent::Opened {
                    label: "mirror".into(),
                });
            }
            new.push(ProbeEvent::Ticked { amount: 1 });
            let version = batch.append_queued(&mirror, &new, &meta());
            batch.queue(
                "INSERT INTO selftest.mirrored (event_id, version) VALUES ($1, $2)",
                params![event.event_id, version as i64],
            );
        }
        Ok(())
    }
}

/// Writes a row through the transaction, then queues an append: the append is not the first
/// write, and the batch fails.
struct WritesFirst;

#[async_trait]
impl Handler for WritesFirst {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        batch
            .tx()
            .execute(
                "INSERT INTO selftest.mirrored (event_id, version) VALUES ($1, 0)",
                &[&events[0].event_id],
            )
            .await?;
        let mirror = batch.load::<Probe>("mirror-2").await?;
        let opened = ProbeEvent::Opened {
            label: "mirror-2".into(),
        };
        batch.append_queued(&mirror, &[opened], &meta());
        Ok(())
    }
}

async fn mirrored_table(db: &TestDb) {
    db.connect()
        .await
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS selftest;
             CREATE TABLE selftest.mirrored (event_id uuid PRIMARY KEY, version bigint NOT NULL)",
        )
        .await
        .expect("mirrored table");
}

#[tokio::test]
async fn queued_appends_continue_each_stream_and_go_out_with_the_batch() {
    let db = TestDb::new().await;
    mirrored_table(&db).await;
    let store = support::store(&db).await;
    let commands = Commands::<Probe>::new(store.clone(), ());
    for p in 0..3 {
        support::open_probe(&commands, &format!("p-{p}"), 120).await;
    }
    let mut config = support::fast_config("mirror");
    config.batch_size = 100;
    let running = subscription::spawn(&store, config, Mirror).expect("spawn");
    let head = support::head(&db).await;
    assert!(
        running.wait_for(head, Duration::from_secs(30)).await,
        "caught up: {:?}",
        running.status()
    );

    let client = db.connect().await;
    let sequences: Vec<i64> = client
        .query(
            "SELECT sequence FROM eventstore.event \
             WHERE aggregate_type = 'probe' AND aggregate_id = 'mirror' ORDER BY sequence",
            &[],
        )
        .await
        .expect("mirror")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        sequences,
        (1..=361).collect::<Vec<i64>>(),
        "opened, then one per tick"
    );
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT version), min(version), max(version) \
             FROM selftest.mirrored",
            &[],
        )
        .await
        .expect("mirrored");
    assert_eq!(row.get::<_, i64>(0), 360, "each tick once");
    assert_eq!(row.get::<_, i64>(1), 360, "each its own version");
    assert_eq!((row.get::<_, i64>(2), row.get::<_, i64>(3)), (2, 361));
    running.stop().await;
}

#[tokio::test]
async fn a_queued_append_after_another_write_fails_the_batch_and_keeps_nothing() {
    let db = TestDb::new().await;
    mirrored_table(&db).await;
    let store = support::store(&db).await;
    let commands = Commands::<Probe>::new(store.clone(), ());
    support::open_probe(&commands, "p-0", 3).await;
    let running = subscription::spawn(&store, support::fast_config("writes_first"), WritesFirst)
        .expect("spawn");
    let failing = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(error) = running.status().last_error {
                return error;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the batch fails");
    assert!(failing.contains("first write"), "{failing}");
    running.stop().await;
    let client = db.connect().await;
    let kept: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM selftest.mirrored) \
                  + (SELECT count(*) FROM eventstore.event WHERE aggregate_id = 'mirror-2')",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(
        kept, 0,
        "the failed batch's row and append were rolled back"
    );
}

#[tokio::test]
async fn a_stream_kept_between_batches_takes_in_what_another_writer_appended() {
    let db = TestDb::new().await;
    mirrored_table(&db).await;
    let store = support::store(&db).await;
    let commands = Commands::<Probe>::new(store.clone(), ());
    support::open_probe(&commands, "p-0", 40).await;
    let mut config = support::fast_config("mirror_shared");
    config.batch_size = 7;
    let running = subscription::spawn(&store, config, Mirror).expect("spawn");
    // Meanwhile another writer ticks `mirror` too, between the runner's batches (a lost race
    // is the runner's batch failing and coming again, or this writer trying again).
    let mut outside = 0;
    while outside < 15 {
        let tick = ProbeCommand::Tick {
            amount: 1,
            times: 1,
        };
        if commands.execute("mirror", tick, &meta()).await.is_ok() {
            outside += 1;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    support::open_probe(&commands, "p-1", 40).await;
    let head = support::head(&db).await;
    assert!(
        running.wait_for(head, Duration::from_secs(30)).await,
        "caught up: {:?}",
        running.status()
    );
    running.stop().await;

    let client = db.connect().await;
    let row = client
        .query_one(
            "SELECT count(*), min(sequence), max(sequence) FROM eventstore.event \
             WHERE aggregate_type = 'probe' AND aggregate_id = 'mirror'",
            &[],
        )
        .await
        .expect("mirror");
    // Opened once (by the runner, or refused to the outside writer until then), 80 mirrored
    // ticks and the outside writer's 15, without a gap.
    assert_eq!(row.get::<_, i64>(0), 96);
    assert_eq!((row.get::<_, i64>(1), row.get::<_, i64>(2)), (1, 96));
    let mirrored: i64 = client
        .query_one("SELECT count(DISTINCT version) FROM selftest.mirrored", &[])
        .await
        .expect("mirrored")
        .get(0);
    assert_eq!(mirrored, 80, "each tick mirrored once, at its own version");
}
