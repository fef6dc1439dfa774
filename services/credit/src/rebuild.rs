//! Rebuilding credit's read model (entries, standings, appeals, closings, publications) from the ledgers'
//! streams, while serving: one transaction that locks the tables against writes (readers go
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
