//! Events as a seal covers them: the stored row of either log, in canonical bytes.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use uuid::Uuid;

use super::merkle::Hash;
use crate::error::StoreError;
use crate::position::LogPosition;
use sha2::{Digest, Sha256};

/// Which of the two logs an event is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Log {
    /// The services' private streams (`eventstore.event`).
    Events,
    /// The public log of integration events (`eventstore.published_event`).
    Published,
}

impl Log {
    pub(crate) fn tag(self) -> u8 {
        match self {
            Log::Events => 0,
            Log::Published => 1,
        }
    }

    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0 => Some(Log::Events),
            1 => Some(Log::Published),
            _ => None,
        }
    }

    /// Its events in order after `$1/$2`, below the horizon, at most `$3`.
    pub(crate) fn read_pending(self) -> &'static str {
        match self {
            Log::Events => include_str!("../sql/seal_events_pending.sql"),
            Log::Published => include_str!("../sql/seal_published_pending.sql"),
        }
    }

    /// Its events in order after `$1/$2` through `$3/$4`.
    pub(crate) fn read_range(self) -> &'static str {
        match self {
            Log::Events => include_str!("../sql/seal_events_range.sql"),
            Log::Published => include_str!("../sql/seal_published_range.sql"),
        }
    }

    /// The one event with id `$1`.
    pub(crate) fn read_one(self) -> &'static str {
        match self {
            Log::Events => include_str!("../sql/seal_events_one.sql"),
            Log::Published => include_str!("../sql/seal_published_one.sql"),
        }
    }
}

impl fmt::Display for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Log::Events => "domain",
            Log::Published => "published",
        })
    }
}

/// One event exactly as stored: what its leaf hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SealedEvent {
    /// Its log.
    pub log: Log,
    /// The writing transaction's id (`xid8`), as text.
    pub tx_id: String,
    /// Its position in its log.
    pub global_position: i64,
    /// Its id.
    pub event_id: Uuid,
    /// The stream's aggregate type (for a published event: the one whose event published it).
    pub aggregate_type: String,
    /// The stream's id.
    pub aggregate_id: String,
    /// Its sequence in the stream.
    pub sequence: i64,
    /// The domain event's type, or the published message's full protobuf name.
    pub event_type: String,
    /// The domain event's version (empty for a published event).
    pub event_version: String,
    /// The stored payload in base64: a domain event's JSON text, a published event's protobuf.
    pub payload: String,
    /// The stored metadata's JSON text.
    pub metadata: String,
    /// When it was recorded (microseconds).
    pub recorded_at: DateTime<Utc>,
}

/// An event's fields as its leaf hashes them, borrowed from wherever they are.
struct Fields<'a> {
    log: Log,
    position: LogPosition,
    event_id: Uuid,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    sequence: i64,
    event_type: &'a str,
    event_version: &'a str,
    payload: &'a [u8],
    metadata: &'a str,
    recorded_at: DateTime<Utc>,
}

impl Fields<'_> {
    /// SHA-256 of a zero byte (a leaf, not a node) and every field, each string with its
    /// length, in a fixed order: the bytes are fed as they are, never copied together.
    fn leaf_hash(&self) -> Hash {
        fn put(hasher: &mut Sha256, bytes: &[u8]) {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
        let mut h = Sha256::new();
        h.update([0u8]);
        put(&mut h, b"heatline leaf v1");
        h.update([self.log.tag()]);
        h.update(self.position.tx_id.to_be_bytes());
        h.update(self.position.global_position.to_be_bytes());
        h.update(self.event_id.as_bytes());
        put(&mut h, self.aggregate_type.as_bytes());
        put(&mut h, self.aggregate_id.as_bytes());
        h.update(self.sequence.to_be_bytes());
        put(&mut h, self.event_type.as_bytes());
        put(&mut h, self.event_version.as_bytes());
        put(&mut h, self.payload);
        put(&mut h, self.metadata.as_bytes());
        h.update(self.recorded_at.timestamp_micros().to_be_bytes());
        h.finalize().into()
    }
}

impl<'a> Fields<'a> {
    /// The fields of a row read by one of [`Log`]'s statements.
    fn of_row(log: Log, row: &'a Row) -> Result<Self, StoreError> {
        let decode = |e: tokio_postgres::Error| StoreError::Decode(e.to_string());
        let tx_id: &str = row.try_get("tx_id_text").map_err(decode)?;
        Ok(Fields {
            log,
            position: LogPosition::from_parts(
                tx_id,
                row.try_get("global_position").map_err(decode)?,
            )
            .map_err(|e| StoreError::Decode(e.to_string()))?,
            event_id: row.try_get("event_id").map_err(decode)?,
            aggregate_type: row.try_get("aggregate_type").map_err(decode)?,
            aggregate_id: row.try_get("aggregate_id").map_err(decode)?,
            sequence: row.try_get("sequence").map_err(decode)?,
            event_type: row.try_get("event_type").map_err(decode)?,
            event_version: row.try_get("event_version").map_err(decode)?,
            payload: row.try_get("payload").map_err(decode)?,
            metadata: row.try_get("metadata_text").map_err(decode)?,
            recorded_at: row.try_get("recorded_at").map_err(decode)?,
        })
    }
}

/// The leaf of a row read by one of [`Log`]'s statements.
pub(crate) fn leaf_of_row(log: Log, row: &Row) -> Result<super::Leaf, StoreError> {
    let fields = Fields::of_row(log, row)?;
    Ok(super::Leaf {
        log,
        position: fields.position,
        event_id: fields.event_id,
        hash: fields.leaf_hash(),
    })
}

/// The leaves of rows, hashed on a blocking thread: hashing a batch takes milliseconds of CPU
/// that the async workers (serving requests beside the sealer) should not wait for.
pub(crate) async fn leaves_of_rows(
    log: Log,
    rows: Vec<Row>,
) -> Result<Vec<super::Leaf>, StoreError> {
    tokio::task::spawn_blocking(move || rows.iter().map(|row| leaf_of_row(log, row)).collect())
        .await
        .map_err(|e| StoreError::Decode(format!("hashing leaves failed: {e}")))?
}

impl SealedEvent {
    pub(crate) fn from_row(log: Log, row: &Row) -> Result<Self, StoreError> {
        let f = Fields::of_row(log, row)?;
        Ok(SealedEvent {
            log,
            tx_id: f.position.tx_id_text(),
            global_position: f.position.global_position,
            event_id: f.event_id,
            aggregate_type: f.aggregate_type.to_owned(),
            aggregate_id: f.aggregate_id.to_owned(),
            sequence: f.sequence,
            event_type: f.event_type.to_owned(),
            event_version: f.event_version.to_owned(),
            payload: STANDARD.encode(f.payload),
            metadata: f.metadata.to_owned(),
            recorded_at: f.recorded_at,
        })
    }

    /// Where it is in its log.
    pub fn position(&self) -> Result<LogPosition, String> {
        LogPosition::from_parts(&self.tx_id, self.global_position)
            .map_err(|_| format!("`{}` is not a transaction id", self.tx_id))
    }

    /// Its leaf hash: of every field, each string with its length, in a fixed order.
    pub fn leaf_hash(&self) -> Result<Hash, String> {
        let payload = STANDARD
            .decode(&self.payload)
            .map_err(|_| "the payload is not base64".to_string())?;
        Ok(Fields {
            log: self.log,
            position: self.position()?,
            event_id: self.event_id,
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
            event_version: &self.event_version,
            payload: &payload,
            metadata: &self.metadata,
            recorded_at: self.recorded_at,
        }
        .leaf_hash())
    }
}
