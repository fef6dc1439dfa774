//! What the sensors find that matters, as events: a home's low-temperature episode (detected,
//! recovered), a sensor gone silent (and back), a station's network showing a leak, and a
//! station whose rooms fell together while the weather did not (a suspected supply reduction).
//! Readings themselves are rows, never events. One module per aggregate; this one holds what
//! they share.

/// The cqrs-es side of an aggregate of this module: a command is decided by its pure `decide`,
/// an event applied by its `absorb`, and events are named by their `name` at version 1.
macro_rules! decided {
    ($aggregate:ty, $type:literal, $command:ty, $event:ty) => {
        impl cqrs_es::Aggregate for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type Error = $crate::domain::sensing::SensingError;
            type Services = ();

            async fn handle(
                &mut self,
                command: Self::Command,
                _: &Self::Services,
                sink: &cqrs_es::event_sink::EventSink<Self>,
            ) -> Result<(), Self::Error> {
                let event = self.decide(command)?;
                sink.write(event, self).await;
                Ok(())
            }

            fn apply(&mut self, event: Self::Event) {
                self.absorb(event);
            }
        }

        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                self.name().into()
            }

            fn event_version(&self) -> String {
                "1".into()
            }
        }
    };
}

mod episode;
mod network;
mod supply;
mod watch;

pub use episode::{Episode, EpisodeCommand, EpisodeEvent, HourMean};
pub use network::{AnomalyCommand, AnomalyEvent, Drop, NetworkAnomaly};
pub use supply::{AlertCommand, AlertEvent, AlertStatus, Fall, SupplyAlert};
pub use watch::{SensorWatch, WatchCommand, WatchEvent, Watched};

/// A command an episode or a sensor's watch refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SensingError {
    /// Detecting an episode twice.
    #[error("the episode is open already")]
    AlreadyDetected,
    /// Recovering an episode never detected.
    #[error("no such episode")]
    NotDetected,
    /// Recovering twice.
    #[error("the episode is closed already")]
    AlreadyRecovered,
    /// Silencing a silent sensor.
    #[error("the sensor is silent already")]
    AlreadySilent,
    /// Resuming a sensor that reports.
    #[error("the sensor is not silent")]
    NotSilent,
    /// Recording a drop twice.
    #[error("the drop is recorded already")]
    DropRecorded,
    /// Raising an alert twice.
    #[error("the alert is raised already")]
    AlreadyRaised,
    /// Deciding an alert never raised.
    #[error("no such alert")]
    NoSuchAlert,
    /// Deciding an alert twice.
    #[error("the alert was confirmed or dismissed already")]
    AlreadyDecided,
}

/// Degrees Celsius in the tenths the published events carry.
fn tenths(celsius: f64) -> i32 {
    (celsius * 10.0).round() as i32
}

#[cfg(test)]
mod tests;
