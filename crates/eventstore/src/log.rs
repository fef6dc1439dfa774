//! Reading the public log of integration events in global order, never skipping one.

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::error::StoreError;
use crate::metadata::EventMetadata;
use crate::position::LogPosition;
use crate::store::PgEventStore;

pub(crate) const READ_PUBLISHED: &str = include_str!("sql/read_published.sql");
/// The subscriptions' read (migration V4 defines the function and why it plans as it does).
const READ_LOG: &str = "SELECT * FROM eventstore.read_log($1::text::xid8, $2, $3, $4, $5, $6)";
pub(crate) const PUBLISHED_PENDING: &str = include_str!("sql/published_pending.sql");
const PUBLISHED_HEAD: &str = include_str!("sql/published_head.sql");

/// An integration event as read from the public log.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    /// Its place in the public log's order.
    pub position: LogPosition,
    /// Its own id (consumers de-duplicate outside effects by it).
    pub event_id: Uuid,
    /// The full protobuf name of the message.
    pub message_type: String,
    /// The encoded message.
    pub payload: Vec<u8>,
    /// The aggregate whose domain event published it.
    pub aggregate_type: String,
    /// The id of that aggregate.
    pub aggregate_id: String,
    /// The sequence number of that domain event in its stream.
    pub sequence: i64,
    /// Who, through what, and why; `causation_id` is the domain event's id.
    pub metadata: EventMetadata,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A published event whose bytes do not hold the message asked for.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The event is another message type.
    #[error("event {event_id} is a {actual}, not a {expected}")]
    WrongType {
        /// The event.
        event_id: Uuid,
        /// The stored type.
        actual: String,
        /// The type asked for.
        expected: String,
    },
    /// The bytes are not a valid message.
    #[error("event {event_id} does not decode: {source}")]
    Malformed {
        /// The event.
        event_id: Uuid,
        /// What prost said.
        source: prost::DecodeError,
    },
}

impl PublishedEvent {
    /// Whether this event is a `M`.
    pub fn is<M: prost::Name>(&self) -> bool {
        self.message_type == M::full_name()
    }

    /// Decodes the message, checking its type first.
    pub fn decode<M: prost::Message + prost::Name + Default>(&self) -> Result<M, DecodeError> {
        if !self.is::<M>() {
            return Err(DecodeError::WrongType {
                event_id: self.event_id,
                actual: self.message_type.clone(),
                expected: M::full_name(),
            });
        }
        M::decode(self.payload.as_slice()).map_err(|source| DecodeError::Malformed {
            event_id: self.event_id,
            source,
        })
    }

    fn from_row(row: &Row) -> Result<Self, StoreError> {
        let decode = |e: tokio_postgres::Error| StoreError::Decode(e.to_string());
        let Json(metadata): Json<EventMetadata> = row.try_get("metadata").map_err(decode)?;
        Ok(PublishedEvent {
            position: position_of(row)?,
            event_id: row.try_get("event_id").map_err(decode)?,
            message_type: row.try_get("message_type").map_err(decode)?,
            payload: row.try_get("payload").map_err(decode)?,
            aggregate_type: row.try_get("aggregate_type").map_err(decode)?,
            aggregate_id: row.try_get("aggregate_id").map_err(decode)?,
            sequence: row.try_get("sequence").map_err(decode)?,
            metadata,
            recorded_at: row.try_get("recorded_at").map_err(decode)?,
        })
    }
}

/// The log position of a row read from the log (`tx_id_text`, `global_position`).
fn position_of(row: &Row) -> Result<LogPosition, StoreError> {
    let decode = |e: tokio_postgres::Error| StoreError::Decode(e.to_string());
    let tx_id: String = row.try_get("tx_id_text").map_err(decode)?;
    LogPosition::from_parts(&tx_id, row.try_get("global_position").map_err(decode)?)
        .map_err(|e| StoreError::Decode(e.to_string()))
}

/// What a subscription's read passed over: the events it wants, where the read ended, and
/// how many events it passed (wanted or not).
pub(crate) struct Scanned {
    pub(crate) events: Vec<PublishedEvent>,
    pub(crate) last: Option<LogPosition>,
    pub(crate) count: usize,
}

/// A subscription's read: up to `limit` events after `after` (of one partition (index,
/// count), if given), of which only those of the message types `wanted` names (all when
/// `None`) are read whole (`eventstore.read_log`).
pub(crate) async fn read_log_with(
    client: &ClientWrapper,
    after: LogPosition,
    limit: i64,
    wanted: Option<&[String]>,
    partition: Option<(u32, u32)>,
) -> Result<Scanned, StoreError> {
    let statement = client.prepare_cached(READ_LOG).await?;
    let (count, index) = match partition {
        Some((index, count)) => (Some(i64::from(count)), Some(i64::from(index))),
        None => (None, None),
    };
    let rows = client
        .query(
            &statement,
            &[
                &after.tx_id_text(),
                &after.global_position,
                &limit,
                &wanted,
                &count,
                &index,
            ],
        )
        .await?;
    let mut events = Vec::new();
    let mut last = None;
    for row in &rows {
        if row
            .try_get::<_, bool>("wanted")
            .map_err(|e| StoreError::Decode(e.to_string()))?
        {
            let event = PublishedEvent::from_row(row)?;
            last = Some(event.position);
            events.push(event);
        } else {
            last = Some(position_of(row)?);
        }
    }
    Ok(Scanned {
        events,
        last,
        count: rows.len(),
    })
}

/// Reads up to `limit` published events after `after`, below the horizon of running
/// transactions, in global order.
pub(crate) async fn read_published_with(
    client: &ClientWrapper,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<PublishedEvent>, StoreError> {
    let statement = client.prepare_cached(READ_PUBLISHED).await?;
    let rows = client
        .query(
            &statement,
            &[&after.tx_id_text(), &after.global_position, &limit],
        )
        .await?;
    rows.iter().map(PublishedEvent::from_row).collect()
}

/// Whether committed events after `after` are being held back by an older running transaction.
pub(crate) async fn pending_beyond_horizon(
    client: &ClientWrapper,
    after: LogPosition,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(PUBLISHED_PENDING).await?;
    let row = client
        .query_opt(&statement, &[&after.tx_id_text(), &after.global_position])
        .await?;
    Ok(row.is_some())
}

impl PgEventStore {
    /// Reads up to `limit` events of the public log after `after`, in global order. An event
    /// whose transaction is still running, or that committed after an older one that is still
    /// running, is not returned yet: it will be, after the returned ones, on a later read.
    pub async fn read_published(
        &self,
        after: LogPosition,
        limit: i64,
    ) -> Result<Vec<PublishedEvent>, StoreError> {
        let client = self.pool().get().await?;
        read_published_with(&client, after, limit).await
    }

    /// Where the published event `event_id` stands in the log, if it is there.
    pub async fn published_position(
        &self,
        event_id: Uuid,
    ) -> Result<Option<LogPosition>, StoreError> {
        let client = self.pool().get().await?;
        let row = client
            .query_opt(
                "SELECT tx_id::text, global_position FROM eventstore.published_event
                 WHERE event_id = $1",
                &[&event_id],
            )
            .await?;
        row.map(|row| {
            LogPosition::from_parts(row.get(0), row.get(1))
                .map_err(|e| StoreError::Decode(e.to_string()))
        })
        .transpose()
    }

    /// The position of the newest committed event of the public log ([`LogPosition::START`]
    /// when it is empty). A subscription whose checkpoint has reached it is caught up.
    pub async fn published_head(&self) -> Result<LogPosition, StoreError> {
        let client = self.pool().get().await?;
        let statement = client.prepare_cached(PUBLISHED_HEAD).await?;
        match client.query_opt(&statement, &[]).await? {
            Some(row) => LogPosition::from_parts(row.get(0), row.get(1))
                .map_err(|e| StoreError::Decode(e.to_string())),
            None => Ok(LogPosition::START),
        }
    }
}
