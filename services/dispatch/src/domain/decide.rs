//! The decisions of a ticket: which events a command comes to, or why not. Pure: the time is
//! in the command, the targets come from the SLA policy handed in.

use chrono::{DateTime, Utc};

use crate::domain::clock::{ClockKind, Start};
use crate::domain::sla::{Profile, Sla};
use crate::domain::ticket::{Extension, Status, Ticket, TicketCommand, TicketEvent};
use crate::domain::values::Rating;

/// A command a ticket refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// The ticket was never opened.
    #[error("no such ticket")]
    NotOpened,
    /// Opening a ticket that exists (a redelivered event).
    #[error("the ticket is open already")]
    AlreadyOpened,
    /// The command does not fit where the ticket stands.
    #[error("cannot {action} a ticket that is {status}")]
    InvalidTransition {
        /// What was asked.
        action: &'static str,
        /// Where it stands.
        status: &'static str,
    },
    /// Work is paused: resume first.
    #[error("work on the ticket is paused; resume it first")]
    Paused,
    /// Resuming what is not paused.
    #[error("work on the ticket is not paused")]
    NotPaused,
    /// The crew belongs to another supplier.
    #[error("the crew belongs to another supplier")]
    CrewOfAnotherSupplier,
    /// "Standard met" without a measurement at or above 18 ℃ in this cycle.
    #[error("the standard is not met: the last measurement of this cycle is below 18 ℃ or missing")]
    StandardNotMet,
    /// The one extension was granted already.
    #[error("the ticket had its one extension")]
    ExtensionUsed,
    /// An extension request is waiting already.
    #[error("an extension request is waiting for a decision")]
    ExtensionPending,
    /// Deciding an extension nobody asked for.
    #[error("no extension was requested")]
    NoExtensionRequested,
    /// More working days than the policy allows.
    #[error("an extension is 1 to {0} working days")]
    ExtensionTooLong(u32),
    /// A reason or note is required.
    #[error("a reason is required")]
    ReasonRequired,
    /// No deadline of that clock has passed unrecorded.
    #[error("no breach to record")]
    NothingToBreach,
    /// A resident whose filing the ticket does not carry.
    #[error("only residents whose filing this repair carries give a verdict on it")]
    NotAParty,
    /// A filer who gave their own verdict on this cycle already.
    #[error("your verdict on this repair is recorded already")]
    AlreadyRated,
}

fn refuse(action: &'static str, status: Status) -> TicketError {
    TicketError::InvalidTransition {
        action,
        status: status.as_str(),
    }
}

fn required(text: &str) -> Result<(), TicketError> {
    if text.trim().is_empty() {
        Err(TicketError::ReasonRequired)
    } else {
        Ok(())
    }
}

impl Ticket {
    fn starts(&self, sla: &Sla, kind: ClockKind, at: DateTime<Utc>) -> Start {
        let fallback = Profile {
            category: "",
            priority: "",
            origin: "",
        };
        sla.start(kind, self.profile().unwrap_or(fallback), at)
    }

    fn not_paused(&self) -> Result<(), TicketError> {
        if self.paused.is_some() {
            Err(TicketError::Paused)
        } else {
            Ok(())
        }
    }

    /// The decision of `handle`.
    pub fn decide(
        &self,
        command: TicketCommand,
        sla: &Sla,
    ) -> Result<Vec<TicketEvent>, TicketError> {
        use TicketCommand as C;
        use TicketEvent as E;
        if let C::Open {
            subject,
            members,
            at,
        } = command
        {
            if self.status != Status::New {
                return Err(TicketError::AlreadyOpened);
            }
            let profile = Profile {
                category: &subject.category,
                priority: &subject.priority,
                origin: &subject.origin,
            };
            let resident = sla.start(ClockKind::Resident, profile, subject.filed_at);
            let supplier = subject.place.supplier_id.clone();
            let sign = sla.start(ClockKind::Sign, profile, at);
            let mut events = vec![E::Opened {
                subject,
                members,
                resident,
                at,
            }];
            if let Some(supplier) = supplier {
                events.push(E::Dispatched { supplier, sign, at });
            }
            return Ok(events);
        }
        let status = self.status;
        if status == Status::New {
            return Err(TicketError::NotOpened);
        }
        let one = |event| Ok(vec![event]);
        match command {
            C::Open { .. } => Err(TicketError::AlreadyOpened),
            C::Attach { member, at } => {
                if self
                    .members
                    .iter()
                    .any(|m| m.complaint_id == member.complaint_id)
                {
                    Ok(Vec::new())
                } else {
                    one(E::ComplaintAttached { member, at })
                }
            }
            C::Route { place, at } => {
                if status != Status::Opened {
                    return Ok(Vec::new());
                }
                let mut events = vec![E::Routed {
                    place: place.clone(),
                    at,
                }];
                if let Some(supplier) = place.supplier_id {
                    let sign = self.starts(sla, ClockKind::Sign, at);
                    events.push(E::Dispatched { supplier, sign, at });
                }
                Ok(events)
            }
            C::Dispatch { supplier, at } => match status {
                Status::Opened | Status::Dispatched => {
                    let sign = self.starts(sla, ClockKind::Sign, at);
                    one(E::Dispatched { supplier, sign, at })
                }
                other => Err(refuse("dispatch", other)),
            },
            C::Sign { at } => {
                if status != Status::Dispatched {
                    return Err(refuse("sign", status));
                }
                let hotline = self.subject.as_ref().is_some_and(|s| s.hotline);
                let mut kinds = vec![ClockKind::OnSite, ClockKind::Restore];
                if hotline && self.clock(ClockKind::HotlineFinish).is_none() {
                    kinds.push(ClockKind::HotlineFinish);
                }
                let clocks = kinds.into_iter().map(|k| self.starts(sla, k, at)).collect();
                one(E::Signed { clocks, at })
            }
            C::Return { reason, at } => {
                required(&reason)?;
                if status != Status::Dispatched {
                    return Err(refuse("return", status));
                }
                one(E::Returned { reason, at })
            }
            C::ReviewReturn { approve, note, at } => {
                if status != Status::Returned {
                    return Err(refuse("review the return of", status));
                }
                if approve {
                    one(E::ReturnReviewed {
                        approved: true,
                        note,
                        sign: None,
                        at,
                    })
                } else {
                    required(&note)?;
                    let sign = Some(self.starts(sla, ClockKind::Sign, at));
                    one(E::ReturnReviewed {
                        approved: false,
                        note,
                        sign,
                        at,
                    })
                }
            }
            C::AssignCrew {
                crew,
                crew_supplier,
                at,
            } => {
                if !matches!(status, Status::Signed | Status::CrewAssigned) {
                    return Err(refuse("assign a crew to", status));
                }
                if self.supplier.as_deref() != Some(crew_supplier.as_str()) {
                    return Err(TicketError::CrewOfAnotherSupplier);
                }
                one(E::CrewAssigned { crew, at })
            }
            C::CheckIn {
                latitude,
                longitude,
                at,
            } => {
                if status != Status::CrewAssigned {
                    return Err(refuse("check in on", status));
                }
                self.not_paused()?;
                one(E::CheckedIn {
                    latitude,
                    longitude,
                    at,
                })
            }
            C::Measure {
                tenths,
                room,
                device_id,
                at,
            } => {
                if !matches!(status, Status::CrewAssigned | Status::OnSite) {
                    return Err(refuse("measure on", status));
                }
                self.not_paused()?;
                one(E::TemperatureMeasured {
                    tenths,
                    room,
                    device_id,
                    at,
                })
            }
            C::Pause { reason, at } => {
                if !status.in_work() {
                    return Err(refuse("pause", status));
                }
                self.not_paused()?;
                one(E::Paused { reason, at })
            }
            C::Resume { at } => {
                if self.paused.is_none() {
                    return Err(TicketError::NotPaused);
                }
                one(E::Resumed { at })
            }
            C::RequestExtension { days, reason, at } => {
                required(&reason)?;
                if !status.in_work() {
                    return Err(refuse("extend", status));
                }
                let most = sla.hotline.max_extension_working_days;
                if days == 0 || days > most {
                    return Err(TicketError::ExtensionTooLong(most));
                }
                match self.extension {
                    Extension::Granted { .. } => Err(TicketError::ExtensionUsed),
                    Extension::Requested { .. } => Err(TicketError::ExtensionPending),
                    Extension::None | Extension::Refused => {
                        one(E::ExtensionRequested { days, reason, at })
                    }
                }
            }
            C::DecideExtension { approve, note, at } => {
                let Extension::Requested { days } = self.extension else {
                    return Err(TicketError::NoExtensionRequested);
                };
                let mut deadlines = Vec::new();
                if approve {
                    for kind in [ClockKind::Restore, ClockKind::HotlineFinish] {
                        let Some(deadline) = self
                            .clock(kind)
                            .filter(|c| c.is_running())
                            .and_then(|c| c.deadline)
                        else {
                            continue;
                        };
                        let moved = match kind {
                            ClockKind::HotlineFinish => sla.calendar().extend(deadline, days),
                            _ => deadline + chrono::Duration::days(i64::from(days)),
                        };
                        deadlines.push((kind, moved));
                    }
                } else {
                    required(&note)?;
                }
                one(E::ExtensionDecided {
                    approved: approve,
                    note,
                    deadlines,
                    at,
                })
            }
            C::Supervise { by_role, note, at } => {
                required(&note)?;
                if status == Status::Closed {
                    return Err(refuse("supervise", status));
                }
                one(E::Supervised { by_role, note, at })
            }
            C::Resolve {
                cause,
                standard_met,
                note,
                at,
            } => {
                if !status.in_work() {
                    return Err(refuse("resolve", status));
                }
                self.not_paused()?;
                if standard_met && !self.meets_standard() {
                    return Err(TicketError::StandardNotMet);
                }
                let callback = self.starts(sla, ClockKind::Callback, at);
                one(E::Resolved {
                    cause,
                    standard_met,
                    note,
                    callback,
                    at,
                })
            }
            C::GiveFeedback {
                rating,
                comment,
                resident: Some(resident),
                at,
            } if !self.reported_by(&resident) => {
                let complaint_id = self
                    .members
                    .iter()
                    .find(|m| m.filed_by == resident)
                    .map(|m| m.complaint_id.clone())
                    .ok_or(TicketError::NotAParty)?;
                let judged = status == Status::Resolved
                    || (status == Status::Closed && self.outcome.as_deref() == Some("completed"));
                if !judged {
                    return Err(refuse("give a verdict on", status));
                }
                let cycle = self.cycle;
                if self
                    .member_verdicts
                    .contains(&(complaint_id.clone(), cycle))
                {
                    return Err(TicketError::AlreadyRated);
                }
                one(E::MemberVerdictGiven {
                    complaint_id,
                    cycle,
                    rating,
                    comment,
                    at,
                })
            }
            C::GiveFeedback {
                rating,
                comment,
                at,
                ..
            } => {
                if status != Status::Resolved {
                    return Err(refuse("give feedback on", status));
                }
                let mut events = vec![E::FeedbackGiven {
                    rating,
                    comment,
                    at,
                }];
                if rating == Rating::Unsatisfied {
                    let sign = self.starts(sla, ClockKind::Sign, at);
                    events.push(E::Reopened {
                        cycle: self.cycle + 1,
                        sign,
                        at,
                    });
                } else {
                    events.push(E::Closed {
                        outcome: "completed".into(),
                        note: String::new(),
                        into: None,
                        at,
                    });
                }
                Ok(events)
            }
            C::Close { note, at } => {
                required(&note)?;
                if status != Status::Resolved {
                    return Err(refuse("close", status));
                }
                one(E::Closed {
                    outcome: "completed".into(),
                    note,
                    into: None,
                    at,
                })
            }
            C::Cancel { reason, at } => match status {
                Status::Opened | Status::Dispatched | Status::Returned => one(E::Closed {
                    outcome: "cancelled".into(),
                    note: reason,
                    into: None,
                    at,
                }),
                other => Err(refuse("cancel", other)),
            },
            C::MergeInto { ticket, at } => match status {
                Status::Resolved | Status::Closed => Err(refuse("merge", status)),
                _ => one(E::Closed {
                    outcome: "merged".into(),
                    note: String::new(),
                    into: Some(ticket),
                    at,
                }),
            },
            C::RecordBreach { clock, at } => {
                let run = self.clock(clock).ok_or(TicketError::NothingToBreach)?;
                match run.pending_deadline() {
                    Some(deadline) if deadline <= at => one(E::SlaBreached {
                        clock,
                        cycle: run.cycle,
                        deadline,
                        at,
                    }),
                    _ => Err(TicketError::NothingToBreach),
                }
            }
        }
    }
}
