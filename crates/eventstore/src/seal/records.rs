//! Events as a seal covers them: the stored row of either log, in canonical bytes.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use uuid::Uuid;

use super::merkle::{self, Hash};
use crate::error::StoreError;
use crate::position::LogPosition;

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

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

impl SealedEvent {
    pub(crate) fn from_row(log: Log, row: &Row) -> Result<Self, StoreError> {
        let decode = |e: tokio_postgres::Error| StoreError::Decode(e.to_string());
        let payload: Vec<u8> = row.try_get("payload").map_err(decode)?;
        Ok(SealedEvent {
            log,
            tx_id: row.try_get("tx_id_text").map_err(decode)?,
            global_position: row.try_get("global_position").map_err(decode)?,
            event_id: row.try_get("event_id").map_err(decode)?,
            aggregate_type: row.try_get("aggregate_type").map_err(decode)?,
            aggregate_id: row.try_get("aggregate_id").map_err(decode)?,
            sequence: row.try_get("sequence").map_err(decode)?,
            event_type: row.try_get("event_type").map_err(decode)?,
            event_version: row.try_get("event_version").map_err(decode)?,
            payload: STANDARD.encode(payload),
            metadata: row.try_get("metadata_text").map_err(decode)?,
            recorded_at: row.try_get("recorded_at").map_err(decode)?,
        })
    }

    /// Where it is in its log.
    pub fn position(&self) -> Result<LogPosition, String> {
        LogPosition::from_parts(&self.tx_id, self.global_position)
            .map_err(|_| format!("`{}` is not a transaction id", self.tx_id))
    }

    /// The bytes its leaf hashes: every field, each with its length, in a fixed order.
    pub fn canonical(&self) -> Result<Vec<u8>, String> {
        let payload = STANDARD
            .decode(&self.payload)
            .map_err(|_| "the payload is not base64".to_string())?;
        let position = self.position()?;
        let mut out = Vec::with_capacity(payload.len() + self.metadata.len() + 200);
        put(&mut out, b"heatline leaf v1");
        out.push(self.log.tag());
        out.extend_from_slice(&position.tx_id.to_be_bytes());
        out.extend_from_slice(&position.global_position.to_be_bytes());
        out.extend_from_slice(self.event_id.as_bytes());
        put(&mut out, self.aggregate_type.as_bytes());
        put(&mut out, self.aggregate_id.as_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        put(&mut out, self.event_type.as_bytes());
        put(&mut out, self.event_version.as_bytes());
        put(&mut out, &payload);
        put(&mut out, self.metadata.as_bytes());
        out.extend_from_slice(&self.recorded_at.timestamp_micros().to_be_bytes());
        Ok(out)
    }

    /// Its leaf hash.
    pub fn leaf_hash(&self) -> Result<Hash, String> {
        Ok(merkle::leaf_hash(&self.canonical()?))
    }

    /// Its leaf as a seal keeps it.
    pub(crate) fn leaf(&self) -> Result<super::Leaf, StoreError> {
        Ok(super::Leaf {
            log: self.log,
            position: self.position().map_err(StoreError::Decode)?,
            event_id: self.event_id,
            hash: self.leaf_hash().map_err(StoreError::Decode)?,
        })
    }
}
