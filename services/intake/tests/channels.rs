//! The 12345 platform's signed pushes and the status sent back; Open311 GeoReport v2.

mod support;

use chrono::Duration;
use intake::hotline::{HotlineConfig, sign};
use intake::open311::Open311Key;
use platform::clock::Clock;
use serde_json::{Value, json};
use support::{Harness, Reply};
use testkit::fakes::FakeHotline;

const SECRET: &str = "shared-with-12345";
const API_KEY: &str = "civic-app-key-0123456789";

async fn push(h: &Harness, body: &Value, timestamp: i64, signature: Option<String>) -> Reply {
    let raw = serde_json::to_vec(body).unwrap();
    let signature = signature.unwrap_or_else(|| sign(SECRET, timestamp, &raw));
    h.send(
        reqwest::Method::POST,
        "/api/v1/hotline/12345/work-orders",
        None,
        Some(raw.into()),
        &[
            ("content-type", "application/json"),
            ("x-12345-timestamp", &timestamp.to_string()),
            ("x-12345-signature", &signature),
        ],
    )
    .await
}

fn work_order(no: &str) -> Value {
    json!({
        "work_order_no": no,
        "category": "no_heat",
        "caller_phone": "13900139000",
        "address": "和平区南京路100号3栋2单元101",
        "description": "caller says radiators are cold",
    })
}

async fn hotline_harness(platform: &FakeHotline) -> Harness {
    let url = platform.url();
    Harness::start_with(move |config| {
        let mut hotline = HotlineConfig::new(SECRET, Some(url));
        hotline.poll = std::time::Duration::from_millis(20);
        hotline.min_backoff = std::time::Duration::from_millis(50);
        hotline.max_backoff = std::time::Duration::from_millis(200);
        config.hotline = Some(hotline);
    })
    .await
}

#[actix_web::test]
async fn a_signed_work_order_is_filed_once_and_its_status_reaches_the_platform() {
    let platform = FakeHotline::start();
    let h = hotline_harness(&platform).await;
    let now = h.clock.now().timestamp();
    let first = push(&h, &work_order("WO-2026-0001"), now, None).await;
    assert_eq!(first.status, 201, "{}", first.body);
    // The platform retries (a lost answer): the same answer, nothing new stored.
    let again = push(&h, &work_order("WO-2026-0001"), now, None).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(h.complaint_rows().await, 1);

    h.eventually("the platform was told the order was signed", || async {
        platform.received().len() == 1
    })
    .await;
    let got = &platform.received()[0];
    assert_eq!(got.work_order, "WO-2026-0001");
    assert_eq!(got.body["status"], "signed");
    assert_eq!(got.idempotency_key, got.body["event_id"].as_str().unwrap());
    let ts: i64 = got.timestamp.parse().unwrap();
    assert_eq!(got.signature, sign(SECRET, ts, &got.raw));

    // Rejected: the platform hears "returned", with the reason.
    let id = first.body["complaint_id"].as_str().unwrap();
    let operator = h.token(platform::auth::Role::Operator, "op-1");
    let rejected = h
        .post(
            &format!("/api/v1/complaints/{id}/reject"),
            &operator,
            &json!({"reason": "not a heating matter: a gas smell, passed to 119"}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    h.eventually("the platform was told the order was returned", || async {
        platform.received().len() == 2
    })
    .await;
    assert_eq!(platform.received()[1].body["status"], "returned");
    assert!(
        platform.received()[1].body["note"]
            .as_str()
            .unwrap()
            .contains("gas smell")
    );
}

#[actix_web::test]
async fn a_push_with_a_stale_or_forged_signature_is_refused_and_stores_nothing() {
    let platform = FakeHotline::start();
    let h = hotline_harness(&platform).await;
    let now = h.clock.now().timestamp();
    let body = work_order("WO-2026-0002");
    let raw = serde_json::to_vec(&body).unwrap();
    // A captured push replayed six minutes later.
    let captured = sign(SECRET, now, &raw);
    h.clock.advance(Duration::minutes(6));
    let replayed = push(&h, &body, now, Some(captured.clone())).await;
    assert_eq!(
        (replayed.status, replayed.body["code"].as_str()),
        (401, Some("signature_expired"))
    );
    // The signature of one body on another.
    let now = h.clock.now().timestamp();
    let forged = push(
        &h,
        &work_order("WO-2026-0003"),
        now,
        Some(sign(SECRET, now, &raw)),
    )
    .await;
    assert_eq!(
        (forged.status, forged.body["code"].as_str()),
        (401, Some("signature_invalid"))
    );
    let wrong_key = push(&h, &body, now, Some(sign("guessed", now, &raw))).await;
    assert_eq!(wrong_key.body["code"], "signature_invalid");
    let unsigned = h
        .send(
            reqwest::Method::POST,
            "/api/v1/hotline/12345/work-orders",
            None,
            Some(raw.clone().into()),
            &[],
        )
        .await;
    assert_eq!(unsigned.body["code"], "signature_missing");
    let mut incomplete = work_order("WO 2026/4");
    incomplete.as_object_mut().unwrap().remove("caller_phone");
    let bad = push(&h, &incomplete, now, None).await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["work_order_no", "caller_phone"]);
    assert_eq!(h.complaint_rows().await, 0);
    assert_eq!(h.event_rows().await, 0);
}

#[actix_web::test]
async fn status_updates_wait_in_the_outbox_while_the_platform_is_down_and_arrive_in_order() {
    let platform = FakeHotline::start();
    platform.set_down(true);
    let h = hotline_harness(&platform).await;
    let now = h.clock.now().timestamp();
    let filed = push(&h, &work_order("WO-2026-0005"), now, None).await;
    let id = filed.body["complaint_id"].as_str().unwrap().to_owned();
    let operator = h.token(platform::auth::Role::Operator, "op-1");
    h.post(
        &format!("/api/v1/complaints/{id}/reject"),
        &operator,
        &json!({"reason": "duplicate of a gas report"}),
    )
    .await;
    h.eventually("the platform refused a few deliveries", || async {
        platform.refused() >= 3
    })
    .await;
    assert!(platform.received().is_empty());
    platform.set_down(false);
    h.eventually("both updates arrived", || async {
        platform.received().len() == 2
    })
    .await;
    let statuses: Vec<Value> = platform
        .received()
        .iter()
        .map(|p| p.body["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("signed"), json!("returned")]);
    let pool = h.store.pool().clone();
    h.eventually("the outbox is empty", || {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.unwrap();
            let pending: i64 = client
                .query_one(
                    "SELECT count(*) FROM intake.hotline_outbox WHERE delivered_at IS NULL",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            pending == 0
        }
    })
    .await;
}

async fn open311_harness() -> Harness {
    Harness::start_with(|config| {
        config.open311_keys = vec![Open311Key {
            name: "civic-app".into(),
            key: API_KEY.into(),
        }];
    })
    .await
}

async fn form_post(h: &Harness, path: &str, pairs: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(pairs).unwrap();
    h.send(
        reqwest::Method::POST,
        path,
        None,
        Some(body.into()),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
}

#[actix_web::test]
async fn an_open311_client_lists_services_files_a_request_and_reads_it_back() {
    let h = open311_harness().await;
    let services = h
        .send(
            reqwest::Method::GET,
            "/open311/v2/services.json",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(services.status, 200);
    let codes: Vec<&str> = services
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"low_temperature"));
    let definition = h
        .send(
            reqwest::Method::GET,
            "/open311/v2/services/low_temperature.json",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(definition.body["attributes"][0]["code"], "room_temperature");

    let filed = form_post(
        &h,
        "/open311/v2/requests.json",
        &[
            ("api_key", API_KEY),
            ("service_code", "low_temperature"),
            ("address_string", "沈河区北站路8号1单元1201"),
            ("attribute[room_temperature]", "14.5"),
            ("description", "14.5 degrees in the living room"),
            ("phone", "13700137000"),
        ],
    )
    .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let id = filed.body[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let one = h
        .send(
            reqwest::Method::GET,
            &format!("/open311/v2/requests/{id}.json"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body[0]["status"], "open");
    assert_eq!(one.body[0]["service_code"], "low_temperature");
    assert_eq!(one.body[0]["agency_responsible"], "sup-east");
    // Public: the building, not the flat; no phone, no free text.
    assert_eq!(one.body[0]["address"], "沈河区北站路8号");
    assert!(!one.body.to_string().contains("13700137000"));
    assert!(one.body[0]["description"].is_null(), "{}", one.body);
    // The client that filed it reads its own words back with its key.
    let own = h
        .send(
            reqwest::Method::GET,
            &format!("/open311/v2/requests/{id}.json?api_key={API_KEY}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(
        own.body[0]["description"],
        "14.5 degrees in the living room"
    );
    let forged = h
        .send(
            reqwest::Method::GET,
            &format!("/open311/v2/requests/{id}.json?api_key=not-the-key"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(forged.status, 403);
    // A resident's filing in the app is listed without its words, even to a client with a key.
    let app = h
        .post(
            "/api/v1/complaints",
            &h.resident(7),
            &json!({"category": "no_heat", "address": "沈河区北站路8号2单元301",
                    "description": "my neighbour is away and the riser is cold"}),
        )
        .await;
    assert_eq!(app.status, 201, "{}", app.body);
    let everything = h
        .send(
            reqwest::Method::GET,
            &format!("/open311/v2/requests.json?api_key={API_KEY}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(everything.body.as_array().unwrap().len(), 2);
    assert!(!everything.body.to_string().contains("neighbour"));

    let listed = h
        .send(
            reqwest::Method::GET,
            "/open311/v2/requests.json?status=open&service_code=low_temperature",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let closed = h
        .send(
            reqwest::Method::GET,
            "/open311/v2/requests.json?status=closed",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(closed.body, json!([]));
    let token = h
        .send(
            reqwest::Method::GET,
            &format!("/open311/v2/tokens/{id}.json"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(token.body[0]["service_request_id"], id.as_str());

    let xml = h
        .api
        .http
        .get(format!("{}/open311/v2/requests/{id}.xml", h.base))
        .send()
        .await
        .unwrap();
    assert!(
        xml.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let text = xml.text().await.unwrap();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><service_requests><request>"),
        "{text}"
    );
    assert!(text.contains(&format!("<service_request_id>{id}</service_request_id>")));
}

#[actix_web::test]
async fn open311_posts_without_a_key_or_with_an_unknown_service_are_refused_in_the_spec_shape() {
    let h = open311_harness().await;
    let no_key = form_post(
        &h,
        "/open311/v2/requests.json",
        &[
            ("service_code", "no_heat"),
            ("lat", "41.8"),
            ("long", "123.4"),
        ],
    )
    .await;
    assert_eq!(no_key.status, 403);
    assert_eq!(no_key.body[0]["code"], 403);
    assert!(
        no_key.body[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("api_key_missing:")
    );
    let wrong_key = form_post(
        &h,
        "/open311/v2/requests.json",
        &[
            ("api_key", "nope-nope-nope-nope"),
            ("service_code", "no_heat"),
            ("lat", "41.8"),
            ("long", "123.4"),
        ],
    )
    .await;
    assert!(
        wrong_key.body[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("api_key_invalid:")
    );
    let unknown = form_post(
        &h,
        "/open311/v2/requests.json",
        &[
            ("api_key", API_KEY),
            ("service_code", "potholes"),
            ("lat", "41.8"),
            ("long", "123.4"),
        ],
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("service_code_unknown:")
    );
    let nowhere = form_post(
        &h,
        "/open311/v2/requests.json",
        &[("api_key", API_KEY), ("service_code", "no_heat")],
    )
    .await;
    assert!(
        nowhere.body[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("location_required:")
    );
    let xml = h
        .send(
            reqwest::Method::POST,
            "/open311/v2/requests.xml",
            None,
            Some("service_code=no_heat".into()),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(xml.status, 403);
    let missing = h
        .send(
            reqwest::Method::GET,
            "/open311/v2/services/potholes.json",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(h.complaint_rows().await, 0);
    // A position alone is accepted, unrouted.
    let by_position = form_post(
        &h,
        "/open311/v2/requests.json",
        &[
            ("api_key", API_KEY),
            ("service_code", "no_heat"),
            ("lat", "41.80"),
            ("long", "123.43"),
        ],
    )
    .await;
    assert_eq!(by_position.status, 201, "{}", by_position.body);
}
