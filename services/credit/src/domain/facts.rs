//! The facts credit counts, read from the published events of dispatch (with intake's sensor
//! episodes and merges, and credit's own appeal decisions). Plain domain types: the decoding
//! from protobuf lives outside the domain.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::values::Dimension;

/// An SLA clock, by its index in [`crate::domain::rulebook::Tally::breaches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Clock {
    /// Complaint filed → closed.
    Resident,
    /// Dispatched → signed.
    Sign,
    /// Signed → on site.
    OnSite,
    /// Signed → resolved.
    Restore,
    /// Signed → resolved in working days.
    HotlineFinish,
    /// Resolved → callback done.
    Callback,
    /// A stop-heating application filed → the supplier's reply, in working days.
    StopHeatingReply,
}

impl Clock {
    /// Every clock, in tally order.
    pub const ALL: [Clock; 7] = [
        Clock::Resident,
        Clock::Sign,
        Clock::OnSite,
        Clock::Restore,
        Clock::HotlineFinish,
        Clock::Callback,
        Clock::StopHeatingReply,
    ];

    /// Whether its breach counts at once: it belongs to no repair, so there is no
    /// supplier-side resolution to wait for.
    pub fn counts_at_once(self) -> bool {
        self == Clock::StopHeatingReply
    }

    /// Its index in the tally.
    pub fn index(self) -> usize {
        Clock::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    /// Its name in words.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Resident => "resident",
            Clock::Sign => "sign",
            Clock::OnSite => "on site",
            Clock::Restore => "restore",
            Clock::HotlineFinish => "hotline finish",
            Clock::Callback => "callback",
            Clock::StopHeatingReply => "stop-heating reply",
        }
    }
}

/// A resident's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Unsatisfied,
}

/// What a published event says, as far as credit is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum FactKind {
    /// A ticket was opened for a complaint or an incident.
    TicketOpened {
        /// The ticket.
        ticket: String,
        /// Opened for an incident (its households count as an outage).
        incident: bool,
        /// The complaints it carries.
        complaint_ids: Vec<String>,
        /// Households it covers.
        households: u32,
    },
    /// Another complaint joined a ticket.
    ComplaintAttached {
        /// The ticket.
        ticket: String,
        /// The complaint.
        complaint: String,
    },
    /// A sensor episode's complaint was merged into another one of its household (intake), so
    /// it is on that one's ticket.
    ComplaintMerged {
        /// The complaint merged.
        complaint: String,
        /// The complaint it joined.
        into: String,
    },
    /// A home's room sensors read below the standard for whole hours on end (intake's
    /// `LowTemperatureDetected`). The complaint it filed has the episode's id, so the episode
    /// is on that complaint's ticket.
    SensorEpisode {
        /// The episode, and its complaint.
        episode: String,
        /// Whether every sensor behind it is certified.
        certified: bool,
        /// The mean of its cold hours, in tenths of a degree.
        mean_tenths: i32,
    },
    /// A certified room measurement.
    Measured {
        /// The ticket.
        ticket: String,
        /// The supplier whose crew measured.
        supplier: String,
        /// The ticket's cycle.
        cycle: u32,
        /// Tenths of a degree.
        tenths: i32,
    },
    /// A clock passed its deadline.
    Breached {
        /// The ticket.
        ticket: String,
        /// The supplier in charge.
        supplier: String,
        /// The ticket's cycle.
        cycle: u32,
        /// Which clock.
        clock: Clock,
    },
    /// A ticket was resolved.
    Resolved {
        /// The ticket.
        ticket: String,
        /// The supplier that resolved it.
        supplier: String,
        /// The ticket's cycle.
        cycle: u32,
        /// Whether the cause was on the supplier's side (only those count).
        supplier_side: bool,
    },
    /// The resident's verdict on a cycle.
    Feedback {
        /// The ticket.
        ticket: String,
        /// The supplier in charge.
        supplier: String,
        /// The ticket's cycle.
        cycle: u32,
        /// The verdict.
        verdict: Verdict,
    },
    /// A ticket was closed: nothing more will be counted for it.
    Closed {
        /// The ticket.
        ticket: String,
    },
    /// A regulator upheld an appeal against an entry: its evidence stops counting.
    AppealUpheld {
        /// The appealed entry.
        entry_id: Uuid,
        /// Its supplier.
        supplier: String,
        /// Its season (`2026-2027`).
        season: String,
        /// Its dimension.
        dimension: Dimension,
        /// Its rule.
        rule: String,
        /// Its evidence.
        evidence: Vec<Uuid>,
    },
}

/// A fact with the id of the event that told it and the moment it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The published event's id: the evidence.
    pub event_id: Uuid,
    /// When it happened (the event's own time, so a replay dates entries the same way).
    pub at: DateTime<Utc>,
    /// What it says.
    pub kind: FactKind,
}
