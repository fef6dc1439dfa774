//! The ledger from published events: a season computed by hand, evidence behind every entry,
//! causes that do not count, redelivery, the score as of a past moment, and exports.

mod support;

use contracts::dispatch::v1 as dispatch;
use contracts::dispatch::v1::Cause;
use contracts::intake::v1 as intake;
use serde_json::Value;
use support::{Harness, breached, hour, opened, resolved, season};
use testkit::api::eventually;

fn points(score: &Value, dimension: &str) -> f64 {
    score["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == dimension)
        .unwrap()["points"]
        .as_f64()
        .unwrap()
}

/// north-heat's season 2026-2027 replayed under rulebook `version`.
async fn north_what_if(h: &Harness, version: &str) -> Value {
    let reply = h
        .api
        .get(
            &format!("/api/v1/credit/seasons/2026-2027/what-if?rulebook_version={version}"),
            &h.regulator(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["supplier_id"] == "north-heat")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_season_of_published_events_scores_as_computed_by_hand_with_evidence_behind_every_entry()
{
    let h = Harness::start().await;
    let story = season(&h).await;
    h.caught_up().await;
    let score = h.score("north-heat", "").await;
    assert_eq!(score["score"], 77.78, "{score}");
    assert_eq!(score["grade"], "B");
    assert_eq!(score["status"], "provisional");
    assert_eq!(score["rulebook_version"], "2024.1");
    assert_eq!(points(&score, "heating_quality"), 20.0);
    assert_eq!(points(&score, "sla_performance"), 22.5);
    assert_eq!(points(&score, "complaint_rate"), 13.95);
    assert_eq!(points(&score, "satisfaction"), 9.0);
    assert_eq!(points(&score, "outages"), 9.0);
    assert_eq!(points(&score, "data_integration"), 3.33);

    let ledger = h.ledger("north-heat").await;
    let sum: f64 = ledger.iter().map(|e| e["points"].as_f64().unwrap()).sum();
    assert!(
        (sum - (77.78 - 100.0)).abs() < 1e-9,
        "entries sum to the score: {sum}"
    );
    for entry in &ledger {
        assert!(!entry["evidence"].as_array().unwrap().is_empty(), "{entry}");
        assert!(!entry["rulebook_version"].as_str().unwrap().is_empty());
    }
    // The first entry: T1's resolution counts its two measurements.
    let quality = ledger
        .iter()
        .find(|e| e["dimension"] == "heating_quality")
        .unwrap();
    let evidence: Vec<&str> = quality["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for name in ["t1.cold", "t1.warm", "t1.resolved"] {
        assert!(
            evidence.contains(&story.id(name).to_string().as_str()),
            "{name}"
        );
    }
    assert_eq!(quality["tickets"][0]["href"], "/api/v1/tickets/t1");
    assert_eq!(quality["points_text"], "-15.00");

    // Resident-side and developer-handover tickets name no entry.
    for name in ["t2.measured", "t2.breach", "t2.resolved", "t4.resolved"] {
        let id = story.id(name).to_string();
        assert!(
            ledger
                .iter()
                .all(|e| !e["evidence"].to_string().contains(&id)),
            "{name} is not evidence"
        );
    }

    // An evidence link opens the event and the entries that name it.
    let href = quality["evidence"][0]["href"].as_str().unwrap();
    let event = h.api.get(href, &h.regulator()).await;
    assert_eq!(event.status, 200, "{}", event.body);
    assert_eq!(
        event.body["message_type"],
        "heatline.dispatch.v1.TemperatureMeasured"
    );
    assert_eq!(event.body["entries"][0]["entry_id"], quality["entry_id"]);

    // The ranking lists both registered suppliers with a ledger; CSV has a line per entry.
    let ranking = h
        .api
        .get("/api/v1/credit/seasons/2026-2027/ranking", &h.regulator())
        .await;
    assert_eq!(ranking.body[0]["supplier_id"], "north-heat");
    assert_eq!(ranking.body[0]["grade"], "B");
    let csv = h
        .api
        .http
        .get(format!(
            "{}/api/v1/credit/seasons/2026-2027/ledger.csv",
            h.api.base
        ))
        .bearer_auth(h.regulator())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), ledger.len() + 1);
    assert!(text.starts_with("supplier_id,sequence,entry_id,at,"));
}

#[tokio::test]
async fn events_handled_again_after_a_checkpoint_reset_count_once() {
    let mut h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    let before = h.ledger("north-heat").await;
    h.background.take().unwrap().feed.stop().await;
    let client = h.store.pool().get().await.unwrap();
    client
        .execute(
            "UPDATE credit.subscription_checkpoint SET tx_id = '0'::xid8, global_position = 0 \
             WHERE name = 'ledger_feed'",
            &[],
        )
        .await
        .unwrap();
    h.background = Some(h.credit.start().unwrap());
    h.caught_up().await;
    let after = h.ledger("north-heat").await;
    assert_eq!(before, after);
    assert_eq!(h.score("north-heat", "").await["score"], 77.78);
}

/// With credit's background work stopped: the feed's checkpoint, once its last snapshot is
/// saved there, with that snapshot's state and event count.
async fn last_snapshot(h: &Harness) -> (eventstore::LogPosition, Vec<u8>, u64) {
    let client = h.store.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT tx_id::text, global_position FROM credit.subscription_checkpoint \
             WHERE name = 'ledger_feed'",
            &[],
        )
        .await
        .unwrap();
    let checkpoint = eventstore::LogPosition::from_parts(row.get(0), row.get(1)).unwrap();
    eventually("the scorer is saved at the feed's checkpoint", || async {
        credit::feed::snapshot(&client)
            .await
            .unwrap()
            .is_some_and(|(position, _)| position == checkpoint)
    })
    .await;
    let row = client
        .query_one(
            "SELECT state, events FROM credit.scorer_snapshot WHERE name = 'ledger_feed'",
            &[],
        )
        .await
        .unwrap();
    (checkpoint, row.get(0), row.get::<_, i64>(1) as u64)
}

#[tokio::test]
async fn a_restarted_feed_starts_from_its_scorers_snapshot_and_reads_only_the_log_after_it() {
    use dispatch::Clock;
    let mut h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    // Everything in the background stops (the closer too, which may end months meanwhile).
    h.background.take().unwrap().feed.stop().await;
    let (at, saved, events) = last_snapshot(&h).await;
    let published: i64 = h
        .store
        .pool()
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM eventstore.published_event \
             WHERE (tx_id, global_position) <= ($1::text::xid8, $2)",
            &[&at.tx_id_text(), &at.global_position],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        events, published as u64,
        "the whole log up to it read, the ledger's own events too"
    );

    // Told that the season left nothing behind, a restarted feed believes it: T1's late
    // callback breach finds no resolved ticket to count against.
    let client = h.store.pool().get().await.unwrap();
    let forgetful = credit::domain::scorer::Scorer::new(h.credit.rulebook().clone())
        .save()
        .unwrap();
    let set_state = |state: Vec<u8>| {
        let client = &client;
        async move {
            client
                .execute(
                    "UPDATE credit.scorer_snapshot SET state = $1, tx_id = $2::text::xid8, \
                     global_position = $3 WHERE name = 'ledger_feed'",
                    &[&state, &at.tx_id_text(), &at.global_position],
                )
                .await
                .unwrap();
        }
    };
    set_state(forgetful).await;
    h.background = Some(h.credit.start().unwrap());
    let late = breached(&h, "t1", 30, Clock::Callback).await;
    h.caught_up().await;
    let counted = |ledger: &[Value]| {
        ledger
            .iter()
            .filter(|e| e["evidence"].to_string().contains(&late.to_string()))
            .count()
    };
    assert_eq!(counted(&h.ledger("north-heat").await), 0);
    assert_eq!(h.score("north-heat", "").await["score"], 77.78);

    // With the season's own snapshot back and the checkpoint before the breach, the restart
    // knows T1 was resolved on the supplier's side and counts it.
    h.background.take().unwrap().feed.stop().await;
    set_state(saved).await;
    client
        .execute(
            "UPDATE credit.subscription_checkpoint SET tx_id = $1::text::xid8, \
             global_position = $2 WHERE name = 'ledger_feed'",
            &[&at.tx_id_text(), &at.global_position],
        )
        .await
        .unwrap();
    h.background = Some(h.credit.start().unwrap());
    h.caught_up().await;
    assert_eq!(counted(&h.ledger("north-heat").await), 1);
    assert!(h.score("north-heat", "").await["score"].as_f64().unwrap() < 77.78);
}

#[tokio::test]
async fn the_score_as_of_a_past_moment_counts_only_what_had_happened_by_then() {
    let h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    // 12:30 China time: T1 (resolved at 12:00) counts; T3 and T5 (resolved at 18:00) do not.
    let then = h
        .score("north-heat", "?as_of=2026-12-10T12:30:00%2B08:00")
        .await;
    assert_eq!(points(&then, "heating_quality"), 15.0);
    assert_eq!(points(&then, "sla_performance"), 24.5);
    assert_eq!(points(&then, "satisfaction"), 15.0);
    assert_eq!(then["as_of"], "2026-12-10T04:30:00Z");
    let before_anything = h.score("north-heat", "?as_of=2026-12-01T00:00:00Z").await;
    assert_eq!(before_anything["score"], 100.0);
    assert_eq!(before_anything["entries"], 0);
    let bad = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/suppliers/north-heat?as_of=yesterday",
            &h.regulator(),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["code"], "invalid_as_of");
}

#[tokio::test]
async fn a_what_if_under_a_stricter_rulebook_changes_exactly_its_entries_and_writes_nothing() {
    let h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    // November is over by the harness's clock: its closing is published first, so that the
    // log's head below moves only if the what-if wrote something.
    eventually("November is closed", || async {
        h.score("north-heat", "").await["closings"]
            .to_string()
            .contains("2026-11")
    })
    .await;
    let before = h.ledger("north-heat").await;
    let head = h.store.published_head().await.unwrap();
    let north = north_what_if(&h, "2027.1").await;
    assert_eq!(north["actual_score"], 77.78);
    assert_eq!(north["what_if_score"], 75.28);
    let changed = north["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 2, "{north}");
    assert!(changed.iter().all(|c| c["dimension"] == "sla_performance"));
    assert!(
        changed
            .iter()
            .all(|c| c["what_if"].as_f64() == Some(c["actual"].as_f64().unwrap() * 2.0))
    );
    assert_eq!(h.ledger("north-heat").await, before);
    assert_eq!(h.store.published_head().await.unwrap(), head);
    let unknown = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/what-if?rulebook_version=1999.9",
            &h.regulator(),
        )
        .await;
    assert_eq!(unknown.status, 422);
}

#[tokio::test]
async fn months_are_closed_with_their_grade_and_the_season_ends_final() {
    let h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    h.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-04-02T00:00:00+08:00")
            .unwrap()
            .to_utc(),
    );
    eventually("every period is closed", || async {
        h.score("north-heat", "").await["status"] == "final"
    })
    .await;
    let score = h.score("north-heat", "").await;
    let closings = score["closings"].as_array().unwrap();
    let periods: Vec<&str> = closings
        .iter()
        .map(|c| c["period"].as_str().unwrap())
        .collect();
    assert_eq!(
        periods,
        [
            "2026-11",
            "2026-12",
            "2027-01",
            "2027-02",
            "2027-03",
            "2026-2027"
        ]
    );
    assert_eq!(closings[0]["score"], 100.0);
    assert_eq!(closings[1]["score"], 77.78);
    assert_eq!(closings[1]["grade"], "B");
    assert_eq!(closings[5]["is_final"], true);
}

#[tokio::test]
async fn a_sensor_episode_counts_only_under_the_sensing_rulebook_and_shows_its_cold_hours() {
    let h = Harness::start().await;
    // Certified room sensors read 15 ℃ for four hours; the complaint the episode filed (its id)
    // opens t6, which the supplier resolves on its side with no crew measurement.
    let cold = |n: i64| intake::HourlyTemperature {
        hour_ms: hour(n - 4),
        mean_tenths_celsius: 150,
        lowest_tenths_celsius: 148,
        readings: 4,
    };
    let episode = testkit::log::publish(
        &h.store,
        "household",
        "HL01-0001",
        &intake::LowTemperatureDetected {
            episode_id: "t6-c0".into(),
            household: "HL01-0001".into(),
            route: Some(intake::Route {
                routed: true,
                supplier_id: "north-heat".into(),
                ..Default::default()
            }),
            sensor_ids: vec!["T-0001".into()],
            certified: true,
            standard_tenths_celsius: 180,
            hours: (0..4).map(cold).collect(),
            since_ms: hour(-4),
            detected_at_ms: hour(0),
        },
    )
    .await;
    opened(&h, "t6", "complaint", 1).await;
    let resolution = resolved(&h, "t6", 3, Cause::Supplier).await;
    h.caught_up().await;

    // The season's rules (2024.1) leave sensors out: heating quality keeps its 30 points.
    let score = h.score("north-heat", "").await;
    assert_eq!(points(&score, "heating_quality"), 30.0, "{score}");

    // Under 2028.1 the episode is the repair's only evidence of temperature, below 18 ℃.
    let north = north_what_if(&h, "2028.1").await;
    let quality: Vec<&Value> = north["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["dimension"] == "heating_quality")
        .collect();
    assert_eq!(quality.len(), 1, "{north}");
    assert_eq!(quality[0]["actual"], Value::Null);
    assert_eq!(quality[0]["what_if"], -30.0);
    assert_eq!(
        north["what_if_score"].as_f64().unwrap(),
        north["actual_score"].as_f64().unwrap() - 30.0
    );

    // The episode's evidence page shows the rolled-up hours and where the readings are.
    let evidence = h
        .api
        .get(
            &format!("/api/v1/credit/evidence/{episode}"),
            &h.regulator(),
        )
        .await;
    assert_eq!(evidence.status, 200, "{}", evidence.body);
    let body = &evidence.body;
    assert_eq!(
        body["message_type"],
        "heatline.intake.v1.LowTemperatureDetected"
    );
    let hours = body["sensor_hours"].as_array().unwrap();
    assert_eq!(hours.len(), 4);
    assert_eq!(hours[0]["mean_celsius"], 15.0);
    assert_eq!(hours[0]["lowest_celsius"], 14.8);
    assert_eq!(hours[0]["readings"], 4);
    assert_eq!(
        body["temperatures"],
        "/api/v1/complaints/t6-c0/temperatures"
    );
    assert!(
        body["fact"].as_str().unwrap().contains("SensorEpisode"),
        "{body}"
    );
    // A resolution's evidence page has no sensor hours.
    let plain = h
        .api
        .get(
            &format!("/api/v1/credit/evidence/{resolution}"),
            &h.regulator(),
        )
        .await;
    assert_eq!(plain.body["sensor_hours"], serde_json::json!([]));
    assert_eq!(plain.body["temperatures"], Value::Null);
}
