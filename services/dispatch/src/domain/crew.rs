//! A repair crew of a supplier. Crew members log in with tokens scoped to the crew's id.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

/// A crew.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crew {
    /// The supplier it works for (set when registered).
    pub supplier: Option<String>,
    /// Its name.
    pub name: String,
    /// The district it covers, if one.
    pub district: Option<String>,
    /// Whether it takes jobs.
    pub active: bool,
}

/// What can be told to a crew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrewCommand {
    /// Registers it.
    Register {
        /// The supplier.
        supplier: String,
        /// Its name.
        name: String,
        /// The district it covers.
        district: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Takes it off duty for good.
    Retire {
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to a crew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrewEvent {
    /// Registered.
    Registered {
        /// The supplier.
        supplier: String,
        /// Its name.
        name: String,
        /// The district it covers.
        district: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Retired.
    Retired {
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for CrewEvent {
    fn event_type(&self) -> String {
        match self {
            CrewEvent::Registered { .. } => "CrewRegistered",
            CrewEvent::Retired { .. } => "CrewRetired",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command a crew refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrewError {
    /// Registering a crew that exists.
    #[error("the crew is registered already")]
    AlreadyRegistered,
    /// Acting on a crew never registered.
    #[error("no such crew")]
    NotRegistered,
    /// Retiring a retired crew.
    #[error("the crew is retired already")]
    AlreadyRetired,
}

impl Crew {
    /// The decision of `handle`.
    pub fn decide(&self, command: CrewCommand) -> Result<CrewEvent, CrewError> {
        match command {
            CrewCommand::Register {
                supplier,
                name,
                district,
                at,
            } => {
                if self.supplier.is_some() {
                    return Err(CrewError::AlreadyRegistered);
                }
                Ok(CrewEvent::Registered {
                    supplier,
                    name,
                    district,
                    at,
                })
            }
            CrewCommand::Retire { at } => match (&self.supplier, self.active) {
                (None, _) => Err(CrewError::NotRegistered),
                (Some(_), false) => Err(CrewError::AlreadyRetired),
                (Some(_), true) => Ok(CrewEvent::Retired { at }),
            },
        }
    }
}

impl Aggregate for Crew {
    const TYPE: &'static str = "crew";
    type Command = CrewCommand;
    type Event = CrewEvent;
    type Error = CrewError;
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
            CrewEvent::Registered {
                supplier,
                name,
                district,
                ..
            } => {
                self.supplier = Some(supplier);
                self.name = name;
                self.district = district;
                self.active = true;
            }
            CrewEvent::Retired { .. } => self.active = false,
        }
    }
}

impl Publish for Crew {
    fn publish(&self, _: &str, _: &CrewEvent) -> Vec<IntegrationEvent> {
        // Crews are dispatch's own business; their work shows in the tickets' events.
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn registered() -> CrewEvent {
        CrewEvent::Registered {
            supplier: "sup-north".into(),
            name: "Crew 7".into(),
            district: None,
            at: at(),
        }
    }

    #[test]
    fn a_crew_is_registered_once_and_retired_once() {
        TestFramework::<Crew>::with(())
            .given(vec![registered()])
            .when(CrewCommand::Register {
                supplier: "sup-east".into(),
                name: "x".into(),
                district: None,
                at: at(),
            })
            .then_expect_error(CrewError::AlreadyRegistered);
        TestFramework::<Crew>::with(())
            .given(vec![registered(), CrewEvent::Retired { at: at() }])
            .when(CrewCommand::Retire { at: at() })
            .then_expect_error(CrewError::AlreadyRetired);
        TestFramework::<Crew>::with(())
            .given_no_previous_events()
            .when(CrewCommand::Retire { at: at() })
            .then_expect_error(CrewError::NotRegistered);
    }
}
