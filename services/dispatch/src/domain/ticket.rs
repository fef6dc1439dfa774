//! The repair ticket: one per accepted complaint or declared incident.
//!
//! ```text
//! opened → dispatched → signed → crew assigned → on site → resolved → closed
//! side paths: dispatched → returned → (approved) opened → dispatched again
//!                                  → (refused) dispatched to the same supplier
//!             paused ⇄ resumed; one extension; supervised at any time;
//!             resolved → unsatisfied feedback → reopened (a new cycle) → dispatched
//! ```
//! Every deadline is computed when its clock starts and stored in the event, so replaying a
//! ticket never depends on today's policy.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::domain::clock::{ClockKind, ClockRun, Start};
use crate::domain::sla::Profile;
use crate::domain::values::{Cause, PauseReason, Place, Rating, STANDARD, Tenths};

pub use crate::domain::command::TicketCommand;
pub use crate::domain::decide::TicketError;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not opened (a fresh stream).
    #[default]
    New,
    /// Opened, waiting for a dispatcher to choose the supplier.
    Opened,
    /// Handed to a supplier, waiting for it to sign.
    Dispatched,
    /// Returned by the supplier, waiting for a dispatcher's review.
    Returned,
    /// Signed for by the supplier.
    Signed,
    /// A crew is on its way.
    CrewAssigned,
    /// The crew is at the home.
    OnSite,
    /// Resolved, waiting for the callback.
    Resolved,
    /// Closed: completed, merged into an incident's ticket, or cancelled.
    Closed,
}

impl Status {
    /// The stable name (`crew_assigned`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Opened => "opened",
            Status::Dispatched => "dispatched",
            Status::Returned => "returned",
            Status::Signed => "signed",
            Status::CrewAssigned => "crew_assigned",
            Status::OnSite => "on_site",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    /// Every status a query can filter by.
    pub const OPEN_CODES: [&'static str; 7] = [
        "opened",
        "dispatched",
        "returned",
        "signed",
        "crew_assigned",
        "on_site",
        "resolved",
    ];

    /// Work in the supplier's hands: signed and not yet resolved.
    pub fn in_work(self) -> bool {
        matches!(self, Status::Signed | Status::CrewAssigned | Status::OnSite)
    }
}

/// A complaint the ticket carries: whose home, and who filed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The complaint.
    pub complaint_id: String,
    /// The household (an opaque key).
    pub household: String,
    /// The account that filed it.
    pub filed_by: String,
}

/// What the ticket is about, as intake accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// `complaint` or `incident`.
    pub origin: String,
    /// The category code (`low_temperature`, ...).
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// Where it is.
    pub place: Place,
    /// The 12345 work order, if the complaint came from the platform.
    pub hotline_work_order: Option<String>,
    /// Whether the hotline clock applies (filed through the 12345 hotline).
    pub hotline: bool,
    /// When the (first) complaint was filed.
    pub filed_at: DateTime<Utc>,
    /// The channel the (first) complaint came through (`app`, `wechat`, `hotline`, `12345`,
    /// `open311`); none for an incident, and for tickets opened before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A certified room-temperature measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// The reading.
    pub tenths: Tenths,
    /// Which room.
    pub room: String,
    /// The certified device.
    pub device_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// In which cycle.
    pub cycle: u32,
}

/// The one extension a ticket may get.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Extension {
    /// None asked for.
    #[default]
    None,
    /// Asked for, waiting for a dispatcher.
    Requested {
        /// Working days asked for.
        days: u32,
    },
    /// Refused; another may be asked for.
    Refused,
    /// Granted: no other.
    Granted {
        /// Working days granted.
        days: u32,
    },
}

/// A repair ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Where it stands.
    pub status: Status,
    /// What it is about (set when opened).
    pub subject: Option<Subject>,
    /// The complaints it carries: shared between copies of the state, since an area repair's
    /// ticket carries thousands and its state is copied for every complaint that joins. Each
    /// member is shared too: a join copies the vector's last chunk of up to 64 members, which
    /// then costs a count each, not three strings each.
    pub members: imbl::Vector<std::sync::Arc<Member>>,
    /// The supplier it is dispatched to.
    pub supplier: Option<String>,
    /// The crew assigned.
    pub crew: Option<String>,
    /// 1, then one more per reopening.
    pub cycle: u32,
    /// Every run of every clock.
    pub clocks: Vec<ClockRun>,
    /// Why and since when work is paused.
    pub paused: Option<(PauseReason, DateTime<Utc>)>,
    /// The extension.
    pub extension: Extension,
    /// The measurements, in order.
    pub measurements: Vec<Measurement>,
    /// The cause of the last resolution.
    pub cause: Option<Cause>,
    /// The feedback of each cycle.
    pub feedback: Vec<Rating>,
    /// The members' own verdicts given: (complaint, cycle).
    pub member_verdicts: Vec<(String, u32)>,
    /// How it was closed: `completed`, `merged` or `cancelled`.
    pub outcome: Option<String>,
    /// The ticket it was merged into.
    pub merged_into: Option<String>,
    /// How many times it was supervised.
    pub supervisions: u32,
}

/// What happened to a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TicketEvent {
    /// Opened.
    Opened {
        /// What it is about.
        subject: Subject,
        /// The complaints.
        members: Vec<Member>,
        /// The resident's clock (from the filing).
        resident: Start,
        /// When.
        at: DateTime<Utc>,
    },
    /// A complaint joined.
    ComplaintAttached {
        /// The complaint.
        member: Member,
        /// When.
        at: DateTime<Utc>,
    },
    /// Routed by a dispatcher.
    Routed {
        /// Where.
        place: Place,
        /// When.
        at: DateTime<Utc>,
    },
    /// Handed to a supplier.
    Dispatched {
        /// The supplier.
        supplier: String,
        /// The sign clock.
        sign: Start,
        /// When.
        at: DateTime<Utc>,
    },
    /// Signed for.
    Signed {
        /// The clocks that start.
        clocks: Vec<Start>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Returned by the supplier.
    Returned {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A return was reviewed.
    ReturnReviewed {
        /// Approved or refused.
        approved: bool,
        /// Why.
        note: String,
        /// When refused: the sign clock that starts again.
        sign: Option<Start>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A crew was assigned.
    CrewAssigned {
        /// The crew.
        crew: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The crew arrived.
    CheckedIn {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// When.
        at: DateTime<Utc>,
    },
    /// A measurement.
    TemperatureMeasured {
        /// The reading.
        tenths: Tenths,
        /// Which room.
        room: String,
        /// The device.
        device_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Work paused.
    Paused {
        /// Why.
        reason: PauseReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Work resumed.
    Resumed {
        /// When.
        at: DateTime<Utc>,
    },
    /// The extension was asked for.
    ExtensionRequested {
        /// Working days.
        days: u32,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The extension was decided.
    ExtensionDecided {
        /// Granted or not.
        approved: bool,
        /// Why.
        note: String,
        /// The clocks' new deadlines when granted.
        deadlines: Vec<(ClockKind, DateTime<Utc>)>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Supervised.
    Supervised {
        /// `dispatcher` or `regulator`.
        by_role: String,
        /// What was asked.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Resolved.
    Resolved {
        /// Who was at fault.
        cause: Cause,
        /// The room meets 18 ℃.
        standard_met: bool,
        /// What was done.
        note: String,
        /// The callback clock.
        callback: Start,
        /// When.
        at: DateTime<Utc>,
    },
    /// The resident's verdict.
    FeedbackGiven {
        /// The rating.
        rating: Rating,
        /// Their words.
        comment: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A resident whose filing the ticket took on (merged into it, or a household of its
    /// incident) gave their own verdict: recorded for them, deciding nothing.
    MemberVerdictGiven {
        /// Their complaint.
        complaint_id: String,
        /// The cycle it judges.
        cycle: u32,
        /// The rating.
        rating: Rating,
        /// Their words.
        comment: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Reopened (重办) as a new cycle, dispatched again to the same supplier.
    Reopened {
        /// The new cycle.
        cycle: u32,
        /// The sign clock of the new cycle.
        sign: Start,
        /// When.
        at: DateTime<Utc>,
    },
    /// Closed.
    Closed {
        /// `completed`, `merged` or `cancelled`.
        outcome: String,
        /// Why (a dispatcher's note, a withdrawal's reason).
        note: String,
        /// For `merged`: the ticket that carries on.
        into: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A clock passed its deadline.
    SlaBreached {
        /// Which clock.
        clock: ClockKind,
        /// Its cycle.
        cycle: u32,
        /// The deadline that passed.
        deadline: DateTime<Utc>,
        /// When the breach was recorded.
        at: DateTime<Utc>,
    },
}

impl TicketEvent {
    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        use TicketEvent::*;
        match self {
            Opened { at, .. }
            | ComplaintAttached { at, .. }
            | Routed { at, .. }
            | Dispatched { at, .. }
            | Signed { at, .. }
            | Returned { at, .. }
            | ReturnReviewed { at, .. }
            | CrewAssigned { at, .. }
            | CheckedIn { at, .. }
            | TemperatureMeasured { at, .. }
            | Paused { at, .. }
            | Resumed { at }
            | ExtensionRequested { at, .. }
            | ExtensionDecided { at, .. }
            | Supervised { at, .. }
            | Resolved { at, .. }
            | FeedbackGiven { at, .. }
            | MemberVerdictGiven { at, .. }
            | Reopened { at, .. }
            | Closed { at, .. }
            | SlaBreached { at, .. } => *at,
        }
    }

    /// The stored type name (never changes once stored).
    pub fn name(&self) -> &'static str {
        use TicketEvent::*;
        match self {
            Opened { .. } => "TicketOpened",
            ComplaintAttached { .. } => "ComplaintAttached",
            Routed { .. } => "TicketRouted",
            Dispatched { .. } => "TicketDispatched",
            Signed { .. } => "TicketSigned",
            Returned { .. } => "TicketReturned",
            ReturnReviewed { .. } => "ReturnReviewed",
            CrewAssigned { .. } => "CrewAssigned",
            CheckedIn { .. } => "CrewCheckedIn",
            TemperatureMeasured { .. } => "TemperatureMeasured",
            Paused { .. } => "WorkPaused",
            Resumed { .. } => "WorkResumed",
            ExtensionRequested { .. } => "ExtensionRequested",
            ExtensionDecided { .. } => "ExtensionDecided",
            Supervised { .. } => "TicketSupervised",
            Resolved { .. } => "TicketResolved",
            FeedbackGiven { .. } => "FeedbackGiven",
            MemberVerdictGiven { .. } => "MemberVerdictGiven",
            Reopened { .. } => "TicketReopened",
            Closed { .. } => "TicketClosed",
            SlaBreached { .. } => "SlaBreached",
        }
    }
}

impl DomainEvent for TicketEvent {
    fn event_type(&self) -> String {
        self.name().into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

impl Ticket {
    /// The profile its targets depend on.
    pub fn profile(&self) -> Option<Profile<'_>> {
        self.subject.as_ref().map(|s| Profile {
            category: &s.category,
            priority: &s.priority,
            origin: &s.origin,
        })
    }

    /// The latest run of a clock.
    pub fn clock(&self, kind: ClockKind) -> Option<&ClockRun> {
        self.clocks.iter().rev().find(|c| c.kind == kind)
    }

    /// The nearest deadline that can still pass, and its clock.
    pub fn next_deadline(&self) -> Option<(ClockKind, DateTime<Utc>)> {
        ClockKind::ALL
            .into_iter()
            .filter_map(|k| {
                self.clock(k)
                    .and_then(|c| c.pending_deadline())
                    .map(|d| (k, d))
            })
            .min_by_key(|(_, d)| *d)
    }

    /// The nearest deadline of a running clock, breached or not: what the queue sorts by.
    pub fn nearest_deadline(&self) -> Option<DateTime<Utc>> {
        ClockKind::ALL
            .into_iter()
            .filter_map(|k| self.clock(k))
            .filter(|c| c.is_running() && c.paused_since.is_none())
            .filter_map(|c| c.deadline)
            .min()
    }

    /// The running, unpaused clock with the nearest deadline, and when a quarter of its target
    /// is left (the queue's "at risk" band starts then).
    pub fn at_risk_from(&self) -> Option<DateTime<Utc>> {
        let run = ClockKind::ALL
            .into_iter()
            .filter_map(|k| self.clock(k))
            .filter(|c| c.is_running() && c.paused_since.is_none())
            .filter(|c| c.deadline.is_some())
            .min_by_key(|c| c.deadline)?;
        let deadline = run.deadline?;
        // The target is the time from start to deadline that is counted: pauses moved the
        // deadline by as much as they lasted.
        let target = deadline.signed_duration_since(run.started_at)
            - chrono::Duration::milliseconds(run.paused_ms);
        Some(deadline - target / 4)
    }

    /// Whether any clock of the current cycle breached.
    pub fn breached(&self) -> bool {
        self.clocks
            .iter()
            .any(|c| c.cycle == self.cycle && c.breached_at.is_some())
    }

    /// The last measurement of the current cycle.
    pub fn last_measurement(&self) -> Option<&Measurement> {
        self.measurements
            .iter()
            .rev()
            .find(|m| m.cycle == self.cycle)
    }

    /// Whether `account` filed one of its complaints.
    pub fn filed_by(&self, account: &str) -> bool {
        self.members.iter().any(|m| m.filed_by == account)
    }

    /// Whether `account` reported it: the ticket came from one complaint, and they filed it.
    /// Their verdict decides the repair; other filers' verdicts are their own.
    pub fn reported_by(&self, account: &str) -> bool {
        let from_a_complaint = self
            .subject
            .as_ref()
            .is_some_and(|s| s.origin == "complaint");
        from_a_complaint && self.members.front().is_some_and(|m| m.filed_by == account)
    }

    /// Whether the last measurement meets the standard.
    pub fn meets_standard(&self) -> bool {
        self.last_measurement()
            .is_some_and(|m| m.tenths >= STANDARD)
    }
}

#[cfg(test)]
#[path = "ticket_tests.rs"]
mod tests;
