//! Personal data: the household pseudonym key, erasure (on a regulator's approval, and after
//! the retention period that follows a complaint's closing), and rebuilding the complaints'
//! read model from the log, where erased data reads as erased.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Pool;
use eventstore::personal::{Erasing, Vault, deployment_secret, rewrap_deployment_secret};
use eventstore::{EventMetadata, PgEventStore, StoreError, StreamContext};
use secrets::Keyring;
use uuid::Uuid;

use crate::Intake;
use crate::domain::complaint::{Complaint, ComplaintEvent};
use crate::domain::erasure::{Erasure, ErasureEvent, ErasureScope};
use crate::domain::values::Pseudonyms;
use crate::projection::{insert_row, project};

/// The data subject of a complaint's personal data.
pub fn subject(complaint_id: Uuid) -> String {
    format!("complaint:{complaint_id}")
}

/// How long a complaint's personal data is kept after it closed, unless configured. A year
/// covers the rest of the season, the callback and the resident's reopening, the supplier's
/// appeal of the season's grade and the regulator's review of it, and the next season's
/// first weeks, when the same home's repeat complaint is judged against this one; after that
/// the handling no longer needs to know who called or what they said.
pub const DEFAULT_RETENTION: Duration = Duration::days(365);

const PSEUDONYM_CONTEXT: &str = "intake.pseudonym_key";

const PSEUDONYM_TABLE: &str = "intake.pseudonym_key";

/// The deployment's household pseudonyms, made on first use.
pub async fn pseudonyms(pool: &Pool, keyring: &Keyring) -> Result<Pseudonyms, StoreError> {
    let key = deployment_secret(pool, keyring, PSEUDONYM_TABLE, PSEUDONYM_CONTEXT).await?;
    Ok(Pseudonyms::new(key))
}

/// Re-wraps the pseudonym key with the current master key; answers 1 if it was needed.
pub async fn rewrap(pool: &Pool, keyring: &Keyring) -> Result<usize, StoreError> {
    rewrap_deployment_secret(pool, keyring, PSEUDONYM_TABLE, PSEUDONYM_CONTEXT).await
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Its audit record's id.
    pub erasure_id: Uuid,
    /// The complaints whose personal data it reached.
    pub complaints: Vec<Uuid>,
    /// The data subjects whose keys were destroyed.
    pub subjects: usize,
    /// The photos deleted from the file store.
    pub photos: usize,
}

/// Erases what `scope` covers (for [`ErasureScope::Retention`]: the complaints `due`): the
/// keys are destroyed, the read model's personal columns emptied and the audit record written,
/// in one transaction; then the photos no other complaint carries are deleted.
pub async fn erase(
    intake: &Intake,
    scope: ErasureScope,
    due: &[Uuid],
    reason: String,
    approval: Option<String>,
    metadata: &EventMetadata,
) -> Result<Erased, StoreError> {
    let (store, vault, photos) = (&intake.store, &intake.vault, &intake.photos);
    let erasings: Vec<Erasing> = match &scope {
        ErasureScope::Resident(id) => vec![Erasing::Resident(id.clone())],
        ErasureScope::Household(h) => vec![Erasing::Household(h.clone())],
        ErasureScope::Retention => due.iter().map(|c| Erasing::Subject(subject(*c))).collect(),
    };
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    let mut covered = BTreeSet::new();
    for erasing in &erasings {
        covered.extend(vault.covered(&tx, erasing).await?);
    }
    let mut complaints: BTreeSet<Uuid> = covered
        .iter()
        .filter_map(|s| s.strip_prefix("complaint:")?.parse().ok())
        .collect();
    // Rows whose events hold no key (written before keys existed) are emptied too.
    let unkeyed = match &scope {
        ErasureScope::Retention => {
            complaints.extend(due);
            None
        }
        ErasureScope::Resident(id) => Some(("filer", id)),
        ErasureScope::Household(h) => Some(("household", h)),
    };
    if let Some((column, value)) = unkeyed {
        let sql = format!(
            "SELECT complaint_id FROM intake.complaint \
             WHERE {column} = $1 AND personal_erased_at IS NULL"
        );
        for row in tx.query(&sql, &[value]).await? {
            complaints.insert(row.get(0));
        }
    }
    let complaints: Vec<Uuid> = complaints.into_iter().collect();
    let erasure_id = Uuid::now_v7();
    let record = Erasure::default()
        .decide(ErasureEvent::PersonalDataErased {
            scope,
            reason,
            approval,
            complaints: complaints.clone(),
            subjects: covered.len(),
            at: Utc::now(),
        })
        .expect("a new erasure records");
    // The audit record first: an append is its transaction's first write.
    store
        .append_in(
            &tx,
            &StreamContext::<Erasure>::new_stream(&erasure_id.to_string()),
            &[record],
            metadata,
        )
        .await
        .map_err(|e| StoreError::Decode(format!("recording the erasure: {e}")))?;
    for erasing in &erasings {
        vault.erase(&tx, erasing).await?;
    }
    let rows = tx
        .query(
            "SELECT DISTINCT unnest(photos) FROM intake.complaint WHERE complaint_id = ANY($1)",
            &[&complaints],
        )
        .await?;
    let carried: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    tx.execute(
        "UPDATE intake.complaint SET account_no = NULL, address = NULL, lat = NULL, long = NULL, \
         contact_phone = NULL, description = '', photos = '{}', \
         personal_erased_at = coalesce(personal_erased_at, now()) \
         WHERE complaint_id = ANY($1)",
        &[&complaints],
    )
    .await?;
    tx.commit().await?;
    store.notify_appended();
    let mut deleted = 0;
    for photo in carried {
        let still = client
            .query_opt(
                "SELECT 1 FROM intake.complaint WHERE $1 = ANY(photos) LIMIT 1",
                &[&photo],
            )
            .await?;
        if still.is_none() {
            match photos.delete(&photo).await {
                Ok(()) => deleted += 1,
                Err(error) => tracing::warn!(%error, photo, "an erased photo was not deleted"),
            }
        }
    }
    Ok(Erased {
        erasure_id,
        complaints,
        subjects: covered.len(),
        photos: deleted,
    })
}

/// The complaints closed before `before` whose personal data is still kept: withdrawn or
/// rejected, or whose repair's last step was its closing (a reopened repair is not closed).
pub async fn due_for_erasure(
    pool: &Pool,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT c.complaint_id FROM intake.complaint c \
             LEFT JOIN LATERAL (SELECT p.event, p.at FROM intake.complaint_progress p \
                 WHERE p.complaint_id = c.complaint_id ORDER BY p.at DESC LIMIT 1) last ON true \
             WHERE c.personal_erased_at IS NULL \
               AND ((c.status IN ('withdrawn', 'rejected') AND c.updated_at < $1) \
                 OR (last.event = 'closed' AND last.at < $1)) \
             ORDER BY c.complaint_id LIMIT $2",
            &[&before, &limit],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// What a rebuild of `intake.complaint` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Complaints.
    pub complaints: usize,
    /// Of which with their personal data erased.
    pub erased: usize,
}

/// Rebuilds `intake.complaint` and the reveal log from the complaints' events, in one
/// transaction (readers see the old rows until it commits). Personal data is opened with its
/// key; erased data is written as erased.
pub async fn rebuild(store: &PgEventStore, vault: &Vault) -> Result<Rebuilt, StoreError> {
    let ids = store.stream_ids::<Complaint>().await?;
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(
        "LOCK TABLE intake.complaint, intake.contact_reveal IN EXCLUSIVE MODE; \
         DELETE FROM intake.contact_reveal; DELETE FROM intake.complaint;",
    )
    .await?;
    let insert = tx
        .prepare_cached(crate::projection::INSERT_COMPLAINT)
        .await?;
    let mut rebuilt = Rebuilt {
        complaints: 0,
        erased: 0,
    };
    for id in ids {
        let Ok(complaint_id) = id.parse::<Uuid>() else {
            continue;
        };
        for recorded in store.stream::<Complaint>(&id).await? {
            let event = &recorded.payload;
            match event {
                ComplaintEvent::Accepted { details, .. }
                | ComplaintEvent::Merged { details, .. } => {
                    let contact = vault.open(&details.personal).await?;
                    rebuilt.complaints += 1;
                    rebuilt.erased += usize::from(contact.is_none());
                    insert_row(
                        &tx,
                        &insert,
                        complaint_id,
                        event,
                        recorded.sequence,
                        contact.as_ref(),
                    )
                    .await?;
                }
                _ => {
                    project(
                        &tx,
                        complaint_id,
                        event,
                        recorded.sequence,
                        recorded.metadata.request_id.as_deref(),
                    )
                    .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(rebuilt)
}
