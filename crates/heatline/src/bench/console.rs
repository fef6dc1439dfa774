//! `heatline bench console`: the dispatcher's queue page as the console renders it, with many
//! open tickets, beside the JSON endpoints it is made from (`GET /api/v1/tickets` and
//! `GET /api/v1/tickets/bands`), read the same way in the same run, in a scratch database.
//!
//! The console calls the API over HTTP as it does in production (here the same server), so
//! the page's time is the two API calls, made at once, plus rendering. The band counts are
//! kept a second per filter by dispatch (`dispatch::bands`): the run also prints what a count
//! costs afresh.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use chrono::Utc;
use dispatch::{Dispatch, DispatchConfig};
use eventstore::PgEventStore;
use platform::clock::{Clock, SystemClock};
use tokio_postgres::NoTls;

use super::dispatch::{readers, seed, settled_with_a_dispatcher};
use super::eventstore::Scratch;
use super::{ms, percentile};
use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Open tickets in the queue.
    #[arg(long, default_value_t = 100_000)]
    tickets: usize,
    /// Reads of each page (over 4 concurrent readers).
    #[arg(long, default_value_t = 400)]
    reads: usize,
    /// PostgreSQL connections of the server's pool.
    #[arg(long, default_value_t = 16)]
    pool: usize,
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
        dispatch::migrate(&mut client).await?;
    }
    let store = PgEventStore::new(&config);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dispatch = Dispatch::open(store.clone(), clock, DispatchConfig::default());
    println!(
        "heatline bench console: {} open tickets, {} reads per page",
        options.tickets, options.reads
    );
    seed(&dispatch, options.tickets).await?;
    let (verifier, token) = settled_with_a_dispatcher(&store).await?;
    let api = heatline_console::ApiBase::default();
    let console = heatline_console::Console::new(api.clone());
    let policy =
        platform::policy::Policy::of(&[dispatch::policy::POLICY, heatline_console::policy::POLICY]);
    let mounted = dispatch.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
            .app_data(web::Data::new(policy.clone()))
            .app_data(web::Data::new(verifier.clone()))
            .configure(mounted.configure())
            .configure(console.configure())
    })
    .bind("127.0.0.1:0")?;
    let base = format!("http://{}", server.addrs()[0]);
    api.set(&base);
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);
    let http = reqwest::Client::new();

    println!("first page (50 tickets) and band counts, idle, 4 concurrent readers:");
    let mut pages = Vec::new();
    for (name, path, wanted) in [
        ("JSON queue", "/api/v1/tickets?limit=50", "\"items\""),
        ("JSON bands", "/api/v1/tickets/bands", "\"on_time\""),
        ("console queue page", "/console/queue", "工单队列"),
    ] {
        let latencies = read(&http, &base, path, &token, wanted, options.reads).await?;
        println!(
            "  {name:<18} GET {path:<26} p50 {:>5.1} ms p99 {:>5.1} ms",
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
        );
        pages.push(percentile(&latencies, 0.99));
    }
    // What a count costs when it is not kept: the SQL every filter runs at most once a second.
    let mut counts = Vec::new();
    let client = store.pool().get().await?;
    for _ in 0..50 {
        let sent = std::time::Instant::now();
        dispatch::views::bands(&client, &Default::default(), Utc::now()).await?;
        counts.push(sent.elapsed());
    }
    drop(client);
    counts.sort_unstable();
    println!(
        "  band counts afresh (SQL, one reader; kept a second per filter)   p50 {:>5.1} ms p99 {:>5.1} ms",
        ms(percentile(&counts, 0.5)),
        ms(percentile(&counts, 0.99)),
    );
    let page_p99 = pages[2];
    println!(
        "console   queue page p99 {:.1} ms ({:.1}× the JSON queue's); target <= 50 ms: {}",
        ms(page_p99),
        page_p99.as_secs_f64() / pages[0].as_secs_f64().max(1e-9),
        super::verdict(page_p99 <= Duration::from_millis(50))
    );
    handle.stop(true).await;
    store.pool().close();
    Ok(())
}

/// Reads `path` `reads` times, as the console's cookie (a page) or a bearer token (the API);
/// each answer must be a success holding `wanted`.
async fn read(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    wanted: &'static str,
    reads: usize,
) -> anyhow::Result<Vec<Duration>> {
    let url = format!("{base}{path}");
    let page = path.starts_with("/console");
    let (http, token) = (http.clone(), token.to_owned());
    readers(reads, move || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let request = if page {
                http.get(&url)
                    .header("cookie", format!("hl_access={token}"))
            } else {
                http.get(&url).bearer_auth(&token)
            };
            let response = request.send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            let body = response.text().await?;
            anyhow::ensure!(body.contains(wanted), "{url} answered without {wanted}");
            Ok(())
        }
    })
    .await
}
