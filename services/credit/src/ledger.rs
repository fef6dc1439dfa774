//! Running ledger commands (appeals, decisions, adjustments, vetoes, closings): load the
//! stream, decide, append, project, commit, in one transaction, retried when the feed wrote
//! to the same ledger meanwhile.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use eventstore::{AppendError, EventMetadata, PgEventStore, StoreError};

use crate::domain::credit::{CreditCommand, CreditError, CreditEvent, SupplierCredit};
use crate::domain::stream_id;
use crate::domain::values::Season;
use crate::projection::project;

/// Why a command did not land.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The ledger refused.
    #[error(transparent)]
    Refused(#[from] CreditError),
    /// Still losing races after retries.
    #[error("the ledger kept changing; try again")]
    Contended,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The append failed.
    #[error(transparent)]
    Append(AppendError),
}

impl From<tokio_postgres::Error> for CommandError {
    fn from(error: tokio_postgres::Error) -> Self {
        CommandError::Store(error.into())
    }
}

/// The ledger commands.
#[derive(Clone)]
pub struct Ledger {
    store: PgEventStore,
    clock: Arc<dyn platform::clock::Clock>,
}

impl Ledger {
    /// Commands over `store`.
    pub fn new(store: PgEventStore, clock: Arc<dyn platform::clock::Clock>) -> Self {
        Ledger { store, clock }
    }

    /// The event store.
    pub fn store(&self) -> &PgEventStore {
        &self.store
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs `command` on the ledger of `supplier` in `season`; returns its events.
    #[tracing::instrument(skip_all, fields(supplier.id = supplier, season = %season))]
    pub async fn execute(
        &self,
        supplier: &str,
        season: Season,
        command: CreditCommand,
        metadata: &EventMetadata,
    ) -> Result<Vec<CreditEvent>, CommandError> {
        for _ in 0..3 {
            match self
                .try_execute(supplier, season, command.clone(), metadata)
                .await
            {
                Err(CommandError::Contended) => continue,
                other => return other,
            }
        }
        Err(CommandError::Contended)
    }

    async fn try_execute(
        &self,
        supplier: &str,
        season: Season,
        command: CreditCommand,
        metadata: &EventMetadata,
    ) -> Result<Vec<CreditEvent>, CommandError> {
        let stream = stream_id(supplier, season);
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let context = self.store.load_in::<SupplierCredit>(&tx, &stream).await?;
        let events = context.state().decide(command)?;
        if events.is_empty() {
            return Ok(events);
        }
        self.store
            .append_in(&tx, &context, &events, metadata)
            .await
            .map_err(|e| match e {
                AppendError::Conflict => CommandError::Contended,
                other => CommandError::Append(other),
            })?;
        let mut credit = context.state().clone();
        for event in &events {
            credit.apply(event.clone());
        }
        project(
            &tx,
            supplier,
            season,
            &credit,
            &events,
            context.current_sequence() + 1,
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        self.store.notify_appended();
        Ok(events)
    }
}
