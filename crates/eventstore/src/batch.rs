//! The transaction of one subscription batch, handed to its handler: loads that remember
//! what the batch (and the runner's committed batches) read and appended, appends now or
//! queued, and rows queued to go out together.

use std::any::Any;
use std::collections::HashMap;

use crate::error::StoreError;
use crate::metadata::EventMetadata;
use crate::position::LogPosition;
use crate::store::{AppendError, Appended, PgEventStore, Publish, StreamContext, load_many_with};
use crate::writes::{Param, Writes};

/// The transaction of one batch, handed to a [`Handler`](crate::Handler).
pub struct Batch<'a> {
    pub(crate) tx: deadpool_postgres::Transaction<'a>,
    pub(crate) store: &'a PgEventStore,
    pub(crate) appended: bool,
    pub(crate) after: LogPosition,
    /// Streams loaded or appended to in this batch, as of this transaction: a stream that
    /// several events of the batch touch (an incident's ticket, a supplier's ledger) is read
    /// once. Another writer's append meanwhile still makes this batch's append fail as a
    /// conflict.
    pub(crate) streams: std::sync::Mutex<Streams>,
    /// Streams as committed batches of this runner left them: a later batch reads only the
    /// events after (a long stream, an incident's ticket, is not read again whole). Updated
    /// from `streams` after a commit only.
    pub(crate) committed: &'a std::sync::Mutex<Streams>,
    /// Appends and rows queued to go out together ([`Batch::append_queued`],
    /// [`Batch::queue`]), sent by [`Batch::flush`], before any immediate append, and before
    /// the checkpoint moves.
    pub(crate) queued: Writes,
}

pub(crate) type Streams = HashMap<(&'static str, String), Box<dyn Any + Send>>;

impl<'a> Batch<'a> {
    /// The batch's transaction, for projection writes. Statements queued with
    /// [`Self::append_queued`] or [`Self::queue`] are not sent yet: [`Self::flush`] first when
    /// what follows depends on them.
    pub fn tx(&self) -> &deadpool_postgres::Transaction<'a> {
        &self.tx
    }

    /// Queues a statement after the ones queued already; it goes out with them.
    pub fn queue(&mut self, sql: &'static str, params: Vec<Param>) {
        self.queued.push(sql, params);
    }

    /// Queues `writes`' statements after the ones queued already.
    pub fn queue_all(&mut self, mut writes: Writes) {
        self.queued.append(&mut writes);
    }

    /// Sends what is queued, in order, and waits for it. A queued append that lost a race
    /// fails as [`AppendError::Conflict`].
    pub async fn flush(&mut self) -> Result<(), AppendError> {
        self.queued.send(&self.tx).await?;
        Ok(())
    }

    /// Queues an append (see [`Self::append`]) instead of waiting for it: the stream's new
    /// state and sequence are known at once (the batch remembers them), and the statement goes
    /// out with the next [`Self::flush`]. A conflict with another writer fails the flush, and
    /// with it the batch. Returns the sequence of the last event.
    pub fn append_queued<A: Publish>(
        &mut self,
        context: &StreamContext<A>,
        events: &[A::Event],
        metadata: &EventMetadata,
    ) -> usize {
        let prepared = crate::append::prepare(context, events, metadata, self.appended);
        let state = prepared.state;
        self.queued.push_append(prepared.rows);
        self.appended = true;
        let last = context.current_sequence() + events.len();
        self.remember(context.aggregate_id(), state, last);
        last
    }

    /// The checkpoint the batch started from: its events all come after it. A handler that
    /// keeps state in memory checks it against what it has applied.
    pub fn after(&self) -> LogPosition {
        self.after
    }

    /// Loads an aggregate inside the batch's transaction (from the batch's memory when this
    /// batch already loaded or appended to it; else what committed batches left, and the
    /// events after it).
    pub async fn load<A: Publish>(
        &self,
        aggregate_id: &str,
    ) -> Result<StreamContext<A>, StoreError> {
        if let Some(known) = self.known::<A>(aggregate_id) {
            return Ok(known);
        }
        self.preload::<A>(&[aggregate_id.to_owned()]).await?;
        self.known::<A>(aggregate_id)
            .ok_or_else(|| StoreError::Decode(format!("stream {aggregate_id} was not loaded")))
    }

    /// Loads many streams of `A` in one statement, for the events of a batch to come: each
    /// later [`Self::load`] of one of them reads nothing. Ids already known to the batch are
    /// skipped; one a committed batch left is read only after its sequence; an id without
    /// events is remembered as a new stream.
    pub async fn preload<A: Publish>(&self, aggregate_ids: &[String]) -> Result<(), StoreError> {
        let mut wanted: Vec<&str> = {
            let streams = self.streams.lock().expect("batch streams");
            aggregate_ids
                .iter()
                .map(String::as_str)
                .filter(|id| !streams.contains_key(&(A::TYPE, (*id).to_owned())))
                .collect()
        };
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        let known: Vec<(String, A, usize)> = {
            let committed = self.committed.lock().expect("committed streams");
            wanted
                .iter()
                .map(|id| {
                    let (state, sequence) = committed
                        .get(&(A::TYPE, (*id).to_owned()))
                        .and_then(|known| known.downcast_ref::<(A, usize)>())
                        .cloned()
                        .unwrap_or_default();
                    ((*id).to_owned(), state, sequence)
                })
                .collect()
        };
        for context in load_many_with::<A>(&self.tx, known).await? {
            self.remember(
                context.aggregate_id(),
                context.state().clone(),
                context.current_sequence(),
            );
        }
        Ok(())
    }

    fn known<A: Publish>(&self, aggregate_id: &str) -> Option<StreamContext<A>> {
        let streams = self.streams.lock().expect("batch streams");
        let (state, sequence) = streams
            .get(&(A::TYPE, aggregate_id.to_owned()))?
            .downcast_ref::<(A, usize)>()?;
        Some(StreamContext::resume(
            aggregate_id,
            state.clone(),
            *sequence,
        ))
    }

    fn remember<A: Publish>(&self, aggregate_id: &str, state: A, sequence: usize) {
        self.streams.lock().expect("batch streams").insert(
            (A::TYPE, aggregate_id.to_owned()),
            Box::new((state, sequence)),
        );
    }

    /// The sequence number of a stream's last event (0 for none), as the batch knows it or read
    /// in its transaction: whether a state kept in memory is still the stream's.
    pub async fn stream_version<A: Publish>(
        &self,
        aggregate_id: &str,
    ) -> Result<usize, StoreError> {
        if let Some(known) = self.known::<A>(aggregate_id) {
            return Ok(known.current_sequence());
        }
        let row = self
            .tx
            .query_one(
                "SELECT coalesce(max(sequence), 0) FROM eventstore.event \
                 WHERE aggregate_type = $1 AND aggregate_id = $2",
                &[&A::TYPE, &aggregate_id],
            )
            .await?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    /// Appends events (a process manager's command result). Appends, to one stream or
    /// several, must come before any other write of the batch, so that the batch's
    /// transaction id orders after what it read.
    pub async fn append<A: Publish>(
        &mut self,
        context: &StreamContext<A>,
        events: &[A::Event],
        metadata: &EventMetadata,
    ) -> Result<Appended, AppendError> {
        self.flush().await?;
        let appended = if self.appended {
            self.store
                .append_also_in(&self.tx, context, events, metadata)
                .await?
        } else {
            self.store
                .append_in(&self.tx, context, events, metadata)
                .await?
        };
        self.appended = true;
        let mut state = context.state().clone();
        for event in events {
            cqrs_es::Aggregate::apply(&mut state, event.clone());
        }
        self.remember(context.aggregate_id(), state, appended.last_sequence);
        Ok(appended)
    }
}
