//! Supply cut on purpose: a station whose room and building sensors fell together over its
//! last whole hours, while its district's outdoor temperature did not fall as much, raises a
//! `SupplyReductionSuspected` alert for the regulator, with the means behind it. The
//! regulator confirms it (a credit veto, rule `supply_reduction`, is then recorded through
//! credit's veto path citing the alert) or dismisses it with a reason.
//!
//! Each sensor's mean over the last `recent_hours` whole hours is compared with its mean over
//! the `before_hours` before them (from the hourly roll-ups). A station falls together when at
//! least `min_sensors` of its sensors read in both windows, the station's mean fell by at least
//! `fall_celsius`, and at least `share` of its sensors fell by a degree or more. The weather
//! explains the fall when the district's outdoor mean fell by at least as much over the same
//! hours; without outdoor readings in both windows nothing is raised (the weather cannot be
//! ruled out). A station has one alert at a time: none is raised while one is open or within
//! the compared hours of the last.

use chrono::{DateTime, Duration, DurationRound, Utc};
use eventstore::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Intake;
use crate::complaints::CommandError;
use crate::domain::sensing::{AlertCommand, Fall, SupplyAlert};

/// Ids of supply alerts.
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x5c09_e1b7_93a4_4f2d_8e61_0ad4_72b3_c95f);

/// Alerts raised and decided, in `/metrics`.
pub const ALERTS: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_supply_alerts_total",
    help: "Suspected supply reductions, by outcome (raised, explained: the weather fell as much, confirmed, dismissed).",
};

/// When a station's fall raises an alert.
#[derive(Debug, Clone, Copy)]
pub struct SupplyRules {
    /// The least fall of the station's indoor mean, ℃ (2 by default).
    pub fall_celsius: f64,
    /// The least number of sensors reading in both windows (3 by default).
    pub min_sensors: i64,
    /// The least share of them that fell by a degree or more (0.6 by default).
    pub share: f64,
    /// The last whole hours compared (2 by default).
    pub recent_hours: i64,
    /// The hours before them (6 by default).
    pub before_hours: i64,
}

impl Default for SupplyRules {
    fn default() -> Self {
        SupplyRules {
            fall_celsius: 2.0,
            min_sensors: 3,
            share: 0.6,
            recent_hours: 2,
            before_hours: 6,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SupplyPass {
    /// Alerts raised.
    pub raised: Vec<Uuid>,
    /// Stations whose fall the weather explained.
    pub explained: Vec<String>,
}

/// A supply alert as the regulator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    /// Its id.
    pub alert_id: Uuid,
    /// The station.
    pub station: String,
    /// Its district.
    pub district: Option<String>,
    /// The supplier that heats it.
    pub supplier_id: Option<String>,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// The means behind it: `{indoor_before, indoor_recent, outdoor_before, outdoor_recent,
    /// sensors, falling, before_from, recent_from, recent_to, per_sensor: [{sensor_id, before,
    /// recent}]}`.
    pub figures: serde_json::Value,
    /// `open`, `confirmed` or `dismissed`.
    pub status: String,
    /// When a regulator decided it.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who.
    pub decided_by: Option<String>,
    /// The regulator's note or reason.
    pub note: Option<String>,
}

/// A regulator's decision on an alert.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Found real, with what was found.
    Confirm(String),
    /// Dismissed, with why.
    Dismiss(String),
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No alert has the id.
    #[error("no such alert")]
    NotFound,
    /// It was decided already.
    #[error("the alert was confirmed or dismissed already")]
    Decided,
    /// The store failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

impl Intake {
    /// Looks at every station's last whole hours and raises the alerts their falls call for.
    pub async fn watch_supply(&self) -> Result<SupplyPass, CommandError> {
        let rules = self.config.supply;
        let now = self.now();
        self.readings.roll_up(now).await?;
        let recent_to = now
            .duration_trunc(Duration::hours(1))
            .expect("an hour divides a timestamp");
        let recent_from = recent_to - Duration::hours(rules.recent_hours);
        let before_from = recent_from - Duration::hours(rules.before_hours);
        let client = self.store.pool().get().await.map_err(StoreError::from)?;
        let rows = client
            .query(
                "WITH per_sensor AS (
                    SELECT s.station, s.sensor_id,
                           sum(h.celsius_sum) FILTER (WHERE h.hour < $2)
                             / sum(h.readings) FILTER (WHERE h.hour < $2) AS before,
                           sum(h.celsius_sum) FILTER (WHERE h.hour >= $2)
                             / sum(h.readings) FILTER (WHERE h.hour >= $2) AS recent
                      FROM intake.reading_hourly h
                      JOIN intake.sensor s ON s.sensor_id = h.sensor_id
                                          AND s.kind IN ('room', 'building')
                     WHERE h.hour >= $1 AND h.hour < $3 AND h.celsius_sum IS NOT NULL
                     GROUP BY s.station, s.sensor_id
                 )
                 SELECT station, avg(before) AS before, avg(recent) AS recent,
                        count(*) AS sensors,
                        count(*) FILTER (WHERE before - recent >= 1.0) AS falling,
                        jsonb_agg(jsonb_build_object('sensor_id', sensor_id,
                                  'before', round(before::numeric, 2),
                                  'recent', round(recent::numeric, 2)) ORDER BY sensor_id)
                          AS per_sensor
                   FROM per_sensor
                  WHERE before IS NOT NULL AND recent IS NOT NULL
                  GROUP BY station
                 HAVING count(*) >= $4 AND avg(before) - avg(recent) >= $5
                    AND count(*) FILTER (WHERE before - recent >= 1.0) >= $6::float8 * count(*)
                  ORDER BY station",
                &[
                    &before_from,
                    &recent_from,
                    &recent_to,
                    &rules.min_sensors,
                    &rules.fall_celsius,
                    &rules.share,
                ],
            )
            .await
            .map_err(StoreError::from)?;
        let mut pass = SupplyPass::default();
        for row in &rows {
            let station: String = row.get("station");
            let quiet = client
                .query_opt(
                    "SELECT 1 FROM intake.supply_alert
                      WHERE station = $1 AND (status = 'open' OR raised_at > $2)",
                    &[
                        &station,
                        &(now - Duration::hours(rules.before_hours + rules.recent_hours)),
                    ],
                )
                .await
                .map_err(StoreError::from)?
                .is_some();
            if quiet {
                continue;
            }
            let route = self.registry.route_of_station(&station);
            let Some(district) = route.district.clone() else {
                continue;
            };
            let outdoor = client
                .query_one(
                    "SELECT sum(h.celsius_sum) FILTER (WHERE h.hour < $3)
                              / sum(h.readings) FILTER (WHERE h.hour < $3),
                            sum(h.celsius_sum) FILTER (WHERE h.hour >= $3)
                              / sum(h.readings) FILTER (WHERE h.hour >= $3)
                       FROM intake.reading_hourly h
                       JOIN intake.sensor s ON s.sensor_id = h.sensor_id AND s.kind = 'outdoor'
                      WHERE s.district = $1 AND h.hour >= $2 AND h.hour < $4
                        AND h.celsius_sum IS NOT NULL",
                    &[&district, &before_from, &recent_from, &recent_to],
                )
                .await
                .map_err(StoreError::from)?;
            let (Some(outdoor_before), Some(outdoor_recent)) = (
                outdoor.get::<_, Option<f64>>(0),
                outdoor.get::<_, Option<f64>>(1),
            ) else {
                tracing::info!(%station, "a station's rooms fell together, but its district has no outdoor readings to compare");
                continue;
            };
            let fall = Fall {
                indoor_before: row.get("before"),
                indoor_recent: row.get("recent"),
                outdoor_before,
                outdoor_recent,
                sensors: row.get("sensors"),
                falling: row.get("falling"),
                before_from,
                recent_from,
                recent_to,
            };
            if outdoor_before - outdoor_recent >= fall.indoor_before - fall.indoor_recent {
                platform::metrics::count(ALERTS, &[("outcome", "explained")]);
                pass.explained.push(station);
                continue;
            }
            let id = Uuid::new_v5(
                &ALERT_NAMESPACE,
                format!("{station}\u{1f}{recent_to}").as_bytes(),
            );
            let mut figures = serde_json::to_value(&fall).unwrap_or_default();
            figures["per_sensor"] = row.get("per_sensor");
            let recorded = self
                .record::<SupplyAlert>(
                    &id.to_string(),
                    AlertCommand::Raise {
                        station: station.clone(),
                        route: route.clone(),
                        fall,
                        at: now,
                    },
                    |a, c| a.decide(c).ok(),
                    "INSERT INTO intake.supply_alert
                         (alert_id, station, district, supplier_id, raised_at, figures, status)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open')",
                    &[
                        &id,
                        &station,
                        &route.district,
                        &route.supplier_id,
                        &now,
                        &figures,
                    ],
                )
                .await?;
            if recorded {
                tracing::warn!(%station, alert = %id,
                    "a station's rooms fell together while the weather did not: supply reduction suspected");
                platform::metrics::count(ALERTS, &[("outcome", "raised")]);
                pass.raised.push(id);
            }
        }
        Ok(pass)
    }

    /// The supply alerts, newest first (at most 200); `status` keeps one status.
    pub async fn supply_alerts(&self, status: Option<&str>) -> Result<Vec<AlertView>, StoreError> {
        let client = self.store.pool().get().await?;
        let rows = client
            .query(
                "SELECT alert_id, station, district, supplier_id, raised_at, figures, status,
                        decided_at, decided_by, note
                   FROM intake.supply_alert
                  WHERE $1::text IS NULL OR status = $1
                  ORDER BY raised_at DESC, alert_id LIMIT 200",
                &[&status],
            )
            .await?;
        Ok(rows.iter().map(alert_view).collect())
    }

    /// Records a regulator's decision on alert `id`; answers the alert as it now stands.
    pub async fn decide_supply_alert(
        &self,
        id: Uuid,
        decision: Decision,
        by: &str,
    ) -> Result<AlertView, DecisionError> {
        let now = self.now();
        let (command, status, text, outcome) = match decision {
            Decision::Confirm(note) => (
                AlertCommand::Confirm {
                    note: note.clone(),
                    by: by.to_owned(),
                    at: now,
                },
                "confirmed",
                note,
                "confirmed",
            ),
            Decision::Dismiss(reason) => (
                AlertCommand::Dismiss {
                    reason: reason.clone(),
                    by: by.to_owned(),
                    at: now,
                },
                "dismissed",
                reason,
                "dismissed",
            ),
        };
        let mut refusal = None;
        let recorded = self
            .record::<SupplyAlert>(
                &id.to_string(),
                command,
                |alert, command| alert.decide(command).map_err(|e| refusal = Some(e)).ok(),
                "UPDATE intake.supply_alert
                    SET status = $2, decided_at = $3, decided_by = $4, note = $5
                  WHERE alert_id = $1",
                &[&id, &status, &now, &by, &text],
            )
            .await?;
        if !recorded {
            return Err(match refusal {
                Some(crate::domain::sensing::SensingError::NoSuchAlert) => DecisionError::NotFound,
                _ => DecisionError::Decided,
            });
        }
        platform::metrics::count(ALERTS, &[("outcome", outcome)]);
        let client = self
            .store
            .pool()
            .get()
            .await
            .map_err(StoreError::from)
            .map_err(CommandError::from)?;
        let row = client
            .query_one(
                "SELECT alert_id, station, district, supplier_id, raised_at, figures, status,
                        decided_at, decided_by, note
                   FROM intake.supply_alert WHERE alert_id = $1",
                &[&id],
            )
            .await
            .map_err(StoreError::from)
            .map_err(CommandError::from)?;
        Ok(alert_view(&row))
    }
}

fn alert_view(row: &tokio_postgres::Row) -> AlertView {
    AlertView {
        alert_id: row.get("alert_id"),
        station: row.get("station"),
        district: row.get("district"),
        supplier_id: row.get("supplier_id"),
        raised_at: row.get("raised_at"),
        figures: row.get("figures"),
        status: row.get("status"),
        decided_at: row.get("decided_at"),
        decided_by: row.get("decided_by"),
        note: row.get("note"),
    }
}
