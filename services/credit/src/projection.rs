//! The read model of a ledger, written in the transaction of its events: entries, the standing,
//! appeals and closings can never disagree with the ledger.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use crate::domain::credit::{CreditEvent, SupplierCredit};
use crate::domain::values::{Grade, Season};

/// Writes what `events` (numbered from `first_sequence`) changed; `credit` is the ledger after
/// them.
pub async fn project(
    tx: &Transaction<'_>,
    supplier: &str,
    season: Season,
    credit: &SupplierCredit,
    events: &[CreditEvent],
    first_sequence: usize,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let season = season.to_string();
    let insert_entry = tx
        .prepare_cached(include_str!("sql/insert_entry.sql"))
        .await?;
    for (n, event) in events.iter().enumerate() {
        let sequence = (first_sequence + n) as i64;
        match event {
            CreditEvent::EntryRecorded(entry) => {
                tx.execute(
                    &insert_entry,
                    &[
                        &entry.entry_id,
                        &supplier,
                        &season,
                        &sequence,
                        &entry.dimension.as_str(),
                        &entry.rule,
                        &entry.version,
                        &entry.points,
                        &entry.evidence,
                        &entry.tickets,
                        &entry.detail,
                        &entry.at,
                        &entry.reverses,
                        &now,
                    ],
                )
                .await?;
            }
            CreditEvent::AppealFiled {
                appeal_id,
                entry,
                statement,
                attachments,
                at,
            } => {
                tx.execute(
                    "INSERT INTO credit.appeal (appeal_id, season, supplier_id, entry_id, \
                     statement, attachments, filed_at, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
                    &[
                        appeal_id,
                        &season,
                        &supplier,
                        &entry.entry_id,
                        statement,
                        attachments,
                        at,
                    ],
                )
                .await?;
            }
            CreditEvent::AppealDecided {
                appeal_id,
                upheld,
                reason,
                at,
            } => {
                let status = if *upheld { "upheld" } else { "rejected" };
                tx.execute(
                    "UPDATE credit.appeal SET status = $2, reason = $3, decided_at = $4 \
                     WHERE appeal_id = $1",
                    &[appeal_id, &status, reason, at],
                )
                .await?;
            }
            CreditEvent::PeriodClosed {
                period,
                is_final,
                score,
                vetoed,
                at,
            } => {
                tx.execute(
                    "INSERT INTO credit.closing (season, supplier_id, period, is_final, score, \
                     grade, vetoed, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &season,
                        &supplier,
                        period,
                        is_final,
                        score,
                        &Grade::of(*score, *vetoed).as_str(),
                        vetoed,
                        at,
                    ],
                )
                .await?;
            }
            CreditEvent::PeriodPublished {
                period,
                score,
                vetoed,
                at,
            } => {
                tx.execute(
                    "INSERT INTO credit.publication (season, supplier_id, period, score, grade, \
                     vetoed, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &season,
                        &supplier,
                        period,
                        score,
                        &Grade::of(*score, *vetoed).as_str(),
                        vetoed,
                        at,
                    ],
                )
                .await?;
            }
        }
    }
    let p = &credit.points;
    let version = (first_sequence + events.len()).saturating_sub(1) as i64;
    tx.execute(
        include_str!("sql/upsert_standing.sql"),
        &[
            &season,
            &supplier,
            &p[0],
            &p[1],
            &p[2],
            &p[3],
            &p[4],
            &p[5],
            &credit.score(),
            &credit.current_grade().as_str(),
            &!credit.vetoes.is_empty(),
            &version,
            &now,
        ],
    )
    .await?;
    Ok(())
}
