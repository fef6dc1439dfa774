//! The sensor registry: a good file is stored whole, keyed as the household registry keys
//! homes; every kind of bad line is refused with its line and reason, and nothing of that file
//! is stored.

mod support;

use chrono::NaiveDate;
use intake::domain::values::{HeatingAccountNo, Pseudonyms};
use intake::sensors::{self, Kind};
use platform::clock::Clock;
use support::Harness;

const HEADER: &str =
    "sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on\n";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

async fn stored(
    h: &Harness,
) -> Vec<(String, String, Option<String>, Option<String>, String, bool)> {
    let client = h.store.pool().get().await.unwrap();
    client
        .query(
            "SELECT sensor_id, kind, building_id, household, station, certified \
             FROM intake.sensor ORDER BY sensor_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect()
}

#[actix_web::test]
async fn a_sensor_file_is_stored_whole_and_keyed_as_homes_are() {
    let h = Harness::start().await;
    let pseudonyms = Pseudonyms::new([7; 32]);
    let file = format!(
        "{HEADER}\
         T-0001,room,HP-001,HL01-0001,,,卧室,true,2026-10-20\n\
         T-0002,room,HP-001,,和平区南京路100号1栋3单元501,HP-S1,客厅,no,2026-10-21\n\
         B-HP-002,building,HP-002,,,,,,2025-11-01\n\
         S-HP-S1,station,,,,HP-S1,,1,2024-09-30\n"
    );
    let sensors = sensors::read(h.store.pool(), &pseudonyms, file.as_bytes(), today())
        .await
        .unwrap();
    assert_eq!(sensors.len(), 4);
    assert_eq!(sensors[0].kind, Kind::Room);
    let account = HeatingAccountNo::parse("HL01-0001").unwrap();
    assert_eq!(
        sensors[0].household.as_deref(),
        Some(pseudonyms.of_account(&account).as_str())
    );
    assert_eq!(sensors[1].station.as_deref(), Some("HP-S1"));
    assert_eq!(
        sensors[2].station.as_deref(),
        Some("HP-S1"),
        "a building's station comes from the registry"
    );
    assert!(sensors[3].certified);
    let written = sensors::import(h.store.pool(), &sensors, h.clock.now())
        .await
        .unwrap();
    assert_eq!(written, 4);
    let rows = stored(&h).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].0, "B-HP-002");
    assert_eq!(rows[0].1, "building");
    assert_eq!(rows[0].3, None);
    assert_eq!(rows[1].1, "station");
    assert_eq!(rows[1].2, None);
    assert!(rows[2].3.is_some() && rows[2].5, "{rows:?}");
    assert!(rows[3].3.is_some() && !rows[3].5, "{rows:?}");

    // Importing again replaces: a sensor moved to another room keeps one row.
    let moved = format!("{HEADER}T-0001,room,HP-001,HL01-0001,,,书房,false,2026-10-20\n");
    let sensors = sensors::read(h.store.pool(), &pseudonyms, moved.as_bytes(), today())
        .await
        .unwrap();
    sensors::import(h.store.pool(), &sensors, h.clock.now())
        .await
        .unwrap();
    let rows = stored(&h).await;
    assert_eq!(rows.len(), 4);
    assert!(!rows[2].5, "the sensor is no longer certified: {rows:?}");
}

#[actix_web::test]
async fn every_bad_line_is_refused_with_its_line_and_reason() {
    let h = Harness::start().await;
    let pseudonyms = Pseudonyms::new([7; 32]);
    let good = "T-0001,room,HP-001,HL01-0001,,,卧室,true,2026-10-20\n";
    let cases = [
        (
            "T 1,room,HP-001,HL01-0001,,,,,2026-10-20\n",
            "sensor_id must be",
        ),
        (
            "T-0001,room,HP-001,HL01-0002,,,,,2026-10-20\n",
            "appears twice (first on line 2)",
        ),
        (
            "T-0009,thermostat,HP-001,HL01-0002,,,,,2026-10-20\n",
            "kind must be room",
        ),
        (
            "T-0009,room,HP-001,HL01-0002,,,,,20.10.2026\n",
            "installed_on must be a date",
        ),
        (
            "T-0009,room,HP-001,HL01-0002,,,,,2026-12-02\n",
            "is after today",
        ),
        (
            "T-0009,room,HP-001,HL01-0002,,,,maybe,2026-10-20\n",
            "certified must be",
        ),
        (
            "T-0009,room,HP-404,HL01-0002,,,,,2026-10-20\n",
            "not in the building registry",
        ),
        (
            "T-0009,room,HP-001,HL01-0002,,SH-S1,,,2026-10-20\n",
            "fed by station HP-S1, not SH-S1",
        ),
        (
            "T-0009,room,HP-001,,,,,,2026-10-20\n",
            "needs its home's account_no or address",
        ),
        (
            "T-0009,room,HP-001,H1,,,,,2026-10-20\n",
            "account_no must be",
        ),
        (
            "T-0009,room,,HL01-0002,,,,,2026-10-20\n",
            "needs its building_id",
        ),
        (
            "T-0009,building,HP-001,HL01-0002,,,,,2026-10-20\n",
            "names no home",
        ),
        (
            "T-0009,station,HP-001,,,HP-S1,,,2026-10-20\n",
            "not a building or a home",
        ),
        ("T-0009,station,,,,,,,2026-10-20\n", "needs its station"),
        (
            "T-0009,station,,,,XX-S9,,,2026-10-20\n",
            "feeds no building",
        ),
    ];
    for (line, reason) in cases {
        let file = format!("{HEADER}{good}{line}");
        let error = sensors::read(h.store.pool(), &pseudonyms, file.as_bytes(), today())
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(reason), "{line:?}: {error}");
        assert!(error.starts_with("line 3:"), "{line:?}: {error}");
    }
    let headless = sensors::read(h.store.pool(), &pseudonyms, b"sensor_id,kind\n", today())
        .await
        .unwrap_err()
        .to_string();
    assert!(headless.contains("lacks column installed_on"), "{headless}");
    let empty = sensors::read(h.store.pool(), &pseudonyms, HEADER.as_bytes(), today())
        .await
        .unwrap_err()
        .to_string();
    assert!(empty.contains("no sensors"), "{empty}");
    assert!(stored(&h).await.is_empty());
}
