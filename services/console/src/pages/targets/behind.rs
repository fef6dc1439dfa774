//! The tickets behind one of the board's figures.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::Console;
use crate::format;
use crate::pages::queue::urlencode;
use crate::pages::{Chrome, html, read, season_or_now};
use crate::session::Session;

#[derive(Debug, Deserialize)]
pub(crate) struct BehindQuery {
    season: Option<String>,
    figure: Option<String>,
    week: Option<String>,
    district: Option<String>,
    supplier_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TicketBehind {
    ticket_id: String,
    district: Option<String>,
    supplier_id: Option<String>,
    category: String,
    incident: bool,
    opened_at: String,
    value: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct TicketsBehind {
    total: i64,
    items: Vec<TicketBehind>,
}

pub(crate) struct BehindRow {
    id: String,
    district: String,
    supplier: String,
    category: String,
    opened: String,
    value: String,
}

#[derive(Template)]
#[template(path = "behind.html")]
struct BehindView {
    chrome: Chrome,
    heading: String,
    scope: String,
    total: String,
    shown: usize,
    rows: Vec<BehindRow>,
    back: String,
}

/// The tickets behind one figure of the board.
pub(crate) async fn behind(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<BehindQuery>,
) -> HttpResponse {
    let season = season_or_now(query.season.clone());
    let figure = query.figure.clone().unwrap_or_else(|| "open".into());
    let week = query.week.as_deref() == Some("true");
    let mut path = format!(
        "/api/v1/credit/seasons/{season}/targets/tickets?limit=200&figure={}&week={week}",
        urlencode(&figure)
    );
    let mut scope = Vec::new();
    if let Some(d) = query.district.as_deref().filter(|d| !d.is_empty()) {
        path.push_str(&format!("&district={}", urlencode(d)));
        scope.push(d.to_owned());
    }
    if let Some(s) = query.supplier_id.as_deref().filter(|s| !s.is_empty()) {
        path.push_str(&format!("&supplier_id={}", urlencode(s)));
        scope.push(s.to_owned());
    }
    let back = format!("/console/targets?season={season}");
    let found: TicketsBehind = match read(&console, &session, &path, &back).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let value = |v: Option<f64>| -> String {
        match (figure.as_str(), v) {
            ("below_standard", Some(c)) => format::celsius(c),
            ("late_sign" | "restored", Some(m)) => format::duration(t.0, (m * 60.0) as i64),
            _ => String::new(),
        }
    };
    let rows = found
        .items
        .iter()
        .map(|r| BehindRow {
            id: r.ticket_id.clone(),
            district: r.district.clone().unwrap_or_else(|| "—".into()),
            supplier: r.supplier_id.clone().unwrap_or_else(|| "—".into()),
            category: if r.incident {
                format!(
                    "{} · {}",
                    t.code("category", &r.category),
                    t.s("targets.incident")
                )
            } else {
                t.code("category", &r.category)
            },
            opened: format::moment_text(t.0, &r.opened_at),
            value: value(r.value),
        })
        .collect::<Vec<_>>();
    let mut heading = t.code("figure", &figure);
    heading.push_str(" · ");
    heading.push_str(t.s(if week {
        "targets.week"
    } else {
        "targets.season"
    }));
    let page = BehindView {
        chrome: Chrome::of(&session, "targets.behind", "/console/targets"),
        heading,
        scope: if scope.is_empty() {
            t.s("targets.city").to_owned()
        } else {
            scope.join(" · ")
        },
        total: format::count(found.total),
        shown: rows.len(),
        rows,
        back,
    };
    session.finish(html(actix_web::http::StatusCode::OK, &page))
}
