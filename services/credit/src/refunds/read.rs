//! Reading the refunds' facts back: a household's repair cycles in a season (as of a log
//! position, or now), its fee basis, and the accrued ledger.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::refunds::{FeeBasis, Reading, RepairCycle, Resolution};
use crate::domain::values::Season;

/// A registered household.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// Its key.
    pub household: String,
    /// Its building.
    pub building_id: String,
    /// Its district.
    pub district: String,
    /// The supplier that heats it.
    pub supplier_id: String,
    /// What it pays.
    pub basis: FeeBasis,
}

/// Before every later event: read the facts as they are now.
pub const NOW: (i64, i64) = (i64::MAX, i64::MAX);

/// The registered households among `households`.
pub async fn registered(
    client: &impl GenericClient,
    households: &[String],
) -> Result<Vec<Registered>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT household, building_id, district, supplier_id, area_centi_m2, \
             price_fen_per_m2 FROM credit.refund_household WHERE household = ANY($1) \
             ORDER BY household",
            &[&households],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Registered {
            household: r.get(0),
            building_id: r.get(1),
            district: r.get(2),
            supplier_id: r.get(3),
            basis: FeeBasis {
                area_centi_m2: r.get(4),
                price_fen_per_m2: r.get(5),
            },
        })
        .collect())
}

/// The households a ticket's refunds reach as of `upto`: its own, and for an incident every
/// registered household of its building (the whole building went without).
pub async fn reached(
    client: &impl GenericClient,
    ticket: &str,
    upto: (i64, i64),
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT household FROM credit.refund_ticket_household \
             WHERE ticket_id = $1 AND (log_tx, log_pos) <= ($2, $3) \
             UNION \
             SELECT h.household FROM credit.refund_ticket t \
             JOIN credit.refund_household h ON h.building_id = t.building_id \
             WHERE t.ticket_id = $1 AND t.incident AND (t.log_tx, t.log_pos) <= ($2, $3) \
             ORDER BY 1",
            &[&ticket, &upto.0, &upto.1],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A household's repair cycles of `season` as of `upto`: the tickets that name it, and the
/// incidents of its building.
pub async fn cycles(
    client: &impl GenericClient,
    household: &str,
    building: Option<&str>,
    season: Season,
    upto: (i64, i64),
) -> Result<Vec<RepairCycle>, tokio_postgres::Error> {
    let (tx, pos) = upto;
    let tickets = client
        .query(
            "SELECT t.ticket_id, t.no_heat, t.filed_at, t.opened_event FROM credit.refund_ticket t \
             WHERE (t.log_tx, t.log_pos) <= ($1, $2) AND t.filed_at >= $3 AND t.filed_at < $4 \
             AND (EXISTS (SELECT 1 FROM credit.refund_ticket_household th \
                          WHERE th.ticket_id = t.ticket_id AND th.household = $5 \
                          AND (th.log_tx, th.log_pos) <= ($1, $2)) \
                  OR (t.incident AND t.building_id = $6)) \
             ORDER BY t.filed_at, t.ticket_id",
            &[
                &tx,
                &pos,
                &season.starts_at(),
                &season.ends_at(),
                &household,
                &building,
            ],
        )
        .await?;
    let ids: Vec<String> = tickets.iter().map(|r| r.get(0)).collect();
    let mut cycles: BTreeMap<(String, i32), RepairCycle> = BTreeMap::new();
    for row in &tickets {
        let ticket: String = row.get(0);
        cycles.insert(
            (ticket.clone(), 1),
            RepairCycle {
                ticket_id: ticket,
                cycle: 1,
                no_heat: row.get(1),
                started_at: row.get(2),
                started_by: row.get(3),
                readings: Vec::new(),
                sensed: Vec::new(),
                resolution: None,
            },
        );
    }
    let no_heat: BTreeMap<String, bool> = tickets.iter().map(|r| (r.get(0), r.get(1))).collect();
    let reopenings = client
        .query(
            "SELECT ticket_id, cycle, reopened_at, event_id FROM credit.refund_reopening \
             WHERE ticket_id = ANY($1) AND (log_tx, log_pos) <= ($2, $3)",
            &[&ids, &tx, &pos],
        )
        .await?;
    for row in &reopenings {
        let ticket: String = row.get(0);
        let cycle: i32 = row.get(1);
        let at: DateTime<Utc> = row.get(2);
        cycles.insert(
            (ticket.clone(), cycle),
            RepairCycle {
                no_heat: no_heat.get(&ticket).copied().unwrap_or(false),
                ticket_id: ticket,
                cycle: cycle as u32,
                started_at: at,
                started_by: row.get(3),
                readings: Vec::new(),
                sensed: Vec::new(),
                resolution: None,
            },
        );
    }
    let readings = client
        .query(
            "SELECT ticket_id, cycle, event_id, measured_at, tenths FROM credit.refund_reading \
             WHERE ticket_id = ANY($1) AND (log_tx, log_pos) <= ($2, $3)",
            &[&ids, &tx, &pos],
        )
        .await?;
    for row in &readings {
        if let Some(cycle) = cycles.get_mut(&(row.get(0), row.get(1))) {
            cycle.readings.push(Reading {
                event_id: row.get(2),
                at: row.get(3),
                tenths: row.get(4),
            });
        }
    }
    // The household's certified sensor hours on these tickets, each episode in the cycle of
    // its ticket that had started when the episode was seen (else the first).
    let sensed = client
        .query(
            "SELECT c.ticket_id, s.event_id, s.hour, s.tenths, s.seen_at \
             FROM credit.refund_sensor_hour s \
             LEFT JOIN credit.refund_complaint_merge m ON m.complaint_id = s.episode_id \
                  AND (m.log_tx, m.log_pos) <= ($3, $4) \
             JOIN credit.refund_ticket_complaint c \
                  ON c.complaint_id = coalesce(m.into_complaint_id, s.episode_id) \
             WHERE s.household = $1 AND c.ticket_id = ANY($2) \
             AND (s.log_tx, s.log_pos) <= ($3, $4) AND (c.log_tx, c.log_pos) <= ($3, $4) \
             ORDER BY s.hour",
            &[&household, &ids, &tx, &pos],
        )
        .await?;
    for row in &sensed {
        let ticket: String = row.get(0);
        let seen: DateTime<Utc> = row.get(4);
        let cycle = cycles
            .range_mut((ticket.clone(), i32::MIN)..=(ticket.clone(), i32::MAX))
            .map(|(_, cycle)| cycle)
            .rfind(|cycle| cycle.started_at <= seen || cycle.cycle == 1);
        if let Some(cycle) = cycle {
            cycle.sensed.push(Reading {
                event_id: row.get(1),
                at: row.get(2),
                tenths: row.get(3),
            });
        }
    }
    let resolutions = client
        .query(
            "SELECT ticket_id, cycle, event_id, resolved_at, supplier_side \
             FROM credit.refund_resolution \
             WHERE ticket_id = ANY($1) AND (log_tx, log_pos) <= ($2, $3)",
            &[&ids, &tx, &pos],
        )
        .await?;
    for row in &resolutions {
        if let Some(cycle) = cycles.get_mut(&(row.get(0), row.get(1))) {
            cycle.resolution = Some(Resolution {
                event_id: row.get::<_, Uuid>(2),
                at: row.get(3),
                supplier_side: row.get(4),
            });
        }
    }
    Ok(cycles.into_values().collect())
}
