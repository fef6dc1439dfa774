//! `StopHeatingCase`: a resident's stop-heating (or restore) application on the supplier's
//! desk. The supplier replies within the city's working days (a breach otherwise, once),
//! approving with the crew that will seal or open the valve, or refusing for a reason the city
//! allows; the crew's photographed valve work stops (or restores) the household's heating.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// Stop or restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Seal the valve: no heating this season.
    Stop,
    /// Open it again.
    Restore,
}

impl Kind {
    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Stop => "stop",
            Kind::Restore => "restore",
        }
    }
}

/// A refusal a city allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The household owes fees (欠费).
    Arrears,
    /// The building has no per-household valve (无分户阀门).
    NoHouseholdValve,
    /// A new building still under the developer's warranty (新建楼保修期).
    NewBuildingWarranty,
    /// Enough of the building's households have stopped (楼栋停暖比例已满).
    BuildingCap,
}

impl Refusal {
    /// Every refusal.
    pub const ALL: [Refusal; 4] = [
        Refusal::Arrears,
        Refusal::NoHouseholdValve,
        Refusal::NewBuildingWarranty,
        Refusal::BuildingCap,
    ];

    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Arrears => "arrears",
            Refusal::NoHouseholdValve => "no_household_valve",
            Refusal::NewBuildingWarranty => "new_building_warranty",
            Refusal::BuildingCap => "building_cap",
        }
    }

    /// Reads a code.
    pub fn parse(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// The application as it reached dispatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filed {
    /// Stop or restore.
    pub kind: Kind,
    /// `2027-2028`.
    pub season: String,
    /// The household key.
    pub household: String,
    /// Its building.
    pub building_id: String,
    /// Its district.
    pub district: String,
    /// The supplier that replies.
    pub supplier_id: String,
    /// The resident's reason code.
    pub reason: String,
    /// The resident's account.
    pub filed_by: String,
    /// When it was filed.
    pub applied_at: DateTime<Utc>,
    /// When the supplier's reply is due.
    pub reply_by: DateTime<Utc>,
    /// The reply window in words (`5 working days`).
    pub reply_target: String,
}

/// A case's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    /// The application arrived.
    CaseOpened {
        /// What it asks.
        filed: Filed,
    },
    /// The supplier approved it and named the crew.
    CaseApproved {
        /// The crew.
        crew: String,
        /// Its note.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The supplier refused it.
    CaseRefused {
        /// Why.
        refusal: Refusal,
        /// Its note.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The reply deadline passed without a reply.
    ReplyBreached {
        /// When the breach was recorded.
        at: DateTime<Utc>,
    },
    /// The crew sealed (or opened) the valve and photographed it.
    ValveWorkDone {
        /// The crew.
        crew: String,
        /// The photo's SHA-256 (hex).
        photo_sha256: String,
        /// The share of the fee a stopped household pays.
        base_fee_share_pct: u32,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for CaseEvent {
    fn event_type(&self) -> String {
        match self {
            CaseEvent::CaseOpened { .. } => "CaseOpened",
            CaseEvent::CaseApproved { .. } => "CaseApproved",
            CaseEvent::CaseRefused { .. } => "CaseRefused",
            CaseEvent::ReplyBreached { .. } => "ReplyBreached",
            CaseEvent::ValveWorkDone { .. } => "ValveWorkDone",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// How many of a building's households have stopped (or been approved to), against the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildingShare {
    /// Stopped or approved to stop this season.
    pub stopping: i64,
    /// The most the city's cap allows before a refusal is justified.
    pub cap: i64,
}

/// What a case can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseCommand {
    /// Open it for an application.
    Open {
        /// The application.
        filed: Filed,
    },
    /// Approve, naming a crew of the supplier.
    Approve {
        /// The crew.
        crew: String,
        /// The crew's supplier, as the register has it (`None`: not registered or retired).
        crew_supplier: Option<String>,
        /// The supplier's note.
        note: String,
        /// Now.
        at: DateTime<Utc>,
    },
    /// Refuse.
    Refuse {
        /// Why.
        refusal: Refusal,
        /// The supplier's note.
        note: String,
        /// The building's share, for a cap refusal (`None`: the registry does not know the
        /// building's households).
        share: Option<BuildingShare>,
        /// Now.
        at: DateTime<Utc>,
    },
    /// The timer found the reply deadline passed.
    RecordBreach {
        /// Now.
        at: DateTime<Utc>,
    },
    /// The crew did the valve work.
    CompleteValveWork {
        /// The crew that did it.
        crew: String,
        /// The photo's SHA-256.
        photo_sha256: String,
        /// The city's base fee share.
        base_fee_share_pct: u32,
        /// Now.
        at: DateTime<Utc>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// No such application.
    #[error("no such application")]
    NotOpened,
    /// Opened before (a redelivered application).
    #[error("the application is open already")]
    AlreadyOpened,
    /// The supplier replied before.
    #[error("the supplier has replied to this application already")]
    AlreadyReplied,
    /// The crew is not one of the supplier's active crews.
    #[error("the crew is not an active crew of this supplier")]
    CrewOfAnotherSupplier,
    /// A cap refusal while the building is under its cap.
    #[error("{stopping} of the building's households stop; the cap allows {cap} before refusing")]
    CapNotReached {
        /// Stopping now.
        stopping: i64,
        /// The cap.
        cap: i64,
    },
    /// A cap refusal for a building whose households are not registered.
    #[error("the building's households are not registered, so its cap cannot be shown")]
    CapUnknown,
    /// A cap refusal of a restore.
    #[error("only a stop can be refused for the building cap")]
    CapOnRestore,
    /// Valve work on an application not approved, or done already.
    #[error("the application is not approved and waiting for its valve work")]
    NotApproved,
    /// Valve work by another crew.
    #[error("this valve job belongs to another crew")]
    NotYourJob,
    /// No deadline to breach.
    #[error("the reply is not overdue")]
    NothingToBreach,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the supplier.
    #[default]
    Applied,
    /// Approved; waiting for the crew.
    Approved,
    /// Refused.
    Refused,
    /// The valve work is done.
    Done,
}

impl Status {
    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Approved => "approved",
            Status::Refused => "refused",
            Status::Done => "done",
        }
    }
}

/// The case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StopHeatingCase {
    /// The application, once opened.
    pub filed: Option<Filed>,
    /// Where it stands.
    pub status: Status,
    /// The crew named on approval.
    pub crew: Option<String>,
    /// Whether the reply deadline was breached.
    pub breached: bool,
}

impl StopHeatingCase {
    /// Decides a command.
    pub fn decide(&self, command: CaseCommand) -> Result<Vec<CaseEvent>, CaseError> {
        let Some(filed) = &self.filed else {
            return match command {
                CaseCommand::Open { filed } => Ok(vec![CaseEvent::CaseOpened { filed }]),
                _ => Err(CaseError::NotOpened),
            };
        };
        match command {
            CaseCommand::Open { .. } => Err(CaseError::AlreadyOpened),
            CaseCommand::Approve { .. } | CaseCommand::Refuse { .. }
                if self.status != Status::Applied =>
            {
                Err(CaseError::AlreadyReplied)
            }
            CaseCommand::Approve {
                crew,
                crew_supplier,
                note,
                at,
            } => {
                if crew_supplier.as_deref() != Some(filed.supplier_id.as_str()) {
                    return Err(CaseError::CrewOfAnotherSupplier);
                }
                Ok(vec![CaseEvent::CaseApproved { crew, note, at }])
            }
            CaseCommand::Refuse {
                refusal,
                note,
                share,
                at,
            } => {
                if refusal == Refusal::BuildingCap {
                    if filed.kind == Kind::Restore {
                        return Err(CaseError::CapOnRestore);
                    }
                    let share = share.ok_or(CaseError::CapUnknown)?;
                    if share.stopping < share.cap {
                        return Err(CaseError::CapNotReached {
                            stopping: share.stopping,
                            cap: share.cap,
                        });
                    }
                }
                Ok(vec![CaseEvent::CaseRefused { refusal, note, at }])
            }
            CaseCommand::RecordBreach { at } => {
                if self.status != Status::Applied || self.breached || at < filed.reply_by {
                    return Err(CaseError::NothingToBreach);
                }
                Ok(vec![CaseEvent::ReplyBreached { at }])
            }
            CaseCommand::CompleteValveWork {
                crew,
                photo_sha256,
                base_fee_share_pct,
                at,
            } => {
                if self.status != Status::Approved {
                    return Err(CaseError::NotApproved);
                }
                if self.crew.as_deref() != Some(crew.as_str()) {
                    return Err(CaseError::NotYourJob);
                }
                Ok(vec![CaseEvent::ValveWorkDone {
                    crew,
                    photo_sha256,
                    base_fee_share_pct,
                    at,
                }])
            }
        }
    }
}

impl Aggregate for StopHeatingCase {
    const TYPE: &'static str = "stop_heating_case";
    type Command = CaseCommand;
    type Event = CaseEvent;
    type Error = CaseError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CaseEvent::CaseOpened { filed } => self.filed = Some(filed),
            CaseEvent::CaseApproved { crew, .. } => {
                self.status = Status::Approved;
                self.crew = Some(crew);
            }
            CaseEvent::CaseRefused { .. } => self.status = Status::Refused,
            CaseEvent::ReplyBreached { .. } => self.breached = true,
            CaseEvent::ValveWorkDone { .. } => self.status = Status::Done,
        }
    }
}

#[cfg(test)]
#[path = "stop_heating_tests.rs"]
mod tests;
