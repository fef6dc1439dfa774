//! What can be told to a ticket.

use chrono::{DateTime, Utc};

use crate::domain::clock::ClockKind;
use crate::domain::ticket::{Member, Subject};
use crate::domain::values::{Cause, PauseReason, Place, Rating, Tenths};

/// What can be told to a ticket. Each carries its time (from the injected clock).
#[derive(Debug, Clone, PartialEq)]
pub enum TicketCommand {
    /// Opens it; dispatches at once when the registry named a supplier.
    Open {
        /// What it is about.
        subject: Subject,
        /// The complaints.
        members: Vec<Member>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Another complaint joins it.
    Attach {
        /// The complaint.
        member: Member,
        /// When.
        at: DateTime<Utc>,
    },
    /// A complaint intake could not place was routed: dispatch to its supplier.
    Route {
        /// Where.
        place: Place,
        /// When.
        at: DateTime<Utc>,
    },
    /// A dispatcher hands it to a supplier.
    Dispatch {
        /// The supplier.
        supplier: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The supplier signs for it.
    Sign {
        /// When.
        at: DateTime<Utc>,
    },
    /// The supplier returns it.
    Return {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A dispatcher reviews a return.
    ReviewReturn {
        /// Approved: the ticket waits for another dispatch; refused: back to the supplier.
        approve: bool,
        /// Why.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A crew is assigned.
    AssignCrew {
        /// The crew.
        crew: String,
        /// The crew's supplier, from the crew register.
        crew_supplier: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The crew checks in at the home.
    CheckIn {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// When.
        at: DateTime<Utc>,
    },
    /// A certified measurement.
    Measure {
        /// The reading.
        tenths: Tenths,
        /// Which room.
        room: String,
        /// The certified device.
        device_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Work pauses.
    Pause {
        /// Why.
        reason: PauseReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Work resumes.
    Resume {
        /// When.
        at: DateTime<Utc>,
    },
    /// The supplier asks for the extension.
    RequestExtension {
        /// Working days.
        days: u32,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A dispatcher decides on it.
    DecideExtension {
        /// Granted or not.
        approve: bool,
        /// Why.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A dispatcher or regulator supervises (督办).
    Supervise {
        /// `dispatcher` or `regulator`.
        by_role: String,
        /// What is asked.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Resolved.
    Resolve {
        /// Who was at fault.
        cause: Cause,
        /// Whether the room now meets 18 ℃ (needs a measurement that shows it).
        standard_met: bool,
        /// What was done.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A verdict on the repair: the reporting resident's or the callback's decides it; a
    /// resident whose filing the ticket took on (merged, or a household of an incident) records
    /// their own, which closes and reopens nothing.
    GiveFeedback {
        /// The rating.
        rating: Rating,
        /// Their words.
        comment: String,
        /// The resident giving it; `None` for staff at the callback.
        resident: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A dispatcher closes a resolved ticket after the callback.
    Close {
        /// Why.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The complaint was withdrawn or rejected before work began.
    Cancel {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// It is carried on by an incident's ticket.
    MergeInto {
        /// The incident's ticket.
        ticket: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The durable timer found a deadline passed.
    RecordBreach {
        /// Which clock.
        clock: ClockKind,
        /// When.
        at: DateTime<Utc>,
    },
}
