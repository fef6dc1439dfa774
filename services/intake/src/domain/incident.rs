//! The incident aggregate: many households of one building or heat-exchange station without
//! heat at once, handled as one case.

use chrono::{DateTime, Duration, Utc};
use contracts::intake::v1 as proto;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

use super::values::Route;

/// What an incident covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One building.
    Building,
    /// Every building of one heat-exchange station.
    Station,
}

impl Scope {
    /// `building` or `station`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Building => "building",
            Scope::Station => "station",
        }
    }
}

/// A complaint and its household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The complaint.
    pub complaint_id: String,
    /// Its household.
    pub household: String,
}

/// An incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    declared: bool,
    /// Shared between copies of the state: a station's incident carries thousands, and its
    /// state is copied for every complaint that joins.
    members: imbl::Vector<Member>,
}

impl Incident {
    /// Its complaints, in the order they joined.
    pub fn members(&self) -> &imbl::Vector<Member> {
        &self.members
    }
}

/// What an incident can be told.
#[derive(Debug, Clone)]
pub enum IncidentCommand {
    /// Declares it over the complaints that reached the threshold.
    Declare {
        /// Building or station.
        scope: Scope,
        /// Where.
        route: Route,
        /// The complaints.
        members: Vec<Member>,
        /// The households needed.
        threshold: u32,
        /// Within this window.
        window: Duration,
        /// When.
        at: DateTime<Utc>,
    },
    /// Adds a later complaint.
    Join {
        /// The complaint.
        member: Member,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IncidentEvent {
    /// Declared.
    Declared {
        /// Building or station.
        scope: Scope,
        /// Where.
        route: Route,
        /// The complaints.
        members: Vec<Member>,
        /// The households needed.
        threshold: u32,
        /// The window, in seconds.
        window_seconds: i64,
        /// When.
        at: DateTime<Utc>,
    },
    /// A complaint joined.
    Joined {
        /// The complaint.
        member: Member,
        /// Whether the complaint named the incident when it was filed (it was part of it
        /// from its acceptance). Such joins are recorded in the complaint's stream only (its
        /// acceptance names the incident); `true` appears only in incidents recorded before
        /// that, and absent (false) in events written before filings named incidents.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        named_at_filing: bool,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for IncidentEvent {
    fn event_type(&self) -> String {
        match self {
            IncidentEvent::Declared { .. } => "IncidentDeclared",
            IncidentEvent::Joined { .. } => "IncidentJoined",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command an incident refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    /// Declaring twice.
    #[error("the incident is declared already")]
    AlreadyDeclared,
    /// Joining an incident that was never declared.
    #[error("no such incident")]
    NotDeclared,
    /// Joining twice.
    #[error("the complaint is part of the incident already")]
    AlreadyMember,
}

impl Aggregate for Incident {
    const TYPE: &'static str = "incident";
    type Command = IncidentCommand;
    type Event = IncidentEvent;
    type Error = IncidentError;
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
            IncidentEvent::Declared { members, .. } => {
                self.declared = true;
                self.members = members.into();
            }
            IncidentEvent::Joined { member, .. } => self.members.push_back(member),
        }
    }
}

impl Incident {
    /// The decision of `handle`, pure.
    pub fn decide(&self, command: IncidentCommand) -> Result<IncidentEvent, IncidentError> {
        match command {
            IncidentCommand::Declare {
                scope,
                route,
                members,
                threshold,
                window,
                at,
            } => {
                if self.declared {
                    return Err(IncidentError::AlreadyDeclared);
                }
                Ok(IncidentEvent::Declared {
                    scope,
                    route,
                    members,
                    threshold,
                    window_seconds: window.num_seconds(),
                    at,
                })
            }
            IncidentCommand::Join { member, at } => {
                if !self.declared {
                    Err(IncidentError::NotDeclared)
                } else if self
                    .members
                    .iter()
                    .any(|m| m.complaint_id == member.complaint_id)
                {
                    Err(IncidentError::AlreadyMember)
                } else {
                    Ok(IncidentEvent::Joined {
                        member,
                        named_at_filing: false,
                        at,
                    })
                }
            }
        }
    }
}

impl Publish for Incident {
    fn publish(&self, aggregate_id: &str, event: &IncidentEvent) -> Vec<IntegrationEvent> {
        let incident_id = aggregate_id.to_owned();
        vec![match event {
            IncidentEvent::Declared {
                scope,
                route,
                members,
                threshold,
                window_seconds,
                at,
            } => IntegrationEvent::encode(&proto::IncidentDeclared {
                incident_id,
                scope: scope.as_str().to_owned(),
                route: Some(route.into()),
                complaint_ids: members.iter().map(|m| m.complaint_id.clone()).collect(),
                households: members.iter().map(|m| m.household.clone()).collect(),
                declared_at_ms: at.timestamp_millis(),
                threshold: *threshold,
                window_ms: window_seconds * 1000,
            }),
            // The complaint's ComplaintAccepted named the incident (`joins_incident_id`): the
            // world was told then, so its membership here publishes nothing more.
            IncidentEvent::Joined {
                named_at_filing: true,
                ..
            } => return Vec::new(),
            IncidentEvent::Joined { member, at, .. } => {
                IntegrationEvent::encode(&proto::IncidentJoined {
                    incident_id,
                    complaint_id: member.complaint_id.clone(),
                    household: member.household.clone(),
                    joined_at_ms: at.timestamp_millis(),
                })
            }
        }]
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;

    use super::*;

    fn member(n: u32) -> Member {
        Member {
            complaint_id: format!("c-{n}"),
            household: format!("acct:H{n}"),
        }
    }

    fn declared() -> IncidentEvent {
        IncidentEvent::Declared {
            scope: Scope::Building,
            route: Route::default(),
            members: (1..=5).map(member).collect(),
            threshold: 5,
            window_seconds: 7200,
            at: Utc.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_complaint_joins_a_declared_incident_once() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
        TestFramework::<Incident>::with(())
            .given(vec![declared()])
            .when(IncidentCommand::Join {
                member: member(6),
                at,
            })
            .then_expect_events(vec![IncidentEvent::Joined {
                member: member(6),
                named_at_filing: false,
                at,
            }]);
        TestFramework::<Incident>::with(())
            .given(vec![declared()])
            .when(IncidentCommand::Join {
                member: member(3),
                at,
            })
            .then_expect_error(IncidentError::AlreadyMember);
        TestFramework::<Incident>::with(())
            .given_no_previous_events()
            .when(IncidentCommand::Join {
                member: member(3),
                at,
            })
            .then_expect_error(IncidentError::NotDeclared);
    }
}
