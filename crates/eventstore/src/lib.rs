//! Heatline's event store: PostgreSQL behind cqrs-es.
//!
//! - [`PgEventStore`] implements `cqrs_es::EventStore` with per-stream optimistic concurrency
//!   (a lost race is `AggregateConflict`, never a silent drop) and no snapshots.
//! - Every event carries [`EventMetadata`] (actor, channel, correlation, causation, request).
//! - The integration events an aggregate [`Publish`]es are written to the public log in the same
//!   statement as its domain events.
//! - The public log is read in `(tx_id, global_position)` order below the oldest running
//!   transaction, so an event that commits late is never skipped.
//! - [`subscription`]s are durable, exactly-once for database projections, single-holder
//!   across processes, woken by LISTEN/NOTIFY and driven by polling.

#![warn(missing_docs)]

mod append;
mod batch;
mod cache;
mod checkpoint;
mod commands;
pub mod db;
mod error;
mod log;
pub mod metadata;
mod notify;
pub mod personal;
mod position;
pub mod seal;
pub mod selftest;
mod store;
pub mod subscription;
mod tail;
pub mod writes;

pub use commands::{Commands, CommitReceipt};
pub use db::{DbConfig, migrate};
pub use error::StoreError;
pub use log::{DecodeError, PublishedEvent};
pub use metadata::{Actor, Channel, EventMetadata};
pub use position::LogPosition;
pub use store::{
    AppendError, Appended, DEFAULT_CACHE_CAPACITY, IntegrationEvent, PgEventStore, Publish, Queued,
    RecordedEvent, StreamContext,
};
pub use subscription::{
    Batch, Handler, HandlerError, Partition, SubscriptionConfig, SubscriptionHandle,
    SubscriptionStatus,
};
pub use writes::{WriteError, Writes};
