//! The buildings to retrofit first: the most complaints over the season, with their causes.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;

use super::Windows;
use crate::domain::values::Season;

/// A building on the retrofit list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetrofitBuilding {
    /// Its rank, 1 for the most complaints.
    pub rank: i64,
    /// The building (as the registry names it).
    pub building_id: String,
    /// Its district.
    pub district: Option<String>,
    /// Its heat-exchange station.
    pub station: Option<String>,
    /// Its supplier.
    pub supplier_id: Option<String>,
    /// Complaints filed this season.
    pub complaints: i64,
    /// Households that complained.
    pub households: i64,
    /// Households that complained more than once.
    pub repeat_households: i64,
    /// Incident tickets of the building, and of its station.
    pub incidents: i64,
    /// Certified measurements below 18.0 ℃ in its tickets.
    pub below_standard: i64,
    /// Its tickets' resolution causes with their counts, most frequent first.
    pub causes: Vec<CauseCount>,
}

/// A resolution cause and how often it was given.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CauseCount {
    /// `supplier`, `resident_side`, `developer_handover`, `upstream`.
    pub cause: String,
    /// Tickets resolved with it.
    pub tickets: i64,
}

/// Buildings ranked by complaints over the season (most first, then by repeat households),
/// with their causes, repeat households and incidents: where pipe renewal is due first.
pub async fn retrofit(
    client: &impl GenericClient,
    season: Season,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RetrofitBuilding>, tokio_postgres::Error> {
    let windows = Windows::of(season, now);
    let rows = client
        .query(
            "WITH c AS ( \
               SELECT building_id, district, station, supplier_id, household \
               FROM credit.target_complaint \
               WHERE NOT rejected AND building_id IS NOT NULL \
                 AND filed_at >= $1 AND filed_at < $2), \
             b AS ( \
               SELECT building_id, min(district) AS district, min(station) AS station, \
                      min(supplier_id) AS supplier_id, count(*) AS complaints, \
                      count(DISTINCT household) AS households \
               FROM c GROUP BY building_id), \
             r AS ( \
               SELECT building_id, count(*) AS repeats FROM ( \
                 SELECT building_id, household FROM c GROUP BY building_id, household \
                 HAVING count(*) > 1) x GROUP BY building_id), \
             t AS ( \
               SELECT ticket_id, building_id, station, incident, cause FROM credit.target_ticket \
               WHERE opened_at >= $1 AND opened_at < $2) \
             SELECT b.building_id, b.district, b.station, b.supplier_id, b.complaints, \
                    b.households, coalesce(r.repeats, 0), \
                    (SELECT count(*) FROM t WHERE t.incident AND (t.building_id = b.building_id \
                       OR (t.building_id IS NULL AND t.station = b.station))), \
                    (SELECT count(*) FROM credit.target_measurement m \
                       JOIN t ON t.ticket_id = m.ticket_id \
                     WHERE t.building_id = b.building_id AND m.tenths < 180), \
                    (SELECT coalesce(array_agg(cause || ':' || n ORDER BY n DESC, cause), '{}') \
                     FROM (SELECT cause, count(*) AS n FROM t \
                           WHERE t.building_id = b.building_id AND cause IS NOT NULL \
                           GROUP BY cause) k) \
             FROM b LEFT JOIN r ON r.building_id = b.building_id \
             ORDER BY b.complaints DESC, coalesce(r.repeats, 0) DESC, b.building_id \
             LIMIT $3",
            &[&windows.season_from, &windows.to, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let causes: Vec<String> = r.get(9);
            RetrofitBuilding {
                rank: i as i64 + 1,
                building_id: r.get(0),
                district: r.get(1),
                station: r.get(2),
                supplier_id: r.get(3),
                complaints: r.get(4),
                households: r.get(5),
                repeat_households: r.get(6),
                incidents: r.get(7),
                below_standard: r.get(8),
                causes: causes
                    .iter()
                    .filter_map(|c| c.rsplit_once(':'))
                    .map(|(cause, n)| CauseCount {
                        cause: cause.to_owned(),
                        tickets: n.parse().unwrap_or(0),
                    })
                    .collect(),
            }
        })
        .collect())
}
