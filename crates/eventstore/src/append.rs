//! Appending: the integration events an aggregate publishes, and the one statement that writes
//! a command's domain events and those integration events together.

use chrono::{DateTime, Utc};
use cqrs_es::{Aggregate, AggregateError, DomainEvent};
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::metadata::{EventMetadata, MetadataError};
use crate::position::LogPosition;
use crate::store::StreamContext;
use crate::writes::Param;

pub(crate) const APPEND: &str = include_str!("sql/append.sql");
pub(crate) const APPEND_ONE: &str = include_str!("sql/append_one.sql");

/// An integration event ready to be stored: a protobuf message from `proto/` and its type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationEvent {
    /// The message's full protobuf name, e.g. `heatline.selftest.v1.ProbeTicked`.
    pub message_type: String,
    /// The encoded message.
    pub payload: Vec<u8>,
}

impl IntegrationEvent {
    /// Encodes a generated message.
    pub fn encode<M: prost::Message + prost::Name>(message: &M) -> Self {
        IntegrationEvent {
            message_type: M::full_name(),
            payload: message.encode_to_vec(),
        }
    }
}

/// An aggregate stored by [`PgEventStore`]: it says which integration events each of its domain
/// events publishes (often none).
pub trait Publish: Aggregate + Clone + 'static {
    /// The integration events that `event` publishes, given the aggregate's state right after
    /// `event` was applied. Called once per new event, before anything is written.
    fn publish(&self, aggregate_id: &str, event: &Self::Event) -> Vec<IntegrationEvent>;
}

/// Why an append was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to the stream first (per-stream optimistic concurrency).
    #[error("the stream was changed by another writer")]
    Conflict,
    /// The metadata of the command is incomplete.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The transaction had already written something before the append.
    #[error("an append must be the first write of its transaction")]
    NotFirstWrite,
    /// PostgreSQL answered something the store cannot read.
    #[error("unexpected answer from the database: {0}")]
    Unexpected(String),
    /// PostgreSQL failed.
    #[error("database error: {0}")]
    Database(tokio_postgres::Error),
    /// No connection could be had.
    #[error("connection pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl From<tokio_postgres::Error> for AppendError {
    fn from(error: tokio_postgres::Error) -> Self {
        let conflict = error.as_db_error().is_some_and(|db| {
            db.code() == &SqlState::UNIQUE_VIOLATION && db.constraint() == Some("event_pkey")
        });
        if conflict {
            AppendError::Conflict
        } else {
            AppendError::Database(error)
        }
    }
}

/// Queued writes that failed ([`crate::Writes::send`]): a statement that had to answer a row
/// is an append's own check that it came first in its transaction.
impl From<crate::writes::WriteError> for AppendError {
    fn from(error: crate::writes::WriteError) -> Self {
        match error {
            crate::writes::WriteError::Db(error) => AppendError::from(error),
            crate::writes::WriteError::NoRow(_) => AppendError::NotFirstWrite,
        }
    }
}

impl<T: std::error::Error> From<AppendError> for AggregateError<T> {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict => AggregateError::AggregateConflict,
            AppendError::Database(e) => AggregateError::DatabaseConnectionError(Box::new(e)),
            AppendError::Pool(e) => AggregateError::DatabaseConnectionError(Box::new(e)),
            other => AggregateError::UnexpectedError(Box::new(other)),
        }
    }
}

/// What an append wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The stream's sequence number of the last event appended.
    pub last_sequence: usize,
    /// The ids given to the domain events, in order.
    pub event_ids: Vec<Uuid>,
    /// The position of the last domain event in the domain log.
    pub last_event: LogPosition,
    /// The position of the last integration event in the public log, if any was published.
    pub last_published: Option<LogPosition>,
    /// When the events were recorded.
    pub recorded_at: DateTime<Utc>,
}

/// What an append writes, worked out before the statement: each event's sequence and id, the
/// integration events it publishes, and the state after the last.
struct Prepared<A> {
    state: A,
    sequences: Vec<i64>,
    event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    versions: Vec<String>,
    pub_ids: Vec<Uuid>,
    pub_types: Vec<String>,
    pub_payloads: Vec<Vec<u8>>,
    pub_sequences: Vec<i64>,
    pub_causes: Vec<EventMetadata>,
}

fn prepare<A: Publish>(
    context: &StreamContext<A>,
    events: &[A::Event],
    metadata: &EventMetadata,
) -> Prepared<A> {
    let mut prepared = Prepared {
        state: context.loaded.clone(),
        sequences: Vec::with_capacity(events.len()),
        event_ids: Vec::with_capacity(events.len()),
        event_types: Vec::with_capacity(events.len()),
        versions: Vec::with_capacity(events.len()),
        pub_ids: Vec::new(),
        pub_types: Vec::new(),
        pub_payloads: Vec::new(),
        pub_sequences: Vec::new(),
        pub_causes: Vec::new(),
    };
    for (offset, event) in events.iter().enumerate() {
        let sequence = (context.current_sequence + offset + 1) as i64;
        let event_id = Uuid::now_v7();
        prepared.sequences.push(sequence);
        prepared.event_ids.push(event_id);
        prepared.event_types.push(event.event_type());
        prepared.versions.push(event.event_version());
        prepared.state.apply(event.clone());
        for integration in prepared.state.publish(&context.aggregate_id, event) {
            prepared.pub_ids.push(Uuid::now_v7());
            prepared.pub_types.push(integration.message_type);
            prepared.pub_payloads.push(integration.payload);
            prepared.pub_sequences.push(sequence);
            prepared
                .pub_causes
                .push(metadata.clone().caused_by(event_id));
        }
    }
    prepared
}

/// An append as one statement with owned parameters, to be sent later with others
/// ([`crate::Writes`]). The statement answers one row, or none when an earlier write of the
/// transaction came first.
pub(crate) struct AppendStatement<A> {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param>,
    /// The stream's state after the events.
    pub(crate) state: A,
    /// The events' ids, in order.
    pub(crate) event_ids: Vec<Uuid>,
}

pub(crate) fn append_statement<A: Publish>(
    context: &StreamContext<A>,
    events: &[A::Event],
    metadata: &EventMetadata,
    after_append: bool,
) -> AppendStatement<A> {
    let prepared = prepare(context, events, metadata);
    let event_ids = prepared.event_ids.clone();
    let payloads: Vec<Json<A::Event>> = events.iter().cloned().map(Json).collect();
    let metas = vec![Json(metadata.clone()); events.len()];
    let pub_metas: Vec<Json<EventMetadata>> = prepared.pub_causes.into_iter().map(Json).collect();
    let mut params: Vec<Param> = vec![
        Box::new(A::TYPE.to_owned()),
        Box::new(context.aggregate_id.clone()),
    ];
    if events.len() == 1 && prepared.pub_ids.len() <= 1 {
        params.extend::<[Param; 11]>([
            Box::new(prepared.sequences[0]),
            Box::new(prepared.event_ids[0]),
            Box::new(prepared.event_types[0].clone()),
            Box::new(prepared.versions[0].clone()),
            Box::new(payloads.into_iter().next()),
            Box::new(metas.into_iter().next()),
            Box::new(prepared.pub_ids.first().copied()),
            Box::new(prepared.pub_types.into_iter().next()),
            Box::new(prepared.pub_payloads.into_iter().next()),
            Box::new(pub_metas.into_iter().next()),
            Box::new(after_append),
        ]);
        AppendStatement {
            sql: APPEND_ONE,
            params,
            state: prepared.state,
            event_ids,
        }
    } else {
        params.extend::<[Param; 12]>([
            Box::new(prepared.sequences),
            Box::new(prepared.event_ids),
            Box::new(prepared.event_types),
            Box::new(prepared.versions),
            Box::new(payloads),
            Box::new(metas),
            Box::new(prepared.pub_ids),
            Box::new(prepared.pub_types),
            Box::new(prepared.pub_payloads),
            Box::new(prepared.pub_sequences),
            Box::new(pub_metas),
            Box::new(after_append),
        ]);
        AppendStatement {
            sql: APPEND,
            params,
            state: prepared.state,
            event_ids,
        }
    }
}

/// Writes `events` after `context.current_sequence` in one statement, with the integration
/// events they publish.
pub(crate) async fn append_with<A: Publish>(
    client: &impl GenericClient,
    context: &StreamContext<A>,
    events: &[A::Event],
    metadata: &EventMetadata,
    after_append: bool,
) -> Result<(Appended, A), AppendError> {
    // Serialised straight into the statement's parameters (no intermediate JSON values).
    let payloads: Vec<Json<&A::Event>> = events.iter().map(Json).collect();
    let metas = vec![Json(metadata); events.len()];
    let Prepared {
        state,
        sequences,
        event_ids,
        event_types,
        versions,
        pub_ids,
        pub_types,
        pub_payloads,
        pub_sequences,
        pub_causes,
    } = prepare(context, events, metadata);
    let pub_metas: Vec<Json<&EventMetadata>> = pub_causes.iter().map(Json).collect();
    let row = if events.len() == 1 && pub_ids.len() <= 1 {
        let statement = client.prepare_cached(APPEND_ONE).await?;
        client
            .query_opt(
                &statement,
                &[
                    &A::TYPE,
                    &context.aggregate_id,
                    &sequences[0],
                    &event_ids[0],
                    &event_types[0],
                    &versions[0],
                    &payloads[0],
                    &metas[0],
                    &pub_ids.first(),
                    &pub_types.first(),
                    &pub_payloads.first(),
                    &pub_metas.first(),
                    &after_append,
                ],
            )
            .await?
    } else {
        let statement = client.prepare_cached(APPEND).await?;
        client
            .query_opt(
                &statement,
                &[
                    &A::TYPE,
                    &context.aggregate_id,
                    &sequences,
                    &event_ids,
                    &event_types,
                    &versions,
                    &payloads,
                    &metas,
                    &pub_ids,
                    &pub_types,
                    &pub_payloads,
                    &pub_sequences,
                    &pub_metas,
                    &after_append,
                ],
            )
            .await?
    };
    // No row: the check in the statement found an earlier write in the transaction.
    let row = row.ok_or(AppendError::NotFirstWrite)?;
    let tx_id: String = row.get("tx_id_text");
    let position = |global: i64| {
        LogPosition::from_parts(&tx_id, global)
            .map_err(|e| AppendError::Unexpected(format!("transaction id {tx_id:?}: {e}")))
    };
    let last_event = position(row.get("last_position"))?;
    let last_published = row
        .get::<_, Option<i64>>("last_published")
        .map(position)
        .transpose()?;
    let appended = Appended {
        last_sequence: context.current_sequence + events.len(),
        event_ids,
        last_event,
        last_published,
        recorded_at: row.get("recorded_at"),
    };
    Ok((appended, state))
}
