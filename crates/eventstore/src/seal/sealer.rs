//! The sealing worker: one holder at a time seals what has settled below the horizon.

use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::{ClientWrapper, Object, Transaction};
use secrets::Keyring;

use super::keys::SealKey;
use super::merkle;
use super::records::{Log, leaves_of_rows};
use super::{Leaf, Range, SealBody};
use crate::error::StoreError;
use crate::position::LogPosition;
use crate::store::PgEventStore;

/// How the sealer runs.
#[derive(Debug, Clone, Copy)]
pub struct SealerConfig {
    /// How often it looks for new events.
    pub every: Duration,
    /// The most events of each log one seal covers (a backlog becomes several seals).
    pub max_per_log: i64,
}

impl Default for SealerConfig {
    /// Every minute, at most 20,000 events of each log per seal.
    fn default() -> Self {
        SealerConfig {
            every: Duration::from_secs(60),
            max_per_log: 20_000,
        }
    }
}

/// Where the last seal ended.
pub(crate) struct Tip {
    pub seq: i64,
    pub hash: merkle::Hash,
    pub events: LogPosition,
    pub published: LogPosition,
    pub sealed_at: Option<chrono::DateTime<Utc>>,
}

impl Tip {
    const NONE: Tip = Tip {
        seq: 0,
        hash: [0; 32],
        events: LogPosition::START,
        published: LogPosition::START,
        sealed_at: None,
    };
}

pub(crate) async fn tip(client: &Object) -> Result<Tip, StoreError> {
    let row = client
        .query_opt(
            "SELECT seq, hash, events_through_tx::text, events_through_pos,
                    published_through_tx::text, published_through_pos, sealed_at
             FROM eventstore.seal ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Tip::NONE);
    };
    let position = |tx: usize, pos: usize| {
        LogPosition::from_parts(row.get(tx), row.get(pos))
            .map_err(|e| StoreError::Decode(e.to_string()))
    };
    let hash: Vec<u8> = row.get(1);
    Ok(Tip {
        seq: row.get(0),
        hash: hash
            .try_into()
            .map_err(|_| StoreError::Decode("a seal's hash is not 32 bytes".into()))?,
        events: position(2, 3)?,
        published: position(4, 5)?,
        sealed_at: Some(row.get(6)),
    })
}

async fn pending(
    tx: &Transaction<'_>,
    log: Log,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<Leaf>, StoreError> {
    let rows = tx
        .query(
            log.read_pending(),
            &[&after.tx_id_text(), &after.global_position, &limit],
        )
        .await?;
    leaves_of_rows(log, rows).await
}

fn range(after: LogPosition, leaves: &[Leaf]) -> Range {
    Range {
        after,
        through: leaves.last().map_or(after, |l| l.position),
        count: leaves.len() as u64,
    }
}

/// Seals what has settled since the last seal (at most `max_per_log` events of each log);
/// `None` when there was nothing new.
pub async fn seal_once(
    store: &PgEventStore,
    key: &SealKey,
    max_per_log: i64,
) -> Result<Option<SealBody>, StoreError> {
    let mut client = store.pool().get().await?;
    let last = tip(&client).await?;
    // One read-only snapshot for both logs: no transaction id is taken, so readers' horizon
    // never waits for the sealer.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let events = pending(&tx, Log::Events, last.events, max_per_log).await?;
    let published = pending(&tx, Log::Published, last.published, max_per_log).await?;
    tx.commit().await?;
    if events.is_empty() && published.is_empty() {
        return Ok(None);
    }
    let leaves: Vec<Leaf> = events.iter().chain(&published).copied().collect();
    let hashes: Vec<merkle::Hash> = leaves.iter().map(|l| l.hash).collect();
    let body = SealBody {
        seq: last.seq + 1,
        previous: last.hash,
        events: range(last.events, &events),
        published: range(last.published, &published),
        root: merkle::root(&hashes),
        sealed_at: Utc::now(),
        key_id: key.id().to_string(),
    };
    let text = body.text();
    let signature = key.sign(text.as_bytes());
    client
        .execute(
            "INSERT INTO eventstore.seal (seq, body, hash, signature, key_id, sealed_at,
                 events_through_tx, events_through_pos, events_count,
                 published_through_tx, published_through_pos, published_count, leaves)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::xid8, $8, $9, $10::text::xid8, $11, $12, $13)",
            &[
                &body.seq,
                &text,
                &body.hash().as_slice(),
                &signature.as_slice(),
                &body.key_id,
                &body.sealed_at,
                &body.events.through.tx_id_text(),
                &body.events.through.global_position,
                &(body.events.count as i64),
                &body.published.through.tx_id_text(),
                &body.published.through.global_position,
                &(body.published.count as i64),
                &Leaf::pack(&leaves),
            ],
        )
        .await?;
    Ok(Some(body))
}

/// Seals until caught up with the horizon; answers how many seals were made.
pub async fn seal_all(
    store: &PgEventStore,
    key: &SealKey,
    max_per_log: i64,
) -> Result<usize, StoreError> {
    let mut made = 0;
    while let Some(body) = seal_once(store, key, max_per_log).await? {
        made += 1;
        let full = max_per_log as u64;
        if body.events.count < full && body.published.count < full {
            break;
        }
    }
    Ok(made)
}

/// The running sealer; dropping it stops it.
#[derive(Debug)]
pub struct SealerHandle(tokio::task::JoinHandle<()>);

impl Drop for SealerHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the sealer: it takes the sealing lock (or waits as a standby while another process
/// holds it) and seals every `config.every`.
pub fn spawn(store: PgEventStore, keyring: Keyring, config: SealerConfig) -> SealerHandle {
    SealerHandle(tokio::spawn(async move {
        let mut every = tokio::time::interval(config.every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The connection that holds the session lock, and the key, while this process seals.
        let mut holder: Option<(ClientWrapper, SealKey)> = None;
        loop {
            every.tick().await;
            if holder.is_none() {
                match take_lock(&store, &keyring).await {
                    Ok(taken) => holder = taken,
                    Err(error) => {
                        tracing::warn!(%error, "the sealer could not start");
                        continue;
                    }
                }
            }
            let Some((lock, key)) = &holder else {
                continue;
            };
            if lock.is_closed() {
                holder = None;
                continue;
            }
            match seal_all(&store, key, config.max_per_log).await {
                Ok(0) => {}
                Ok(made) => tracing::debug!(made, "sealed the logs"),
                Err(error) => tracing::warn!(%error, "sealing failed; retrying"),
            }
        }
    }))
}

async fn take_lock(
    store: &PgEventStore,
    keyring: &Keyring,
) -> Result<Option<(ClientWrapper, SealKey)>, StoreError> {
    // Out of the pool: the session lock lives exactly as long as this connection.
    let client = Object::take(store.pool().get().await?);
    let locked: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock(hashtext('heatline.sealer'))",
            &[],
        )
        .await?
        .get(0);
    if !locked {
        return Ok(None);
    }
    let key = SealKey::load_or_create(store, keyring).await?;
    Ok(Some((client, key)))
}

/// How current the seals are, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SealStatus {
    /// When the newest seal was made (none before the first).
    pub newest: Option<chrono::DateTime<Utc>>,
    /// Domain events after the newest seal.
    pub unsealed_events: i64,
    /// Published events after it.
    pub unsealed_published: i64,
}

/// Reads how current the seals are.
pub async fn status(pool: &deadpool_postgres::Pool) -> Result<SealStatus, StoreError> {
    let client = pool.get().await?;
    let last = tip(&client).await?;
    let after = |position: LogPosition| (position.tx_id_text(), position.global_position);
    let (events_tx, events_pos) = after(last.events);
    let (published_tx, published_pos) = after(last.published);
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM eventstore.event
                     WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)),
                    (SELECT count(*) FROM eventstore.published_event
                     WHERE (tx_id, global_position) > ($3::text::xid8, $4::bigint))",
            &[&events_tx, &events_pos, &published_tx, &published_pos],
        )
        .await?;
    Ok(SealStatus {
        newest: last.sealed_at,
        unsealed_events: row.get(0),
        unsealed_published: row.get(1),
    })
}
