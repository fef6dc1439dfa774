//! `heatline serve` as a user runs it: a real process, real HTTP, a real PostgreSQL.

mod support;

// What an operator watches and the settings that change how it serves.
#[path = "serve/operations.rs"]
mod operations;

// More than one instance of every service behind the gateway.
#[path = "serve/instances.rs"]
mod instances;

use std::process::Command;
use std::time::Duration;

use support::{Gateway, Server, data_dir, user_create};

#[tokio::test]
async fn serve_without_a_database_url_starts_a_private_postgresql_and_stops_it_on_sigterm() {
    let dir = data_dir("private");
    let server = Server::start(None, &dir);
    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    support::assert_serving(&body);
    let pid_file = dir.join("postgres/pgdata/postmaster.pid");
    assert!(
        pid_file.exists(),
        "the private cluster runs under the data folder"
    );

    let exit = server.terminate();
    assert!(exit.success(), "{exit:?}");
    assert!(
        !pid_file.exists(),
        "the private cluster is stopped with the server"
    );

    // A second start reuses the same cluster and its data.
    let again = Server::start(None, &dir);
    assert_eq!(again.ready().await.0, 200);
    assert!(again.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_with_a_database_url_migrates_that_database_and_reports_ready() {
    let db = testkit::TestDb::new().await;
    let dir = data_dir("url");
    let server = Server::start(Some(db.url()), &dir);
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    support::assert_serving(&body);
    let checks = body["checks"].as_array().unwrap();
    for subscription in [
        "dispatch.intake_feed",
        "intake.incidents",
        "intake.dispatch_news",
    ] {
        let name = format!("subscription {subscription}");
        assert!(checks.iter().any(|c| c["name"] == name), "{name} in {body}");
    }
    assert!(
        !dir.join("postgres").exists(),
        "no private cluster when a URL is given"
    );
    // A path nothing serves answers in the error shape too.
    let (status, nothing) = server.get("/api/v2/nothing").await;
    assert_eq!(
        (status, nothing["code"].as_str()),
        (404, Some("no_such_path"))
    );
    // Prometheus metrics: the request just made, and every subscription's lag.
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        r#"heatline_http_request_duration_seconds_count{method="GET",route="/readyz",status="200"} 1"#,
        r#"heatline_subscription_lag_events{subscription="dispatch.intake_feed"}"#,
        r#"heatline_subscription_lag_seconds{subscription="intake.incidents"}"#,
    ] {
        assert!(metrics.contains(expected), "{expected} in {metrics}");
    }
    // Every metric the shipped Grafana dashboard queries is there, on a quiet day too.
    for name in operations::dashboard_metrics() {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "the dashboard queries {name}, which /metrics does not have:\n{metrics}"
        );
    }
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_with_an_unreachable_database_exits_with_a_clear_error() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{free_port}/none"),
        )
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("connecting to PostgreSQL"), "{stderr}");
}

#[tokio::test]
async fn the_first_admin_created_from_the_command_line_logs_in_through_the_served_api() {
    let db = testkit::TestDb::new().await;
    let created = user_create(
        db.url(),
        &["--username", "city.admin", "--role", "admin"],
        "a long first password\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).starts_with("created account "));

    let again = user_create(
        db.url(),
        &["--username", "City.Admin", "--role", "admin"],
        "another password\n",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
    let no_password = user_create(db.url(), &["--username", "x.admin", "--role", "admin"], "");
    assert!(!no_password.status.success());
    assert!(String::from_utf8_lossy(&no_password.stderr).contains("no password"));
    let bad_role = user_create(
        db.url(),
        &["--username", "x.admin", "--role", "mayor"],
        "a long password\n",
    );
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));

    let dir = data_dir("login");
    let server = Server::start(Some(db.url()), &dir);
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({ "username": "city.admin", "password": "a long first password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().expect("logged in");
    let logout = http
        .post(format!("{}/api/v1/auth/logout", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 204);
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_household_file_is_refused_whole_naming_its_bad_line() {
    let db = testkit::TestDb::new().await;
    let dir = data_dir("households");
    support::registries_and_admin(
        db.url(),
        &dir,
        support::BUILDINGS_CSV,
        support::SUPPLIERS_CSV,
        "a long first password",
    );
    let header = "account_no,address,building_id,heated_area_m2,price_yuan_per_m2\n";
    let good = "NG0101-0001,,NG-0101,80,23.40\n,南岗区学府路100号1栋1单元101,NG-0101,64.5,23.40\n";
    let file = dir.join("households.csv");
    let import = |rows: &str| {
        std::fs::write(&file, format!("{header}{rows}")).unwrap();
        support::heatline_output(db.url(), &["import", "households", file.to_str().unwrap()])
    };
    for (rows, reason) in [
        (
            format!("{good}NG0101-0002,,NG-0999,80,23.40\n"),
            "line 4: building NG-0999 is not in the building registry",
        ),
        (
            format!("{good}ng0101 0001,,NG-0101,70,23.40\n"),
            "line 4: this home appears twice (first on line 2)",
        ),
        (
            format!("{good},,NG-0101,70,23.40\n"),
            "line 4: each line needs an account_no or an address",
        ),
        (
            format!("{good}NG0101-0003,,NG-0101,0,23.40\n"),
            "line 4: heated_area_m2 must be above 0",
        ),
        (format!("{good}NG0101-0003,,NG-0101,80,free\n"), "line 4"),
    ] {
        let refused = import(&rows);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{rows}");
        assert!(stderr.contains(reason), "{reason}: {stderr}");
    }
    let client = db.connect().await;
    let count = |client: tokio_postgres::Client| async move {
        client
            .query_one("SELECT count(*) FROM credit.refund_household", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(count(client).await, 0, "a refused file stores nothing");
    let imported = import(good);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&imported.stdout).trim(),
        "2 households imported"
    );
    assert_eq!(count(db.connect().await).await, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keys_rotate_adds_a_published_key_beside_the_current_one() {
    let db = testkit::TestDb::new().await;
    let heatline = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_heatline"))
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("HEATLINE_MASTER_KEY", support::MASTER_KEY)
            .env("RUST_LOG", "off")
            .output()
            .unwrap()
    };
    let before = heatline(&["keys", "list"]);
    assert!(before.status.success());
    assert_eq!(
        String::from_utf8_lossy(&before.stdout).lines().count(),
        1,
        "the first key"
    );
    let rotated = heatline(&["keys", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).starts_with("added key "));
    let after = heatline(&["keys", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&after.stdout).lines().count(),
        2,
        "old and new both published"
    );
}

#[tokio::test]
async fn each_service_runs_in_its_own_process_behind_the_nginx_gateway() {
    let db = testkit::TestDb::new().await;
    let dir = data_dir("split");
    let buildings = dir.join("buildings.csv");
    std::fs::write(&buildings, support::BUILDINGS_CSV).unwrap();
    // Without the supplier in the supplier registry, the buildings are refused, naming it.
    let refused = support::heatline_output(
        db.url(),
        &["import", "buildings", buildings.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("lacks: harbin-heat"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let suppliers = dir.join("suppliers.csv");
    std::fs::write(&suppliers, support::SUPPLIERS_CSV).unwrap();
    support::heatline(
        db.url(),
        &["import", "suppliers", suppliers.to_str().unwrap()],
    );
    support::heatline(
        db.url(),
        &["import", "buildings", buildings.to_str().unwrap()],
    );
    let created = user_create(
        db.url(),
        &["--username", "city.admin", "--role", "admin"],
        "a long first password\n",
    );
    assert!(created.status.success());

    let identity = Server::start_with(Some(db.url()), &dir, &["--only", "identity"], &[]);
    let jwks = format!("{}/.well-known/jwks.json", identity.base);
    let env = [("HEATLINE_JWKS_URL", jwks.as_str())];
    let intake = Server::start_with(Some(db.url()), &dir, &["--only", "intake"], &env);
    let dispatch = Server::start_with(Some(db.url()), &dir, &["--only", "dispatch"], &env);
    let credit = Server::start_with(Some(db.url()), &dir, &["--only", "credit"], &env);
    // The console is a client of the API through the gateway, as the apps are.
    let port = support::free_port();
    let api = format!("http://127.0.0.1:{port}");
    let console = Server::start_with(
        Some(db.url()),
        &dir,
        &["--only", "console"],
        &[("HEATLINE_API_URL", api.as_str())],
    );

    let gateway = Gateway::start_at(
        port,
        &dir,
        [
            &identity.base,
            &intake.base,
            &dispatch.base,
            &credit.base,
            &console.base,
        ],
    );
    let public = gateway.base.as_str();
    let http = reqwest::Client::new();
    let operator = support::hotline_operator(&http, public).await;

    // Intake takes the call, verifying the token with identity's published keys.
    let filed = http
        .post(format!("{public}/api/v1/hotline/complaints"))
        .bearer_auth(&operator)
        .header("x-request-id", "call-0001")
        .json(&serde_json::json!({
            "category": "no_heat",
            "address": "南岗区学府路100号1栋2单元301",
            "caller_phone": "13800138000",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status().as_u16(), 201);
    assert_eq!(filed.headers()["x-request-id"], "call-0001");
    let filed: serde_json::Value = filed.json().await.unwrap();
    let id = filed["complaint_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{filed}"));

    // Dispatch, in another process, opened the ticket from intake's published event.
    let mut ticket = serde_json::Value::Null;
    for _ in 0..200 {
        let response = http
            .get(format!("{public}/api/v1/tickets/{id}"))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap();
        if response.status().is_success() {
            ticket = response.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ticket["status"], "dispatched", "{ticket}");
    // The request's id is in the metadata of the event it caused, and of dispatch's events
    // that followed from it.
    let client = db.connect().await;
    let ids: Vec<String> = client
        .query(
            "SELECT DISTINCT metadata->>'request_id' FROM eventstore.event \
             WHERE aggregate_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .filter_map(|row| row.get::<_, Option<String>>(0))
        .collect();
    assert_eq!(
        ids,
        ["call-0001"],
        "complaint and ticket events name the call"
    );
    assert_eq!(ticket["supplier_id"], "harbin-heat");

    // Each process serves only its own routes.
    let elsewhere = http
        .get(format!("{}/api/v1/tickets", intake.base))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404);
    let ready: serde_json::Value = http
        .get(format!("{public}/services/dispatch/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    support::assert_serving(&ready);
    let checks = ready["checks"].to_string();
    assert!(
        checks.contains("migrations dispatch")
            && checks.contains("subscription dispatch.intake_feed")
            && !checks.contains("migrations intake")
            && !checks.contains("subscription intake."),
        "{checks}"
    );

    let unknown = http
        .get(format!("{public}/api/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let ready: serde_json::Value = http
        .get(format!("{public}/services/credit/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    support::assert_serving(&ready);
    assert!(
        ready["checks"]
            .to_string()
            .contains("subscription credit.ledger_feed"),
        "{ready}"
    );
    // The console, in its own process, signs the operator in through the gateway and shows
    // their page from the API's answers.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = no_redirects
        .get(format!("{public}/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let mut cookies = support::cookies(&page);
    assert!(page.text().await.unwrap().contains("登录"));
    let csrf = cookies["hl_csrf"].clone();
    let signed_in = no_redirects
        .post(format!("{public}/console/login"))
        .header("cookie", support::cookie_header(&cookies))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "wang.hotline"),
            ("password", "answer every call"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(signed_in.headers()["location"], "/console/hotline");
    cookies.extend(support::cookies(&signed_in));
    let hotline = no_redirects
        .get(format!("{public}/console/hotline?phone=13800138000"))
        .header("cookie", support::cookie_header(&cookies))
        .send()
        .await
        .unwrap();
    assert_eq!(hotline.status().as_u16(), 200);
    let hotline = hotline.text().await.unwrap();
    assert!(
        hotline.contains("热线受理") && hotline.contains(id),
        "{hotline}"
    );

    drop(gateway);
    for server in [console, credit, dispatch, intake, identity] {
        assert!(server.terminate().success());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_service_without_identity_needs_its_key_set() {
    let output = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["serve", "--addr", "127.0.0.1:0", "--only", "dispatch"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env_remove("HEATLINE_JWKS_URL")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HEATLINE_JWKS_URL"), "{stderr}");
}

#[test]
fn heatline_config_shows_every_setting_with_its_source_and_hides_secrets() {
    let dir = data_dir("config");
    let file = dir.join("heatline.env");
    std::fs::write(
        &file,
        "# settings\nHEATLINE_ADDR=0.0.0.0:9000\nHEATLINE_HOTLINE_SECRET=do-not-print-me\n",
    )
    .unwrap();
    let run = |extra: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_heatline"))
            .arg("--config")
            .arg(&file)
            .arg("config")
            .env_remove("DATABASE_URL")
            .env_remove("HEATLINE_ADDR")
            .env_remove("HEATLINE_HOTLINE_SECRET")
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    let output = run(&[("HEATLINE_MERGE_WINDOW_HOURS", "12")]);
    assert!(output.status.success());
    let shown = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "0.0.0.0:9000 (settings file)",
        "<set, hidden> (settings file)",
        "12 (environment)",
        "HEATLINE_COMPLAINTS_PER_HOUR",
        "10 (default)",
        "HEATLINE_SLA_POLICY",
    ] {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }
    assert!(!shown.contains("do-not-print-me"));
    std::fs::write(&file, "HEATLINE_ADRESS=0.0.0.0:9000\n").unwrap();
    let misspelt = run(&[]);
    assert!(!misspelt.status.success());
    assert!(String::from_utf8_lossy(&misspelt.stderr).contains("HEATLINE_ADRESS"));
    let _ = std::fs::remove_dir_all(&dir);
}
