//! `heatline bench ...`: benchmarks that print their figures beside a baseline measured in the
//! same run.

mod console;
mod credit;
mod dispatch;
mod eventstore;
mod intake;
mod partitions;
mod procfs;
mod seal;
mod sensors;
mod system;
mod targets;

use std::time::Duration;

use clap::Subcommand;

use crate::database::Database;

#[derive(Subcommand)]
pub enum Target {
    /// The event store: raw INSERT baseline, commands, batch appends, catch-up reads,
    /// subscription latency.
    Eventstore(eventstore::Options),
    /// Complaint intake over HTTP: `POST /api/v1/complaints` with resident tokens, beside the
    /// event store's raw append rate.
    Intake(intake::Options),
    /// The dispatcher queue over HTTP with many open tickets, and how soon a ticket event is
    /// in the queue while events are written, beside plain SQL doing the same.
    Dispatch(dispatch::Options),
    /// A season of published events replayed into supplier scores, beside reading and
    /// decoding the same log without scoring it.
    Credit(credit::Options),
    /// The console's queue page with many open tickets, beside the JSON queue and band
    /// counts it is made from.
    Console(console::Options),
    /// The regulator's targets board over a season of a million events, beside counting the
    /// same rows.
    Targets(targets::Options),
    /// Sealing and verifying a log of a million events, and appends with the sealer running
    /// beside appends without it.
    Seal(seal::Options),
    /// A million room sensors reporting through MQTT (steady, then a burst), beside a raw
    /// `COPY` of the same rows: rate stored, lag, detection, storage, loss.
    Sensors(sensors::Options),
    /// Every service and subscription in `heatline serve`, driven over HTTP from another
    /// process, beside a minimal handler with one INSERT per request: accepted/s, latency,
    /// drain, memory.
    System(system::Options),
    /// The load generator `bench system` runs as a process of its own.
    #[command(hide = true)]
    Load(system::LoadOptions),
}

/// How a benchmark says whether its figure met its target.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

pub async fn run(database: &Database, target: Target) -> anyhow::Result<()> {
    match target {
        Target::Eventstore(options) => eventstore::run(database, options).await,
        Target::Intake(options) => intake::run(database, options).await,
        Target::Dispatch(options) => dispatch::run(database, options).await,
        Target::Credit(options) => credit::run(database, options).await,
        Target::Seal(options) => seal::run(database, options).await,
        Target::Console(options) => console::run(database, options).await,
        Target::Targets(options) => targets::run(database, options).await,
        Target::Sensors(options) => sensors::run(database, options).await,
        Target::System(options) => system::run(database, options).await,
        Target::Load(options) => system::load(options).await,
    }
}

/// The `q` quantile (0.5, 0.99) of sorted latencies.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

/// Milliseconds, for printing.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
