//! The refunds' facts: a subscription to the public log that keeps, from dispatch's and
//! intake's events, each ticket's households, complaints, reopenings, certified measurements
//! and resolutions, the hours of certified room sensors' episodes, and which households each
//! resident filed for. Every row is keyed (a ticket, a cycle, an event id), so replaying an
//! event changes nothing, and carries the log position of the event that wrote it.

use crate::publish::{at, is};
use async_trait::async_trait;
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use eventstore::{
    Batch, HandlerError, PgEventStore, PublishedEvent, StoreError, SubscriptionConfig,
    SubscriptionHandle,
};

/// The subscription's name in the `credit` schema.
pub const NAME: &str = "refund_facts";

struct Facts;

/// Starts the subscription.
pub fn spawn(store: &PgEventStore) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(store, SubscriptionConfig::new("credit", NAME), Facts)
}

/// The log position of `event` as the rows keep it.
pub(crate) fn position(event: &PublishedEvent) -> (i64, i64) {
    (event.position.tx_id as i64, event.position.global_position)
}

async fn household(
    tx: &deadpool_postgres::Transaction<'_>,
    ticket: &str,
    household: &str,
    (log_tx, log_pos): (i64, i64),
) -> Result<(), tokio_postgres::Error> {
    if household.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO credit.refund_ticket_household (ticket_id, household, log_tx, log_pos) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&ticket, &household, &log_tx, &log_pos],
    )
    .await?;
    Ok(())
}

async fn complaint(
    tx: &deadpool_postgres::Transaction<'_>,
    ticket: &str,
    complaint: &str,
    (log_tx, log_pos): (i64, i64),
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO credit.refund_ticket_complaint (complaint_id, ticket_id, log_tx, log_pos) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&complaint, &ticket, &log_tx, &log_pos],
    )
    .await?;
    Ok(())
}

/// One hour of a household's certified room sensors.
struct SensorHour<'a> {
    episode: &'a str,
    household: &'a str,
    hour_ms: i64,
    tenths: i32,
    seen_ms: i64,
}

async fn sensor_hour(
    tx: &deadpool_postgres::Transaction<'_>,
    event: &PublishedEvent,
    hour: SensorHour<'_>,
) -> Result<(), tokio_postgres::Error> {
    let (log_tx, log_pos) = position(event);
    tx.execute(
        "INSERT INTO credit.refund_sensor_hour (event_id, hour, episode_id, household, tenths, \
         seen_at, log_tx, log_pos) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT DO NOTHING",
        &[
            &event.event_id,
            &at(hour.hour_ms),
            &hour.episode,
            &hour.household,
            &hour.tenths,
            &at(hour.seen_ms),
            &log_tx,
            &log_pos,
        ],
    )
    .await?;
    Ok(())
}

async fn resident(
    tx: &deadpool_postgres::Transaction<'_>,
    filed_by: &str,
    household: &str,
) -> Result<(), tokio_postgres::Error> {
    if filed_by.is_empty() || household.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO credit.refund_resident (resident, household) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
        &[&filed_by, &household],
    )
    .await?;
    Ok(())
}

/// Applies one published event to the facts.
async fn apply(
    tx: &deadpool_postgres::Transaction<'_>,
    event: &PublishedEvent,
) -> Result<(), HandlerError> {
    let (log_tx, log_pos) = position(event);
    if is::<intake::ComplaintAccepted>(event) {
        let m: intake::ComplaintAccepted = event.decode()?;
        // Residents file from the app or the mini-program; others' filings name no home of
        // theirs.
        if matches!(m.source(), intake::Source::App | intake::Source::Wechat) {
            resident(tx, &m.filed_by, &m.household).await?;
        }
    } else if is::<intake::ComplaintMerged>(event) {
        let m: intake::ComplaintMerged = event.decode()?;
        if matches!(m.source(), intake::Source::App | intake::Source::Wechat) {
            resident(tx, &m.filed_by, &m.household).await?;
        }
        // Only a sensor episode's complaint has hours to follow where it merged.
        if m.source() == intake::Source::Sensor {
            tx.execute(
                "INSERT INTO credit.refund_complaint_merge (complaint_id, into_complaint_id, \
                 log_tx, log_pos) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&m.complaint_id, &m.into_complaint_id, &log_tx, &log_pos],
            )
            .await?;
        }
    } else if is::<intake::LowTemperatureDetected>(event) {
        let m: intake::LowTemperatureDetected = event.decode()?;
        // Money follows certified instruments only.
        if m.certified {
            for hour in &m.hours {
                let hour = SensorHour {
                    episode: &m.episode_id,
                    household: &m.household,
                    hour_ms: hour.hour_ms,
                    tenths: hour.mean_tenths_celsius,
                    seen_ms: m.detected_at_ms,
                };
                sensor_hour(tx, event, hour).await?;
            }
        }
    } else if is::<intake::TemperatureRecovered>(event) {
        let m: intake::TemperatureRecovered = event.decode()?;
        // The warm hour ends the spell; it is kept only for an episode whose cold hours were.
        let certified = tx
            .query_opt(
                "SELECT 1 FROM credit.refund_sensor_hour WHERE episode_id = $1 LIMIT 1",
                &[&m.episode_id],
            )
            .await?
            .is_some();
        if let Some(hour) = m.hour.as_ref().filter(|_| certified) {
            let hour = SensorHour {
                episode: &m.episode_id,
                household: &m.household,
                hour_ms: hour.hour_ms,
                tenths: hour.mean_tenths_celsius,
                seen_ms: m.recovered_at_ms,
            };
            sensor_hour(tx, event, hour).await?;
        }
    } else if is::<dispatch::TicketOpened>(event) {
        let m: dispatch::TicketOpened = event.decode()?;
        let route = m.route.clone().unwrap_or_default();
        let text = |v: String| (!v.is_empty()).then_some(v);
        tx.execute(
            "INSERT INTO credit.refund_ticket (ticket_id, incident, no_heat, building_id, \
             supplier_id, filed_at, opened_event, log_tx, log_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            &[
                &m.ticket_id,
                &(m.origin == "incident"),
                &(m.category() == intake::Category::NoHeat),
                &text(route.building_id),
                &text(route.supplier_id),
                &at(m.filed_at_ms),
                &event.event_id,
                &log_tx,
                &log_pos,
            ],
        )
        .await?;
        for h in &m.households {
            household(tx, &m.ticket_id, h, (log_tx, log_pos)).await?;
        }
        for c in &m.complaint_ids {
            complaint(tx, &m.ticket_id, c, (log_tx, log_pos)).await?;
        }
    } else if is::<dispatch::ComplaintAttached>(event) {
        let m: dispatch::ComplaintAttached = event.decode()?;
        household(tx, &m.ticket_id, &m.household, (log_tx, log_pos)).await?;
        complaint(tx, &m.ticket_id, &m.complaint_id, (log_tx, log_pos)).await?;
    } else if is::<dispatch::TicketReopened>(event) {
        let m: dispatch::TicketReopened = event.decode()?;
        tx.execute(
            "INSERT INTO credit.refund_reopening (ticket_id, cycle, reopened_at, event_id, \
             log_tx, log_pos) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &m.ticket_id,
                &(m.cycle as i32),
                &at(m.reopened_at_ms),
                &event.event_id,
                &log_tx,
                &log_pos,
            ],
        )
        .await?;
    } else if is::<dispatch::TemperatureMeasured>(event) {
        let m: dispatch::TemperatureMeasured = event.decode()?;
        tx.execute(
            "INSERT INTO credit.refund_reading (event_id, ticket_id, cycle, tenths, \
             measured_at, log_tx, log_pos) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
            &[
                &event.event_id,
                &m.ticket_id,
                &(m.cycle.max(1) as i32),
                &m.tenths_celsius,
                &at(m.measured_at_ms),
                &log_tx,
                &log_pos,
            ],
        )
        .await?;
    } else if is::<dispatch::HeatingStopped>(event) || is::<dispatch::HeatingRestored>(event) {
        let (household, season, application, share, done_at, stopped) =
            if is::<dispatch::HeatingStopped>(event) {
                let m: dispatch::HeatingStopped = event.decode()?;
                let share = m.base_fee_share_pct as i32;
                (
                    m.household,
                    m.season,
                    m.application_id,
                    share,
                    m.done_at_ms,
                    true,
                )
            } else {
                let m: dispatch::HeatingRestored = event.decode()?;
                (
                    m.household,
                    m.season,
                    m.application_id,
                    100,
                    m.done_at_ms,
                    false,
                )
            };
        let application: uuid::Uuid = application.parse()?;
        tx.execute(
            "INSERT INTO credit.refund_stopped (household, season, stopped, base_fee_share_pct, \
             application_id, at, event_id, log_tx, log_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (household, season) DO UPDATE SET stopped = $3, \
             base_fee_share_pct = $4, application_id = $5, at = $6, event_id = $7, log_tx = $8, \
             log_pos = $9 \
             WHERE (credit.refund_stopped.log_tx, credit.refund_stopped.log_pos) < ($8, $9)",
            &[
                &household,
                &season,
                &stopped,
                &share,
                &application,
                &at(done_at),
                &event.event_id,
                &log_tx,
                &log_pos,
            ],
        )
        .await?;
    } else if is::<dispatch::TicketResolved>(event) {
        let m: dispatch::TicketResolved = event.decode()?;
        let cause = m.cause();
        tx.execute(
            "INSERT INTO credit.refund_resolution (ticket_id, cycle, event_id, cause, \
             supplier_side, resolved_at, log_tx, log_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &m.ticket_id,
                &(m.cycle.max(1) as i32),
                &event.event_id,
                &cause.as_str_name().to_ascii_lowercase(),
                &(cause == dispatch::Cause::Supplier),
                &at(m.resolved_at_ms),
                &log_tx,
                &log_pos,
            ],
        )
        .await?;
        for h in &m.households {
            household(tx, &m.ticket_id, h, (log_tx, log_pos)).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl eventstore::Handler for Facts {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        for event in events {
            apply(batch.tx(), event).await?;
        }
        Ok(())
    }
}
