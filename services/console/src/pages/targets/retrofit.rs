//! The buildings to retrofit: where the season's complaints came from again and again, with
//! their causes.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::Console;
use crate::format;
use crate::pages::{Chrome, SeasonQuery, html, read};
use crate::session::Session;

#[derive(Debug, Deserialize)]
struct Cause {
    cause: String,
    tickets: i64,
}

#[derive(Debug, Deserialize)]
struct Building {
    rank: i64,
    building_id: String,
    district: Option<String>,
    station: Option<String>,
    supplier_id: Option<String>,
    complaints: i64,
    households: i64,
    repeat_households: i64,
    incidents: i64,
    below_standard: i64,
    causes: Vec<Cause>,
}

pub(crate) struct BuildingRow {
    rank: i64,
    building: String,
    place: String,
    supplier: String,
    complaints: String,
    households: String,
    repeats: String,
    incidents: String,
    below: String,
    causes: String,
}

#[derive(Template)]
#[template(path = "retrofit.html")]
struct RetrofitView {
    chrome: Chrome,
    season: String,
    rows: Vec<BuildingRow>,
}

/// The retrofit list: buildings ranked by complaints this season.
pub(crate) async fn retrofit(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<SeasonQuery>,
) -> HttpResponse {
    let season = query.season();
    let path = format!("/api/v1/credit/seasons/{season}/retrofit?limit=200");
    let list: Vec<Building> = match read(&console, &session, &path, "/console/targets").await {
        Ok(list) => list,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let rows = list
        .into_iter()
        .map(|b| BuildingRow {
            rank: b.rank,
            building: b.building_id,
            place: [b.district, b.station]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            supplier: b.supplier_id.unwrap_or_else(|| "—".into()),
            complaints: format::count(b.complaints),
            households: format::count(b.households),
            repeats: format::count(b.repeat_households),
            incidents: format::count(b.incidents),
            below: format::count(b.below_standard),
            causes: b
                .causes
                .iter()
                .map(|c| format!("{} {}", t.code("cause", &c.cause), c.tickets))
                .collect::<Vec<_>>()
                .join("，"),
        })
        .collect();
    let page = RetrofitView {
        chrome: Chrome::of(&session, "retrofit.title", "/console/retrofit"),
        season,
        rows,
    };
    session.finish(html(actix_web::http::StatusCode::OK, &page))
}
