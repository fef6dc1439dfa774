//! A home's low-temperature episode: detected when its rooms stayed below the standard for
//! the configured hours, recovered when a whole hour reads at the standard again.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

use super::{SensingError, tenths};
use crate::domain::values::Route;

/// One of a home's hours: the mean of its room sensors' readings in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourMean {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// The mean of its readings, ℃.
    pub mean: f64,
    /// The lowest reading, ℃.
    pub lowest: f64,
    /// Readings in the hour.
    pub readings: i64,
}

impl From<&HourMean> for proto::HourlyTemperature {
    fn from(hour: &HourMean) -> Self {
        proto::HourlyTemperature {
            hour_ms: hour.hour.timestamp_millis(),
            mean_tenths_celsius: tenths(hour.mean),
            lowest_tenths_celsius: tenths(hour.lowest),
            readings: u32::try_from(hour.readings).unwrap_or(u32::MAX),
        }
    }
}

/// A home's low-temperature episode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    household: Option<String>,
    route: Route,
    recovered: bool,
}

/// What an episode can be told.
#[derive(Debug, Clone)]
pub enum EpisodeCommand {
    /// Opens it over the cold hours found.
    Detect {
        /// The home's household key.
        household: String,
        /// Where it is heated from (its sensors' building).
        route: Route,
        /// The home's room sensors.
        sensors: Vec<String>,
        /// Whether every one of them is certified.
        certified: bool,
        /// The standard the hours fell below, ℃.
        standard: f64,
        /// The cold hours, oldest first.
        hours: Vec<HourMean>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Closes it on a warm hour.
    Recover {
        /// The first whole hour at the standard again.
        hour: HourMean,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EpisodeEvent {
    /// Found.
    Detected {
        /// The home's household key.
        household: String,
        /// Where it is heated from.
        route: Route,
        /// The home's room sensors.
        sensors: Vec<String>,
        /// Whether every one of them is certified.
        certified: bool,
        /// The standard, ℃.
        standard: f64,
        /// The cold hours, oldest first.
        hours: Vec<HourMean>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The home read at the standard again.
    Recovered {
        /// The warm hour.
        hour: HourMean,
        /// When.
        at: DateTime<Utc>,
    },
}

impl EpisodeEvent {
    fn name(&self) -> &'static str {
        match self {
            EpisodeEvent::Detected { .. } => "LowTemperatureDetected",
            EpisodeEvent::Recovered { .. } => "TemperatureRecovered",
        }
    }
}

decided!(
    Episode,
    "low_temperature_episode",
    EpisodeCommand,
    EpisodeEvent
);

impl Episode {
    fn absorb(&mut self, event: EpisodeEvent) {
        match event {
            EpisodeEvent::Detected {
                household, route, ..
            } => {
                self.household = Some(household);
                self.route = route;
            }
            EpisodeEvent::Recovered { .. } => self.recovered = true,
        }
    }
}

impl Episode {
    /// The decision of `handle`, pure.
    pub fn decide(&self, command: EpisodeCommand) -> Result<EpisodeEvent, SensingError> {
        match command {
            EpisodeCommand::Detect {
                household,
                route,
                sensors,
                certified,
                standard,
                hours,
                at,
            } => {
                if self.household.is_some() {
                    return Err(SensingError::AlreadyDetected);
                }
                Ok(EpisodeEvent::Detected {
                    household,
                    route,
                    sensors,
                    certified,
                    standard,
                    hours,
                    at,
                })
            }
            EpisodeCommand::Recover { hour, at } => {
                if self.household.is_none() {
                    Err(SensingError::NotDetected)
                } else if self.recovered {
                    Err(SensingError::AlreadyRecovered)
                } else {
                    Ok(EpisodeEvent::Recovered { hour, at })
                }
            }
        }
    }
}

impl Publish for Episode {
    fn publish(&self, aggregate_id: &str, event: &EpisodeEvent) -> Vec<IntegrationEvent> {
        let episode_id = aggregate_id.to_owned();
        vec![match event {
            EpisodeEvent::Detected {
                household,
                route,
                sensors,
                certified,
                standard,
                hours,
                at,
            } => IntegrationEvent::encode(&proto::LowTemperatureDetected {
                episode_id,
                household: household.clone(),
                route: Some(route.into()),
                sensor_ids: sensors.clone(),
                certified: *certified,
                standard_tenths_celsius: tenths(*standard),
                hours: hours.iter().map(Into::into).collect(),
                since_ms: hours.first().map_or(0, |h| h.hour.timestamp_millis()),
                detected_at_ms: at.timestamp_millis(),
            }),
            EpisodeEvent::Recovered { hour, at } => {
                IntegrationEvent::encode(&proto::TemperatureRecovered {
                    episode_id,
                    household: self.household.clone().unwrap_or_default(),
                    route: Some((&self.route).into()),
                    hour: Some(hour.into()),
                    recovered_at_ms: at.timestamp_millis(),
                })
            }
        }]
    }
}
