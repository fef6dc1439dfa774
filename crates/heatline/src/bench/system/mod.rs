//! `heatline bench system`: the whole system at load. `heatline serve` runs every service and
//! subscription as a process of its own on a scratch database; a load generator, another
//! process, files complaints over HTTP with real tokens (operators through the hotline,
//! residents logged in through the sandbox's WeChat stand-in, every household distinct). In the
//! same run the same generator drives the HTTP+DB ceiling: a minimal actix-web handler that does
//! one INSERT per request. Printed: accepted/s, p50/p99, the ratio to the ceiling, the drain
//! (until every subscription has handled the last event the load caused), the server's peak RSS.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use base64::Engine;
use eventstore::DbConfig;

use super::eventstore::Scratch;
use super::procfs;
use crate::database::Database;

mod load;

use load::drive;
pub use load::{LoadOptions, load};

#[derive(clap::Args, Clone)]
pub struct Options {
    /// Concurrent HTTP connections of the load generator (half operators, half residents).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds each load runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Buildings in the registry (complaints are spread over them).
    #[arg(long, default_value_t = 1000)]
    buildings: usize,
    /// Residents logged in before the load (each files at most 5 complaints, under the
    /// hourly limit).
    #[arg(long, default_value_t = 4000)]
    residents: usize,
}

/// The scratch database as settings a child process takes for `DATABASE_URL`.
fn settings(config: &DbConfig) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = Vec::new();
    if let Some(host) = config.pg.get_hosts().first() {
        let host = match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        };
        parts.push(format!("host={}", quote(&host)));
    }
    if let Some(port) = config.pg.get_ports().first() {
        parts.push(format!("port={port}"));
    }
    if let Some(user) = config.pg.get_user() {
        parts.push(format!("user={}", quote(user)));
    }
    if let Some(password) = config.pg.get_password() {
        parts.push(format!(
            "password={}",
            quote(&String::from_utf8_lossy(password))
        ));
    }
    if let Some(dbname) = config.pg.get_dbname() {
        parts.push(format!("dbname={}", quote(dbname)));
    }
    parts.join(" ")
}

/// The ceiling: one INSERT per request, on a pool of 16.
async fn ceiling(
    config: &DbConfig,
) -> anyhow::Result<(std::net::SocketAddr, actix_web::dev::Server)> {
    let pool = config.clone().pool_size(16).pool();
    pool.get()
        .await?
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, body jsonb NOT NULL, \
             at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let server = HttpServer::new(move || {
        App::new().app_data(web::Data::new(pool.clone())).route(
                "/insert",
                web::post().to(
                    |pool: web::Data<deadpool_postgres::Pool>,
                     body: web::Json<serde_json::Value>| async move {
                        let inserted = async {
                            let client = pool.get().await?;
                            client
                                .execute(
                                    "INSERT INTO bench_ceiling (body) VALUES ($1)",
                                    &[&body.into_inner()],
                                )
                                .await?;
                            anyhow::Ok(())
                        };
                        match inserted.await {
                            Ok(()) => HttpResponse::Created().finish(),
                            Err(_) => HttpResponse::ServiceUnavailable().finish(),
                        }
                    },
                ),
            )
    })
    .bind("127.0.0.1:0")?;
    Ok((server.addrs()[0], server.run()))
}

/// `heatline serve` as its own process, with the sandbox's logins, until dropped.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(url: &str, master_key: &str, dir: &Path) -> anyhow::Result<Served> {
        let mut child = Command::new(std::env::current_exe()?)
            .env("DATABASE_URL", url)
            .env("HEATLINE_MASTER_KEY", master_key)
            // The server's own log filter (`HEATLINE_BENCH_LOG`, e.g.
            // `eventstore::subscription=debug` for each batch's time), warnings by default.
            .env(
                "RUST_LOG",
                std::env::var("HEATLINE_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .args(["serve", "--addr", "127.0.0.1:0", "--sandbox", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .context("heatline serve exited before it listened")??;
            if let Some(base) = line.strip_prefix("heatline listening on ") {
                break base.to_owned();
            }
        };
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Served { child, base })
    }

    /// The server's CPU time so far (user and system), in seconds.
    fn cpu_seconds(&self) -> Option<f64> {
        procfs::cpu_seconds(&self.child.id().to_string())
    }

    fn peak_rss_mib(&self) -> Option<f64> {
        procfs::peak_rss_kib(&self.child.id().to_string()).map(|kib| kib as f64 / 1024.0)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Whether every subscription's checkpoint is at the public log's head.
async fn drained(client: &tokio_postgres::Client) -> anyhow::Result<bool> {
    let schemas: Vec<String> = client
        .query(
            "SELECT table_schema FROM information_schema.tables \
             WHERE table_name = 'subscription_checkpoint'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let behind: Vec<String> = schemas
        .iter()
        .map(|schema| {
            format!(
                "SELECT count(*) FROM {schema}.subscription_checkpoint c, head \
                 WHERE (c.tx_id, c.global_position) < (head.tx_id, head.global_position)"
            )
        })
        .collect();
    let sql = format!(
        "WITH head AS (SELECT tx_id, global_position FROM eventstore.published_event \
         ORDER BY tx_id DESC, global_position DESC LIMIT 1) \
         SELECT coalesce(sum(n), 0)::bigint FROM ({}) AS behind(n)",
        behind.join(" UNION ALL ")
    );
    Ok(client.query_one(&sql, &[]).await?.get::<_, i64>(0) == 0)
}

/// Waits until every subscription is at the log's head (at most 10 minutes); answers how long
/// that took. `what` names what was being handled, for the error.
async fn until_drained(client: &tokio_postgres::Client, what: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while !drained(client).await? {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "{what} not drained in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// The scratch database's transactions, rows written (inserted, updated, deleted) and rows
/// read (returned and fetched), as PostgreSQL counts them.
async fn database_work(client: &tokio_postgres::Client) -> anyhow::Result<[i64; 3]> {
    client
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .await?;
    let row = client
        .query_one(
            "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted, \
             tup_returned + tup_fetched FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await?;
    Ok([row.get(0), row.get(1), row.get(2)])
}

async fn post_json(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&database.config).await?;
    let dir = std::env::temp_dir().join(format!("heatline-bench-system-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = measure(&scratch, &dir, &options).await;
    // `HEATLINE_BENCH_KEEP=1` leaves the scratch database for a look at what the load wrote.
    if std::env::var_os("HEATLINE_BENCH_KEEP").is_some() {
        println!("kept the scratch database: {}", settings(&scratch.config));
    } else {
        scratch.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(scratch: &Scratch, dir: &Path, options: &Options) -> anyhow::Result<()> {
    let url = settings(&scratch.config);
    let master_key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    println!(
        "heatline bench system: {} connections, {} s per load, {} buildings",
        options.connections, options.seconds, options.buildings
    );

    // The ceiling, in this process, driven by the generator in another.
    let ceiling = drive_ceiling(&scratch.config, &url, options).await?;
    println!(
        "ceiling   minimal handler, one INSERT per request: {:>7.0} req/s, p50 {:.1} ms, p99 {:.1} ms ({} failed)",
        ceiling.per_second(),
        ceiling.p50_ms,
        ceiling.p99_ms,
        ceiling.failed
    );

    // The registries and an admin, then every service in its own process.
    let database = Database::open(
        Some(&url),
        dir,
        secrets::Keyring::parse(&master_key).map_err(anyhow::Error::msg)?,
    )
    .await?;
    database.migrate().await?;
    let pool = database.config.pool();
    let mut suppliers = String::from("supplier_id,name,districts,heated_area_m2,contact\n");
    for s in 0..12 {
        suppliers.push_str(&format!(
            "supplier-{s},Supplier {s},district-{},2000000,0451-0000\n",
            s % 6
        ));
    }
    credit::registry::import(&pool, suppliers.as_bytes()).await?;
    intake::registry::import(
        &pool,
        super::intake::registry(options.buildings).as_bytes(),
        chrono::Utc::now(),
    )
    .await?;
    let identity = database.identity().await?;
    for n in 0..8 {
        identity
            .create_staff(identity::NewStaff {
                username: format!("bench.operator{n}"),
                password: "a bench operator password".into(),
                role: platform::auth::Role::Operator,
                scope: Default::default(),
                city_wide: false,
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating an operator: {e:?}"))?;
    }
    drop(identity);
    database.close();

    let served = Served::start(&url, &master_key, dir)?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http
        .get(format!("{}/readyz", served.base))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "not ready in a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut tokens = String::new();
    for n in 0..8 {
        let login = post_json(
            &http,
            format!("{}/api/v1/auth/login", served.base),
            None,
            serde_json::json!({ "username": format!("bench.operator{n}"), "password": "a bench operator password" }),
        )
        .await?;
        tokens.push_str(&format!(
            "operator {}\n",
            login["access_token"].as_str().unwrap_or("")
        ));
    }
    let logins: Vec<_> = (0..options.residents)
        .map(|r| {
            let (http, base) = (http.clone(), served.base.clone());
            tokio::spawn(async move {
                post_json(
                    &http,
                    format!("{base}/api/v1/auth/wechat"),
                    None,
                    serde_json::json!({ "code": format!("sandbox-bench{r}") }),
                )
                .await
            })
        })
        .collect();
    for login in logins {
        let login = login.await??;
        tokens.push_str(&format!(
            "resident {}\n",
            login["access_token"].as_str().unwrap_or("")
        ));
    }
    let tokens_file = dir.join("tokens");
    std::fs::File::create(&tokens_file)?.write_all(tokens.as_bytes())?;

    let (client, connection) = scratch.config.pg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    // The logins' events (accounts, notification parties) are handled before the load
    // starts: the load's figures are the filings', not the setup's backlog.
    let settled = until_drained(&client, "the setup").await?;
    println!(
        "system    setup (registries, {} resident logins) handled {:.2} s after its last request",
        options.residents,
        settled.as_secs_f64()
    );
    let before = database_work(&client).await?;
    let cpu_before = (
        served.cpu_seconds(),
        procfs::machine_busy_seconds(),
        procfs::postgres_cpu_seconds(),
    );
    let system = drive(&url, &served.base, Some(&tokens_file), options).await?;
    let drain = until_drained(&client, "the load").await?;
    let cpu_after = (
        served.cpu_seconds(),
        procfs::machine_busy_seconds(),
        procfs::postgres_cpu_seconds(),
    );
    // Read after the statistics collector has reported the last transactions.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = database_work(&client).await?;
    let ratio = system.per_second() / ceiling.per_second();
    println!(
        "system    heatline serve, hotline and app filings: {:>7.0} complaints/s = {:.0} % of the ceiling; target >= 40 %: {}",
        system.per_second(),
        ratio * 100.0,
        super::verdict(ratio >= 0.4)
    );
    println!(
        "system    latency p50 {:.1} ms, p99 {:.1} ms; target p99 <= 50 ms: {} ({} accepted, {} failed)",
        system.p50_ms,
        system.p99_ms,
        super::verdict(system.p99_ms <= 50.0),
        system.accepted,
        system.failed
    );
    println!(
        "system    latency by filer: operators p50 {:.1} ms, p99 {:.1} ms; residents p50 {:.1} ms, p99 {:.1} ms",
        system.by_filer_ms[0], system.by_filer_ms[1], system.by_filer_ms[2], system.by_filer_ms[3]
    );
    println!(
        "system    latency's tail: p90 {:.1} ms, p99.9 {:.1} ms, slowest {:.1} ms; over 50 ms in each second of the load: {:?}",
        system.p90_ms, system.p999_ms, system.max_ms, system.slow_by_second
    );
    println!(
        "system    drained (every subscription at the log's head) {:.2} s after the load; target <= 1 s: {}",
        drain.as_secs_f64(),
        super::verdict(drain <= Duration::from_secs(1))
    );
    let per = |i: usize| (after[i] - before[i]) as f64 / system.accepted.max(1) as f64;
    println!(
        "system    PostgreSQL per accepted complaint, until drained: {:.1} transactions, {:.1} rows written, {:.0} rows read",
        per(0),
        per(1),
        per(2)
    );
    let most = |column: &'static str| {
        let client = &client;
        let accepted = system.accepted.max(1) as f64;
        async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT schemaname || '.' || relname, ({column})::bigint AS n \
                         FROM pg_stat_user_tables ORDER BY n DESC NULLS LAST LIMIT 6"
                    ),
                    &[],
                )
                .await?;
            let tables: Vec<String> = rows
                .iter()
                .map(|r| {
                    let n: Option<i64> = r.get(1);
                    format!(
                        "{} {:.1}",
                        r.get::<_, String>(0),
                        n.unwrap_or(0) as f64 / accepted
                    )
                })
                .collect();
            anyhow::Ok(tables.join(", "))
        }
    };
    println!(
        "system    rows written per complaint, most first (the whole run): {}",
        most("n_tup_ins + n_tup_upd + n_tup_del").await?
    );
    println!(
        "system    rows read per complaint, most first (the whole run): {}",
        most("seq_tup_read + coalesce(idx_tup_fetch, 0)").await?
    );
    // An update that changes no indexed column and finds room on its row's page is "HOT": it
    // writes no index entry. Every other update writes one into each of the table's indexes.
    let updated = client
        .query(
            "SELECT schemaname || '.' || relname, n_tup_upd, n_tup_hot_upd \
             FROM pg_stat_user_tables WHERE n_tup_upd > 0 ORDER BY n_tup_upd DESC LIMIT 6",
            &[],
        )
        .await?;
    let updated: Vec<String> = updated
        .iter()
        .map(|r| {
            let (all, hot): (i64, i64) = (r.get(1), r.get(2));
            format!(
                "{} {:.1} ({:.0} % HOT)",
                r.get::<_, String>(0),
                all as f64 / system.accepted.max(1) as f64,
                hot as f64 * 100.0 / all.max(1) as f64
            )
        })
        .collect();
    println!(
        "system    rows updated per complaint, most first, and the share that touched no index (the whole run): {}",
        updated.join(", ")
    );
    if let ((Some(s0), Some(m0), Some(p0)), (Some(s1), Some(m1), Some(p1)), Some(load)) =
        (cpu_before, cpu_after, system.cpu_s)
    {
        let per = |seconds: f64| seconds * 1000.0 / system.accepted.max(1) as f64;
        let (server, postgres) = (s1 - s0, p1 - p0);
        println!(
            "system    CPU per accepted complaint, until drained: {:.2} ms in the server, {:.2} ms in PostgreSQL, {:.2} ms in the load generator, {:.2} ms elsewhere on the machine",
            per(server),
            per(postgres),
            per(load),
            per((m1 - m0) - server - postgres - load),
        );
    }
    match served.peak_rss_mib() {
        Some(mib) => println!("system    peak RSS of the server: {mib:.0} MiB"),
        None => println!("system    peak RSS of the server unavailable"),
    }

    // The ceiling once more, with the server stopped: how far the machine itself drifted
    // while the system ran (on a shared machine, by a fifth or more within minutes), so that
    // a ratio is read with the uncertainty it carries.
    drop(served);
    let again = drive_ceiling(&scratch.config, &url, options).await?;
    let drift = again.per_second() / ceiling.per_second() - 1.0;
    println!(
        "ceiling   again after the system: {:>7.0} req/s, p99 {:.1} ms ({:+.0} % against the first); the system's rate is {:.0} % of this one",
        again.per_second(),
        again.p99_ms,
        drift * 100.0,
        system.per_second() / again.per_second() * 100.0
    );
    Ok(())
}

/// The ceiling's minimal handler in this process, driven by the generator in another.
async fn drive_ceiling(
    config: &DbConfig,
    url: &str,
    options: &Options,
) -> anyhow::Result<load::Outcome> {
    let (address, running) = ceiling(config).await?;
    let handle = running.handle();
    tokio::spawn(running);
    let measured = drive(url, &format!("http://{address}"), None, options).await;
    handle.stop(true).await;
    measured
}
