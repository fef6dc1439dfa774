//! A season of repairs in Xi'an: each household's days accrued once, whoever registered or
//! stopped heating when, and the refund rulebook as the public reads it.

use super::*;

fn expected_h1() -> Vec<(String, String, u64, i64)> {
    [
        ("2026-12-01", "refund.temperature", 50, 774),
        ("2026-12-02", "refund.temperature", 50, 774),
        ("2026-12-03", "refund.temperature", 20, 309),
        ("2026-12-05", "refund.temperature", 100, 1_547),
        ("2026-12-07", "refund.outage", 100, 1_547),
        ("2026-12-08", "refund.outage", 100, 1_547),
    ]
    .into_iter()
    .map(|(d, r, s, a)| (d.to_owned(), r.to_owned(), s, a))
    .collect()
}

/// The season: H1 called about the cold (15.2, 16.8, then 18.3 ℃) and again after the
/// repair (13.5 ℃); then its building had no heat for 13 hours (an incident), which reaches
/// H2 too; H3 was cold by its own radiators' fault.
async fn season(h: &Harness) {
    credit::refunds::households::import(
        h.store.pool(),
        &[home("hh-1", "b1"), home("hh-2", "b1"), home("hh-3", "b2")],
        Utc::now(),
    )
    .await
    .unwrap();
    // Counted at once (nothing yet): from now on the accruals count them.
    swept(h).await;
    h.publish(
        "c1",
        &intake::ComplaintAccepted {
            complaint_id: "c1".into(),
            category: intake::Category::LowTemperature.into(),
            source: intake::Source::App.into(),
            household: "hh-1".into(),
            route: route("b1"),
            filed_at_ms: dec(1, 9),
            filed_by: "resident-1".into(),
            ..Default::default()
        },
    )
    .await;
    opened(h, "t1", false, false, &["hh-1"], dec(1, 9)).await;
    measured(h, "t1", 1, dec(1, 10), 152).await;
    measured(h, "t1", 1, dec(2, 11), 168).await;
    measured(h, "t1", 1, dec(3, 15), 183).await;
    resolved(h, "t1", 1, dec(3, 16), dispatch::Cause::Supplier, &["hh-1"]).await;
    h.publish(
        "t1",
        &dispatch::TicketReopened {
            ticket_id: "t1".into(),
            supplier_id: "north-heat".into(),
            cycle: 2,
            reopened_at_ms: dec(5, 8),
        },
    )
    .await;
    measured(h, "t1", 2, dec(5, 9), 135).await;
    resolved(h, "t1", 2, dec(5, 18), dispatch::Cause::Supplier, &["hh-1"]).await;
    opened(h, "t2", true, true, &["hh-1"], dec(7, 20)).await;
    resolved(h, "t2", 1, dec(8, 9), dispatch::Cause::Supplier, &["hh-1"]).await;
    h.publish(
        "t3",
        &dispatch::TicketOpened {
            ticket_id: "t3".into(),
            origin: "complaint".into(),
            households: vec!["hh-3".into()],
            category: intake::Category::LowTemperature.into(),
            route: route("b2"),
            filed_at_ms: dec(4, 8),
            ..Default::default()
        },
    )
    .await;
    measured(h, "t3", 1, dec(4, 10), 120).await;
    resolved(
        h,
        "t3",
        1,
        dec(4, 12),
        dispatch::Cause::ResidentSide,
        &["hh-3"],
    )
    .await;
    accrued(h).await;
}

#[tokio::test]
async fn a_season_of_repairs_accrues_each_household_s_refund_once() {
    let mut h = Harness::start().await;
    season(&h).await;
    let path =
        |household: &str| format!("/api/v1/refunds/seasons/2026-2027/households/{household}");

    let one = h.api.get(&path("hh-1"), &h.supplier("north-heat")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(days(&one.body), expected_h1());
    assert_eq!(one.body["total_fen"], 6_498);
    assert_eq!(one.body["season_fee_fen"], 187_200);
    assert_eq!(one.body["repairs_open"], 0);
    assert_eq!(one.body["days"][0]["tier"], "14.0–16.0 ℃");
    assert_eq!(one.body["days"][0]["lowest_celsius"], 15.2);
    assert_eq!(one.body["days"][0]["version"], "xian-2024.1");
    assert_eq!(one.body["days"][4]["tickets"], serde_json::json!(["t2"]));

    // The incident reached the neighbour who never called.
    let two = h.api.get(&path("hh-2"), &h.regulator()).await;
    assert_eq!(two.status, 200, "{}", two.body);
    assert_eq!(days(&two.body), expected_h1()[4..].to_vec());
    // A resident-side cause counts for nothing.
    let three = h.api.get(&path("hh-3"), &h.regulator()).await;
    assert_eq!(three.body["days"], serde_json::json!([]));

    // Another supplier cannot read it; an unknown household is not found.
    let other = h.api.get(&path("hh-1"), &h.supplier("east-heat")).await;
    assert_eq!(other.status, 403, "{}", other.body);
    let unknown = h.api.get(&path("hh-9"), &h.regulator()).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    // The resident sees their own household's statement.
    let resident = h.token(Role::Resident, "resident-1", Scope::default());
    let mine = h
        .api
        .get("/api/v1/me/refunds?season=2026-2027", &resident)
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let statements = mine.body["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["household"], "hh-1");
    assert_eq!(statements[0]["total_fen"], 6_498);
    let bad = h.api.get("/api/v1/me/refunds?season=2026", &resident).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.body["details"][0]["field"], "season", "{}", bad.body);
    let stranger = h.token(Role::Resident, "resident-2", Scope::default());
    let none = h.api.get("/api/v1/me/refunds", &stranger).await;
    assert_eq!(none.body["statements"], serde_json::json!([]));

    // The supplier's liability, and the regulator's totals.
    let totals = h
        .api
        .get(
            "/api/v1/refunds/seasons/2026-2027/suppliers",
            &h.regulator(),
        )
        .await;
    assert_eq!(
        totals.body,
        serde_json::json!([{ "supplier_id": "north-heat", "households": 2, "days": 8, "amount_fen": 9_592 }])
    );
    let theirs = h
        .api
        .get(
            "/api/v1/refunds/seasons/2026-2027/suppliers",
            &h.supplier("east-heat"),
        )
        .await;
    assert_eq!(theirs.body, serde_json::json!([]));
    let homes = h
        .api
        .get(
            "/api/v1/refunds/seasons/2026-2027/households",
            &h.supplier("north-heat"),
        )
        .await;
    assert_eq!(homes.status, 200, "{}", homes.body);
    let homes: Vec<(String, i64, i64)> = homes
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["household"].as_str().unwrap().to_owned(),
                r["days"].as_i64().unwrap(),
                r["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        homes,
        vec![("hh-1".into(), 6, 6_498), ("hh-2".into(), 2, 3_094)]
    );
    let bad = h
        .api
        .get(
            "/api/v1/refunds/seasons/2026-2027/households?limit=0",
            &h.regulator(),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let export = h
        .api
        .get(
            "/api/v1/refunds/seasons/2026-2027/refunds.csv",
            &h.supplier("north-heat"),
        )
        .await;
    assert_eq!(export.status, 200);
    let client = h.store.pool().get().await.unwrap();
    let season = credit::domain::values::Season::parse("2026-2027").unwrap();
    let csv = credit::refunds::statement::csv(&client, season, Some("north-heat"))
        .await
        .unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 8, "{text}");
    assert!(
        text.contains(
            "north-heat,hh-1,2026-12-03,refund.temperature,16.0–18.0 ℃,20,309,xian-2024.1,t1,"
        ),
        "{text}"
    );

    // Four accruals were published: t1's two cycles, and t2's for each household.
    assert_eq!(accrual_events(&h).await, 4);
    let accrual = client
        .query_one(
            "SELECT payload FROM eventstore.published_event \
             WHERE message_type = 'heatline.credit.v1.RefundAccrued' ORDER BY global_position LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let message: contracts::credit::v1::RefundAccrued =
        prost::Message::decode(accrual.get::<_, Vec<u8>>(0).as_slice()).unwrap();
    assert_eq!(message.household, "hh-1");
    assert_eq!(message.amount_fen, 774 + 774 + 309);
    assert_eq!(message.season_total_fen, 1_857);
    assert_eq!(message.days.len(), 3);
    assert_eq!(message.days[0].evidence_event_ids.len(), 2);

    // The log handled again from the start accrues nothing more.
    h.background.take().unwrap().refund_accruals.stop().await;
    client
        .execute(
            "UPDATE credit.subscription_checkpoint SET tx_id = '0'::xid8, global_position = 0 \
             WHERE name = 'refund_accruals'",
            &[],
        )
        .await
        .unwrap();
    h.background = Some(h.credit.start().unwrap());
    accrued(&h).await;
    assert_eq!(accrual_events(&h).await, 4);
    let again = h.api.get(&path("hh-1"), &h.regulator()).await;
    assert_eq!(again.body["total_fen"], 6_498);

    // Under Harbin's rules (20 ℃, 48 hours) the same season: 1,022.95 fen a day over 183
    // days; the first spell ran 54 hours (whole days at 15.2, half at 16.8), the reopened
    // one 9 hours (nothing), the outage two whole days.
    let what_if = h
        .api
        .get(
            &format!("{}/what-if?version=harbin-2024.1", path("hh-1")),
            &h.regulator(),
        )
        .await;
    assert_eq!(what_if.status, 200, "{}", what_if.body);
    assert_eq!(
        days(&what_if.body),
        [
            ("2026-12-01", "refund.temperature", 100, 1_023),
            ("2026-12-02", "refund.temperature", 100, 1_023),
            ("2026-12-03", "refund.temperature", 50, 511),
            ("2026-12-07", "refund.outage", 100, 1_023),
            ("2026-12-08", "refund.outage", 100, 1_023),
        ]
        .into_iter()
        .map(|(d, r, s, a)| (d.to_owned(), r.to_owned(), s, a))
        .collect::<Vec<_>>()
    );
    assert_eq!(what_if.body["difference_fen"], 4_603 - 6_498);
    let unknown = h
        .api
        .get(
            &format!("{}/what-if?version=nope", path("hh-1")),
            &h.regulator(),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    let forbidden = h
        .api
        .get(
            &format!("{}/what-if?version=harbin-2024.1", path("hh-1")),
            &h.supplier("north-heat"),
        )
        .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
}

#[tokio::test]
async fn a_household_registered_after_its_repair_is_counted_once() {
    let h = Harness::start().await;
    opened(&h, "t5", false, false, &["hh-5"], dec(2, 8)).await;
    measured(&h, "t5", 1, dec(2, 9), 150).await;
    resolved(
        &h,
        "t5",
        1,
        dec(2, 17),
        dispatch::Cause::Supplier,
        &["hh-5"],
    )
    .await;
    accrued(&h).await;
    assert_eq!(accrual_events(&h).await, 0, "nobody was registered");
    credit::refunds::households::import(h.store.pool(), &[home("hh-5", "b2")], Utc::now())
        .await
        .unwrap();
    swept(&h).await;
    let path = "/api/v1/refunds/seasons/2026-2027/households/hh-5";
    let statement = h.api.get(path, &h.regulator()).await;
    assert_eq!(
        days(&statement.body),
        vec![(
            "2026-12-02".to_owned(),
            "refund.temperature".to_owned(),
            50,
            774
        )]
    );
    assert_eq!(accrual_events(&h).await, 1);
    // Imported again (the same basis): counted again, nothing more accrued.
    credit::refunds::households::import(h.store.pool(), &[home("hh-5", "b2")], Utc::now())
        .await
        .unwrap();
    swept(&h).await;
    assert_eq!(accrual_events(&h).await, 1);
    assert_eq!(h.api.get(path, &h.regulator()).await.body["total_fen"], 774);
}

#[tokio::test]
async fn a_household_stopped_for_the_season_pays_the_base_fee_until_restored() {
    let h = Harness::start().await;
    credit::refunds::households::import(h.store.pool(), &[home("hh-6", "b1")], Utc::now())
        .await
        .unwrap();
    let stopped = dispatch::HeatingStopped {
        application_id: "0190a5c4-0000-7000-8000-000000000006".into(),
        supplier_id: "north-heat".into(),
        household: "hh-6".into(),
        building_id: "b1".into(),
        season: "2026-2027".into(),
        base_fee_share_pct: 30,
        crew_id: "crew-1".into(),
        photo_sha256: "ab".repeat(32),
        done_at_ms: dec(1, 10),
    };
    h.publish("0190a5c4-0000-7000-8000-000000000006", &stopped)
        .await;
    let path = "/api/v1/refunds/seasons/2026-2027/households/hh-6";
    testkit::api::eventually("the household shows stopped", || async {
        h.api.get(path, &h.regulator()).await.body["heating_stopped"].is_object()
    })
    .await;
    let statement = h.api.get(path, &h.regulator()).await.body;
    // 80 m² × 23.40 yuan = 187,200 fen a season; 30 % of it.
    assert_eq!(statement["season_fee_fen"], 187_200);
    assert_eq!(statement["heating_stopped"]["base_fee_share_pct"], 30);
    assert_eq!(statement["heating_stopped"]["base_fee_fen"], 56_160);
    // Redelivered, then restored: the latest stands.
    h.publish("0190a5c4-0000-7000-8000-000000000006", &stopped)
        .await;
    h.publish(
        "0190a5c4-0000-7000-8000-000000000007",
        &dispatch::HeatingRestored {
            application_id: "0190a5c4-0000-7000-8000-000000000007".into(),
            supplier_id: "north-heat".into(),
            household: "hh-6".into(),
            building_id: "b1".into(),
            season: "2026-2027".into(),
            crew_id: "crew-1".into(),
            photo_sha256: "cd".repeat(32),
            done_at_ms: dec(20, 10),
        },
    )
    .await;
    testkit::api::eventually("the household shows heated again", || async {
        h.api.get(path, &h.regulator()).await.body["heating_stopped"].is_null()
    })
    .await;
}

#[tokio::test]
async fn the_refund_rulebook_is_public() {
    let h = Harness::start().await;
    let reply = h
        .api
        .send(
            reqwest::Method::GET,
            "/api/v1/refunds/rulebook",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["city"], "xian");
    assert_eq!(reply.body["current"], "xian-2024.1");
    let versions: Vec<&str> = reply.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "harbin-2024.1",
            "xian-2024.1",
            "harbin-2027.1",
            "xian-2027.1"
        ]
    );
    assert_eq!(reply.body["versions"][3]["sensor_hours"], true);
}
