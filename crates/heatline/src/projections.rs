//! `heatline projections`: the read models that can be rebuilt from the event streams, and
//! rebuilding one while the system serves.

use anyhow::Context;
use clap::Subcommand;
use eventstore::PgEventStore;

use crate::database::Database;

/// The read models `rebuild` knows, with what they hold.
const KNOWN: [(&str, &str); 4] = [
    (
        "intake.complaints",
        "the complaints as staff and residents read them, and the log of contact reveals (erased personal data stays erased)",
    ),
    (
        "dispatch.queue",
        "the dispatcher queue, the complaints each ticket carries, the SLA timer's deadlines and the crew register",
    ),
    (
        "credit.ledger",
        "the ledger entries, standings, appeals and closings of every supplier and season",
    ),
    (
        "credit.refunds",
        "every household's refunded days of every season, as accrued",
    ),
];

#[derive(Subcommand)]
pub enum ProjectionsCommand {
    /// List the read models that can be rebuilt.
    List,
    /// Rebuild a read model from the event streams, while serving: writes to it wait for the
    /// rebuild's one transaction, reads go on seeing the old rows until it commits.
    Rebuild {
        /// `intake.complaints`, `dispatch.queue`, `credit.ledger` or `credit.refunds`.
        name: String,
    },
}

pub async fn run(database: &Database, command: ProjectionsCommand) -> anyhow::Result<()> {
    match command {
        ProjectionsCommand::List => {
            for (name, holds) in KNOWN {
                println!("{name:16} {holds}");
            }
            Ok(())
        }
        ProjectionsCommand::Rebuild { name } => {
            if !KNOWN.iter().any(|(known, _)| *known == name) {
                let names: Vec<&str> = KNOWN.iter().map(|(n, _)| *n).collect();
                anyhow::bail!(
                    "no read model is named {name:?}; these can be rebuilt: {}",
                    names.join(", ")
                );
            }
            database.migrate().await?;
            let store = PgEventStore::new(&database.config);
            let started = std::time::Instant::now();
            let working =
                crate::progress::spinner(&format!("rebuilding {name} from the event streams"));
            let rebuilt = match name.as_str() {
                "intake.complaints" => {
                    let vault = eventstore::personal::Vault::new(
                        store.pool().clone(),
                        database.keyring.clone(),
                    );
                    intake::privacy::rebuild(&store, &vault)
                        .await
                        .context("rebuilding intake.complaints")
                        .map(|r| {
                            format!(
                                "{} complaints, {} with personal data erased",
                                r.complaints, r.erased
                            )
                        })
                }
                "dispatch.queue" => dispatch::rebuild::queue(&store, chrono::Utc::now())
                    .await
                    .context("rebuilding dispatch.queue")
                    .map(|r| format!("{} tickets, {} crews", r.tickets, r.crews)),
                "credit.refunds" => credit::rebuild::refunds(&store)
                    .await
                    .context("rebuilding credit.refunds")
                    .map(|(accounts, events)| format!("{accounts} accounts, {events} events")),
                _ => credit::rebuild::ledger(&store)
                    .await
                    .context("rebuilding credit.ledger")
                    .map(|(ledgers, events)| format!("{ledgers} ledgers, {events} events")),
            };
            working.finish_and_clear();
            println!(
                "{name} rebuilt: {} in {:.1} s",
                rebuilt?,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}
