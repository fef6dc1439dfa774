//! `heatline serve`: the HTTP server.

use std::net::SocketAddr;

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use dispatch::{Dispatch, DispatchConfig};
use eventstore::PgEventStore;
use identity::{Identity, IdentityConfig};
use intake::{Intake, IntakeConfig};
use platform::clock::SystemClock;

use crate::database::Database;

pub async fn run(
    database: &Database,
    addr: SocketAddr,
    config: IdentityConfig,
    intake_config: IntakeConfig,
    dispatch_config: DispatchConfig,
) -> anyhow::Result<()> {
    database.migrate().await?;
    let store = PgEventStore::new(&database.config);
    let readiness = platform::health::Readiness::new(store.pool().clone())
        .with_migrations(identity::MIGRATION_TABLE, identity::known_migrations())
        .with_migrations(intake::MIGRATION_TABLE, intake::known_migrations())
        .with_migrations(dispatch::MIGRATION_TABLE, dispatch::known_migrations());
    let identity = Identity::open(store.clone(), Arc::new(SystemClock), config)
        .await
        .context("opening the identity service")?;
    let intake = Intake::open(store.clone(), Arc::new(SystemClock), intake_config)
        .await
        .map_err(|e| anyhow::anyhow!("opening the intake service: {e}"))?;
    let _intake_background = intake.start().context("starting intake's subscriptions")?;
    let dispatch = Dispatch::open(store.clone(), Arc::new(SystemClock), dispatch_config);
    let _dispatch_background = dispatch
        .start()
        .context("starting dispatch's feed and timer")?;
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
    // The services of this process verify tokens with identity's keys directly.
    let verifier = web::Data::new(identity.verifier());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .configure(platform::health::configure(readiness.clone()))
            .configure(identity.configure())
            .configure(intake.configure())
            .configure(dispatch.configure())
    })
    .bind(addr)
    .with_context(|| format!("cannot listen on {addr}"))?;
    for bound in server.addrs() {
        // Tests and scripts read this line to find the port when asked for port 0.
        println!("heatline listening on http://{bound}");
    }
    server.run().await.context("HTTP server failed")?;
    tracing::info!("heatline stopped");
    Ok(())
}
