//! Sensor readings in. A batch is checked reading by reading: a reading that is malformed,
//! from a sensor the registry lacks, of the wrong shape for its sensor, out of range, in the
//! future or older than a day, or already stored, is dropped and counted under its reason
//! (`heatline_sensor_readings_total{outcome}`); the rest are stored raw, usually with one plain
//! insert (a batch holding a reading stored already goes the careful way, which skips it).
//! Readings are not events: they live in `intake.reading`, partitioned by UTC day, created
//! ahead and dropped after the retention period.
//!
//! Each sensor's hours are rolled up into `intake.reading_hourly` by [`Readings::roll_up`]
//! once an hour is over, from the raw readings in one pass per hour (the watchers run it
//! before they look). A reading that arrives for an hour already rolled up is added to its
//! roll-up in the statement that stores it. Storing a batch holds a shared advisory lock on
//! each of its hours and a pass an exclusive one on its hour, so a reading is either in the
//! pass's aggregate or added after it, never neither nor both.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use deadpool_postgres::Pool;
use eventstore::StoreError;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use utoipa::ToSchema;

use crate::known_sensors::KnownSensors;

/// How far ahead of our clock a reading's time may be (the sensor's clock drifts).
const AHEAD: Duration = Duration::minutes(5);

/// How old a reading may be.
const STALE: Duration = Duration::hours(24);

/// `heatline_sensor_readings_total{outcome}`.
pub const READINGS: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_sensor_readings_total",
    help: "Sensor readings received by this process: accepted, or dropped with the reason.",
};

/// The sensor push's settings.
#[derive(Debug, Clone)]
pub struct ReadingsConfig {
    /// The shared secret of the HTTP bulk push (HMAC-SHA256, as the 12345 push); without it
    /// the endpoint answers 503 `sensors_not_configured`.
    pub secret: Option<String>,
    /// How far a push's timestamp may be from our clock.
    pub max_skew: Duration,
    /// How many days of raw readings are kept (hourly roll-ups are kept).
    pub retention_days: u32,
}

impl Default for ReadingsConfig {
    /// No push; 5 minutes of skew; 90 days of raw readings.
    fn default() -> Self {
        ReadingsConfig {
            secret: None,
            max_skew: Duration::minutes(5),
            retention_days: 90,
        }
    }
}

/// What a reading measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values {
    /// A room or building sensor: the temperature.
    Temperature {
        /// ℃.
        celsius: f32,
    },
    /// A station's telemetry.
    Station {
        /// Supply water, ℃.
        supply_c: f32,
        /// Return water, ℃.
        return_c: f32,
        /// Supply pressure, kPa.
        pressure_kpa: f32,
        /// Flow, m³/h.
        flow_m3h: f32,
    },
}

/// One reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The registered sensor.
    pub sensor_id: String,
    /// When it was measured.
    pub at: DateTime<Utc>,
    /// What it measured.
    pub values: Values,
}

/// Why a reading was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dropped {
    /// Not an object with `sensor_id`, `at` and the values of one shape.
    Malformed,
    /// The sensor registry lacks the sensor.
    UnknownSensor,
    /// A temperature from a station sensor, or telemetry from a room or building sensor.
    WrongKind,
    /// A value outside what the sensor can measure.
    OutOfRange,
    /// Measured more than 5 minutes ahead of our clock.
    Future,
    /// Measured more than a day ago.
    Stale,
    /// Already stored (or twice in the batch).
    Duplicate,
}

impl Dropped {
    /// The reason as `/metrics` and the push's answer name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Dropped::Malformed => "malformed",
            Dropped::UnknownSensor => "unknown_sensor",
            Dropped::WrongKind => "wrong_kind",
            Dropped::OutOfRange => "out_of_range",
            Dropped::Future => "future",
            Dropped::Stale => "stale",
            Dropped::Duplicate => "duplicate",
        }
    }
}

/// What became of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Outcome {
    /// Readings stored.
    pub accepted: usize,
    /// Readings dropped, by reason (`malformed`, `unknown_sensor`, `wrong_kind`,
    /// `out_of_range`, `future`, `stale`, `duplicate`).
    pub dropped: BTreeMap<&'static str, usize>,
}

impl Outcome {
    fn drop(&mut self, reason: Dropped) {
        *self.dropped.entry(reason.as_str()).or_default() += 1;
    }
}

fn number(item: &serde_json::Map<String, Value>, field: &str) -> Option<Option<f64>> {
    match item.get(field) {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite()).map(Some),
        Some(_) => None,
    }
}

fn within(value: f64, low: f64, high: f64) -> Result<f32, Dropped> {
    if (low..=high).contains(&value) {
        Ok(value as f32)
    } else {
        Err(Dropped::OutOfRange)
    }
}

/// Reads one reading of a push: `{"sensor_id", "at" (RFC 3339), "celsius"}` from a room or
/// building sensor, `{"sensor_id", "at", "supply_c", "return_c", "pressure_kpa", "flow_m3h"}`
/// from a station. Ranges: −40 to 60 ℃ in rooms, 0 to 150 ℃ in pipes, 0 to 2,500 kPa, 0 to
/// 100,000 m³/h.
pub fn parse(item: &Value) -> Result<Reading, Dropped> {
    let item = item.as_object().ok_or(Dropped::Malformed)?;
    let sensor_id = item
        .get("sensor_id")
        .and_then(Value::as_str)
        .filter(|id| (1..=64).contains(&id.len()))
        .ok_or(Dropped::Malformed)?;
    let at = item
        .get("at")
        .and_then(Value::as_str)
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .ok_or(Dropped::Malformed)?
        .to_utc();
    let celsius = number(item, "celsius").ok_or(Dropped::Malformed)?;
    let station = ["supply_c", "return_c", "pressure_kpa", "flow_m3h"]
        .map(|field| number(item, field).ok_or(Dropped::Malformed));
    let [supply, ret, pressure, flow] = station;
    let (supply, ret, pressure, flow) = (supply?, ret?, pressure?, flow?);
    let values = match (celsius, supply, ret, pressure, flow) {
        (Some(celsius), None, None, None, None) => Values::Temperature {
            celsius: within(celsius, -40.0, 60.0)?,
        },
        (None, Some(supply), Some(ret), Some(pressure), Some(flow)) => Values::Station {
            supply_c: within(supply, 0.0, 150.0)?,
            return_c: within(ret, 0.0, 150.0)?,
            pressure_kpa: within(pressure, 0.0, 2_500.0)?,
            flow_m3h: within(flow, 0.0, 100_000.0)?,
        },
        _ => return Err(Dropped::Malformed),
    };
    Ok(Reading {
        sensor_id: sensor_id.to_owned(),
        at,
        values,
    })
}

/// How far back [`Readings::roll_up`] looks for hours not rolled up (readings older than
/// [`STALE`] are dropped, so older hours cannot gain any).
const ROLL_BACK: Duration = Duration::hours(48);

/// The advisory lock class of an hour's roll-up (the key is the hour since the epoch).
const HOUR_LOCK: &str = "intake.reading_hour";

/// The UTC hour `at` falls in.
fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::hours(1))
        .expect("an hour divides a timestamp")
}

/// An hour's advisory lock key: hours since the epoch (fits an int4 until the year 246,953).
fn hour_key(hour: DateTime<Utc>) -> i32 {
    i32::try_from(hour.timestamp().div_euclid(3600)).unwrap_or(i32::MAX)
}

/// What one [`Readings::roll_up`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RollUp {
    /// Whole hours rolled up.
    pub hours: u64,
    /// Sensor-hours written.
    pub sensor_hours: u64,
}

/// The partition that holds `day`'s readings.
fn partition(day: NaiveDate) -> String {
    format!("reading_p{}", day.format("%Y%m%d"))
}

/// Stores readings and keeps their partitions.
pub struct Readings {
    pool: Pool,
    retention_days: u32,
    /// The UTC day whose neighbours' partitions were last made sure of.
    ensured: Mutex<Option<NaiveDate>>,
    /// The registered sensors' kinds, as batches asked for them.
    sensors: KnownSensors,
}

impl Readings {
    /// Readings on `pool`, raw ones kept `retention_days`.
    pub fn new(pool: Pool, retention_days: u32) -> Self {
        Readings {
            pool,
            retention_days,
            ensured: Mutex::new(None),
            sensors: KnownSensors::default(),
        }
    }

    /// Forgets the sensors' kinds if the registry changed (run every 10 seconds).
    pub async fn refresh_sensors(&self) -> Result<bool, StoreError> {
        self.sensors.refresh(&self.pool).await
    }

    /// Creates the partitions of yesterday, today and tomorrow (UTC) unless they exist.
    async fn ensure_partitions(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let today = now.date_naive();
        let mut ensured = self.ensured.lock().await;
        if *ensured == Some(today) {
            return Ok(());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Instances starting together take turns.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('intake.reading partitions'))",
            &[],
        )
        .await?;
        for offset in -1..=1 {
            let day = today + Duration::days(offset);
            let next = day + Duration::days(1);
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS intake.{} PARTITION OF intake.reading \
                 FOR VALUES FROM ('{day} 00:00:00+00') TO ('{next} 00:00:00+00')",
                partition(day)
            ))
            .await?;
        }
        tx.commit().await?;
        *ensured = Some(today);
        Ok(())
    }

    /// Drops the partitions of days older than the retention period; answers how many.
    pub async fn drop_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let oldest = now.date_naive() - Duration::days(i64::from(self.retention_days));
        let client = self.pool.get().await?;
        let names: Vec<String> = client
            .query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'intake.reading'::regclass",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut dropped = 0;
        for name in names {
            let day = name
                .strip_prefix("reading_p")
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
            if day.is_some_and(|day| day < oldest) {
                client
                    .batch_execute(&format!("DROP TABLE IF EXISTS intake.{name}"))
                    .await?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// Checks and stores a batch (each item parsed with [`parse`] or already dropped); counts
    /// each outcome in `/metrics` and answers them.
    pub async fn ingest(
        &self,
        items: Vec<Result<Reading, Dropped>>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let mut outcome = Outcome::default();
        let mut seen = HashSet::new();
        let mut timely = Vec::with_capacity(items.len());
        for item in items {
            let checked = item.and_then(|r| {
                if r.at > now + AHEAD {
                    Err(Dropped::Future)
                } else if r.at < now - STALE {
                    Err(Dropped::Stale)
                } else if !seen.insert((r.sensor_id.clone(), r.at)) {
                    Err(Dropped::Duplicate)
                } else {
                    Ok(r)
                }
            });
            match checked {
                Ok(reading) => timely.push(reading),
                Err(reason) => outcome.drop(reason),
            }
        }
        if !timely.is_empty() {
            let ids: BTreeSet<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
            let ids: Vec<&str> = ids.into_iter().collect();
            let kinds = self.sensors.station_or_not(&self.pool, &ids).await?;
            let mut known = Vec::with_capacity(timely.len());
            for reading in timely {
                let station = matches!(reading.values, Values::Station { .. });
                match kinds.get(&reading.sensor_id) {
                    None => outcome.drop(Dropped::UnknownSensor),
                    Some(kind) if *kind != station => outcome.drop(Dropped::WrongKind),
                    Some(_) => known.push(reading),
                }
            }
            if !known.is_empty() {
                self.ensure_partitions(now).await?;
                let stored = self.store(&known, now).await?;
                outcome.accepted = stored;
                for _ in stored..known.len() {
                    outcome.drop(Dropped::Duplicate);
                }
            }
        }
        platform::metrics::count_by(
            READINGS,
            &[("outcome", "accepted")],
            outcome.accepted as u64,
        );
        for (reason, n) in &outcome.dropped {
            platform::metrics::count_by(READINGS, &[("outcome", reason)], *n as u64);
        }
        Ok(outcome)
    }

    /// Inserts what is not stored yet, adding those of hours already rolled up to their
    /// roll-ups, in one transaction that holds its hours' shared locks; answers how many
    /// were new.
    async fn store(&self, readings: &[Reading], now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut sorted: Vec<&Reading> = readings.iter().collect();
        // One order for every writer, so that two batches never wait on each other's rows.
        sorted.sort_by(|a, b| (&a.sensor_id, a.at).cmp(&(&b.sensor_id, b.at)));
        let ids: Vec<&str> = sorted.iter().map(|r| r.sensor_id.as_str()).collect();
        let at: Vec<DateTime<Utc>> = sorted.iter().map(|r| r.at).collect();
        let column = |pick: fn(&Values) -> Option<f32>| -> Vec<Option<f32>> {
            sorted.iter().map(|r| pick(&r.values)).collect()
        };
        let celsius = column(|v| match v {
            Values::Temperature { celsius } => Some(*celsius),
            Values::Station { .. } => None,
        });
        let supply = column(|v| match v {
            Values::Station { supply_c, .. } => Some(*supply_c),
            Values::Temperature { .. } => None,
        });
        let ret = column(|v| match v {
            Values::Station { return_c, .. } => Some(*return_c),
            Values::Temperature { .. } => None,
        });
        let pressure = column(|v| match v {
            Values::Station { pressure_kpa, .. } => Some(*pressure_kpa),
            Values::Temperature { .. } => None,
        });
        let flow = column(|v| match v {
            Values::Station { flow_m3h, .. } => Some(*flow_m3h),
            Values::Temperature { .. } => None,
        });
        let hours: BTreeSet<DateTime<Utc>> = at.iter().map(|at| hour_of(*at)).collect();
        let hours: Vec<DateTime<Utc>> = hours.into_iter().collect();
        let keys: Vec<i32> = hours.iter().map(|h| hour_key(*h)).collect();
        let params: [&(dyn ToSql + Sync); 9] = [
            &ids, &at, &celsius, &supply, &ret, &pressure, &flow, &now, &hours,
        ];
        let lock =
            "SELECT pg_advisory_xact_lock_shared(hashtext($1), k) FROM unnest($2::int4[]) AS k";
        let mut client = self.pool.get().await?;
        // Usually a batch is new and its hours are not rolled up yet: the plain insert.
        let tx = client.transaction().await?;
        tx.execute(lock, &[&HOUR_LOCK, &keys]).await?;
        match tx
            .execute(include_str!("sql/insert_readings.sql"), &params)
            .await
        {
            Ok(0) => {}
            Ok(stored) => {
                tx.commit().await?;
                return Ok(usize::try_from(stored).unwrap_or_default());
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {}
            Err(e) => return Err(e.into()),
        }
        drop(tx);
        // Else the careful way: what is stored already is skipped, and a late reading joins
        // its hour's roll-up.
        let tx = client.transaction().await?;
        tx.execute(lock, &[&HOUR_LOCK, &keys]).await?;
        let row = tx
            .query_one(include_str!("sql/store_readings.sql"), &params)
            .await?;
        tx.commit().await?;
        let stored: i64 = row.get(0);
        Ok(usize::try_from(stored).unwrap_or_default())
    }

    /// Rolls up every whole hour of the last two days not rolled up yet, oldest first (an
    /// hour without readings is recorded too); answers what it did.
    pub async fn roll_up(&self, now: DateTime<Utc>) -> Result<RollUp, StoreError> {
        let current = hour_of(now);
        let mut client = self.pool.get().await?;
        let due: Vec<DateTime<Utc>> = client
            .query(
                "SELECT h FROM generate_series($1::timestamptz, $2::timestamptz, interval '1 hour') h
                  WHERE NOT EXISTS (SELECT 1 FROM intake.reading_hour_rolled r WHERE r.hour = h)
                  ORDER BY h",
                &[&(current - ROLL_BACK), &(current - Duration::hours(1))],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut done = RollUp::default();
        for hour in due {
            let tx = client.transaction().await?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1), $2)",
                &[&HOUR_LOCK, &hour_key(hour)],
            )
            .await?;
            // Another instance's pass may have rolled it up while this one waited.
            let rolled = tx
                .query_opt(
                    "SELECT 1 FROM intake.reading_hour_rolled WHERE hour = $1",
                    &[&hour],
                )
                .await?;
            if rolled.is_some() {
                continue;
            }
            let rows = tx
                .execute(include_str!("sql/roll_up_hour.sql"), &[&hour])
                .await?;
            tx.execute(
                "INSERT INTO intake.reading_hour_rolled (hour, rolled_at, readings) \
                 SELECT $1, $2, coalesce(sum(readings), 0) FROM intake.reading_hourly \
                 WHERE hour = $1",
                &[&hour, &now],
            )
            .await?;
            tx.commit().await?;
            done.hours += 1;
            done.sensor_hours += rows;
        }
        Ok(done)
    }
}

/// Makes sure of today's partitions and drops expired ones (run hourly).
pub async fn maintain(readings: &Readings, now: DateTime<Utc>) -> Result<usize, StoreError> {
    readings.ensure_partitions(now).await?;
    readings.drop_expired(now).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Dropped, Values, parse};

    #[test]
    fn a_reading_is_a_temperature_or_a_station_s_four_values_in_range() {
        let room =
            parse(&json!({"sensor_id": "T-1", "at": "2026-12-01T08:00:00+08:00", "celsius": 17.5}))
                .unwrap();
        assert_eq!(room.values, Values::Temperature { celsius: 17.5 });
        assert_eq!(room.at.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        let station = parse(&json!({"sensor_id": "S-1", "at": "2026-12-01T00:00:00Z",
            "supply_c": 85, "return_c": 45.5, "pressure_kpa": 520, "flow_m3h": 120.5}))
        .unwrap();
        assert!(
            matches!(station.values, Values::Station { pressure_kpa, .. } if pressure_kpa == 520.0)
        );
        for (item, reason) in [
            (json!("T-1,17.5"), Dropped::Malformed),
            (
                json!({"at": "2026-12-01T00:00:00Z", "celsius": 17.5}),
                Dropped::Malformed,
            ),
            (
                json!({"sensor_id": "T-1", "at": "yesterday", "celsius": 17.5}),
                Dropped::Malformed,
            ),
            (
                json!({"sensor_id": "T-1", "at": "2026-12-01T00:00:00Z", "celsius": "17.5"}),
                Dropped::Malformed,
            ),
            (
                json!({"sensor_id": "T-1", "at": "2026-12-01T00:00:00Z"}),
                Dropped::Malformed,
            ),
            (
                json!({"sensor_id": "T-1", "at": "2026-12-01T00:00:00Z", "celsius": 17.5, "flow_m3h": 3}),
                Dropped::Malformed,
            ),
            (
                json!({"sensor_id": "T-1", "at": "2026-12-01T00:00:00Z", "celsius": 85}),
                Dropped::OutOfRange,
            ),
            (
                json!({"sensor_id": "S-1", "at": "2026-12-01T00:00:00Z",
                "supply_c": 85, "return_c": 45, "pressure_kpa": -3, "flow_m3h": 120}),
                Dropped::OutOfRange,
            ),
        ] {
            assert_eq!(parse(&item), Err(reason), "{item}");
        }
    }
}
