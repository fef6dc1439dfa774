//! Running commands through `CqrsFramework`, with a receipt of what was written.
//!
//! `CqrsFramework::execute_with_metadata` answers `()`. A mobile client that files something and
//! then lists it needs the position of what it wrote, to ask a query to wait until its
//! projection has caught up; [`Commands::execute`] returns that as a [`CommitReceipt`].

use std::cell::RefCell;

use cqrs_es::{AggregateError, CqrsFramework};

use crate::metadata::EventMetadata;
use crate::position::LogPosition;
use crate::store::{Appended, PgEventStore, Publish};

/// What the store tells the command running on this task.
#[derive(Default)]
struct Attempt {
    receipt: Option<CommitReceipt>,
    loaded_from_cache: bool,
}

tokio::task_local! {
    static ATTEMPT: RefCell<Attempt>;
}

/// What one command wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitReceipt {
    /// How many events the command produced (0 when it changed nothing).
    pub events: usize,
    /// The stream's sequence number after the command.
    pub last_sequence: Option<usize>,
    /// The position of its last event in the domain log.
    pub last_event: Option<LogPosition>,
    /// The position of its last integration event in the public log.
    pub last_published: Option<LogPosition>,
}

/// Called by the store's commit, on the task that runs the command.
pub(crate) fn record_receipt(appended: &Appended) {
    let _outside_execute = ATTEMPT.try_with(|cell| {
        cell.borrow_mut().receipt = Some(CommitReceipt {
            events: appended.event_ids.len(),
            last_sequence: Some(appended.last_sequence),
            last_event: Some(appended.last_event),
            last_published: appended.last_published,
        });
    });
}

/// Called by the store when it served the aggregate from its cache.
pub(crate) fn mark_loaded_from_cache() {
    let _outside_execute = ATTEMPT.try_with(|cell| cell.borrow_mut().loaded_from_cache = true);
}

/// Executes commands of aggregate `A` against the PostgreSQL store.
pub struct Commands<A: Publish> {
    framework: CqrsFramework<A, PgEventStore>,
}

impl<A: Publish> Commands<A> {
    /// Commands over `store`, with the services `A`'s command handler needs.
    pub fn new(store: PgEventStore, services: A::Services) -> Self {
        Commands {
            framework: CqrsFramework::new(store, Vec::new(), services),
        }
    }

    /// Loads the aggregate, runs the command, appends its events with `metadata`.
    /// A lost race on the stream is `AggregateError::AggregateConflict`. When the aggregate came
    /// from the store's cache and another process had appended meanwhile, the command is run
    /// once more on the state read from the database, so a stale cache never shows.
    #[tracing::instrument(skip_all, fields(aggregate.type = A::TYPE, aggregate.id = aggregate_id))]
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> Result<CommitReceipt, AggregateError<A::Error>>
    where
        A::Command: Clone,
    {
        let (outcome, from_cache) = self.attempt(aggregate_id, command.clone(), metadata).await;
        match outcome {
            Err(AggregateError::AggregateConflict) if from_cache => {
                self.attempt(aggregate_id, command, metadata).await.0
            }
            other => other,
        }
    }

    async fn attempt(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> (Result<CommitReceipt, AggregateError<A::Error>>, bool) {
        ATTEMPT
            .scope(RefCell::new(Attempt::default()), async {
                let outcome = self
                    .framework
                    .execute_with_metadata(aggregate_id, command, metadata.to_map())
                    .await;
                let attempt = ATTEMPT.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
                let outcome = outcome.map(|()| attempt.receipt.unwrap_or_default());
                (outcome, attempt.loaded_from_cache)
            })
            .await
    }
}
