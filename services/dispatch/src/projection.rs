//! The read models of tickets, written in the transaction that appends the ticket's events:
//! the dispatcher queue (`dispatch.ticket`), the complaints each ticket carries, and the
//! durable timer's deadlines. A committed event is in the queue at once, and a deadline can
//! never be lost between an event and its timer.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::clock::ClockKind;
use crate::domain::ticket::{Status, Ticket};

const UPSERT_TICKET: &str = include_str!("sql/upsert_ticket.sql");
const SET_DEADLINES: &str = include_str!("sql/set_deadlines.sql");
const ATTACH_COMPLAINTS: &str = include_str!("sql/attach_complaints.sql");

/// How many of `ticket`'s members `before` had: members are only ever added at the end, so
/// they are its first ones (no member is hashed, where a set of `before`'s was built for every
/// batch that touched an area repair's ticket). A `before` that is not such a prefix counts
/// as none, and every member is written again (the rows are idempotent).
fn written_before(before: &Ticket, ticket: &Ticket) -> usize {
    let n = before.members.len();
    let prefix = before.members.last().is_none_or(|last| {
        ticket
            .members
            .get(n - 1)
            .is_some_and(|m| m.complaint_id == last.complaint_id)
    });
    if prefix { n } else { 0 }
}

/// Writes a ticket's rows from its state after `version` events. `before` is its state when
/// its rows were last written (`None`: never, or not known): only the complaints it took on
/// since are attached, so an area repair's ticket carrying hundreds of complaints does not
/// rewrite them all with each of its events.
pub(crate) async fn project(
    client: &impl GenericClient,
    id: Uuid,
    before: Option<&Ticket>,
    ticket: &Ticket,
    version: usize,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let Some(subject) = ticket.subject.as_ref() else {
        return Ok(());
    };
    let next = ticket.next_deadline();
    let attached = before
        .filter(|b| b.subject.is_some() && b.merged_into.is_none())
        .map_or(0, |b| written_before(b, ticket));
    // A ticket merged into an incident's hands its complaints to that ticket.
    let complaint_ids: Vec<Uuid> = if ticket.merged_into.is_some() {
        Vec::new()
    } else {
        ticket
            .members
            .skip(attached)
            .iter()
            .filter_map(|m| m.complaint_id.parse().ok())
            .collect()
    };
    let open = ticket.status != Status::Closed;
    let upsert = client.prepare_cached(UPSERT_TICKET).await?;
    let deadlines = client.prepare_cached(SET_DEADLINES).await?;
    let attach = client.prepare_cached(ATTACH_COMPLAINTS).await?;
    let (clocks, due): (Vec<&str>, Vec<DateTime<Utc>>) = ClockKind::ALL
        .into_iter()
        .filter_map(|k| {
            let deadline = ticket.clock(k)?.pending_deadline()?;
            Some((k.as_str(), deadline))
        })
        .unzip();
    let households = i32::try_from(ticket.members.len()).unwrap_or(i32::MAX);
    let cycle = i32::try_from(ticket.cycle).unwrap_or(i32::MAX);
    let version = i64::try_from(version).unwrap_or(i64::MAX);
    let opened_at = ticket
        .clock(ClockKind::Resident)
        .map_or(subject.filed_at, |c| c.started_at);
    let status = ticket.status.as_str();
    let paused = ticket.paused.is_some();
    let breached = ticket.breached();
    let nearest = ticket.nearest_deadline();
    let next_clock = next.map(|(k, _)| k.as_str());
    let risk_at = ticket.at_risk_from();
    let row_params: [&(dyn tokio_postgres::types::ToSql + Sync); 23] = [
        &id,
        &version,
        &subject.origin,
        &status,
        &open,
        &subject.category,
        &subject.priority,
        &subject.place.district,
        &subject.place.station,
        &subject.place.building_id,
        &ticket.supplier,
        &ticket.crew,
        &households,
        &cycle,
        &paused,
        &breached,
        &nearest,
        &next_clock,
        &subject.filed_at,
        &opened_at,
        &now,
        &risk_at,
        &subject.channel,
    ];
    let timer_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&id, &clocks, &due];
    let attach_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&id, &complaint_ids];
    // Sent together: the three statements share one round trip.
    let row = client.execute(&upsert, &row_params);
    let timer = client.execute(&deadlines, &timer_params);
    let carried = client.execute(&attach, &attach_params);
    tokio::try_join!(row, timer, carried)?;
    Ok(())
}
