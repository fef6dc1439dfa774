//! `heatline serve`: the HTTP server, with every service in one process (the default) or one
//! service per process (`--only NAME`). Either way the services talk only through events in
//! the store; a process without identity verifies tokens with identity's published keys.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use credit::{Credit, CreditConfig};
use dispatch::{Dispatch, DispatchConfig};
use eventstore::PgEventStore;
use identity::{Identity, IdentityConfig};
use intake::{Intake, IntakeConfig};
use platform::auth::Verifier;
use platform::clock::Clock;

use crate::database::Database;

/// A service `heatline serve --only` can run alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// Logins, tokens and their public keys.
    Identity,
    /// Complaints from every channel.
    Intake,
    /// Repair tickets, crews and SLA clocks.
    Dispatch,
    /// Supplier credit: scores, ledger, grades and appeals.
    Credit,
    /// The staff console (pages under `/console`), a client of the API at `--api-url`.
    Console,
}

/// What `serve` runs.
pub struct Plan {
    /// Where to listen.
    pub addr: SocketAddr,
    /// One service, or all.
    pub only: Option<Service>,
    /// Identity's key set, for a process that does not run identity.
    pub jwks_url: Option<String>,
    /// The API the console calls; by default the process itself.
    pub api_url: Option<String>,
    pub identity: IdentityConfig,
    pub intake: IntakeConfig,
    pub dispatch: DispatchConfig,
    pub credit: CreditConfig,
    /// How often the process that runs credit seals the logs.
    pub seal_every: std::time::Duration,
    /// Where the public log is relayed (NATS JetStream), if anywhere.
    pub relay: Option<relay::RelayConfig>,
    /// How many subscription batches the process runs at once (see
    /// [`PgEventStore::with_batch_slots`]).
    pub subscription_batches: usize,
    /// The time every service reads (the system's, but for the demo's morning).
    pub clock: Arc<dyn Clock>,
}

/// Subscription batches run at once by default: two for each core this process may use. A
/// batch spends part of its time waiting for round trips, so about two keep a core busy; in
/// the system bench fewer left the subscriptions seconds behind the log under load.
pub fn default_subscription_batches() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) * 2
}

impl Plan {
    fn runs(&self, service: Service) -> bool {
        self.only.is_none_or(|only| only == service)
    }
}

/// A started server: its addresses, and what must live as long as it serves.
pub struct Running {
    /// Where it listens.
    pub addrs: Vec<SocketAddr>,
    server: actix_web::dev::Server,
    background: Box<dyn std::any::Any + Send>,
    pool: deadpool_postgres::Pool,
}

impl Running {
    /// Serves until stopped (SIGTERM, SIGINT, or the handle).
    pub async fn serve(self) -> anyhow::Result<()> {
        self.server.await.context("HTTP server failed")?;
        drop(self.background);
        // Close the database connections before the database may stop (a private cluster
        // stops next): a connection PostgreSQL closes under it is logged as an error.
        self.pool.close();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        tracing::info!("heatline stopped");
        Ok(())
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Runs `serve` until stopped.
pub async fn run(database: &Database, plan: Plan) -> anyhow::Result<()> {
    let running = start(database, plan).await?;
    for bound in &running.addrs {
        // Tests and scripts read this line to find the port when asked for port 0.
        println!("heatline listening on http://{bound}");
    }
    running.serve().await
}

/// Migrates, opens the services the plan names, starts their background work and binds.
pub async fn start(database: &Database, plan: Plan) -> anyhow::Result<Running> {
    if plan.only == Some(Service::Console) && plan.api_url.is_none() {
        anyhow::bail!(
            "the console alone calls the API elsewhere: set HEATLINE_API_URL (or --api-url) to \
             the gateway's address"
        );
    }
    let console_only = plan.only == Some(Service::Console);
    if !plan.runs(Service::Identity) && plan.jwks_url.is_none() && !console_only {
        anyhow::bail!(
            "a service without identity needs identity's key set: set HEATLINE_JWKS_URL (or \
             --jwks-url) to identity's /.well-known/jwks.json"
        );
    }
    database.migrate().await?;
    let store = PgEventStore::with_batch_slots(&database.config, plan.subscription_batches);
    // Until every subscription has reached the log as it is now, the process is not ready.
    let head_at_start = store
        .published_head()
        .await
        .context("reading the public log's head")?;
    let mut readiness = platform::health::Readiness::new(store.pool().clone());
    let clock = plan.clock.clone();

    let mut identity_background = None;
    let identity = if plan.runs(Service::Identity) {
        readiness =
            readiness.with_migrations(identity::MIGRATION_TABLE, identity::known_migrations());
        let identity = Identity::open(
            store.clone(),
            clock.clone(),
            plan.identity.clone(),
            database.keyring.clone(),
        )
        .await
        .context("opening the identity service")?;
        // Keys rotated by `heatline keys rotate` (or another process) are picked up here.
        let reloading = identity.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
            loop {
                every.tick().await;
                if let Err(error) = reloading.reload_keys().await {
                    tracing::warn!(%error, "signing keys not reloaded");
                }
            }
        });
        identity_background = Some(
            identity
                .start_notifications()
                .context("starting identity's notifications")?,
        );
        Some(identity)
    } else {
        None
    };
    // With identity here, tokens are verified with its keys directly; otherwise with the keys
    // it publishes.
    // The console alone verifies no token: the API it calls does.
    let verifier = match (&identity, &plan.jwks_url) {
        (Some(identity), _) => Some(identity.verifier()),
        (None, Some(url)) => Some(Verifier::remote(
            url,
            identity::tokens::ISSUER,
            identity::tokens::AUDIENCE,
            clock.clone(),
        )),
        (None, None) if console_only => None,
        (None, None) => unreachable!("checked before anything started"),
    };

    let mut intake_background = None;
    let intake = if plan.runs(Service::Intake) {
        readiness = readiness.with_migrations(intake::MIGRATION_TABLE, intake::known_migrations());
        let intake = Intake::open(
            store.clone(),
            clock.clone(),
            plan.intake.clone(),
            database.keyring.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("opening the intake service: {e}"))?;
        intake_background = Some(intake.start().context("starting intake's subscriptions")?);
        Some(intake)
    } else {
        None
    };
    let mut dispatch_background = None;
    let dispatch = if plan.runs(Service::Dispatch) {
        readiness =
            readiness.with_migrations(dispatch::MIGRATION_TABLE, dispatch::known_migrations());
        let dispatch = Dispatch::open(store.clone(), clock.clone(), plan.dispatch.clone());
        dispatch_background = Some(
            dispatch
                .start()
                .context("starting dispatch's feed and timer")?,
        );
        Some(dispatch)
    } else {
        None
    };

    let mut credit_background = None;
    let credit = if plan.runs(Service::Credit) {
        readiness = readiness.with_migrations(credit::MIGRATION_TABLE, credit::known_migrations());
        let credit = Credit::open(store.clone(), clock.clone(), plan.credit.clone())
            .map_err(|e| anyhow::anyhow!("opening the credit service: {e}"))?;
        credit_background = Some((
            credit
                .start()
                .context("starting credit's feed and closer")?,
            // Seals the logs below the horizon; one holder across processes.
            eventstore::seal::sealer::spawn(
                store.clone(),
                database.keyring.clone(),
                eventstore::seal::sealer::SealerConfig {
                    every: plan.seal_every,
                    ..Default::default()
                },
            ),
        ));
        Some(credit)
    } else {
        None
    };

    let mut subscribers = Vec::new();
    if let Some(identity) = &identity {
        subscribers.extend(identity.subscriptions());
    }
    if let Some(intake) = &intake {
        subscribers.extend(intake.subscriptions());
    }
    if let Some(dispatch) = &dispatch {
        subscribers.extend(dispatch.subscriptions());
    }
    if let Some(credit) = &credit {
        subscribers.extend(credit.subscriptions());
    }
    let mut lag =
        platform::metrics::Lag::new(store.pool().clone(), &subscribers).since(head_at_start);
    if credit.is_some() {
        lag = lag.with_sealing();
    }
    // A subscription still catching up with the log as it was at start, or a minute behind it,
    // makes the process not ready: its read models and process managers (tickets opened,
    // timelines, status pushes) are stale.
    let readiness = readiness.with_subscriptions(lag.clone(), 60.0);
    // The relay's lag is in /metrics, not in readiness: NATS being away must not take the API
    // out of the load balancer.
    let relaying = match &plan.relay {
        Some(config) => {
            subscribers.push(relay::SUBSCRIPTION);
            lag = lag.with_subscriptions(&subscribers);
            Some(relay::spawn(&store, config.clone()).context("starting the JetStream relay")?)
        }
        None => None,
    };
    // The working-day calendar: said at start, in /readyz and in /metrics before it ends.
    let calendar = plan.dispatch.sla.calendar().clone();
    if let Some(warning) = calendar.ending_soon(
        platform::calendar::Calendar::today(chrono::Utc::now()),
        platform::health::CALENDAR_NOTICE_DAYS,
    ) {
        tracing::warn!("{warning}");
    }
    if let Some(last) = calendar.last_day() {
        platform::metrics::watch_calendar(last);
    }
    let readiness = readiness.with_calendar(calendar);
    // The console calls the API over HTTP: the gateway, or this process once it is bound.
    let api_base = match &plan.api_url {
        Some(url) => heatline_console::ApiBase::at(url),
        None => heatline_console::ApiBase::default(),
    };
    let console = plan
        .runs(Service::Console)
        .then(|| heatline_console::Console::new(api_base.clone()));
    let verifier = verifier.map(web::Data::new);
    // Who may call what, for the services this process runs: anything else is refused.
    let mut tables = crate::policy::tables(
        identity.is_some(),
        intake.is_some(),
        dispatch.is_some(),
        credit.is_some(),
    );
    if console.is_some() {
        tables.push(heatline_console::policy::POLICY);
    }
    let policy = web::Data::new(
        platform::policy::Policy::of(&tables)
            .with_caps(platform::caps::Caps::of_api(&crate::docs::document())),
    );
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
            .wrap(actix_web::middleware::from_fn(platform::metrics::track))
            .wrap(actix_web::middleware::from_fn(platform::request::tag))
            .app_data(policy.clone())
            .app_data(platform::error::query_config())
            .app_data(platform::error::path_config())
            .configure(platform::health::configure(readiness.clone()))
            .configure(platform::metrics::configure(lag.clone()))
            .configure(crate::docs::configure)
            .default_service(web::to(platform::error::no_such_path));
        if let Some(verifier) = &verifier {
            app = app.app_data(verifier.clone());
        }
        if let Some(identity) = &identity {
            app = app.configure(identity.configure());
        }
        if let Some(intake) = &intake {
            app = app.configure(intake.configure());
        }
        if let Some(dispatch) = &dispatch {
            app = app.configure(dispatch.configure());
        }
        if let Some(credit) = &credit {
            app = app.configure(credit.configure());
        }
        if let Some(console) = &console {
            app = app.configure(console.configure());
        }
        app
    })
    .bind(plan.addr)
    .with_context(|| format!("cannot listen on {}", plan.addr))?;
    let addrs = server.addrs();
    if let Some(bound) = addrs.first() {
        // A process serving on every interface calls itself on the loopback.
        let host = if bound.ip().is_unspecified() {
            match bound {
                SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
                SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            }
        } else {
            bound.ip()
        };
        api_base.set(&format!("http://{}", SocketAddr::new(host, bound.port())));
    }
    Ok(Running {
        addrs,
        server: server.run(),
        background: Box::new((
            identity_background,
            intake_background,
            dispatch_background,
            credit_background,
            relaying,
        )),
        pool: store.pool().clone(),
    })
}
