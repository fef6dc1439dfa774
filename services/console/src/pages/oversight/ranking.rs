//! The season's ranking with each supplier's dimensions and closed months, and publishing a
//! closed period's grades.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Console;
use crate::pages::queue::urlencode;
use crate::pages::season_or_now;
use crate::pages::{Chrome, Form, field, form_session, html, read, refused, see_other};
use crate::session::Session;

use super::{Score, SupplierQuery, month, period, points};

#[derive(Debug, Deserialize)]
struct Rank {
    rank: usize,
    supplier_id: String,
    name: Option<String>,
    score: f64,
    grade: String,
    vetoed: bool,
}

pub(crate) struct RankRow {
    rank: usize,
    id: String,
    name: String,
    score: String,
    grade: String,
    vetoed: bool,
    dimensions: Vec<String>,
    months: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ranking.html")]
struct RankingView {
    chrome: Chrome,
    season: String,
    dimensions: Vec<String>,
    rows: Vec<RankRow>,
    /// Closed periods some supplier's grade of is not public yet: (period, label).
    unpublished: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

/// The season's ranking.
pub(crate) async fn ranking(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<SupplierQuery>,
) -> HttpResponse {
    let season = season_or_now(query.season.clone());
    let notice = query
        .done
        .as_deref()
        .filter(|d| *d == "published")
        .map(|_| session.tr().s("ranking.published_now").to_owned());
    ranking_page(&console, &session, season, notice, None, StatusCode::OK).await
}

async fn ranking_page(
    console: &Console,
    session: &Session,
    season: String,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let path = format!("/api/v1/credit/seasons/{season}/ranking");
    let ranks: Vec<Rank> = match read(console, session, &path, "/console").await {
        Ok(ranks) => ranks,
        Err(refusal) => return refusal,
    };
    let scores = futures_util::future::join_all(ranks.iter().map(|r| {
        let path = format!(
            "/api/v1/credit/seasons/{season}/suppliers/{}",
            urlencode(&r.supplier_id)
        );
        let token = &session.token;
        async move { console.api.get::<Score>(&path, Some(token)).await.ok() }
    }))
    .await;
    let t = session.tr();
    let dimensions = scores
        .iter()
        .flatten()
        .next()
        .map(|s| {
            s.dimensions
                .iter()
                .map(|d| format!("{} ({})", t.code("dimension", &d.dimension), d.weight))
                .collect()
        })
        .unwrap_or_default();
    let mut unpublished: Vec<(String, String)> = scores
        .iter()
        .flatten()
        .flat_map(|s| s.closings.iter())
        .filter(|c| c.published_at.is_none())
        .map(|c| (c.period.clone(), period(t, c)))
        .collect();
    unpublished.sort();
    unpublished.dedup();
    let rows = ranks
        .into_iter()
        .zip(scores)
        .map(|(r, score)| RankRow {
            rank: r.rank,
            name: r.name.unwrap_or_else(|| r.supplier_id.clone()),
            id: r.supplier_id,
            score: points(r.score),
            grade: r.grade,
            vetoed: r.vetoed,
            dimensions: score
                .as_ref()
                .map(|s| s.dimensions.iter().map(|d| points(d.points)).collect())
                .unwrap_or_default(),
            months: score
                .as_ref()
                .map(|s| s.closings.iter().map(|c| month(t, c)).collect())
                .unwrap_or_default(),
        })
        .collect();
    let page = RankingView {
        chrome: Chrome::of(session, "ranking.title", "/console/ranking"),
        season,
        dimensions,
        rows,
        unpublished,
        notice,
        error,
    };
    session.finish(html(status, &page))
}

/// Publishes a closed month's grades of every supplier.
pub(crate) async fn publish(
    request: HttpRequest,
    console: web::Data<Console>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let season = season_or_now(field(&form, "season"));
    let body = json!({ "period": field(&form, "period") });
    let path = format!("/api/v1/credit/seasons/{season}/publications");
    match console
        .api
        .post::<Value>(&path, Some(&session.token), &body, None)
        .await
    {
        Ok(_) => session.finish(see_other(&format!(
            "/console/ranking?season={season}&done=published"
        ))),
        Err(failure) if failure.status == 401 => refused(&session, &failure, "/console"),
        Err(failure) => {
            let status = failure.status_code();
            ranking_page(
                &console,
                &session,
                season,
                None,
                Some(failure.explained()),
                status,
            )
            .await
        }
    }
}
