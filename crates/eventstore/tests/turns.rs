//! Subscription batches taking turns: a store that limits how many run at once, and a
//! subscription left out of the turns.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use eventstore::{Batch, Handler, HandlerError, PgEventStore, PublishedEvent, subscription};
use support::Recorder;
use testkit::TestDb;
use tokio::sync::Notify;

/// Records its batches, counting how many subscriptions' batches are inside a handler at once;
/// each batch stays inside for a moment, so that batches that may overlap do.
struct Overlapping {
    runner: String,
    inside: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

#[async_trait]
impl Handler for Overlapping {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        support::record(batch, events, &self.runner).await?;
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.inside.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Runs three subscriptions over `store` to the head; the most batches seen inside a handler
/// at once.
async fn most_batches_at_once(db: &TestDb, store: &PgEventStore, prefix: &str) -> usize {
    let head = store.published_head().await.unwrap();
    let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut running = Vec::new();
    let runners = ["one", "two", "three"].map(|r| format!("{prefix}_{r}"));
    for runner in &runners {
        let mut config = support::fast_config(runner);
        config.batch_size = 20;
        let handler = Overlapping {
            runner: runner.clone(),
            inside: inside.clone(),
            most: most.clone(),
        };
        running.push(subscription::spawn(store, config, handler).unwrap());
    }
    for (runner, subscription) in runners.iter().zip(running) {
        assert!(subscription.wait_for(head, Duration::from_secs(30)).await);
        subscription.stop().await;
        assert_eq!(
            support::seen_by(db, runner).await,
            (120, 4, 30),
            "{runner}: every event once"
        );
    }
    most.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_store_with_one_batch_slot_runs_its_subscriptions_batches_one_at_a_time() {
    // 120 events: each of three subscriptions needs six batches of 20.
    let (db, unlimited) = support::probed(4, 29).await;
    let config = db.config().pool_size(12);
    let one = PgEventStore::with_batch_slots(&config, 1);
    assert_eq!(
        most_batches_at_once(&db, &one, "turns").await,
        1,
        "one batch at a time"
    );
    let at_once = most_batches_at_once(&db, &unlimited, "free").await;
    assert!(at_once > 1, "without slots they overlap: {at_once}");
}

/// Holds its first batch until released.
struct HoldsFirstBatch {
    holding: Arc<Notify>,
    release: Arc<Notify>,
    first: AtomicBool,
}

#[async_trait]
impl Handler for HoldsFirstBatch {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        support::record(batch, events, "holder").await?;
        if self.first.swap(false, Ordering::SeqCst) {
            self.holding.notify_one();
            self.release.notified().await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_subscription_left_out_of_the_turns_runs_while_a_held_turn_keeps_the_others_waiting() {
    let (db, _) = support::probed(2, 9).await;
    let store = PgEventStore::with_batch_slots(&db.config().pool_size(12), 1);
    let head = store.published_head().await.unwrap();
    let (holding, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let holder = HoldsFirstBatch {
        holding: holding.clone(),
        release: release.clone(),
        first: AtomicBool::new(true),
    };
    let holder = subscription::spawn(&store, support::fast_config("holder"), holder).unwrap();
    tokio::time::timeout(Duration::from_secs(10), holding.notified())
        .await
        .expect("the holder is inside its first batch");

    let waiting = subscription::spawn(
        &store,
        support::fast_config("waiting"),
        Recorder::new("waiting"),
    )
    .unwrap();
    let mut config = support::fast_config("outside");
    config.takes_batch_slot = false;
    let outside = subscription::spawn(&store, config, Recorder::new("outside")).unwrap();
    assert!(
        outside.wait_for(head, Duration::from_secs(10)).await,
        "the one outside the turns reaches the head"
    );
    assert_eq!(support::seen_by(&db, "outside").await, (20, 2, 10));
    assert_eq!(
        support::seen_by(&db, "waiting").await,
        (0, 0, 0),
        "no batch while the only turn is held"
    );
    assert_eq!(waiting.status().handled, 0);

    release.notify_one();
    assert!(holder.wait_for(head, Duration::from_secs(10)).await);
    assert!(
        waiting.wait_for(head, Duration::from_secs(10)).await,
        "the turn, once given back, lets the other run"
    );
    assert_eq!(support::seen_by(&db, "waiting").await, (20, 2, 10));
    assert_eq!(support::seen_by(&db, "holder").await, (20, 2, 10));
}
