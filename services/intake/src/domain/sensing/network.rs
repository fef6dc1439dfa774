//! A station's network showing a leak: its pressure dropped while its flow rose.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

use super::SensingError;
use crate::domain::values::Route;

/// One drop in a station's telemetry: its last minutes against the hour before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drop {
    /// Its id (also its leak complaint's filing id).
    pub drop_id: String,
    /// The station sensor that showed it.
    pub sensor_id: String,
    /// The mean pressure of the hour before, kPa.
    pub baseline_pressure: f64,
    /// The mean pressure of the last minutes, kPa.
    pub pressure: f64,
    /// The mean flow of the hour before, m³/h.
    pub baseline_flow: f64,
    /// The mean flow of the last minutes, m³/h.
    pub flow: f64,
    /// The first reading of the last minutes.
    pub from: DateTime<Utc>,
    /// Their last reading.
    pub to: DateTime<Utc>,
    /// How many readings the last minutes hold.
    pub readings: i64,
}

/// A suspected leak in a station's network: one or more drops close together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkAnomaly {
    station: Option<String>,
    route: Route,
    drops: Vec<String>,
}

/// What a network anomaly can be told.
#[derive(Debug, Clone)]
pub enum AnomalyCommand {
    /// Records a drop: the first opens the anomaly.
    Record {
        /// The station.
        station: String,
        /// Where it is (its district and supplier).
        route: Route,
        /// The drop.
        drop: Drop,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to a network anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AnomalyEvent {
    /// Its first drop.
    Detected {
        /// The station.
        station: String,
        /// Where it is.
        route: Route,
        /// The drop.
        drop: Drop,
        /// When.
        at: DateTime<Utc>,
    },
    /// A further drop while it was open.
    Recurred {
        /// The drop.
        drop: Drop,
        /// When.
        at: DateTime<Utc>,
    },
}

impl AnomalyEvent {
    fn name(&self) -> &'static str {
        match self {
            AnomalyEvent::Detected { .. } => "NetworkAnomalyDetected",
            AnomalyEvent::Recurred { .. } => "NetworkAnomalyRecurred",
        }
    }
}

decided!(
    NetworkAnomaly,
    "network_anomaly",
    AnomalyCommand,
    AnomalyEvent
);

impl NetworkAnomaly {
    fn absorb(&mut self, event: AnomalyEvent) {
        match event {
            AnomalyEvent::Detected {
                station,
                route,
                drop,
                ..
            } => {
                self.station = Some(station);
                self.route = route;
                self.drops.push(drop.drop_id);
            }
            AnomalyEvent::Recurred { drop, .. } => self.drops.push(drop.drop_id),
        }
    }
}

impl NetworkAnomaly {
    /// The decision of `handle`, pure.
    pub fn decide(&self, command: AnomalyCommand) -> Result<AnomalyEvent, SensingError> {
        let AnomalyCommand::Record {
            station,
            route,
            drop,
            at,
        } = command;
        if self.drops.contains(&drop.drop_id) {
            return Err(SensingError::DropRecorded);
        }
        Ok(if self.station.is_none() {
            AnomalyEvent::Detected {
                station,
                route,
                drop,
                at,
            }
        } else {
            AnomalyEvent::Recurred { drop, at }
        })
    }
}

impl Publish for NetworkAnomaly {
    fn publish(&self, aggregate_id: &str, event: &AnomalyEvent) -> Vec<IntegrationEvent> {
        let (drop, at) = match event {
            AnomalyEvent::Detected { drop, at, .. } | AnomalyEvent::Recurred { drop, at } => {
                (drop, at)
            }
        };
        vec![IntegrationEvent::encode(&proto::NetworkAnomalyDetected {
            anomaly_id: aggregate_id.to_owned(),
            drop_id: drop.drop_id.clone(),
            occurrence: u32::try_from(self.drops.len()).unwrap_or(u32::MAX),
            station: self.station.clone().unwrap_or_default(),
            sensor_id: drop.sensor_id.clone(),
            route: Some((&self.route).into()),
            kind: "pressure_drop_flow_rise".into(),
            baseline_pressure_kpa: drop.baseline_pressure,
            pressure_kpa: drop.pressure,
            baseline_flow_m3h: drop.baseline_flow,
            flow_m3h: drop.flow,
            window_from_ms: drop.from.timestamp_millis(),
            window_to_ms: drop.to.timestamp_millis(),
            readings: u32::try_from(drop.readings).unwrap_or(u32::MAX),
            detected_at_ms: at.timestamp_millis(),
        })]
    }
}
