//! The complaint aggregate: one filing from one channel, from its acceptance (or merger into
//! the household's open complaint) until dispatch signs for it, or it is withdrawn or rejected.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use eventstore::personal::Personal;

use super::values::{
    Address, Category, Celsius, HeatingAccountNo, Household, Priority, Route, Source,
};

/// Everything a filing says, checked and routed. Its personal data is in `personal`,
/// encrypted with the complaint's own data key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintDetails {
    /// What it is about.
    pub category: Category,
    /// How fast it must be handled.
    pub priority: Priority,
    /// The channel.
    pub source: Source,
    /// The home (a pseudonym).
    pub household: Household,
    /// Where the registry placed it.
    pub route: Route,
    /// The resident's own room reading.
    pub reading: Option<Celsius>,
    /// The contact details and the resident's words, sealed.
    pub personal: Personal<Contact>,
    /// The account that filed it: the resident, the operator, or the platform client.
    pub filer: String,
    /// The 12345 platform's work-order number.
    pub hotline_work_order: Option<String>,
}

/// A filing's personal data: erased on request or after its retention, which leaves the
/// complaint's handling (category, household, route, clocks) intact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// The heating account, when given.
    pub account: Option<HeatingAccountNo>,
    /// The address, when given.
    pub address: Option<Address>,
    /// Latitude and longitude, when given (Open311).
    pub position: Option<(f64, f64)>,
    /// The resident's words.
    pub description: String,
    /// A phone to call back (digits).
    pub contact_phone: Option<String>,
    /// Stored photos (content ids).
    pub photos: Vec<String>,
}

/// Where a complaint stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not filed yet (a fresh stream).
    #[default]
    New,
    /// Accepted, waiting for dispatch to sign for it.
    Open,
    /// Part of the household's open complaint.
    Merged,
    /// Dispatch signed for it: it is a repair ticket now.
    Signed,
    /// Withdrawn by the resident.
    Withdrawn,
    /// Refused by an operator or dispatcher.
    Rejected,
}

impl Status {
    /// Whether the complaint still awaits handling (Open311's `open`).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Open | Status::Merged | Status::Signed)
    }
}

/// A complaint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    details: Option<ComplaintDetails>,
    status: Status,
    filed_at: Option<DateTime<Utc>>,
    fingerprint: String,
    merged_into: Option<String>,
    incident_id: Option<String>,
}

impl Complaint {
    /// What was filed.
    pub fn details(&self) -> Option<&ComplaintDetails> {
        self.details.as_ref()
    }

    /// Where it stands.
    pub fn status(&self) -> Status {
        self.status
    }

    /// When it was filed.
    pub fn filed_at(&self) -> Option<DateTime<Utc>> {
        self.filed_at
    }

    /// A digest of the filing's request, to tell a retry from a different request that reuses
    /// an idempotency key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The complaint it was merged into.
    pub fn merged_into(&self) -> Option<&str> {
        self.merged_into.as_deref()
    }

    /// The incident it belongs to.
    pub fn incident_id(&self) -> Option<&str> {
        self.incident_id.as_deref()
    }

    /// The state keeps the personal data sealed only: a cached aggregate holds no plain text.
    fn forget_personal(&mut self) {
        if let Some(details) = self.details.as_mut() {
            details.personal.forget_plain();
        }
    }

    fn work_order(&self) -> String {
        self.details
            .as_ref()
            .and_then(|d| d.hotline_work_order.clone())
            .unwrap_or_default()
    }
}

/// What a complaint can be told.
#[derive(Debug, Clone)]
pub enum ComplaintCommand {
    /// Files it: accepted, or merged into `merge_into` (the household's open complaint).
    File {
        /// The filing.
        details: Box<ComplaintDetails>,
        /// The request's digest.
        fingerprint: String,
        /// The household's open complaint, found under the household's lock.
        merge_into: Option<String>,
        /// The incident open over its building or station when it was filed (building first).
        /// A cold home filed there joins it: the incident's repair is its repair.
        open_incident: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Notes that another filing of the household was merged into this one.
    RecordRepeat {
        /// The merged filing.
        complaint_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A dispatcher routes a complaint the registry could not place.
    Route {
        /// Where it goes.
        route: Route,
        /// When.
        at: DateTime<Utc>,
    },
    /// It became part of an incident.
    JoinIncident {
        /// The incident.
        incident_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The resident withdraws it.
    Withdraw {
        /// Why, in the resident's words (may be empty).
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An operator or dispatcher refuses it.
    Reject {
        /// Why (required).
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Dispatch signed for it: it can no longer be withdrawn here.
    RecordSigned {
        /// When.
        at: DateTime<Utc>,
    },
    /// A staff member reveals its contact details (phone, exact address, account), which the
    /// API masks for them otherwise.
    RevealContact {
        /// Who.
        by: Revealer,
        /// Why (required).
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// A staff member who revealed a complaint's contact details, with the scope they acted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revealer {
    /// Their account.
    pub account: String,
    /// Their role.
    pub role: String,
    /// Their district, for a district dispatcher.
    pub district: Option<String>,
    /// Their supplier, for supplier staff.
    pub supplier_id: Option<String>,
}

/// What happened to a complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ComplaintEvent {
    /// Accepted as a case of its own.
    Accepted {
        /// The filing.
        details: Box<ComplaintDetails>,
        /// The request's digest.
        fingerprint: String,
        /// The open incident of its building or station that this cold home joins: it is
        /// part of it from now: this is the membership's record (the incident's own stream
        /// holds only the members the watcher joined), and dispatch puts it on the incident's
        /// ticket. Absent in events written before filings looked for one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        joins_incident: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Merged into the household's open complaint.
    Merged {
        /// The complaint it joined.
        into: String,
        /// The filing.
        details: Box<ComplaintDetails>,
        /// The request's digest.
        fingerprint: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Another filing of the household was merged into this one.
    RepeatRecorded {
        /// The merged filing.
        complaint_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Routed by a dispatcher.
    Routed {
        /// Where.
        route: Route,
        /// When.
        at: DateTime<Utc>,
    },
    /// Became part of an incident.
    JoinedIncident {
        /// The incident.
        incident_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Withdrawn by the resident.
    Withdrawn {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Refused.
    Rejected {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Signed for by dispatch.
    Signed {
        /// When.
        at: DateTime<Utc>,
    },
    /// A staff member revealed its contact details (an audit record; the complaint itself does
    /// not change).
    ContactRevealed {
        /// Who.
        by: Revealer,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl ComplaintEvent {
    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            ComplaintEvent::Accepted { at, .. }
            | ComplaintEvent::Merged { at, .. }
            | ComplaintEvent::RepeatRecorded { at, .. }
            | ComplaintEvent::Routed { at, .. }
            | ComplaintEvent::JoinedIncident { at, .. }
            | ComplaintEvent::Withdrawn { at, .. }
            | ComplaintEvent::Rejected { at, .. }
            | ComplaintEvent::Signed { at }
            | ComplaintEvent::ContactRevealed { at, .. } => *at,
        }
    }
}

impl DomainEvent for ComplaintEvent {
    fn event_type(&self) -> String {
        match self {
            ComplaintEvent::Accepted { .. } => "ComplaintAccepted",
            ComplaintEvent::Merged { .. } => "ComplaintMerged",
            ComplaintEvent::RepeatRecorded { .. } => "ComplaintRepeatRecorded",
            ComplaintEvent::Routed { .. } => "ComplaintRouted",
            ComplaintEvent::JoinedIncident { .. } => "ComplaintJoinedIncident",
            ComplaintEvent::Withdrawn { .. } => "ComplaintWithdrawn",
            ComplaintEvent::Rejected { .. } => "ComplaintRejected",
            ComplaintEvent::Signed { .. } => "ComplaintSigned",
            ComplaintEvent::ContactRevealed { .. } => "ContactRevealed",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command a complaint refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplaintError {
    /// Filing a complaint that exists (a retried request: answer as the first time).
    #[error("the complaint was filed already")]
    AlreadyFiled,
    /// Acting on a complaint that was never filed.
    #[error("no such complaint")]
    NotFiled,
    /// The complaint is past the point where this is possible.
    #[error("the complaint is {0:?}")]
    NotOpen(Status),
    /// Dispatch has signed for it: withdrawing is a matter for the ticket now.
    #[error("the complaint has been signed for and can no longer be withdrawn")]
    AlreadySigned,
    /// Routing a complaint that the registry routed.
    #[error("the complaint is routed already")]
    AlreadyRouted,
    /// A refusal needs a reason.
    #[error("a reason is required")]
    ReasonRequired,
}

impl Aggregate for Complaint {
    const TYPE: &'static str = "complaint";
    type Command = ComplaintCommand;
    type Event = ComplaintEvent;
    type Error = ComplaintError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = self.decide(command)?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ComplaintEvent::Accepted {
                details,
                fingerprint,
                joins_incident,
                at,
            } => {
                self.details = Some(*details);
                self.forget_personal();
                self.fingerprint = fingerprint;
                self.filed_at = Some(at);
                self.status = Status::Open;
                self.incident_id = joins_incident;
            }
            ComplaintEvent::Merged {
                into,
                details,
                fingerprint,
                at,
            } => {
                self.details = Some(*details);
                self.forget_personal();
                self.fingerprint = fingerprint;
                self.filed_at = Some(at);
                self.merged_into = Some(into);
                self.status = Status::Merged;
            }
            ComplaintEvent::Routed { route, .. } => {
                if let Some(details) = self.details.as_mut() {
                    details.route = route;
                }
            }
            ComplaintEvent::JoinedIncident { incident_id, .. } => {
                self.incident_id = Some(incident_id);
            }
            ComplaintEvent::Withdrawn { .. } => self.status = Status::Withdrawn,
            ComplaintEvent::Rejected { .. } => self.status = Status::Rejected,
            ComplaintEvent::Signed { .. } => self.status = Status::Signed,
            ComplaintEvent::RepeatRecorded { .. } | ComplaintEvent::ContactRevealed { .. } => {}
        }
    }
}

impl Complaint {
    /// The decision of `handle`, pure: the event a command comes to, or why not.
    pub fn decide(&self, command: ComplaintCommand) -> Result<ComplaintEvent, ComplaintError> {
        if let ComplaintCommand::File {
            details,
            fingerprint,
            merge_into,
            open_incident,
            at,
        } = command
        {
            if self.status != Status::New {
                return Err(ComplaintError::AlreadyFiled);
            }
            return Ok(match merge_into {
                Some(into) => ComplaintEvent::Merged {
                    into,
                    details,
                    fingerprint,
                    at,
                },
                None => {
                    // Only a cold home of a placed building counts towards an incident.
                    let joins = details.category.is_heating_failure()
                        && details.route.building_id.is_some()
                        && details.route.station.is_some();
                    ComplaintEvent::Accepted {
                        joins_incident: open_incident.filter(|_| joins),
                        details,
                        fingerprint,
                        at,
                    }
                }
            });
        }
        if self.status == Status::New {
            return Err(ComplaintError::NotFiled);
        }
        let live = matches!(self.status, Status::Open | Status::Merged);
        match command {
            ComplaintCommand::File { .. } => Err(ComplaintError::AlreadyFiled),
            ComplaintCommand::RecordRepeat { complaint_id, at } => {
                Ok(ComplaintEvent::RepeatRecorded { complaint_id, at })
            }
            ComplaintCommand::Route { route, at } => {
                if self.details.as_ref().is_some_and(|d| d.route.is_routed()) {
                    Err(ComplaintError::AlreadyRouted)
                } else if self.status != Status::Open {
                    Err(ComplaintError::NotOpen(self.status))
                } else {
                    Ok(ComplaintEvent::Routed { route, at })
                }
            }
            ComplaintCommand::JoinIncident { incident_id, at } => {
                Ok(ComplaintEvent::JoinedIncident { incident_id, at })
            }
            ComplaintCommand::Withdraw { reason, at } => match self.status {
                Status::Signed => Err(ComplaintError::AlreadySigned),
                _ if live => Ok(ComplaintEvent::Withdrawn { reason, at }),
                other => Err(ComplaintError::NotOpen(other)),
            },
            ComplaintCommand::Reject { reason, at } => {
                if reason.trim().is_empty() {
                    Err(ComplaintError::ReasonRequired)
                } else if live {
                    Ok(ComplaintEvent::Rejected { reason, at })
                } else {
                    Err(ComplaintError::NotOpen(self.status))
                }
            }
            ComplaintCommand::RecordSigned { at } => {
                if live {
                    Ok(ComplaintEvent::Signed { at })
                } else {
                    Err(ComplaintError::NotOpen(self.status))
                }
            }
            // Whatever its status: a callback, an inspection or a dispute may come later.
            ComplaintCommand::RevealContact { by, reason, at } => {
                if reason.trim().is_empty() {
                    Err(ComplaintError::ReasonRequired)
                } else {
                    Ok(ComplaintEvent::ContactRevealed { by, reason, at })
                }
            }
        }
    }
}

// What a complaint's events tell the other services: the public log's messages.
#[path = "complaint_publish.rs"]
mod publish;

#[cfg(test)]
#[path = "complaint_tests.rs"]
mod tests;
