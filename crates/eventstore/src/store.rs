//! The event store: per-stream optimistic concurrency, domain and integration events appended
//! in one statement, streams read back for aggregates loaded by id.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventEnvelope};
use deadpool_postgres::{GenericClient, Pool};
use tokio::sync::watch;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::append::{APPEND, APPEND_ONE, append_with};
pub use crate::append::{AppendError, Appended, IntegrationEvent, Publish};
use crate::cache::AggregateCache;
use crate::commands::{mark_loaded_from_cache, record_receipt};
use crate::db::DbConfig;
use crate::error::StoreError;
use crate::metadata::EventMetadata;
use crate::notify::{self, Notifier};
use crate::position::LogPosition;
use crate::tail::Tail;

const LOAD_PAYLOADS: &str = include_str!("sql/load_payloads.sql");
const LOAD_MANY: &str = include_str!("sql/load_many.sql");
const LOAD_STREAM: &str = include_str!("sql/load_stream.sql");

/// A domain event read back with everything stored beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent<E> {
    /// Its place in its stream, from 1.
    pub sequence: usize,
    /// Its id.
    pub event_id: Uuid,
    /// Its stored name.
    pub event_type: String,
    /// Its stored shape version.
    pub event_version: String,
    /// The event.
    pub payload: E,
    /// Who, through what, and why.
    pub metadata: EventMetadata,
    /// Its place in the domain log.
    pub position: LogPosition,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// The state of one aggregate as loaded for a command.
pub struct StreamContext<A> {
    pub(crate) aggregate_id: String,
    /// The working copy: cqrs-es's `EventSink::write` applies each new event to it while the
    /// command runs.
    aggregate: A,
    /// The state as loaded, before the command: the base the integration events are computed
    /// from, one event at a time (starting from `aggregate` would apply the new events twice).
    pub(crate) loaded: A,
    pub(crate) current_sequence: usize,
    /// The connection the stream was loaded on, kept for the commit that follows (the
    /// cqrs-es path), so a command takes one connection from the pool, not two.
    connection: Option<deadpool_postgres::Object>,
}

impl<A: std::fmt::Debug> std::fmt::Debug for StreamContext<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamContext")
            .field("aggregate_id", &self.aggregate_id)
            .field("aggregate", &self.aggregate)
            .field("current_sequence", &self.current_sequence)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate> AggregateContext<A> for StreamContext<A> {
    fn aggregate(&mut self) -> &mut A {
        &mut self.aggregate
    }
}

impl<A: Aggregate + Clone> StreamContext<A> {
    /// A stream known to be new without reading it: an id the caller has just minted (a
    /// UUIDv7). Should it exist after all, the append is refused as a conflict.
    pub fn new_stream(aggregate_id: &str) -> Self {
        StreamContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate: A::default(),
            loaded: A::default(),
            current_sequence: 0,
            connection: None,
        }
    }
}

impl<A: Aggregate + Clone> StreamContext<A> {
    /// A stream whose state the caller kept from its own last append, at `sequence`: no
    /// read. The caller must know that nothing was appended since (see
    /// [`crate::Batch::stream_version`]); an append by another writer is still refused as a
    /// conflict.
    pub fn resume(aggregate_id: &str, state: A, sequence: usize) -> Self {
        StreamContext {
            aggregate_id: aggregate_id.to_owned(),
            loaded: state.clone(),
            aggregate: state,
            current_sequence: sequence,
            connection: None,
        }
    }
}

impl<A> StreamContext<A> {
    /// The id of the loaded aggregate.
    pub fn aggregate_id(&self) -> &str {
        &self.aggregate_id
    }

    /// The sequence number of the last event applied (0 for a new aggregate).
    pub fn current_sequence(&self) -> usize {
        self.current_sequence
    }

    /// The aggregate's state.
    pub fn state(&self) -> &A {
        &self.aggregate
    }
}

/// An append queued with [`PgEventStore::queue_append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The sequence of its last event.
    pub last_sequence: usize,
    /// Its events' ids, in order.
    pub event_ids: Vec<Uuid>,
}

/// The PostgreSQL event store, shared by every service of a process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    db: DbConfig,
    notifier: Notifier,
    wakeups: OnceLock<watch::Receiver<u64>>,
    cache: AggregateCache,
    tail: Tail,
    /// How many of this store's subscription batches may run at once (none: no limit).
    batch_slots: Option<tokio::sync::Semaphore>,
}

/// How many aggregates a store keeps in memory by default (see [`PgEventStore::with_cache`]).
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

impl PgEventStore {
    /// A store over a new pool, caching up to [`DEFAULT_CACHE_CAPACITY`] aggregates. Must be
    /// called inside a Tokio runtime.
    pub fn new(db: &DbConfig) -> Self {
        Self::with_cache(db, DEFAULT_CACHE_CAPACITY)
    }

    /// A store caching up to `capacity` aggregates between commands (0: none).
    pub fn with_cache(db: &DbConfig, capacity: usize) -> Self {
        Self::build(db, capacity, None)
    }

    /// A store whose subscriptions run at most `slots` batches at once (at least one); the
    /// others wait their turn with their transactions not yet begun. A process that serves
    /// requests and runs many subscriptions on a small machine gives its requests the CPU
    /// this way: with every subscription's batch running at once, each request's round trips
    /// queue behind them, and the subscriptions, taking turns, read bigger batches that cost
    /// less per event. A subscription can be left out of the turns
    /// ([`crate::SubscriptionConfig::takes_batch_slot`]).
    pub fn with_batch_slots(db: &DbConfig, slots: usize) -> Self {
        Self::build(db, DEFAULT_CACHE_CAPACITY, Some(slots.max(1)))
    }

    fn build(db: &DbConfig, capacity: usize, slots: Option<usize>) -> Self {
        let pool = db.pool();
        PgEventStore {
            inner: Arc::new(Inner {
                notifier: Notifier::spawn(pool.clone()),
                pool,
                db: db.clone(),
                wakeups: OnceLock::new(),
                cache: AggregateCache::new(capacity),
                tail: Tail::default(),
                batch_slots: slots.map(tokio::sync::Semaphore::new),
            }),
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The settings the store connects with.
    pub fn db_config(&self) -> &DbConfig {
        &self.inner.db
    }

    /// Wakes subscriptions after a transaction that appended has committed. The cqrs-es path
    /// does this itself; call it after committing a transaction used with [`Self::append_in`].
    pub fn notify_appended(&self) {
        self.inner.notifier.signal();
    }

    /// The newest stretch of the public log, shared by this store's subscriptions.
    pub(crate) fn tail(&self) -> &Tail {
        &self.inner.tail
    }

    /// A turn for one subscription batch, when the store limits them (see
    /// [`Self::with_batch_slots`]); held until dropped.
    pub(crate) async fn batch_slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let slots = self.inner.batch_slots.as_ref()?;
        // The semaphore is never closed.
        slots.acquire().await.ok()
    }

    pub(crate) fn wakeups(&self) -> watch::Receiver<u64> {
        self.inner
            .wakeups
            .get_or_init(|| notify::spawn_listener(self.inner.db.pg.clone()))
            .clone()
    }

    /// Loads an aggregate by replaying its stream (one indexed range read).
    pub async fn load<A: Aggregate + Clone>(
        &self,
        aggregate_id: &str,
    ) -> Result<StreamContext<A>, StoreError> {
        let client = self.inner.pool.get().await?;
        load_with(&client, aggregate_id).await
    }

    /// Appends events in a transaction the caller owns (a subscription batch, a migration).
    /// It must be the transaction's first write: otherwise it writes nothing and answers
    /// [`AppendError::NotFirstWrite`]. Call [`Self::notify_appended`] after commit.
    pub async fn append_in<A: Publish>(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        context: &StreamContext<A>,
        events: &[A::Event],
        metadata: &EventMetadata,
    ) -> Result<Appended, AppendError> {
        // The append statement itself refuses to write after an earlier write.
        self.append_in_tx(tx, context, events, metadata, false)
            .await
    }

    async fn append_in_tx<A: Publish>(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        context: &StreamContext<A>,
        events: &[A::Event],
        metadata: &EventMetadata,
        after_append: bool,
    ) -> Result<Appended, AppendError> {
        // The caller's transaction may yet roll back: the cached state cannot be trusted.
        self.inner.cache.evict(A::TYPE, &context.aggregate_id);
        append_with(tx, context, events, metadata, after_append)
            .await
            .map(|(appended, _)| appended)
    }

    /// Queues an append in `writes` instead of sending it (see [`crate::Writes`]): it goes out
    /// when they are sent, in one statement with the queue's other appends, at the place of the
    /// first (see [`crate::Writes`]). `after_append` as for
    /// [`Self::append_also_in`]: false when it must be the transaction's first write. Returns
    /// the sequence of its last event and the events' ids. A lost race fails the send with a
    /// unique violation on `event_pkey` ([`AppendError::from`] reads it as a conflict).
    pub fn queue_append<A: Publish>(
        &self,
        writes: &mut crate::Writes,
        context: &StreamContext<A>,
        events: &[A::Event],
        metadata: &EventMetadata,
        after_append: bool,
    ) -> Queued {
        // The transaction may yet roll back: the cached state cannot be trusted.
        self.inner.cache.evict(A::TYPE, &context.aggregate_id);
        let prepared = crate::append::prepare(context, events, metadata, after_append);
        let event_ids = prepared.rows.event_ids.clone();
        writes.push_append(prepared.rows);
        Queued {
            last_sequence: context.current_sequence() + events.len(),
            event_ids,
        }
    }

    /// Prepares (once per connection) the statements [`Self::append_in`] sends, so that an
    /// append polled together with other statements of its transaction goes out first and
    /// whole: without this, the first append on a connection waits for its statements to be
    /// prepared while the others go ahead, and is refused as not the first write.
    pub async fn prepare_append(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
    ) -> Result<(), StoreError> {
        for sql in [APPEND_ONE, APPEND] {
            tx.prepare_cached(sql).await?;
        }
        Ok(())
    }

    /// Loads an aggregate inside a transaction the caller owns (reads do not assign the
    /// transaction id, so an [`Self::append_in`] may still follow).
    pub async fn load_in<A: Aggregate + Clone>(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        aggregate_id: &str,
    ) -> Result<StreamContext<A>, StoreError> {
        load_with(tx, aggregate_id).await
    }

    /// Appends to another stream in a transaction whose first write was an
    /// [`Self::append_in`]: one transaction id covers both streams, so readers of the log see
    /// them together and in order. Any other earlier write breaks the ordering rule.
    pub async fn append_also_in<A: Publish>(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        context: &StreamContext<A>,
        events: &[A::Event],
        metadata: &EventMetadata,
    ) -> Result<Appended, AppendError> {
        self.append_in_tx(tx, context, events, metadata, true).await
    }

    /// The ids of every stream of aggregate `A`, in order (for rebuilding read models).
    pub async fn stream_ids<A: Aggregate>(&self) -> Result<Vec<String>, StoreError> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(
                "SELECT DISTINCT aggregate_id FROM eventstore.event WHERE aggregate_type = $1 \
                 ORDER BY aggregate_id",
                &[&A::TYPE],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Reads one stream back in order, with ids, metadata and positions.
    pub async fn stream<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<RecordedEvent<A::Event>>, StoreError> {
        let client = self.inner.pool.get().await?;
        let statement = client.prepare_cached(LOAD_STREAM).await?;
        let rows = client.query(&statement, &[&A::TYPE, &aggregate_id]).await?;
        rows.iter()
            .map(|row| {
                let Json(payload): Json<A::Event> = row
                    .try_get("payload")
                    .map_err(|e| StoreError::Decode(e.to_string()))?;
                let Json(metadata): Json<EventMetadata> = row
                    .try_get("metadata")
                    .map_err(|e| StoreError::Decode(e.to_string()))?;
                let tx_id: String = row.get("tx_id_text");
                Ok(RecordedEvent {
                    sequence: row.get::<_, i64>("sequence") as usize,
                    event_id: row.get("event_id"),
                    event_type: row.get("event_type"),
                    event_version: row.get("event_version"),
                    payload,
                    metadata,
                    position: LogPosition::from_parts(&tx_id, row.get("global_position"))
                        .map_err(|e| StoreError::Decode(e.to_string()))?,
                    recorded_at: row.get("recorded_at"),
                })
            })
            .collect()
    }
}

/// Replays a stream into a fresh aggregate.
pub(crate) async fn load_with<A: Aggregate + Clone>(
    client: &impl GenericClient,
    aggregate_id: &str,
) -> Result<StreamContext<A>, StoreError> {
    let statement = client.prepare_cached(LOAD_PAYLOADS).await?;
    let rows = client.query(&statement, &[&A::TYPE, &aggregate_id]).await?;
    let mut aggregate = A::default();
    let mut current_sequence = 0;
    for row in rows {
        let Json(event): Json<A::Event> = row
            .try_get("payload")
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        aggregate.apply(event);
        current_sequence = row.get::<_, i64>("sequence") as usize;
    }
    Ok(StreamContext {
        aggregate_id: aggregate_id.to_owned(),
        loaded: aggregate.clone(),
        aggregate,
        current_sequence,
        connection: None,
    })
}

/// Brings streams of `A` up to date in one statement: each starts from a state the caller
/// knows at a sequence (`A::default()` at 0 for one it does not) and gets only the events
/// after it. A stream without events comes back new.
pub(crate) async fn load_many_with<A: Aggregate + Clone>(
    client: &impl GenericClient,
    known: Vec<(String, A, usize)>,
) -> Result<Vec<StreamContext<A>>, StoreError> {
    let ids: Vec<&str> = known.iter().map(|(id, _, _)| id.as_str()).collect();
    let after: Vec<i64> = known.iter().map(|(_, _, seq)| *seq as i64).collect();
    let statement = client.prepare_cached(LOAD_MANY).await?;
    let rows = client.query(&statement, &[&A::TYPE, &ids, &after]).await?;
    let mut streams: HashMap<&str, (A, usize)> = known
        .iter()
        .map(|(id, state, seq)| (id.as_str(), (state.clone(), *seq)))
        .collect();
    for row in rows {
        let id: &str = row.get("aggregate_id");
        let Json(event): Json<A::Event> = row
            .try_get("payload")
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        let Some((aggregate, sequence)) = streams.get_mut(id) else {
            continue;
        };
        aggregate.apply(event);
        *sequence = row.get::<_, i64>("sequence") as usize;
    }
    Ok(streams
        .into_iter()
        .map(|(id, (aggregate, sequence))| StreamContext::resume(id, aggregate, sequence))
        .collect())
}

fn envelope_metadata(
    metadata: &HashMap<String, String>,
    event_id: Uuid,
    recorded_at: DateTime<Utc>,
) -> HashMap<String, String> {
    let mut map = metadata.clone();
    map.insert("event_id".into(), event_id.to_string());
    map.insert("recorded_at".into(), recorded_at.to_rfc3339());
    map
}

impl<A: Publish> cqrs_es::EventStore<A> for PgEventStore {
    type AC = StreamContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let recorded = self.stream::<A>(aggregate_id).await.map_err(store_error)?;
        Ok(recorded
            .into_iter()
            .map(|event| {
                let mut metadata =
                    envelope_metadata(&event.metadata.to_map(), event.event_id, event.recorded_at);
                metadata.insert("global_position".into(), event.position.to_string());
                EventEnvelope {
                    aggregate_id: aggregate_id.to_owned(),
                    sequence: event.sequence,
                    payload: event.payload,
                    metadata,
                }
            })
            .collect())
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<StreamContext<A>, AggregateError<A::Error>> {
        if let Some((aggregate, current_sequence)) =
            self.inner.cache.get::<A>(A::TYPE, aggregate_id)
        {
            mark_loaded_from_cache();
            return Ok(StreamContext {
                aggregate_id: aggregate_id.to_owned(),
                loaded: aggregate.clone(),
                aggregate,
                current_sequence,
                connection: None,
            });
        }
        let client = self
            .inner
            .pool
            .get()
            .await
            .map_err(StoreError::from)
            .map_err(store_error)?;
        let mut context = load_with::<A>(&client, aggregate_id)
            .await
            .map_err(store_error)?;
        context.connection = Some(client);
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        mut context: StreamContext<A>,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let typed = EventMetadata::from_map(&metadata).map_err(AppendError::from)?;
        let client = match context.connection.take() {
            Some(client) => client,
            None => self.inner.pool.get().await.map_err(AppendError::from)?,
        };
        let appended = match append_with(&client, &context, &events, &typed, false).await {
            Ok((appended, state)) => {
                let cache = &self.inner.cache;
                cache.put(
                    A::TYPE,
                    &context.aggregate_id,
                    state,
                    appended.last_sequence,
                );
                appended
            }
            Err(error) => {
                self.inner.cache.evict(A::TYPE, &context.aggregate_id);
                return Err(error.into());
            }
        };
        drop(client);
        self.inner.notifier.signal();
        record_receipt(&appended);
        Ok(events
            .into_iter()
            .zip(&appended.event_ids)
            .enumerate()
            .map(|(offset, (payload, event_id))| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence: context.current_sequence + offset + 1,
                payload,
                metadata: envelope_metadata(&metadata, *event_id, appended.recorded_at),
            })
            .collect())
    }
}

fn store_error<T: std::error::Error>(error: StoreError) -> AggregateError<T> {
    match error {
        StoreError::Database(e) => AggregateError::DatabaseConnectionError(Box::new(e)),
        StoreError::Pool(e) => AggregateError::DatabaseConnectionError(Box::new(e)),
        StoreError::Decode(message) => AggregateError::DeserializationError(message.into()),
        other => AggregateError::UnexpectedError(Box::new(other)),
    }
}
