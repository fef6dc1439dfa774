//! Wake-ups for subscriptions: NOTIFY after an append commits, LISTEN on a dedicated connection.
//!
//! A NOTIFY inside the append's transaction would serialise every commit on PostgreSQL's
//! notification queue lock, so appends only signal a background task, which sends one NOTIFY on
//! its own connection for any number of appends that happened meanwhile. Wake-ups only make
//! subscriptions faster: polling is what guarantees progress, so a lost NOTIFY costs latency,
//! never an event.

use std::time::Duration;

use deadpool_postgres::Pool;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel appends notify and subscriptions listen on.
pub const CHANNEL: &str = "heatline_log";

/// The shortest gap between two NOTIFYs. A NOTIFY is a write transaction of its own (it takes
/// a transaction id and flushes a commit record), so under load one per append would cost as
/// much as the appends; a wake-up a millisecond or two late costs nothing that matters.
const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(2);

/// Sends coalesced NOTIFYs after appends.
#[derive(Clone, Debug)]
pub(crate) struct Notifier {
    pending: mpsc::Sender<()>,
}

impl Notifier {
    /// Starts the sending task; it ends when the last `Notifier` is dropped.
    pub(crate) fn spawn(pool: Pool) -> Self {
        let (pending, mut wakeups) = mpsc::channel::<()>(1);
        tokio::spawn(async move {
            while wakeups.recv().await.is_some() {
                let sent = async {
                    let client = pool.get().await.map_err(|e| e.to_string())?;
                    client
                        .batch_execute(&format!("NOTIFY {CHANNEL}"))
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                if let Err(error) = sent {
                    tracing::debug!(%error, "wake-up notification not sent; subscriptions will poll");
                }
                // Appends signalled meanwhile wait for the next NOTIFY, which wakes for all.
                tokio::time::sleep(MIN_GAP).await;
            }
        });
        Notifier { pending }
    }

    /// Asks for a NOTIFY; does nothing when one is already pending.
    pub(crate) fn signal(&self) {
        let _ = self.pending.try_send(());
    }
}

/// Listens for wake-ups and counts them into a watch channel.
pub(crate) fn spawn_listener(pg: tokio_postgres::Config) -> watch::Receiver<u64> {
    let (count, receiver) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match pg.connect(NoTls).await {
                Ok((client, mut connection)) => {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    let statement = format!("LISTEN {CHANNEL}");
                    let listening = {
                        // The LISTEN only completes while the connection is being driven.
                        let mut listen = std::pin::pin!(client.batch_execute(&statement));
                        loop {
                            tokio::select! {
                                done = &mut listen => break done.is_ok(),
                                message = messages.next() => match message {
                                    Some(Ok(_)) => {}
                                    _ => break false,
                                },
                            }
                        }
                    };
                    if listening {
                        backoff = Duration::from_millis(100);
                        // Anything committed while we were not listening is found by polling;
                        // one wake-up now shortens that wait.
                        count.send_modify(|n| *n += 1);
                        loop {
                            tokio::select! {
                                _ = count.closed() => return,
                                message = messages.next() => match message {
                                    Some(Ok(AsyncMessage::Notification(_))) => {
                                        count.send_modify(|n| *n += 1)
                                    }
                                    Some(Ok(_)) => {}
                                    Some(Err(_)) | None => break,
                                },
                            }
                        }
                    }
                    drop(client);
                }
                Err(error) => {
                    tracing::debug!(%error, "wake-up listener cannot connect; subscriptions poll");
                }
            }
            if count.is_closed() {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
    receiver
}
