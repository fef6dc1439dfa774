//! The winter story itself, told through whichever address the test gives: the same steps
//! and checks whether the services run behind the gateway or in one process.

use super::*;

async fn ok(reply: Reply, what: &str) -> Value {
    assert!(
        (200..300).contains(&reply.status),
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    reply.body
}

/// The story, through `public`.
pub(crate) async fn story(world: &World, public: &str) {
    let api = Api::new(public);
    // The whole API's document and Swagger UI, from whichever process the gateway picks.
    let document = api
        .http
        .get(format!("{public}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), 200);
    let document: Value = document.json().await.unwrap();
    assert_eq!(document["info"]["title"], "Heatline");
    assert!(document["paths"]["/api/v1/credit/seasons/{season}/ranking"].is_object());
    let docs = api
        .http
        .get(format!("{public}/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
    let initializer = api
        .http
        .get(format!("{public}/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    let admin = login(&api.http, public, "city.admin", "a long first password").await;
    let dispatcher = staff(
        &api,
        &admin,
        json!({"username": "li.dispatch", "password": "winter is coming", "role": "dispatcher", "district": "nangang"}),
    )
    .await;
    let supplier = staff(
        &api,
        &admin,
        json!({"username": "harbin.admin", "password": "keep them warm", "role": "supplier_admin", "supplier": "harbin-heat"}),
    )
    .await;
    let regulator = staff(
        &api,
        &admin,
        json!({"username": "zhao.regulator", "password": "every point counts", "role": "regulator"}),
    )
    .await;

    // A resident logs in through WeChat and reports a cold home.
    world.wechat.code("wx-code-1", "openid-resident-1");
    let session = ok(
        api.send(
            reqwest::Method::POST,
            "/api/v1/auth/wechat",
            None,
            Some(
                serde_json::to_vec(&json!({"code": "wx-code-1"}))
                    .unwrap()
                    .into(),
            ),
            &[("content-type", "application/json")],
        )
        .await,
        "WeChat login",
    )
    .await;
    let resident = session["access_token"].as_str().unwrap().to_owned();
    // The mini-program asked before filing, and the resident allowed four repair messages.
    let allowed = ok(
        api.post(
            "/api/v1/me/notifications/subscriptions",
            &resident,
            &json!({"family": "repair", "accepted": 4}),
        )
        .await,
        "subscribe",
    )
    .await;
    assert_eq!(allowed["subscriptions"]["repair"], 4, "{allowed}");
    let filed = ok(
        api.post(
            "/api/v1/complaints",
            &resident,
            &json!({
                "category": "low_temperature",
                "address": ADDRESS,
                "room_temperature": 15.5,
                "description": "the bedroom radiator is cold since yesterday",
                "contact_phone": "13800138000",
            }),
        )
        .await,
        "filing",
    )
    .await;
    let id = filed["complaint_id"].as_str().unwrap().to_owned();

    // The same home called 12345; the platform's work order joins the resident's complaint.
    let order = serde_json::to_vec(&json!({
        "work_order_no": "12345-2026-000777",
        "category": "low_temperature",
        "caller_phone": "13800138000",
        "address": ADDRESS,
        "description": "caller reports 15 degrees in the bedroom",
    }))
    .unwrap();
    let now = Utc::now().timestamp();
    let signature = intake::hotline::sign(SECRET, now, &order);
    let pushed = ok(
        api.send(
            reqwest::Method::POST,
            "/api/v1/hotline/12345/work-orders",
            None,
            Some(order.into()),
            &[
                ("content-type", "application/json"),
                ("x-12345-timestamp", &now.to_string()),
                ("x-12345-signature", &signature),
            ],
        )
        .await,
        "12345 push",
    )
    .await;
    assert_eq!(pushed["complaint_id"], id.as_str(), "{pushed}");

    let ticket_path = format!("/api/v1/tickets/{id}");
    eventually("the ticket carries both reports", || async {
        let reply = api.get(&ticket_path, &dispatcher).await;
        reply.status == 200 && reply.body["complaints"].as_array().map(Vec::len) == Some(2)
    })
    .await;

    // The supplier signs and registers a crew; a dispatcher assigns it.
    let act = |action: &str| format!("/api/v1/tickets/{id}/{action}");
    ok(api.post(&act("sign"), &supplier, &json!({})).await, "sign").await;
    let crew = ok(
        api.post(
            "/api/v1/crews",
            &supplier,
            &json!({"name": "Nangang crew 3", "supplier_id": "harbin-heat", "district": "nangang"}),
        )
        .await,
        "crew",
    )
    .await;
    let crew_id = crew["crew_id"].as_str().unwrap().to_owned();
    ok(
        api.post(&act("assign"), &dispatcher, &json!({"crew_id": crew_id}))
            .await,
        "assign",
    )
    .await;
    let member = staff(
        &api,
        &admin,
        json!({"username": "sun.fitter", "password": "bleed the radiators", "role": "crew", "supplier": "harbin-heat", "crew": crew_id}),
    )
    .await;

    // The crew checks in, measures 16 ℃, repairs, measures 19 ℃ and resolves.
    ok(
        api.post(
            &act("check-in"),
            &member,
            &json!({"latitude": 45.72, "longitude": 126.64}),
        )
        .await,
        "check in",
    )
    .await;
    for celsius in [16.0, 19.0] {
        ok(
            api.post(
                &act("measurements"),
                &member,
                &json!({"celsius": celsius, "room": "bedroom", "device_id": "TM-0451-17"}),
            )
            .await,
            "measure",
        )
        .await;
    }
    ok(
        api.post(
            &act("resolve"),
            &member,
            &json!({"cause": "supplier", "standard_met": true, "note": "air in the riser, bled"}),
        )
        .await,
        "resolve",
    )
    .await;

    // The resident was told each step in WeChat; the last message asks whether it is warm
    // now and opens the ticket's verdict, and the tap lands as feedback.
    let verdict = |m: &Value| {
        m["page"]
            .as_str()
            .is_some_and(|p| p.contains("verdict=ask"))
    };
    eventually("the resident is told the repair is done", || async {
        world.wechat.messages().iter().any(verdict)
    })
    .await;
    let resolved = world.wechat.messages().into_iter().find(verdict).unwrap();
    assert_eq!(resolved["touser"], "openid-resident-1", "{resolved}");
    assert_eq!(resolved["template_id"], "TPL-REPAIR", "{resolved}");
    let page = resolved["page"].as_str().unwrap();
    assert!(page.contains(&format!("id={id}")), "{page}");
    let told: Vec<Value> = world.wechat.messages();
    let steps: Vec<&str> = told
        .iter()
        .filter(|m| m["touser"] == "openid-resident-1")
        .filter_map(|m| m["data"]["phrase1"]["value"].as_str())
        .collect();
    assert_eq!(steps, ["已受理", "已派工", "已到场", "已修复"], "{told:?}");
    ok(
        api.post(&act("feedback"), &resident, &json!({"rating": "satisfied"}))
            .await,
        "feedback",
    )
    .await;
    let ticket = api.get(&ticket_path, &dispatcher).await.body;
    assert_eq!(ticket["status"], "closed", "{ticket}");
    let mine = api
        .get(&format!("/api/v1/complaints/{id}"), &resident)
        .await;
    assert_eq!(mine.status, 200);

    // The 12345 platform got signed, replied and finished for its work order.
    eventually("the 12345 platform has every status", || async {
        let statuses: Vec<String> = world
            .hotline
            .received()
            .iter()
            .filter(|p| p.work_order == "12345-2026-000777")
            .filter_map(|p| p.body["status"].as_str().map(str::to_owned))
            .collect();
        ["signed", "replied", "finished"]
            .iter()
            .all(|s| statuses.iter().any(|got| got == s))
    })
    .await;

    // The supplier's ledger shows the entries, each with the events behind it.
    let season = season_now();
    let ledger_path = format!("/api/v1/credit/seasons/{season}/suppliers/harbin-heat/ledger");
    eventually("the supplier's ledger has the ticket's entries", || async {
        let reply = api.get(&ledger_path, &supplier).await;
        reply.status == 200
            && reply.body["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|e| e["dimension"] == "heating_quality"))
    })
    .await;
    let ledger = api.get(&ledger_path, &supplier).await.body;
    let quality = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["dimension"] == "heating_quality")
        .unwrap()
        .clone();
    // One of two measurements at 18 ℃: 30 × 1/2.
    assert_eq!(quality["points"], -15.0, "{quality}");
    assert_eq!(quality["tickets"][0]["id"], id.as_str());
    let mut kinds = Vec::new();
    for link in quality["evidence"].as_array().unwrap() {
        let event = ok(
            api.get(link["href"].as_str().unwrap(), &regulator).await,
            "evidence",
        )
        .await;
        assert_eq!(event["aggregate_id"], id.as_str());
        kinds.push(event["message_type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        kinds,
        [
            "heatline.dispatch.v1.TemperatureMeasured",
            "heatline.dispatch.v1.TemperatureMeasured",
            "heatline.dispatch.v1.TicketResolved",
        ]
    );
    let score = ok(
        api.get(
            &format!("/api/v1/credit/seasons/{season}/suppliers/harbin-heat"),
            &regulator,
        )
        .await,
        "score",
    )
    .await;
    assert!(score["score"].as_f64().unwrap() < 100.0, "{score}");
    let ranking = ok(
        api.get(
            &format!("/api/v1/credit/seasons/{season}/ranking"),
            &regulator,
        )
        .await,
        "ranking",
    )
    .await;
    assert_eq!(ranking[0]["supplier_id"], "harbin-heat");

    // The resident's refund: 16 ℃ was in force today until the repair, the 16–18 ℃ tier: a
    // fifth of a day's fee (80 m² × 23.40 yuan over the season's days), in fen.
    let statement = |reply: Reply| reply.body["statements"][0].clone();
    eventually("the resident's refund is accrued", || async {
        statement(api.get("/api/v1/me/refunds", &resident).await)["total_fen"]
            .as_i64()
            .is_some_and(|fen| fen > 0)
    })
    .await;
    let mine = statement(api.get("/api/v1/me/refunds", &resident).await);
    let first: i32 = season[..4].parse().unwrap();
    let days = (chrono::NaiveDate::from_ymd_opt(first + 1, 7, 1).unwrap()
        - chrono::NaiveDate::from_ymd_opt(first, 7, 1).unwrap())
    .num_days();
    let fifth = (8_000 * 2_340 * 20 + 10_000 * days / 2) / (10_000 * days);
    assert_eq!(mine["days"].as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine["days"][0]["tier"], "16.0–18.0 ℃", "{mine}");
    assert_eq!(mine["days"][0]["amount_fen"], fifth, "{mine}");
    assert_eq!(mine["days"][0]["tickets"][0], id.as_str());
    let owed = ok(
        api.get(
            &format!("/api/v1/refunds/seasons/{season}/suppliers"),
            &supplier,
        )
        .await,
        "refunds owed",
    )
    .await;
    assert_eq!(owed[0]["amount_fen"], fifth, "{owed}");

    // The resident will be away next winter and applies to stop heating; the supplier
    // approves with its crew, which seals the valve and photographs it.
    let next = format!("{}-{}", first + 1, first + 2);
    let applied = ok(
        api.post(
            "/api/v1/me/stop-heating-applications",
            &resident,
            &json!({"kind": "stop", "season": next, "reason": "away", "address": ADDRESS}),
        )
        .await,
        "stop-heating application",
    )
    .await;
    let application = applied["application_id"].as_str().unwrap().to_owned();
    let case = format!("/api/v1/stop-heating/applications/{application}");
    eventually("the application reaches the supplier", || async {
        api.get(&case, &supplier).await.status == 200
    })
    .await;
    ok(
        api.post(
            &format!("{case}/reply"),
            &supplier,
            &json!({"decision": "approve", "crew_id": crew_id, "note": "we seal it in October"}),
        )
        .await,
        "approval",
    )
    .await;
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.extend_from_slice(b"a sealed valve");
    let sealed = api
        .send(
            reqwest::Method::POST,
            &format!("{case}/valve-work"),
            Some(&member),
            Some(photo.into()),
            &[("content-type", "image/jpeg")],
        )
        .await;
    assert_eq!(ok(sealed, "valve work").await["status"], "done");
    eventually("the resident sees the home stopped", || async {
        let mine = api
            .get("/api/v1/me/stop-heating-applications", &resident)
            .await;
        mine.body[0]["status"] == "done"
    })
    .await;
}
