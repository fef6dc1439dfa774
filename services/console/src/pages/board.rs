//! The public board at `/board`: no login, the same for everyone, cacheable. Each supplier's
//! grades as the regulator published them (never a provisional one), the city's figures and
//! complaints by district. It holds no personal data: the API's public board has none.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::season_or_now;
use crate::Console;
use crate::chart::{self, Point};
use crate::format;
use crate::i18n::{Lang, Tr};

#[derive(Debug, Deserialize)]
struct Grade {
    period: String,
    grade: String,
    is_final: bool,
}

#[derive(Debug, Deserialize)]
struct Supplier {
    name: String,
    grades: Vec<Grade>,
}

#[derive(Debug, Deserialize)]
struct City {
    complaints: i64,
    measurements: i64,
    share_at_or_above_standard: Option<f64>,
    verdicts: i64,
    satisfaction: Option<f64>,
    share_signed_in_time: Option<f64>,
    restore_median_minutes: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct District {
    district: String,
    complaints: i64,
}

#[derive(Debug, Deserialize)]
struct Public {
    season: String,
    as_of: String,
    suppliers: Vec<Supplier>,
    city: City,
    districts: Vec<District>,
}

pub(crate) struct Row {
    name: String,
    grades: Vec<String>,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardView {
    t: Tr,
    season: String,
    as_of: String,
    periods: Vec<String>,
    rows: Vec<Row>,
    figures: Vec<(&'static str, String)>,
    districts: String,
    other_lang: &'static str,
    other_lang_label: &'static str,
}

/// The board's query: the season and the language (a link, so each page is the same for
/// everyone and can be cached).
#[derive(Debug, Deserialize)]
pub(crate) struct BoardQuery {
    season: Option<String>,
    lang: Option<String>,
}

fn period_label(t: Tr, period: &str, is_final: bool) -> String {
    if is_final {
        return t.s("ranking.final").to_owned();
    }
    match (t.english(), period.split_once('-')) {
        (false, Some((year, month))) => format!("{year}年{}月", month.trim_start_matches('0')),
        _ => period.to_owned(),
    }
}

fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.1}%", s * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// The public board.
pub(crate) async fn page(
    console: web::Data<Console>,
    query: web::Query<BoardQuery>,
) -> HttpResponse {
    let t = Tr(if query.lang.as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Zh
    });
    let season = season_or_now(query.season.clone());
    let path = format!("/api/v1/credit/public/seasons/{season}");
    let board: Public = match console.api.get(&path, None).await {
        Ok(board) => board,
        Err(failure) => {
            tracing::warn!(
                status = failure.status,
                "the public board could not be read"
            );
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "30"))
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body(t.s("error.unavailable"));
        }
    };
    // Every period any supplier has published, in order, as the table's columns.
    let mut periods: Vec<(String, bool)> = board
        .suppliers
        .iter()
        .flat_map(|s| s.grades.iter().map(|g| (g.period.clone(), g.is_final)))
        .collect();
    periods.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    periods.dedup();
    let rows = board
        .suppliers
        .iter()
        .map(|s| Row {
            name: s.name.clone(),
            grades: periods
                .iter()
                .map(|(p, _)| {
                    s.grades
                        .iter()
                        .find(|g| &g.period == p)
                        .map(|g| g.grade.clone())
                        .unwrap_or_else(|| "—".into())
                })
                .collect(),
        })
        .collect();
    let c = &board.city;
    let figures = vec![
        ("public.complaints", format::count(c.complaints)),
        (
            "targets.standard",
            format!(
                "{} ({})",
                percent(c.share_at_or_above_standard),
                format::count(c.measurements)
            ),
        ),
        (
            "targets.satisfaction",
            format!(
                "{} ({})",
                percent(c.satisfaction),
                format::count(c.verdicts)
            ),
        ),
        ("targets.signed", percent(c.share_signed_in_time)),
        (
            "public.restore",
            c.restore_median_minutes
                .map(|m| format::duration(t.0, (m * 60.0).round() as i64))
                .unwrap_or_else(|| "—".into()),
        ),
    ];
    let districts = chart::trend(
        t.s("public.by_district"),
        t.s("targets.complaints_bar"),
        "",
        &board
            .districts
            .iter()
            .map(|d| Point {
                label: d.district.clone(),
                count: d.complaints,
                share: None,
                marked: false,
            })
            .collect::<Vec<_>>(),
    );
    let page = BoardView {
        t,
        as_of: format::moment_text(t.0, &board.as_of),
        season: board.season,
        periods: periods
            .iter()
            .map(|(p, is_final)| period_label(t, p, *is_final))
            .collect(),
        rows,
        figures,
        districts,
        other_lang: if t.english() { "zh" } else { "en" },
        other_lang_label: t.s("nav.language"),
    };
    match page.render() {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
            .body(body),
        Err(error) => {
            tracing::error!(%error, "the public board did not render");
            HttpResponse::InternalServerError().body("the page could not be shown")
        }
    }
}
