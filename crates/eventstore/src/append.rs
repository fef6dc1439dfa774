//! Appending: the integration events an aggregate publishes, and the one statement that writes
//! a command's domain events and those integration events together.

use bytes::BufMut;
use chrono::{DateTime, Utc};
use cqrs_es::{Aggregate, AggregateError, DomainEvent};
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
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

/// JSON serialized ahead of its statement, sent as `jsonb`. A value that could not be
/// serialized fails the statement that carries it, as `Json` would.
#[derive(Debug, Clone)]
pub(crate) struct JsonText(Result<String, String>);

impl JsonText {
    fn of<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        JsonText(serde_json::to_string(value).map_err(|e| e.to_string()))
    }
}

impl ToSql for JsonText {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let text = self.0.as_ref().map_err(|e| e.clone())?;
        // jsonb's binary form: format version 1, then the text.
        out.put_u8(1);
        out.put_slice(text.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }

    to_sql_checked!();
}

/// The rows of one append, or of several merged ([`Self::merge`]): each domain event with its
/// stream, and each integration event with the stream of the event that caused it.
#[derive(Debug)]
pub(crate) struct AppendRows {
    aggregate_types: Vec<&'static str>,
    aggregate_ids: Vec<String>,
    sequences: Vec<i64>,
    pub(crate) event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    versions: Vec<String>,
    payloads: Vec<JsonText>,
    metadata: Vec<JsonText>,
    pub_ids: Vec<Uuid>,
    pub_types: Vec<String>,
    pub_payloads: Vec<Vec<u8>>,
    pub_aggregate_types: Vec<&'static str>,
    pub_aggregate_ids: Vec<String>,
    pub_sequences: Vec<i64>,
    pub_metadata: Vec<JsonText>,
    /// Whether the statement may follow an earlier append of its transaction (else it must
    /// be the transaction's first write).
    after_append: bool,
}

impl AppendRows {
    /// Takes `later`'s rows after these, in one statement: each stream's events keep their
    /// order, and all of `later`'s come after all of these in the log. The check that the
    /// append comes first in its transaction stays this one's.
    pub(crate) fn merge(&mut self, later: AppendRows) {
        let AppendRows {
            aggregate_types,
            aggregate_ids,
            sequences,
            event_ids,
            event_types,
            versions,
            payloads,
            metadata,
            pub_ids,
            pub_types,
            pub_payloads,
            pub_aggregate_types,
            pub_aggregate_ids,
            pub_sequences,
            pub_metadata,
            after_append: _,
        } = later;
        self.aggregate_types.extend(aggregate_types);
        self.aggregate_ids.extend(aggregate_ids);
        self.sequences.extend(sequences);
        self.event_ids.extend(event_ids);
        self.event_types.extend(event_types);
        self.versions.extend(versions);
        self.payloads.extend(payloads);
        self.metadata.extend(metadata);
        self.pub_ids.extend(pub_ids);
        self.pub_types.extend(pub_types);
        self.pub_payloads.extend(pub_payloads);
        self.pub_aggregate_types.extend(pub_aggregate_types);
        self.pub_aggregate_ids.extend(pub_aggregate_ids);
        self.pub_sequences.extend(pub_sequences);
        self.pub_metadata.extend(pub_metadata);
    }

    /// The statement and its parameters: single-row inserts for one event publishing at most
    /// one (the common case, cheaper for PostgreSQL), arrays otherwise.
    pub(crate) fn statement(self) -> (&'static str, Vec<Param>) {
        if self.event_ids.len() == 1 && self.pub_ids.len() <= 1 {
            let first = |v: Vec<String>| v.into_iter().next();
            let params: Vec<Param> = vec![
                Box::new(self.aggregate_types[0]),
                Box::new(first(self.aggregate_ids)),
                Box::new(self.sequences[0]),
                Box::new(self.event_ids[0]),
                Box::new(first(self.event_types)),
                Box::new(first(self.versions)),
                Box::new(self.payloads.into_iter().next()),
                Box::new(self.metadata.into_iter().next()),
                Box::new(self.pub_ids.first().copied()),
                Box::new(first(self.pub_types)),
                Box::new(self.pub_payloads.into_iter().next()),
                Box::new(self.pub_metadata.into_iter().next()),
                Box::new(self.after_append),
            ];
            return (APPEND_ONE, params);
        }
        let params: Vec<Param> = vec![
            Box::new(self.aggregate_types),
            Box::new(self.aggregate_ids),
            Box::new(self.sequences),
            Box::new(self.event_ids),
            Box::new(self.event_types),
            Box::new(self.versions),
            Box::new(self.payloads),
            Box::new(self.metadata),
            Box::new(self.pub_ids),
            Box::new(self.pub_types),
            Box::new(self.pub_payloads),
            Box::new(self.pub_aggregate_types),
            Box::new(self.pub_aggregate_ids),
            Box::new(self.pub_sequences),
            Box::new(self.pub_metadata),
            Box::new(self.after_append),
        ];
        (APPEND, params)
    }
}

/// What an append writes, worked out before the statement: each event's sequence and id, the
/// integration events it publishes, and the state after the last.
pub(crate) struct Prepared<A> {
    pub(crate) rows: AppendRows,
    /// The stream's state after the events.
    pub(crate) state: A,
}

pub(crate) fn prepare<A: Publish>(
    context: &StreamContext<A>,
    events: &[A::Event],
    metadata: &EventMetadata,
    after_append: bool,
) -> Prepared<A> {
    let meta = JsonText::of(metadata);
    let mut state = context.loaded.clone();
    let mut rows = AppendRows {
        aggregate_types: vec![A::TYPE; events.len()],
        aggregate_ids: vec![context.aggregate_id.clone(); events.len()],
        sequences: Vec::with_capacity(events.len()),
        event_ids: Vec::with_capacity(events.len()),
        event_types: Vec::with_capacity(events.len()),
        versions: Vec::with_capacity(events.len()),
        payloads: Vec::with_capacity(events.len()),
        metadata: vec![meta; events.len()],
        pub_ids: Vec::new(),
        pub_types: Vec::new(),
        pub_payloads: Vec::new(),
        pub_aggregate_types: Vec::new(),
        pub_aggregate_ids: Vec::new(),
        pub_sequences: Vec::new(),
        pub_metadata: Vec::new(),
        after_append,
    };
    for (offset, event) in events.iter().enumerate() {
        let sequence = (context.current_sequence + offset + 1) as i64;
        let event_id = Uuid::now_v7();
        rows.sequences.push(sequence);
        rows.event_ids.push(event_id);
        rows.event_types.push(event.event_type());
        rows.versions.push(event.event_version());
        rows.payloads.push(JsonText::of(event));
        state.apply(event.clone());
        for integration in state.publish(&context.aggregate_id, event) {
            rows.pub_ids.push(Uuid::now_v7());
            rows.pub_types.push(integration.message_type);
            rows.pub_payloads.push(integration.payload);
            rows.pub_aggregate_types.push(A::TYPE);
            rows.pub_aggregate_ids.push(context.aggregate_id.clone());
            rows.pub_sequences.push(sequence);
            rows.pub_metadata
                .push(JsonText::of(&metadata.clone().caused_by(event_id)));
        }
    }
    Prepared { rows, state }
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
    let Prepared { rows, state } = prepare(context, events, metadata, after_append);
    let event_ids = rows.event_ids.clone();
    let (sql, params) = rows.statement();
    let statement = client.prepare_cached(sql).await?;
    let params: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    // No row: the check in the statement found an earlier write in the transaction.
    let row = client
        .query_opt(&statement, &params)
        .await?
        .ok_or(AppendError::NotFirstWrite)?;
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
