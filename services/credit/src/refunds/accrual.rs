//! Accruing refunds: a subscription to the public log that, for each repair resolved with a
//! supplier-side cause, counts the refunded days of every household the repair reached under
//! the city's refund rulebook, records in the household's `RefundAccount` the days that grew,
//! publishes them as `RefundAccrued`, and keeps the ledger's rows (`credit.refund_day`).
//!
//! The days are counted from the facts kept by the `refund_facts` subscription as they stood
//! at the resolution's own log position: a batch first waits until that subscription has
//! passed it, so a replay counts exactly what the first run counted.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::Name;
use contracts::credit::v1 as proto;
use contracts::dispatch::v1 as dispatch;
use eventstore::{
    Actor, Batch, Channel, EventMetadata, HandlerError, IntegrationEvent, LogPosition,
    PgEventStore, Publish, PublishedEvent, StoreError, SubscriptionConfig, SubscriptionHandle,
};
use platform::clock::Clock;

use super::facts::position;
use super::read;
use crate::domain::refund_account::{RefundAccount, RefundCommand, RefundEvent};
use crate::domain::refund_rules::{RefundRulebook, RefundVersion};
use crate::domain::refunds::refund_days;
use crate::domain::values::Season;
use crate::publish::at;

/// The subscription's name in the `credit` schema.
pub const NAME: &str = "refund_accruals";

/// How long a batch waits for the facts to catch up before it is retried.
const FACTS_WAIT: Duration = Duration::from_secs(20);

/// The stream of a household's refunds in a season: `2026-2027/hh-acct-…`.
pub fn stream_id(season: Season, household: &str) -> String {
    format!("{season}/{household}")
}

impl Publish for RefundAccount {
    fn publish(&self, stream: &str, event: &RefundEvent) -> Vec<IntegrationEvent> {
        let Some((season, household)) = stream.split_once('/') else {
            return Vec::new();
        };
        let RefundEvent::RefundAccrued {
            supplier,
            version,
            days,
            at,
        } = event;
        let days: Vec<proto::RefundDay> = days
            .iter()
            .map(|d| proto::RefundDay {
                day: d.day.day.to_string(),
                rule: d.day.rule.as_str().into(),
                tier: d.day.tier.clone(),
                share_pct: d.day.share_pct,
                amount_fen: d.added_fen,
                day_total_fen: d.day.amount_fen,
                evidence_event_ids: d.day.evidence.iter().map(ToString::to_string).collect(),
                ticket_ids: d.day.tickets.clone(),
                lowest_tenths_celsius: d.day.lowest_tenths,
            })
            .collect();
        vec![IntegrationEvent::encode(&proto::RefundAccrued {
            household: household.into(),
            season: season.into(),
            supplier_id: supplier.clone(),
            refund_rulebook_version: version.clone(),
            amount_fen: days.iter().map(|d| d.amount_fen).sum(),
            days,
            season_total_fen: self.total_fen(),
            accrued_at_ms: at.timestamp_millis(),
        })]
    }
}

struct Accruals {
    rules: Arc<RefundRulebook>,
    city: String,
    clock: Arc<dyn Clock>,
}

/// Starts the subscription, counting under `city`'s versions of `rules`.
pub fn spawn(
    store: &PgEventStore,
    rules: Arc<RefundRulebook>,
    city: String,
    clock: Arc<dyn Clock>,
) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("credit", NAME),
        Accruals { rules, city, clock },
    )
}

/// Waits (bounded) until the facts' subscription has passed `until`.
async fn facts_passed(
    tx: &deadpool_postgres::Transaction<'_>,
    until: LogPosition,
) -> Result<(), HandlerError> {
    let started = std::time::Instant::now();
    loop {
        let row = tx
            .query_opt(
                "SELECT tx_id::text, global_position FROM credit.subscription_checkpoint \
                 WHERE name = $1",
                &[&super::facts::NAME],
            )
            .await?;
        if let Some(row) = row {
            let at = LogPosition::from_parts(row.get(0), row.get(1))?;
            if at >= until {
                return Ok(());
            }
        }
        if started.elapsed() > FACTS_WAIT {
            return Err("the refunds' facts are behind; the batch is retried".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One accrual to project once every append of the batch is done.
pub(crate) struct Accrued {
    pub season: Season,
    pub household: String,
    pub events: Vec<RefundEvent>,
}

/// The metadata of an accrual's events: the system's, caused by `cause` when an event caused it.
pub(crate) fn metadata(cause: Option<&PublishedEvent>) -> EventMetadata {
    let metadata = EventMetadata::new(Actor::system(), Channel::System);
    match cause {
        Some(event) => metadata
            .caused_by(event.event_id)
            .correlated_with(event.metadata.correlation_id),
        None => metadata,
    }
}

/// What `home` is owed in `season` under `version`, from the facts as they stood at `upto`,
/// as the command that records it.
pub(crate) async fn count(
    client: &impl deadpool_postgres::GenericClient,
    version: &RefundVersion,
    season: Season,
    home: &read::Registered,
    upto: (i64, i64),
    at: DateTime<Utc>,
) -> Result<RefundCommand, tokio_postgres::Error> {
    let cycles = read::cycles(
        client,
        &home.household,
        Some(&home.building_id),
        season,
        upto,
    )
    .await?;
    Ok(RefundCommand::Accrue {
        supplier: home.supplier_id.clone(),
        version: version.version.clone(),
        days: refund_days(version, season, home.basis, &cycles),
        at,
    })
}

/// Writes an accrual's days into the ledger's rows.
pub(crate) async fn project(
    tx: &deadpool_postgres::Transaction<'_>,
    accrued: &Accrued,
) -> Result<(), tokio_postgres::Error> {
    let season = accrued.season.to_string();
    for RefundEvent::RefundAccrued {
        supplier,
        version,
        days,
        at,
    } in &accrued.events
    {
        for d in days {
            let day = &d.day;
            tx.execute(
                "INSERT INTO credit.refund_day (season, household, day, supplier_id, rule, \
                 tier, share_pct, lowest_tenths, amount_fen, version, evidence, tickets, \
                 accrued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (season, household, day) DO UPDATE SET supplier_id = $4, \
                 rule = $5, tier = $6, share_pct = $7, lowest_tenths = $8, amount_fen = $9, \
                 version = $10, evidence = $11, tickets = $12, accrued_at = $13",
                &[
                    &season,
                    &accrued.household,
                    &day.day,
                    supplier,
                    &day.rule.as_str(),
                    &day.tier,
                    &(day.share_pct as i32),
                    &day.lowest_tenths,
                    &day.amount_fen,
                    version,
                    &day.evidence,
                    &day.tickets,
                    at,
                ],
            )
            .await?;
        }
    }
    Ok(())
}

impl Accruals {
    /// Counts the days of every household `event` (a supplier-side resolution) reached and
    /// appends what grew.
    async fn resolved(
        &self,
        batch: &mut Batch<'_>,
        event: &PublishedEvent,
        resolved: &dispatch::TicketResolved,
        accrued: &mut Vec<Accrued>,
    ) -> Result<(), HandlerError> {
        let season = Season::of(at(resolved.resolved_at_ms));
        let Some(version) = self.rules.for_season(&self.city, season) else {
            return Ok(());
        };
        let upto = position(event);
        let households = read::reached(batch.tx(), &resolved.ticket_id, upto).await?;
        let registered = read::registered(batch.tx(), &households).await?;
        let metadata = metadata(Some(event));
        for home in registered {
            let command = count(batch.tx(), version, season, &home, upto, self.clock.now()).await?;
            let stream = stream_id(season, &home.household);
            let context = batch.load::<RefundAccount>(&stream).await?;
            let events = context.state().decide(command);
            if events.is_empty() {
                continue;
            }
            batch.append(&context, &events, &metadata).await?;
            accrued.push(Accrued {
                season,
                household: home.household,
                events,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl eventstore::Handler for Accruals {
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![dispatch::TicketResolved::full_name()])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let resolutions: Vec<(&PublishedEvent, dispatch::TicketResolved)> = events
            .iter()
            .filter(|e| e.message_type == dispatch::TicketResolved::full_name())
            .map(|e| Ok::<_, HandlerError>((e, e.decode::<dispatch::TicketResolved>()?)))
            .collect::<Result<_, _>>()?;
        let resolutions: Vec<_> = resolutions
            .into_iter()
            .filter(|(_, m)| m.cause() == dispatch::Cause::Supplier)
            .collect();
        let Some((last, _)) = resolutions.last() else {
            return Ok(());
        };
        facts_passed(batch.tx(), last.position).await?;
        let mut accrued = Vec::new();
        for (event, resolved) in &resolutions {
            self.resolved(batch, event, resolved, &mut accrued).await?;
        }
        for accrual in &accrued {
            project(batch.tx(), accrual).await?;
        }
        Ok(())
    }
}
