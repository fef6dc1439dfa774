//! One ticket per complaint or incident, whatever intake sends and however often; and two
//! dispatchers who act at once.

mod support;

use platform::clock::Clock;
use serde_json::json;
use support::Harness;
use testkit::api::eventually;

#[tokio::test]
async fn two_concurrent_assignments_with_the_same_version_never_both_win() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    let supplier = h.supplier("sup-north");
    let signed = h.act(&id, "sign", &supplier, json!({})).await;
    let etag = signed.header("etag").unwrap().to_owned();
    let first = h.crew_of("sup-north", "crew A").await;
    let second = h.crew_of("sup-north", "crew B").await;
    let path = format!("/api/v1/tickets/{id}/assign");
    let dispatcher = h.dispatcher();
    let assign = |crew: String| {
        let (api, path, token, etag) = (
            h.api.clone(),
            path.clone(),
            dispatcher.clone(),
            etag.clone(),
        );
        tokio::spawn(async move {
            api.post_with(
                &path,
                &token,
                &json!({ "crew_id": crew }),
                &[("if-match", &etag)],
            )
            .await
        })
    };
    let (a, b) = tokio::join!(assign(first.clone()), assign(second.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.body, b.body);
    let loser = if a.status == 412 { &a } else { &b };
    assert_eq!(loser.body["code"], "precondition_failed");
    assert_eq!(loser.body["details"]["current_version"], 4);
    let (winner, name) = if a.status == 200 {
        (first, "crew A")
    } else {
        (second, "crew B")
    };
    let ticket = h.ticket(&id).await;
    assert_eq!(ticket["crew_id"], winner.as_str());
    assert_eq!(ticket["crew_name"], name);
    assert_eq!(h.count(&id, "CrewAssigned").await, 1);
}

#[tokio::test]
async fn a_repeat_complaint_of_the_household_attaches_to_its_ticket() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    // The same household files again from another phone: intake merges, dispatch attaches.
    let repeat = h.file(2, "HL0100000001").await;
    assert_eq!(repeat, id, "intake answers the open complaint's id");
    let ticket = h.ticket_at(&id, 3).await;
    assert_eq!(ticket["complaints"].as_array().unwrap().len(), 2);
    assert_eq!(ticket["timeline"][2]["event"], "ComplaintAttached");
    let client = h.store.pool().get().await.unwrap();
    let tickets: i64 = client
        .query_one("SELECT count(*) FROM dispatch.ticket", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tickets, 1);
}

#[tokio::test]
async fn an_incident_of_twenty_households_is_one_ticket_carrying_all_of_them() {
    let h = Harness::start().await;
    let client = h.store.pool().get().await.unwrap();
    let incident_ticket = || async {
        client
            .query_opt(
                "SELECT ticket_id::text, households FROM dispatch.ticket WHERE origin = 'incident'",
                &[],
            )
            .await
            .unwrap()
            .map(|row| (row.get::<_, String>(0), row.get::<_, i32>(1)))
    };
    // Five cold homes of one building declare the incident.
    let mut complaints = Vec::new();
    for n in 1..=5 {
        complaints.push(h.file(n, &format!("HL01{n:08}")).await);
    }
    eventually(
        "the incident's ticket carries the first 5 households",
        || async {
            incident_ticket()
                .await
                .is_some_and(|(_, households)| households == 5)
        },
    )
    .await;
    // Filed while it is open, the next fifteen go straight onto its ticket.
    for n in 6..=20 {
        complaints.push(h.file(n, &format!("HL01{n:08}")).await);
    }
    eventually("the incident's ticket carries 20 households", || async {
        incident_ticket()
            .await
            .is_some_and(|(_, households)| households == 20)
    })
    .await;
    let (incident, _) = incident_ticket().await.unwrap();
    let ticket = h.ticket(&incident).await;
    assert_eq!(ticket["origin"], "incident");
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["supplier_id"], "sup-north");
    let mut carried: Vec<String> = ticket["complaints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["complaint_id"].as_str().unwrap().to_owned())
        .collect();
    carried.sort();
    let mut all = complaints.clone();
    all.sort();
    assert_eq!(carried, all);
    // The first five opened tickets of their own, merged into it and gone from the queue;
    // the later ones never had one (nothing was sent to the supplier twice).
    eventually("the first five's own tickets are merged", || async {
        let row = client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE status = 'closed'), \
                        count(*) FILTER (WHERE is_open) \
                 FROM dispatch.ticket WHERE origin = 'complaint'",
                &[],
            )
            .await
            .unwrap();
        (
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
        ) == (5, 5, 0)
    })
    .await;
    let late = h
        .api
        .get(
            &format!("/api/v1/tickets/{}", complaints[19]),
            &h.dispatcher(),
        )
        .await;
    assert_eq!(late.status, 404, "{}", late.body);
    // Each complaint leads to the incident's ticket (complaints attached one by one are each
    // written once, not with every event of the ticket).
    let leads: Vec<String> = client
        .query(
            "SELECT DISTINCT ticket_id::text FROM dispatch.ticket_complaint \
             WHERE complaint_id = ANY($1::text[]::uuid[])",
            &[&complaints],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(leads, vec![incident.clone()]);
    let own = h.ticket(&complaints[0]).await;
    assert_eq!(
        (own["outcome"].as_str(), own["merged_into"].as_str()),
        (Some("merged"), Some(incident.as_str()))
    );
    // The late ones' acceptances name the incident whose ticket they were put on: that is
    // their membership's record.
    let named: i64 = client
        .query_one(
            "SELECT count(*) FROM eventstore.event WHERE event_type = 'ComplaintAccepted' \
             AND payload->'Accepted'->>'joins_incident' = $1",
            &[&incident],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(named, 15);
    let queue = h.api.get("/api/v1/tickets", &h.dispatcher()).await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(queue.body["items"][0]["households"], 20);
}

#[tokio::test]
async fn redelivered_intake_events_open_no_second_ticket() {
    let mut h = Harness::start().await;
    let first = h.file(1, "HL0100000001").await;
    let second = h.file(2, "HL0200000002").await;
    h.ticket(&first).await;
    h.ticket(&second).await;
    h.stop_dispatch().await;
    let client = h.store.pool().get().await.unwrap();
    let events = || async {
        client
            .query_one(
                "SELECT count(*) FROM eventstore.event WHERE aggregate_type = 'ticket'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = events().await;
    // Everything intake ever published comes again.
    client
        .execute(
            "UPDATE dispatch.subscription_checkpoint SET tx_id = '0', global_position = 0 \
             WHERE name = $1",
            &[&dispatch::feed::NAME],
        )
        .await
        .unwrap();
    h.start_dispatch_again();
    let third = h.file(3, "SH800000003").await;
    h.ticket(&third).await;
    assert_eq!(
        events().await,
        before + 2,
        "only the new complaint's ticket was opened"
    );
    let count: i64 = client
        .query_one("SELECT count(*) FROM dispatch.ticket", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 3);
}

#[tokio::test]
async fn a_stations_network_leak_is_one_urgent_ticket_with_the_leak_on_site_target() {
    const SECRET: &str = "shared-with-the-sensor-platform";
    let h = Harness::start_with(|c| c.readings.secret = Some(SECRET.into())).await;
    let pseudonyms = intake::privacy::pseudonyms(h.store.pool(), &testkit::master_key())
        .await
        .unwrap();
    let now = h.clock.now();
    let sensors = intake::sensors::read(
        h.store.pool(),
        &pseudonyms,
        "sensor_id,kind,station,installed_on\nS-HP-S1,station,HP-S1,2026-10-20\n".as_bytes(),
        now.date_naive(),
    )
    .await
    .unwrap();
    intake::sensors::import(h.store.pool(), &sensors, now)
        .await
        .unwrap();
    // An hour at 500 kPa and 100 m³/h, then five minutes at 400 kPa and 130 m³/h.
    let readings: Vec<serde_json::Value> = (-60..=0)
        .map(|minute| {
            let at = now + chrono::Duration::minutes(minute);
            let dropped = minute > -5;
            json!({
                "sensor_id": "S-HP-S1",
                "at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "supply_c": 80.0, "return_c": 45.0,
                "pressure_kpa": if dropped { 400.0 } else { 500.0 },
                "flow_m3h": if dropped { 130.0 } else { 100.0 },
            })
        })
        .collect();
    let raw = serde_json::to_vec(&json!({ "readings": readings })).unwrap();
    let signature = intake::hotline::sign(SECRET, now.timestamp(), &raw);
    let pushed = h
        .api
        .send(
            reqwest::Method::POST,
            "/api/v1/sensors/readings",
            None,
            Some(raw.into()),
            &[
                ("content-type", "application/json"),
                ("x-heatline-timestamp", &now.timestamp().to_string()),
                ("x-heatline-signature", &signature),
            ],
        )
        .await;
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    let pass = h.intake.watch_network().await.unwrap();
    assert_eq!(pass.opened.len(), 1, "{pass:?}");
    let complaint = pass.opened[0].to_string();

    let client = h.store.pool().get().await.unwrap();
    let open_tickets = || async {
        client
            .query(
                "SELECT ticket_id::text, origin FROM dispatch.ticket WHERE is_open",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect::<Vec<_>>()
    };
    eventually("one open ticket: the station's incident", || async {
        let open = open_tickets().await;
        open.len() == 1 && open[0].1 == "incident"
    })
    .await;
    let (incident, _) = open_tickets().await.remove(0);
    let ticket = h.ticket(&incident).await;
    assert_eq!(ticket["category"], "leak", "{ticket}");
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["supplier_id"], "sup-north");
    assert_eq!(ticket["complaints"][0]["complaint_id"], complaint);
    let supplier = h.supplier("sup-north");
    let signed = h.act(&incident, "sign", &supplier, json!({})).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let ticket = h.ticket(&incident).await;
    let on_site = support::clock(&ticket, "on_site", 1);
    let deadline = chrono::DateTime::parse_from_rfc3339(on_site["deadline"].as_str().unwrap())
        .unwrap()
        .to_utc();
    assert_eq!(
        deadline - h.clock.now(),
        chrono::Duration::minutes(30),
        "the leak SLA: on site within 30 minutes of signing"
    );
}
