//! A season replayed under another rulebook version, beside its scores as they stand.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::Console;
use crate::format;
use crate::pages::queue::urlencode;
use crate::pages::season_or_now;
use crate::pages::{Chrome, html, read};
use crate::session::Session;

use super::points;

#[derive(Debug, Deserialize)]
struct Version {
    version: String,
    effective_from: String,
    summary: String,
}

#[derive(Debug, Deserialize)]
struct Rulebook {
    versions: Vec<Version>,
}

#[derive(Debug, Deserialize)]
struct Changed {
    entry_id: String,
    dimension: String,
    actual: Option<f64>,
    what_if: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct SupplierWhatIf {
    supplier_id: String,
    actual_score: f64,
    actual_grade: String,
    what_if_score: f64,
    what_if_grade: String,
    changed: Vec<Changed>,
}

#[derive(Debug, Deserialize)]
struct WhatIf {
    rulebook_version: String,
    events_replayed: u64,
    suppliers: Vec<SupplierWhatIf>,
}

pub(crate) struct WhatIfRow {
    supplier: String,
    actual: String,
    what_if: String,
    grade_changes: bool,
    changed: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "whatif.html")]
struct WhatIfView {
    chrome: Chrome,
    season: String,
    versions: Vec<(String, String, bool)>,
    chosen: Option<String>,
    replayed: String,
    rows: Vec<WhatIfRow>,
}

/// Query of the what-if page.
#[derive(Debug, Deserialize)]
pub(crate) struct WhatIfQuery {
    season: Option<String>,
    version: Option<String>,
}

/// A season replayed under another rulebook version, nothing written.
pub(crate) async fn what_if(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<WhatIfQuery>,
) -> HttpResponse {
    let season = season_or_now(query.season.clone());
    let rulebook: Rulebook =
        match read(&console, &session, "/api/v1/credit/rulebook", "/console").await {
            Ok(rulebook) => rulebook,
            Err(refusal) => return refusal,
        };
    let chosen = query.version.clone().filter(|v| !v.is_empty());
    let t = session.tr();
    let (replayed, rows) = match &chosen {
        Some(version) => {
            let path = format!(
                "/api/v1/credit/seasons/{season}/what-if?rulebook_version={}",
                urlencode(version)
            );
            let answer: WhatIf = match read(&console, &session, &path, "/console/what-if").await {
                Ok(answer) => answer,
                Err(refusal) => return refusal,
            };
            let maybe = |p: Option<f64>| p.map(points).unwrap_or_else(|| "—".into());
            (
                format!(
                    "{} · {} {}",
                    answer.rulebook_version,
                    format::count(answer.events_replayed as i64),
                    t.s("whatif.events")
                ),
                answer
                    .suppliers
                    .into_iter()
                    .map(|s| WhatIfRow {
                        grade_changes: s.actual_grade != s.what_if_grade,
                        supplier: s.supplier_id,
                        actual: format!("{} {}", s.actual_grade, points(s.actual_score)),
                        what_if: format!("{} {}", s.what_if_grade, points(s.what_if_score)),
                        changed: s
                            .changed
                            .into_iter()
                            .map(|c| {
                                (
                                    t.code("dimension", &c.dimension),
                                    maybe(c.actual),
                                    maybe(c.what_if),
                                    c.entry_id,
                                )
                            })
                            .collect(),
                    })
                    .collect(),
            )
        }
        None => (String::new(), Vec::new()),
    };
    let page = WhatIfView {
        chrome: Chrome::of(&session, "whatif.title", "/console/what-if"),
        versions: rulebook
            .versions
            .iter()
            .map(|v| {
                (
                    v.version.clone(),
                    format!(
                        "{} · {} · {}",
                        v.version,
                        format::moment_text(t.0, &v.effective_from),
                        v.summary
                    ),
                    chosen.as_deref() == Some(v.version.as_str()),
                )
            })
            .collect(),
        season,
        chosen,
        replayed,
        rows,
    };
    session.finish(html(StatusCode::OK, &page))
}
