//! Leaks in the network: a station whose pressure falls while its flow rises opens one urgent
//! leak complaint for its network and one incident of the station; a second drop minutes later
//! joins them (its complaint merges into the first, the anomaly recurs, no second incident); a
//! station that settled at the lower pressure is not found again; a resident of the station who
//! calls joins the incident.

mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use contracts::intake::v1 as proto;
use platform::clock::Clock;
use serde_json::{Value, json};
use support::{Harness, SENSOR_SECRET, cold};

const SENSORS: &str = "\
sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on
S-HP-S1,station,,,,HP-S1,,true,2026-10-20
S-SH-S1,station,,,,SH-S1,,true,2026-10-20
";

/// A reading a minute of `sensor` from `from` until before `to`.
fn telemetry(
    sensor: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pressure: f64,
    flow: f64,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        out.push(json!({
            "sensor_id": sensor,
            "at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "supply_c": 80.0, "return_c": 45.0,
            "pressure_kpa": pressure, "flow_m3h": flow,
        }));
        at += Duration::minutes(1);
    }
    out
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

#[actix_web::test]
async fn a_stations_pressure_drop_opens_one_urgent_leak_complaint_and_one_incident() {
    let h = Harness::start_with(|c| {
        c.readings.secret = Some(SENSOR_SECRET.into());
    })
    .await;
    h.import_sensors(SENSORS).await;
    let now = h.clock.now();
    // HP-S1: 500 kPa and 100 m³/h for an hour, then 400 kPa and 120 m³/h for five minutes.
    // SH-S1: steady throughout.
    let mut pushed = telemetry("S-HP-S1", now - minutes(60), now - minutes(4), 500.0, 100.0);
    pushed.extend(telemetry(
        "S-HP-S1",
        now - minutes(4),
        now + minutes(1),
        400.0,
        120.0,
    ));
    pushed.extend(telemetry(
        "S-SH-S1",
        now - minutes(60),
        now + minutes(1),
        600.0,
        90.0,
    ));
    let reply = h.push_readings(pushed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["dropped"], json!({}), "{}", reply.body);

    let pass = h.intake.watch_network().await.unwrap();
    assert_eq!(pass.opened.len(), 1, "{pass:?}");
    assert!(pass.joined.is_empty(), "{pass:?}");
    let drop_id = pass.opened[0];
    let client = h.store.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT category, priority, source, household, station, supplier_id, building_id,
                    description
               FROM intake.complaint WHERE complaint_id = $1",
            &[&drop_id],
        )
        .await
        .unwrap();
    let text = |n: usize| row.get::<_, Option<String>>(n);
    assert_eq!(text(0).as_deref(), Some("leak"));
    assert_eq!(text(1).as_deref(), Some("urgent"));
    assert_eq!(text(2).as_deref(), Some("sensor"));
    assert_eq!(text(3).as_deref(), Some("station:HP-S1"));
    assert_eq!(text(4).as_deref(), Some("HP-S1"));
    assert_eq!(
        text(5).as_deref(),
        Some("sup-north"),
        "the station's supplier"
    );
    assert_eq!(text(6), None, "the network, not one building");
    let description = text(7).unwrap();
    assert!(
        description.contains("500.0 → 400.0 kPa") && description.contains("100.0 → 120.0"),
        "{description}"
    );

    let anomalies: Vec<proto::NetworkAnomalyDetected> =
        h.until_published("the anomaly is published", 1).await;
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].drop_id, drop_id.to_string());
    assert_eq!(anomalies[0].occurrence, 1);
    assert_eq!(anomalies[0].station, "HP-S1");
    assert_eq!(anomalies[0].readings, 5);
    assert_eq!(
        (
            anomalies[0].baseline_pressure_kpa,
            anomalies[0].pressure_kpa
        ),
        (500.0, 400.0)
    );
    let declared: Vec<proto::IncidentDeclared> = h
        .until_published("the station's incident is declared", 1)
        .await;
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].scope, "station");
    assert_eq!(declared[0].complaint_ids, [drop_id.to_string()]);
    assert_eq!(declared[0].threshold, 1);
    assert_eq!(declared[0].route.as_ref().unwrap().supplier_id, "sup-north");

    // Looking again finds nothing new; nor does a station that settled at 400 kPa.
    assert_eq!(h.intake.watch_network().await.unwrap(), Default::default());
    h.clock.advance(minutes(10));
    let now = h.clock.now();
    let mut settled = telemetry("S-HP-S1", now - minutes(9), now + minutes(1), 400.0, 120.0);
    settled.extend(telemetry(
        "S-SH-S1",
        now - minutes(9),
        now + minutes(1),
        600.0,
        90.0,
    ));
    assert_eq!(h.push_readings(settled).await.status, 200);
    assert_eq!(h.intake.watch_network().await.unwrap(), Default::default());

    // A second drop minutes later joins the first.
    h.clock.advance(minutes(5));
    let now = h.clock.now();
    let second = telemetry("S-HP-S1", now - minutes(4), now + minutes(1), 320.0, 140.0);
    assert_eq!(h.push_readings(second).await.status, 200);
    let pass = h.intake.watch_network().await.unwrap();
    assert_eq!(pass.joined.len(), 1, "{pass:?}");
    assert!(pass.opened.is_empty(), "{pass:?}");
    let merged: Option<uuid::Uuid> = client
        .query_one(
            "SELECT merged_into FROM intake.complaint WHERE complaint_id = $1",
            &[&pass.joined[0]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(merged, Some(drop_id), "its complaint merges into the first");
    let anomalies: Vec<proto::NetworkAnomalyDetected> =
        h.until_published("the second drop is published", 2).await;
    assert_eq!(anomalies.len(), 2);
    assert_eq!(anomalies[1].anomaly_id, anomalies[0].anomaly_id);
    assert_eq!(anomalies[1].occurrence, 2);

    // A resident of the station's building calls: the call joins the station's incident.
    let filed = h
        .post("/api/v1/complaints", &h.resident(1), &cold("HL01-0001"))
        .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let complaint = filed.body["complaint_id"].as_str().unwrap().to_owned();
    let accepted = || async {
        h.published::<proto::ComplaintAccepted>()
            .await
            .into_iter()
            .find(|a| a.complaint_id == complaint)
    };
    h.eventually("the call's acceptance is published", || async {
        accepted().await.is_some()
    })
    .await;
    let call = accepted().await.unwrap();
    assert_eq!(call.joins_incident_id, declared[0].incident_id);
    // Its acceptance is the membership's record and told the world: once the watcher has read
    // it, the incident's stream records no join and the log holds no IncidentJoined.
    h.until_watcher_caught_up().await;
    let joins: i64 = client
        .query_one(
            "SELECT count(*) FROM eventstore.event WHERE event_type = 'IncidentJoined'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(joins, 0);
    assert!(h.published::<proto::IncidentJoined>().await.is_empty());
    assert_eq!(
        h.published::<proto::IncidentDeclared>().await.len(),
        1,
        "one incident"
    );
    let metrics = platform::metrics::render();
    assert!(
        metrics.contains("heatline_network_anomalies_total{outcome=\"opened\"}"),
        "{metrics}"
    );
}
