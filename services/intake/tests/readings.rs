//! Sensor readings pushed in bulk over HTTP: signed as the 12345 pushes are, each reading
//! stored once in its day's partition and rolled up by hour, every bad kind dropped and
//! counted under its reason, in the answer and in `/metrics`.

mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use intake::hotline::sign;
use platform::clock::Clock;
use serde_json::{Value, json};
use support::{Harness, SENSOR_SECRET as SECRET};

const SENSORS: &str = "\
sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on
T-0001,room,HP-001,HL01-0001,,,卧室,true,2026-10-20
T-0002,room,HP-002,HL02-0002,,,客厅,false,2026-10-20
S-HP-S1,station,,,,HP-S1,,,2024-09-30
";

async fn start() -> Harness {
    let h = Harness::start_with(|c| c.readings.secret = Some(SECRET.into())).await;
    h.import_sensors(SENSORS).await;
    h
}

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn count(h: &Harness, sql: &str) -> i64 {
    let client = h.store.pool().get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// The `heatline_sensor_readings_total` series of `outcome`, as `/metrics` renders it.
fn counted(outcome: &str) -> u64 {
    let wanted = format!("heatline_sensor_readings_total{{outcome=\"{outcome}\"}} ");
    platform::metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix(&wanted).and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0)
}

#[actix_web::test]
async fn good_readings_are_stored_once_and_rolled_up_by_hour() {
    let h = start().await;
    let now = h.clock.now();
    let hour = now - Duration::minutes(50);
    let room = |min: i64, c: f64| json!({"sensor_id": "T-0001", "at": at(hour + Duration::minutes(min)), "celsius": c});
    let station = json!({"sensor_id": "S-HP-S1", "at": at(hour), "supply_c": 82.5,
        "return_c": 44.0, "pressure_kpa": 510, "flow_m3h": 120.0});
    let first = h
        .push_readings(vec![room(0, 17.0), room(15, 16.0), station.clone()])
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body, json!({"accepted": 3, "dropped": {}}));
    // The platform retries the whole push, and adds one reading: only that one is new.
    let again = h
        .push_readings(vec![room(0, 17.0), room(15, 16.0), station, room(30, 15.5)])
        .await;
    assert_eq!(
        again.body,
        json!({"accepted": 1, "dropped": {"duplicate": 3}})
    );
    assert_eq!(count(&h, "SELECT count(*) FROM intake.reading").await, 4);
    let day = format!("reading_p{}", now.format("%Y%m%d"));
    assert_eq!(
        count(&h, &format!("SELECT count(*) FROM intake.{day}")).await,
        4,
        "the day's partition holds them"
    );
    // Stored raw; the hour is rolled up whole by the pass, once, over every hour due.
    assert_eq!(
        count(&h, "SELECT count(*) FROM intake.reading_hourly").await,
        0
    );
    let pass = h.intake.roll_up_readings().await.unwrap();
    assert_eq!((pass.hours, pass.sensor_hours), (48, 2), "{pass:?}");
    assert_eq!(
        h.intake.roll_up_readings().await.unwrap(),
        Default::default()
    );
    let client = h.store.pool().get().await.unwrap();
    let rolled = client
        .query_one(
            "SELECT readings, celsius_min, celsius_max, (celsius_sum / readings)::real \
             FROM intake.reading_hourly WHERE sensor_id = 'T-0001'",
            &[],
        )
        .await
        .unwrap();
    let (n, low, high, mean): (i32, f32, f32, f32) =
        (rolled.get(0), rolled.get(1), rolled.get(2), rolled.get(3));
    assert_eq!((n, low, high), (3, 15.5, 17.0));
    assert!((mean - 16.166_666).abs() < 1e-3, "{mean}");
    let pressure: f32 = client
        .query_one(
            "SELECT pressure_kpa_min FROM intake.reading_hourly WHERE sensor_id = 'S-HP-S1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pressure, 510.0);

    // A reading that arrives after its hour was rolled up joins the roll-up as it is stored.
    let late = h.push_readings(vec![room(45, 14.0), room(45, 14.0)]).await;
    assert_eq!(
        late.body,
        json!({"accepted": 1, "dropped": {"duplicate": 1}})
    );
    let rolled = client
        .query_one(
            "SELECT readings, celsius_min, celsius_max FROM intake.reading_hourly \
             WHERE sensor_id = 'T-0001'",
            &[],
        )
        .await
        .unwrap();
    let (n, low, high): (i32, f32, f32) = (rolled.get(0), rolled.get(1), rolled.get(2));
    assert_eq!((n, low, high), (4, 14.0, 17.0));
}

/// Every outcome of a reading, in the order the test below counts them.
const OUTCOMES: [&str; 8] = [
    "malformed",
    "unknown_sensor",
    "wrong_kind",
    "out_of_range",
    "future",
    "stale",
    "duplicate",
    "accepted",
];

#[actix_web::test]
async fn every_bad_reading_is_dropped_and_counted_under_its_reason() {
    let h = start().await;
    let now = h.clock.now();
    let recent = at(now - Duration::minutes(10));
    let before: Vec<u64> = OUTCOMES.iter().map(|o| counted(o)).collect();
    let reply = h.push_readings(vec![
            json!({"sensor_id": "T-0002", "at": recent, "celsius": 18.5}),
            json!("T-0002;18.5"),
            json!({"sensor_id": "T-0002", "at": "last night", "celsius": 18.5}),
            json!({"sensor_id": "T-9999", "at": recent, "celsius": 18.5}),
            json!({"sensor_id": "S-HP-S1", "at": recent, "celsius": 18.5}),
            json!({"sensor_id": "T-0002", "at": at(now - Duration::minutes(9)), "supply_c": 80, "return_c": 40,
                "pressure_kpa": 500, "flow_m3h": 100}),
            json!({"sensor_id": "T-0002", "at": at(now - Duration::minutes(5)), "celsius": 61}),
            json!({"sensor_id": "T-0002", "at": at(now + Duration::minutes(30)), "celsius": 18.5}),
            json!({"sensor_id": "T-0002", "at": at(now - Duration::hours(25)), "celsius": 18.5}),
            json!({"sensor_id": "T-0002", "at": recent, "celsius": 18.5}),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"accepted": 1, "dropped": {"malformed": 2, "unknown_sensor": 1, "wrong_kind": 2,
            "out_of_range": 1, "future": 1, "stale": 1, "duplicate": 1}})
    );
    assert_eq!(count(&h, "SELECT count(*) FROM intake.reading").await, 1);
    // Tests in this process count too: at least this push's figures were added.
    let after: Vec<u64> = OUTCOMES.iter().map(|o| counted(o)).collect();
    for ((b, a), n) in before.iter().zip(&after).zip([2, 1, 2, 1, 1, 1, 1, 1]) {
        assert!(a - b >= n, "{before:?} → {after:?}");
    }
}

#[actix_web::test]
async fn a_push_must_be_signed_well_formed_and_at_most_ten_thousand() {
    let h = start().await;
    let now = h.clock.now().timestamp();
    let raw = serde_json::to_vec(&json!({"readings": []})).unwrap();
    let forged = h
        .push_readings_signed(&raw, now, &sign("a guess", now, &raw))
        .await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.body["code"], "signature_invalid");
    let old = now - 3600;
    let replayed = h
        .push_readings_signed(&raw, old, &sign(SECRET, old, &raw))
        .await;
    assert_eq!(replayed.body["code"], "signature_expired");
    let not_json = b"readings=1".to_vec();
    let reply = h
        .push_readings_signed(&not_json, now, &sign(SECRET, now, &not_json))
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let no_array = br#"{"reading": []}"#.to_vec();
    let reply = h
        .push_readings_signed(&no_array, now, &sign(SECRET, now, &no_array))
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (422, Some("invalid_body"))
    );
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"sensor_id": "T-0001", "at": i.to_string(), "celsius": 1}))
        .collect();
    let reply = h.push_readings(many).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (422, Some("invalid_fields"))
    );
    assert_eq!(
        reply.body["details"][0]["field"], "readings",
        "{}",
        reply.body
    );
    assert_eq!(count(&h, "SELECT count(*) FROM intake.reading").await, 0);

    let off = Harness::start().await;
    let reply = off
        .push_readings_signed(&raw, now, &sign(SECRET, now, &raw))
        .await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (503, Some("sensors_not_configured"))
    );
}

#[actix_web::test]
async fn partitions_past_the_retention_are_dropped_with_their_readings() {
    let h = start().await;
    let now = h.clock.now();
    h.push_readings(vec![
        json!({"sensor_id": "T-0001", "at": at(now), "celsius": 19.0}),
    ])
    .await;
    let readings = intake::readings::Readings::new(h.store.pool().clone(), 2);
    readings.roll_up(now + Duration::hours(1)).await.unwrap();
    // Two days on, the first day's partition is within the retention; three days on it is not.
    assert_eq!(
        readings
            .drop_expired(now + Duration::days(2))
            .await
            .unwrap(),
        1,
        "yesterday's"
    );
    assert_eq!(count(&h, "SELECT count(*) FROM intake.reading").await, 1);
    assert!(
        readings
            .drop_expired(now + Duration::days(3))
            .await
            .unwrap()
            >= 1
    );
    assert_eq!(count(&h, "SELECT count(*) FROM intake.reading").await, 0);
    assert_eq!(
        count(&h, "SELECT count(*) FROM intake.reading_hourly").await,
        1,
        "the hourly roll-up stays"
    );
}

/// The advisory lock of `hour`'s roll-up, as intake takes it.
const HOUR_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('intake.reading_hour'), \
                         (extract(epoch FROM $1::timestamptz) / 3600)::int4)";
const HOUR_LOCK_SHARED: &str = "SELECT pg_advisory_xact_lock_shared(hashtext('intake.reading_hour'), \
                                (extract(epoch FROM $1::timestamptz) / 3600)::int4)";

#[actix_web::test]
async fn a_reading_stored_while_its_hour_is_rolled_up_is_counted_once() {
    let h = start().await;
    let now = h.clock.now();
    let hour = now - Duration::hours(1);
    let reading = |minute: i64| {
        vec![
            json!({"sensor_id": "T-0001", "at": at(hour + Duration::minutes(minute)), "celsius": 16.0}),
        ]
    };
    assert_eq!(h.push_readings(reading(0)).await.status, 200);
    let mut client = h.store.pool().get().await.unwrap();

    // A batch is being stored in the hour (it holds the hour's shared lock): the pass waits
    // for it, and its reading is in the pass's aggregate.
    let batch = client.transaction().await.unwrap();
    batch.execute(HOUR_LOCK_SHARED, &[&hour]).await.unwrap();
    batch
        .execute(
            "INSERT INTO intake.reading (sensor_id, measured_at, received_at, celsius) \
             VALUES ('T-0001', $1, $2, 16.0)",
            &[&(hour + Duration::minutes(10)), &now],
        )
        .await
        .unwrap();
    let pass = h.intake.roll_up_readings();
    futures_util::pin_mut!(pass);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), &mut pass).await;
    assert!(waited.is_err(), "the pass waits for the batch's lock");
    batch.commit().await.unwrap();
    assert_eq!(pass.await.unwrap().hours, 48);
    let rolled = "SELECT sum(readings)::int8 FROM intake.reading_hourly WHERE sensor_id = 'T-0001'";
    assert_eq!(count(&h, rolled).await, 2);

    // A pass holds the hour's exclusive lock: a reading for the hour waits for it, then joins
    // the hour's roll-up.
    let other_pass = client.transaction().await.unwrap();
    other_pass.execute(HOUR_LOCK, &[&hour]).await.unwrap();
    let push = h.push_readings(reading(20));
    futures_util::pin_mut!(push);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), &mut push).await;
    assert!(waited.is_err(), "the batch waits for the pass's lock");
    other_pass.rollback().await.unwrap();
    assert_eq!(push.await.body["accepted"], 1);
    assert_eq!(count(&h, rolled).await, 3);
    assert_eq!(count(&h, "SELECT count(*) FROM intake.reading").await, 3);
}

#[actix_web::test]
async fn a_sensor_imported_again_as_another_kind_is_taken_as_such_once_the_registry_is_checked() {
    use intake::readings::{Reading, Readings, Values};
    let h = start().await;
    let readings = Readings::new(h.store.pool().clone(), 90);
    assert!(
        !readings.refresh_sensors().await.unwrap(),
        "nothing to forget yet"
    );
    let now = h.clock.now();
    let reading = |minutes: i64, values: Values| {
        Ok(Reading {
            sensor_id: "T-0002".into(),
            at: now - Duration::minutes(minutes),
            values,
        })
    };
    let room = Values::Temperature { celsius: 18.5 };
    let station = Values::Station {
        supply_c: 80.0,
        return_c: 45.0,
        pressure_kpa: 500.0,
        flow_m3h: 100.0,
    };
    let first = readings.ingest(vec![reading(10, room)], now).await.unwrap();
    assert_eq!(first.accepted, 1);

    // T-0002 turns out to be a station's meter, imported again a minute later.
    h.clock.advance(Duration::minutes(1));
    h.import_sensors(
        "sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on\n\
         T-0002,station,,,,HP-S1,,,2024-09-30\n",
    )
    .await;
    let remembered = readings
        .ingest(vec![reading(9, station)], now)
        .await
        .unwrap();
    assert_eq!(
        (remembered.accepted, remembered.dropped.get("wrong_kind")),
        (0, Some(&1)),
        "taken for a room's until the registry is checked"
    );
    assert!(readings.refresh_sensors().await.unwrap());
    let checked = readings
        .ingest(vec![reading(8, station), reading(7, room)], now)
        .await
        .unwrap();
    assert_eq!(
        (checked.accepted, checked.dropped.get("wrong_kind")),
        (1, Some(&1))
    );
    assert!(!readings.refresh_sensors().await.unwrap());
}
