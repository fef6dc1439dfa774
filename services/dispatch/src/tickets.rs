//! Running ticket and crew commands: load the stream, decide, append, project, commit, all in
//! one transaction. With the version a client last saw (`If-Match`), a ticket that changed
//! since is refused (412); two dispatchers assigning at once never both win.

use std::sync::Arc;

use cqrs_es::Aggregate;
use eventstore::{AppendError, EventMetadata, PgEventStore, StoreError};
use uuid::Uuid;

use crate::domain::crew::{Crew, CrewCommand, CrewError, CrewEvent};
use crate::domain::sla::Sla;
use crate::domain::ticket::{Ticket, TicketCommand, TicketError, TicketEvent};
use crate::projection::project;

/// Why a command did not land.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The ticket refused.
    #[error(transparent)]
    Refused(#[from] TicketError),
    /// The crew refused.
    #[error(transparent)]
    Crew(#[from] CrewError),
    /// The caller may not act on this ticket.
    #[error("{0}")]
    Forbidden(String),
    /// The ticket is not at the version the caller saw.
    #[error("the ticket is at version {current}, not {expected}")]
    Stale {
        /// What the caller saw.
        expected: usize,
        /// What it is.
        current: usize,
    },
    /// Still losing races after retries.
    #[error("the ticket kept changing; try again")]
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

/// What a command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The ticket afterwards.
    pub ticket: Ticket,
    /// Its version (the number of its events).
    pub version: usize,
    /// The events it produced.
    pub events: Vec<TicketEvent>,
}

/// How many times a command without `If-Match` that lost a race is run again.
const ATTEMPTS: usize = 3;

/// Who may act, decided on the ticket as loaded in the command's transaction.
pub type Check<'a> = &'a (dyn Fn(&Ticket) -> Result<(), String> + Send + Sync);

/// The ticket and crew commands.
#[derive(Clone)]
pub struct Tickets {
    store: PgEventStore,
    sla: Arc<Sla>,
    clock: Arc<dyn platform::clock::Clock>,
}

impl Tickets {
    /// Commands over `store` under `sla`.
    pub fn new(store: PgEventStore, sla: Arc<Sla>, clock: Arc<dyn platform::clock::Clock>) -> Self {
        Tickets { store, sla, clock }
    }

    /// The event store.
    pub fn store(&self) -> &PgEventStore {
        &self.store
    }

    /// The SLA policy.
    pub fn sla(&self) -> &Arc<Sla> {
        &self.sla
    }

    /// Runs `command` on ticket `id` after `check` allowed the caller, at version `expected`
    /// when given.
    #[tracing::instrument(skip_all, fields(ticket.id = %id))]
    pub async fn execute(
        &self,
        id: Uuid,
        expected: Option<usize>,
        command: TicketCommand,
        check: Check<'_>,
        metadata: &EventMetadata,
    ) -> Result<Outcome, CommandError> {
        let mut outcome = Err(CommandError::Contended);
        for _ in 0..ATTEMPTS {
            outcome = self
                .try_execute(id, expected, command.clone(), check, metadata)
                .await;
            match outcome {
                Err(CommandError::Contended) if expected.is_none() => continue,
                Err(CommandError::Contended) => {
                    // Someone else wrote the version this caller expected to change.
                    let current = self.store.load::<Ticket>(&id.to_string()).await?;
                    return Err(CommandError::Stale {
                        expected: expected.unwrap_or_default(),
                        current: current.current_sequence(),
                    });
                }
                _ => break,
            }
        }
        outcome
    }

    async fn try_execute(
        &self,
        id: Uuid,
        expected: Option<usize>,
        command: TicketCommand,
        check: Check<'_>,
        metadata: &EventMetadata,
    ) -> Result<Outcome, CommandError> {
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let context = self.store.load_in::<Ticket>(&tx, &id.to_string()).await?;
        let opening = matches!(command, TicketCommand::Open { .. });
        if context.current_sequence() == 0 && !opening {
            return Err(TicketError::NotOpened.into());
        }
        check(context.state()).map_err(CommandError::Forbidden)?;
        if let Some(expected) = expected
            && expected != context.current_sequence()
        {
            return Err(CommandError::Stale {
                expected,
                current: context.current_sequence(),
            });
        }
        let events = context.state().decide(command, &self.sla)?;
        let mut ticket = context.state().clone();
        if events.is_empty() {
            return Ok(Outcome {
                ticket,
                version: context.current_sequence(),
                events,
            });
        }
        let appended = self
            .store
            .append_in(&tx, &context, &events, metadata)
            .await
            .map_err(append_error)?;
        for event in &events {
            ticket.apply(event.clone());
        }
        project(
            &tx,
            id,
            Some(context.state()),
            &ticket,
            appended.last_sequence,
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        self.store.notify_appended();
        Ok(Outcome {
            ticket,
            version: appended.last_sequence,
            events,
        })
    }

    /// Runs a crew command (registering, retiring) and keeps the crew register.
    pub async fn run_crew(
        &self,
        id: Uuid,
        command: CrewCommand,
        metadata: &EventMetadata,
    ) -> Result<Crew, CommandError> {
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let context = self.store.load_in::<Crew>(&tx, &id.to_string()).await?;
        let event = context.state().decide(command)?;
        self.store
            .append_in(&tx, &context, std::slice::from_ref(&event), metadata)
            .await
            .map_err(append_error)?;
        let mut crew = context.state().clone();
        crew.apply(event.clone());
        match event {
            CrewEvent::Registered {
                supplier,
                name,
                district,
                at,
            } => {
                tx.execute(
                    "INSERT INTO dispatch.crew (crew_id, supplier_id, name, district, active, \
                     registered_at) VALUES ($1, $2, $3, $4, true, $5)",
                    &[&id, &supplier, &name, &district, &at],
                )
                .await?;
            }
            CrewEvent::Retired { .. } => {
                tx.execute(
                    "UPDATE dispatch.crew SET active = false WHERE crew_id = $1",
                    &[&id],
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.store.notify_appended();
        Ok(crew)
    }
}

fn append_error(error: AppendError) -> CommandError {
    match error {
        AppendError::Conflict => CommandError::Contended,
        other => CommandError::Append(other),
    }
}
