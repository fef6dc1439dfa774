//! Running `heatline` as its users do: real processes printing their address, the command
//! line, and Debian's nginx with the repository's gateway configuration.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the support"
)]

pub mod browser;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The master key every `heatline` process of a test is given: processes that share a
/// database must share it, as a deployment's do.
pub const MASTER_KEY: &str = "dGhlIHRlc3RzJyBtYXN0ZXIga2V5LCAzMiBieXRlcyE=";

/// A running `heatline serve` and the address it printed.
pub struct Server {
    pub child: Child,
    pub base: String,
}

/// Asserts a `/readyz` answer says the process serves: every check holds but advisory ones
/// (the working-day calendar's end, which makes it `degraded`).
pub fn assert_serving(body: &serde_json::Value) {
    assert!(
        body["status"] == "ready" || body["status"] == "degraded",
        "{body}"
    );
    let checks = body["checks"].as_array().expect("checks");
    assert!(
        checks
            .iter()
            .all(|c| c["ok"] == true || c["advisory"] == true),
        "{body}"
    );
}

impl Server {
    pub fn start(database_url: Option<&str>, data_dir: &Path) -> Server {
        Server::start_with(database_url, data_dir, &[], &[])
    }

    /// Starts with more arguments and environment variables.
    pub fn start_with(
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
            .env("HEATLINE_MASTER_KEY", MASTER_KEY)
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

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `/readyz` once it says ready (every subscription has taken its checkpoint), or its
    /// last answer after 5 seconds.
    pub async fn ready(&self) -> (u16, serde_json::Value) {
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
    pub fn terminate(mut self) -> std::process::ExitStatus {
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
pub fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heatline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub fn user_create(database_url: &str, args: &[&str], password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["user", "create"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("HEATLINE_MASTER_KEY", MASTER_KEY)
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

/// Debian's nginx with the repository's gateway configuration, in front of the services.
pub struct Gateway {
    pub child: Child,
    pub base: String,
}

/// A port nothing listens on yet (for a process that must know the gateway's address before
/// the gateway starts).
pub use testkit::nats::free_port;

/// The supplier registry of the split tests: Harbin Heat in Nangang.
pub const SUPPLIERS_CSV: &str = "supplier_id,name,districts,heated_area_m2,contact\n\
     harbin-heat,Harbin Heat Co.,nangang,2500000,0451-8888-0000\n";

/// The building registry of the split tests: one building of Harbin Heat.
pub const BUILDINGS_CSV: &str = "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n\
     NG-0101,nangang,NG-S01,harbin-heat,南岗区学府路100号1栋,NG0101,5200\n";

/// The first admin (`city.admin`) makes the hotline operator `wang.hotline` through the API at
/// `public`, who logs in: answers the operator's token.
pub async fn hotline_operator(http: &reqwest::Client, public: &str) -> String {
    let admin = login(http, public, "city.admin", "a long first password").await;
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
    login(http, public, "wang.hotline", "answer every call").await
}

impl Gateway {
    /// The gateway in front of the four API services, with no console behind `/console`
    /// (its pages answer 502 here).
    pub fn start(
        dir: &Path,
        identity: &str,
        intake: &str,
        dispatch: &str,
        credit: &str,
    ) -> Gateway {
        Gateway::start_at(
            free_port(),
            dir,
            [identity, intake, dispatch, credit, "http://127.0.0.1:9"],
        )
    }

    /// The gateway on `port` in front of identity, intake, dispatch, credit and the console.
    pub fn start_at(port: u16, dir: &Path, upstreams: [&str; 5]) -> Gateway {
        Gateway::start_instances(port, dir, upstreams.each_ref().map(std::slice::from_ref))
    }

    /// The gateway on `port` in front of every instance of identity, intake, dispatch,
    /// credit and the console (a `server` line for each in the service's upstream block).
    pub fn start_instances(port: u16, dir: &Path, upstreams: [&[&str]; 5]) -> Gateway {
        let [identity, intake, dispatch, credit, console] = upstreams;
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/nginx/heatline.conf.template"
        ))
        .unwrap();
        let servers = |bases: &[&str]| {
            bases
                .iter()
                .map(|base| base.trim_start_matches("http://"))
                .collect::<Vec<_>>()
                .join("; server ")
        };
        let server = template
            .replace("${HEATLINE_GATEWAY_PORT}", &format!("127.0.0.1:{port}"))
            .replace("${HEATLINE_IDENTITY}", &servers(identity))
            .replace("${HEATLINE_INTAKE}", &servers(intake))
            .replace("${HEATLINE_DISPATCH}", &servers(dispatch))
            .replace("${HEATLINE_CREDIT}", &servers(credit))
            .replace("${HEATLINE_CONSOLE}", &servers(console));
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

pub async fn login(
    http: &reqwest::Client,
    identity: &str,
    username: &str,
    password: &str,
) -> String {
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

/// The page at `url` as a real browser renders it (headless Chromium, scripts run, up to 15
/// seconds of page time), as its DOM.
pub fn rendered(url: &str) -> String {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("a Chromium is installed (.ci/run installs it)");
    let profile = std::env::temp_dir().join(format!("heatline-browser-{}", std::process::id()));
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .stderr(Stdio::null())
        .output()
        .expect("the browser runs");
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `heatline ARGS` against `database_url` and answers what it printed; panics with its
/// error output when it fails.
pub fn heatline(database_url: &str, args: &[&str]) -> String {
    let output = heatline_output(database_url, args);
    assert!(
        output.status.success(),
        "heatline {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a `heatline` command against `database_url`, whatever its outcome.
pub fn heatline_output(database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("HEATLINE_MASTER_KEY", MASTER_KEY)
        .env("RUST_LOG", "off")
        .output()
        .unwrap()
}

/// The heating season a server on the system clock is in now (`2026-2027`), China time.
pub fn season_now() -> String {
    use chrono::Datelike;
    let local = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let first = if local.month() >= 7 {
        local.year()
    } else {
        local.year() - 1
    };
    format!("{first}-{}", first + 1)
}

/// Imports the supplier and building registries (CSV texts) into `database_url` through the
/// command line, and creates the first admin `city.admin` with `password`.
pub fn registries_and_admin(
    database_url: &str,
    dir: &Path,
    buildings: &str,
    suppliers: &str,
    password: &str,
) {
    for (what, text) in [("suppliers", suppliers), ("buildings", buildings)] {
        let path = dir.join(format!("{what}.csv"));
        std::fs::write(&path, text).unwrap();
        heatline(database_url, &["import", what, path.to_str().unwrap()]);
    }
    let created = user_create(
        database_url,
        &["--username", "city.admin", "--role", "admin"],
        &format!("{password}\n"),
    );
    assert!(created.status.success(), "{created:?}");
}

/// Creates a staff account (`body` as `POST /api/v1/staff` takes it) and answers its token.
pub async fn staff(api: &testkit::api::Api, admin: &str, body: serde_json::Value) -> String {
    let username = body["username"].as_str().unwrap().to_owned();
    let password = body["password"].as_str().unwrap().to_owned();
    let reply = api.post("/api/v1/staff", admin, &body).await;
    assert_eq!(reply.status, 201, "{username}: {}", reply.body);
    login(&api.http, &api.base, &username, &password).await
}

/// The cookies an answer sets, by name (attributes left out).
pub fn cookies(response: &reqwest::Response) -> std::collections::BTreeMap<String, String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A `Cookie` header sending `cookies`.
pub fn cookie_header(cookies: &std::collections::BTreeMap<String, String>) -> String {
    cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}
