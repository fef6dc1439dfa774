//! The city's 12345 platform: the signature on its pushes, and the status updates it is owed
//! (signed, replied, finished, returned), kept in an outbox and delivered until it takes them.
//!
//! Signature: `X-12345-Timestamp` is the Unix time in seconds, `X-12345-Signature` the
//! lowercase hex HMAC-SHA256, under the shared secret, of the timestamp, a newline and the
//! body. Our status pushes are signed the same way and carry `Idempotency-Key: <event id>`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::Name;
use contracts::intake::v1 as proto;
use deadpool_postgres::Pool;
use eventstore::{
    Batch, HandlerError, PgEventStore, PublishedEvent, StoreError, SubscriptionConfig,
    SubscriptionHandle,
};
use hmac::{Hmac, Mac};
use platform::clock::Clock;
use sha2::Sha256;
use uuid::Uuid;

use crate::BackgroundTask;

/// The platform's connection.
#[derive(Debug, Clone)]
pub struct HotlineConfig {
    /// The secret shared with the platform.
    pub secret: String,
    /// Where status updates go (`{url}/work-orders/{no}/status`); none keeps them in the outbox.
    pub platform_url: Option<String>,
    /// The most clock skew tolerated on a push.
    pub max_skew: chrono::Duration,
    /// How often the delivery worker looks for due updates.
    pub poll: Duration,
    /// The first retry delay; it doubles per failed attempt.
    pub min_backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
}

impl HotlineConfig {
    /// Defaults: 5 minutes of skew, polling every second, retries from 2 s up to 5 minutes.
    pub fn new(secret: impl Into<String>, platform_url: Option<String>) -> Self {
        HotlineConfig {
            secret: secret.into(),
            platform_url,
            max_skew: chrono::Duration::minutes(5),
            poll: Duration::from_secs(1),
            min_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// Why a push's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or unreadable.
    #[error("the timestamp and signature headers are required")]
    Missing,
    /// The timestamp is too far from our clock (a replay, or a skewed clock).
    #[error("the timestamp is more than the allowed skew away from our clock")]
    Expired,
    /// The signature does not match.
    #[error("the signature does not match the body")]
    Invalid,
}

/// Signs `body` at `timestamp` (what the platform does, and what we do on status pushes).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a push: the timestamp within `max_skew` of `now`, the signature over it and the body
/// (compared in constant time).
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    max_skew: chrono::Duration,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(SignatureError::Missing)?;
    let signature = signature
        .and_then(|s| hex::decode(s.trim()).ok())
        .ok_or(SignatureError::Missing)?;
    if (now.timestamp() - timestamp).abs() > max_skew.num_seconds() {
        return Err(SignatureError::Expired);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| SignatureError::Invalid)
}

/// A status update owed to the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The work order.
    pub work_order: String,
    /// `signed`, `replied`, `finished` or `returned`.
    pub status: &'static str,
    /// What the platform shows its caller.
    pub note: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// A time of a published message (milliseconds since the epoch).
pub(crate) fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The update a published event owes the platform, if it concerns one of its work orders.
pub fn status_update(event: &PublishedEvent) -> Result<Option<StatusUpdate>, HandlerError> {
    let update = if event.is::<proto::ComplaintAccepted>() {
        let e = event.decode::<proto::ComplaintAccepted>()?;
        (
            e.hotline_work_order,
            "signed",
            "accepted by the heating office".to_owned(),
            e.filed_at_ms,
        )
    } else if event.is::<proto::ComplaintMerged>() {
        let e = event.decode::<proto::ComplaintMerged>()?;
        (
            e.hotline_work_order,
            "signed",
            format!(
                "accepted; handled with complaint {} of the same home",
                e.into_complaint_id
            ),
            e.filed_at_ms,
        )
    } else if event.is::<proto::ComplaintRejected>() {
        let e = event.decode::<proto::ComplaintRejected>()?;
        (e.hotline_work_order, "returned", e.reason, e.rejected_at_ms)
    } else if event.is::<proto::ComplaintWithdrawn>() {
        let e = event.decode::<proto::ComplaintWithdrawn>()?;
        let note = if e.reason.is_empty() {
            "withdrawn by the caller".to_owned()
        } else {
            format!("withdrawn by the caller: {}", e.reason)
        };
        (e.hotline_work_order, "finished", note, e.withdrawn_at_ms)
    } else {
        return Ok(None);
    };
    let (work_order, status, note, ms) = update;
    Ok((!work_order.is_empty()).then(|| StatusUpdate {
        work_order,
        status,
        note,
        occurred_at: at(ms),
    }))
}

struct Outbox;

#[async_trait]
impl eventstore::Handler for Outbox {
    /// The types [`status_update`] acts on.
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![
            proto::ComplaintAccepted::full_name(),
            proto::ComplaintMerged::full_name(),
            proto::ComplaintRejected::full_name(),
            proto::ComplaintWithdrawn::full_name(),
        ])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        for event in events {
            let Some(update) = status_update(event)? else {
                continue;
            };
            batch
                .tx()
                .execute(
                    include_str!("sql/outbox_insert.sql"),
                    &[
                        &event.event_id,
                        &update.work_order,
                        &update.status,
                        &update.note,
                        &update.occurred_at,
                    ],
                )
                .await?;
        }
        Ok(())
    }
}

/// Starts the subscription that fills the outbox from the public log.
pub fn spawn_outbox(store: &PgEventStore) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("intake", "hotline_outbox"),
        Outbox,
    )
}

/// Starts the worker that delivers due updates, oldest first per work order, signing each with
/// the time of `clock` (the one intake checks the platform's pushes against).
pub fn spawn_delivery(pool: Pool, config: HotlineConfig, clock: Arc<dyn Clock>) -> BackgroundTask {
    BackgroundTask::spawn(async move {
        let Some(url) = config.platform_url.clone() else {
            return;
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with a timeout builds");
        loop {
            if let Err(error) = deliver_due(&pool, &http, &url, &config, &*clock).await {
                tracing::warn!(%error, "12345 status delivery pass failed");
            }
            tokio::time::sleep(config.poll).await;
        }
    })
}

#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

impl From<deadpool_postgres::PoolError> for DeliveryError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        DeliveryError::Store(error.into())
    }
}

async fn deliver_due(
    pool: &Pool,
    http: &reqwest::Client,
    url: &str,
    config: &HotlineConfig,
    clock: &dyn Clock,
) -> Result<(), DeliveryError> {
    let mut client = pool.get().await?;
    let heads = client
        .query(include_str!("sql/outbox_due.sql"), &[])
        .await?;
    for head in heads {
        let event_id: Uuid = head.get("event_id");
        let tx = client.transaction().await?;
        // Another instance may be delivering it: skip rather than wait, and never send twice
        // at once.
        let Some(row) = tx
            .query_opt(include_str!("sql/outbox_claim.sql"), &[&event_id])
            .await?
        else {
            continue;
        };
        let work_order: String = row.get("work_order");
        let attempts: i32 = row.get("attempts");
        let body = serde_json::to_vec(&serde_json::json!({
            "event_id": event_id,
            "work_order_no": work_order,
            "status": row.get::<_, String>("status"),
            "note": row.get::<_, String>("note"),
            "occurred_at": row.get::<_, DateTime<Utc>>("occurred_at"),
        }))
        .unwrap_or_default();
        let timestamp = clock.now().timestamp();
        let outcome = http
            .post(format!("{url}/work-orders/{work_order}/status"))
            .header("content-type", "application/json")
            .header("idempotency-key", event_id.to_string())
            .header("x-12345-timestamp", timestamp.to_string())
            .header("x-12345-signature", sign(&config.secret, timestamp, &body))
            .body(body)
            .send()
            .await;
        let failure = match outcome {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the platform answered {}", response.status())),
            Err(error) => Some(error.without_url().to_string()),
        };
        match failure {
            None => {
                tx.execute(
                    "UPDATE intake.hotline_outbox SET delivered_at = now(), attempts = attempts + 1, \
                     last_error = NULL WHERE event_id = $1",
                    &[&event_id],
                )
                .await?;
            }
            Some(error) => {
                let delay = config
                    .min_backoff
                    .saturating_mul(1 << attempts.clamp(0, 16))
                    .min(config.max_backoff);
                tracing::warn!(%work_order, attempts = attempts + 1, %error, "12345 status not delivered; will retry");
                tx.execute(
                    "UPDATE intake.hotline_outbox SET attempts = attempts + 1, last_error = $2, \
                     next_attempt_at = now() + make_interval(secs => $3) WHERE event_id = $1",
                    &[&event_id, &error, &delay.as_secs_f64()],
                )
                .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_signature_is_checked_against_body_and_time() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        let body = br#"{"work_order_no":"WO-1"}"#;
        let ts = now.timestamp();
        let good = sign("s3cret", ts, body);
        let skew = chrono::Duration::minutes(5);
        let check = |t: i64, sig: &str, body: &[u8]| {
            verify("s3cret", Some(&t.to_string()), Some(sig), body, now, skew)
        };
        assert_eq!(check(ts, &good, body), Ok(()));
        assert_eq!(check(ts, &good, b"{}"), Err(SignatureError::Invalid));
        assert_eq!(check(ts + 1, &good, body), Err(SignatureError::Invalid));
        let old = ts - 301;
        assert_eq!(
            check(old, &sign("s3cret", old, body), body),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify("s3cret", None, Some(&good), body, now, skew),
            Err(SignatureError::Missing)
        );
        assert_eq!(check(ts, "zz", body), Err(SignatureError::Missing));
    }
}
