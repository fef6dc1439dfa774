//! What a resident allows and has been told: channels on or off, the subscribe messages
//! granted per template, the latest notices; and remembering how to reach them.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use eventstore::personal::Personal;
use serde::Serialize;
use utoipa::ToSchema;

/// Remembers a resident's sealed openid or phone (whichever is given).
pub async fn remember(
    client: &impl GenericClient,
    account: &str,
    openid: Option<&Personal<String>>,
    phone: Option<&Personal<String>>,
    at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let json = |p: Option<&Personal<String>>| p.and_then(|p| serde_json::to_value(p).ok());
    client
        .execute(
            "INSERT INTO identity.resident_contact (account_id, openid, phone, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
             openid = coalesce(EXCLUDED.openid, identity.resident_contact.openid), \
             phone = coalesce(EXCLUDED.phone, identity.resident_contact.phone), \
             updated_at = EXCLUDED.updated_at",
            &[&account, &json(openid), &json(phone), &at],
        )
        .await?;
    Ok(())
}

/// A notice as its resident reads it back.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// `repair_signed`, `crew_assigned`, `crew_on_site`, `repair_resolved`, `refund_ready` or
    /// `stop_heating_decided`.
    pub kind: String,
    /// What it says.
    pub text: String,
    /// The mini-program page it opens.
    pub page: String,
    /// `pending`, `sent` or `dropped`.
    pub status: String,
    /// `wechat` or `sms`, once sent.
    pub channel: Option<String>,
    /// Why the last attempt failed, or why it was dropped.
    pub last_error: Option<String>,
    /// When it was owed.
    pub created_at: DateTime<Utc>,
}

/// A resident's notification settings and latest notices.
#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// WeChat subscribe messages allowed.
    pub wechat: bool,
    /// SMS allowed.
    pub sms: bool,
    /// Subscribe messages left per template family (`repair`, `refund`, `stop_heating`).
    pub subscriptions: std::collections::BTreeMap<String, i32>,
    /// The latest 20 notices, newest first.
    pub recent: Vec<NoticeView>,
}

/// Reads a resident's settings.
pub async fn settings(
    client: &impl GenericClient,
    account: &str,
) -> Result<Settings, tokio_postgres::Error> {
    let (wechat, sms) = client
        .query_opt(
            "SELECT wechat, sms FROM identity.notify_pref WHERE account_id = $1",
            &[&account],
        )
        .await?
        .map_or((true, true), |r| (r.get(0), r.get(1)));
    let mut subscriptions: std::collections::BTreeMap<String, i32> = super::FAMILIES
        .iter()
        .map(|f| ((*f).to_owned(), 0))
        .collect();
    for row in client
        .query(
            "SELECT template, remaining FROM identity.notify_quota WHERE account_id = $1",
            &[&account],
        )
        .await?
    {
        subscriptions.insert(row.get(0), row.get(1));
    }
    let recent = client
        .query(
            "SELECT kind, text, page, status, channel, last_error, created_at \
             FROM identity.notification WHERE account_id = $1 \
             ORDER BY created_at DESC, event_id DESC LIMIT 20",
            &[&account],
        )
        .await?
        .iter()
        .map(|r| NoticeView {
            kind: r.get(0),
            text: r.get(1),
            page: r.get(2),
            status: r.get(3),
            channel: r.get(4),
            last_error: r.get(5),
            created_at: r.get(6),
        })
        .collect();
    Ok(Settings {
        wechat,
        sms,
        subscriptions,
        recent,
    })
}

/// Turns channels on or off (`None` leaves one as it is).
pub async fn set_channels(
    client: &impl GenericClient,
    account: &str,
    wechat: Option<bool>,
    sms: Option<bool>,
    at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO identity.notify_pref (account_id, wechat, sms, updated_at) \
             VALUES ($1, coalesce($2, true), coalesce($3, true), $4) \
             ON CONFLICT (account_id) DO UPDATE SET \
             wechat = coalesce($2, identity.notify_pref.wechat), \
             sms = coalesce($3, identity.notify_pref.sms), updated_at = $4",
            &[&account, &wechat, &sms, &at],
        )
        .await?;
    Ok(())
}

/// The most subscribe messages kept per template family.
pub const MAX_QUOTA: i32 = 50;

/// Adds `accepted` subscribe messages of `family` (capped at [`MAX_QUOTA`]).
pub async fn grant(
    client: &impl GenericClient,
    account: &str,
    family: &str,
    accepted: i32,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO identity.notify_quota (account_id, template, remaining) \
             VALUES ($1, $2, least($3::int, $4::int)) ON CONFLICT (account_id, template) DO UPDATE SET \
             remaining = least(identity.notify_quota.remaining + $3::int, $4::int)",
            &[&account, &family, &accepted, &MAX_QUOTA],
        )
        .await?;
    Ok(())
}
