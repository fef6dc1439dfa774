//! The probe: a tiny aggregate that exercises the store end to end.
//!
//! It is what the event store's tests and `heatline bench eventstore` write, so that they go
//! through exactly the path a business aggregate takes (`CqrsFramework`, metadata, integration
//! events from `proto/`) without depending on any business service.

use contracts::selftest::v1 as proto;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::store::{IntegrationEvent, Publish};

/// A counter with a label.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    opened: bool,
    total: i64,
}

impl Probe {
    /// The counter's value.
    pub fn total(&self) -> i64 {
        self.total
    }
}

/// What a probe can be told.
#[derive(Debug, Clone)]
pub enum ProbeCommand {
    /// Creates the probe.
    Open {
        /// A free label.
        label: String,
    },
    /// Moves the counter by `amount`, `times` times (one event each).
    Tick {
        /// By how much each event moves it.
        amount: i64,
        /// How many events to emit.
        times: usize,
    },
}

/// What happened to a probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbeEvent {
    /// It was created.
    Opened {
        /// Its label.
        label: String,
    },
    /// Its counter moved.
    Ticked {
        /// By how much.
        amount: i64,
    },
}

impl DomainEvent for ProbeEvent {
    fn event_type(&self) -> String {
        match self {
            ProbeEvent::Opened { .. } => "ProbeOpened",
            ProbeEvent::Ticked { .. } => "ProbeTicked",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command the probe refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Opening an open probe.
    #[error("the probe is already open")]
    AlreadyOpen,
    /// Ticking a probe that was never opened.
    #[error("the probe is not open")]
    NotOpen,
}

impl Aggregate for Probe {
    const TYPE: &'static str = "probe";
    type Command = ProbeCommand;
    type Event = ProbeEvent;
    type Error = ProbeError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ProbeCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ProbeError> {
        match command {
            ProbeCommand::Open { label } => {
                if self.opened {
                    return Err(ProbeError::AlreadyOpen);
                }
                sink.write(ProbeEvent::Opened { label }, self).await;
            }
            ProbeCommand::Tick { amount, times } => {
                if !self.opened {
                    return Err(ProbeError::NotOpen);
                }
                for _ in 0..times {
                    sink.write(ProbeEvent::Ticked { amount }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: ProbeEvent) {
        match event {
            ProbeEvent::Opened { .. } => self.opened = true,
            ProbeEvent::Ticked { amount } => self.total += amount,
        }
    }
}

impl Publish for Probe {
    fn publish(&self, aggregate_id: &str, event: &ProbeEvent) -> Vec<IntegrationEvent> {
        let message = match event {
            ProbeEvent::Opened { label } => IntegrationEvent::encode(&proto::ProbeOpened {
                probe_id: aggregate_id.to_owned(),
                label: label.clone(),
            }),
            ProbeEvent::Ticked { amount } => IntegrationEvent::encode(&proto::ProbeTicked {
                probe_id: aggregate_id.to_owned(),
                amount: *amount,
                total: self.total,
            }),
        };
        vec![message]
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    type ProbeTest = TestFramework<Probe>;

    #[test]
    fn a_new_probe_opens() {
        ProbeTest::with(())
            .given_no_previous_events()
            .when(ProbeCommand::Open { label: "a".into() })
            .then_expect_events(vec![ProbeEvent::Opened { label: "a".into() }]);
    }

    #[test]
    fn a_probe_never_opened_refuses_ticks() {
        ProbeTest::with(())
            .given_no_previous_events()
            .when(ProbeCommand::Tick {
                amount: 1,
                times: 1,
            })
            .then_expect_error(ProbeError::NotOpen);
    }

    #[test]
    fn ticks_publish_the_running_total() {
        let mut probe = Probe::default();
        probe.apply(ProbeEvent::Opened { label: "a".into() });
        probe.apply(ProbeEvent::Ticked { amount: 5 });
        let published = probe.publish("p", &ProbeEvent::Ticked { amount: 5 });
        let decoded: proto::ProbeTicked =
            prost::Message::decode(published[0].payload.as_slice()).unwrap();
        assert_eq!(decoded.total, 5);
        assert_eq!(
            published[0].message_type,
            "heatline.selftest.v1.ProbeTicked"
        );
    }
}
