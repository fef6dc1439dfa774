//! `heatline serve`: the HTTP server.

use std::net::SocketAddr;

use actix_web::{App, HttpServer};
use anyhow::Context;
use eventstore::PgEventStore;

use crate::database::Database;

pub async fn run(database: &Database, addr: SocketAddr) -> anyhow::Result<()> {
    database.migrate().await?;
    let store = PgEventStore::new(&database.config);
    let readiness = platform::health::Readiness::new(store.pool().clone());
    let server = HttpServer::new(move || {
        App::new().configure(platform::health::configure(readiness.clone()))
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
