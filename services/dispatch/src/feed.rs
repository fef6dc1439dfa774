//! Intake's news: a subscription to intake's published events that opens exactly one ticket
//! per accepted complaint or declared incident, attaches merged complaints, routes, cancels,
//! and merges an incident's complaints into its ticket. A cold home filed while its area's
//! incident is open goes straight onto the incident's ticket.
//!
//! A ticket's id is the id of the complaint or incident it is opened for, so a redelivered
//! acceptance finds its ticket and opens nothing. Each decision appends in the batch's
//! transaction and projects right after; the batch's first write is always an append.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::Name;
use contracts::intake::v1 as intake;
use eventstore::{
    Actor, Batch, Channel, EventMetadata, HandlerError, PgEventStore, PublishedEvent, StoreError,
    SubscriptionConfig, SubscriptionHandle,
};
use platform::clock::Clock;
use platform::stop_heating::StopHeatingTerms;
use uuid::Uuid;

use crate::domain::publish::{category_code, channel_code, priority_code};
use crate::domain::sla::Sla;
use crate::domain::stop_heating::{CaseCommand, CaseError, Filed, Kind, StopHeatingCase};
use crate::domain::ticket::{Member, Subject, Ticket, TicketCommand, TicketError};
use crate::domain::values::Place;
use crate::projection::{Projected, project_all};
use crate::stop_heating;

/// The subscription's name in the `dispatch` schema.
pub const NAME: &str = "intake_feed";

struct Feed {
    sla: Arc<Sla>,
    terms: StopHeatingTerms,
    clock: Arc<dyn Clock>,
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Starts the feed.
pub fn spawn(
    store: &PgEventStore,
    sla: Arc<Sla>,
    terms: StopHeatingTerms,
    clock: Arc<dyn Clock>,
) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("dispatch", NAME),
        Feed { sla, terms, clock },
    )
}

impl Feed {
    /// Runs a command on a ticket inside the batch; a refusal is logged and skipped (the
    /// event asked for something the ticket is past), a failure fails the batch.
    async fn run(
        &self,
        batch: &mut Batch<'_>,
        later: &mut Later,
        ticket_id: Uuid,
        command: TicketCommand,
        metadata: &EventMetadata,
    ) -> Result<Option<Ticket>, HandlerError> {
        let context = batch.load::<Ticket>(&ticket_id.to_string()).await?;
        let events = match context.state().decide(command, &self.sla) {
            Ok(events) => events,
            Err(TicketError::AlreadyOpened) => return Ok(Some(context.state().clone())),
            Err(refusal) => {
                tracing::info!(ticket.id = %ticket_id, %refusal, "intake event not applied");
                return Ok(None);
            }
        };
        let mut ticket = context.state().clone();
        if events.is_empty() {
            return Ok(Some(ticket));
        }
        // Sent with the batch's other appends and rows, not waited for one by one.
        let version = batch.append_queued(&context, &events, metadata);
        for event in &events {
            cqrs_es::Aggregate::apply(&mut ticket, event.clone());
        }
        later.note(ticket_id, context.state(), &ticket, version);
        Ok(Some(ticket))
    }

    /// The ticket that carries `complaint_id` now (its own, or the incident's it was merged
    /// into).
    async fn carrier(
        &self,
        batch: &mut Batch<'_>,
        later: &mut Later,
        complaint_id: Uuid,
    ) -> Result<Uuid, HandlerError> {
        // The rows must show this batch's earlier changes.
        later.project(batch, self.clock.now()).await?;
        let row = batch
            .tx()
            .query_opt(
                "SELECT ticket_id FROM dispatch.ticket_complaint WHERE complaint_id = $1",
                &[&complaint_id],
            )
            .await?;
        Ok(row.map_or(complaint_id, |r| r.get(0)))
    }

    async fn member(
        &self,
        batch: &Batch<'_>,
        complaint_id: &str,
        household: &str,
    ) -> Result<(Member, Option<Ticket>), HandlerError> {
        let own = batch.load::<Ticket>(complaint_id).await?;
        let filed_by = own
            .state()
            .members
            .iter()
            .find(|m| m.complaint_id == complaint_id)
            .map(|m| m.filed_by.clone())
            .unwrap_or_default();
        let ticket = (own.current_sequence() > 0).then(|| own.state().clone());
        Ok((
            Member {
                complaint_id: complaint_id.to_owned(),
                household: household.to_owned(),
                filed_by,
            },
            ticket,
        ))
    }

    async fn apply(
        &self,
        batch: &mut Batch<'_>,
        later: &mut Later,
        event: &PublishedEvent,
    ) -> Result<(), HandlerError> {
        let metadata = EventMetadata::new(Actor::system(), Channel::System)
            .caused_by(event.event_id)
            .correlated_with(event.metadata.correlation_id);
        let metadata = match &event.metadata.request_id {
            Some(request) => metadata.with_request_id(request.clone()),
            None => metadata,
        };
        let now = self.clock.now();
        if event.is::<intake::ComplaintAccepted>() {
            let accepted: intake::ComplaintAccepted = event.decode()?;
            let id: Uuid = accepted.complaint_id.parse()?;
            let source = intake::Source::try_from(accepted.source).unwrap_or_default();
            let subject = Subject {
                origin: "complaint".into(),
                category: category_code(accepted.category),
                priority: priority_code(accepted.priority),
                place: accepted.route.as_ref().map(Place::from).unwrap_or_default(),
                hotline_work_order: Some(accepted.hotline_work_order.clone())
                    .filter(|w| !w.is_empty()),
                hotline: matches!(
                    source,
                    intake::Source::HotlineOperator | intake::Source::HotlinePlatform
                ),
                filed_at: at(accepted.filed_at_ms),
                channel: Some(channel_code(source).to_owned()),
            };
            let member = Member {
                complaint_id: accepted.complaint_id.clone(),
                household: accepted.household.clone(),
                filed_by: accepted.filed_by.clone(),
            };
            if let Ok(incident) = accepted.joins_incident_id.parse::<Uuid>() {
                // Filed where an area repair is under way: it goes on that repair's ticket
                // instead of a ticket of its own that the incident would close at once (the
                // incident publishes no IncidentJoined for it).
                let carrier = batch.load::<Ticket>(&incident.to_string()).await?;
                if carrier.current_sequence() > 0 {
                    let attach = TicketCommand::Attach { member, at: now };
                    self.run(batch, later, incident, attach, &metadata).await?;
                    return Ok(());
                }
                // The incident's declaration comes before any complaint that names it, so
                // this is not expected; the complaint is still repaired, on a ticket of its own.
                tracing::warn!(complaint.id = %id, incident.id = %incident, "the incident named at filing has no ticket; the complaint opens its own");
            }
            let members = vec![member];
            let open = TicketCommand::Open {
                subject,
                members,
                at: now,
            };
            self.run(batch, later, id, open, &metadata).await?;
        } else if event.is::<intake::ComplaintMerged>() {
            let merged: intake::ComplaintMerged = event.decode()?;
            let into = self
                .carrier(batch, later, merged.into_complaint_id.parse()?)
                .await?;
            let member = Member {
                complaint_id: merged.complaint_id.clone(),
                household: merged.household.clone(),
                filed_by: merged.filed_by.clone(),
            };
            let attach = TicketCommand::Attach { member, at: now };
            self.run(batch, later, into, attach, &metadata).await?;
        } else if event.is::<intake::ComplaintRouted>() {
            let routed: intake::ComplaintRouted = event.decode()?;
            let id: Uuid = routed.complaint_id.parse()?;
            let place = routed.route.as_ref().map(Place::from).unwrap_or_default();
            let route = TicketCommand::Route { place, at: now };
            self.run(batch, later, id, route, &metadata).await?;
        } else if event.is::<intake::ComplaintWithdrawn>()
            || event.is::<intake::ComplaintRejected>()
        {
            let (complaint_id, reason) = if event.is::<intake::ComplaintWithdrawn>() {
                let w: intake::ComplaintWithdrawn = event.decode()?;
                (
                    w.complaint_id,
                    format!("withdrawn by the resident: {}", w.reason),
                )
            } else {
                let r: intake::ComplaintRejected = event.decode()?;
                (r.complaint_id, format!("rejected at intake: {}", r.reason))
            };
            let id: Uuid = complaint_id.parse()?;
            let cancel = TicketCommand::Cancel { reason, at: now };
            self.run(batch, later, id, cancel, &metadata).await?;
        } else if event.is::<intake::StopHeatingApplied>() {
            let applied: intake::StopHeatingApplied = event.decode()?;
            self.open_case(batch, applied, &metadata).await?;
        } else if event.is::<intake::IncidentDeclared>() {
            let declared: intake::IncidentDeclared = event.decode()?;
            self.declare(batch, later, declared, &metadata).await?;
        } else if event.is::<intake::IncidentJoined>() {
            let joined: intake::IncidentJoined = event.decode()?;
            let incident: Uuid = joined.incident_id.parse()?;
            let (member, own) = self
                .member(batch, &joined.complaint_id, &joined.household)
                .await?;
            let attach = TicketCommand::Attach { member, at: now };
            self.run(batch, later, incident, attach, &metadata).await?;
            if own.is_some() {
                let merge = TicketCommand::MergeInto {
                    ticket: incident.to_string(),
                    at: now,
                };
                self.run(batch, later, joined.complaint_id.parse()?, merge, &metadata)
                    .await?;
            }
        }
        Ok(())
    }

    /// Puts a stop-heating application on its supplier's desk, the reply due the city's
    /// working days after it was filed.
    async fn open_case(
        &self,
        batch: &mut Batch<'_>,
        applied: intake::StopHeatingApplied,
        metadata: &EventMetadata,
    ) -> Result<(), HandlerError> {
        let id: Uuid = applied.application_id.parse()?;
        let route = applied.route.clone().unwrap_or_default();
        let applied_at = at(applied.applied_at_ms);
        let days = self.terms.reply_working_days;
        let filed = Filed {
            kind: match applied.kind() {
                intake::StopHeatingKind::Restore => Kind::Restore,
                _ => Kind::Stop,
            },
            season: applied.season,
            household: applied.household,
            building_id: route.building_id,
            district: route.district,
            supplier_id: route.supplier_id,
            reason: applied.reason,
            filed_by: applied.filed_by,
            applied_at,
            reply_by: self.sla.calendar().after_working_days(applied_at, days),
            reply_target: format!("{days} working days"),
        };
        let context = batch.load::<StopHeatingCase>(&id.to_string()).await?;
        let events = match context.state().decide(CaseCommand::Open { filed }) {
            Ok(events) => events,
            // A redelivered application.
            Err(CaseError::AlreadyOpened) => return Ok(()),
            Err(refusal) => return Err(refusal.into()),
        };
        let appended = batch.append(&context, &events, metadata).await?;
        let mut case = context.state().clone();
        for event in &events {
            cqrs_es::Aggregate::apply(&mut case, event.clone());
            stop_heating::project(batch.tx(), id, event, &case, appended.last_sequence as i64)
                .await?;
        }
        Ok(())
    }

    async fn declare(
        &self,
        batch: &mut Batch<'_>,
        later: &mut Later,
        declared: intake::IncidentDeclared,
        metadata: &EventMetadata,
    ) -> Result<(), HandlerError> {
        let now = self.clock.now();
        let incident: Uuid = declared.incident_id.parse()?;
        let mut members = Vec::new();
        let mut owns = Vec::new();
        for (complaint_id, household) in declared.complaint_ids.iter().zip(&declared.households) {
            let (member, own) = self.member(batch, complaint_id, household).await?;
            members.push(member);
            owns.push((complaint_id.clone(), own));
        }
        let first = owns
            .iter()
            .filter_map(|(_, t)| t.as_ref()?.subject.clone())
            .min_by_key(|s| s.filed_at);
        let subject = Subject {
            origin: "incident".into(),
            category: first
                .as_ref()
                .map_or_else(|| "no_heat".to_owned(), |s| s.category.clone()),
            priority: "urgent".into(),
            place: declared.route.as_ref().map(Place::from).unwrap_or_default(),
            hotline_work_order: None,
            hotline: false,
            filed_at: first.map_or(at(declared.declared_at_ms), |s| s.filed_at),
            channel: None,
        };
        let open = TicketCommand::Open {
            subject,
            members,
            at: now,
        };
        self.run(batch, later, incident, open, metadata).await?;
        for (complaint_id, own) in owns {
            if own.is_some() {
                let merge = TicketCommand::MergeInto {
                    ticket: incident.to_string(),
                    at: now,
                };
                self.run(batch, later, complaint_id.parse()?, merge, metadata)
                    .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl eventstore::Handler for Feed {
    /// The intake events `apply` acts on: dispatch's own events, most of the log, are not
    /// read whole.
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![
            intake::ComplaintAccepted::full_name(),
            intake::ComplaintMerged::full_name(),
            intake::ComplaintRouted::full_name(),
            intake::ComplaintWithdrawn::full_name(),
            intake::ComplaintRejected::full_name(),
            intake::StopHeatingApplied::full_name(),
            intake::IncidentDeclared::full_name(),
            intake::IncidentJoined::full_name(),
        ])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        batch.preload::<Ticket>(&tickets_named(events)?).await?;
        let mut later = Later::default();
        for event in events {
            self.apply(batch, &mut later, event).await?;
        }
        later.project(batch, self.clock.now()).await?;
        Ok(())
    }
}

/// The tickets a batch's events name (the ones a merge's carrier leads to are read as they
/// come): loaded together before the batch runs.
fn tickets_named(events: &[PublishedEvent]) -> Result<Vec<String>, HandlerError> {
    let mut ids = Vec::new();
    for event in events {
        if event.is::<intake::ComplaintAccepted>() {
            let accepted = event.decode::<intake::ComplaintAccepted>()?;
            ids.push(accepted.complaint_id);
            if !accepted.joins_incident_id.is_empty() {
                ids.push(accepted.joins_incident_id);
            }
        } else if event.is::<intake::ComplaintRouted>() {
            ids.push(event.decode::<intake::ComplaintRouted>()?.complaint_id);
        } else if event.is::<intake::ComplaintWithdrawn>() {
            ids.push(event.decode::<intake::ComplaintWithdrawn>()?.complaint_id);
        } else if event.is::<intake::ComplaintRejected>() {
            ids.push(event.decode::<intake::ComplaintRejected>()?.complaint_id);
        } else if event.is::<intake::IncidentJoined>() {
            let joined = event.decode::<intake::IncidentJoined>()?;
            ids.push(joined.incident_id);
            ids.push(joined.complaint_id);
        } else if event.is::<intake::IncidentDeclared>() {
            let declared = event.decode::<intake::IncidentDeclared>()?;
            ids.push(declared.incident_id);
            ids.extend(declared.complaint_ids);
        }
    }
    Ok(ids)
}

/// A ticket whose rows wait: its state when they were last written, and after its last change.
struct Noted {
    id: Uuid,
    before: Ticket,
    after: Ticket,
    version: usize,
}

/// The tickets a batch changed, with their state after its last change: their rows are written
/// once each, together, when the batch ends (or before the rows are read).
#[derive(Default)]
struct Later {
    tickets: Vec<Noted>,
    index: HashMap<Uuid, usize>,
}

impl Later {
    /// Notes that ticket `id` went from `before` to `after` (at `version`).
    fn note(&mut self, id: Uuid, before: &Ticket, after: &Ticket, version: usize) {
        match self.index.get(&id) {
            Some(&at) => {
                let noted = &mut self.tickets[at];
                noted.after = after.clone();
                noted.version = version;
            }
            None => {
                self.index.insert(id, self.tickets.len());
                self.tickets.push(Noted {
                    id,
                    before: before.clone(),
                    after: after.clone(),
                    version,
                });
            }
        }
    }

    /// Sends the batch's queued appends, then writes the noted tickets' rows in one statement
    /// per table.
    async fn project(
        &mut self,
        batch: &mut Batch<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        batch.flush().await?;
        self.index.clear();
        let tickets = std::mem::take(&mut self.tickets);
        let projected: Vec<Projected<'_>> = tickets
            .iter()
            .map(|t| Projected {
                id: t.id,
                before: Some(&t.before),
                ticket: &t.after,
                version: t.version,
            })
            .collect();
        project_all(batch.tx(), &projected, now).await?;
        Ok(())
    }
}
