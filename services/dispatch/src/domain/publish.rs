//! What a ticket tells the other services: its events as the messages of
//! `proto/heatline/dispatch/v1`, and the reading of intake's messages into dispatch's types.

use chrono::{DateTime, Utc};
use contracts::dispatch::v1 as proto;
use contracts::intake::v1 as intake;
use eventstore::{IntegrationEvent, Publish};

use crate::domain::clock::ClockKind;
use crate::domain::ticket::{Ticket, TicketEvent};
use crate::domain::values::{Cause, Place, Rating};

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl From<ClockKind> for proto::Clock {
    fn from(kind: ClockKind) -> Self {
        match kind {
            ClockKind::Resident => proto::Clock::Resident,
            ClockKind::Sign => proto::Clock::Sign,
            ClockKind::OnSite => proto::Clock::OnSite,
            ClockKind::Restore => proto::Clock::Restore,
            ClockKind::HotlineFinish => proto::Clock::HotlineFinish,
            ClockKind::Callback => proto::Clock::Callback,
        }
    }
}

impl TryFrom<proto::Clock> for ClockKind {
    type Error = ();
    fn try_from(clock: proto::Clock) -> Result<Self, ()> {
        ClockKind::ALL
            .into_iter()
            .find(|k| proto::Clock::from(*k) == clock)
            .ok_or(())
    }
}

impl From<Cause> for proto::Cause {
    fn from(cause: Cause) -> Self {
        match cause {
            Cause::Supplier => proto::Cause::Supplier,
            Cause::ResidentSide => proto::Cause::ResidentSide,
            Cause::DeveloperHandover => proto::Cause::DeveloperHandover,
            Cause::Upstream => proto::Cause::Upstream,
        }
    }
}

impl From<Rating> for proto::Rating {
    fn from(rating: Rating) -> Self {
        match rating {
            Rating::Satisfied => proto::Rating::Satisfied,
            Rating::BasicallySatisfied => proto::Rating::BasicallySatisfied,
            Rating::Unsatisfied => proto::Rating::Unsatisfied,
        }
    }
}

/// Intake's category as dispatch names it (`low_temperature`, ...).
pub fn category_code(category: i32) -> String {
    intake::Category::try_from(category)
        .unwrap_or(intake::Category::Unspecified)
        .as_str_name()
        .to_ascii_lowercase()
}

/// Intake's priority as dispatch names it (`normal`, `urgent`).
pub fn priority_code(priority: i32) -> String {
    intake::Priority::try_from(priority)
        .unwrap_or(intake::Priority::Normal)
        .as_str_name()
        .to_ascii_lowercase()
}

/// The channel a complaint came through, as the queue filters it (`app`, `wechat`, `hotline`,
/// `12345`, `open311`, `sensor`).
pub fn channel_code(source: intake::Source) -> &'static str {
    match source {
        intake::Source::Wechat => "wechat",
        intake::Source::HotlineOperator => "hotline",
        intake::Source::HotlinePlatform => "12345",
        intake::Source::Open311 => "open311",
        intake::Source::Sensor => "sensor",
        intake::Source::App | intake::Source::Unspecified => "app",
    }
}

/// The channels [`channel_code`] names.
pub const CHANNELS: [&str; 6] = ["app", "wechat", "hotline", "12345", "open311", "sensor"];

fn category_of(code: &str) -> intake::Category {
    intake::Category::from_str_name(&code.to_ascii_uppercase())
        .unwrap_or(intake::Category::Unspecified)
}

fn priority_of(code: &str) -> intake::Priority {
    intake::Priority::from_str_name(&code.to_ascii_uppercase())
        .unwrap_or(intake::Priority::Unspecified)
}

impl From<&intake::Route> for Place {
    fn from(route: &intake::Route) -> Self {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Place {
            district: some(&route.district),
            station: some(&route.station),
            building_id: some(&route.building_id),
            supplier_id: some(&route.supplier_id),
        }
    }
}

impl From<&Place> for intake::Route {
    fn from(place: &Place) -> Self {
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        intake::Route {
            routed: place.supplier_id.is_some(),
            building_id: text(&place.building_id),
            station: text(&place.station),
            district: text(&place.district),
            supplier_id: text(&place.supplier_id),
        }
    }
}

impl Publish for Ticket {
    fn publish(&self, ticket_id: &str, event: &TicketEvent) -> Vec<IntegrationEvent> {
        use TicketEvent as E;
        let ticket_id = ticket_id.to_owned();
        let supplier_id = self.supplier.clone().unwrap_or_default();
        let cycle = self.cycle;
        let message = match event {
            E::Opened {
                subject,
                members,
                at,
                ..
            } => IntegrationEvent::encode(&proto::TicketOpened {
                ticket_id,
                origin: subject.origin.clone(),
                complaint_ids: members.iter().map(|m| m.complaint_id.clone()).collect(),
                households: members.iter().map(|m| m.household.clone()).collect(),
                category: category_of(&subject.category).into(),
                priority: priority_of(&subject.priority).into(),
                route: Some((&subject.place).into()),
                filed_at_ms: millis(subject.filed_at),
                opened_at_ms: millis(*at),
                hotline_work_order: subject.hotline_work_order.clone().unwrap_or_default(),
            }),
            E::ComplaintAttached { member, at } => {
                IntegrationEvent::encode(&proto::ComplaintAttached {
                    ticket_id,
                    complaint_id: member.complaint_id.clone(),
                    household: member.household.clone(),
                    attached_at_ms: millis(*at),
                })
            }
            E::Dispatched { supplier, sign, at } => {
                IntegrationEvent::encode(&proto::TicketDispatched {
                    ticket_id,
                    supplier_id: supplier.clone(),
                    cycle,
                    dispatched_at_ms: millis(*at),
                    sign_deadline_ms: sign.deadline.map(millis).unwrap_or_default(),
                })
            }
            E::Signed { at, .. } => IntegrationEvent::encode(&proto::TicketSigned {
                ticket_id,
                supplier_id,
                cycle,
                signed_at_ms: millis(*at),
            }),
            E::Returned { reason, at } => IntegrationEvent::encode(&proto::TicketReturned {
                ticket_id,
                supplier_id,
                reason: reason.clone(),
                returned_at_ms: millis(*at),
            }),
            E::CrewAssigned { crew, at } => IntegrationEvent::encode(&proto::CrewAssigned {
                ticket_id,
                crew_id: crew.clone(),
                supplier_id,
                assigned_at_ms: millis(*at),
            }),
            E::CheckedIn {
                latitude,
                longitude,
                at,
            } => IntegrationEvent::encode(&proto::CrewOnSite {
                ticket_id,
                crew_id: self.crew.clone().unwrap_or_default(),
                arrived_at_ms: millis(*at),
                latitude: *latitude,
                longitude: *longitude,
            }),
            E::TemperatureMeasured {
                tenths,
                room,
                device_id,
                at,
            } => IntegrationEvent::encode(&proto::TemperatureMeasured {
                ticket_id,
                supplier_id,
                tenths_celsius: tenths.tenths(),
                room: room.clone(),
                device_id: device_id.clone(),
                measured_at_ms: millis(*at),
                standard_met: *tenths >= crate::domain::values::STANDARD,
                cycle,
            }),
            E::Resolved {
                cause,
                standard_met,
                at,
                ..
            } => IntegrationEvent::encode(&proto::TicketResolved {
                ticket_id,
                supplier_id,
                cause: proto::Cause::from(*cause).into(),
                standard_met: *standard_met,
                resolved_at_ms: millis(*at),
                cycle,
                households: self.members.iter().map(|m| m.household.clone()).collect(),
            }),
            E::FeedbackGiven { rating, at, .. } => {
                IntegrationEvent::encode(&proto::FeedbackGiven {
                    ticket_id,
                    supplier_id,
                    rating: proto::Rating::from(*rating).into(),
                    given_at_ms: millis(*at),
                    // Feedback belongs to the cycle it judges, before a reopening.
                    cycle: self.feedback.len() as u32,
                })
            }
            E::MemberVerdictGiven {
                complaint_id,
                cycle,
                rating,
                at,
                ..
            } => IntegrationEvent::encode(&proto::MemberVerdictGiven {
                ticket_id,
                supplier_id,
                complaint_id: complaint_id.clone(),
                rating: proto::Rating::from(*rating).into(),
                cycle: *cycle,
                given_at_ms: millis(*at),
            }),
            E::Reopened { cycle, at, .. } => IntegrationEvent::encode(&proto::TicketReopened {
                ticket_id,
                supplier_id,
                cycle: *cycle,
                reopened_at_ms: millis(*at),
            }),
            E::Supervised { by_role, note, at } => {
                IntegrationEvent::encode(&proto::TicketSupervised {
                    ticket_id,
                    supplier_id,
                    by_role: by_role.clone(),
                    note: note.clone(),
                    supervised_at_ms: millis(*at),
                })
            }
            E::Closed {
                outcome, into, at, ..
            } => IntegrationEvent::encode(&proto::TicketClosed {
                ticket_id,
                supplier_id,
                outcome: outcome.clone(),
                closed_at_ms: millis(*at),
                into_ticket_id: into.clone().unwrap_or_default(),
            }),
            E::SlaBreached {
                clock,
                cycle,
                deadline,
                at,
            } => IntegrationEvent::encode(&proto::SlaBreached {
                ticket_id,
                supplier_id,
                clock: proto::Clock::from(*clock).into(),
                cycle: *cycle,
                target: self
                    .clocks
                    .iter()
                    .rev()
                    .find(|c| c.kind == *clock)
                    .map(|c| c.target.clone())
                    .unwrap_or_default(),
                deadline_ms: millis(*deadline),
                recorded_at_ms: millis(*at),
                late_by_ms: (*at - *deadline).num_milliseconds(),
            }),
            // Dispatch's own bookkeeping: routing, reviews, pauses and extensions show in the
            // events above (a refused return restarts the sign clock inside the ticket).
            E::Routed { .. }
            | E::ReturnReviewed { .. }
            | E::Paused { .. }
            | E::Resumed { .. }
            | E::ExtensionRequested { .. }
            | E::ExtensionDecided { .. } => return Vec::new(),
        };
        vec![message]
    }
}
