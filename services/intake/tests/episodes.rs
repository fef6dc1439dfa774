//! Repairs before complaints: a home whose room sensor reads 15 ℃ for the configured hours
//! opens a complaint of source `sensor` with the hours behind it, once however often the
//! watcher looks, and publishes `LowTemperatureDetected`; a resident who calls later joins it;
//! a home cold for fewer hours opens nothing; a whole hour at the standard closes the episode
//! (`TemperatureRecovered`). A sensor that sends nothing for the silent hours is listed and
//! published as silent until it reports again.

mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use contracts::intake::v1 as proto;
use identity::domain::account::Scope;
use platform::auth::Role;
use platform::clock::Clock;
use serde_json::{Value, json};
use support::{Harness, SENSOR_SECRET, cold};

const SENSORS: &str = "\
sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on
T-0001,room,HP-001,HL01-0001,,,卧室,true,2026-10-20
T-0002,room,HP-002,HL02-0002,,,客厅,false,2026-10-20
";

/// Heping's outdoor thermometer.
const OUTDOOR: &str = "\
sensor_id,kind,district,installed_on
OUT-HP,outdoor,heping,2026-10-20
";

async fn start() -> Harness {
    let h = Harness::start_with(|c| {
        c.readings.secret = Some(SENSOR_SECRET.into());
        c.episodes.hours = 4;
    })
    .await;
    h.import_sensors(SENSORS).await;
    h
}

/// A reading every 15 minutes of `sensor` from `from` until before `to`, at `celsius`.
fn readings(sensor: &str, from: DateTime<Utc>, to: DateTime<Utc>, celsius: f64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        out.push(json!({
            "sensor_id": sensor,
            "at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "celsius": celsius,
        }));
        at += Duration::minutes(15);
    }
    out
}

async fn sensor_complaints(h: &Harness) -> Vec<(uuid::Uuid, String, Option<String>, String)> {
    let client = h.store.pool().get().await.unwrap();
    client
        .query(
            "SELECT complaint_id, household, building_id, description FROM intake.complaint
              WHERE source = 'sensor' ORDER BY filed_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[actix_web::test]
async fn a_home_held_at_15_for_the_configured_hours_opens_a_sensor_complaint_a_call_joins() {
    let h = start().await;
    let now = h.clock.now();
    // T-0001's home: 15 ℃ for five hours. T-0002's: warm, then cold for the last three only.
    let mut pushed = readings("T-0001", now - Duration::hours(5), now, 15.0);
    pushed.extend(readings(
        "T-0002",
        now - Duration::hours(5),
        now - Duration::hours(3),
        20.0,
    ));
    pushed.extend(readings("T-0002", now - Duration::hours(3), now, 15.0));
    let reply = h.push_readings(pushed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 40);

    let pass = h.intake.watch_room_temperatures().await.unwrap();
    assert_eq!(pass.opened.len(), 1, "{pass:?}");
    let found = sensor_complaints(&h).await;
    assert_eq!(found.len(), 1);
    let (complaint, household, building, description) = &found[0];
    assert_eq!(
        building.as_deref(),
        Some("HP-001"),
        "routed by the sensor's building"
    );
    assert!(description.contains("T-0001"), "{description}");
    assert!(description.contains("连续 4 小时"), "{description}");
    assert!(description.contains("15.0 ℃"), "{description}");
    let episodes = h.intake.episodes_of(household).await.unwrap();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].complaint_id, Some(*complaint));
    assert_eq!(episodes[0].hours.as_array().unwrap().len(), 4);
    assert_eq!(episodes[0].hours[0]["readings"], 4);
    let detected: Vec<proto::LowTemperatureDetected> =
        h.until_published("the episode is published", 1).await;
    assert_eq!(detected.len(), 1);
    assert_eq!(detected[0].episode_id, episodes[0].episode_id.to_string());
    assert_eq!(&detected[0].household, household);
    assert_eq!(detected[0].sensor_ids, ["T-0001"]);
    assert!(detected[0].certified);
    assert_eq!(detected[0].standard_tenths_celsius, 180);
    assert_eq!(detected[0].route.as_ref().unwrap().supplier_id, "sup-north");
    let means: Vec<i32> = detected[0]
        .hours
        .iter()
        .map(|hour| hour.mean_tenths_celsius)
        .collect();
    assert_eq!(means, [150, 150, 150, 150]);
    let accepted: Vec<proto::ComplaintAccepted> = h
        .until_published("the episode's complaint is published", 1)
        .await;
    assert!(
        accepted
            .iter()
            .any(|a| a.complaint_id == detected[0].episode_id
                && a.source == proto::Source::Sensor as i32),
        "the episode's complaint carries its id"
    );

    // Looking again changes nothing: the episode is open and its complaint filed.
    let again = h.intake.watch_room_temperatures().await.unwrap();
    assert!(
        again.opened.is_empty() && again.recovered.is_empty(),
        "{again:?}"
    );
    assert_eq!(sensor_complaints(&h).await.len(), 1);

    // The resident calls later: the filing joins the sensor's complaint.
    let filed = h
        .post("/api/v1/complaints", &h.resident(1), &cold("HL01-0001"))
        .await;
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert_eq!(filed.body["outcome"], "merged");
    assert_eq!(filed.body["complaint_id"], complaint.to_string());
    let client = h.store.pool().get().await.unwrap();
    let merged: i64 = client
        .query_one(
            "SELECT count(*) FROM intake.complaint WHERE merged_into = $1 AND source = 'app'",
            &[complaint],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(merged, 1);
    let dispatcher = h.token(Role::Dispatcher, "dispatcher-1");
    let shown = h
        .get(&format!("/api/v1/complaints/{complaint}"), &dispatcher)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(
        shown.body["complaint"]["source"], "sensor",
        "{}",
        shown.body
    );

    // The complaint's page shows the home's hours beside the district's weather.
    h.import_sensors(OUTDOOR).await;
    let weather = readings("OUT-HP", now - Duration::hours(5), now, -8.0);
    assert_eq!(h.push_readings(weather).await.status, 200);
    let shown = h
        .get(
            &format!("/api/v1/complaints/{complaint}/temperatures"),
            &dispatcher,
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["indoor_from"], "room");
    assert_eq!(shown.body["indoor_sensors"], json!(["T-0001"]));
    assert_eq!(shown.body["outdoor_sensors"], json!(["OUT-HP"]));
    let hours = shown.body["hours"].as_array().unwrap();
    let read: Vec<(f64, f64)> = hours
        .iter()
        .filter(|hour| !hour["indoor_mean"].is_null())
        .map(|hour| {
            (
                hour["indoor_mean"].as_f64().unwrap(),
                hour["outdoor_mean"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(read, vec![(15.0, -8.0); 5], "{}", shown.body);
    let stranger = h
        .get(
            &format!("/api/v1/complaints/{complaint}/temperatures"),
            &h.resident(7),
        )
        .await;
    assert_eq!(stranger.status, 404, "{}", stranger.body);

    // Two hours later T-0001's home is warm again for a whole hour: the episode closes.
    h.clock.advance(Duration::hours(2));
    let later = h.clock.now();
    let warm = readings("T-0001", later - Duration::hours(2), later, 19.5);
    assert_eq!(h.push_readings(warm).await.status, 200);
    let pass = h.intake.watch_room_temperatures().await.unwrap();
    assert_eq!(pass.recovered, vec![episodes[0].episode_id]);
    assert!(pass.opened.is_empty(), "{pass:?}");
    let closed = h.intake.episodes_of(household).await.unwrap();
    assert_eq!(closed[0].recovered_at, Some(later));
    let recovered: Vec<proto::TemperatureRecovered> =
        h.until_published("the recovery is published", 1).await;
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].episode_id, detected[0].episode_id);
    assert_eq!(recovered[0].hour.as_ref().unwrap().mean_tenths_celsius, 195);
    assert_eq!(
        h.intake.watch_room_temperatures().await.unwrap(),
        Default::default(),
        "a closed episode closes once"
    );
    assert_eq!(h.published::<proto::TemperatureRecovered>().await.len(), 1);
}

#[actix_web::test]
async fn a_sensor_that_sends_nothing_for_the_silent_hours_is_silent_until_it_reports() {
    let h = Harness::start_with(|c| {
        c.readings.secret = Some(SENSOR_SECRET.into());
        c.episodes.silent_hours = 6;
    })
    .await;
    h.import_sensors(SENSORS).await;
    // Newly imported sensors have the silent hours to report first.
    h.clock.advance(Duration::hours(5));
    let pass = h.intake.watch_sensor_silence().await.unwrap();
    assert!(pass.silent.is_empty(), "{pass:?}");

    // T-0001 reports every 15 minutes; T-0002 never does.
    h.clock.advance(Duration::hours(2));
    let now = h.clock.now();
    let pushed = readings("T-0001", now - Duration::hours(2), now, 20.0);
    assert_eq!(h.push_readings(pushed).await.status, 200);
    let pass = h.intake.watch_sensor_silence().await.unwrap();
    assert_eq!(pass.silent, ["T-0002"]);
    assert_eq!(
        h.intake.watch_sensor_silence().await.unwrap(),
        Default::default(),
        "a silent sensor is found silent once"
    );
    let silent: Vec<proto::SensorSilent> = h.until_published("the silence is published", 1).await;
    assert_eq!(silent.len(), 1);
    assert_eq!(silent[0].sensor_id, "T-0002");
    assert_eq!(silent[0].kind, "room");
    assert_eq!(silent[0].last_reading_at_ms, 0, "it never reported");
    assert_eq!(silent[0].route.as_ref().unwrap().building_id, "HP-002");

    let dispatcher = h.token(Role::Dispatcher, "dispatcher-1");
    let listed = h.get("/api/v1/sensors/silent", &dispatcher).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body[0]["sensor_id"], "T-0002");
    assert_eq!(listed.body[0]["supplier_id"], "sup-north");
    let other = h.token_scoped(
        Role::SupplierAdmin,
        "east-admin",
        Scope {
            supplier: Some("sup-east".into()),
            ..Scope::default()
        },
    );
    let theirs = h.get("/api/v1/sensors/silent", &other).await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert_eq!(
        theirs.body,
        json!([]),
        "another supplier's sensors are not theirs"
    );
    let resident = h.get("/api/v1/sensors/silent", &h.resident(1)).await;
    assert_eq!(resident.status, 403, "{}", resident.body);

    // T-0002 reports again.
    h.clock.advance(Duration::minutes(20));
    let now = h.clock.now();
    let back = readings("T-0002", now - Duration::minutes(10), now, 19.0);
    assert_eq!(h.push_readings(back).await.status, 200);
    let pass = h.intake.watch_sensor_silence().await.unwrap();
    assert_eq!(pass.resumed, ["T-0002"]);
    assert!(pass.silent.is_empty(), "{pass:?}");
    let resumed: Vec<proto::SensorResumed> =
        h.until_published("the resumption is published", 1).await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].sensor_id, "T-0002");
    let listed = h.get("/api/v1/sensors/silent", &dispatcher).await;
    assert_eq!(listed.body, json!([]));
}
