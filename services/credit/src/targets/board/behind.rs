//! The tickets behind each of the board's figures.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Filter, SIGN_MINUTES, STANDARD_TENTHS, Windows};
use crate::domain::values::Season;

/// The figures whose tickets can be listed.
pub const FIGURES: [&str; 7] = [
    "opened",
    "below_standard",
    "unsatisfied",
    "late_sign",
    "restored",
    "open",
    "incidents_open",
];

/// A ticket behind a figure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketBehind {
    /// The ticket.
    pub ticket_id: String,
    /// Where to read it.
    pub href: String,
    /// Its district.
    pub district: Option<String>,
    /// Its supplier.
    pub supplier_id: Option<String>,
    /// Its category (`no_heat`, ...).
    pub category: String,
    /// Opened for an incident.
    pub incident: bool,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// What about it the figure counts: the lowest reading (`16.5`), the verdict, the minutes
    /// to sign or to restore.
    pub value: Option<f64>,
}

/// The tickets behind a figure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketsBehind {
    /// The figure.
    pub figure: String,
    /// How many tickets are behind it.
    pub total: i64,
    /// The first of them (the worst first where there is an order).
    pub items: Vec<TicketBehind>,
}

/// Lists up to `limit` tickets behind `figure` (one of [`FIGURES`]) over the season, or its
/// latest week when `week`; `None` for an unknown figure.
pub async fn tickets_behind(
    client: &impl GenericClient,
    season: Season,
    now: DateTime<Utc>,
    figure: &str,
    week: bool,
    filter: &Filter,
    limit: i64,
) -> Result<Option<TicketsBehind>, tokio_postgres::Error> {
    let windows = Windows::of(season, now);
    let from = if week {
        windows.week_from
    } else {
        windows.season_from
    };
    // Each yields (ticket_id, value) for the tickets behind the figure, worst first.
    let chosen = match figure {
        "opened" => "SELECT ticket_id, NULL::float8 AS value, opened_at AS ord \
             FROM credit.target_ticket WHERE opened_at >= $1 AND opened_at < $2"
            .to_owned(),
        "below_standard" => format!(
            "SELECT ticket_id, min(tenths)::float8 / 10 AS value, -min(tenths)::float8 AS ord \
             FROM credit.target_measurement WHERE at >= $1 AND at < $2 \
             AND tenths < {STANDARD_TENTHS} GROUP BY ticket_id"
        ),
        "unsatisfied" => "SELECT ticket_id, NULL::float8 AS value, max(at) AS ord \
             FROM credit.target_verdict WHERE at >= $1 AND at < $2 \
             AND rating = 'unsatisfied' GROUP BY ticket_id"
            .to_owned(),
        "late_sign" => format!(
            "SELECT ticket_id, \
             extract(epoch FROM coalesce(least(signed_at, $2), $2) - dispatched_at)::float8 / 60 \
               AS value, \
             extract(epoch FROM coalesce(least(signed_at, $2), $2) - dispatched_at)::float8 \
               AS ord \
             FROM credit.target_ticket WHERE dispatched_at >= $1 AND dispatched_at < $2 \
             AND coalesce(least(signed_at, $2), $2) \
                 > dispatched_at + interval '{SIGN_MINUTES} minutes'"
        ),
        "restored" => "SELECT ticket_id, \
             extract(epoch FROM resolved_at - opened_at)::float8 / 60 AS value, \
             extract(epoch FROM resolved_at - opened_at)::float8 AS ord \
             FROM credit.target_ticket WHERE resolved_at >= $1 AND resolved_at < $2"
            .to_owned(),
        "open" | "incidents_open" => format!(
            "SELECT ticket_id, NULL::float8 AS value, -extract(epoch FROM opened_at) AS ord \
             FROM credit.target_ticket WHERE opened_at < $2 AND $1::timestamptz IS NOT NULL \
             AND (closed_at IS NULL OR closed_at >= $2) {}",
            if figure == "incidents_open" {
                "AND incident"
            } else {
                ""
            }
        ),
        _ => return Ok(None),
    };
    let sql = format!(
        "WITH chosen AS ({chosen}) \
         SELECT t.ticket_id, t.district, t.supplier_id, t.category, t.incident, t.opened_at, \
                c.value, count(*) OVER () AS total \
         FROM chosen c JOIN credit.target_ticket t ON t.ticket_id = c.ticket_id \
         WHERE ($3::text IS NULL OR t.district = $3) AND ($4::text IS NULL OR t.supplier_id = $4) \
         ORDER BY c.ord DESC, t.ticket_id LIMIT $5"
    );
    let rows = client
        .query(
            &sql,
            &[
                &from,
                &windows.to,
                &filter.district,
                &filter.supplier,
                &limit,
            ],
        )
        .await?;
    let total = rows.first().map(|r| r.get::<_, i64>("total")).unwrap_or(0);
    Ok(Some(TicketsBehind {
        figure: figure.to_owned(),
        total,
        items: rows
            .iter()
            .map(|r| {
                let ticket_id: String = r.get("ticket_id");
                TicketBehind {
                    href: format!("/api/v1/tickets/{ticket_id}"),
                    ticket_id,
                    district: r.get("district"),
                    supplier_id: r.get("supplier_id"),
                    category: r.get("category"),
                    incident: r.get("incident"),
                    opened_at: r.get("opened_at"),
                    value: r.get("value"),
                }
            })
            .collect(),
    }))
}
