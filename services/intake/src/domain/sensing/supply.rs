//! A suspected supply reduction: a station whose rooms fell together while its district's
//! weather did not; the regulator confirms or dismisses it.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

use super::{SensingError, tenths};
use crate::domain::values::Route;

/// What a supply alert compares: a station's indoor means and its district's outdoor means,
/// over the hours before and the last hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fall {
    /// The station's indoor mean over the hours before, ℃.
    pub indoor_before: f64,
    /// Its indoor mean over the last hours, ℃.
    pub indoor_recent: f64,
    /// The district's outdoor mean over the hours before, ℃.
    pub outdoor_before: f64,
    /// Its outdoor mean over the last hours, ℃.
    pub outdoor_recent: f64,
    /// Sensors compared.
    pub sensors: i64,
    /// How many of them fell by at least a degree.
    pub falling: i64,
    /// The first of the hours before.
    pub before_from: DateTime<Utc>,
    /// The first of the last hours.
    pub recent_from: DateTime<Utc>,
    /// The end of the last hours.
    pub recent_to: DateTime<Utc>,
}

/// Where a supply alert stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Not raised yet.
    #[default]
    None,
    /// Waiting for a regulator.
    Open,
    /// Found real.
    Confirmed,
    /// Dismissed with a reason.
    Dismissed,
}

/// A suspected supply reduction at a station.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SupplyAlert {
    station: String,
    route: Route,
    status: AlertStatus,
}

/// What a supply alert can be told.
#[derive(Debug, Clone)]
pub enum AlertCommand {
    /// Raises it.
    Raise {
        /// The station.
        station: String,
        /// Where it is (district, supplier).
        route: Route,
        /// The means behind it.
        fall: Fall,
        /// When.
        at: DateTime<Utc>,
    },
    /// A regulator found it real.
    Confirm {
        /// What the regulator found.
        note: String,
        /// The regulator.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A regulator dismissed it.
    Dismiss {
        /// Why.
        reason: String,
        /// The regulator.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to a supply alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlertEvent {
    /// Raised.
    Raised {
        /// The station.
        station: String,
        /// Where it is.
        route: Route,
        /// The means behind it.
        fall: Fall,
        /// When.
        at: DateTime<Utc>,
    },
    /// Confirmed.
    Confirmed {
        /// What the regulator found.
        note: String,
        /// The regulator.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Dismissed.
    Dismissed {
        /// Why.
        reason: String,
        /// The regulator.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl AlertEvent {
    fn name(&self) -> &'static str {
        match self {
            AlertEvent::Raised { .. } => "SupplyReductionSuspected",
            AlertEvent::Confirmed { .. } => "SupplyReductionConfirmed",
            AlertEvent::Dismissed { .. } => "SupplyReductionDismissed",
        }
    }
}

decided!(SupplyAlert, "supply_alert", AlertCommand, AlertEvent);

impl SupplyAlert {
    fn absorb(&mut self, event: AlertEvent) {
        match event {
            AlertEvent::Raised { station, route, .. } => {
                self.station = station;
                self.route = route;
                self.status = AlertStatus::Open;
            }
            AlertEvent::Confirmed { .. } => self.status = AlertStatus::Confirmed,
            AlertEvent::Dismissed { .. } => self.status = AlertStatus::Dismissed,
        }
    }

    /// Where it stands.
    pub fn status(&self) -> AlertStatus {
        self.status
    }

    /// The decision of `handle`, pure.
    pub fn decide(&self, command: AlertCommand) -> Result<AlertEvent, SensingError> {
        match (command, self.status) {
            (
                AlertCommand::Raise {
                    station,
                    route,
                    fall,
                    at,
                },
                AlertStatus::None,
            ) => Ok(AlertEvent::Raised {
                station,
                route,
                fall,
                at,
            }),
            (AlertCommand::Raise { .. }, _) => Err(SensingError::AlreadyRaised),
            (_, AlertStatus::None) => Err(SensingError::NoSuchAlert),
            (AlertCommand::Confirm { note, by, at }, AlertStatus::Open) => {
                Ok(AlertEvent::Confirmed { note, by, at })
            }
            (AlertCommand::Dismiss { reason, by, at }, AlertStatus::Open) => {
                Ok(AlertEvent::Dismissed { reason, by, at })
            }
            (_, _) => Err(SensingError::AlreadyDecided),
        }
    }
}

impl Publish for SupplyAlert {
    fn publish(&self, aggregate_id: &str, event: &AlertEvent) -> Vec<IntegrationEvent> {
        let alert_id = aggregate_id.to_owned();
        let station = self.station.clone();
        let supplier_id = self.route.supplier_id.clone().unwrap_or_default();
        vec![match event {
            AlertEvent::Raised { fall, at, .. } => {
                IntegrationEvent::encode(&proto::SupplyReductionSuspected {
                    alert_id,
                    station,
                    route: Some((&self.route).into()),
                    indoor_before_tenths_celsius: tenths(fall.indoor_before),
                    indoor_recent_tenths_celsius: tenths(fall.indoor_recent),
                    outdoor_before_tenths_celsius: tenths(fall.outdoor_before),
                    outdoor_recent_tenths_celsius: tenths(fall.outdoor_recent),
                    sensors: u32::try_from(fall.sensors).unwrap_or(u32::MAX),
                    sensors_falling: u32::try_from(fall.falling).unwrap_or(u32::MAX),
                    before_from_ms: fall.before_from.timestamp_millis(),
                    recent_from_ms: fall.recent_from.timestamp_millis(),
                    recent_to_ms: fall.recent_to.timestamp_millis(),
                    raised_at_ms: at.timestamp_millis(),
                })
            }
            AlertEvent::Confirmed { note, by, at } => {
                IntegrationEvent::encode(&proto::SupplyReductionConfirmed {
                    alert_id,
                    station,
                    supplier_id,
                    note: note.clone(),
                    decided_by: by.clone(),
                    confirmed_at_ms: at.timestamp_millis(),
                })
            }
            AlertEvent::Dismissed { reason, by, at } => {
                IntegrationEvent::encode(&proto::SupplyReductionDismissed {
                    alert_id,
                    station,
                    supplier_id,
                    reason: reason.clone(),
                    decided_by: by.clone(),
                    dismissed_at_ms: at.timestamp_millis(),
                })
            }
        }]
    }
}
