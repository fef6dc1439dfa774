//! Phase (f) of `heatline bench eventstore`: a projection that writes one row per stream with
//! a statement per event (as a read model does), catching up over the newest events of the
//! log, run as one partition and as two.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use eventstore::{
    Batch, Handler, HandlerError, LogPosition, Partition, PgEventStore, PublishedEvent,
    SubscriptionConfig, subscription,
};

/// Events each run catches up over.
pub(super) const EVENTS: i64 = 50_000;

/// Keeps each stream's count and last sequence; an event that is not its stream's next fails
/// the batch (order per stream is kept or the run stops).
struct PerStream {
    table: String,
}

#[async_trait]
impl Handler for PerStream {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let statement = batch
            .tx()
            .prepare_cached(&format!(
                "INSERT INTO {table} AS s (stream, events, last) VALUES ($1, 1, $2) \
                 ON CONFLICT (stream) DO UPDATE SET events = s.events + 1, last = excluded.last \
                 WHERE s.last < excluded.last",
                table = self.table
            ))
            .await?;
        for event in events {
            let stream = format!("{}/{}", event.aggregate_type, event.aggregate_id);
            let written = batch
                .tx()
                .execute(&statement, &[&stream, &event.sequence])
                .await?;
            if written != 1 {
                return Err(format!("{stream} {} out of order", event.sequence).into());
            }
        }
        Ok(())
    }
}

/// Events per second for 1 and for 2 partitions.
pub(super) async fn run(store: &PgEventStore) -> anyhow::Result<[f64; 2]> {
    let client = store.pool().get().await?;
    let row = client
        .query_one(
            "SELECT tx_id::text, global_position FROM eventstore.published_event \
             ORDER BY published_event.tx_id DESC, published_event.global_position DESC OFFSET $1 LIMIT 1",
            &[&EVENTS],
        )
        .await?;
    let from = LogPosition::from_parts(row.get(0), row.get(1))?;
    let mut rates = [0.0; 2];
    for (slot, count) in [1u32, 2].into_iter().enumerate() {
        let table = format!("bench_per_stream_{count}");
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (stream text PRIMARY KEY, events bigint NOT NULL, \
                 last bigint NOT NULL)"
            ))
            .await?;
        let name = format!("per_stream_{count}");
        for index in 0..count {
            let partition = Partition { index, count };
            subscription::set_checkpoint(store, "bench_partitions", &partition.name(&name), from)
                .await?;
        }
        let started = Instant::now();
        let running = subscription::spawn_partitioned(
            store,
            SubscriptionConfig::new("bench_partitions", name),
            count,
            Arc::new(PerStream { table }),
        )?;
        loop {
            let handled: u64 = running.iter().map(|r| r.status().handled).sum();
            if handled >= EVENTS as u64 {
                break;
            }
            if let Some(error) = running.iter().find_map(|r| r.status().last_error) {
                anyhow::bail!("the per-stream projection failed: {error}");
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(600),
                "not caught up in 10 minutes"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        rates[slot] = EVENTS as f64 / started.elapsed().as_secs_f64();
        for handle in running {
            handle.stop().await;
        }
    }
    Ok(rates)
}
