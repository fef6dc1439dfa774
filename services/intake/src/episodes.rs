//! Repairs before complaints: a home whose room sensors read below the standard for whole hours
//! on end opens a low-temperature episode, and the episode files a complaint of its own (source
//! `sensor`) with the hours behind it, so that a ticket exists before anyone calls. A resident
//! who calls later files into that open complaint as into any other (the household's merge
//! window). The episode closes when a whole hour reads at the standard again.
//!
//! Each home's hour is the mean of its room sensors' readings in that hour, taken from the
//! hourly roll-ups (`intake.reading_hourly`), never from single readings. Only whole hours
//! count: an episode opens in the first minutes of the hour after the last one that completed
//! it. Opening is idempotent: the episode's id and its complaint's id follow from the home and
//! the episode's first hour, and a complaint not yet filed (the database went away between the
//! two writes) is filed on the next pass.

use chrono::{DateTime, Duration, DurationRound, Utc};
use eventstore::personal::{Owner, Personal};
use eventstore::{Actor, AppendError, Channel, EventMetadata, Publish, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Intake;
use crate::complaints::{CommandError, NewFiling};
use crate::domain::complaint::{ComplaintDetails, Contact};
use crate::domain::sensing::{Episode, EpisodeCommand, HourMean};
use crate::domain::values::{Category, Celsius, Household, Source};

/// Ids of episodes and of the complaints they file.
const EPISODE_NAMESPACE: Uuid = Uuid::from_u128(0x3b7e_90c2_5a1d_4e86_b2f4_71c0_9d3a_6e58);

/// Episodes opened and recovered, in `/metrics`.
pub const EPISODES: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_low_temperature_episodes_total",
    help: "Low-temperature episodes found by room sensors, by outcome (opened, recovered).",
};

/// When a home's readings make an episode, and a sensor's absence makes it silent.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeRules {
    /// The room standard (18 ℃ by default): an hour whose mean is below it is a cold hour.
    pub standard: f64,
    /// Whole cold hours in a row that open an episode (4 by default).
    pub hours: u32,
    /// Hours without a reading that make a sensor silent (6 by default).
    pub silent_hours: u32,
}

impl Default for EpisodeRules {
    fn default() -> Self {
        EpisodeRules {
            standard: 18.0,
            hours: 4,
            silent_hours: 6,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Episodes opened, each with its complaint filed (or merged into the home's open one).
    pub opened: Vec<Uuid>,
    /// Episodes whose home read at the standard again.
    pub recovered: Vec<Uuid>,
}

struct Found {
    household: String,
    building: Option<String>,
    sensors: Vec<String>,
    certified: bool,
    hours: Vec<HourMean>,
}

impl Intake {
    /// Looks at the last whole hours of every home with room sensors: opens an episode (and
    /// files its complaint) where each of the last `hours` hours was cold, and closes open
    /// episodes whose last whole hour was not.
    pub async fn watch_room_temperatures(&self) -> Result<Pass, CommandError> {
        let rules = self.config.episodes;
        let now = self.now();
        self.readings.roll_up(now).await?;
        let this_hour = now
            .duration_trunc(Duration::hours(1))
            .expect("an hour divides a timestamp");
        let first = this_hour - Duration::hours(i64::from(rules.hours));
        let client = self.store.pool().get().await.map_err(StoreError::from)?;
        let rows = client
            .query(
                "WITH hours AS (
                    SELECT s.household, h.hour,
                           sum(h.celsius_sum) / sum(h.readings) AS mean,
                           min(h.celsius_min)::float8 AS lowest,
                           sum(h.readings)::int8 AS readings,
                           min(s.building_id) AS building
                      FROM intake.reading_hourly h
                      JOIN intake.sensor s ON s.sensor_id = h.sensor_id AND s.kind = 'room'
                     WHERE h.hour >= $1 AND h.hour < $2 AND h.celsius_sum IS NOT NULL
                     GROUP BY s.household, h.hour
                 )
                 SELECT household, min(building) AS building,
                        array_agg(hour ORDER BY hour) AS hours,
                        array_agg(mean ORDER BY hour) AS means,
                        array_agg(lowest ORDER BY hour) AS lowests,
                        array_agg(readings ORDER BY hour) AS counts,
                        (SELECT array_agg(s.sensor_id ORDER BY s.sensor_id)
                           FROM intake.sensor s
                          WHERE s.household = o.household AND s.kind = 'room') AS sensors,
                        (SELECT bool_and(s.certified) FROM intake.sensor s
                          WHERE s.household = o.household AND s.kind = 'room') AS certified
                   FROM hours o
                  WHERE NOT EXISTS (SELECT 1 FROM intake.sensor_episode e
                                     WHERE e.household = o.household AND e.recovered_at IS NULL)
                  GROUP BY household
                 HAVING count(*) = $3 AND bool_and(mean < $4)",
                &[&first, &this_hour, &i64::from(rules.hours), &rules.standard],
            )
            .await
            .map_err(StoreError::from)?;
        let found: Vec<Found> = rows
            .iter()
            .map(|row| {
                let hours: Vec<DateTime<Utc>> = row.get("hours");
                let means: Vec<f64> = row.get("means");
                let lowests: Vec<f64> = row.get("lowests");
                let counts: Vec<i64> = row.get("counts");
                Found {
                    household: row.get("household"),
                    building: row.get("building"),
                    sensors: row.get("sensors"),
                    certified: row.get::<_, Option<bool>>("certified").unwrap_or(false),
                    hours: hours
                        .into_iter()
                        .zip(means)
                        .zip(lowests)
                        .zip(counts)
                        .map(|(((hour, mean), lowest), readings)| HourMean {
                            hour,
                            mean,
                            lowest,
                            readings,
                        })
                        .collect(),
                }
            })
            .collect();
        let mut pass = Pass::default();
        for episode in found {
            let id = Uuid::new_v5(
                &EPISODE_NAMESPACE,
                format!("{}\u{1f}{}", episode.household, episode.hours[0].hour).as_bytes(),
            );
            if !self.detect(id, episode, now).await? {
                continue;
            }
            platform::metrics::count(EPISODES, &[("outcome", "opened")]);
            pass.opened.push(id);
        }
        // Episodes opened now, and any whose complaint was not filed on an earlier pass.
        let unfiled = client
            .query(
                "SELECT episode_id, household, building_id, sensors, since, hours
                   FROM intake.sensor_episode WHERE complaint_id IS NULL",
                &[],
            )
            .await
            .map_err(StoreError::from)?;
        for row in &unfiled {
            let id: Uuid = row.get("episode_id");
            let hours: Vec<HourMean> = serde_json::from_value(row.get("hours")).unwrap_or_default();
            let complaint = self
                .file_episode(
                    id,
                    row.get("household"),
                    row.get::<_, Option<String>>("building_id"),
                    &row.get::<_, Vec<String>>("sensors"),
                    &hours,
                )
                .await?;
            client
                .execute(
                    "UPDATE intake.sensor_episode SET complaint_id = $2 WHERE episode_id = $1",
                    &[&id, &complaint],
                )
                .await
                .map_err(StoreError::from)?;
        }
        let last = this_hour - Duration::hours(1);
        let warm = client
            .query(
                "SELECT e.episode_id, h.hour, h.mean, h.lowest, h.readings
                   FROM intake.sensor_episode e
                   CROSS JOIN LATERAL (
                       SELECT $1::timestamptz AS hour,
                              sum(h.celsius_sum) / sum(h.readings) AS mean,
                              min(h.celsius_min)::float8 AS lowest,
                              sum(h.readings)::int8 AS readings
                         FROM intake.reading_hourly h
                         JOIN intake.sensor s ON s.sensor_id = h.sensor_id AND s.kind = 'room'
                        WHERE s.household = e.household AND h.hour = $1
                          AND h.celsius_sum IS NOT NULL) h
                  WHERE e.recovered_at IS NULL AND e.complaint_id IS NOT NULL AND e.since < $1
                    AND h.mean >= $2",
                &[&last, &rules.standard],
            )
            .await
            .map_err(StoreError::from)?;
        for row in &warm {
            let id: Uuid = row.get("episode_id");
            let hour = HourMean {
                hour: row.get("hour"),
                mean: row.get("mean"),
                lowest: row.get("lowest"),
                readings: row.get("readings"),
            };
            if !self.recover(id, hour, now).await? {
                continue;
            }
            tracing::info!(episode = %id, "a home's room sensors read at the standard again: episode closed");
            platform::metrics::count(EPISODES, &[("outcome", "recovered")]);
            pass.recovered.push(id);
        }
        Ok(pass)
    }

    /// Records episode `id` as an event and as the watcher's row, in one transaction. Answers
    /// false when another pass recorded it first.
    async fn detect(
        &self,
        id: Uuid,
        episode: Found,
        now: DateTime<Utc>,
    ) -> Result<bool, CommandError> {
        let route = episode
            .building
            .as_deref()
            .map(|b| self.registry.route_of_building(b))
            .unwrap_or_default();
        let hours = serde_json::to_value(&episode.hours).unwrap_or_default();
        let since = episode.hours[0].hour;
        let command = EpisodeCommand::Detect {
            household: episode.household.clone(),
            route,
            sensors: episode.sensors.clone(),
            certified: episode.certified,
            standard: self.config.episodes.standard,
            hours: episode.hours,
            at: now,
        };
        let recorded = self
            .record::<Episode>(
                &id.to_string(),
                command,
                |e, c| e.decide(c).ok(),
                "INSERT INTO intake.sensor_episode
                     (episode_id, household, building_id, sensors, opened_at, since, hours)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &id,
                    &episode.household,
                    &episode.building,
                    &episode.sensors,
                    &now,
                    &since,
                    &hours,
                ],
            )
            .await?;
        if recorded {
            tracing::info!(episode = %id, "a home's room sensors read below the standard: episode opened");
        }
        Ok(recorded)
    }

    /// Records the recovery of episode `id` on its warm `hour`.
    async fn recover(
        &self,
        id: Uuid,
        hour: HourMean,
        now: DateTime<Utc>,
    ) -> Result<bool, CommandError> {
        let until = hour.hour + Duration::hours(1);
        self.record::<Episode>(
            &id.to_string(),
            EpisodeCommand::Recover { hour, at: now },
            |e, c| e.decide(c).ok(),
            "UPDATE intake.sensor_episode SET recovered_at = $2 WHERE episode_id = $1",
            &[&id, &until],
        )
        .await
    }

    /// Appends what `command` decides to stream `id` of `A` and runs `sql` on the watcher's
    /// row in the same transaction (the append first). False when the aggregate refused or
    /// another writer got there first: the other pass did the work.
    pub(crate) async fn record<A: Publish>(
        &self,
        id: &str,
        command: A::Command,
        decide: impl FnOnce(&A, A::Command) -> Option<A::Event>,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool, CommandError> {
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let context = self.store.load_in::<A>(&tx, id).await?;
        let Some(event) = decide(context.state(), command) else {
            return Ok(false);
        };
        match self
            .store
            .append_in(&tx, &context, &[event], &sensors_metadata())
            .await
        {
            Ok(_) => {}
            Err(AppendError::Conflict) => return Ok(false),
            Err(other) => return Err(other.into()),
        }
        tx.execute(sql, params).await.map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.store.notify_appended();
        Ok(true)
    }

    /// Files the complaint of episode `id`: the home's open complaint takes it when it has
    /// one. Answers the complaint that holds it.
    async fn file_episode(
        &self,
        id: Uuid,
        household: String,
        building: Option<String>,
        sensors: &[String],
        hours: &[HourMean],
    ) -> Result<Uuid, CommandError> {
        let household = Household::from_key(household);
        let route = building
            .as_deref()
            .map(|b| self.registry.route_of_building(b))
            .unwrap_or_default();
        let lowest = hours.iter().map(|h| h.lowest).fold(f64::INFINITY, f64::min);
        let standard = self.config.episodes.standard;
        let mut description = format!(
            "室温监测：{} 连续 {} 小时平均低于 {standard:.1} ℃，最低 {lowest:.1} ℃。逐时平均：",
            sensors.join("、"),
            hours.len(),
        );
        for (n, hour) in hours.iter().enumerate() {
            let local = hour.hour + Duration::hours(8);
            description.push_str(&format!(
                "{}{} 时 {:.1} ℃",
                if n == 0 { "" } else { "；" },
                local.format("%m-%d %H"),
                hour.mean
            ));
        }
        description.push('。');
        let (key, data_key) = self.vault.new_key(Owner {
            subject: crate::privacy::subject(id),
            resident: None,
            household: Some(household.as_str().to_owned()),
        });
        let contact = Contact {
            description,
            ..Contact::default()
        };
        let fingerprint = hex::encode(Sha256::digest(format!("sensor-episode {id}").as_bytes()));
        let filing = NewFiling {
            id,
            fresh: false,
            details: ComplaintDetails {
                category: Category::LowTemperature,
                priority: Category::LowTemperature.priority(),
                source: Source::Sensor,
                household,
                route,
                reading: Celsius::parse(lowest),
                personal: Personal::seal(key.id(), &data_key, contact),
                filer: "system:sensors".into(),
                hotline_work_order: None,
            },
            key,
            fingerprint,
            at: self.now(),
            rate_limited: false,
        };
        let receipt = self.complaints.file(&filing, &sensors_metadata()).await?;
        Ok(receipt.complaint_id)
    }

    /// The low-temperature episodes of a home, newest first (at most 50).
    pub async fn episodes_of(&self, household: &str) -> Result<Vec<EpisodeView>, StoreError> {
        let client = self.store.pool().get().await?;
        let rows = client
            .query(
                "SELECT episode_id, sensors, since, opened_at, recovered_at, complaint_id, hours
                   FROM intake.sensor_episode WHERE household = $1
                  ORDER BY since DESC LIMIT 50",
                &[&household],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| EpisodeView {
                episode_id: row.get("episode_id"),
                sensors: row.get("sensors"),
                since: row.get("since"),
                opened_at: row.get("opened_at"),
                recovered_at: row.get("recovered_at"),
                complaint_id: row.get("complaint_id"),
                hours: row.get("hours"),
            })
            .collect())
    }
}

/// What the sensors' watchers write: the system, acting as `sensors`.
pub(crate) fn sensors_metadata() -> EventMetadata {
    EventMetadata::new(
        Actor {
            id: "sensors".into(),
            role: "system".into(),
        },
        Channel::System,
    )
}

/// An episode as stored.
#[derive(Debug, Clone, Serialize)]
pub struct EpisodeView {
    /// Its id (also its complaint's filing id).
    pub episode_id: Uuid,
    /// The home's room sensors that read in its hours.
    pub sensors: Vec<String>,
    /// The first cold hour.
    pub since: DateTime<Utc>,
    /// When it was found.
    pub opened_at: DateTime<Utc>,
    /// The end of the first whole hour at the standard again.
    pub recovered_at: Option<DateTime<Utc>>,
    /// The complaint that holds it, once filed.
    pub complaint_id: Option<Uuid>,
    /// The cold hours behind it: `[{hour, mean, lowest, readings}]`.
    pub hours: serde_json::Value,
}

/// Runs [`Intake::watch_room_temperatures`] and [`Intake::watch_network`] every minute, and
/// [`Intake::watch_sensor_silence`] and [`Intake::watch_supply`] every ten (the first of each a minute after start), while
/// `intake` lives.
pub fn spawn(intake: std::sync::Weak<Intake>) -> platform::background::BackgroundTask {
    platform::background::BackgroundTask::spawn(async move {
        // The first pass a minute after start, as every later one: readings have arrived by
        // then, and a test that calls the watchers itself does not race this loop.
        let minute = std::time::Duration::from_secs(60);
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
        for minute in 0u64.. {
            every.tick().await;
            let Some(intake) = intake.upgrade() else {
                return;
            };
            if let Err(error) = intake.watch_room_temperatures().await {
                tracing::warn!(%error, "room temperatures not watched; next pass in a minute");
            }
            if let Err(error) = intake.watch_network().await {
                tracing::warn!(%error, "station telemetry not watched; next pass in a minute");
            }
            if minute % 10 != 0 {
                continue;
            }
            if let Err(error) = intake.watch_sensor_silence().await {
                tracing::warn!(%error, "silent sensors not looked for; next pass in ten minutes");
            }
            if let Err(error) = intake.watch_supply().await {
                tracing::warn!(%error, "stations' falls not looked at; next pass in ten minutes");
            }
        }
    })
}
