//! Dispatch's news, for residents and the 12345 platform: a subscription to dispatch's
//! published events that shows each step of the repair in the complaint's timeline, marks the
//! complaint signed for (so it can no longer be withdrawn), and owes the platform its
//! `replied` and `finished` statuses for the work orders the ticket carries.
//!
//! A batch first appends (the complaints' `Signed` notes), then writes its rows: an append
//! must be its transaction's first write.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::Name;
use contracts::dispatch::v1 as dispatch;
use eventstore::{
    Actor, Batch, Channel, EventMetadata, HandlerError, PgEventStore, PublishedEvent, StoreError,
    SubscriptionConfig, SubscriptionHandle, Writes, params,
};
use uuid::Uuid;

use crate::complaints::{CommandError, Complaints};
use crate::domain::complaint::{ComplaintCommand, ComplaintError};
use crate::hotline::at;

/// The note of a `closed` step when the repair was completed (Open311 reads it).
pub(crate) const REPAIR_CLOSED: &str = "closed";
/// The note of a `closed` step when the ticket was cancelled before any repair.
pub(crate) const CLOSED_WITHOUT_REPAIR: &str = "closed without a repair";

/// The subscription's name in the `intake` schema.
pub const NAME: &str = "dispatch_news";

/// One event as the resident reads it.
struct Step {
    event_id: Uuid,
    ticket: Uuid,
    at: DateTime<Utc>,
    event: &'static str,
    by_role: String,
    note: String,
    /// Complaints the ticket takes on with this event.
    joins: Vec<Uuid>,
    /// The one complaint whose timeline shows it (a filer's own verdict); `None`: every
    /// complaint the ticket carries.
    only: Option<Uuid>,
    /// The supplier signed for it.
    signed: bool,
    /// Who works it now, when that changes.
    crew: Option<CrewChange>,
    /// What the 12345 platform is owed.
    platform: Option<&'static str>,
}

fn clock_name(clock: i32) -> &'static str {
    match dispatch::Clock::try_from(clock).unwrap_or_default() {
        dispatch::Clock::Resident => "resolution",
        dispatch::Clock::Sign => "sign-for",
        dispatch::Clock::OnSite => "on-site",
        dispatch::Clock::Restore => "restore",
        dispatch::Clock::HotlineFinish => "hotline",
        dispatch::Clock::Callback => "callback",
        dispatch::Clock::StopHeatingReply => "stop-heating reply",
        dispatch::Clock::Unspecified => "service",
    }
}

fn cause_words(cause: i32) -> &'static str {
    match dispatch::Cause::try_from(cause).unwrap_or_default() {
        dispatch::Cause::Supplier => "a fault of the heating supplier",
        dispatch::Cause::ResidentSide => "inside the home",
        dispatch::Cause::DeveloperHandover => "the building's developer has not handed over",
        dispatch::Cause::Upstream => "the heat source upstream",
        dispatch::Cause::Unspecified => "not stated",
    }
}

/// Reads one published event; `None` for what residents are not shown.
fn step(event: &PublishedEvent) -> Result<Option<Step>, HandlerError> {
    let mut joins = Vec::new();
    let mut only = None;
    let mut signed = false;
    let mut crew = None;
    let mut platform = None;
    let (ticket, name, note, ms) = if event.is::<dispatch::TicketOpened>() {
        let e: dispatch::TicketOpened = event.decode()?;
        for id in &e.complaint_ids {
            joins.push(id.parse()?);
        }
        let note = if e.origin == "incident" {
            format!(
                "handled as one area repair for {} homes nearby",
                e.households.len()
            )
        } else {
            "repair ticket opened".to_owned()
        };
        (e.ticket_id, "ticket_opened", note, e.opened_at_ms)
    } else if event.is::<dispatch::ComplaintAttached>() {
        let e: dispatch::ComplaintAttached = event.decode()?;
        let joined = e.complaint_id.parse()?;
        joins.push(joined);
        // Told to the complaint that joined; the ticket's others were not added to anything.
        only = Some(joined);
        let note = "added to the repair ticket".to_owned();
        (e.ticket_id, "attached", note, e.attached_at_ms)
    } else if event.is::<dispatch::TicketDispatched>() {
        let e: dispatch::TicketDispatched = event.decode()?;
        let note = format!("sent to heating supplier {}", e.supplier_id);
        (e.ticket_id, "dispatched", note, e.dispatched_at_ms)
    } else if event.is::<dispatch::TicketSigned>() {
        let e: dispatch::TicketSigned = event.decode()?;
        signed = true;
        let note = "the supplier signed for the repair".to_owned();
        (e.ticket_id, "signed", note, e.signed_at_ms)
    } else if event.is::<dispatch::TicketReturned>() {
        let e: dispatch::TicketReturned = event.decode()?;
        let note = "the supplier returned the ticket; a dispatcher is reassigning it".to_owned();
        (e.ticket_id, "returned", note, e.returned_at_ms)
    } else if event.is::<dispatch::CrewAssigned>() {
        let e: dispatch::CrewAssigned = event.decode()?;
        crew = Some(CrewChange::Assigned(e.crew_id.clone()));
        let note = "a repair crew is on its way".to_owned();
        (e.ticket_id, "crew_assigned", note, e.assigned_at_ms)
    } else if event.is::<dispatch::CrewOnSite>() {
        let e: dispatch::CrewOnSite = event.decode()?;
        (
            e.ticket_id,
            "crew_on_site",
            "the crew arrived".to_owned(),
            e.arrived_at_ms,
        )
    } else if event.is::<dispatch::TemperatureMeasured>() {
        let e: dispatch::TemperatureMeasured = event.decode()?;
        let note = format!(
            "{} measured at {:.1} ℃ (the standard is 18 ℃)",
            e.room,
            f64::from(e.tenths_celsius) / 10.0
        );
        (e.ticket_id, "measured", note, e.measured_at_ms)
    } else if event.is::<dispatch::TicketResolved>() {
        let e: dispatch::TicketResolved = event.decode()?;
        platform = Some("replied");
        let note = format!(
            "repair finished; cause: {}{}; please rate it",
            cause_words(e.cause),
            if e.standard_met {
                ", room at standard"
            } else {
                ""
            }
        );
        (e.ticket_id, "resolved", note, e.resolved_at_ms)
    } else if event.is::<dispatch::FeedbackGiven>() {
        let e: dispatch::FeedbackGiven = event.decode()?;
        let rating = dispatch::Rating::try_from(e.rating).unwrap_or_default();
        let note = format!(
            "rated {}",
            rating.as_str_name().to_ascii_lowercase().replace('_', " ")
        );
        (e.ticket_id, "rated", note, e.given_at_ms)
    } else if event.is::<dispatch::MemberVerdictGiven>() {
        let e: dispatch::MemberVerdictGiven = event.decode()?;
        only = Some(e.complaint_id.parse()?);
        let rating = dispatch::Rating::try_from(e.rating).unwrap_or_default();
        let note = format!(
            "you rated the repair {} (recorded for you; the repair's own verdict is the \
             reporting resident's or the callback's)",
            rating.as_str_name().to_ascii_lowercase().replace('_', " ")
        );
        (e.ticket_id, "rated", note, e.given_at_ms)
    } else if event.is::<dispatch::TicketReopened>() {
        let e: dispatch::TicketReopened = event.decode()?;
        crew = Some(CrewChange::Released);
        let note = "reopened for another repair".to_owned();
        (e.ticket_id, "reopened", note, e.reopened_at_ms)
    } else if event.is::<dispatch::SlaBreached>() {
        let e: dispatch::SlaBreached = event.decode()?;
        if e.clock() == dispatch::Clock::StopHeatingReply {
            // An application, not a repair: shown on the application itself.
            return Ok(None);
        }
        let note = format!(
            "the supplier missed the {} deadline ({}); the case is escalated",
            clock_name(e.clock),
            e.target
        );
        (e.ticket_id, "deadline_missed", note, e.recorded_at_ms)
    } else if event.is::<dispatch::TicketSupervised>() {
        let e: dispatch::TicketSupervised = event.decode()?;
        let note = format!("supervised by the {} (督办)", e.by_role);
        (e.ticket_id, "supervised", note, e.supervised_at_ms)
    } else if event.is::<dispatch::TicketClosed>() {
        let e: dispatch::TicketClosed = event.decode()?;
        crew = Some(CrewChange::Released);
        let note = match e.outcome.as_str() {
            "merged" => format!(
                "handled together with nearby homes as ticket {}",
                e.into_ticket_id
            ),
            "cancelled" => CLOSED_WITHOUT_REPAIR.to_owned(),
            _ => {
                platform = Some("finished");
                REPAIR_CLOSED.to_owned()
            }
        };
        (e.ticket_id, "closed", note, e.closed_at_ms)
    } else {
        return Ok(None);
    };
    Ok(Some(Step {
        event_id: event.event_id,
        ticket: ticket.parse()?,
        at: at(ms),
        event: name,
        by_role: event.metadata.actor.role.clone(),
        note,
        joins,
        only,
        signed,
        crew,
        platform,
    }))
}

/// A change of the crew working a ticket: it reaches the complaints' addresses while it does.
enum CrewChange {
    Assigned(String),
    Released,
}

struct News;

#[async_trait]
impl eventstore::Handler for News {
    /// The types [`step`] and [`application_change`] act on.
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![
            dispatch::TicketOpened::full_name(),
            dispatch::ComplaintAttached::full_name(),
            dispatch::TicketDispatched::full_name(),
            dispatch::TicketSigned::full_name(),
            dispatch::TicketReturned::full_name(),
            dispatch::CrewAssigned::full_name(),
            dispatch::CrewOnSite::full_name(),
            dispatch::TemperatureMeasured::full_name(),
            dispatch::TicketResolved::full_name(),
            dispatch::FeedbackGiven::full_name(),
            dispatch::MemberVerdictGiven::full_name(),
            dispatch::TicketReopened::full_name(),
            dispatch::SlaBreached::full_name(),
            dispatch::TicketSupervised::full_name(),
            dispatch::TicketClosed::full_name(),
            dispatch::StopHeatingReplied::full_name(),
            dispatch::HeatingStopped::full_name(),
            dispatch::HeatingRestored::full_name(),
        ])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let mut steps = Vec::new();
        let mut applications = Vec::new();
        for event in events {
            if let Some(step) = step(event)? {
                steps.push(step);
            } else if let Some(change) = application_change(event)? {
                applications.push(change);
            }
        }
        self.repairs(batch, steps).await?;
        for change in applications {
            change.write(batch).await?;
        }
        Ok(())
    }
}

/// What dispatch did with a stop-heating application.
enum ApplicationChange {
    Replied {
        id: Uuid,
        approved: bool,
        refusal: String,
        note: String,
        at: DateTime<Utc>,
    },
    Done {
        id: Uuid,
        at: DateTime<Utc>,
    },
}

fn application_change(event: &PublishedEvent) -> Result<Option<ApplicationChange>, HandlerError> {
    Ok(if event.is::<dispatch::StopHeatingReplied>() {
        let e: dispatch::StopHeatingReplied = event.decode()?;
        Some(ApplicationChange::Replied {
            id: e.application_id.parse()?,
            approved: e.approved,
            refusal: e.refusal,
            note: e.note,
            at: at(e.replied_at_ms),
        })
    } else if event.is::<dispatch::HeatingStopped>() {
        let e: dispatch::HeatingStopped = event.decode()?;
        Some(ApplicationChange::Done {
            id: e.application_id.parse()?,
            at: at(e.done_at_ms),
        })
    } else if event.is::<dispatch::HeatingRestored>() {
        let e: dispatch::HeatingRestored = event.decode()?;
        Some(ApplicationChange::Done {
            id: e.application_id.parse()?,
            at: at(e.done_at_ms),
        })
    } else {
        None
    })
}

impl ApplicationChange {
    /// Moves the resident's view of the application on; a redelivery writes the same.
    async fn write(&self, batch: &Batch<'_>) -> Result<(), HandlerError> {
        match self {
            ApplicationChange::Replied {
                id,
                approved,
                refusal,
                note,
                at,
            } => {
                let status = if *approved { "approved" } else { "refused" };
                let refusal = (!approved).then_some(refusal);
                batch
                    .tx()
                    .execute(
                        "UPDATE intake.stop_heating SET status = $2, refusal = $3, note = $4,                          replied_at = $5 WHERE application_id = $1 AND status = 'applied'",
                        &[id, &status, &refusal, note, at],
                    )
                    .await?;
            }
            ApplicationChange::Done { id, at } => {
                batch
                    .tx()
                    .execute(
                        "UPDATE intake.stop_heating SET status = 'done', done_at = $2                          WHERE application_id = $1",
                        &[id, at],
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

impl News {
    /// Shows the repair steps in the complaints' timelines.
    async fn repairs(&self, batch: &mut Batch<'_>, steps: Vec<Step>) -> Result<(), HandlerError> {
        if steps.is_empty() {
            return Ok(());
        }
        // Reads first: who each ticket carries (before this batch), then this batch's joins.
        // Only a ticket with a step for all its complaints needs them, and not one opened in
        // this batch (it carried nothing before): an area repair's ticket takes on a complaint
        // at a time, each told only to the one that joined, and reading its hundreds of members
        // for every batch of joins, or looking up every new ticket of a batch, was most of
        // this feed's reads.
        let opened: HashSet<Uuid> = steps
            .iter()
            .filter(|s| s.event == "ticket_opened")
            .map(|s| s.ticket)
            .collect();
        let mut tickets: Vec<Uuid> = steps
            .iter()
            .filter(|s| s.only.is_none() && !opened.contains(&s.ticket))
            .map(|s| s.ticket)
            .collect();
        tickets.sort_unstable();
        tickets.dedup();
        let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for row in batch
            .tx()
            .query(
                "SELECT ticket_id, complaint_id FROM intake.ticket_member \
                 WHERE ticket_id = ANY($1)",
                &[&tickets],
            )
            .await?
        {
            members.entry(row.get(0)).or_default().push(row.get(1));
        }
        let mut carried = Vec::with_capacity(steps.len());
        for step in &steps {
            let list = members.entry(step.ticket).or_default();
            for joined in &step.joins {
                if !list.contains(joined) {
                    list.push(*joined);
                }
            }
            carried.push(match step.only {
                Some(own) => vec![own],
                None => list.clone(),
            });
        }
        // Appends: a signed ticket's complaints can no longer be withdrawn.
        for (step, complaints) in steps.iter().zip(&carried) {
            if !step.signed {
                continue;
            }
            let metadata =
                EventMetadata::new(Actor::system(), Channel::System).caused_by(step.event_id);
            for complaint in complaints {
                let command = ComplaintCommand::RecordSigned { at: step.at };
                match Complaints::execute_in_batch(batch, *complaint, command, &metadata).await {
                    Ok(()) => {}
                    // Withdrawn, rejected or merged meanwhile: nothing to note.
                    Err(CommandError::Refused(
                        ComplaintError::NotOpen(_) | ComplaintError::NotFiled,
                    )) => {}
                    Err(error) => return Err(error.into()),
                }
            }
        }
        // Then the rows, sent together: one statement per table for the whole batch, not one
        // per event (statements, not rows, were most of what this feed cost the database).
        let mut writes = Writes::new();
        let mut members = Members::default();
        let mut progress = Progress::default();
        // Who works each ticket at the batch's end: its last change wins.
        let mut crews: Vec<(Uuid, Option<String>)> = Vec::new();
        for (step, complaints) in steps.iter().zip(&carried) {
            for joined in &step.joins {
                members.tickets.push(step.ticket);
                members.complaints.push(*joined);
            }
            progress.add(step, complaints);
            if let Some(change) = &step.crew {
                let crew = match change {
                    CrewChange::Assigned(crew) => Some(crew.clone()),
                    CrewChange::Released => None,
                };
                crews.retain(|(ticket, _)| *ticket != step.ticket);
                crews.push((step.ticket, crew));
            }
            if let Some(status) = step.platform {
                owe_platform(batch, &mut writes, step, complaints, status).await?;
            }
        }
        if !members.tickets.is_empty() {
            writes.push(
                "INSERT INTO intake.ticket_member (ticket_id, complaint_id) \
                 SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING",
                params![members.tickets, members.complaints],
            );
        }
        if !progress.complaints.is_empty() {
            writes.push(
                "INSERT INTO intake.complaint_progress \
                 (complaint_id, event_id, at, event, by_role, note) \
                 SELECT c.complaint, s.event_id, s.at, s.event, s.by_role, s.note \
                 FROM unnest($1::uuid[], $2::int[]) AS c (complaint, step) \
                 JOIN unnest($3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[]) \
                 WITH ORDINALITY AS s (event_id, at, event, by_role, note, n) ON s.n = c.step \
                 ON CONFLICT DO NOTHING",
                params![
                    progress.complaints,
                    progress.steps,
                    progress.event_ids,
                    progress.ats,
                    progress.events,
                    progress.roles,
                    progress.notes,
                ],
            );
        }
        let (mut assigned, mut crew_ids, mut released) = (Vec::new(), Vec::new(), Vec::new());
        for (ticket, crew) in crews {
            match crew {
                Some(crew) => {
                    assigned.push(ticket);
                    crew_ids.push(crew);
                }
                None => released.push(ticket),
            }
        }
        if !assigned.is_empty() {
            writes.push(
                "INSERT INTO intake.ticket_crew (ticket_id, crew_id) \
                 SELECT * FROM unnest($1::uuid[], $2::text[]) \
                 ON CONFLICT (ticket_id) DO UPDATE SET crew_id = EXCLUDED.crew_id",
                params![assigned, crew_ids],
            );
        }
        if !released.is_empty() {
            writes.push(
                "DELETE FROM intake.ticket_crew WHERE ticket_id = ANY($1)",
                params![released],
            );
        }
        // After the batch's queued appends, with them.
        batch.queue_all(writes);
        Ok(())
    }
}

/// The complaints a batch's tickets take on, as two columns.
#[derive(Default)]
struct Members {
    tickets: Vec<Uuid>,
    complaints: Vec<Uuid>,
}

/// A batch's timeline rows as columns: each step once (`event_ids` to `notes`), and for each
/// complaint that shows it the step's number, counted from 1 as `WITH ORDINALITY` counts.
#[derive(Default)]
struct Progress {
    complaints: Vec<Uuid>,
    steps: Vec<i32>,
    event_ids: Vec<Uuid>,
    ats: Vec<DateTime<Utc>>,
    events: Vec<&'static str>,
    roles: Vec<String>,
    notes: Vec<String>,
}

impl Progress {
    fn add(&mut self, step: &Step, complaints: &[Uuid]) {
        if complaints.is_empty() {
            return;
        }
        self.event_ids.push(step.event_id);
        self.ats.push(step.at);
        self.events.push(step.event);
        self.roles.push(step.by_role.clone());
        self.notes.push(step.note.clone());
        let number = i32::try_from(self.event_ids.len()).unwrap_or(i32::MAX);
        for complaint in complaints {
            self.complaints.push(*complaint);
            self.steps.push(number);
        }
    }
}

/// Queues the platform's status for every work order the ticket carries, each keyed by an id
/// derived from the event and the work order, so a redelivered event is owed once. (The work
/// orders are read at once: no write of the batch changes them.)
async fn owe_platform(
    batch: &Batch<'_>,
    writes: &mut Writes,
    step: &Step,
    complaints: &[Uuid],
    status: &'static str,
) -> Result<(), HandlerError> {
    let orders = batch
        .tx()
        .query(
            "SELECT hotline_work_order FROM intake.complaint \
             WHERE complaint_id = ANY($1) AND hotline_work_order IS NOT NULL",
            &[&complaints],
        )
        .await?;
    for row in orders {
        let work_order: String = row.get(0);
        let key = Uuid::new_v5(&step.event_id, work_order.as_bytes());
        writes.push(
            include_str!("sql/outbox_insert.sql"),
            params![key, work_order, status, step.note.clone(), step.at],
        );
    }
    Ok(())
}

/// Starts the subscription.
pub fn spawn(store: &PgEventStore) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(store, SubscriptionConfig::new("intake", NAME), News)
}
