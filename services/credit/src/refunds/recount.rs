//! Households registered after their repairs. An accrual counts the households registered when
//! the repair was resolved, so a household imported later would never be counted: a sweep on a
//! timer counts each household once per import, from the facts as they are now, and accrues
//! what grew, as the accrual subscription does. Counting again adds nothing, so the sweep and
//! the subscription may both count a household.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventstore::{AppendError, PgEventStore, StoreError};
use platform::background::BackgroundTask;
use platform::clock::Clock;

use super::accrual::{Accrued, count, metadata, project, stream_id};
use super::read;
use crate::domain::refund_account::RefundAccount;
use crate::domain::refund_rules::RefundRulebook;
use crate::domain::values::Season;

/// Households counted per round of a sweep.
const ROUND: i64 = 500;

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum RecountError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The append failed.
    #[error(transparent)]
    Append(#[from] AppendError),
}

impl From<tokio_postgres::Error> for RecountError {
    fn from(error: tokio_postgres::Error) -> Self {
        RecountError::Store(error.into())
    }
}

/// Counts one household of the current season; answers whether anything was accrued. Another
/// writer appending to its account first makes it count again.
async fn household(
    store: &PgEventStore,
    version: &crate::domain::refund_rules::RefundVersion,
    season: Season,
    household: &str,
    now: DateTime<Utc>,
) -> Result<bool, RecountError> {
    let mut client = store.pool().get().await.map_err(StoreError::from)?;
    for _ in 0..5 {
        let tx = client.transaction().await?;
        let Some(home) = read::registered(&tx, &[household.to_owned()])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(false);
        };
        let command = count(&tx, version, season, &home, read::NOW, now).await?;
        let stream = stream_id(season, household);
        let context = store.load_in::<RefundAccount>(&tx, &stream).await?;
        let events = context.state().decide(command);
        if events.is_empty() {
            return Ok(false);
        }
        match store
            .append_in(&tx, &context, &events, &metadata(None))
            .await
        {
            Ok(_) => {}
            Err(AppendError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
        let accrued = Accrued {
            season,
            household: household.to_owned(),
            events,
        };
        project(&tx, &accrued).await?;
        tx.commit().await?;
        store.notify_appended();
        return Ok(true);
    }
    Err(AppendError::Conflict.into())
}

/// Counts every household not counted since its import; answers how many had something
/// accrued.
pub async fn sweep(
    store: &PgEventStore,
    rules: &RefundRulebook,
    city: &str,
    now: DateTime<Utc>,
) -> Result<usize, RecountError> {
    let season = Season::of(now);
    let Some(version) = rules.for_season(city, season) else {
        return Ok(0);
    };
    let client = store.pool().get().await.map_err(StoreError::from)?;
    let mut accrued = 0;
    loop {
        let due = client
            .query(
                "SELECT household, imported_at FROM credit.refund_household \
                 WHERE counted_at IS DISTINCT FROM imported_at ORDER BY imported_at, household \
                 LIMIT $1",
                &[&ROUND],
            )
            .await?;
        if due.is_empty() {
            return Ok(accrued);
        }
        for row in &due {
            let home: String = row.get(0);
            let imported: DateTime<Utc> = row.get(1);
            if self::household(store, version, season, &home, now).await? {
                accrued += 1;
            }
            client
                .execute(
                    "UPDATE credit.refund_household SET counted_at = $2 \
                     WHERE household = $1 AND imported_at = $2",
                    &[&home, &imported],
                )
                .await?;
        }
    }
}

/// Starts the sweep, every `every`.
pub fn spawn(
    store: PgEventStore,
    rules: Arc<RefundRulebook>,
    city: String,
    clock: Arc<dyn Clock>,
    every: Duration,
) -> BackgroundTask {
    BackgroundTask::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&store, &rules, &city, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    households = n,
                    "refunds of newly registered households accrued"
                ),
                Err(error) => {
                    tracing::warn!(%error, "counting newly registered households failed; trying again")
                }
            }
        }
    })
}
