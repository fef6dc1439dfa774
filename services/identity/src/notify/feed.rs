//! The notifications subscription: who filed what (complaints, tickets, households,
//! applications) and, for each step a resident is owed, one outbox row per resident. Rows are
//! keyed by the event and the resident, so a redelivered batch owes nothing more; events older
//! than a day when first read (a new deployment catching up on the log) owe nothing.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::Name;
use contracts::credit::v1 as credit;
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use eventstore::{
    Batch, HandlerError, PgEventStore, PublishedEvent, StoreError, SubscriptionConfig,
    SubscriptionHandle, Writes, params,
};
use platform::clock::Clock;
use serde_json::{Value, json};
use uuid::Uuid;

/// The subscription's name in the `identity` schema.
pub const NAME: &str = "notifications";

/// A notice owed to whoever `subject` reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// `complaint:…`, `ticket:…`, `household:…` or `application:…`.
    pub subject: String,
    /// What happened: `repair_signed`, `crew_assigned`, `crew_on_site`, `repair_resolved`,
    /// `refund_ready`, `stop_heating_decided`.
    pub kind: &'static str,
    /// The template family.
    pub template: &'static str,
    /// The mini-program page it opens.
    pub page: String,
    /// The template's data.
    pub fields: Value,
    /// The SMS wording.
    pub text: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// China time as a subscribe message's `time` field shows it.
fn shown(at: DateTime<Utc>) -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&china)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A `thing` field: at most 20 characters.
fn thing(text: &str) -> String {
    text.chars().take(20).collect()
}

fn repair(ticket: &str, kind: &'static str, status: &str, what: &str, when: i64) -> Notice {
    let at = at(when);
    let page = if kind == "repair_resolved" {
        format!("pages/ticket/detail?id={ticket}&verdict=ask")
    } else {
        format!("pages/ticket/detail?id={ticket}")
    };
    let short: String = ticket.chars().take(8).collect();
    Notice {
        subject: format!("ticket:{ticket}"),
        kind,
        template: "repair",
        page,
        fields: json!({
            "phrase1": { "value": status },
            "thing2": { "value": thing(what) },
            "time3": { "value": shown(at) },
            "character_string4": { "value": short },
        }),
        text: format!("【热线供暖】您的报修（{short}）{what}。"),
        at,
    }
}

/// The notice an event owes, if any.
pub fn notice(event: &PublishedEvent) -> Result<Option<Notice>, HandlerError> {
    Ok(if event.is::<dispatch::TicketSigned>() {
        let m: dispatch::TicketSigned = event.decode()?;
        Some(repair(
            &m.ticket_id,
            "repair_signed",
            "已受理",
            "供热单位已签收，正在安排维修",
            m.signed_at_ms,
        ))
    } else if event.is::<dispatch::CrewAssigned>() {
        let m: dispatch::CrewAssigned = event.decode()?;
        Some(repair(
            &m.ticket_id,
            "crew_assigned",
            "已派工",
            "维修班组已派出",
            m.assigned_at_ms,
        ))
    } else if event.is::<dispatch::CrewOnSite>() {
        let m: dispatch::CrewOnSite = event.decode()?;
        Some(repair(
            &m.ticket_id,
            "crew_on_site",
            "已到场",
            "维修人员已到达现场",
            m.arrived_at_ms,
        ))
    } else if event.is::<dispatch::TicketResolved>() {
        let m: dispatch::TicketResolved = event.decode()?;
        Some(repair(
            &m.ticket_id,
            "repair_resolved",
            "已修复",
            "已修复，家里热了吗？请点开评价",
            m.resolved_at_ms,
        ))
    } else if event.is::<credit::RefundAccrued>() {
        let m: credit::RefundAccrued = event.decode()?;
        let at = at(m.accrued_at_ms);
        let yuan = format!(
            "{}.{:02}元",
            m.season_total_fen / 100,
            m.season_total_fen % 100
        );
        Some(Notice {
            subject: format!("household:{}", m.household),
            kind: "refund_ready",
            template: "refund",
            page: format!("pages/refunds/index?season={}", m.season),
            fields: json!({
                "amount1": { "value": yuan },
                "thing2": { "value": thing(&format!("{}供暖季室温不达标退费", m.season)) },
                "time3": { "value": shown(at) },
            }),
            text: format!(
                "【热线供暖】{}供暖季您家室温不达标的退费已累计{yuan}，详见小程序退费明细。",
                m.season
            ),
            at,
        })
    } else if event.is::<dispatch::StopHeatingReplied>() {
        let m: dispatch::StopHeatingReplied = event.decode()?;
        let at = at(m.replied_at_ms);
        let stop = m.kind() != intake::StopHeatingKind::Restore;
        let what = if stop {
            "停暖申请"
        } else {
            "恢复供暖申请"
        };
        let (status, outcome) = if m.approved {
            ("已同意", "已同意，班组将上门处理阀门".to_owned())
        } else {
            ("未通过", format!("未通过：{}", m.note))
        };
        Some(Notice {
            subject: format!("application:{}", m.application_id),
            kind: "stop_heating_decided",
            template: "stop_heating",
            page: format!("pages/stop-heating/detail?id={}", m.application_id),
            fields: json!({
                "phrase1": { "value": status },
                "thing2": { "value": thing(&format!("{}{what}", m.season)) },
                "thing3": { "value": thing(&outcome) },
                "time4": { "value": shown(at) },
            }),
            text: format!("【热线供暖】您的{}{what}{outcome}。", m.season),
            at,
        })
    } else {
        None
    })
}

/// Who filed what, as an event tells it: `(subject, resident)` pairs to remember, or subjects
/// that take on the residents of others (`(to, from)`).
enum Parties {
    Filed(Vec<(String, String)>),
    Carry(Vec<(String, String)>),
}

fn resident_source(source: i32) -> bool {
    matches!(
        intake::Source::try_from(source).unwrap_or_default(),
        intake::Source::App | intake::Source::Wechat
    )
}

fn parties(event: &PublishedEvent) -> Result<Option<Parties>, HandlerError> {
    Ok(if event.is::<intake::ComplaintAccepted>() {
        let m: intake::ComplaintAccepted = event.decode()?;
        resident_source(m.source).then(|| {
            Parties::Filed(vec![
                (format!("complaint:{}", m.complaint_id), m.filed_by.clone()),
                (format!("household:{}", m.household), m.filed_by),
            ])
        })
    } else if event.is::<intake::ComplaintMerged>() {
        let m: intake::ComplaintMerged = event.decode()?;
        resident_source(m.source).then(|| {
            Parties::Filed(vec![
                (format!("complaint:{}", m.complaint_id), m.filed_by.clone()),
                (
                    format!("complaint:{}", m.into_complaint_id),
                    m.filed_by.clone(),
                ),
                (format!("household:{}", m.household), m.filed_by),
            ])
        })
    } else if event.is::<intake::StopHeatingApplied>() {
        let m: intake::StopHeatingApplied = event.decode()?;
        Some(Parties::Filed(vec![(
            format!("application:{}", m.application_id),
            m.filed_by,
        )]))
    } else if event.is::<dispatch::TicketOpened>() {
        let m: dispatch::TicketOpened = event.decode()?;
        let ticket = format!("ticket:{}", m.ticket_id);
        Some(Parties::Carry(
            m.complaint_ids
                .iter()
                .map(|c| (ticket.clone(), format!("complaint:{c}")))
                .collect(),
        ))
    } else if event.is::<dispatch::ComplaintAttached>() {
        let m: dispatch::ComplaintAttached = event.decode()?;
        Some(Parties::Carry(vec![(
            format!("ticket:{}", m.ticket_id),
            format!("complaint:{}", m.complaint_id),
        )]))
    } else {
        None
    })
}

struct Feed {
    clock: Arc<dyn Clock>,
}

#[async_trait]
impl eventstore::Handler for Feed {
    /// The types [`parties`] and [`notice`] act on.
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![
            intake::ComplaintAccepted::full_name(),
            intake::ComplaintMerged::full_name(),
            intake::StopHeatingApplied::full_name(),
            dispatch::TicketOpened::full_name(),
            dispatch::ComplaintAttached::full_name(),
            dispatch::TicketSigned::full_name(),
            dispatch::CrewAssigned::full_name(),
            dispatch::CrewOnSite::full_name(),
            dispatch::TicketResolved::full_name(),
            dispatch::StopHeatingReplied::full_name(),
            credit::RefundAccrued::full_name(),
        ])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let tx = batch.tx();
        let now = self.clock.now();
        // The parties' rows go out together, a run of one kind in one statement; a notice
        // that must read them sends what waits first.
        let mut writes = Writes::new();
        let mut run = PartyRun::default();
        for event in events {
            match parties(event)? {
                Some(Parties::Filed(pairs)) => {
                    for (subject, account) in pairs.into_iter().filter(|(_, a)| !a.is_empty()) {
                        run.add(&mut writes, RunKind::Filed, subject, account);
                    }
                }
                Some(Parties::Carry(pairs)) => {
                    for (to, from) in pairs {
                        run.add(&mut writes, RunKind::Carry, to, from);
                    }
                }
                None => {}
            }
            let Some(notice) = notice(event)? else {
                continue;
            };
            if now - notice.at > chrono::Duration::days(1) {
                continue;
            }
            run.queue(&mut writes);
            writes.send(tx).await?;
            let residents: Vec<String> = tx
                .query(
                    "SELECT account_id FROM identity.notify_party WHERE subject = $1 \
                     ORDER BY account_id",
                    &[&notice.subject],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            for resident in residents {
                let id = Uuid::new_v5(&event.event_id, resident.as_bytes());
                writes.push(
                    "INSERT INTO identity.notification (notification_id, account_id, kind, \
                     template, page, fields, text, event_id, created_at, next_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING",
                    params![
                        id,
                        resident,
                        notice.kind,
                        notice.template,
                        notice.page.clone(),
                        notice.fields.clone(),
                        notice.text.clone(),
                        event.event_id,
                        now,
                    ],
                );
            }
        }
        run.queue(&mut writes);
        writes.send(tx).await?;
        Ok(())
    }
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    /// (subject, account): the account is reached through the subject.
    #[default]
    Filed,
    /// (subject, other subject): whoever the other reaches, the subject reaches too.
    Carry,
}

/// Party rows of one kind in a row of the log, waiting to go out as one statement. A run ends
/// where the other kind begins, so that a carry reads every row filed before it and none
/// filed after it, as if each pair were written in turn. (A carry's source is a complaint and
/// its target a ticket, so no carry of a run reads another's rows.)
#[derive(Default)]
struct PartyRun {
    kind: RunKind,
    subjects: Vec<String>,
    values: Vec<String>,
}

impl PartyRun {
    fn add(&mut self, writes: &mut Writes, kind: RunKind, subject: String, value: String) {
        if kind != self.kind {
            self.queue(writes);
            self.kind = kind;
        }
        self.subjects.push(subject);
        self.values.push(value);
    }

    /// Queues the run's statement, if it has rows.
    fn queue(&mut self, writes: &mut Writes) {
        if self.subjects.is_empty() {
            return;
        }
        let subjects = std::mem::take(&mut self.subjects);
        let values = std::mem::take(&mut self.values);
        match self.kind {
            RunKind::Filed => writes.push(
                "INSERT INTO identity.notify_party (subject, account_id) \
                 SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
                params![subjects, values],
            ),
            RunKind::Carry => writes.push(
                "INSERT INTO identity.notify_party (subject, account_id) \
                 SELECT c.subject, p.account_id \
                 FROM unnest($1::text[], $2::text[]) AS c (subject, source) \
                 JOIN identity.notify_party p ON p.subject = c.source \
                 ON CONFLICT DO NOTHING",
                params![subjects, values],
            ),
        }
    }
}

/// Starts the subscription.
pub fn spawn(
    store: &PgEventStore,
    clock: Arc<dyn Clock>,
) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("identity", NAME),
        Feed { clock },
    )
}
