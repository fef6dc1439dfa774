//! The runner behind each subscription: takes the subscription's lock, reads after the
//! checkpoint, hands the handler its batches and stores where it got to.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::ClientWrapper;
use tokio::sync::watch;
use tokio_postgres::NoTls;

use super::{Handler, HandlerError, SubscriptionConfig, SubscriptionStatus};
use crate::batch::{Batch, Streams};
use crate::checkpoint::ensure_checkpoint;
use crate::error::StoreError;
use crate::log::{PublishedEvent, pending_beyond_horizon, read_log_with};
use crate::position::LogPosition;
use crate::store::PgEventStore;
use crate::writes::Writes;

pub(super) async fn stop_requested(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

pub(super) struct Runner<H> {
    pub(super) store: PgEventStore,
    pub(super) config: SubscriptionConfig,
    pub(super) handler: Arc<H>,
    pub(super) status: watch::Sender<SubscriptionStatus>,
    pub(super) stop: watch::Receiver<bool>,
    /// Streams as this runner's committed batches left them (see [`Batch::load`]).
    pub(super) committed: std::sync::Mutex<Streams>,
}

/// The most streams a runner keeps between batches; past it, it starts again empty.
const STREAMS_KEPT: usize = 20_000;

enum Exit {
    Stopped,
    Reconnect,
}

impl<H: Handler> Runner<H> {
    pub(super) async fn run(mut self) {
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
        let _turn = if self.config.takes_batch_slot {
            self.store.batch_slot().await
        } else {
            None
        };
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
