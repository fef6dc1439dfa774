//! `heatline bench ...`: benchmarks that print their figures beside a baseline measured in the
//! same run.

mod eventstore;

use clap::Subcommand;

use crate::database::Database;

#[derive(Subcommand)]
pub enum Target {
    /// The event store: raw INSERT baseline, commands, batch appends, catch-up reads,
    /// subscription latency.
    Eventstore(eventstore::Options),
}

pub async fn run(database: &Database, target: Target) -> anyhow::Result<()> {
    match target {
        Target::Eventstore(options) => eventstore::run(database, options).await,
    }
}
