//! Durable subscriptions: resume after a crash or a failing handler, one holder at a time.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use contracts::Name;
use contracts::selftest::v1::ProbeOpened;
use eventstore::selftest::{Probe, ProbeCommand};
use eventstore::{
    Batch, Commands, Handler, HandlerError, LogPosition, PublishedEvent, subscription,
};
use support::{Recorder, meta};
use testkit::TestDb;
use tokio::sync::Notify;

/// Records, but the first time it meets the 150th event it fails after writing its rows.
struct FailsOnce {
    failed: AtomicBool,
}

#[async_trait]
impl Handler for FailsOnce {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        support::record(batch, events, "fails-once").await?;
        let reaches_150 = events
            .iter()
            .any(|e| e.aggregate_id == "p-1" && e.sequence == 150);
        if reaches_150 && !self.failed.swap(true, Ordering::SeqCst) {
            return Err("the projection's target is unavailable".into());
        }
        Ok(())
    }
}

/// Records, then hangs forever on the batch holding the 150th event: a process about to die.
struct Hangs {
    stuck: Arc<Notify>,
}

#[async_trait]
impl Handler for Hangs {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        support::record(batch, events, "hangs").await?;
        if events.iter().any(|e| e.sequence == 150) {
            self.stuck.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_handler_stops_its_subscription_and_retries_the_same_events_without_skipping() {
    let (db, store) = support::probed(2, 299).await;
    let mut config = support::fast_config("flaky");
    config.batch_size = 40;
    let running = subscription::spawn(
        &store,
        config,
        FailsOnce {
            failed: AtomicBool::new(false),
        },
    )
    .unwrap();
    let mut status = running.watch();
    let failing = tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.last_error.is_some()),
    )
    .await
    .expect("the failure is reported")
    .unwrap()
    .clone();
    assert!(failing.last_error.unwrap().contains("unavailable"));
    assert!(
        failing.checkpoint.global_position < 150,
        "the failed batch did not move the checkpoint"
    );

    let head = support::head(&db).await;
    assert!(running.wait_for(head, Duration::from_secs(10)).await);
    assert!(running.status().last_error.is_none(), "recovered");
    let seen = support::seen_summary(&db).await;
    assert_eq!(
        seen.deliveries, 600,
        "the failed batch's rows were rolled back"
    );
    assert_eq!(seen.distinct, 600);
    assert_eq!(support::published_count(&db).await, 600);
}

#[tokio::test]
async fn a_subscription_killed_mid_batch_resumes_from_its_checkpoint_with_exact_counts() {
    let (db, store) = support::probed(3, 199).await;
    let stuck = Arc::new(Notify::new());
    let mut config = support::fast_config("crashy");
    config.batch_size = 25;
    let doomed = subscription::spawn(
        &store,
        config.clone(),
        Hangs {
            stuck: stuck.clone(),
        },
    )
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), stuck.notified())
        .await
        .expect("the handler reaches the 150th event");
    let before_crash = doomed.status().checkpoint;
    doomed.abort();

    // A new process starts the same subscription: it must take over the lock once the dead
    // connection is gone, and start after the last committed batch.
    let resumed = subscription::spawn(&store, config, Recorder::new("resumed")).unwrap();
    let head = support::head(&db).await;
    assert!(resumed.wait_for(head, Duration::from_secs(20)).await);
    let seen = support::seen_summary(&db).await;
    assert_eq!(seen.deliveries, 600);
    assert_eq!(seen.distinct, 600);
    let first_resumed: i64 = db
        .connect()
        .await
        .query_one(
            "SELECT count(*) FROM selftest.seen WHERE runner = 'hangs'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(first_resumed > 0 && before_crash.global_position > 0);
    assert!(support::streams_delivered_in_order(&db).await);
}

async fn write_more(commands: &Commands<Probe>, probes: std::ops::Range<usize>) {
    for p in probes {
        let id = format!("p-{p}");
        commands
            .execute(&id, ProbeCommand::Open { label: id.clone() }, &meta())
            .await
            .unwrap();
        for _ in 0..25 {
            commands
                .execute(
                    &id,
                    ProbeCommand::Tick {
                        amount: 1,
                        times: 2,
                    },
                    &meta(),
                )
                .await
                .unwrap();
        }
    }
}

async fn wait_until_all_seen(db: &TestDb) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while support::seen_summary(db).await.deliveries < support::published_count(db).await {
        assert!(tokio::time::Instant::now() < deadline, "caught up in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_running_one_subscription_handle_each_event_once_even_when_the_holder_dies() {
    let db = TestDb::new().await;
    support::create_seen_table(&db).await;
    // Separate stores, so separate pools and connections: two processes as far as PostgreSQL
    // can tell.
    let commands = Commands::<Probe>::new(support::store(&db).await, ());
    let config = support::fast_config("shared");
    let mut runners = [
        Some(
            subscription::spawn(
                &support::store(&db).await,
                config.clone(),
                Recorder::new("one"),
            )
            .unwrap(),
        ),
        Some(
            subscription::spawn(&support::store(&db).await, config, Recorder::new("two")).unwrap(),
        ),
    ];
    write_more(&commands, 0..20).await;
    wait_until_all_seen(&db).await;
    let holding: Vec<bool> = runners
        .iter()
        .map(|r| r.as_ref().unwrap().status().holding)
        .collect();
    assert_eq!(
        holding.iter().filter(|h| **h).count(),
        1,
        "exactly one holder: {holding:?}"
    );
    let holder = holding.iter().position(|h| *h).unwrap();

    // The holder's process dies; the standby takes over where it stopped.
    runners[holder].take().unwrap().abort();
    write_more(&commands, 20..40).await;
    wait_until_all_seen(&db).await;

    let seen = support::seen_summary(&db).await;
    assert_eq!(seen.deliveries, seen.distinct, "each event handled once");
    assert_eq!(seen.deliveries, support::published_count(&db).await);
    assert_eq!(seen.deliveries, 40 * 51);
    let runners_seen: i64 = db
        .connect()
        .await
        .query_one("SELECT count(DISTINCT runner) FROM selftest.seen", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runners_seen, 2, "the standby handled the second half");
    let standby = runners[1 - holder].as_ref().unwrap();
    assert!(standby.status().holding);
}

#[tokio::test]
async fn a_partitioned_subscription_gives_each_stream_to_one_partition_and_keeps_its_order() {
    let (db, store) = support::probed(60, 5).await;
    // Two processes, each running the three partitions: each partition runs in one of them.
    let mut config = support::fast_config("split");
    config.batch_size = 7;
    let first =
        subscription::spawn_partitioned(&store, config.clone(), 3, Arc::new(Recorder::new("a")))
            .unwrap();
    let second =
        subscription::spawn_partitioned(&store, config, 3, Arc::new(Recorder::new("b"))).unwrap();
    let published = support::published_count(&db).await;
    let started = std::time::Instant::now();
    while support::seen_summary(&db).await.distinct < published {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not all handled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = support::seen_summary(&db).await;
    assert_eq!(seen.deliveries, published, "each event once");
    assert!(support::streams_delivered_in_order(&db).await);
    let client = db.connect().await;
    let split: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT aggregate_id FROM selftest.seen GROUP BY 1 \
             HAVING count(DISTINCT runner) > 1) AS s",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(split, 0, "a stream handled in two places");
    for (a, b) in first.iter().zip(&second) {
        let (a, b) = (a.status(), b.status());
        assert!(a.holding != b.holding, "one holder per partition");
        assert!(a.handled + b.handled > 0, "every partition has streams");
    }
    let names: Vec<String> = client
        .query(
            "SELECT name FROM selftest.subscription_checkpoint ORDER BY name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["split_p0of3", "split_p1of3", "split_p2of3"]);
}

/// Records the probes' openings, the only events it asks for; any other fails its batch.
struct OpeningsOnly {
    runner: &'static str,
}

#[async_trait]
impl Handler for OpeningsOnly {
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![ProbeOpened::full_name()])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        if let Some(other) = events.iter().find(|e| !e.is::<ProbeOpened>()) {
            return Err(format!("handed a {}", other.message_type).into());
        }
        for event in events {
            event.decode::<ProbeOpened>()?;
        }
        support::record(batch, events, self.runner).await
    }
}

/// Stored checkpoint writes of subscription `name` (noted by the trigger the test installs).
async fn checkpoint_writes(db: &TestDb, name: &str) -> i64 {
    db.connect()
        .await
        .query_one(
            "SELECT count(*) FROM selftest.checkpoint_write WHERE name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

/// Waits until the stored checkpoint of `name` is `position`.
async fn stored_reaches(db: &TestDb, name: &str, position: LogPosition) -> bool {
    let client = db.connect().await;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let row = client
            .query_one(
                "SELECT tx_id::text, global_position FROM selftest.subscription_checkpoint \
                 WHERE name = $1",
                &[&name],
            )
            .await
            .unwrap();
        if LogPosition::from_parts(row.get(0), row.get(1)).unwrap() == position {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn reads_with_nothing_to_handle_store_the_checkpoint_when_caught_up_not_at_each_read() {
    // One opening, then 200 ticks nobody here wants: 21 reads of 10.
    let (db, store) = support::probed(1, 200).await;
    let head = store.published_head().await.unwrap();
    for name in ["coalesced", "each_read"] {
        subscription::set_checkpoint(&store, "selftest", name, LogPosition::default())
            .await
            .unwrap();
    }
    db.connect()
        .await
        .batch_execute(
            "CREATE TABLE selftest.checkpoint_write (name text NOT NULL);
             CREATE FUNCTION selftest.note_checkpoint_write() RETURNS trigger
                 LANGUAGE plpgsql AS $$
                 BEGIN INSERT INTO selftest.checkpoint_write VALUES (NEW.name); RETURN NULL; END $$;
             CREATE TRIGGER noted AFTER UPDATE ON selftest.subscription_checkpoint
                 FOR EACH ROW EXECUTE FUNCTION selftest.note_checkpoint_write();",
        )
        .await
        .unwrap();

    for (name, every) in [
        ("coalesced", Duration::from_secs(3600)),
        ("each_read", Duration::ZERO),
    ] {
        let mut config = support::fast_config(name);
        config.batch_size = 10;
        config.skipped_checkpoint_every = every;
        let running = subscription::spawn(&store, config, OpeningsOnly { runner: name }).unwrap();
        assert!(running.wait_for(head, Duration::from_secs(30)).await);
        assert_eq!(running.status().handled, 201, "{name}: every event passed");
        assert!(
            stored_reaches(&db, name, head).await,
            "{name}: the stored checkpoint reaches the head once caught up"
        );
        running.stop().await;
        assert_eq!(
            support::seen_by(&db, name).await,
            (1, 1, 1),
            "{name}: the opening once"
        );
    }
    assert_eq!(
        checkpoint_writes(&db, "coalesced").await,
        2,
        "the batch with the opening, then the place reached when caught up"
    );
    let each = checkpoint_writes(&db, "each_read").await;
    assert!(each >= 21, "without the interval every read stores: {each}");
}

#[tokio::test]
async fn a_subscription_asking_for_some_message_types_gets_only_those_and_passes_the_rest() {
    // 30 openings, each followed by 9 ticks: the log ends with events nobody here wants.
    let (db, store) = support::probed(30, 9).await;
    let published = support::published_count(&db).await;
    assert_eq!(published, 300);
    let head = store.published_head().await.unwrap();

    let mut config = support::fast_config("openings");
    config.batch_size = 16;
    let whole =
        subscription::spawn(&store, config.clone(), OpeningsOnly { runner: "whole" }).unwrap();
    assert!(
        whole.wait_for(head, Duration::from_secs(30)).await,
        "the checkpoint passes the unwanted events to the head: {:?}",
        whole.status()
    );
    assert_eq!(
        support::seen_by(&db, "whole").await,
        (30, 30, 1),
        "each opening once"
    );
    assert_eq!(whole.status().handled, 300, "every event passed");
    assert!(whole.status().last_error.is_none());

    // Partitioned, the same: each partition passes its own streams' other events.
    config.name = "openings_split".into();
    let parts = subscription::spawn_partitioned(
        &store,
        config,
        2,
        Arc::new(OpeningsOnly { runner: "split" }),
    )
    .unwrap();
    let started = std::time::Instant::now();
    while parts.iter().map(|p| p.status().handled).sum::<u64>() < 300 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not all passed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        support::seen_by(&db, "split").await,
        (30, 30, 1),
        "each opening once"
    );
}

/// A read planned while the log was tiny (a new deployment) and run again when the log has
/// grown still walks the log-order index from the checkpoint and stops at its batch: a plan
/// that fetched every event past the checkpoint and sorted them was kept by the connection and
/// made each batch read the whole backlog.
#[tokio::test]
async fn a_subscription_read_planned_on_a_small_log_reads_only_its_batch_later() {
    let (db, _store) = support::probed(2, 4).await;
    assert_eq!(support::published_count(&db).await, 10);
    let reader = db.connect().await;
    let read = "SELECT count(*) FROM eventstore.read_log('0'::xid8, 0, 100, NULL, NULL, NULL)";
    // Transactions of other databases on the cluster hold the log's horizon back for a moment:
    // the planned reads are counted once the ten are visible.
    let started = std::time::Instant::now();
    let mut planned = 0;
    while planned < 8 {
        let n: i64 = reader.query_one(read, &[]).await.unwrap().get(0);
        if n == 10 {
            planned += 1;
        } else {
            assert!(n < 10, "read {n} of 10 events");
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the ten events never became readable"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    db.connect()
        .await
        .batch_execute(
            "INSERT INTO eventstore.published_event (event_id, message_type, payload, \
             aggregate_type, aggregate_id, sequence, metadata) \
             SELECT gen_random_uuid(), 'heatline.selftest.v1.ProbeOpened', '\\x', 'probe', \
                    'bulk-' || n, 1, '{}' FROM generate_series(1, 5000) n",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let touched = loop {
        reader.batch_execute("BEGIN").await.unwrap();
        let n: i64 = reader.query_one(read, &[]).await.unwrap().get(0);
        let touched: i64 = reader
            .query_one(
                "SELECT pg_stat_get_xact_tuples_fetched('eventstore.published_event'::regclass) \
                 + pg_stat_get_xact_tuples_returned('eventstore.published_event_log_order'::regclass)",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        reader.batch_execute("COMMIT").await.unwrap();
        if n == 100 {
            break touched;
        }
        assert!(n < 100, "a batch of 100 read {n}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the bulk insert never became readable"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        touched <= 300,
        "a batch of 100 from a backlog of 5,010 touched {touched} rows"
    );
}
