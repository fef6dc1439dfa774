//! Delivering the outbox. Each due notice is claimed (`FOR UPDATE SKIP LOCKED`, so instances
//! share the work and never send one twice at once) and goes:
//! - by WeChat subscribe message when the resident allows WeChat, has an openid, the family
//!   has a template and the resident has a subscription of it left (one is used per message);
//!   43101 means none is left: the count drops to zero and the notice goes by SMS; 47003 (data
//!   refused) goes by SMS too; a refused access token is fetched again and tried once more;
//! - else by SMS when the resident allows it and has a phone;
//! - else it is dropped, naming why.
//!
//! A channel that is down (a timeout, a 5xx, WeChat busy) leaves the notice pending with a
//! backoff that doubles up to the configured maximum, for up to the configured time: WeChat or
//! the gateway down for an hour loses nothing. A notice is marked sent once the channel took
//! it; a crash between the two can send it twice, never lose it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use eventstore::personal::{Personal, Vault};
use platform::clock::Clock;
use platform::phone::PhoneNumber;
use serde_json::Value;
use uuid::Uuid;

use super::{NOTIFICATIONS, NotifyConfig};
use crate::sms::SmsGateway;
use crate::wechat::{SendError, Wechat};

/// The most notices handled in one look.
const BATCH: i64 = 20;

/// What a worker needs.
pub struct Delivery {
    /// The database.
    pub pool: Pool,
    /// Opens the sealed contacts.
    pub vault: Vault,
    /// WeChat, when configured.
    pub wechat: Option<Arc<Wechat>>,
    /// The SMS gateway, when configured.
    pub sms: Option<Arc<SmsGateway>>,
    /// Templates and timings.
    pub config: NotifyConfig,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
}

/// A claimed notice.
struct Due {
    id: Uuid,
    account: String,
    template: String,
    page: String,
    fields: Value,
    text: String,
    created_at: DateTime<Utc>,
    attempts: i32,
}

/// How one attempt ended.
enum Outcome {
    Sent(&'static str),
    Dropped(String),
    Later(String),
}

impl Delivery {
    async fn contact(
        &self,
        client: &impl GenericClient,
        account: &str,
    ) -> Result<(Option<String>, Option<PhoneNumber>), eventstore::StoreError> {
        let row = client
            .query_opt(
                "SELECT openid, phone FROM identity.resident_contact WHERE account_id = $1",
                &[&account],
            )
            .await?;
        let Some(row) = row else {
            return Ok((None, None));
        };
        let open = |value: Option<Value>| async {
            let Some(value) = value else {
                return Ok::<_, eventstore::StoreError>(None);
            };
            let Ok(sealed) = serde_json::from_value::<Personal<String>>(value) else {
                return Ok(None);
            };
            // An erased resident's key is gone: `None`, nothing to reach.
            self.vault.open(&sealed).await
        };
        let openid = open(row.get(0)).await?;
        let phone = open(row.get(1)).await?.and_then(|p| PhoneNumber::parse(&p));
        Ok((openid, phone))
    }

    async fn attempt(
        &self,
        client: &impl GenericClient,
        due: &Due,
    ) -> Result<Outcome, eventstore::StoreError> {
        let prefs = client
            .query_opt(
                "SELECT wechat, sms FROM identity.notify_pref WHERE account_id = $1",
                &[&due.account],
            )
            .await?
            .map_or((true, true), |r| (r.get(0), r.get(1)));
        let (openid, phone) = self.contact(client, &due.account).await?;
        let template = self.config.templates.get(&due.template);
        let quota: i32 = client
            .query_opt(
                "SELECT remaining FROM identity.notify_quota \
                 WHERE account_id = $1 AND template = $2",
                &[&due.account, &due.template],
            )
            .await?
            .map_or(0, |r| r.get(0));
        let mut why_not_wechat = match (&self.wechat, prefs.0, &openid, template, quota) {
            (None, ..) | (_, _, _, None, _) => "WeChat messages are not configured".to_owned(),
            (_, false, ..) => "the resident turned WeChat off".to_owned(),
            (_, _, None, ..) => "no WeChat login".to_owned(),
            (_, _, _, _, q) if q <= 0 => "no subscription left for the template".to_owned(),
            (Some(wechat), _, Some(openid), Some(template), _) => {
                match self.send_wechat(wechat, openid, template, due).await {
                    Ok(()) => {
                        client
                            .execute(
                                "UPDATE identity.notify_quota SET remaining = remaining - 1 \
                                 WHERE account_id = $1 AND template = $2 AND remaining > 0",
                                &[&due.account, &due.template],
                            )
                            .await?;
                        return Ok(Outcome::Sent("wechat"));
                    }
                    Err(SendError::NotSubscribed) => {
                        client
                            .execute(
                                "UPDATE identity.notify_quota SET remaining = 0 \
                                 WHERE account_id = $1 AND template = $2",
                                &[&due.account, &due.template],
                            )
                            .await?;
                        "WeChat: no subscription left (43101)".to_owned()
                    }
                    Err(SendError::BadData(message)) => {
                        tracing::warn!(notification.id = %due.id, %message, "WeChat refused a notice's data");
                        format!("WeChat refused the data (47003): {message}")
                    }
                    Err(error @ (SendError::Unavailable(_) | SendError::Token(_))) => {
                        return Ok(Outcome::Later(format!("WeChat: {error}")));
                    }
                    Err(SendError::Other { code, message }) => {
                        tracing::warn!(notification.id = %due.id, code, %message, "WeChat refused a notice");
                        format!("WeChat error {code}: {message}")
                    }
                }
            }
        };
        match (&self.sms, prefs.1, phone) {
            (Some(sms), true, Some(phone)) => {
                match sms.send_text(&phone, &due.template, &due.text).await {
                    Ok(()) => Ok(Outcome::Sent("sms")),
                    Err(why) => Ok(Outcome::Later(format!("SMS: {why}"))),
                }
            }
            (None, ..) => {
                why_not_wechat.push_str("; no SMS gateway");
                Ok(Outcome::Dropped(why_not_wechat))
            }
            (_, false, _) => {
                why_not_wechat.push_str("; the resident turned SMS off");
                Ok(Outcome::Dropped(why_not_wechat))
            }
            (_, true, None) => {
                why_not_wechat.push_str("; no phone");
                Ok(Outcome::Dropped(why_not_wechat))
            }
        }
    }

    /// Sends by WeChat; a refused access token is fetched again and the message tried once
    /// more.
    async fn send_wechat(
        &self,
        wechat: &Wechat,
        openid: &str,
        template: &str,
        due: &Due,
    ) -> Result<(), SendError> {
        match wechat
            .subscribe_send(openid, template, &due.page, &due.fields)
            .await
        {
            Err(SendError::Token(_)) => {
                wechat.forget_token().await;
                wechat
                    .subscribe_send(openid, template, &due.page, &due.fields)
                    .await
            }
            other => other,
        }
    }

    /// Delivers the notices due now; answers how many were handled.
    pub async fn run_once(&self) -> Result<usize, eventstore::StoreError> {
        let now = self.clock.now();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let due: Vec<Due> = tx
            .query(
                "SELECT notification_id, account_id, template, page, fields, text, created_at, \
                 attempts FROM identity.notification \
                 WHERE status = 'pending' AND next_at <= $1 \
                 ORDER BY next_at, event_id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&now, &BATCH],
            )
            .await?
            .iter()
            .map(|r| Due {
                id: r.get(0),
                account: r.get(1),
                template: r.get(2),
                page: r.get(3),
                fields: r.get(4),
                text: r.get(5),
                created_at: r.get(6),
                attempts: r.get(7),
            })
            .collect();
        for notice in &due {
            let outcome = self.attempt(&tx, notice).await?;
            let attempts = notice.attempts + 1;
            match outcome {
                Outcome::Sent(channel) => {
                    platform::metrics::count(
                        NOTIFICATIONS,
                        &[("channel", channel), ("outcome", "sent")],
                    );
                    tx.execute(
                        "UPDATE identity.notification SET status = 'sent', channel = $2, \
                         attempts = $3, done_at = $4 WHERE notification_id = $1",
                        &[&notice.id, &channel, &attempts, &now],
                    )
                    .await?;
                }
                Outcome::Dropped(why) => {
                    platform::metrics::count(
                        NOTIFICATIONS,
                        &[("channel", "none"), ("outcome", "dropped")],
                    );
                    tx.execute(
                        "UPDATE identity.notification SET status = 'dropped', attempts = $2, \
                         last_error = $3, done_at = $4 WHERE notification_id = $1",
                        &[&notice.id, &attempts, &why, &now],
                    )
                    .await?;
                }
                Outcome::Later(why) if now - notice.created_at >= self.config.give_up_after => {
                    platform::metrics::count(
                        NOTIFICATIONS,
                        &[("channel", "none"), ("outcome", "gave_up")],
                    );
                    tracing::warn!(notification.id = %notice.id, %why, "notice given up");
                    let why = format!("given up after {attempts} attempts: {why}");
                    tx.execute(
                        "UPDATE identity.notification SET status = 'dropped', attempts = $2, \
                         last_error = $3, done_at = $4 WHERE notification_id = $1",
                        &[&notice.id, &attempts, &why, &now],
                    )
                    .await?;
                }
                Outcome::Later(why) => {
                    platform::metrics::count(
                        NOTIFICATIONS,
                        &[("channel", "none"), ("outcome", "retry")],
                    );
                    let wait =
                        chrono::Duration::seconds(5 * 2_i64.pow(attempts.clamp(0, 12) as u32))
                            .min(self.config.max_backoff);
                    tx.execute(
                        "UPDATE identity.notification SET attempts = $2, last_error = $3, \
                         next_at = $4 WHERE notification_id = $1",
                        &[&notice.id, &attempts, &why, &(now + wait)],
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(due.len())
    }
}

/// Runs the worker every `config.every` until the returned task is dropped.
pub fn spawn(delivery: Delivery) -> platform::background::BackgroundTask {
    platform::background::BackgroundTask::spawn(async move {
        let mut ticks = tokio::time::interval(delivery.config.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            loop {
                match delivery.run_once().await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "notices not delivered; trying again");
                        break;
                    }
                }
            }
        }
    })
}
