//! Closing periods: once a heating month has ended, each supplier's ledger records the grade
//! it had at the month's end; once the season's heating has ended, the final grade. Looked at
//! on a timer from the service's clock, so a closing missed while stopped happens at start.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventstore::{Actor, Channel, EventMetadata};
use platform::background::BackgroundTask;
use platform::clock::Clock;

use crate::domain::credit::{CreditCommand, CreditError};
use crate::domain::values::Season;
use crate::ledger::{CommandError, Ledger};
use crate::views::sums_as_of;

/// Closes every period that has ended; returns how many it closed.
pub async fn sweep(ledger: &Ledger, now: DateTime<Utc>) -> Result<usize, CommandError> {
    let client = ledger
        .store()
        .pool()
        .get()
        .await
        .map_err(eventstore::StoreError::from)?;
    let rows = client
        .query(
            "SELECT s.season, s.supplier_id, \
             coalesce(array_agg(c.period) FILTER (WHERE c.period IS NOT NULL), '{}') \
             FROM credit.standing s LEFT JOIN credit.closing c \
             ON c.season = s.season AND c.supplier_id = s.supplier_id \
             GROUP BY s.season, s.supplier_id",
            &[],
        )
        .await?;
    let mut closed = 0;
    for row in rows {
        let Some(season) = Season::parse(row.get(0)) else {
            continue;
        };
        let supplier: String = row.get(1);
        let done: Vec<String> = row.get(2);
        let mut due: Vec<(String, DateTime<Utc>, bool)> = season
            .months()
            .into_iter()
            .map(|(period, end)| (period, end, false))
            .collect();
        due.push((season.to_string(), season.final_at(), true));
        for (period, end, is_final) in due {
            if end > now || done.contains(&period) {
                continue;
            }
            let last_moment = end - chrono::Duration::milliseconds(1);
            let sums = sums_as_of(&client, &supplier, season, last_moment).await?;
            let command = CreditCommand::Close {
                period,
                is_final,
                score: sums.score(),
                vetoed: sums.vetoed,
                at: end,
            };
            let metadata = EventMetadata::new(Actor::system(), Channel::System);
            match ledger.execute(&supplier, season, command, &metadata).await {
                Ok(_) => closed += 1,
                Err(CommandError::Refused(CreditError::AlreadyClosed(_))) => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(closed)
}

/// Starts the closer.
pub fn spawn(ledger: Ledger, clock: Arc<dyn Clock>, every: Duration) -> BackgroundTask {
    BackgroundTask::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&ledger, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(periods = n, "credit periods closed"),
                Err(error) => tracing::warn!(%error, "closing credit periods failed; trying again"),
            }
        }
    })
}
