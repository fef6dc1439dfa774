//! Leaks in the heating network (管网漏损) found from the stations' telemetry: a station sensor
//! whose mean pressure over its last minutes fell, and whose mean flow rose, beyond the
//! thresholds against the hour before is a drop. The station's first drop opens a network
//! anomaly (`NetworkAnomalyDetected`) and files an urgent leak complaint for the station's
//! network (source `sensor`, household `station:{station}`), which the incident watcher makes
//! an incident of the station at once; a further drop while the anomaly is open (within the
//! join hours of the last one) is published under the same anomaly, and its complaint merges
//! into the first, so it joins the same ticket and incident.
//!
//! Readings count once: the last minutes start after the sensor's last recorded drop, and so
//! does the hour before, so a station that settled at a lower pressure is not found again
//! until it drops again. A drop whose complaint was not filed (the database went away between
//! the two writes) is filed on the next pass.

use chrono::{DateTime, Duration, Utc};
use eventstore::StoreError;
use eventstore::personal::{Owner, Personal};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Intake;
use crate::complaints::{CommandError, NewFiling};
use crate::domain::complaint::{ComplaintDetails, Contact};
use crate::domain::sensing::{AnomalyCommand, Drop, NetworkAnomaly};
use crate::domain::values::{Category, Household, Source};

/// Ids of drops and anomalies.
const NETWORK_NAMESPACE: Uuid = Uuid::from_u128(0x8d41_2f6e_0b93_4c7a_a5e2_3f90_61c8_d47b);

/// Drops found, in `/metrics`.
pub const DROPS: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_network_anomalies_total",
    help: "Stations' pressure drops with a flow rise, by outcome (opened: a new anomaly; joined: a further drop of an open one).",
};

/// What makes a drop.
#[derive(Debug, Clone, Copy)]
pub struct NetworkRules {
    /// The least fall of the mean pressure against the hour before, % (10 by default).
    pub pressure_drop_percent: f64,
    /// The least rise of the mean flow against the hour before, % (10 by default).
    pub flow_rise_percent: f64,
    /// The last minutes compared (5 by default).
    pub window_minutes: i64,
    /// A drop within this many hours of the station's last joins its anomaly (2 by default).
    pub join_hours: i64,
}

impl Default for NetworkRules {
    fn default() -> Self {
        NetworkRules {
            pressure_drop_percent: 10.0,
            flow_rise_percent: 10.0,
            window_minutes: 5,
            join_hours: 2,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NetworkPass {
    /// Drops that opened an anomaly.
    pub opened: Vec<Uuid>,
    /// Drops that joined an open one.
    pub joined: Vec<Uuid>,
}

struct Found {
    station: String,
    drop: Drop,
}

impl Intake {
    /// Compares every station sensor's last minutes with the hour before and records the
    /// drops, then files the complaint of each drop not yet filed.
    pub async fn watch_network(&self) -> Result<NetworkPass, CommandError> {
        let rules = self.config.network;
        let now = self.now();
        let since = now - Duration::minutes(rules.window_minutes);
        let client = self.store.pool().get().await.map_err(StoreError::from)?;
        let rows = client
            .query(
                "WITH station AS (
                    SELECT s.sensor_id, s.station,
                           coalesce((SELECT max(d.reading_at) FROM intake.network_drop d
                                      WHERE d.sensor_id = s.sensor_id), '-infinity') AS after
                      FROM intake.sensor s WHERE s.kind = 'station'
                 ), recent AS (
                    SELECT s.sensor_id, s.station, s.after,
                           avg(r.pressure_kpa)::float8 AS pressure,
                           avg(r.flow_m3h)::float8 AS flow,
                           min(r.measured_at) AS first_at, max(r.measured_at) AS last_at,
                           count(*) AS readings
                      FROM station s
                      JOIN intake.reading r ON r.sensor_id = s.sensor_id
                     WHERE r.measured_at > $1 AND r.measured_at <= $2 AND r.measured_at > s.after
                       AND r.pressure_kpa IS NOT NULL AND r.flow_m3h IS NOT NULL
                     GROUP BY s.sensor_id, s.station, s.after
                 )
                 SELECT o.sensor_id, o.station, o.pressure, o.flow, o.first_at, o.last_at,
                        o.readings, b.pressure AS base_pressure, b.flow AS base_flow
                   FROM recent o
                   CROSS JOIN LATERAL (
                       SELECT avg(r.pressure_kpa)::float8 AS pressure,
                              avg(r.flow_m3h)::float8 AS flow, count(*) AS readings
                         FROM intake.reading r
                        WHERE r.sensor_id = o.sensor_id
                          AND r.measured_at >= o.first_at - interval '1 hour'
                          AND r.measured_at < o.first_at AND r.measured_at > o.after
                          AND r.pressure_kpa IS NOT NULL AND r.flow_m3h IS NOT NULL) b
                  WHERE b.readings >= 3 AND b.pressure > 0 AND b.flow > 0
                    AND (b.pressure - o.pressure) * 100 >= $3 * b.pressure
                    AND (o.flow - b.flow) * 100 >= $4 * b.flow
                  ORDER BY o.station, o.sensor_id",
                &[
                    &since,
                    &now,
                    &rules.pressure_drop_percent,
                    &rules.flow_rise_percent,
                ],
            )
            .await
            .map_err(StoreError::from)?;
        let found: Vec<Found> = rows
            .iter()
            .map(|row| {
                let sensor_id: String = row.get("sensor_id");
                let to: DateTime<Utc> = row.get("last_at");
                Found {
                    station: row.get("station"),
                    drop: Drop {
                        drop_id: Uuid::new_v5(
                            &NETWORK_NAMESPACE,
                            format!("drop\u{1f}{sensor_id}\u{1f}{to}").as_bytes(),
                        )
                        .to_string(),
                        sensor_id,
                        baseline_pressure: row.get("base_pressure"),
                        pressure: row.get("pressure"),
                        baseline_flow: row.get("base_flow"),
                        flow: row.get("flow"),
                        from: row.get("first_at"),
                        to,
                        readings: row.get("readings"),
                    },
                }
            })
            .collect();
        let mut pass = NetworkPass::default();
        for Found { station, drop } in found {
            let open: Option<Uuid> = client
                .query_opt(
                    "SELECT anomaly_id FROM intake.network_drop
                      WHERE station = $1 AND detected_at > $2
                      ORDER BY detected_at DESC LIMIT 1",
                    &[&station, &(now - Duration::hours(rules.join_hours))],
                )
                .await
                .map_err(StoreError::from)?
                .map(|row| row.get(0));
            let joins = open.is_some();
            let anomaly =
                open.unwrap_or_else(|| Uuid::new_v5(&NETWORK_NAMESPACE, drop.drop_id.as_bytes()));
            let drop_id: Uuid = drop.drop_id.parse().expect("drop ids are uuids");
            let figures = serde_json::to_value(&drop).unwrap_or_default();
            let recorded = self
                .record::<NetworkAnomaly>(
                    &anomaly.to_string(),
                    AnomalyCommand::Record {
                        station: station.clone(),
                        route: self.registry.route_of_station(&station),
                        drop: drop.clone(),
                        at: now,
                    },
                    |a, c| a.decide(c).ok(),
                    "INSERT INTO intake.network_drop
                         (drop_id, anomaly_id, station, sensor_id, reading_at, detected_at, figures)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &drop_id,
                        &anomaly,
                        &station,
                        &drop.sensor_id,
                        &drop.to,
                        &now,
                        &figures,
                    ],
                )
                .await?;
            if !recorded {
                continue;
            }
            let outcome = if joins { "joined" } else { "opened" };
            tracing::warn!(%station, sensor = %drop.sensor_id, anomaly = %anomaly, outcome,
                "a station's pressure fell and its flow rose: suspected leak");
            platform::metrics::count(DROPS, &[("outcome", outcome)]);
            if joins {
                pass.joined.push(drop_id);
            } else {
                pass.opened.push(drop_id);
            }
        }
        let unfiled = client
            .query(
                "SELECT drop_id, station, figures FROM intake.network_drop
                  WHERE complaint_id IS NULL ORDER BY detected_at",
                &[],
            )
            .await
            .map_err(StoreError::from)?;
        for row in &unfiled {
            let id: Uuid = row.get("drop_id");
            let Ok(drop) = serde_json::from_value::<Drop>(row.get("figures")) else {
                continue;
            };
            let complaint = self.file_drop(id, row.get("station"), &drop).await?;
            client
                .execute(
                    "UPDATE intake.network_drop SET complaint_id = $2 WHERE drop_id = $1",
                    &[&id, &complaint],
                )
                .await
                .map_err(StoreError::from)?;
        }
        Ok(pass)
    }

    /// Files the urgent leak complaint of drop `id` for `station`'s network; the station's
    /// open one takes it when there is one. Answers the complaint that holds it.
    async fn file_drop(
        &self,
        id: Uuid,
        station: String,
        drop: &Drop,
    ) -> Result<Uuid, CommandError> {
        let household = Household::from_key(format!("station:{station}"));
        let percent = |from: f64, to: f64| (to - from).abs() * 100.0 / from;
        let description = format!(
            "管网监测：换热站 {station} 的 {} 在 {} 至 {} 压力 {:.1} → {:.1} kPa（降 {:.1}%），\
             流量 {:.1} → {:.1} m³/h（升 {:.1}%），疑似管网漏损，请立即到场。",
            drop.sensor_id,
            (drop.from + Duration::hours(8)).format("%m-%d %H:%M"),
            (drop.to + Duration::hours(8)).format("%H:%M"),
            drop.baseline_pressure,
            drop.pressure,
            percent(drop.baseline_pressure, drop.pressure),
            drop.baseline_flow,
            drop.flow,
            percent(drop.baseline_flow, drop.flow),
        );
        let (key, data_key) = self.vault.new_key(Owner {
            subject: crate::privacy::subject(id),
            resident: None,
            household: None,
        });
        let filing = NewFiling {
            id,
            fresh: false,
            details: ComplaintDetails {
                category: Category::Leak,
                priority: Category::Leak.priority(),
                source: Source::Sensor,
                household,
                route: self.registry.route_of_station(&station),
                reading: None,
                personal: Personal::seal(
                    key.id(),
                    &data_key,
                    Contact {
                        description,
                        ..Contact::default()
                    },
                ),
                filer: "system:sensors".into(),
                hotline_work_order: None,
            },
            key,
            fingerprint: hex::encode(Sha256::digest(format!("network-drop {id}").as_bytes())),
            at: self.now(),
            rate_limited: false,
        };
        let receipt = self
            .complaints
            .file(&filing, &crate::episodes::sensors_metadata())
            .await?;
        Ok(receipt.complaint_id)
    }
}
