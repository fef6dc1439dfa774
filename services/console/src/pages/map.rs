//! The network map: complaints and open incidents by district and heat-exchange station, drawn
//! as a schematic on the server, with the same figures as a table.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::SeasonQuery;
use super::queue::urlencode;
use super::{Chrome, html, read};
use crate::Console;
use crate::format;
use crate::schematic::{self, SHADES};
use crate::session::Session;

#[derive(Debug, Deserialize)]
struct StationFigures {
    station: String,
    supplier_id: Option<String>,
    complaints: i64,
    complaints_week: i64,
    buildings: i64,
    open_tickets: i64,
    incidents_open: i64,
}

#[derive(Debug, Deserialize)]
struct DistrictMap {
    district: String,
    complaints: i64,
    complaints_week: i64,
    open_tickets: i64,
    incidents_open: i64,
    stations: Vec<StationFigures>,
}

#[derive(Debug, Deserialize)]
struct NetworkMap {
    districts: Vec<DistrictMap>,
}

struct Row {
    district: String,
    station: String,
    supplier: String,
    complaints: String,
    week: String,
    buildings: String,
    open: String,
    incidents: String,
    href: String,
    total: bool,
}

struct Shade {
    colour: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapView {
    chrome: Chrome,
    season: String,
    svg: String,
    shades: Vec<Shade>,
    rows: Vec<Row>,
}

/// The open tickets of a district (and a station's supplier).
fn tickets(season: &str, district: &str, supplier: Option<&str>) -> String {
    let mut href = format!(
        "/console/targets/tickets?season={season}&figure=open&district={}",
        urlencode(district)
    );
    if let Some(s) = supplier {
        href.push_str(&format!("&supplier_id={}", urlencode(s)));
    }
    href
}

/// The map of a season.
pub(crate) async fn page(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<SeasonQuery>,
) -> HttpResponse {
    let season = query.season();
    let path = format!("/api/v1/credit/seasons/{season}/map");
    let map: NetworkMap = match read(&console, &session, &path, "/console/targets").await {
        Ok(map) => map,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let mut rows = Vec::new();
    let mut panels = Vec::new();
    for d in &map.districts {
        rows.push(Row {
            district: d.district.clone(),
            station: t.s("map.all_stations").into(),
            supplier: String::new(),
            complaints: format::count(d.complaints),
            week: format::count(d.complaints_week),
            buildings: String::new(),
            open: format::count(d.open_tickets),
            incidents: format::count(d.incidents_open),
            href: tickets(&season, &d.district, None),
            total: true,
        });
        let mut stations = Vec::new();
        for s in &d.stations {
            let href = tickets(&season, &d.district, s.supplier_id.as_deref());
            stations.push(schematic::Station {
                name: s.station.clone(),
                complaints: s.complaints,
                incidents_open: s.incidents_open,
                tooltip: t
                    .s("map.tooltip")
                    .replace("{station}", &s.station)
                    .replace("{complaints}", &s.complaints.to_string())
                    .replace("{week}", &s.complaints_week.to_string())
                    .replace("{buildings}", &s.buildings.to_string())
                    .replace("{open}", &s.open_tickets.to_string())
                    .replace("{incidents}", &s.incidents_open.to_string()),
                href: href.clone(),
            });
            rows.push(Row {
                district: d.district.clone(),
                station: s.station.clone(),
                supplier: s.supplier_id.clone().unwrap_or_else(|| "—".into()),
                complaints: format::count(s.complaints),
                week: format::count(s.complaints_week),
                buildings: format::count(s.buildings),
                open: format::count(s.open_tickets),
                incidents: format::count(s.incidents_open),
                href,
                total: false,
            });
        }
        panels.push(schematic::District {
            heading: t
                .s("map.district")
                .replace("{district}", &d.district)
                .replace("{complaints}", &d.complaints.to_string())
                .replace("{incidents}", &d.incidents_open.to_string()),
            stations,
        });
    }
    let most = map
        .districts
        .iter()
        .flat_map(|d| &d.stations)
        .map(|s| s.complaints)
        .max()
        .unwrap_or(0);
    let shades = SHADES
        .iter()
        .enumerate()
        .map(|(level, colour)| Shade {
            colour,
            label: if level == 0 {
                t.s("map.shade_none").into()
            } else {
                // The complaints a shade covers: above the previous step, up to its own.
                let upto = |l: usize| (most as f64 * l as f64 / 4.0).floor() as i64;
                let (from, to) = (upto(level - 1) + 1, upto(level).max(upto(level - 1) + 1));
                if from >= to {
                    format!("{from}")
                } else {
                    format!("{from}–{to}")
                }
            },
        })
        .collect();
    let page = MapView {
        chrome: Chrome::of(&session, "map.title", "/console/map"),
        svg: schematic::draw(t.s("map.title"), &panels),
        season,
        shades,
        rows,
    };
    session.finish(html(actix_web::http::StatusCode::OK, &page))
}
