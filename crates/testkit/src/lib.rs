//! Test support shared by every crate's tests.
//!
//! [`fakes`] are outside parties (WeChat, an SMS gateway, the 12345 platform) as real HTTP
//! servers; [`log`] appends what other services would publish; [`tokens`] mints access tokens on a harness's clock. [`assert_openapi_current`] compares a service's checked-in OpenAPI document.
//!
//! [`TestDb::new`] gives each test its own database, cloned from a template that already has
//! every migration applied, so tests run in parallel without seeing each other's data. The
//! server is `DATABASE_URL` when it is set and reachable; otherwise a private cluster started
//! from the local PostgreSQL installation (see [`cluster`]), shared by all test processes of the
//! run and stopped and removed once none has used it for a while.

#![warn(missing_docs)]

pub mod api;
pub mod cluster;
pub mod fakes;
pub mod log;
pub mod nats;
pub mod tokens;

/// The master key of the test harnesses (as a deployment's processes, they share one).
pub fn master_key() -> secrets::Keyring {
    secrets::Keyring::from_bytes(*b"the test harnesses' master key!!", &[])
}

/// Fails unless `openapi/{service}.json` is the document the code generates (`generated`);
/// with `UPDATE_OPENAPI` set, writes it first.
pub fn assert_openapi_current(service: &str, generated: &str) {
    let path = format!(
        "{}/../../openapi/{service}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, generated).expect("the openapi folder is writable");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "openapi/{service}.json is out of date: run `UPDATE_OPENAPI=1 cargo nextest run -p \
         {service} openapi` and commit it"
    );
}

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use eventstore::DbConfig;
use tokio_postgres::NoTls;

/// Where test databases are created: an admin URL on some server.
#[derive(Debug, Clone)]
pub struct Server {
    admin_url: String,
}

impl Server {
    /// The server for this test process (found once, then reused): `DATABASE_URL` when it is
    /// set and reachable, the shared private cluster otherwise.
    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| {
            let configured = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
            Server::resolve(configured.as_deref())
        })
    }

    /// Decides between a configured URL and the private cluster.
    pub fn resolve(configured: Option<&str>) -> Server {
        let configured = configured.map(str::to_owned);
        // Probed on a thread of its own: the caller may be inside a runtime.
        std::thread::spawn(move || {
            if let Some(url) = configured {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for probing DATABASE_URL");
                if runtime.block_on(reachable(&url)) {
                    return Server { admin_url: url };
                }
                eprintln!("testkit: DATABASE_URL is not reachable; using a private cluster");
            }
            Server {
                admin_url: cluster::shared().url("postgres"),
            }
        })
        .join()
        .expect("finding a test database server")
    }

    /// The URL of the server's administrative database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The URL of `database` on this server.
    pub fn url_of(&self, database: &str) -> String {
        let mut config: tokio_postgres::Config =
            self.admin_url.parse().expect("DATABASE_URL parses");
        config.dbname(database);
        config_to_url(&config)
    }
}

fn config_to_url(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("postgres");
    format!("postgres://{user}{password}@{host}:{port}/{db}")
}

async fn reachable(url: &str) -> bool {
    let Ok(mut config) = url.parse::<tokio_postgres::Config>() else {
        return false;
    };
    config.connect_timeout(Duration::from_secs(3));
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client.simple_query("SELECT 1").await.is_ok()
        }
        Err(_) => false,
    }
}

/// A database of its own for one test, migrated, dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates a fresh, migrated database.
    pub async fn new() -> TestDb {
        let server = Server::get();
        let admin = connect(&server.admin_url).await;
        let template = ensure_template(server, &admin).await;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "heatline_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("creating a test database from the template");
        TestDb {
            url: server.url_of(&name),
            name,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection URL for it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connection settings for it.
    pub fn config(&self) -> DbConfig {
        DbConfig::from_url(&self.url).expect("a test URL parses")
    }

    /// A single connection to it, driven on the current runtime.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = Server::get().admin_url.clone();
        // Drop cannot await, and may run inside a runtime: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let (client, connection) = admin_url
                    .parse::<tokio_postgres::Config>()
                    .ok()?
                    .connect(NoTls)
                    .await
                    .ok()?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("testkit: could not drop test database {}", self.name);
        }
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
    tokio::spawn(connection);
    client
}

/// Creates (once per server and set of migrations) the template every test database copies.
async fn ensure_template(server: &Server, admin: &tokio_postgres::Client) -> String {
    let fingerprint = eventstore::db::migrations_fingerprint();
    let template = format!("heatline_template_{fingerprint:016x}");
    admin
        .batch_execute("SELECT pg_advisory_lock(hashtext('heatline.testkit.template'))")
        .await
        .expect("locking template creation");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("looking up the template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("removing a half-built template database");
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .expect("creating the template database");
        {
            let mut client = connect(&server.url_of(&building)).await;
            eventstore::migrate(&mut client)
                .await
                .expect("migrating the template database");
        }
        // Renamed only once complete, so a half-built template is never copied. The migration
        // connection may take a moment to go away, which the rename needs.
        let mut attempts = 0;
        loop {
            let finished = admin
                .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
                .await;
            match finished {
                Ok(()) => {
                    admin
                        .batch_execute(&format!(
                            "ALTER DATABASE {template} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"
                        ))
                        .await
                        .expect("marking the template database");
                    break;
                }
                Err(_) if attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("finishing the template database: {error}"),
            }
        }
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(hashtext('heatline.testkit.template'))")
        .await
        .expect("unlocking template creation");
    template
}
