//! The targets board's feed: a subscription to the public log that keeps, for every complaint,
//! ticket, certified measurement and verdict, what the board counts. Each statement is keyed
//! (a complaint, a ticket, an event id), so replaying an event changes nothing; and it runs in
//! the transaction that moves the checkpoint.

use std::collections::HashSet;

use async_trait::async_trait;
use contracts::Name;
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use eventstore::{
    Batch, HandlerError, PgEventStore, PublishedEvent, StoreError, SubscriptionConfig,
    SubscriptionHandle, Writes, params,
};

use crate::publish::{at, is};

/// The subscription's name in the `credit` schema.
pub const NAME: &str = "targets_feed";

struct Feed;

/// Starts the feed.
pub fn spawn(store: &PgEventStore) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(store, SubscriptionConfig::new("credit", NAME), Feed)
}

/// `NO_HEAT` → `no_heat`.
fn snake(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn text(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// A route's fields, empty ones absent.
fn route(route: Option<&intake::Route>) -> [Option<&str>; 4] {
    match route {
        Some(r) => [
            text(&r.district),
            text(&r.station),
            if r.routed { text(&r.building_id) } else { None },
            text(&r.supplier_id),
        ],
        None => [None; 4],
    }
}

fn rating(rating: dispatch::Rating) -> Option<&'static str> {
    match rating {
        dispatch::Rating::Satisfied => Some("satisfied"),
        dispatch::Rating::BasicallySatisfied => Some("basically_satisfied"),
        dispatch::Rating::Unsatisfied => Some("unsatisfied"),
        dispatch::Rating::Unspecified => None,
    }
}

fn cause(cause: dispatch::Cause) -> &'static str {
    match cause {
        dispatch::Cause::Supplier => "supplier",
        dispatch::Cause::ResidentSide => "resident_side",
        dispatch::Cause::DeveloperHandover => "developer_handover",
        dispatch::Cause::Upstream => "upstream",
        dispatch::Cause::Unspecified => "unspecified",
    }
}

/// Accepted complaints waiting to be inserted together, column by column: one statement for a
/// run of them, whose rows the table's statement trigger counts per day and scope at once.
#[derive(Default)]
struct Accepted {
    complaint_id: Vec<String>,
    household: Vec<String>,
    category: Vec<String>,
    source: Vec<String>,
    district: Vec<Option<String>>,
    station: Vec<Option<String>>,
    building_id: Vec<Option<String>>,
    supplier_id: Vec<Option<String>>,
    filed_at: Vec<chrono::DateTime<chrono::Utc>>,
}

impl Accepted {
    fn add(&mut self, m: intake::ComplaintAccepted) {
        let [district, station, building, supplier] =
            route(m.route.as_ref()).map(|v| v.map(str::to_owned));
        self.category.push(snake(m.category().as_str_name()));
        self.source.push(snake(m.source().as_str_name()));
        self.complaint_id.push(m.complaint_id);
        self.household.push(m.household);
        self.district.push(district);
        self.station.push(station);
        self.building_id.push(building);
        self.supplier_id.push(supplier);
        self.filed_at.push(at(m.filed_at_ms));
    }

    /// Queues the run's insert, if any: before a statement on the complaints' rows, so that
    /// those keep the events' order (a merge reads the complaint it joins, a route or a
    /// rejection updates its row). Tickets' statements do not read the complaints' rows.
    fn flush(&mut self, writes: &mut Writes) {
        if self.complaint_id.is_empty() {
            return;
        }
        let run = std::mem::take(self);
        writes.push(
            "INSERT INTO credit.target_complaint (complaint_id, household, category, source, \
             district, station, building_id, supplier_id, filed_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::timestamptz[]) ON CONFLICT DO NOTHING",
            params![
                run.complaint_id,
                run.household,
                run.category,
                run.source,
                run.district,
                run.station,
                run.building_id,
                run.supplier_id,
                run.filed_at
            ],
        );
    }
}

/// Tickets opened, dispatched and closed, waiting to go out in three statements (one per
/// kind, in that order) where each event used to be one. The order is the events' wherever it
/// matters: a ticket's update never goes before its own insert (an insert for a ticket with an
/// update waiting sends the run first), and a ticket's second update of one kind goes in the
/// next run (sequentially, a later dispatch's supplier wins and the first time stays). Updates
/// of different kinds set different columns, so their order does not matter.
#[derive(Default)]
struct Tickets {
    opened: OpenedTickets,
    dispatched: (Vec<String>, Vec<String>, Vec<chrono::DateTime<chrono::Utc>>),
    closed: (Vec<String>, Vec<chrono::DateTime<chrono::Utc>>),
    /// The tickets with a dispatch, and with a closing, waiting.
    dispatching: HashSet<String>,
    closing: HashSet<String>,
}

/// The columns of opened tickets' rows.
#[derive(Default)]
struct OpenedTickets {
    ticket_id: Vec<String>,
    incident: Vec<bool>,
    category: Vec<String>,
    district: Vec<Option<String>>,
    station: Vec<Option<String>>,
    building_id: Vec<Option<String>>,
    supplier_id: Vec<Option<String>>,
    opened_at: Vec<chrono::DateTime<chrono::Utc>>,
    households: Vec<i32>,
}

impl Tickets {
    fn open(&mut self, writes: &mut Writes, m: dispatch::TicketOpened) {
        if self.dispatching.contains(&m.ticket_id) || self.closing.contains(&m.ticket_id) {
            self.flush(writes);
        }
        let [district, station, building, supplier] =
            route(m.route.as_ref()).map(|v| v.map(str::to_owned));
        let o = &mut self.opened;
        o.incident.push(m.origin == "incident");
        o.category.push(snake(m.category().as_str_name()));
        o.district.push(district);
        o.station.push(station);
        o.building_id.push(building);
        o.supplier_id.push(supplier);
        o.opened_at.push(at(m.opened_at_ms));
        o.households
            .push(i32::try_from(m.households.len()).unwrap_or(i32::MAX));
        o.ticket_id.push(m.ticket_id);
    }

    fn dispatch(
        &mut self,
        writes: &mut Writes,
        ticket: String,
        supplier: String,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        if !self.dispatching.insert(ticket.clone()) {
            self.flush(writes);
            self.dispatching.insert(ticket.clone());
        }
        self.dispatched.0.push(ticket);
        self.dispatched.1.push(supplier);
        self.dispatched.2.push(at);
    }

    fn close(&mut self, writes: &mut Writes, ticket: String, at: chrono::DateTime<chrono::Utc>) {
        if !self.closing.insert(ticket.clone()) {
            self.flush(writes);
            self.closing.insert(ticket.clone());
        }
        self.closed.0.push(ticket);
        self.closed.1.push(at);
    }

    /// Queues what waits: the inserts, then the updates.
    fn flush(&mut self, writes: &mut Writes) {
        let Tickets {
            opened,
            dispatched,
            closed,
            ..
        } = std::mem::take(self);
        if !opened.ticket_id.is_empty() {
            writes.push(
                "INSERT INTO credit.target_ticket (ticket_id, incident, category, district, \
                 station, building_id, supplier_id, opened_at, households) \
                 SELECT * FROM unnest($1::text[], $2::boolean[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::int[]) \
                 ON CONFLICT DO NOTHING",
                params![
                    opened.ticket_id,
                    opened.incident,
                    opened.category,
                    opened.district,
                    opened.station,
                    opened.building_id,
                    opened.supplier_id,
                    opened.opened_at,
                    opened.households
                ],
            );
        }
        if !dispatched.0.is_empty() {
            writes.push(
                "UPDATE credit.target_ticket t SET supplier_id = d.supplier_id, \
                 dispatched_at = coalesce(t.dispatched_at, d.at) \
                 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) \
                 AS d(ticket_id, supplier_id, at) WHERE t.ticket_id = d.ticket_id",
                params![dispatched.0, dispatched.1, dispatched.2],
            );
        }
        if !closed.0.is_empty() {
            writes.push(
                "UPDATE credit.target_ticket t SET closed_at = coalesce(t.closed_at, c.at) \
                 FROM unnest($1::text[], $2::timestamptz[]) AS c(ticket_id, at) \
                 WHERE t.ticket_id = c.ticket_id",
                params![closed.0, closed.1],
            );
        }
    }
}

/// The statements that apply one published event to the board's tables; an accepted complaint
/// joins the run in `accepted`, queued before the next statement on complaints' rows or at the
/// batch's end; a ticket opened, dispatched or closed joins the run in `tickets`, queued
/// before the next other statement on tickets' rows, or at the batch's end.
fn apply(
    writes: &mut Writes,
    accepted: &mut Accepted,
    tickets: &mut Tickets,
    event: &PublishedEvent,
) -> Result<(), HandlerError> {
    if is::<intake::ComplaintAccepted>(event) {
        accepted.add(event.decode()?);
        return Ok(());
    }
    if is::<intake::ComplaintMerged>(event) {
        accepted.flush(writes);
        let m: intake::ComplaintMerged = event.decode()?;
        writes.push(
            "INSERT INTO credit.target_complaint (complaint_id, into_id, household, category, \
             source, district, station, building_id, supplier_id, filed_at) \
             SELECT $1, $2, $3, $4, $5, i.district, i.station, i.building_id, i.supplier_id, $6 \
             FROM (SELECT 1) one LEFT JOIN credit.target_complaint i ON i.complaint_id = $2 \
             ON CONFLICT DO NOTHING",
            params![
                m.complaint_id.clone(),
                m.into_complaint_id.clone(),
                m.household.clone(),
                snake(m.category().as_str_name()),
                snake(m.source().as_str_name()),
                at(m.filed_at_ms)
            ],
        );
    } else if is::<intake::ComplaintRouted>(event) {
        accepted.flush(writes);
        let m: intake::ComplaintRouted = event.decode()?;
        let [district, station, building, supplier] = route(m.route.as_ref());
        writes.push(
            "UPDATE credit.target_complaint SET district = $2, station = $3, building_id = $4, \
             supplier_id = $5 WHERE complaint_id = $1 OR into_id = $1",
            params![
                m.complaint_id.clone(),
                district.map(str::to_owned),
                station.map(str::to_owned),
                building.map(str::to_owned),
                supplier.map(str::to_owned)
            ],
        );
    } else if is::<intake::ComplaintRejected>(event) {
        accepted.flush(writes);
        let m: intake::ComplaintRejected = event.decode()?;
        writes.push(
            "UPDATE credit.target_complaint SET rejected = true WHERE complaint_id = $1",
            params![m.complaint_id.clone()],
        );
    } else if is::<dispatch::TicketOpened>(event) {
        tickets.open(writes, event.decode()?);
    } else if is::<dispatch::TicketDispatched>(event) {
        let m: dispatch::TicketDispatched = event.decode()?;
        tickets.dispatch(writes, m.ticket_id, m.supplier_id, at(m.dispatched_at_ms));
    } else if is::<dispatch::TicketClosed>(event) {
        let m: dispatch::TicketClosed = event.decode()?;
        tickets.close(writes, m.ticket_id, at(m.closed_at_ms));
    } else if is::<dispatch::TicketSigned>(event) {
        tickets.flush(writes);
        let m: dispatch::TicketSigned = event.decode()?;
        writes.push(
            "UPDATE credit.target_ticket SET signed_at = coalesce(signed_at, $2) \
             WHERE ticket_id = $1",
            params![m.ticket_id.clone(), at(m.signed_at_ms)],
        );
    } else if is::<dispatch::TemperatureMeasured>(event) {
        tickets.flush(writes);
        let m: dispatch::TemperatureMeasured = event.decode()?;
        writes.push(
            "INSERT INTO credit.target_measurement (event_id, ticket_id, district, supplier_id, \
             tenths, at) VALUES ($1, $2, \
             (SELECT district FROM credit.target_ticket WHERE ticket_id = $2), $3, $4, $5) \
             ON CONFLICT DO NOTHING",
            params![
                event.event_id,
                m.ticket_id.clone(),
                m.supplier_id.clone(),
                m.tenths_celsius,
                at(m.measured_at_ms)
            ],
        );
    } else if is::<dispatch::TicketResolved>(event) {
        tickets.flush(writes);
        let m: dispatch::TicketResolved = event.decode()?;
        writes.push(
            "UPDATE credit.target_ticket SET resolved_at = coalesce(resolved_at, $2), \
             cause = $3 WHERE ticket_id = $1",
            params![m.ticket_id.clone(), at(m.resolved_at_ms), cause(m.cause())],
        );
    } else if is::<dispatch::FeedbackGiven>(event) {
        tickets.flush(writes);
        let m: dispatch::FeedbackGiven = event.decode()?;
        verdict(
            writes,
            event,
            &m.ticket_id,
            &m.supplier_id,
            m.rating(),
            m.given_at_ms,
        );
    } else if is::<dispatch::MemberVerdictGiven>(event) {
        tickets.flush(writes);
        let m: dispatch::MemberVerdictGiven = event.decode()?;
        verdict(
            writes,
            event,
            &m.ticket_id,
            &m.supplier_id,
            m.rating(),
            m.given_at_ms,
        );
    } else if is::<dispatch::TicketReopened>(event) {
        tickets.flush(writes);
        let m: dispatch::TicketReopened = event.decode()?;
        writes.push(
            "UPDATE credit.target_ticket SET reopened = reopened + 1 WHERE ticket_id = $1",
            params![m.ticket_id.clone()],
        );
    }
    Ok(())
}

fn verdict(
    writes: &mut Writes,
    event: &PublishedEvent,
    ticket: &str,
    supplier: &str,
    given: dispatch::Rating,
    at_ms: i64,
) {
    let Some(rating) = rating(given) else {
        return;
    };
    writes.push(
        "INSERT INTO credit.target_verdict (event_id, ticket_id, district, supplier_id, rating, \
         at) VALUES ($1, $2, (SELECT district FROM credit.target_ticket WHERE ticket_id = $2), \
         $3, $4, $5) ON CONFLICT DO NOTHING",
        params![
            event.event_id,
            ticket.to_owned(),
            supplier.to_owned(),
            rating,
            at(at_ms)
        ],
    );
}

#[async_trait]
impl eventstore::Handler for Feed {
    /// The types [`apply`] acts on.
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![
            intake::ComplaintAccepted::full_name(),
            intake::ComplaintMerged::full_name(),
            intake::ComplaintRouted::full_name(),
            intake::ComplaintRejected::full_name(),
            dispatch::TicketOpened::full_name(),
            dispatch::TicketDispatched::full_name(),
            dispatch::TicketSigned::full_name(),
            dispatch::TemperatureMeasured::full_name(),
            dispatch::TicketResolved::full_name(),
            dispatch::FeedbackGiven::full_name(),
            dispatch::MemberVerdictGiven::full_name(),
            dispatch::TicketReopened::full_name(),
            dispatch::TicketClosed::full_name(),
        ])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let mut writes = Writes::new();
        let mut accepted = Accepted::default();
        let mut tickets = Tickets::default();
        for event in events {
            apply(&mut writes, &mut accepted, &mut tickets, event)?;
        }
        accepted.flush(&mut writes);
        tickets.flush(&mut writes);
        if !writes.is_empty() {
            // The rows' triggers noted what the daily counts gain; add it once per day and
            // scope.
            writes.push("SELECT credit.target_day_fold()", Vec::new());
        }
        writes.send(batch.tx()).await?;
        Ok(())
    }
}
