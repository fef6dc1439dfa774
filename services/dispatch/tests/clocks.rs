//! SLA clocks through the API: breaches found by the durable timer across restarts, pauses
//! that move deadlines, reopened cycles, and returns that never reset the resident's clock.

mod support;

use chrono::Duration;
use serde_json::json;
use support::{Harness, clock};
use testkit::api::eventually;

#[tokio::test]
async fn a_deadline_that_passes_while_dispatch_is_down_is_breached_once_after_it_starts() {
    let mut h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    h.stop_dispatch().await;
    h.clock.advance(Duration::minutes(45));
    // Two instances come back at once; still one breach.
    h.start_dispatch_again();
    let second = dispatch::Dispatch::open(
        h.store.clone(),
        std::sync::Arc::new(h.clock.clone()),
        dispatch::DispatchConfig {
            timer_every: std::time::Duration::from_millis(20),
            ..dispatch::DispatchConfig::default()
        },
    )
    .start()
    .unwrap();
    eventually("the sign breach is recorded", || async {
        h.count(&id, "SlaBreached").await == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(h.sweep().await, 0);
    assert_eq!(h.count(&id, "SlaBreached").await, 1);
    drop(second);
    let ticket = h.ticket(&id).await;
    let sign = clock(&ticket, "sign", 1);
    assert_eq!(sign["breached"], true);
    assert!(sign["breach_recorded_at"].is_string());
    let breach = ticket["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "SlaBreached")
        .unwrap();
    assert_eq!(breach["actor_role"], "system");
    assert_eq!(breach["details"]["clock"], "sign");
    // The queue shows it overdue, first.
    let queue = h.api.get("/api/v1/tickets", &h.dispatcher()).await;
    assert_eq!(queue.body["items"][0]["breached"], true);
    assert!(queue.body["items"][0]["seconds_left"].as_i64().unwrap() < 0);
}

#[tokio::test]
async fn a_pause_moves_the_deadlines_of_the_clocks_it_stops() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    let supplier = h.supplier("sup-north");
    assert_eq!(h.act(&id, "sign", &supplier, json!({})).await.status, 200);
    let before = h.ticket(&id).await;
    let restore_deadline = |t: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(clock(t, "restore", 1)["deadline"].as_str().unwrap())
            .unwrap()
    };
    h.clock.advance(Duration::hours(1));
    let paused = h
        .act(
            &id,
            "pause",
            &supplier,
            json!({"reason": "resident_absent"}),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    h.clock.advance(Duration::hours(2));
    let during = h.ticket(&id).await;
    assert_eq!(clock(&during, "restore", 1)["state"], "paused");
    assert_eq!(
        clock(&during, "restore", 1)["left_seconds"].as_i64(),
        Some(7 * 3600)
    );
    assert_eq!(clock(&during, "resident", 1)["state"], "running");
    assert_eq!(h.act(&id, "resume", &supplier, json!({})).await.status, 200);
    let after = h.ticket(&id).await;
    assert_eq!(
        restore_deadline(&after) - restore_deadline(&before),
        Duration::hours(2)
    );
    assert_eq!(
        clock(&after, "restore", 1)["used_seconds"].as_i64(),
        Some(3600)
    );
    // Eight hours after signing the moved deadline has not passed yet.
    h.clock.advance(Duration::hours(5) + Duration::minutes(30));
    h.sweep().await;
    assert_eq!(
        h.count(&id, "SlaBreached").await,
        1,
        "only the on-site clock breached"
    );
    let ticket = h.ticket(&id).await;
    assert_eq!(clock(&ticket, "on_site", 1)["breached"], true);
    assert_eq!(clock(&ticket, "restore", 1)["breached"], false);
}

/// Waits for ticket `id`, has sup-north sign it and assign a new crew, and resolves it;
/// answers sup-north's token and the crew.
async fn signed_assigned_and_resolved(h: &Harness, id: &str) -> (String, String) {
    h.ticket(id).await;
    let supplier = h.supplier("sup-north");
    h.act(id, "sign", &supplier, json!({})).await;
    let crew = h.crew_of("sup-north", "crew 1").await;
    h.act(id, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    h.resolve(id, &crew).await;
    (supplier, crew)
}

#[tokio::test]
async fn an_unsatisfied_resident_reopens_the_ticket_as_a_new_cycle_with_new_clocks() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    let (supplier, crew) = signed_assigned_and_resolved(&h, &id).await;
    h.clock.advance(Duration::hours(3));
    let unhappy = h
        .act(
            &id,
            "feedback",
            &h.resident(1),
            json!({"rating": "unsatisfied", "comment": "cold again by evening"}),
        )
        .await;
    assert_eq!(unhappy.status, 200, "{}", unhappy.body);
    assert_eq!(
        unhappy.body["events"],
        json!(["FeedbackGiven", "TicketReopened"])
    );
    let ticket = h.ticket(&id).await;
    assert_eq!(
        (ticket["status"].as_str(), ticket["cycle"].as_u64()),
        (Some("dispatched"), Some(2))
    );
    assert_eq!(clock(&ticket, "sign", 2)["state"], "running");
    assert_eq!(clock(&ticket, "sign", 1)["state"], "stopped");
    assert_eq!(clock(&ticket, "callback", 1)["state"], "stopped");
    assert_eq!(
        clock(&ticket, "resident", 1)["state"],
        "running",
        "the resident's clock goes on"
    );
    // The second cycle needs its own measurement to be resolved as standard met.
    h.act(&id, "sign", &supplier, json!({})).await;
    h.act(&id, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    let crew_token = h.crew("sup-north", &crew);
    h.act(
        &id,
        "check-in",
        &crew_token,
        json!({"latitude": 41.8, "longitude": 123.4}),
    )
    .await;
    let unproven = h
        .act(
            &id,
            "resolve",
            &crew_token,
            json!({"cause": "supplier", "standard_met": true}),
        )
        .await;
    assert_eq!(unproven.body["code"], "standard_not_met");
}

#[tokio::test]
async fn a_chain_of_returns_never_stops_or_resets_the_residents_clock() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    let opened = h.ticket(&id).await;
    let dispatcher = h.dispatcher();
    h.clock.advance(Duration::minutes(5));
    let back = h
        .act(
            &id,
            "return",
            &h.supplier("sup-north"),
            json!({"reason": "this riser belongs to sup-east"}),
        )
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    let approved = h
        .act(&id, "return-review", &dispatcher, json!({"approve": true}))
        .await;
    assert_eq!(approved.body["status"], "opened");
    h.act(
        &id,
        "dispatch",
        &dispatcher,
        json!({"supplier_id": "sup-east"}),
    )
    .await;
    h.clock.advance(Duration::minutes(20));
    let again = h
        .act(
            &id,
            "return",
            &h.supplier("sup-east"),
            json!({"reason": "not ours either"}),
        )
        .await;
    assert_eq!(again.status, 200);
    let refused = h
        .act(&id, "return-review", &dispatcher, json!({"approve": false}))
        .await;
    assert_eq!(
        refused.body["details"][0]["field"], "note",
        "a refusal needs a note"
    );
    let refused = h
        .act(
            &id,
            "return-review",
            &dispatcher,
            json!({"approve": false, "note": "the survey says it is yours"}),
        )
        .await;
    assert_eq!(refused.body["status"], "dispatched");
    h.clock.advance(Duration::minutes(35));
    let ticket = h.ticket(&id).await;
    assert_eq!(ticket["supplier_id"], "sup-east");
    let resident = clock(&ticket, "resident", 1);
    assert_eq!(resident["state"], "running");
    assert_eq!(
        resident["started_at"],
        clock(&opened, "resident", 1)["started_at"]
    );
    assert_eq!(resident["used_seconds"].as_i64(), Some(60 * 60));
    // Three sign clocks ran; the last one is 35 minutes in and breached.
    let signs: Vec<_> = ticket["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["clock"] == "sign")
        .collect();
    assert_eq!(signs.len(), 3);
    h.sweep().await;
    assert_eq!(h.count(&id, "SlaBreached").await, 1);
}
