//! The whole life of a ticket through the HTTP API, with the clock moved by hand.

mod support;

use chrono::Duration;
use serde_json::json;
use support::{Harness, clock};

#[tokio::test]
async fn a_cold_home_goes_from_complaint_to_closed_ticket_with_every_step_on_its_timeline() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    let ticket = h.ticket(&id).await;
    assert_eq!(ticket["status"], "dispatched");
    assert_eq!(ticket["supplier_id"], "sup-north");
    assert_eq!(ticket["district"], "heping");
    assert_eq!(clock(&ticket, "sign", 1)["target"], "30 min");

    // The supplier signs 10 minutes later, with the version it saw.
    h.clock.advance(Duration::minutes(10));
    let supplier = h.supplier("sup-north");
    let version = ticket["version"].to_string();
    let signed = h
        .api
        .post_with(
            &format!("/api/v1/tickets/{id}/sign"),
            &supplier,
            &json!({}),
            &[("if-match", &format!("\"{version}\""))],
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(signed.body["status"], "signed");
    assert_eq!(signed.header("etag"), Some("\"3\""));

    let crew = h.crew_of("sup-north", "Heping crew 7").await;
    let assigned = h
        .act(&id, "assign", &supplier, json!({ "crew_id": crew }))
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    let crew_token = h.crew("sup-north", &crew);
    let jobs = h
        .api
        .get(&format!("/api/v1/crews/{crew}/jobs"), &crew_token)
        .await;
    assert_eq!(jobs.body["items"][0]["ticket_id"], id.as_str());

    h.clock.advance(Duration::minutes(50));
    let arrived = h
        .act(
            &id,
            "check-in",
            &crew_token,
            json!({"latitude": 41.79, "longitude": 123.43}),
        )
        .await;
    assert_eq!(arrived.status, 200, "{}", arrived.body);
    let reading =
        |celsius: f64| json!({"celsius": celsius, "room": "bedroom", "device_id": "THERM-0042"});
    assert_eq!(
        h.act(&id, "measurements", &crew_token, reading(16.0))
            .await
            .status,
        200
    );
    let too_early = h
        .act(
            &id,
            "resolve",
            &crew_token,
            json!({"cause": "supplier", "standard_met": true}),
        )
        .await;
    assert_eq!(
        (too_early.status, too_early.body["code"].as_str()),
        (422, Some("standard_not_met"))
    );

    h.clock.advance(Duration::minutes(90));
    assert_eq!(
        h.act(&id, "measurements", &crew_token, reading(19.0))
            .await
            .status,
        200
    );
    let resolved = h
        .act(
            &id,
            "resolve",
            &crew_token,
            json!({"cause": "supplier", "standard_met": true, "note": "air in the riser; bled and balanced"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);

    // Another resident cannot rate it; its own resident can.
    let stranger = h
        .act(
            &id,
            "feedback",
            &h.resident(2),
            json!({"rating": "satisfied"}),
        )
        .await;
    assert_eq!(stranger.status, 403);
    h.clock.advance(Duration::hours(2));
    let rated = h
        .act(
            &id,
            "feedback",
            &h.resident(1),
            json!({"rating": "satisfied", "comment": "warm now"}),
        )
        .await;
    assert_eq!(rated.status, 200, "{}", rated.body);
    assert_eq!(rated.body["status"], "closed");

    let ticket = h.ticket(&id).await;
    let events: Vec<&str> = ticket["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "TicketOpened",
            "TicketDispatched",
            "TicketSigned",
            "CrewAssigned",
            "CrewCheckedIn",
            "TemperatureMeasured",
            "TemperatureMeasured",
            "TicketResolved",
            "FeedbackGiven",
            "TicketClosed",
        ]
    );
    assert_eq!(ticket["timeline"][2]["actor_role"], "supplier_admin");
    assert_eq!(ticket["timeline"][4]["channel"], "app");
    let on_site = clock(&ticket, "on_site", 1);
    assert_eq!(
        (
            on_site["used_seconds"].as_i64(),
            on_site["breached"].as_bool()
        ),
        (Some(3000), Some(false))
    );
    let restore = clock(&ticket, "restore", 1);
    assert_eq!(restore["state"], "stopped");
    assert_eq!(restore["used_seconds"].as_i64(), Some(140 * 60));
    let resident = clock(&ticket, "resident", 1);
    assert_eq!(resident["used_seconds"].as_i64(), Some((150 + 120) * 60));
    assert_eq!(ticket["measurements"][0]["standard_met"], false);
    assert_eq!(ticket["measurements"][1]["celsius"], 19.0);
    // A closed ticket leaves the queue.
    let queue = h.api.get("/api/v1/tickets", &h.dispatcher()).await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_supplier_sees_only_its_tickets_and_a_crew_only_its_jobs() {
    let h = Harness::start().await;
    let north = h.file(1, "HL0100000001").await;
    let east = h.file(2, "SH800000001").await;
    h.ticket(&north).await;
    h.ticket(&east).await;
    let supplier = h.supplier("sup-north");
    let mine = h.api.get("/api/v1/tickets", &supplier).await;
    let ids: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [north.as_str()]);
    let theirs = h
        .api
        .get("/api/v1/suppliers/sup-east/tickets", &supplier)
        .await;
    assert_eq!(theirs.status, 403);
    let sign_theirs = h.act(&east, "sign", &supplier, json!({})).await;
    assert_eq!(sign_theirs.status, 403);
    let peek = h
        .api
        .get(&format!("/api/v1/tickets/{east}"), &supplier)
        .await;
    assert_eq!(peek.status, 404);
    // A crew cannot act on a job that is not its own.
    assert_eq!(
        h.act(&north, "sign", &supplier, json!({})).await.status,
        200
    );
    let crew = h.crew_of("sup-north", "crew A").await;
    let other = h.crew_of("sup-north", "crew B").await;
    h.act(&north, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    let intruder = h
        .act(
            &north,
            "check-in",
            &h.crew("sup-north", &other),
            json!({"latitude": 41.0, "longitude": 123.0}),
        )
        .await;
    assert_eq!(intruder.status, 403);
    // A crew of another supplier cannot be assigned.
    let east_crew = h.crew_of("sup-east", "east crew").await;
    for token in [supplier.clone(), h.dispatcher()] {
        let wrong = h
            .act(&north, "assign", &token, json!({"crew_id": east_crew}))
            .await;
        assert_eq!(wrong.status, 422);
        assert_eq!(wrong.body["details"][0]["code"], "crew_of_another_supplier");
    }
}

#[tokio::test]
async fn bad_commands_get_clear_errors_and_change_nothing() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    let ticket = h.ticket(&id).await;
    let supplier = h.supplier("sup-north");
    let cases = [
        ("return", json!({}), 422, "invalid_fields"),
        ("return", json!({"reason": 42}), 422, "invalid_body"),
        ("pause", json!({"reason": "lunch"}), 422, "invalid_fields"),
        (
            "resolve",
            json!({"cause": "supplier", "standard_met": false}),
            409,
            "invalid_transition",
        ),
        ("resume", json!({}), 409, "not_paused"),
    ];
    for (action, body, status, code) in cases {
        let reply = h.act(&id, action, &supplier, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (status, Some(code)),
            "{action} {body}"
        );
    }
    let malformed = h
        .api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/tickets/{id}/return"),
            Some(&supplier),
            Some("{\"reason\": ".into()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.body["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let bad_etag = h
        .api
        .post_with(
            &format!("/api/v1/tickets/{id}/sign"),
            &supplier,
            &json!({}),
            &[("if-match", "yesterday")],
        )
        .await;
    assert_eq!(
        (bad_etag.status, bad_etag.body["code"].as_str()),
        (400, Some("invalid_if_match"))
    );
    let missing = h
        .act(
            "00000000-0000-0000-0000-000000000000",
            "sign",
            &supplier,
            json!({}),
        )
        .await;
    assert_eq!(missing.status, 404);
    let resident = h.act(&id, "sign", &h.resident(1), json!({})).await;
    assert_eq!(resident.status, 403);
    assert_eq!(h.ticket(&id).await["version"], ticket["version"]);
}
