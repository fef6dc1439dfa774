//! The refunds' facts: a subscription to the public log that keeps, from dispatch's and
//! intake's events, each ticket's households, complaints, reopenings, certified measurements
//! and resolutions, the hours of certified room sensors' episodes, and which households each
//! resident filed for. Every row is keyed (a ticket, a cycle, an event id), so replaying an
//! event changes nothing, and carries the log position of the event that wrote it.

use crate::publish::{at, is};
use async_trait::async_trait;
use contracts::Name;
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use eventstore::{
    Batch, HandlerError, PgEventStore, PublishedEvent, StoreError, SubscriptionConfig,
    SubscriptionHandle, Writes, params,
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

/// The rows every complaint and ticket adds (a ticket's households and complaints, a
/// resident's households), gathered over the batch and inserted as one statement per table
/// after its other statements: nothing in the batch reads them, and each insert keeps the
/// first row of a key (the earliest event) as single-row inserts in log order did.
#[derive(Default)]
struct Members {
    households: (Vec<String>, Vec<String>, Vec<i64>, Vec<i64>),
    complaints: (Vec<String>, Vec<String>, Vec<i64>, Vec<i64>),
    residents: (Vec<String>, Vec<String>),
}

impl Members {
    fn household(&mut self, ticket: &str, household: &str, (log_tx, log_pos): (i64, i64)) {
        if household.is_empty() {
            return;
        }
        let rows = &mut self.households;
        rows.0.push(ticket.to_owned());
        rows.1.push(household.to_owned());
        rows.2.push(log_tx);
        rows.3.push(log_pos);
    }

    fn complaint(&mut self, ticket: &str, complaint: &str, (log_tx, log_pos): (i64, i64)) {
        let rows = &mut self.complaints;
        rows.0.push(complaint.to_owned());
        rows.1.push(ticket.to_owned());
        rows.2.push(log_tx);
        rows.3.push(log_pos);
    }

    fn resident(&mut self, filed_by: &str, household: &str) {
        if filed_by.is_empty() || household.is_empty() {
            return;
        }
        self.residents.0.push(filed_by.to_owned());
        self.residents.1.push(household.to_owned());
    }

    fn queue(self, writes: &mut Writes) {
        let Members {
            households,
            complaints,
            residents,
        } = self;
        for (sql, (first, second, log_tx, log_pos)) in [
            (
                "INSERT INTO credit.refund_ticket_household (ticket_id, household, log_tx, \
                 log_pos) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], \
                 $4::bigint[]) ON CONFLICT DO NOTHING",
                households,
            ),
            (
                "INSERT INTO credit.refund_ticket_complaint (complaint_id, ticket_id, log_tx, \
                 log_pos) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], \
                 $4::bigint[]) ON CONFLICT DO NOTHING",
                complaints,
            ),
        ] {
            if !first.is_empty() {
                writes.push(sql, params![first, second, log_tx, log_pos]);
            }
        }
        if !residents.0.is_empty() {
            writes.push(
                "INSERT INTO credit.refund_resident (resident, household) \
                 SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
                params![residents.0, residents.1],
            );
        }
    }
}

/// One hour of a household's certified room sensors.
struct SensorHour<'a> {
    episode: &'a str,
    household: &'a str,
    hour_ms: i64,
    tenths: i32,
    seen_ms: i64,
}

/// Stores an hour of an episode. A warm hour (`warm`) ends a spell and is kept only for an
/// episode whose cold hours were (as the statements before it in the batch left them).
fn sensor_hour(writes: &mut Writes, event: &PublishedEvent, hour: SensorHour<'_>, warm: bool) {
    let (log_tx, log_pos) = position(event);
    writes.push(
        "INSERT INTO credit.refund_sensor_hour (event_id, hour, episode_id, household, tenths, \
         seen_at, log_tx, log_pos) \
         SELECT $1::uuid, $2::timestamptz, $3::text, $4::text, $5::integer, $6::timestamptz, \
         $7::bigint, $8::bigint \
         WHERE NOT $9::boolean \
            OR EXISTS (SELECT 1 FROM credit.refund_sensor_hour WHERE episode_id = $3) \
         ON CONFLICT DO NOTHING",
        params![
            event.event_id,
            at(hour.hour_ms),
            hour.episode.to_owned(),
            hour.household.to_owned(),
            hour.tenths,
            at(hour.seen_ms),
            log_tx,
            log_pos,
            warm
        ],
    );
}

/// The statements that apply one published event to the facts; its memberships go to
/// `members`.
fn apply(
    writes: &mut Writes,
    members: &mut Members,
    event: &PublishedEvent,
) -> Result<(), HandlerError> {
    let (log_tx, log_pos) = position(event);
    if is::<intake::ComplaintAccepted>(event) {
        let m: intake::ComplaintAccepted = event.decode()?;
        // Residents file from the app or the mini-program; others' filings name no home of
        // theirs.
        if matches!(m.source(), intake::Source::App | intake::Source::Wechat) {
            members.resident(&m.filed_by, &m.household);
        }
    } else if is::<intake::ComplaintMerged>(event) {
        let m: intake::ComplaintMerged = event.decode()?;
        if matches!(m.source(), intake::Source::App | intake::Source::Wechat) {
            members.resident(&m.filed_by, &m.household);
        }
        // Only a sensor episode's complaint has hours to follow where it merged.
        if m.source() == intake::Source::Sensor {
            writes.push(
                "INSERT INTO credit.refund_complaint_merge (complaint_id, into_complaint_id, \
                 log_tx, log_pos) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                params![
                    m.complaint_id.clone(),
                    m.into_complaint_id.clone(),
                    log_tx,
                    log_pos
                ],
            );
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
                sensor_hour(writes, event, hour, false);
            }
        }
    } else if is::<intake::TemperatureRecovered>(event) {
        let m: intake::TemperatureRecovered = event.decode()?;
        if let Some(hour) = m.hour.as_ref() {
            let hour = SensorHour {
                episode: &m.episode_id,
                household: &m.household,
                hour_ms: hour.hour_ms,
                tenths: hour.mean_tenths_celsius,
                seen_ms: m.recovered_at_ms,
            };
            sensor_hour(writes, event, hour, true);
        }
    } else if is::<dispatch::TicketOpened>(event) {
        let m: dispatch::TicketOpened = event.decode()?;
        let route = m.route.clone().unwrap_or_default();
        let text = |v: String| (!v.is_empty()).then_some(v);
        writes.push(
            "INSERT INTO credit.refund_ticket (ticket_id, incident, no_heat, building_id, \
             supplier_id, filed_at, opened_event, log_tx, log_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            params![
                m.ticket_id.clone(),
                m.origin == "incident",
                m.category() == intake::Category::NoHeat,
                text(route.building_id),
                text(route.supplier_id),
                at(m.filed_at_ms),
                event.event_id,
                log_tx,
                log_pos
            ],
        );
        for h in &m.households {
            members.household(&m.ticket_id, h, (log_tx, log_pos));
        }
        for c in &m.complaint_ids {
            members.complaint(&m.ticket_id, c, (log_tx, log_pos));
        }
    } else if is::<dispatch::ComplaintAttached>(event) {
        let m: dispatch::ComplaintAttached = event.decode()?;
        members.household(&m.ticket_id, &m.household, (log_tx, log_pos));
        members.complaint(&m.ticket_id, &m.complaint_id, (log_tx, log_pos));
    } else if is::<dispatch::TicketReopened>(event) {
        let m: dispatch::TicketReopened = event.decode()?;
        writes.push(
            "INSERT INTO credit.refund_reopening (ticket_id, cycle, reopened_at, event_id, \
             log_tx, log_pos) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            params![
                m.ticket_id.clone(),
                m.cycle as i32,
                at(m.reopened_at_ms),
                event.event_id,
                log_tx,
                log_pos
            ],
        );
    } else if is::<dispatch::TemperatureMeasured>(event) {
        let m: dispatch::TemperatureMeasured = event.decode()?;
        writes.push(
            "INSERT INTO credit.refund_reading (event_id, ticket_id, cycle, tenths, \
             measured_at, log_tx, log_pos) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
            params![
                event.event_id,
                m.ticket_id.clone(),
                m.cycle.max(1) as i32,
                m.tenths_celsius,
                at(m.measured_at_ms),
                log_tx,
                log_pos
            ],
        );
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
        writes.push(
            "INSERT INTO credit.refund_stopped (household, season, stopped, base_fee_share_pct, \
             application_id, at, event_id, log_tx, log_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (household, season) DO UPDATE SET stopped = $3, \
             base_fee_share_pct = $4, application_id = $5, at = $6, event_id = $7, log_tx = $8, \
             log_pos = $9 \
             WHERE (credit.refund_stopped.log_tx, credit.refund_stopped.log_pos) < ($8, $9)",
            params![
                household.to_owned(),
                season,
                stopped,
                share,
                application,
                at(done_at),
                event.event_id,
                log_tx,
                log_pos
            ],
        );
    } else if is::<dispatch::TicketResolved>(event) {
        let m: dispatch::TicketResolved = event.decode()?;
        let cause = m.cause();
        writes.push(
            "INSERT INTO credit.refund_resolution (ticket_id, cycle, event_id, cause, \
             supplier_side, resolved_at, log_tx, log_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            params![
                m.ticket_id.clone(),
                m.cycle.max(1) as i32,
                event.event_id,
                cause.as_str_name().to_ascii_lowercase(),
                cause == dispatch::Cause::Supplier,
                at(m.resolved_at_ms),
                log_tx,
                log_pos
            ],
        );
        for h in &m.households {
            members.household(&m.ticket_id, h, (log_tx, log_pos));
        }
    }
    Ok(())
}

#[async_trait]
impl eventstore::Handler for Facts {
    /// The types [`apply`] acts on.
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![
            intake::ComplaintAccepted::full_name(),
            intake::ComplaintMerged::full_name(),
            intake::LowTemperatureDetected::full_name(),
            intake::TemperatureRecovered::full_name(),
            dispatch::TicketOpened::full_name(),
            dispatch::ComplaintAttached::full_name(),
            dispatch::TicketReopened::full_name(),
            dispatch::TemperatureMeasured::full_name(),
            dispatch::HeatingStopped::full_name(),
            dispatch::HeatingRestored::full_name(),
            dispatch::TicketResolved::full_name(),
        ])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let mut writes = Writes::new();
        let mut members = Members::default();
        for event in events {
            apply(&mut writes, &mut members, event)?;
        }
        members.queue(&mut writes);
        writes.send(batch.tx()).await?;
        Ok(())
    }
}
