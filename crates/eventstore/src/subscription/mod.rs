//! Durable named subscriptions to the public log.
//!
//! A subscription is a named consumer with a checkpoint in its own schema. Each batch reads
//! events after the checkpoint, lets the handler write (projection rows, appended events) and
//! moves the checkpoint, all in one transaction: a projection sees every event exactly once.
//! The subscriptions of one store read the log's newest events once between them (`tail`).
//! Only one process runs a subscription at a time: the runner holds a session advisory lock on
//! a connection of its own, and standbys keep trying. A handler error rolls the batch back, is
//! logged, and the same batch is retried with backoff: an event is never skipped.

mod runner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::batch::Batch;
use crate::checkpoint::is_identifier;
pub use crate::checkpoint::set_checkpoint;
use crate::error::StoreError;
use crate::log::PublishedEvent;
use crate::position::LogPosition;
use crate::store::PgEventStore;
use runner::Runner;

/// A handler's failure: the batch is rolled back and retried.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a subscription does with its events.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles a batch of events in global order, inside the batch's transaction. An error
    /// rolls everything back; the same events come again after a pause.
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError>;

    /// Called when this process takes the subscription, with its checkpoint, before the first
    /// batch: a handler that keeps state in memory builds it here, so that the first event
    /// after a start is not kept waiting by the rebuild. An error gives the subscription up
    /// (another process, or this one after a pause, takes it again).
    async fn resume(&self, _checkpoint: LogPosition) -> Result<(), HandlerError> {
        Ok(())
    }

    /// The message types (full protobuf names) this handler acts on; `None`, the default:
    /// every event. The others never reach [`Self::handle`]: the runner reads only their
    /// positions and its checkpoint passes them; a read of only such events commits just the
    /// checkpoint, and not even that when one was stored a moment ago. Asked once each time
    /// the subscription is taken.
    fn message_types(&self) -> Option<Vec<String>> {
        None
    }
}

/// How a subscription runs.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// The consumer's schema, where its checkpoint lives (a plain lowercase identifier).
    pub schema: String,
    /// The subscription's name, unique within the schema.
    pub name: String,
    /// The most events handed to one batch.
    pub batch_size: i64,
    /// How long to wait for a wake-up before polling anyway.
    pub poll_interval: Duration,
    /// How soon to look again when newer events are held back by an older transaction.
    pub horizon_retry: Duration,
    /// The first pause after a failure; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// The longest pause after repeated failures.
    pub max_backoff: Duration,
    /// Which share of the log's streams this runner handles (see [`spawn_partitioned`]).
    pub partition: Option<Partition>,
    /// How long the stored checkpoint may trail reads that had nothing to handle (only
    /// events of other types): such a read stores nothing while a checkpoint was stored
    /// within this time, and the subscription stores its place when it catches up.
    pub skipped_checkpoint_every: Duration,
    /// Whether its batches wait for a turn where the store limits how many run at once
    /// ([`PgEventStore::with_batch_slots`]): true by default. A subscription whose batches
    /// wait on something outside the database (a message broker's acknowledgement) leaves
    /// the turns alone, so that an outage there cannot hold a turn the others need.
    pub takes_batch_slot: bool,
}

/// One of `count` partitions of a subscription: the events of the streams whose hash falls to
/// `index`. Each has its own checkpoint and lock, so partitions run in different processes at
/// once; a stream's events all go to one partition, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This partition, from 0.
    pub index: u32,
    /// How many there are (at least 1).
    pub count: u32,
}

impl Partition {
    /// The name of partition `index` of `count` of subscription `name`, for its checkpoint,
    /// lock and lag (`name_p0of2`).
    pub fn name(self, name: &str) -> String {
        format!("{name}_p{}of{}", self.index, self.count)
    }
}

impl SubscriptionConfig {
    /// Defaults: batches of 500, polling every 500 ms, backoff from 100 ms to 30 s, taking
    /// turns where the store limits batches.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        SubscriptionConfig {
            schema: schema.into(),
            name: name.into(),
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
            horizon_retry: Duration::from_millis(5),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            partition: None,
            skipped_checkpoint_every: Duration::from_secs(1),
            takes_batch_slot: true,
        }
    }
}

/// What a running subscription reports.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionStatus {
    /// Whether this process holds the subscription (others are standbys).
    pub holding: bool,
    /// Where this process has handled the log to: its rows reflect every event up to here.
    /// The stored checkpoint may trail it by reads that had nothing to handle (see
    /// [`SubscriptionConfig::skipped_checkpoint_every`]).
    pub checkpoint: LogPosition,
    /// Events this process has read past: handled, or of types the handler does not take.
    pub handled: u64,
    /// The last failure, until a batch succeeds again.
    pub last_error: Option<String>,
    /// Since when batches have been failing.
    pub failing_since: Option<Instant>,
}

/// A running subscription. Dropping it stops the subscription.
#[derive(Debug)]
pub struct SubscriptionHandle {
    status: watch::Receiver<SubscriptionStatus>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SubscriptionHandle {
    /// The latest status.
    pub fn status(&self) -> SubscriptionStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<SubscriptionStatus> {
        self.status.clone()
    }

    /// Waits until the checkpoint has reached `position` (read your own writes), or `timeout`.
    /// Returns whether it was reached.
    pub async fn wait_for(&self, position: LogPosition, timeout: Duration) -> bool {
        let mut status = self.status.clone();
        tokio::time::timeout(timeout, status.wait_for(|s| s.checkpoint >= position))
            .await
            .is_ok_and(|reached| reached.is_ok())
    }

    /// Stops after the batch in progress (its transaction commits or rolls back whole).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Kills the subscription at once, as a crashing process would: a batch in progress is
    /// rolled back by PostgreSQL when its connection goes away.
    pub fn abort(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for SubscriptionHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts a subscription on the current Tokio runtime.
pub fn spawn(
    store: &PgEventStore,
    config: SubscriptionConfig,
    handler: impl Handler,
) -> Result<SubscriptionHandle, StoreError> {
    spawn_shared(store, config, Arc::new(handler))
}

/// Starts a subscription as `count` partitions (`config.name` with `_p{i}of{count}`), each
/// with its own checkpoint and lock, sharing `handler`: the events of a stream all reach one
/// partition, in log order, and partitions held by different processes run at once. Only for
/// a handler whose work on one stream does not depend on another's.
pub fn spawn_partitioned<H: Handler>(
    store: &PgEventStore,
    config: SubscriptionConfig,
    count: u32,
    handler: Arc<H>,
) -> Result<Vec<SubscriptionHandle>, StoreError> {
    let count = count.max(1);
    (0..count)
        .map(|index| {
            let partition = Partition { index, count };
            let mut config = config.clone();
            config.name = partition.name(&config.name);
            config.partition = Some(partition);
            spawn_shared(store, config, handler.clone())
        })
        .collect()
}

fn spawn_shared<H: Handler>(
    store: &PgEventStore,
    config: SubscriptionConfig,
    handler: Arc<H>,
) -> Result<SubscriptionHandle, StoreError> {
    if !is_identifier(&config.schema) {
        return Err(StoreError::Decode(format!(
            "subscription schema {:?} is not a plain lowercase identifier",
            config.schema
        )));
    }
    let (status_tx, status) = watch::channel(SubscriptionStatus::default());
    let (stop, stop_rx) = watch::channel(false);
    let runner = Runner {
        store: store.clone(),
        config,
        handler,
        status: status_tx,
        stop: stop_rx,
        committed: std::sync::Mutex::new(HashMap::new()),
    };
    let task = tokio::spawn(runner.run());
    Ok(SubscriptionHandle {
        status,
        stop,
        task: Some(task),
    })
}
