//! What an operator watches and the settings that change how `heatline serve` serves: the
//! Grafana dashboard's metrics, a database outage, the calendar's end, the sandbox.

use std::process::Command;

use super::support::{Server, data_dir, login, user_create};

/// The metrics the Grafana dashboard's queries name (a histogram by its family name).
pub fn dashboard_metrics() -> std::collections::BTreeSet<String> {
    let dashboard: serde_json::Value = serde_json::from_str(include_str!(
        "../../deploy/grafana/dashboards/heatline.json"
    ))
    .unwrap();
    let mut names = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("heatline_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                let family = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name)
                    .to_owned();
                names.insert(family);
            }
        }
    }
    assert!(
        names.len() >= 5,
        "the dashboard queries Heatline's metrics: {names:?}"
    );
    names
}

#[tokio::test]
async fn while_postgresql_is_down_requests_answer_503_to_retry_and_work_again_once_it_is_back() {
    let root = data_dir("outage-postgres");
    let options = localpg::ClusterOptions::default();
    let cluster =
        StopsOnDrop(localpg::Cluster::start(&root, &options).expect("a private cluster starts"));
    let cluster = &cluster.0;
    let url = cluster.url("postgres");
    let created = user_create(
        &url,
        &["--username", "city.admin", "--role", "admin"],
        "a long first password\n",
    );
    assert!(created.status.success(), "{created:?}");
    let dir = data_dir("outage");
    let server = Server::start(Some(&url), &dir);
    assert_eq!(server.ready().await.0, 200);
    let http = reqwest::Client::new();
    let admin = login(&http, &server.base, "city.admin", "a long first password").await;
    let create = |username: &'static str| {
        let request = http
            .post(format!("{}/api/v1/staff", server.base))
            .bearer_auth(&admin)
            .json(&serde_json::json!({
                "username": username, "password": "winter is coming", "role": "operator",
            }));
        async move { request.send().await.unwrap() }
    };
    assert_eq!(create("before.outage").await.status(), 201);

    cluster.stop().expect("the cluster stops");
    let refused = create("during.outage").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable");
    let login_refused = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({"username": "city.admin", "password": "a long first password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login_refused.status(), 503);
    // Open311 answers in its own shape, in the format the path asked for.
    let open311 = http
        .get(format!("{}/open311/v2/requests.xml", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(open311.status(), 503);
    assert!(
        open311.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert!(
        open311
            .text()
            .await
            .unwrap()
            .contains("<errors><error><code>503</code>")
    );
    assert_eq!(server.ready().await.0, 503, "not ready while it lasts");

    cluster.restart(&options).expect("the cluster starts again");
    testkit::api::eventually("the server is ready again", || async {
        server.ready().await.0 == 200
    })
    .await;
    assert_eq!(create("after.outage").await.status(), 201);
    drop(server);
}

/// A private cluster of a test, stopped however the test ends.
struct StopsOnDrop(localpg::Cluster);

impl Drop for StopsOnDrop {
    fn drop(&mut self) {
        let _ = self.0.stop();
        let _ = std::fs::remove_dir_all(self.0.root());
    }
}

#[tokio::test]
async fn a_working_day_calendar_near_its_end_is_reported_before_it_ends() {
    use chrono::Datelike;
    let db = testkit::TestDb::new().await;
    let year = chrono::Utc::now().year();
    for (last_year, status, days_left_sign) in
        [(year - 1, "degraded", "-"), (year + 2, "ready", "")]
    {
        let dir = data_dir(&format!("calendar-{last_year}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("calendar.csv");
        std::fs::write(
            &file,
            format!("date,kind,name\n{last_year}-10-01,holiday,National Day\n"),
        )
        .unwrap();
        let server = Server::start_with(
            Some(db.url()),
            &dir,
            &["--workday-calendar", file.to_str().unwrap()],
            &[],
        );
        let (code, body) = server.ready().await;
        assert_eq!(
            (code, body["status"].as_str()),
            (200, Some(status)),
            "{body}"
        );
        let calendar = body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "calendar")
            .unwrap()
            .clone();
        assert_eq!(calendar["advisory"], true);
        if status == "degraded" {
            let detail = calendar["detail"].as_str().unwrap();
            assert!(
                detail.contains(&format!("ended on {last_year}-12-31")),
                "{detail}"
            );
        }
        let metrics = reqwest::get(format!("{}/metrics", server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains(&format!("heatline_calendar_days_left {days_left_sign}"))
                && !metrics.contains(&format!(
                    "heatline_calendar_days_left {}",
                    if days_left_sign.is_empty() { "-" } else { "0" }
                )),
            "{metrics}"
        );
        assert!(server.terminate().success());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn the_sandbox_logs_residents_in_through_stand_ins_and_only_on_loopback() {
    let db = testkit::TestDb::new().await;
    let dir = data_dir("sandbox");
    let server = Server::start_with(Some(db.url()), &dir, &["--sandbox"], &[]);
    assert_eq!(server.ready().await.0, 200);
    let http = reqwest::Client::new();
    let login = |code: &'static str| {
        http.post(format!("{}/api/v1/auth/wechat", server.base))
            .json(&serde_json::json!({ "code": code }))
            .send()
    };
    let li = login("sandbox-li").await.unwrap();
    assert_eq!(li.status().as_u16(), 200);
    let tokens: serde_json::Value = li.json().await.unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
    // The same name is the same resident; a code that is not a sandbox code is refused.
    assert_eq!(tokens["role"], "resident");
    let again: serde_json::Value = login("sandbox-li").await.unwrap().json().await.unwrap();
    let filed = http
        .post(format!("{}/api/v1/complaints", server.base))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"category": "no_heat", "address": "和平区南京路100号1栋101"}))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status().as_u16(), 201);
    let mine: serde_json::Value = http
        .get(format!("{}/api/v1/complaints", server.base))
        .bearer_auth(again["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");
    let wrong = login("081aXc").await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    // An SMS code goes to the log rather than a gateway: asking for one is accepted.
    let sms = http
        .post(format!("{}/api/v1/auth/sms/code", server.base))
        .json(&serde_json::json!({ "phone": "13800138000" }))
        .send()
        .await
        .unwrap();
    assert!(sms.status().is_success(), "{}", sms.status());
    assert!(server.terminate().success());

    let public = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["serve", "--sandbox", "--addr", "0.0.0.0:0"])
        .env("DATABASE_URL", db.url())
        .env("HEATLINE_MASTER_KEY", super::support::MASTER_KEY)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!public.status.success());
    assert!(
        String::from_utf8_lossy(&public.stderr).contains("loopback"),
        "{}",
        String::from_utf8_lossy(&public.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_process_is_not_ready_until_its_subscriptions_reach_the_log_as_it_was_at_start() {
    use contracts::dispatch::v1 as dispatch;
    let db = testkit::TestDb::new().await;
    let dir = data_dir("catching-up");
    // A first run makes every subscription's checkpoint.
    let first = Server::start(Some(db.url()), &dir);
    assert_eq!(first.ready().await.0, 200);
    assert!(first.terminate().success());

    // While it was down a ticket was opened, and another instance took credit's ledger feed
    // and hangs on it.
    let store = eventstore::PgEventStore::new(&db.config());
    let id = uuid::Uuid::now_v7().to_string();
    let ticket = dispatch::TicketOpened {
        ticket_id: id.clone(),
        origin: "complaint".into(),
        complaint_ids: vec![id.clone()],
        ..Default::default()
    };
    testkit::log::publish(&store, "ticket", &id, &ticket).await;
    let other = db.connect().await;
    other
        .execute(
            "SELECT pg_advisory_lock(hashtext('heatline.subscription'), \
             hashtext('credit.ledger_feed'))",
            &[],
        )
        .await
        .unwrap();

    let server = Server::start(Some(db.url()), &dir);
    // The event is seconds old, well within the minute a running subscription may lag; but
    // the feed has not reached the log as it was when this process started.
    let (status, body) = server.ready().await;
    assert_eq!(status, 503, "{body}");
    let feed = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "subscription credit.ledger_feed")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(feed["ok"], false, "{body}");
    assert!(
        feed["detail"]
            .as_str()
            .unwrap()
            .starts_with("catching up with the log as it was at start: 1 events behind"),
        "{body}"
    );

    // The other instance lets go; this one takes the feed, catches up and is ready.
    drop(other);
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}
