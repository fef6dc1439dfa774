//! Running complaint commands: each in one transaction that locks what its decision depends
//! on, appends the events, and updates `intake.complaint` (the read model) beside them. A
//! command either lands whole or not at all, and a read after it sees it.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use eventstore::personal::NewKey;
use eventstore::{AppendError, Batch, EventMetadata, PgEventStore, StoreError};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::domain::complaint::{Complaint, ComplaintCommand, ComplaintDetails, ComplaintError};
use crate::projection::project;

mod filing;

use filing::{BATCH, FILING_WORKERS, Job};

/// How filings are limited and merged.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A household's filing merges into its open complaint filed within this window.
    pub merge_window: Duration,
    /// The most filings a resident may make in an hour.
    pub per_hour: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            merge_window: Duration::hours(24),
            per_hour: 10,
        }
    }
}

/// A filing, checked and routed, ready to be decided.
#[derive(Debug, Clone)]
pub struct NewFiling {
    /// Its id: derived from the idempotency key when there is one.
    pub id: Uuid,
    /// What it says (its personal data sealed with `key`).
    pub details: ComplaintDetails,
    /// The data key of its personal data: stored with its events, not when it is a retry.
    pub key: NewKey,
    /// The digest of the request, to recognise a retry.
    pub fingerprint: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Whether the hourly limit applies (residents: yes; staff and the platform: no).
    pub rate_limited: bool,
    /// Whether `id` was minted for this request (no idempotency key): its stream cannot exist
    /// yet, so it is not read.
    pub fresh: bool,
}

/// How a filing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingReceipt {
    /// The filing's own id.
    pub filed_id: Uuid,
    /// The complaint to follow: the filing itself, or the one it was merged into.
    pub complaint_id: Uuid,
    /// Whether it was merged into the household's open complaint.
    pub merged: bool,
    /// Whether the registry routed it.
    pub routed: bool,
    /// Whether this was a retry answered from the first filing.
    pub replayed: bool,
}

/// Why a command did not land.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The aggregate refused.
    #[error(transparent)]
    Refused(#[from] ComplaintError),
    /// An idempotency key came back with a different request.
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    /// The resident filed too many complaints in the last hour.
    #[error("too many complaints in the last hour")]
    TooMany {
        /// Seconds until one more is allowed.
        retry_after: u64,
    },
    /// Still losing races after retries.
    #[error("the complaint kept changing; try again")]
    Contended,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The append failed.
    #[error(transparent)]
    Append(AppendError),
}

impl From<AppendError> for CommandError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict => CommandError::Contended,
            other => CommandError::Append(other),
        }
    }
}

impl From<tokio_postgres::Error> for CommandError {
    fn from(error: tokio_postgres::Error) -> Self {
        CommandError::Store(error.into())
    }
}

/// How many times a command that lost a race is run again on the new state.
const ATTEMPTS: usize = 3;

/// The complaint commands.
#[derive(Clone)]
pub struct Complaints {
    store: PgEventStore,
    limits: Limits,
    /// How long an incident takes new members after its last one (the incident watcher's
    /// window): a cold home filed within it joins the incident.
    incident_window: Duration,
    /// Where filings wait for a batch; `None` in the workers themselves.
    queue: Option<mpsc::Sender<Job>>,
}

impl Complaints {
    /// Commands over `store`, with the workers that file in batches (on the current Tokio
    /// runtime; they stop when the last clone of this is dropped). A cold home filed within
    /// `incident_window` of an open incident's last member joins it.
    pub fn new(store: PgEventStore, limits: Limits, incident_window: Duration) -> Self {
        let (queue, jobs) = mpsc::channel::<Job>(BATCH * FILING_WORKERS * 4);
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
        for _ in 0..FILING_WORKERS {
            // Workers hold no sender: dropping the last `Complaints` closes the queue and ends
            // them.
            let worker = Complaints {
                store: store.clone(),
                limits,
                incident_window,
                queue: None,
            };
            let jobs = jobs.clone();
            tokio::spawn(async move { worker.work(jobs).await });
        }
        Complaints {
            store,
            limits,
            incident_window,
            queue: Some(queue),
        }
    }

    /// Runs any other command on complaint `id`. Returns the state after it and its version.
    #[tracing::instrument(skip_all, fields(complaint.id = %id))]
    pub async fn execute(
        &self,
        id: Uuid,
        command: ComplaintCommand,
        metadata: &EventMetadata,
    ) -> Result<(Complaint, usize), CommandError> {
        let mut outcome = Err(CommandError::Contended);
        for _ in 0..ATTEMPTS {
            outcome = self.try_execute(id, command.clone(), metadata).await;
            if !matches!(outcome, Err(CommandError::Contended)) {
                break;
            }
        }
        outcome
    }

    async fn try_execute(
        &self,
        id: Uuid,
        command: ComplaintCommand,
        metadata: &EventMetadata,
    ) -> Result<(Complaint, usize), CommandError> {
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let context = self
            .store
            .load_in::<Complaint>(&tx, &id.to_string())
            .await?;
        let event = context.state().decide(command)?;
        let appended = self
            .store
            .append_in(&tx, &context, std::slice::from_ref(&event), metadata)
            .await?;
        project(
            &tx,
            id,
            &event,
            appended.last_sequence,
            metadata.request_id.as_deref(),
        )
        .await?;
        tx.commit().await?;
        self.store.notify_appended();
        let mut state = context.state().clone();
        cqrs_es::Aggregate::apply(&mut state, event);
        Ok((state, appended.last_sequence))
    }

    /// Runs a command inside a subscription's batch (the incident watcher, dispatch's news).
    pub async fn execute_in_batch(
        batch: &mut Batch<'_>,
        id: Uuid,
        command: ComplaintCommand,
        metadata: &EventMetadata,
    ) -> Result<(), CommandError> {
        let context = batch.load::<Complaint>(&id.to_string()).await?;
        let event = context.state().decide(command)?;
        // A change of a few columns goes out with the batch's other appends and rows; a filing
        // or a reveal is written at once.
        let version = batch.append_queued(&context, std::slice::from_ref(&event), metadata);
        match crate::projection::row_update(id, &event, version) {
            Some((sql, params)) => batch.queue(sql, params),
            None => {
                batch.flush().await?;
                project(
                    batch.tx(),
                    id,
                    &event,
                    version,
                    metadata.request_id.as_deref(),
                )
                .await?;
            }
        }
        Ok(())
    }
}
