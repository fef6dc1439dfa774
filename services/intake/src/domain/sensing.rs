//! What the sensors find that matters, as events: a home's low-temperature episode (detected,
//! recovered), a sensor gone silent (and back), a station's network showing a leak, and a
//! station whose rooms fell together while the weather did not (a suspected supply reduction).
//! Readings themselves are rows, never events.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};

use super::values::Route;

/// The cqrs-es side of an aggregate of this module: a command is decided by its pure `decide`,
/// an event applied by its `absorb`, and events are named by their `name` at version 1.
macro_rules! decided {
    ($aggregate:ty, $type:literal, $command:ty, $event:ty) => {
        impl Aggregate for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type Error = SensingError;
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
                self.absorb(event);
            }
        }

        impl DomainEvent for $event {
            fn event_type(&self) -> String {
                self.name().into()
            }

            fn event_version(&self) -> String {
                "1".into()
            }
        }
    };
}

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

fn tenths(celsius: f64) -> i32 {
    (celsius * 10.0).round() as i32
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn hour(h: u32, mean: f64) -> HourMean {
        HourMean {
            hour: at(h),
            mean,
            lowest: mean - 0.5,
            readings: 4,
        }
    }

    fn detected() -> EpisodeEvent {
        EpisodeEvent::Detected {
            household: "acct:H1".into(),
            route: Route::default(),
            sensors: vec!["T-1".into()],
            certified: true,
            standard: 18.0,
            hours: (1..=4).map(|h| hour(h, 15.0)).collect(),
            at: at(5),
        }
    }

    #[test]
    fn an_episode_recovers_once_and_only_after_it_was_detected() {
        let recover = || EpisodeCommand::Recover {
            hour: hour(6, 18.5),
            at: at(7),
        };
        TestFramework::<Episode>::with(())
            .given(vec![detected()])
            .when(recover())
            .then_expect_events(vec![EpisodeEvent::Recovered {
                hour: hour(6, 18.5),
                at: at(7),
            }]);
        TestFramework::<Episode>::with(())
            .given_no_previous_events()
            .when(recover())
            .then_expect_error(SensingError::NotDetected);
        TestFramework::<Episode>::with(())
            .given(vec![
                detected(),
                EpisodeEvent::Recovered {
                    hour: hour(6, 18.5),
                    at: at(7),
                },
            ])
            .when(recover())
            .then_expect_error(SensingError::AlreadyRecovered);
    }

    #[test]
    fn a_detected_episode_publishes_its_hours_in_tenths() {
        let mut episode = Episode::default();
        episode.apply(detected());
        let published = episode.publish("e-1", &detected());
        assert_eq!(
            published[0].message_type,
            "heatline.intake.v1.LowTemperatureDetected"
        );
        let message: proto::LowTemperatureDetected =
            prost::Message::decode(published[0].payload.as_slice()).unwrap();
        assert_eq!(message.standard_tenths_celsius, 180);
        assert_eq!(message.hours.len(), 4);
        assert_eq!(message.hours[0].mean_tenths_celsius, 150);
        assert_eq!(message.hours[0].lowest_tenths_celsius, 145);
        assert_eq!(message.since_ms, at(1).timestamp_millis());
    }

    #[test]
    fn a_sensor_goes_silent_once_until_it_reports_again() {
        let silence = || WatchCommand::Silence {
            sensor: Watched {
                sensor_id: "T-1".into(),
                kind: "room".into(),
                household: Some("acct:H1".into()),
                route: Route::default(),
            },
            last_reading: Some(at(1)),
            hours: 6,
            at: at(8),
        };
        let silenced = SensorWatch::default().decide(silence()).unwrap();
        TestFramework::<SensorWatch>::with(())
            .given(vec![silenced.clone()])
            .when(silence())
            .then_expect_error(SensingError::AlreadySilent);
        TestFramework::<SensorWatch>::with(())
            .given_no_previous_events()
            .when(WatchCommand::Resume {
                reading_at: at(9),
                at: at(9),
            })
            .then_expect_error(SensingError::NotSilent);
        TestFramework::<SensorWatch>::with(())
            .given(vec![silenced])
            .when(WatchCommand::Resume {
                reading_at: at(9),
                at: at(9),
            })
            .then_expect_events(vec![WatchEvent::Resumed {
                reading_at: at(9),
                at: at(9),
            }]);
    }

    #[test]
    fn a_further_drop_recurs_and_the_same_drop_is_refused() {
        let drop = |id: &str| Drop {
            drop_id: id.into(),
            sensor_id: "S-1".into(),
            baseline_pressure: 500.0,
            pressure: 400.0,
            baseline_flow: 100.0,
            flow: 120.0,
            from: at(1),
            to: at(2),
            readings: 5,
        };
        let record = |id: &str| AnomalyCommand::Record {
            station: "HP-S1".into(),
            route: Route::default(),
            drop: drop(id),
            at: at(2),
        };
        let first = NetworkAnomaly::default().decide(record("d-1")).unwrap();
        assert!(matches!(first, AnomalyEvent::Detected { .. }));
        TestFramework::<NetworkAnomaly>::with(())
            .given(vec![first.clone()])
            .when(record("d-2"))
            .then_expect_events(vec![AnomalyEvent::Recurred {
                drop: drop("d-2"),
                at: at(2),
            }]);
        TestFramework::<NetworkAnomaly>::with(())
            .given(vec![first])
            .when(record("d-1"))
            .then_expect_error(SensingError::DropRecorded);
    }
}
