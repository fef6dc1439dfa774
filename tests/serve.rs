//! `heatline serve` as a user runs it: a real process, real HTTP, a real PostgreSQL.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `heatline serve` and the address it printed.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: Option<&str>, data_dir: &Path) -> Server {
        Server::start_with(database_url, data_dir, &[], &[])
    }

    /// Starts with more arguments and environment variables.
    fn start_with(
        database_url: Option<&str>,
        data_dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_heatline"));
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .envs(envs.iter().copied())
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.spawn().expect("heatline starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("heatline listening on ") {
                    let _ = found.send(base.to_owned());
                }
            }
        });
        let base = address
            .recv_timeout(Duration::from_secs(120))
            .expect("heatline prints the address it listens on");
        Server { child, base }
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `/readyz` once it says ready (every subscription has taken its checkpoint), or its
    /// last answer after 5 seconds.
    async fn ready(&self) -> (u16, serde_json::Value) {
        let mut answer = self.get("/readyz").await;
        for _ in 0..100 {
            if answer.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer = self.get("/readyz").await;
        }
        answer
    }

    /// Sends SIGTERM, as a service manager would, and waits for a clean exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        self.child.wait().expect("heatline exits")
    }
}

impl Drop for Server {
    /// A test that fails midway does not leave its servers running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data folder the `postgres` user can reach when the tests run as root.
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heatline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[tokio::test]
async fn serve_without_a_database_url_starts_a_private_postgresql_and_stops_it_on_sigterm() {
    let dir = data_dir("private");
    let server = Server::start(None, &dir);
    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
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
    let checks = body["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["ok"] == true), "{body}");
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

fn user_create(database_url: &str, args: &[&str], password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["user", "create"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused command line exits before reading: a broken pipe is then expected.
    let _ = child.stdin.take().unwrap().write_all(password.as_bytes());
    child.wait_with_output().unwrap()
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
async fn keys_rotate_adds_a_published_key_beside_the_current_one() {
    let db = testkit::TestDb::new().await;
    let heatline = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_heatline"))
            .args(args)
            .env("DATABASE_URL", db.url())
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

/// Debian's nginx with the repository's gateway configuration, in front of the services.
struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    fn start(dir: &Path, identity: &str, intake: &str, dispatch: &str) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/nginx/heatline.conf.template"
        ))
        .unwrap();
        let host = |base: &str| base.trim_start_matches("http://").to_owned();
        let server = template
            .replace("${HEATLINE_GATEWAY_PORT}", &format!("127.0.0.1:{port}"))
            .replace("${HEATLINE_IDENTITY}", &host(identity))
            .replace("${HEATLINE_INTAKE}", &host(intake))
            .replace("${HEATLINE_DISPATCH}", &host(dispatch));
        let root = dir.join("nginx");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("heatline.conf"), server).unwrap();
        let temp = root.display();
        std::fs::write(
            root.join("nginx.conf"),
            format!(
                "daemon off;\nworker_processes 1;\npid {temp}/nginx.pid;\nerror_log stderr warn;\nevents {{}}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {temp}/body;\n  \
                 proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n  \
                 uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n  \
                 include {temp}/heatline.conf;\n}}\n"
            ),
        )
        .unwrap();
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|n| Command::new(n).arg("-v").output().is_ok())
            .expect("nginx is installed (.ci/run installs it)");
        let child = Command::new(nginx)
            .args(["-p"])
            .arg(&root)
            .args(["-c"])
            .arg(root.join("nginx.conf"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // TERM, not KILL: the master takes its workers down with it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn login(http: &reqwest::Client, identity: &str, username: &str, password: &str) -> String {
    let login: serde_json::Value = http
        .post(format!("{identity}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{username} logged in: {login}"))
        .to_owned()
}

#[tokio::test]
async fn each_service_runs_in_its_own_process_behind_the_nginx_gateway() {
    let db = testkit::TestDb::new().await;
    let dir = data_dir("split");
    let buildings = dir.join("buildings.csv");
    std::fs::write(
        &buildings,
        "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n\
         NG-0101,nangang,NG-S01,harbin-heat,南岗区学府路100号1栋,NG0101,5200\n",
    )
    .unwrap();
    let imported = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["import", "buildings"])
        .arg(&buildings)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
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

    let gateway = Gateway::start(&dir, &identity.base, &intake.base, &dispatch.base);
    let public = gateway.base.as_str();
    let http = reqwest::Client::new();
    let admin = login(&http, public, "city.admin", "a long first password").await;
    let staff = http
        .post(format!("{public}/api/v1/staff"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "username": "wang.hotline", "password": "answer every call", "role": "operator"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status().as_u16(), 201);
    let operator = login(&http, public, "wang.hotline", "answer every call").await;

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
    assert_eq!(ready["status"], "ready", "{ready}");
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
    drop(gateway);
    for server in [dispatch, intake, identity] {
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
