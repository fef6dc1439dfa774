//! The refunds' fee basis: the registered households, written whole in one transaction.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use eventstore::StoreError;

/// One household's fee basis, keyed as the published events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    /// The household key.
    pub household: String,
    /// Its building.
    pub building_id: String,
    /// Its district.
    pub district: String,
    /// The supplier that heats it.
    pub supplier_id: String,
    /// Heated area in hundredths of a m².
    pub area_centi_m2: i64,
    /// The season's price per m², in fen.
    pub price_fen_per_m2: i64,
}

/// Adds or replaces `households`, all or none. Returns how many were written.
pub async fn import(
    pool: &Pool,
    households: &[Household],
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare(
            "INSERT INTO credit.refund_household (household, building_id, district, supplier_id, \
             area_centi_m2, price_fen_per_m2, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (household) DO UPDATE SET building_id = $2, district = $3, \
             supplier_id = $4, area_centi_m2 = $5, price_fen_per_m2 = $6, imported_at = $7",
        )
        .await?;
    for h in households {
        tx.execute(
            &statement,
            &[
                &h.household,
                &h.building_id,
                &h.district,
                &h.supplier_id,
                &h.area_centi_m2,
                &h.price_fen_per_m2,
                &at,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(households.len())
}

/// How many households each building has in the registry.
pub async fn per_building(pool: &Pool) -> Result<Vec<(String, i64)>, StoreError> {
    let client = pool.get().await?;
    Ok(client
        .query(
            "SELECT building_id, count(*) FROM credit.refund_household GROUP BY building_id \
             ORDER BY building_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
