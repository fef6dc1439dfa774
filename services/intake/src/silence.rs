//! Silent sensors: a registered sensor that sent nothing for `HEATLINE_SENSOR_SILENT_HOURS`
//! watches nothing, and a cold home behind it would go unseen. Each one found is a
//! `SensorSilent` event and a row of `intake.sensor_silent` (so that staff see the list); its
//! next reading is a `SensorResumed` event and removes the row.
//!
//! A sensor imported or installed less than the silent hours ago is given that long to report.

use chrono::{DateTime, Duration, DurationRound, Utc};
use eventstore::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Intake;
use crate::complaints::CommandError;
use crate::domain::sensing::{SensorWatch, WatchCommand, Watched};

/// Sensors found silent and found reporting again, in `/metrics`.
pub const SILENCES: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_sensor_silences_total",
    help: "Sensors found silent for the configured hours, and found reporting again, by outcome (silent, resumed).",
};

/// How many silent sensors one pass records at most (the next pass takes the rest).
const PER_PASS: i64 = 10_000;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SilencePass {
    /// Sensors found silent.
    pub silent: Vec<String>,
    /// Silent sensors that reported again.
    pub resumed: Vec<String>,
}

/// A silent sensor, as staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SilentSensor {
    /// Its id.
    pub sensor_id: String,
    /// `room`, `building`, `station` or `outdoor`.
    pub kind: String,
    /// Its home's household key (room sensors).
    pub household: Option<String>,
    /// Its building (room and building sensors).
    pub building_id: Option<String>,
    /// Its heat-exchange station (none for an outdoor sensor).
    pub station: Option<String>,
    /// The supplier that heats it, when the registry knows.
    pub supplier_id: Option<String>,
    /// Its last reading, when it ever reported.
    pub last_reading_at: Option<DateTime<Utc>>,
    /// When it was found silent.
    pub silenced_at: DateTime<Utc>,
}

impl Intake {
    /// Records the sensors that sent nothing for the silent hours, and those silent ones that
    /// reported since.
    pub async fn watch_sensor_silence(&self) -> Result<SilencePass, CommandError> {
        let hours = self.config.episodes.silent_hours;
        let now = self.now();
        let cutoff = now - Duration::hours(i64::from(hours));
        // Readings are rolled up by the hour their measurement falls in: a sensor with a row
        // from the cutoff's hour on may have reported after the cutoff, and is not silent;
        // nor is one with a raw reading from then on (an hour is rolled up once it is over).
        let from_hour = cutoff
            .duration_trunc(Duration::hours(1))
            .expect("an hour divides a timestamp");
        let client = self.store.pool().get().await.map_err(StoreError::from)?;
        let rows = client
            .query(
                "SELECT s.sensor_id, s.kind, s.household, s.building_id, s.station, s.district,
                        (SELECT max(r.measured_at) FROM intake.reading r
                          WHERE r.sensor_id = s.sensor_id) AS last_reading_at
                   FROM intake.sensor s
                  WHERE s.imported_at <= $1 AND s.installed_on <= $1::date
                    AND NOT EXISTS (SELECT 1 FROM intake.reading_hourly h
                                     WHERE h.sensor_id = s.sensor_id AND h.hour >= $2)
                    AND NOT EXISTS (SELECT 1 FROM intake.reading r
                                     WHERE r.sensor_id = s.sensor_id AND r.measured_at >= $2)
                    AND NOT EXISTS (SELECT 1 FROM intake.sensor_silent x
                                     WHERE x.sensor_id = s.sensor_id)
                  ORDER BY s.sensor_id
                  LIMIT $3",
                &[&cutoff, &from_hour, &PER_PASS],
            )
            .await
            .map_err(StoreError::from)?;
        let mut pass = SilencePass::default();
        for row in &rows {
            let sensor_id: String = row.get("sensor_id");
            let building: Option<String> = row.get("building_id");
            let station: Option<String> = row.get("station");
            let route = match (&building, &station) {
                (Some(building), _) => self.registry.route_of_building(building),
                (None, Some(station)) => self.registry.route_of_station(station),
                (None, None) => crate::domain::values::Route {
                    district: row.get("district"),
                    ..Default::default()
                },
            };
            let last_reading: Option<DateTime<Utc>> = row.get("last_reading_at");
            let watched = Watched {
                sensor_id: sensor_id.clone(),
                kind: row.get("kind"),
                household: row.get("household"),
                route: route.clone(),
            };
            let recorded = self
                .record::<SensorWatch>(
                    &sensor_id,
                    WatchCommand::Silence {
                        sensor: watched.clone(),
                        last_reading,
                        hours,
                        at: now,
                    },
                    |w, c| w.decide(c).ok(),
                    "INSERT INTO intake.sensor_silent
                         (sensor_id, kind, household, building_id, station, district,
                          supplier_id, last_reading_at, silenced_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &sensor_id,
                        &watched.kind,
                        &watched.household,
                        &building,
                        &station,
                        &route.district,
                        &route.supplier_id,
                        &last_reading,
                        &now,
                    ],
                )
                .await?;
            if recorded {
                tracing::info!(sensor = %sensor_id, hours, "a sensor sent nothing: silent");
                platform::metrics::count(SILENCES, &[("outcome", "silent")]);
                pass.silent.push(sensor_id);
            }
        }
        let back = client
            .query(
                "SELECT x.sensor_id, min(r.measured_at) AS reading_at
                   FROM intake.sensor_silent x
                   JOIN intake.reading r ON r.sensor_id = x.sensor_id
                                        AND r.received_at >= x.silenced_at
                  GROUP BY x.sensor_id
                  ORDER BY x.sensor_id",
                &[],
            )
            .await
            .map_err(StoreError::from)?;
        for row in &back {
            let sensor_id: String = row.get("sensor_id");
            let reading_at: DateTime<Utc> = row.get("reading_at");
            let recorded = self
                .record::<SensorWatch>(
                    &sensor_id,
                    WatchCommand::Resume {
                        reading_at,
                        at: now,
                    },
                    |w, c| w.decide(c).ok(),
                    "DELETE FROM intake.sensor_silent WHERE sensor_id = $1",
                    &[&sensor_id],
                )
                .await?;
            if recorded {
                tracing::info!(sensor = %sensor_id, "a silent sensor reported again");
                platform::metrics::count(SILENCES, &[("outcome", "resumed")]);
                pass.resumed.push(sensor_id);
            }
        }
        Ok(pass)
    }

    /// The silent sensors, longest silent first (at most 500); `district` and `supplier` keep
    /// one district's or one supplier's.
    pub async fn silent_sensors(
        &self,
        district: Option<&str>,
        supplier: Option<&str>,
    ) -> Result<Vec<SilentSensor>, StoreError> {
        let client = self.store.pool().get().await?;
        let rows = client
            .query(
                "SELECT sensor_id, kind, household, building_id, station, supplier_id,
                        last_reading_at, silenced_at
                   FROM intake.sensor_silent
                  WHERE ($1::text IS NULL OR district = $1)
                    AND ($2::text IS NULL OR supplier_id = $2)
                  ORDER BY silenced_at, sensor_id
                  LIMIT 500",
                &[&district, &supplier],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| SilentSensor {
                sensor_id: row.get("sensor_id"),
                kind: row.get("kind"),
                household: row.get("household"),
                building_id: row.get("building_id"),
                station: row.get("station"),
                supplier_id: row.get("supplier_id"),
                last_reading_at: row.get("last_reading_at"),
                silenced_at: row.get("silenced_at"),
            })
            .collect())
    }
}
