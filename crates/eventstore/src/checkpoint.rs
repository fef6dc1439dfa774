//! A subscription's checkpoint: the table in the consumer's schema and its row, made when
//! missing, and moved by hand (a replay from a position, or a skip to it).

use crate::error::StoreError;
use crate::position::LogPosition;
use crate::store::PgEventStore;

/// A plain lowercase SQL identifier (a checkpoint schema is put into statements by name).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// Makes the schema's checkpoint table and the subscription's row (at the log's start) when
/// they are not there yet.
pub(crate) async fn ensure_checkpoint(
    tx: &deadpool_postgres::Transaction<'_>,
    schema: &str,
    name: &str,
) -> Result<(), StoreError> {
    // Several subscriptions of one schema may start at once; DDL races need a lock.
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock(hashtext('heatline.subscription.ddl'));
         CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.subscription_checkpoint (
             name            text PRIMARY KEY,
             tx_id           xid8 NOT NULL,
             global_position bigint NOT NULL,
             updated_at      timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await?;
    tx.execute(
        &format!(
            "INSERT INTO {schema}.subscription_checkpoint (name, tx_id, global_position)
             VALUES ($1, '0'::xid8, 0) ON CONFLICT (name) DO NOTHING"
        ),
        &[&name],
    )
    .await?;
    Ok(())
}

/// Moves a subscription's checkpoint to `position` (a replay from there, or a skip to it),
/// making it when it is not there yet. Meant for a subscription no process runs: a running
/// one would overwrite it with its next batch.
pub async fn set_checkpoint(
    store: &PgEventStore,
    schema: &str,
    name: &str,
    position: LogPosition,
) -> Result<(), StoreError> {
    if !is_identifier(schema) {
        return Err(StoreError::Decode(format!(
            "subscription schema {schema:?} is not a plain lowercase identifier"
        )));
    }
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    ensure_checkpoint(&tx, schema, name).await?;
    tx.execute(
        &format!(
            "UPDATE {schema}.subscription_checkpoint
             SET tx_id = $2::text::xid8, global_position = $3, updated_at = now()
             WHERE name = $1"
        ),
        &[&name, &position.tx_id_text(), &position.global_position],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_identifier;

    #[test]
    fn only_plain_lowercase_identifiers_name_a_checkpoint_schema() {
        assert!(is_identifier("dispatch"));
        assert!(is_identifier("credit_v2"));
        assert!(!is_identifier("Dispatch"));
        assert!(!is_identifier("x; DROP TABLE y"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("1abc"));
    }
}
