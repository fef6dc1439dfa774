//! `heatline bench dispatch`: the dispatcher queue's first page over HTTP with many open
//! tickets, and how soon a ticket event is in the queue while events are written at a steady
//! rate, each beside plain SQL doing the same in the same run, in a scratch database.
//!
//! The queue is written in the same transaction as the ticket's events, so an event is in
//! the queue when its command commits: the latency measured is from sending the command to
//! its commit, and a sample of rows is read back to check the event is really there.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use chrono::Utc;
use dispatch::domain::ticket::{Member, Subject, TicketCommand};
use dispatch::domain::values::Place;
use dispatch::{Dispatch, DispatchConfig};
use eventstore::{Actor, Channel, EventMetadata, PgEventStore};
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use platform::auth::{Role, Verifier};
use platform::clock::{Clock, SystemClock};
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::eventstore::Scratch;
use super::{ms, percentile};
use crate::database::Database;

#[derive(clap::Args)]
pub struct Options {
    /// Open tickets in the queue.
    #[arg(long, default_value_t = 100_000)]
    tickets: usize,
    /// Ticket events written per second during the latency run.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Queue pages read per filter.
    #[arg(long, default_value_t = 400)]
    reads: usize,
    /// PostgreSQL connections of the server's pool.
    #[arg(long, default_value_t = 16)]
    pool: usize,
}

const DISTRICTS: usize = 10;
const SUPPLIERS: usize = 20;

fn subject(i: usize, now: chrono::DateTime<Utc>) -> Subject {
    Subject {
        origin: "complaint".into(),
        category: if i.is_multiple_of(9) {
            "leak"
        } else {
            "low_temperature"
        }
        .into(),
        priority: if i.is_multiple_of(9) {
            "urgent"
        } else {
            "normal"
        }
        .into(),
        place: Place {
            district: Some(format!("district-{}", i % DISTRICTS)),
            station: Some(format!("S{:04}", i / 40)),
            building_id: Some(format!("B{:05}", i / 8)),
            supplier_id: Some(format!("supplier-{}", i % SUPPLIERS)),
        },
        hotline_work_order: None,
        hotline: i.is_multiple_of(4),
        filed_at: now - chrono::Duration::seconds((i % 3600) as i64),
        channel: Some(
            if i.is_multiple_of(4) {
                "hotline"
            } else {
                "app"
            }
            .into(),
        ),
    }
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
    let dispatch = Dispatch::open(store.clone(), clock.clone(), DispatchConfig::default());
    println!(
        "heatline bench dispatch: {} open tickets, {} events/s for {} s, {} reads per filter",
        options.tickets, options.rate, options.seconds, options.reads
    );

    let ids = seed(&dispatch, options.tickets).await?;
    let (verifier, token) = settled_with_a_dispatcher(&store).await?;
    let mounted = dispatch.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
            .app_data(web::Data::new(dispatch::policy::alone()))
            .app_data(web::Data::new(verifier.clone()))
            .configure(mounted.configure())
    })
    .bind("127.0.0.1:0")?;
    let base = format!("http://{}", server.addrs()[0]);
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);
    let http = reqwest::Client::new();

    let filters = [
        ("no filter", ""),
        ("district", "?district=district-3"),
        ("supplier", "?supplier_id=supplier-7"),
        ("status", "?status=signed"),
        ("priority", "?priority=urgent"),
    ];
    println!("queue first page (50 tickets), idle, 4 concurrent readers:");
    let mut all = Vec::new();
    for (name, query) in filters {
        let sql = sql_pages(&store, query, options.reads).await?;
        let api = http_pages(&http, &base, &token, query, options.reads).await?;
        println!(
            "  {name:<10} baseline SQL p50 {:>5.1} ms p99 {:>5.1} ms | GET /api/v1/tickets{query:<24} p50 {:>5.1} ms p99 {:>5.1} ms",
            ms(percentile(&sql, 0.5)),
            ms(percentile(&sql, 0.99)),
            ms(percentile(&api, 0.5)),
            ms(percentile(&api, 0.99)),
        );
        all.extend(api);
    }
    all.sort_unstable();
    let queue_p99 = percentile(&all, 0.99);
    println!(
        "queue     all filters p99 {:.1} ms; target <= 20 ms: {}",
        ms(queue_p99),
        super::verdict(queue_p99 <= Duration::from_millis(20))
    );

    // The latency run: dispatchers supervise tickets at a steady rate while the queue is read.
    let window = Duration::from_secs(options.seconds);
    let baseline = paced(options.rate, window, {
        let store = store.clone();
        let ids = ids.clone();
        move |n| {
            let (store, id) = (store.clone(), ids[n % ids.len()]);
            async move {
                let client = store.pool().get().await?;
                client
                    .execute(
                        "UPDATE dispatch.ticket SET updated_at = now() WHERE ticket_id = $1",
                        &[&id],
                    )
                    .await?;
                Ok(())
            }
        }
    })
    .await?;
    let unseen = Arc::new(AtomicU64::new(0));
    let reader = {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut latencies = Vec::new();
            while started.elapsed() < window {
                let sent = Instant::now();
                let ok = http
                    .get(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    latencies.push(sent.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            latencies
        })
    };
    let events = paced(options.rate, window, {
        let dispatch = dispatch.clone();
        let ids = ids.clone();
        let unseen = unseen.clone();
        let store = store.clone();
        move |n| {
            let (dispatch, id, unseen, store) = (
                dispatch.clone(),
                ids[n % ids.len()],
                unseen.clone(),
                store.clone(),
            );
            async move {
                let metadata = EventMetadata::new(
                    Actor {
                        id: "bench-dispatcher".into(),
                        role: "dispatcher".into(),
                    },
                    Channel::Console,
                );
                let command = TicketCommand::Supervise {
                    by_role: "dispatcher".into(),
                    note: "cold snap: report progress every hour".into(),
                    at: Utc::now(),
                };
                let outcome = dispatch
                    .tickets()
                    .execute(id, None, command, &|_| Ok(()), &metadata)
                    .await?;
                if n.is_multiple_of(10) {
                    // The event is in the queue the moment its command returns.
                    let client = store.pool().get().await?;
                    let version: i64 = client
                        .query_one(
                            "SELECT version FROM dispatch.ticket WHERE ticket_id = $1",
                            &[&id],
                        )
                        .await?
                        .get(0);
                    if version < outcome.version as i64 {
                        unseen.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(())
            }
        }
    })
    .await?;
    let mut under_load = reader.await?;
    under_load.sort_unstable();
    handle.stop(true).await;
    println!(
        "write     {} ticket events/s for {} s, each on its own task as it comes due:",
        options.rate, options.seconds
    );
    println!(
        "  baseline plain UPDATE of the queue row        {:>6.0}/s p50 {:>5.1} ms p99 {:>5.1} ms",
        baseline.rate,
        ms(percentile(&baseline.latencies, 0.5)),
        ms(percentile(&baseline.latencies, 0.99))
    );
    println!(
        "  ticket event appended and in the queue        {:>6.0}/s p50 {:>5.1} ms p99 {:>5.1} ms ({} failed, {} sampled rows not yet showing it)",
        events.rate,
        ms(percentile(&events.latencies, 0.5)),
        ms(percentile(&events.latencies, 0.99)),
        events.failed,
        unseen.load(Ordering::Relaxed)
    );
    let event_p99 = percentile(&events.latencies, 0.99);
    println!(
        "event→queue p99 {:.1} ms; target <= 100 ms: {}",
        ms(event_p99),
        super::verdict(
            event_p99 <= Duration::from_millis(100) && events.rate >= options.rate as f64 * 0.95
        )
    );
    println!(
        "queue     first page during the writes p50 {:.1} ms p99 {:.1} ms ({} reads)",
        ms(percentile(&under_load, 0.5)),
        ms(percentile(&under_load, 0.99)),
        under_load.len()
    );
    // The scratch database is dropped next: its connections end first, quietly.
    store.pool().close();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

/// Opens `count` tickets through the command path (each opened and dispatched; every third
/// also signed), 8 at a time.
/// Settles the scratch database after seeding (statistics, a checkpoint) and makes the keys
/// of a run: a verifier of its tokens and a city-wide dispatcher's access token.
pub(super) async fn settled_with_a_dispatcher(
    store: &PgEventStore,
) -> anyhow::Result<(Verifier, String)> {
    // Each its own statement: VACUUM cannot run inside the transaction block that a
    // multi-statement query is.
    let client = store.pool().get().await?;
    client
        .batch_execute("VACUUM ANALYZE dispatch.ticket, eventstore.event")
        .await?;
    client.batch_execute("CHECKPOINT").await?;
    drop(client);
    let keys = KeyRing::open(
        store.pool().clone(),
        Utc::now(),
        // A scratch database's keys, wrapped by a key that lives as long as the run.
        secrets::Keyring::from_bytes(rand::random(), &[]),
    )
    .await?;
    let verifier = Verifier::in_process(
        identity::tokens::ISSUER,
        identity::tokens::AUDIENCE,
        Arc::new(SystemClock),
    );
    verifier.set_keys(&keys.jwks());
    let key = keys.signing_key(Utc::now()).context("no signing key")?;
    let token = identity::tokens::access_token(
        &key,
        "bench-dispatcher",
        "bench",
        Role::Dispatcher,
        &Scope::default(),
        Utc::now(),
    );
    Ok((verifier, token))
}

pub(super) async fn seed(dispatch: &Arc<Dispatch>, count: usize) -> anyhow::Result<Vec<Uuid>> {
    let started = Instant::now();
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
    let workers = 8;
    let seeding = crate::progress::bar(count as u64, "seeding tickets");
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (dispatch, ids, seeding) = (dispatch.clone(), ids.clone(), seeding.clone());
            tokio::spawn(async move {
                let metadata = EventMetadata::new(Actor::system(), Channel::System);
                for i in (w..ids.len()).step_by(workers) {
                    let now = Utc::now();
                    let open = TicketCommand::Open {
                        subject: subject(i, now),
                        members: vec![Member {
                            complaint_id: ids[i].to_string(),
                            household: format!("bench-household-{i}"),
                            filed_by: format!("bench-resident-{i}"),
                        }],
                        at: now,
                    };
                    let tickets = dispatch.tickets();
                    tickets
                        .execute(ids[i], None, open, &|_| Ok(()), &metadata)
                        .await?;
                    if i.is_multiple_of(3) {
                        let sign = TicketCommand::Sign { at: Utc::now() };
                        tickets
                            .execute(ids[i], None, sign, &|_| Ok(()), &metadata)
                            .await?;
                    }
                    seeding.inc(1);
                }
                Ok::<_, dispatch::tickets::CommandError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    seeding.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seed      {count} tickets opened and dispatched (a third signed) through the command path in {seconds:.1} s ({:.0} tickets/s)",
        count as f64 / seconds
    );
    Ok(ids)
}

/// Runs `read` `reads` times over 4 concurrent readers; answers the sorted latencies.
pub(super) async fn readers<F, Fut>(reads: usize, read: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let read = read.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for _ in 0..reads / 4 {
                    let sent = Instant::now();
                    read().await?;
                    latencies.push(sent.elapsed());
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_unstable();
    Ok(all)
}

/// Reads the first queue page straight from PostgreSQL.
async fn sql_pages(
    store: &PgEventStore,
    query: &str,
    reads: usize,
) -> anyhow::Result<Vec<Duration>> {
    let (store, filter) = (store.clone(), filter_of(query));
    readers(reads, move || {
        let (store, filter) = (store.clone(), filter.clone());
        async move {
            let client = store.pool().get().await?;
            dispatch::views::queue(&client, &filter, None, 50, Utc::now()).await?;
            Ok(())
        }
    })
    .await
}

fn filter_of(query: &str) -> dispatch::views::QueueFilter {
    let mut filter = dispatch::views::QueueFilter::default();
    if let Some((name, value)) = query.trim_start_matches('?').split_once('=') {
        let value = Some(value.to_owned());
        match name {
            "district" => filter.district = value,
            "supplier_id" => filter.supplier = value,
            "status" => filter.status = value,
            "priority" => filter.priority = value,
            _ => {}
        }
    }
    filter
}

/// Reads the first queue page over HTTP.
async fn http_pages(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    reads: usize,
) -> anyhow::Result<Vec<Duration>> {
    let url = format!("{base}/api/v1/tickets{query}");
    let (http, token) = (http.clone(), token.to_owned());
    readers(reads, move || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let response = http.get(&url).bearer_auth(&token).send().await?;
            anyhow::ensure!(response.status().is_success(), "queue read failed");
            let page: serde_json::Value = response.json().await?;
            anyhow::ensure!(page["items"].as_array().is_some_and(|i| !i.is_empty()));
            Ok(())
        }
    })
    .await
}

struct Paced {
    rate: f64,
    latencies: Vec<Duration>,
    failed: u64,
}

/// Starts `work(n)` at `rate` per second for `window`, each on its own task, and collects how
/// long each took.
async fn paced<F, Fut>(rate: u32, window: Duration, work: F) -> anyhow::Result<Paced>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut running = Vec::new();
    let mut n = 0;
    while started.elapsed() < window {
        ticks.tick().await;
        let job = work(n);
        running.push(tokio::spawn(async move {
            let sent = Instant::now();
            job.await.map(|()| sent.elapsed())
        }));
        n += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(running.len());
    let mut failed = 0;
    for task in running {
        match task.await? {
            Ok(latency) => latencies.push(latency),
            Err(error) => {
                failed += 1;
                if failed == 1 {
                    eprintln!("bench dispatch: a write failed: {error:#}");
                }
            }
        }
    }
    latencies.sort_unstable();
    Ok(Paced {
        rate: latencies.len() as f64 / elapsed,
        latencies,
        failed,
    })
}
