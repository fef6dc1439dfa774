//! Rebuilding dispatch's read models (the queue, the complaints each ticket carries, the
//! timer's deadlines, the crew register) from the ticket and crew streams, while serving.
//!
//! One transaction: the read-model tables are locked against writes (readers go on seeing the
//! old rows until the commit), emptied, and written again from every stream. A command that
//! appends meanwhile waits at its own projection write and writes its rows after the rebuild.

use chrono::{DateTime, Utc};
use eventstore::{PgEventStore, StoreError};
use uuid::Uuid;

use crate::domain::crew::{Crew, CrewEvent};
use crate::domain::ticket::Ticket;
use crate::projection::project;

/// What a rebuild wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Tickets projected.
    pub tickets: usize,
    /// Crews registered.
    pub crews: usize,
}

/// Rebuilds `dispatch.ticket`, `ticket_complaint`, `deadline` and `crew`.
pub async fn queue(store: &PgEventStore, now: DateTime<Utc>) -> Result<Rebuilt, StoreError> {
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(
        "LOCK TABLE dispatch.ticket, dispatch.ticket_complaint, dispatch.deadline, dispatch.crew \
         IN SHARE ROW EXCLUSIVE MODE;
         DELETE FROM dispatch.ticket_complaint;
         DELETE FROM dispatch.deadline;
         DELETE FROM dispatch.ticket;
         DELETE FROM dispatch.crew;",
    )
    .await?;
    let mut rebuilt = Rebuilt {
        tickets: 0,
        crews: 0,
    };
    for id in store.stream_ids::<Ticket>().await? {
        let Ok(uuid) = id.parse::<Uuid>() else {
            continue;
        };
        let context = store.load::<Ticket>(&id).await?;
        project(
            &tx,
            uuid,
            None,
            context.state(),
            context.current_sequence(),
            now,
        )
        .await?;
        rebuilt.tickets += 1;
    }
    for id in store.stream_ids::<Crew>().await? {
        let Ok(uuid) = id.parse::<Uuid>() else {
            continue;
        };
        let mut registered = None;
        let mut active = true;
        for event in store.stream::<Crew>(&id).await? {
            match event.payload {
                CrewEvent::Registered {
                    supplier,
                    name,
                    district,
                    at,
                } => registered = Some((supplier, name, district, at)),
                CrewEvent::Retired { .. } => active = false,
            }
        }
        if let Some((supplier, name, district, at)) = registered {
            tx.execute(
                "INSERT INTO dispatch.crew (crew_id, supplier_id, name, district, active, \
                 registered_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&uuid, &supplier, &name, &district, &active, &at],
            )
            .await?;
            rebuilt.crews += 1;
        }
    }
    tx.commit().await?;
    Ok(rebuilt)
}
