//! `heatline bench intake`: residents filing complaints over HTTP on many connections, beside
//! the event store's raw append rate, in one run, in a scratch database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use chrono::Utc;
use eventstore::PgEventStore;
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use intake::{Intake, IntakeConfig};
use platform::auth::{Role, Verifier};
use platform::clock::SystemClock;
use tokio_postgres::NoTls;

use super::eventstore::{RAW_TABLE, Scratch, raw_inserts};
use super::{ms, percentile};
use crate::database::Database;

/// Serves `intake` alone on a port of its own, behind the access policy as `heatline serve`
/// mounts it; answers its address and the running server's handle.
pub(super) fn serve(
    intake: &Arc<Intake>,
    verifier: Verifier,
) -> anyhow::Result<(std::net::SocketAddr, actix_web::dev::ServerHandle)> {
    let mounted = intake.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
            .app_data(web::Data::new(intake::policy::alone()))
            .app_data(web::Data::new(verifier.clone()))
            .configure(mounted.configure())
    })
    .bind("127.0.0.1:0")?;
    let address = server.addrs()[0];
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);
    Ok((address, handle))
}

#[derive(clap::Args)]
pub struct Options {
    /// Concurrent HTTP connections (one resident each).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds the load runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Buildings in the registry (complaints are spread over them).
    #[arg(long, default_value_t = 1000)]
    buildings: usize,
    /// The category filed: `low_temperature` also drives the incident watcher (a building
    /// reaches 5 households in seconds); `billing` does not.
    #[arg(long, default_value = "low_temperature")]
    category: String,
    /// PostgreSQL connections of the server's pool.
    #[arg(long, default_value_t = 16)]
    pool: usize,
}

pub(super) fn registry(buildings: usize) -> String {
    let mut csv = String::from(
        "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n",
    );
    for b in 0..buildings {
        csv.push_str(&format!(
            "B{b:05},district-{},S{:04},supplier-{},和平区测试路{b}号,HB{b:05},5000\n",
            b % 6,
            b / 8,
            b % 12
        ));
    }
    csv
}

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&database.config).await?;
    let outcome = measure(&scratch, &options).await;
    scratch.drop_database().await;
    outcome
}

async fn measure(scratch: &Scratch, options: &Options) -> anyhow::Result<()> {
    let config = scratch.config.clone().pool_size(options.pool);
    {
        let (mut client, connection) = config.pg.connect(NoTls).await?;
        tokio::spawn(connection);
        eventstore::migrate(&mut client).await?;
        identity::migrate(&mut client).await?;
        intake::migrate(&mut client).await?;
        client.batch_execute(RAW_TABLE).await?;
    }
    let store = PgEventStore::new(&config);
    let raw_per_s = raw_inserts(&store, 8, Duration::from_secs(5)).await?;

    intake::registry::import(
        store.pool(),
        registry(options.buildings).as_bytes(),
        Utc::now(),
    )
    .await
    .context("importing the bench registry")?;
    // A scratch database's keys, wrapped by a key that lives as long as the run.
    let master = secrets::Keyring::from_bytes(rand::random(), &[]);
    let keys = KeyRing::open(store.pool().clone(), Utc::now(), master.clone()).await?;
    let verifier = Verifier::in_process(
        identity::tokens::ISSUER,
        identity::tokens::AUDIENCE,
        Arc::new(SystemClock),
    );
    verifier.set_keys(&keys.jwks());
    let photos = std::env::temp_dir().join(format!("heatline-bench-photos-{}", std::process::id()));
    let intake_config = IntakeConfig::new(photos.display().to_string());
    let intake = Intake::open(store.clone(), Arc::new(SystemClock), intake_config, master)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let background = intake.start()?;
    let (address, handle) = serve(&intake, verifier)?;
    let url = format!("http://{address}/api/v1/complaints");

    let key = keys.signing_key(Utc::now()).context("no signing key")?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.connections)
        .build()?;
    let window = Duration::from_secs(options.seconds);
    let buildings = options.buildings;
    let category = options.category.clone();
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.connections)
        .map(|c| {
            let (http, url, category, key) =
                (http.clone(), url.clone(), category.clone(), key.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed = 0u64;
                let mut n = 0usize;
                let mut token = String::new();
                while started.elapsed() < window {
                    // A resident files a few complaints, as on a cold morning, then the next
                    // one takes the connection: the hourly limit stays the real one.
                    if n.is_multiple_of(5) {
                        token = identity::tokens::access_token(
                            &key,
                            &format!("bench-resident-{c}-{}", n / 5),
                            "bench",
                            Role::Resident,
                            &Scope::default(),
                            Utc::now(),
                        );
                    }
                    let building = (c * 7919 + n * 104_729) % buildings;
                    let body = serde_json::json!({
                        "category": category,
                        "heating_account": format!("HB{building:05}{c:03}{n:06}"),
                        "room_temperature": 16.0,
                        "description": "bench",
                    });
                    let sent = Instant::now();
                    let response = http.post(&url).bearer_auth(&token).json(&body).send().await;
                    match response {
                        Ok(r) if r.status().is_success() => latencies.push(sent.elapsed()),
                        _ => failed += 1,
                    }
                    n += 1;
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (l, f) = task.await?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    handle.stop(true).await;
    drop(background);
    let _ = std::fs::remove_dir_all(&photos);
    latencies.sort_unstable();
    let accepted_per_s = latencies.len() as f64 / elapsed;
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    println!(
        "heatline bench intake: {} connections, {} s, {} buildings, category {}",
        options.connections, options.seconds, buildings, options.category
    );
    println!(
        "baseline  raw single-row INSERT into an events-shaped table, 8 clients: {raw_per_s:>8.0} rows/s"
    );
    println!(
        "intake    POST /api/v1/complaints accepted: {accepted_per_s:>8.0} complaints/s ({} accepted, {failed} failed); target >= 2000: {}",
        latencies.len(),
        super::verdict(accepted_per_s >= 2000.0)
    );
    println!(
        "intake    latency p50 {:.1} ms, p99 {:.1} ms; target p99 <= 100 ms: {}",
        ms(p50),
        ms(p99),
        super::verdict(p99 <= Duration::from_millis(100))
    );
    match super::procfs::peak_rss_kib("self") {
        Some(kib) => println!(
            "memory    peak RSS of this process (server and load generator together): {:.1} MiB",
            kib as f64 / 1024.0
        ),
        None => println!("memory    peak RSS unavailable (no /proc/self/status)"),
    }
    Ok(())
}
