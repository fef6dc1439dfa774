//! `heatline bench ...`: benchmarks that print their figures beside a baseline measured in the
//! same run.

mod eventstore;
mod intake;

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
}

pub async fn run(database: &Database, target: Target) -> anyhow::Result<()> {
    match target {
        Target::Eventstore(options) => eventstore::run(database, options).await,
        Target::Intake(options) => intake::run(database, options).await,
    }
}
