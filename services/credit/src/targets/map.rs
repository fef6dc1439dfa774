//! The network map: complaints, open tickets and open incidents by district and heat-exchange
//! station, from the targets read model. The console draws it as a schematic (a panel per
//! district, a cell per station), which needs no map tiles.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;

use super::board::Windows;
use crate::domain::values::Season;

/// A heat-exchange station's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StationFigures {
    /// The station, as the building registry names it.
    pub station: String,
    /// The supplier of most of its complaints and tickets.
    pub supplier_id: Option<String>,
    /// Complaints filed this season (rejected ones not counted).
    pub complaints: i64,
    /// Complaints filed this week.
    pub complaints_week: i64,
    /// Buildings with at least one complaint this season.
    pub buildings: i64,
    /// Tickets opened this season and not closed.
    pub open_tickets: i64,
    /// Of those, incidents (several households at once).
    pub incidents_open: i64,
}

/// A district's figures and its stations, the most complained-of first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DistrictMap {
    /// The district.
    pub district: String,
    /// Complaints filed this season in its stations.
    pub complaints: i64,
    /// Complaints filed this week.
    pub complaints_week: i64,
    /// Open tickets.
    pub open_tickets: i64,
    /// Open incidents.
    pub incidents_open: i64,
    /// Its stations with complaints or open tickets.
    pub stations: Vec<StationFigures>,
}

/// The map of a season seen at a moment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkMap {
    /// The season.
    pub season: String,
    /// The week window's start.
    pub week_from: DateTime<Utc>,
    /// The end of both windows.
    pub to: DateTime<Utc>,
    /// Districts by name.
    pub districts: Vec<DistrictMap>,
}

/// Reads the map of `season` seen at `now` (routed complaints and tickets only: a station is
/// known once the building is).
pub async fn map(
    client: &impl GenericClient,
    season: Season,
    now: DateTime<Utc>,
) -> Result<NetworkMap, tokio_postgres::Error> {
    let windows = Windows::of(season, now);
    let rows = client
        .query(
            "WITH c AS ( \
               SELECT district, station, count(*) AS n, \
                      count(*) FILTER (WHERE filed_at >= $2) AS n_week, \
                      count(DISTINCT building_id) AS buildings, \
                      mode() WITHIN GROUP (ORDER BY supplier_id) AS supplier_id \
               FROM credit.target_complaint \
               WHERE NOT rejected AND filed_at >= $1 AND filed_at < $3 \
                 AND district IS NOT NULL AND station IS NOT NULL \
               GROUP BY district, station), \
             t AS ( \
               SELECT district, station, count(*) AS open, \
                      count(*) FILTER (WHERE incident) AS incidents, \
                      mode() WITHIN GROUP (ORDER BY supplier_id) AS supplier_id \
               FROM credit.target_ticket \
               WHERE opened_at >= $1 AND opened_at < $3 AND (closed_at IS NULL OR closed_at >= $3) \
                 AND district IS NOT NULL AND station IS NOT NULL \
               GROUP BY district, station) \
             SELECT coalesce(c.district, t.district), coalesce(c.station, t.station), \
                    coalesce(c.supplier_id, t.supplier_id), coalesce(c.n, 0), \
                    coalesce(c.n_week, 0), coalesce(c.buildings, 0), coalesce(t.open, 0), \
                    coalesce(t.incidents, 0) \
             FROM c FULL JOIN t ON t.district = c.district AND t.station = c.station \
             ORDER BY 1, 4 DESC, 7 DESC, 2",
            &[&windows.season_from, &windows.week_from, &windows.to],
        )
        .await?;
    let mut districts: Vec<DistrictMap> = Vec::new();
    for row in rows {
        let district: String = row.get(0);
        let station = StationFigures {
            station: row.get(1),
            supplier_id: row.get(2),
            complaints: row.get(3),
            complaints_week: row.get(4),
            buildings: row.get(5),
            open_tickets: row.get(6),
            incidents_open: row.get(7),
        };
        let last = match districts.last_mut() {
            Some(last) if last.district == district => last,
            _ => {
                districts.push(DistrictMap {
                    district,
                    complaints: 0,
                    complaints_week: 0,
                    open_tickets: 0,
                    incidents_open: 0,
                    stations: Vec::new(),
                });
                districts.last_mut().expect("just pushed")
            }
        };
        last.complaints += station.complaints;
        last.complaints_week += station.complaints_week;
        last.open_tickets += station.open_tickets;
        last.incidents_open += station.incidents_open;
        last.stations.push(station);
    }
    Ok(NetworkMap {
        season: season.to_string(),
        week_from: windows.week_from,
        to: windows.to,
        districts,
    })
}
