//! A whole winter story through the public API, against the four services as separate
//! processes behind Debian's nginx with the repository's gateway configuration, and against
//! `heatline serve` in one process: a resident logs in through WeChat and reports a cold home,
//! which the 12345 platform also pushes; a dispatcher registers and assigns a crew; the crew
//! measures 16 ℃, repairs, measures 19 ℃ and resolves; the resident rates it; the 12345
//! platform gets its status pushes; the supplier's credit ledger shows the entries with the
//! events behind them; the resident's refund statement shows the cold day at its tier; the
//! resident applies to stop heating next winter and the crew seals the valve.

mod support;

use std::process::Command;

use chrono::Utc;
use serde_json::{Value, json};
use support::{Gateway, Server, data_dir, login, registries_and_admin, season_now, staff};
use testkit::api::{Api, Reply, eventually};
use testkit::fakes::{FakeHotline, FakeWechat};

const SECRET: &str = "shared-with-12345";
const ADDRESS: &str = "南岗区学府路100号1栋2单元301";

/// A refund rulebook whose heating season is the whole accounting year, so that today is a
/// heating day whenever the tests run.
const REFUND_RULES: &str = r#"{"versions": [{
  "version": "all-year.1", "city": "testville", "effective_from": "2020-06-30T16:00:00Z",
  "summary": "Xi'an's tiers over the whole year", "standard_celsius": 18.0,
  "heating_starts": "07-01", "heating_ends": "06-30",
  "tiers": [{"from_celsius": 16.0, "share_pct": 20}, {"from_celsius": 14.0, "share_pct": 50},
            {"from_celsius": null, "share_pct": 100}],
  "after_hours_below": 0, "late_start_within_days": 7, "outage_min_hours": 12,
  "whole_day_share_pct": 100}]}"#;

/// What both topologies share: a database with the registries and the first admin, and the
/// outside parties.
struct World {
    db: testkit::TestDb,
    dir: std::path::PathBuf,
    wechat: FakeWechat,
    hotline: FakeHotline,
}

impl World {
    async fn new(name: &str) -> World {
        let db = testkit::TestDb::new().await;
        let dir = data_dir(name);
        registries_and_admin(
            db.url(),
            &dir,
            "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n\
             NG-0101,nangang,NG-S01,harbin-heat,南岗区学府路100号1栋,NG0101,5200\n",
            "supplier_id,name,districts,heated_area_m2,contact\n\
             harbin-heat,Harbin Heat Co.,nangang,2500000,0451-8888-0000\n",
            "a long first password",
        );
        // The home's fee basis, keyed by its address as its complaints are: 80 m² at 23.40
        // yuan a season.
        let households = dir.join("households.csv");
        std::fs::write(
            &households,
            format!(
                "address,building_id,heated_area_m2,price_yuan_per_m2\n{ADDRESS},NG-0101,80,23.40\n"
            ),
        )
        .unwrap();
        let printed = support::heatline(
            db.url(),
            &["import", "households", households.to_str().unwrap()],
        );
        assert_eq!(printed.trim(), "1 households imported");
        std::fs::write(dir.join("refunds.json"), REFUND_RULES).unwrap();
        World {
            db,
            dir,
            wechat: FakeWechat::start(),
            hotline: FakeHotline::start(),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "HEATLINE_WECHAT_BASE_URL",
                self.wechat.base_url().to_owned(),
            ),
            ("HEATLINE_WECHAT_APPID", testkit::fakes::WECHAT_APPID.into()),
            (
                "HEATLINE_WECHAT_SECRET",
                testkit::fakes::WECHAT_SECRET.into(),
            ),
            ("HEATLINE_HOTLINE_SECRET", SECRET.into()),
            ("HEATLINE_HOTLINE_URL", self.hotline.url()),
            (
                "HEATLINE_REFUND_RULEBOOK",
                self.dir.join("refunds.json").display().to_string(),
            ),
            ("HEATLINE_REFUND_CITY", "testville".into()),
            (
                "HEATLINE_WECHAT_TEMPLATES",
                "repair=TPL-REPAIR,stop_heating=TPL-STOP".into(),
            ),
        ]
    }

    fn start(&self, args: &[&str], extra: &[(&str, &str)]) -> Server {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        Server::start_with(Some(self.db.url()), &self.dir, args, &all)
    }
}

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
async fn story(world: &World, public: &str) {
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

#[tokio::test]
async fn a_winter_story_runs_through_the_gateway_with_each_service_in_its_own_process() {
    let world = World::new("winter-split").await;
    let identity = world.start(&["--only", "identity"], &[]);
    let jwks = format!("{}/.well-known/jwks.json", identity.base);
    let keys = [("HEATLINE_JWKS_URL", jwks.as_str())];
    let intake = world.start(&["--only", "intake"], &keys);
    let dispatch = world.start(&["--only", "dispatch"], &keys);
    let credit = world.start(&["--only", "credit"], &keys);
    let gateway = Gateway::start(
        &world.dir,
        &identity.base,
        &intake.base,
        &dispatch.base,
        &credit.base,
    );
    story(&world, &gateway.base).await;
    // Swagger UI, through the gateway, as a browser renders it from the whole API's document.
    let page = support::rendered(&format!("{}/docs/", gateway.base));
    assert!(page.contains("class=\"title\">Heatline"), "{page}");
    assert!(page.contains("/api/v1/credit/seasons/{season}/ranking"));
    assert!(page.contains("/api/v1/tickets/{id}/resolve"));
    drop(gateway);
    for server in [credit, dispatch, intake, identity] {
        assert!(server.terminate().success());
    }
    let _ = std::fs::remove_dir_all(&world.dir);
}

#[tokio::test]
async fn the_same_winter_story_runs_against_one_process() {
    let world = World::new("winter-one").await;
    let server = world.start(&[], &[]);
    story(&world, &server.base).await;

    // The read models are rebuilt from the streams while the server runs, to the same rows.
    let snapshot = |sql: &'static str| {
        let db = &world.db;
        async move {
            let client = db.connect().await;
            let rows = client.query(sql, &[]).await.unwrap();
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    let ledger_sql = "SELECT concat_ws('|', entry_id, supplier_id, season, sequence, dimension, \
                      rule, points, evidence::text, at) FROM credit.entry ORDER BY entry_id";
    let queue_sql = "SELECT concat_ws('|', ticket_id, status, supplier_id, crew_id, version) \
                     FROM dispatch.ticket ORDER BY ticket_id";
    let refunds_sql = "SELECT concat_ws('|', season, household, day, supplier_id, rule, tier, \
                       share_pct, amount_fen, version, evidence::text, accrued_at) \
                       FROM credit.refund_day ORDER BY season, household, day";
    let (ledger, queue) = (snapshot(ledger_sql).await, snapshot(queue_sql).await);
    let refunds = snapshot(refunds_sql).await;
    assert!(!ledger.is_empty() && !queue.is_empty() && !refunds.is_empty());
    for name in ["credit.ledger", "dispatch.queue", "credit.refunds"] {
        let printed = support::heatline(world.db.url(), &["projections", "rebuild", name]);
        assert!(printed.contains("rebuilt"), "{printed}");
    }
    assert_eq!(snapshot(ledger_sql).await, ledger);
    assert_eq!(snapshot(queue_sql).await, queue);
    assert_eq!(snapshot(refunds_sql).await, refunds);
    let unknown = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["projections", "rebuild", "intake.everything"])
        .env("DATABASE_URL", world.db.url())
        .env("HEATLINE_MASTER_KEY", support::MASTER_KEY)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("credit.ledger"));
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&world.dir);
}

#[test]
fn heatline_demo_fills_a_fresh_database_through_the_api_and_refuses_a_used_one() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(testkit::TestDb::new());
    let demo = || {
        Command::new(env!("CARGO_BIN_EXE_heatline"))
            .args(["demo", "--complaints", "90"])
            .env("DATABASE_URL", db.url())
            .env("HEATLINE_MASTER_KEY", support::MASTER_KEY)
            .env("RUST_LOG", "off")
            .output()
            .unwrap()
    };
    let first = demo();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(printed.contains("Credit ranking"), "{printed}");
    let statuses: Vec<String> = runtime.block_on(async {
        let client = db.connect().await;
        client
            .query(
                "SELECT DISTINCT status FROM dispatch.ticket ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    for status in [
        "closed",
        "crew_assigned",
        "dispatched",
        "on_site",
        "resolved",
        "returned",
        "signed",
    ] {
        assert!(
            statuses.iter().any(|s| s == status),
            "{status} in {statuses:?}"
        );
    }
    let ranked: i64 = runtime.block_on(async {
        let client = db.connect().await;
        client
            .query_one("SELECT count(*) FROM credit.standing", &[])
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(ranked, 3);
    let again = demo();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("fills a fresh one"));
}
