//! Durable named subscriptions to the public log.
//!
//! A subscription is a named consumer with a checkpoint in its own schema. Each batch reads
//! events after the checkpoint, lets the handler write (projection rows, appended events) and
//! moves the checkpoint, all in one transaction: a projection sees every event exactly once.
//! The subscriptions of one store read the log's newest events once between them (`tail`).
//! Only one process runs a subscription at a time: the runner holds a session advisory lock on
//! a connection of its own, and standbys keep trying. A handler error rolls the batch back, is
//! logged, and the same batch is retried with backoff: an event is never skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::ClientWrapper;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;

pub use crate::batch::Batch;
use crate::batch::Streams;
pub use crate::checkpoint::set_checkpoint;
use crate::checkpoint::{ensure_checkpoint, is_identifier};
use crate::error::StoreError;
use crate::log::{PublishedEvent, pending_beyond_horizon, read_log_with};
use crate::position::LogPosition;
use crate::store::PgEventStore;
use crate::writes::Writes;

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
    /// Defaults: batches of 500, polling every 500 ms, backoff from 100 ms to 30 s.
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

async fn stop_requested(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

struct Runner<H> {
    store: PgEventStore,
    config: SubscriptionConfig,
    handler: Arc<H>,
    status: watch::Sender<SubscriptionStatus>,
    stop: watch::Receiver<bool>,
    /// Streams as this runner's committed batches left them (see [`Batch::load`]).
    committed: std::sync::Mutex<Streams>,
}

/// The most streams a runner keeps between batches; past it, it starts again empty.
const STREAMS_KEPT: usize = 20_000;

enum Exit {
    Stopped,
    Reconnect,
}

impl<H: Handler> Runner<H> {
    async fn run(mut self) {
        let mut backoff = self.config.min_backoff;
        loop {
            if *self.stop.borrow() {
                return;
            }
            let exit = match self.connect().await {
                Ok(client) => self.hold(client).await,
                Err(error) => {
                    self.failed(&error.to_string());
                    Exit::Reconnect
                }
            };
            let was_holding = self.status.borrow().holding;
            self.status.send_modify(|s| s.holding = false);
            if let Exit::Stopped = exit {
                return;
            }
            if was_holding {
                // It ran well before this failure: reconnect soon, not after a long backoff.
                backoff = self.config.min_backoff;
            }
            if self.pause(backoff).await {
                return;
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    async fn connect(&self) -> Result<ClientWrapper, tokio_postgres::Error> {
        // Named after the subscription, so that `pg_stat_activity` tells which backend serves
        // which (a long transaction, a busy backend): "heatline credit.targets_feed".
        let mut pg = self.store.db_config().pg.clone();
        let base = pg.get_application_name().unwrap_or("heatline").to_owned();
        pg.application_name(format!(
            "{base} {}.{}",
            self.config.schema, self.config.name
        ));
        let (client, connection) = pg.connect(NoTls).await?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(ClientWrapper::new(client, task))
    }

    /// Waits out `duration`; true when asked to stop meanwhile.
    async fn pause(&self, duration: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = stop_requested(self.stop.clone()) => {}
        }
        *self.stop.borrow()
    }

    fn failed(&self, error: &str) {
        tracing::error!(
            subscription.schema = %self.config.schema,
            subscription.name = %self.config.name,
            %error,
            "subscription batch failed; retrying the same events after a pause"
        );
        self.status.send_modify(|s| {
            s.last_error = Some(error.to_owned());
            s.failing_since.get_or_insert_with(Instant::now);
        });
    }

    /// Takes the lock (or waits as a standby), then runs batches until stopped or the
    /// connection fails.
    async fn hold(&mut self, mut client: ClientWrapper) -> Exit {
        let key = format!("{}.{}", self.config.schema, self.config.name);
        loop {
            let locked = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext('heatline.subscription'), hashtext($1))",
                    &[&key],
                )
                .await;
            match locked {
                Ok(row) if row.get::<_, bool>(0) => break,
                Ok(_) => {
                    if self.pause(self.config.poll_interval).await {
                        return Exit::Stopped;
                    }
                }
                Err(error) => {
                    self.failed(&error.to_string());
                    return Exit::Reconnect;
                }
            }
        }
        let mut checkpoint = match self.checkpoint(&mut client).await {
            Ok(checkpoint) => checkpoint,
            Err(error) => {
                self.failed(&error.to_string());
                return Exit::Reconnect;
            }
        };
        // What another holder did meanwhile is read again from the log.
        self.committed.lock().expect("committed streams").clear();
        if let Err(error) = self.handler.resume(checkpoint).await {
            self.failed(&error.to_string());
            return Exit::Reconnect;
        }
        self.status.send_modify(|s| {
            s.holding = true;
            s.checkpoint = checkpoint;
        });
        tracing::info!(
            subscription.schema = %self.config.schema,
            subscription.name = %self.config.name,
            %checkpoint,
            "subscription running"
        );
        let wanted = self.handler.message_types();
        let mut wakeups = self.store.wakeups();
        let mut backoff = self.config.min_backoff;
        // When the stored checkpoint was last written, and whether `checkpoint` is ahead of it.
        let mut stored_at = Instant::now();
        let mut unstored = false;
        loop {
            if *self.stop.borrow() {
                return Exit::Stopped;
            }
            // Mark wake-ups seen before reading, so one that arrives during the read is not lost.
            wakeups.borrow_and_update();
            let read = match self.config.partition {
                // The process's subscriptions share one read of the log's newest events.
                None => {
                    self.store
                        .tail()
                        .read(
                            &client,
                            checkpoint,
                            self.config.batch_size,
                            wanted.as_deref(),
                        )
                        .await
                }
                Some(p) => {
                    read_log_with(
                        &client,
                        checkpoint,
                        self.config.batch_size,
                        wanted.as_deref(),
                        Some((p.index, p.count)),
                    )
                    .await
                }
            };
            let scanned = match read {
                Ok(scanned) => scanned,
                Err(error) => {
                    self.failed(&error.to_string());
                    return Exit::Reconnect;
                }
            };
            let Some(last) = scanned.last else {
                if unstored {
                    // Caught up: store the place reads with nothing to handle reached.
                    if let Err(error) = self.apply(&mut client, checkpoint, checkpoint, &[]).await {
                        self.failed(&error.to_string());
                        return Exit::Reconnect;
                    }
                    unstored = false;
                    stored_at = Instant::now();
                }
                let held_back = pending_beyond_horizon(&client, checkpoint)
                    .await
                    .unwrap_or(false);
                let wait = if held_back {
                    self.config.horizon_retry
                } else {
                    self.config.poll_interval
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    woke = wakeups.changed() => {
                        if woke.is_err() {
                            // No listener any more: polling alone keeps us going.
                            tokio::time::sleep(wait).await;
                        }
                    }
                    _ = stop_requested(self.stop.clone()) => return Exit::Stopped,
                }
                continue;
            };
            if scanned.events.is_empty()
                && stored_at.elapsed() < self.config.skipped_checkpoint_every
            {
                // Nothing to handle, and a checkpoint was stored a moment ago: no transaction.
                // A restart reads these events' positions again and skips them again.
                checkpoint = last;
                unstored = true;
                let count = scanned.count as u64;
                self.status.send_modify(|s| {
                    s.checkpoint = checkpoint;
                    s.handled += count;
                });
                continue;
            }
            match self
                .apply(&mut client, checkpoint, last, &scanned.events)
                .await
            {
                Ok(()) => {
                    checkpoint = last;
                    unstored = false;
                    stored_at = Instant::now();
                    backoff = self.config.min_backoff;
                    let count = scanned.count as u64;
                    self.status.send_modify(|s| {
                        s.checkpoint = checkpoint;
                        s.handled += count;
                        s.last_error = None;
                        s.failing_since = None;
                    });
                }
                Err(error) => {
                    self.failed(&error.to_string());
                    if client.is_closed() {
                        return Exit::Reconnect;
                    }
                    if self.pause(backoff).await {
                        return Exit::Stopped;
                    }
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }

    async fn checkpoint(&self, client: &mut ClientWrapper) -> Result<LogPosition, StoreError> {
        let tx = client.transaction().await?;
        ensure_checkpoint(&tx, &self.config.schema, &self.config.name).await?;
        let row = tx
            .query_one(
                &format!(
                    "SELECT tx_id::text, global_position FROM {}.subscription_checkpoint
                     WHERE name = $1",
                    self.config.schema
                ),
                &[&self.config.name],
            )
            .await?;
        tx.commit().await?;
        LogPosition::from_parts(row.get(0), row.get(1))
            .map_err(|e| StoreError::Decode(e.to_string()))
    }

    /// One batch in one transaction: the handler's writes and the checkpoint commit together.
    /// `last` is where the read ended (the last of `events`, or an event after them the
    /// handler does not want).
    async fn apply(
        &self,
        client: &mut ClientWrapper,
        from: LogPosition,
        last: LogPosition,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let started = Instant::now();
        let tx = client.transaction().await?;
        let mut batch = Batch {
            tx,
            store: &self.store,
            appended: false,
            after: from,
            streams: std::sync::Mutex::new(HashMap::new()),
            committed: &self.committed,
            queued: Writes::new(),
        };
        if !events.is_empty() {
            self.handler.handle(&mut batch, events).await?;
        }
        batch.flush().await?;
        let Batch {
            tx,
            appended,
            streams,
            ..
        } = batch;
        let moved = tx
            .execute(
                &format!(
                    "UPDATE {}.subscription_checkpoint
                     SET tx_id = $2::text::xid8, global_position = $3, updated_at = now()
                     WHERE name = $1",
                    self.config.schema
                ),
                &[&self.config.name, &last.tx_id_text(), &last.global_position],
            )
            .await?;
        if moved != 1 {
            return Err(format!("checkpoint row of {} vanished", self.config.name).into());
        }
        if !appended {
            // Rows derived from the log, committed with the checkpoint that says so: were the
            // machine to stop before this commit reached the disk, both would be lost together
            // and the batch handled again. Nothing waits for that flush; a batch that appended
            // events (which others act on) still does.
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await?;
        }
        tx.commit().await?;
        let streams = streams.into_inner().unwrap_or_default();
        if !streams.is_empty() {
            let mut committed = self.committed.lock().expect("committed streams");
            if committed.len() + streams.len() > STREAMS_KEPT {
                committed.clear();
            }
            committed.extend(streams);
        }
        if appended {
            self.store.notify_appended();
        }
        tracing::debug!(
            subscription.schema = %self.config.schema,
            subscription.name = %self.config.name,
            events = events.len(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "subscription batch committed"
        );
        Ok(())
    }
}
