//! The durable timer: deadlines live in `dispatch.deadline`, written with the events that
//! start, pause, move and stop clocks. The timer looks for deadlines passed by the injected
//! clock and records each breach through the ticket, which refuses a second one for the same
//! clock run: exactly one breach per run, also when the service was down when the deadline
//! passed (it is found on the first look after starting) and when two instances look at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventstore::{Actor, Channel, EventMetadata};
use platform::clock::Clock;
use uuid::Uuid;

use crate::domain::clock::ClockKind;
use crate::domain::stop_heating::{CaseCommand, CaseError};
use crate::domain::ticket::{TicketCommand, TicketError};
use crate::stop_heating::{self, CaseFailure};
use crate::tickets::{CommandError, Tickets};

/// The most deadlines handled in one look.
const BATCH: i64 = 200;

/// Records the breaches of every deadline passed at `now`; answers how many were recorded.
pub async fn sweep(tickets: &Tickets, now: DateTime<Utc>) -> Result<usize, CommandError> {
    let due: Vec<(Uuid, String)> = {
        let client = tickets
            .store()
            .pool()
            .get()
            .await
            .map_err(eventstore::StoreError::from)?;
        client
            .query(
                "SELECT ticket_id, clock FROM dispatch.deadline WHERE due_at <= $1 \
                 ORDER BY due_at LIMIT $2",
                &[&now, &BATCH],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    };
    let metadata = EventMetadata::new(Actor::system(), Channel::System);
    let mut recorded = 0;
    for (ticket, clock) in due {
        let Some(clock) = ClockKind::parse(&clock) else {
            continue;
        };
        let command = TicketCommand::RecordBreach { clock, at: now };
        match tickets
            .execute(ticket, None, command, &|_| Ok(()), &metadata)
            .await
        {
            Ok(_) => {
                recorded += 1;
                platform::metrics::count(SLA_BREACHES, &[("clock", clock.as_str())]);
            }
            // Another instance recorded it first; the projection has dropped the row.
            Err(CommandError::Refused(TicketError::NothingToBreach)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(recorded + replies_overdue(tickets, now, &metadata).await?)
}

/// Records the breach of every stop-heating application whose reply is overdue at `now`.
async fn replies_overdue(
    tickets: &Tickets,
    now: DateTime<Utc>,
    metadata: &EventMetadata,
) -> Result<usize, CommandError> {
    let store = tickets.store();
    let due = {
        let client = store
            .pool()
            .get()
            .await
            .map_err(eventstore::StoreError::from)?;
        stop_heating::overdue(&client, now, BATCH).await?
    };
    let mut recorded = 0;
    for id in due {
        let command = CaseCommand::RecordBreach { at: now };
        match stop_heating::execute(store, id, command, &|_| Ok(()), None, metadata).await {
            Ok(_) => {
                recorded += 1;
                platform::metrics::count(SLA_BREACHES, &[("clock", "stop_heating_reply")]);
            }
            // Another instance recorded it, or the supplier replied, meanwhile.
            Err(CaseFailure::Refused(CaseError::NothingToBreach) | CaseFailure::Contended) => {}
            Err(CaseFailure::Store(e)) => return Err(CommandError::Store(e)),
            Err(CaseFailure::Append(e)) => return Err(CommandError::Append(e)),
            Err(other) => tracing::warn!(application.id = %id, %other, "reply breach not recorded"),
        }
    }
    Ok(recorded)
}

/// `heatline_sla_breaches_total{clock}`.
pub const SLA_BREACHES: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_sla_breaches_total",
    help: "SLA breaches recorded by this process's timer, by clock.",
};

/// Looks every `every` until the returned task is dropped.
pub fn spawn(tickets: Tickets, clock: Arc<dyn Clock>, every: Duration) -> crate::BackgroundTask {
    crate::BackgroundTask::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&tickets, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(breaches = n, "SLA breaches recorded"),
                Err(error) => tracing::warn!(%error, "SLA timer failed; trying again"),
            }
        }
    })
}
