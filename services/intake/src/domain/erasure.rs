//! An erasure of personal data: the audit record of whose data was erased, why, on whose
//! approval, and which complaints it reached. The record itself holds no personal data.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whose data an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum ErasureScope {
    /// A resident account: its own data and every complaint it filed.
    Resident(String),
    /// A household (its pseudonymous key): every complaint filed for it.
    Household(String),
    /// Complaints past their retention after closing.
    Retention,
}

/// What happened to an erasure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ErasureEvent {
    /// The keys were destroyed: the complaints' personal data can never be read again.
    PersonalDataErased {
        /// Whose.
        scope: ErasureScope,
        /// Why (the regulator's reason, or the retention rule).
        reason: String,
        /// The approval it rests on (the regulator's reference), if any.
        approval: Option<String>,
        /// The complaints whose personal data it reached.
        complaints: Vec<Uuid>,
        /// The data subjects whose keys were destroyed.
        subjects: usize,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ErasureEvent {
    fn event_type(&self) -> String {
        "PersonalDataErased".into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// An erasure: written once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Erasure {
    done: bool,
}

/// An erasure is recorded once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the erasure is recorded already")]
pub struct AlreadyRecorded;

impl Erasure {
    /// The event recording `event`, unless this erasure was recorded.
    pub fn decide(&self, event: ErasureEvent) -> Result<ErasureEvent, AlreadyRecorded> {
        if self.done {
            Err(AlreadyRecorded)
        } else {
            Ok(event)
        }
    }
}

impl Aggregate for Erasure {
    const TYPE: &'static str = "erasure";
    type Command = ErasureEvent;
    type Event = ErasureEvent;
    type Error = AlreadyRecorded;
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

    fn apply(&mut self, _: Self::Event) {
        self.done = true;
    }
}

impl Publish for Erasure {
    // An audit record of intake's: nothing another service acts on.
    fn publish(&self, _: &str, _: &ErasureEvent) -> Vec<IntegrationEvent> {
        Vec::new()
    }
}
