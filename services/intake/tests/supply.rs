//! Supply cut on purpose: a station whose rooms fall together while its district's outdoor
//! temperature holds raises one alert for the regulator; a station whose rooms fall as the
//! weather falls does not. The regulator confirms or dismisses it once, with words.

mod support;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use contracts::intake::v1 as proto;
use identity::domain::account::Scope;
use platform::auth::Role;
use platform::clock::Clock;
use serde_json::{Value, json};
use support::{Harness, SENSOR_SECRET};

const SENSORS: &str = "\
sensor_id,kind,building_id,account_no,address,station,district,room,certified,installed_on
T-1,room,HP-001,HL01-0001,,,,卧室,true,2026-10-20
T-2,room,HP-002,HL02-0002,,,,卧室,true,2026-10-20
T-3,room,HP-003,,和平区南京路100号3栋101,,,客厅,false,2026-10-20
T-4,room,SH-001,SH800000001,,,,卧室,true,2026-10-20
T-5,room,SH-001,SH800000002,,,,卧室,true,2026-10-20
T-6,building,SH-001,,,,,楼道,false,2026-10-20
OUT-HP,outdoor,,,,,heping,,true,2026-10-20
OUT-SH,outdoor,,,,,shenhe,,true,2026-10-20
";

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

#[actix_web::test]
async fn rooms_falling_while_the_weather_holds_raise_one_alert_for_the_regulator() {
    let h = Harness::start_with(|c| c.readings.secret = Some(SENSOR_SECRET.into())).await;
    h.import_sensors(SENSORS).await;
    let hour = h.clock.now().duration_trunc(Duration::hours(1)).unwrap();
    let (before, recent) = (hour - Duration::hours(8), hour - Duration::hours(2));
    let mut pushed = Vec::new();
    // Every room of both stations: 21 ℃ for six hours, then 17 ℃ for the last two.
    for sensor in ["T-1", "T-2", "T-3", "T-4", "T-5", "T-6"] {
        pushed.extend(readings(sensor, before, recent, 21.0));
        pushed.extend(readings(sensor, recent, hour, 17.0));
    }
    // Heping's weather holds at −5 ℃; Shenhe's falls from −5 to −12 ℃.
    pushed.extend(readings("OUT-HP", before, hour, -5.0));
    pushed.extend(readings("OUT-SH", before, recent, -5.0));
    pushed.extend(readings("OUT-SH", recent, hour, -12.0));
    let reply = h.push_readings(pushed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["dropped"], json!({}), "{}", reply.body);

    let pass = h.intake.watch_supply().await.unwrap();
    assert_eq!(pass.raised.len(), 1, "{pass:?}");
    assert_eq!(
        pass.explained,
        ["SH-S1"],
        "the weather explains Shenhe's fall"
    );
    let again = h.intake.watch_supply().await.unwrap();
    assert!(again.raised.is_empty(), "one alert at a time: {again:?}");
    let alert = pass.raised[0];

    let suspected: Vec<proto::SupplyReductionSuspected> =
        h.until_published("the alert is published", 1).await;
    assert_eq!(suspected.len(), 1);
    let s = &suspected[0];
    assert_eq!(
        (s.alert_id.as_str(), s.station.as_str()),
        (alert.to_string().as_str(), "HP-S1")
    );
    assert_eq!(s.route.as_ref().unwrap().supplier_id, "sup-north");
    assert_eq!(
        (
            s.indoor_before_tenths_celsius,
            s.indoor_recent_tenths_celsius
        ),
        (210, 170)
    );
    assert_eq!(
        (
            s.outdoor_before_tenths_celsius,
            s.outdoor_recent_tenths_celsius
        ),
        (-50, -50)
    );
    assert_eq!((s.sensors, s.sensors_falling), (3, 3));

    let regulator = h.token(Role::Regulator, "regulator-1");
    let listed = h.get("/api/v1/supply-alerts?status=open", &regulator).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["station"], "HP-S1");
    assert_eq!(
        listed.body[0]["figures"]["per_sensor"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let supplier = h.token_scoped(
        Role::SupplierAdmin,
        "north-admin",
        Scope {
            supplier: Some("sup-north".into()),
            ..Scope::default()
        },
    );
    assert_eq!(h.get("/api/v1/supply-alerts", &supplier).await.status, 403);
    let bad = h
        .get("/api/v1/supply-alerts?status=maybe", &regulator)
        .await;
    assert_eq!(bad.body["code"], "invalid_status", "{}", bad.body);

    let path = |action: &str| format!("/api/v1/supply-alerts/{alert}/{action}");
    let short = h
        .post(&path("dismiss"), &regulator, &json!({"reason": "天冷"}))
        .await;
    assert_eq!(short.status, 422, "{}", short.body);
    assert_eq!(
        h.post(
            &path("confirm"),
            &supplier,
            &json!({"note": "供热企业擅自降低供水温度"})
        )
        .await
        .status,
        403
    );
    let confirmed = h
        .post(
            &path("confirm"),
            &regulator,
            &json!({"note": "现场核查：换热站一次侧阀门被人为关小，供水温度降低约 10 ℃"}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "confirmed");
    assert_eq!(confirmed.body["decided_by"], "regulator-1");
    let twice = h
        .post(
            &path("dismiss"),
            &regulator,
            &json!({"reason": "复核后认为是天气原因造成的室温下降"}),
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(twice.body["code"], "alert_decided");
    let unknown = h
        .post(
            &format!("/api/v1/supply-alerts/{}/confirm", uuid::Uuid::new_v4()),
            &regulator,
            &json!({"note": "现场核查属实，阀门被关小"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let decided: Vec<proto::SupplyReductionConfirmed> =
        h.until_published("the confirmation is published", 1).await;
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].supplier_id, "sup-north");
    assert!(
        h.published::<proto::SupplyReductionDismissed>()
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn an_outdoor_sensor_names_a_known_district_and_nothing_else() {
    let h = Harness::start().await;
    let pseudonyms = intake::privacy::pseudonyms(h.store.pool(), &testkit::master_key())
        .await
        .unwrap();
    let today = h.clock.now().date_naive();
    for (line, reason) in [
        ("OUT-1,outdoor,,,,,nowhere,,,2026-10-20", "district nowhere"),
        ("OUT-1,outdoor,,,,,,,,2026-10-20", "needs its district"),
        (
            "OUT-1,outdoor,HP-001,,,,heping,,,2026-10-20",
            "not a building",
        ),
        (
            "T-1,room,HP-001,HL01-0001,,,heping,,,2026-10-20",
            "only an outdoor sensor",
        ),
    ] {
        let csv = format!(
            "sensor_id,kind,building_id,account_no,address,station,district,room,certified,installed_on\n{line}\n"
        );
        let refused = intake::sensors::read(h.store.pool(), &pseudonyms, csv.as_bytes(), today)
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains(reason), "{line}: {refused}");
    }
}
