//! Errors of the event store outside cqrs-es's `AggregateError`.

use crate::metadata::MetadataError;

/// What can go wrong reading the logs, running subscriptions or migrating.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// PostgreSQL refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// No connection could be taken from the pool.
    #[error("connection pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A stored row could not be decoded.
    #[error("stored event could not be decoded: {0}")]
    Decode(String),
    /// Event metadata is missing or malformed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A key could not be unwrapped (another master key, or altered).
    #[error(transparent)]
    Key(#[from] secrets::KeyError),
    /// A schema migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
}
