//! Rebuilding credit's read models (entries, standings, appeals, closings, publications; the
//! refund ledger's days) from their streams, while serving: one transaction that locks the tables against writes (readers go
//! on seeing the old rows until the commit), empties them and projects every event again, each
//! entry dated as it was recorded.

use cqrs_es::Aggregate;
use eventstore::{PgEventStore, StoreError};

use crate::domain::credit::SupplierCredit;
use crate::domain::parse_stream_id;
use crate::projection::project;

/// Rebuilds `credit.entry`, `standing`, `appeal`, `closing` and `publication`; answers the ledgers and events
/// projected.
pub async fn ledger(store: &PgEventStore) -> Result<(usize, usize), StoreError> {
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(
        "LOCK TABLE credit.entry, credit.standing, credit.appeal, credit.closing, \
         credit.publication IN SHARE ROW EXCLUSIVE MODE;
         DELETE FROM credit.publication;
         DELETE FROM credit.closing;
         DELETE FROM credit.appeal;
         DELETE FROM credit.entry;
         DELETE FROM credit.standing;",
    )
    .await?;
    let (mut ledgers, mut events) = (0, 0);
    for id in store.stream_ids::<SupplierCredit>().await? {
        let Some((supplier, season)) = parse_stream_id(&id) else {
            continue;
        };
        let mut credit = SupplierCredit::default();
        for recorded in store.stream::<SupplierCredit>(&id).await? {
            credit.apply(recorded.payload.clone());
            project(
                &tx,
                supplier,
                season,
                &credit,
                std::slice::from_ref(&recorded.payload),
                recorded.sequence,
                recorded.recorded_at,
            )
            .await?;
            events += 1;
        }
        ledgers += 1;
    }
    tx.commit().await?;
    Ok((ledgers, events))
}

/// Rebuilds the refund ledger's rows (`credit.refund_day`) from the households' refund accounts,
/// in the same way; answers the accounts and events projected.
pub async fn refunds(store: &PgEventStore) -> Result<(usize, usize), StoreError> {
    use crate::domain::refund_account::RefundAccount;
    use crate::refunds::accrual::{Accrued, project};
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(
        "LOCK TABLE credit.refund_day IN SHARE ROW EXCLUSIVE MODE;
         DELETE FROM credit.refund_day;",
    )
    .await?;
    let (mut accounts, mut events) = (0, 0);
    for id in store.stream_ids::<RefundAccount>().await? {
        let Some((season, household)) = id
            .split_once('/')
            .and_then(|(s, h)| Some((crate::domain::values::Season::parse(s)?, h)))
        else {
            continue;
        };
        let recorded = store.stream::<RefundAccount>(&id).await?;
        events += recorded.len();
        let accrued = Accrued {
            season,
            household: household.to_owned(),
            events: recorded.into_iter().map(|r| r.payload).collect(),
        };
        project(&tx, &accrued).await?;
        accounts += 1;
    }
    tx.commit().await?;
    Ok((accounts, events))
}
