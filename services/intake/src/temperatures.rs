//! Indoor beside outdoor for one complaint, hour by hour, so that whoever handles it sees
//! whether the cold is the weather or the supply: the home's room sensors (else its building's
//! sensors) and its district's outdoor sensors, from the hourly roll-ups (an hour not rolled
//! up yet, such as the current one, from its raw readings), from twelve hours before the
//! complaint was filed until now (at most three days).

use chrono::{DateTime, Duration, DurationRound, Utc};
use eventstore::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Intake;

/// Hours shown before the filing.
const BEFORE: i64 = 12;

/// Hours shown at most.
const MOST: i64 = 72;

/// One hour of a complaint's temperatures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemperatureHour {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// The mean of the indoor sensors' readings in it, ℃ (none without readings).
    pub indoor_mean: Option<f64>,
    /// The lowest indoor reading, ℃.
    pub indoor_lowest: Option<f64>,
    /// The mean of the district's outdoor readings in it, ℃.
    pub outdoor_mean: Option<f64>,
}

/// A complaint's temperatures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Temperatures {
    /// The complaint.
    pub complaint_id: Uuid,
    /// The room standard, ℃.
    pub standard: f64,
    /// `room` (the home's own sensors), `building` (its building's) or none.
    pub indoor_from: Option<String>,
    /// The indoor sensors.
    pub indoor_sensors: Vec<String>,
    /// The district whose outdoor sensors are shown.
    pub district: Option<String>,
    /// The outdoor sensors.
    pub outdoor_sensors: Vec<String>,
    /// Oldest first, every hour of the window (means empty where nothing was read).
    pub hours: Vec<TemperatureHour>,
}

impl Intake {
    /// The temperatures of complaint `id`, hour by hour; none for an unknown complaint.
    pub async fn temperatures_of(&self, id: Uuid) -> Result<Option<Temperatures>, StoreError> {
        let client = self.store.pool().get().await?;
        let Some(complaint) = client
            .query_opt(
                "SELECT household, building_id, district, filed_at FROM intake.complaint
                  WHERE complaint_id = $1",
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        let household: String = complaint.get("household");
        let building: Option<String> = complaint.get("building_id");
        let district: Option<String> = complaint.get("district");
        let filed_at: DateTime<Utc> = complaint.get("filed_at");
        let hour = Duration::hours(1);
        let from = filed_at
            .duration_trunc(hour)
            .expect("an hour divides a timestamp")
            - Duration::hours(BEFORE);
        let now = self.now();
        let to = (now
            .duration_trunc(hour)
            .expect("an hour divides a timestamp")
            + hour)
            .min(from + Duration::hours(MOST))
            .max(from + hour);
        let sensors = |rows: Vec<tokio_postgres::Row>| -> Vec<String> {
            rows.iter().map(|row| row.get(0)).collect()
        };
        let rooms = sensors(
            client
                .query(
                    "SELECT sensor_id FROM intake.sensor WHERE kind = 'room' AND household = $1
                      ORDER BY sensor_id",
                    &[&household],
                )
                .await?,
        );
        let (indoor_from, indoor) = if !rooms.is_empty() {
            (Some("room"), rooms)
        } else {
            let whole = sensors(
                client
                    .query(
                        "SELECT sensor_id FROM intake.sensor
                          WHERE kind = 'building' AND building_id = $1 ORDER BY sensor_id",
                        &[&building],
                    )
                    .await?,
            );
            ((!whole.is_empty()).then_some("building"), whole)
        };
        let outdoor = sensors(
            client
                .query(
                    "SELECT sensor_id FROM intake.sensor WHERE kind = 'outdoor' AND district = $1
                      ORDER BY sensor_id",
                    &[&district],
                )
                .await?,
        );
        let rows = client
            .query(
                "WITH hours AS (
                    SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 hour',
                                           interval '1 hour') AS hour
                 ), sensor_hours AS (
                    SELECT sensor_id, hour, readings, celsius_sum, celsius_min
                      FROM intake.reading_hourly
                     WHERE sensor_id = ANY($3::text[] || $4::text[]) AND hour >= $1 AND hour < $2
                       AND celsius_sum IS NOT NULL
                    UNION ALL
                    -- The hours not rolled up yet (the current one), from the raw readings.
                    SELECT sensor_id, date_trunc('hour', measured_at, 'UTC'), count(*)::int4,
                           sum(celsius), min(celsius)
                      FROM intake.reading r
                     WHERE sensor_id = ANY($3::text[] || $4::text[]) AND measured_at >= $1 AND measured_at < $2
                       AND celsius IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM intake.reading_hour_rolled d
                                        WHERE d.hour = date_trunc('hour', r.measured_at, 'UTC'))
                     GROUP BY 1, 2
                 ), indoor AS (
                    SELECT hour, sum(celsius_sum) / sum(readings) AS mean,
                           min(celsius_min)::float8 AS lowest
                      FROM sensor_hours WHERE sensor_id = ANY($3)
                     GROUP BY hour
                 ), outdoor AS (
                    SELECT hour, sum(celsius_sum) / sum(readings) AS mean
                      FROM sensor_hours WHERE sensor_id = ANY($4)
                     GROUP BY hour
                 )
                 SELECT h.hour, i.mean AS indoor, i.lowest, o.mean AS outdoor
                   FROM hours h LEFT JOIN indoor i USING (hour) LEFT JOIN outdoor o USING (hour)
                  ORDER BY h.hour",
                &[&from, &to, &indoor, &outdoor],
            )
            .await?;
        Ok(Some(Temperatures {
            complaint_id: id,
            standard: self.config.episodes.standard,
            indoor_from: indoor_from.map(str::to_owned),
            indoor_sensors: indoor,
            district,
            outdoor_sensors: outdoor,
            hours: rows
                .iter()
                .map(|row| TemperatureHour {
                    hour: row.get("hour"),
                    indoor_mean: row.get("indoor"),
                    indoor_lowest: row.get("lowest"),
                    outdoor_mean: row.get("outdoor"),
                })
                .collect(),
        }))
    }
}
