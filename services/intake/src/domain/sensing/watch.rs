//! A sensor's watch: silent when it sent nothing for the configured hours, resumed when it
//! reports again.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

use super::SensingError;
use crate::domain::values::Route;

/// A sensor's watch: whether it has gone silent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SensorWatch {
    silent: bool,
}

/// What a sensor's watch can be told.
#[derive(Debug, Clone)]
pub enum WatchCommand {
    /// It sent nothing for `hours`.
    Silence {
        /// What it is and where.
        sensor: Watched,
        /// Its last reading, if it ever sent one.
        last_reading: Option<DateTime<Utc>>,
        /// The hours without a reading that make it silent.
        hours: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// It reported again.
    Resume {
        /// The reading that broke the silence.
        reading_at: DateTime<Utc>,
        /// When.
        at: DateTime<Utc>,
    },
}

/// A sensor as its silence names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watched {
    /// Its id.
    pub sensor_id: String,
    /// `room`, `building`, `station` or `outdoor`.
    pub kind: String,
    /// Its home (room sensors).
    pub household: Option<String>,
    /// Where it is.
    pub route: Route,
}

/// What happened to a sensor's watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WatchEvent {
    /// It went silent.
    Silenced {
        /// What it is and where.
        sensor: Watched,
        /// Its last reading.
        last_reading: Option<DateTime<Utc>>,
        /// The hours that made it silent.
        hours: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// It reported again.
    Resumed {
        /// The reading that broke the silence.
        reading_at: DateTime<Utc>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl WatchEvent {
    fn name(&self) -> &'static str {
        match self {
            WatchEvent::Silenced { .. } => "SensorSilent",
            WatchEvent::Resumed { .. } => "SensorResumed",
        }
    }
}

decided!(SensorWatch, "sensor_watch", WatchCommand, WatchEvent);

impl SensorWatch {
    fn absorb(&mut self, event: WatchEvent) {
        self.silent = matches!(event, WatchEvent::Silenced { .. });
    }
}

impl SensorWatch {
    /// The decision of `handle`, pure.
    pub fn decide(&self, command: WatchCommand) -> Result<WatchEvent, SensingError> {
        match command {
            WatchCommand::Silence {
                sensor,
                last_reading,
                hours,
                at,
            } => {
                if self.silent {
                    return Err(SensingError::AlreadySilent);
                }
                Ok(WatchEvent::Silenced {
                    sensor,
                    last_reading,
                    hours,
                    at,
                })
            }
            WatchCommand::Resume { reading_at, at } => {
                if !self.silent {
                    return Err(SensingError::NotSilent);
                }
                Ok(WatchEvent::Resumed { reading_at, at })
            }
        }
    }
}

impl Publish for SensorWatch {
    fn publish(&self, aggregate_id: &str, event: &WatchEvent) -> Vec<IntegrationEvent> {
        vec![match event {
            WatchEvent::Silenced {
                sensor,
                last_reading,
                hours,
                at,
            } => IntegrationEvent::encode(&proto::SensorSilent {
                sensor_id: sensor.sensor_id.clone(),
                kind: sensor.kind.clone(),
                household: sensor.household.clone().unwrap_or_default(),
                route: Some((&sensor.route).into()),
                last_reading_at_ms: last_reading.map_or(0, |t| t.timestamp_millis()),
                silent_hours: *hours,
                detected_at_ms: at.timestamp_millis(),
            }),
            WatchEvent::Resumed { reading_at, at } => {
                IntegrationEvent::encode(&proto::SensorResumed {
                    sensor_id: aggregate_id.to_owned(),
                    reading_at_ms: reading_at.timestamp_millis(),
                    resumed_at_ms: at.timestamp_millis(),
                })
            }
        }]
    }
}
