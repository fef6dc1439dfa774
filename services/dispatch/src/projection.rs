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

/// One ticket's rows to write: its state after `version` events, and `before`, its state when
/// its rows were last written (`None`: never, or not known).
pub(crate) struct Projected<'a> {
    pub id: Uuid,
    pub before: Option<&'a Ticket>,
    pub ticket: &'a Ticket,
    pub version: usize,
}

/// Writes a ticket's rows from its state after `version` events (see [`project_all`]).
pub(crate) async fn project(
    client: &impl GenericClient,
    id: Uuid,
    before: Option<&Ticket>,
    ticket: &Ticket,
    version: usize,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let one = Projected {
        id,
        before,
        ticket,
        version,
    };
    project_all(client, std::slice::from_ref(&one), now).await
}

/// The queue's columns for many tickets, one entry per ticket in each.
#[derive(Default)]
struct Rows<'a> {
    ids: Vec<Uuid>,
    versions: Vec<i64>,
    origins: Vec<&'a str>,
    statuses: Vec<&'static str>,
    open: Vec<bool>,
    categories: Vec<&'a str>,
    priorities: Vec<&'a str>,
    districts: Vec<Option<&'a str>>,
    stations: Vec<Option<&'a str>>,
    buildings: Vec<Option<&'a str>>,
    suppliers: Vec<Option<&'a str>>,
    crews: Vec<Option<&'a str>>,
    households: Vec<i32>,
    cycles: Vec<i32>,
    paused: Vec<bool>,
    breached: Vec<bool>,
    nearest: Vec<Option<DateTime<Utc>>>,
    next_clocks: Vec<Option<&'static str>>,
    filed: Vec<DateTime<Utc>>,
    opened: Vec<DateTime<Utc>>,
    risk: Vec<Option<DateTime<Utc>>>,
    channels: Vec<Option<&'a str>>,
}

/// Writes the rows of `tickets` (each id at most once) in three statements whatever their
/// number: the queue's rows, the timer's deadlines, and the complaints each ticket took on
/// since `before` (all of them without one), so an area repair's ticket carrying hundreds of
/// complaints does not rewrite them all with each of its events. A complaint that two of them
/// took on stays with the later one, as if each ticket's rows were written in turn.
pub(crate) async fn project_all(
    client: &impl GenericClient,
    tickets: &[Projected<'_>],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let mut rows = Rows::default();
    let (mut clock_tickets, mut clocks, mut due) = (Vec::new(), Vec::new(), Vec::new());
    let mut carried: Vec<(Uuid, Uuid)> = Vec::new();
    for projected in tickets {
        let Projected {
            id,
            before,
            ticket,
            version,
        } = *projected;
        let Some(subject) = ticket.subject.as_ref() else {
            continue;
        };
        let attached = before
            .filter(|b| b.subject.is_some() && b.merged_into.is_none())
            .map_or(0, |b| written_before(b, ticket));
        // A ticket merged into an incident's hands its complaints to that ticket.
        if ticket.merged_into.is_none() {
            carried.extend(
                ticket
                    .members
                    .skip(attached)
                    .iter()
                    .filter_map(|m| m.complaint_id.parse().ok())
                    .map(|complaint| (complaint, id)),
            );
        }
        for kind in ClockKind::ALL {
            if let Some(deadline) = ticket.clock(kind).and_then(|c| c.pending_deadline()) {
                clock_tickets.push(id);
                clocks.push(kind.as_str());
                due.push(deadline);
            }
        }
        rows.ids.push(id);
        rows.versions
            .push(i64::try_from(version).unwrap_or(i64::MAX));
        rows.origins.push(&subject.origin);
        rows.statuses.push(ticket.status.as_str());
        rows.open.push(ticket.status != Status::Closed);
        rows.categories.push(&subject.category);
        rows.priorities.push(&subject.priority);
        rows.districts.push(subject.place.district.as_deref());
        rows.stations.push(subject.place.station.as_deref());
        rows.buildings.push(subject.place.building_id.as_deref());
        rows.suppliers.push(ticket.supplier.as_deref());
        rows.crews.push(ticket.crew.as_deref());
        rows.households
            .push(i32::try_from(ticket.members.len()).unwrap_or(i32::MAX));
        rows.cycles
            .push(i32::try_from(ticket.cycle).unwrap_or(i32::MAX));
        rows.paused.push(ticket.paused.is_some());
        rows.breached.push(ticket.breached());
        rows.nearest.push(ticket.nearest_deadline());
        rows.next_clocks
            .push(ticket.next_deadline().map(|(k, _)| k.as_str()));
        rows.filed.push(subject.filed_at);
        rows.opened.push(
            ticket
                .clock(ClockKind::Resident)
                .map_or(subject.filed_at, |c| c.started_at),
        );
        rows.risk.push(ticket.at_risk_from());
        rows.channels.push(subject.channel.as_deref());
    }
    if rows.ids.is_empty() {
        return Ok(());
    }
    // One statement may touch a complaint's row once: the later ticket's claim is the one
    // written in turn would leave.
    let mut seen = std::collections::HashSet::new();
    let mut complaints = Vec::with_capacity(carried.len());
    let mut carriers = Vec::with_capacity(carried.len());
    for (complaint, ticket) in carried.into_iter().rev() {
        if seen.insert(complaint) {
            complaints.push(complaint);
            carriers.push(ticket);
        }
    }
    let upsert = client.prepare_cached(UPSERT_TICKET).await?;
    let deadlines = client.prepare_cached(SET_DEADLINES).await?;
    let attach = client.prepare_cached(ATTACH_COMPLAINTS).await?;
    let r = &rows;
    let row_params: [&(dyn tokio_postgres::types::ToSql + Sync); 23] = [
        &r.ids,
        &r.versions,
        &r.origins,
        &r.statuses,
        &r.open,
        &r.categories,
        &r.priorities,
        &r.districts,
        &r.stations,
        &r.buildings,
        &r.suppliers,
        &r.crews,
        &r.households,
        &r.cycles,
        &r.paused,
        &r.breached,
        &r.nearest,
        &r.next_clocks,
        &r.filed,
        &r.opened,
        &now,
        &r.risk,
        &r.channels,
    ];
    let timer_params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&r.ids, &clock_tickets, &clocks, &due];
    let attach_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&complaints, &carriers];
    // Sent together: the three statements share one round trip.
    let row = client.execute(&upsert, &row_params);
    let timer = client.execute(&deadlines, &timer_params);
    let carried = client.execute(&attach, &attach_params);
    tokio::try_join!(row, timer, carried)?;
    Ok(())
}
