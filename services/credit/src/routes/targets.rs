//! The targets board over HTTP: the figures, and the tickets behind one of them.

use actix_web::{HttpResponse, web};
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{client, db, season};
use crate::Credit;
use crate::targets::board::{self, Filter, RetrofitBuilding, TargetsBoard, TicketsBehind};
use crate::targets::map::{self, NetworkMap};

/// Narrows the board to one district or supplier.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct BoardQuery {
    /// Only this district (its row and trend).
    #[param(max_length = 64)]
    district: Option<String>,
    /// Only this supplier (its row and trend).
    #[param(max_length = 64)]
    supplier_id: Option<String>,
}

impl BoardQuery {
    fn filter(&self) -> Filter {
        let some = |v: &Option<String>| v.as_ref().filter(|v| !v.is_empty()).cloned();
        Filter {
            district: some(&self.district),
            supplier: some(&self.supplier_id),
        }
    }
}

/// The city's heating targets for a season: at-or-above-standard share, satisfaction,
/// complaints per 10,000 m², signing within 30 minutes, time to restore, open tickets and
/// incidents, for the city, each district and each supplier, over the season and its latest
/// week, with the trend by day and week.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/targets", tag = "credit",
    params(("season" = String, Path, description = "e.g. 2026-2027"), BoardQuery),
    responses((status = 200, body = TargetsBoard), (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn targets(
    credit: web::Data<Credit>,
    _: Principal,
    path: web::Path<String>,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let client = client(&credit).await?;
    let answer = board::board(&client, season, credit.clock.now(), &query.filter())
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Which tickets to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct BehindQuery {
    /// `opened`, `below_standard`, `unsatisfied`, `late_sign`, `restored`, `open` or
    /// `incidents_open`.
    #[param(max_length = 32)]
    figure: String,
    /// The latest week instead of the season.
    week: Option<bool>,
    /// Only this district.
    #[param(max_length = 64)]
    district: Option<String>,
    /// Only this supplier.
    #[param(max_length = 64)]
    supplier_id: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

/// The tickets behind one figure of the board, the worst first (the coldest reading, the
/// longest wait), with how many there are in all.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/targets/tickets", tag = "credit",
    params(("season" = String, Path), BehindQuery),
    responses((status = 200, body = TicketsBehind),
        (status = 422, description = "Unknown figure or bad limit"),
        (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn behind(
    credit: web::Data<Credit>,
    _: Principal,
    path: web::Path<String>,
    query: web::Query<BehindQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let mut errors = FieldErrors::default();
    if !board::FIGURES.contains(&query.figure.as_str()) {
        errors.add(
            "figure",
            "unknown",
            format!("one of {}", board::FIGURES.join(", ")),
        );
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        errors.add("limit", "out_of_range", "from 1 to 500");
    }
    errors.into_result()?;
    let filter = BoardQuery {
        district: query.district.clone(),
        supplier_id: query.supplier_id.clone(),
    }
    .filter();
    let client = client(&credit).await?;
    let answer = board::tickets_behind(
        &client,
        season,
        credit.clock.now(),
        &query.figure,
        query.week.unwrap_or(false),
        &filter,
        limit,
    )
    .await
    .map_err(db)?;
    match answer {
        Some(answer) => Ok(HttpResponse::Ok().json(answer)),
        None => Err(ApiError::not_found("no such figure")),
    }
}

/// How many buildings to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct RetrofitQuery {
    /// 1–1,000, default 100.
    limit: Option<i64>,
}

/// The retrofit list: buildings ranked by complaints this season, with their causes, repeat
/// households and incidents, so that pipe renewal goes where the cold homes are.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/retrofit", tag = "credit",
    params(("season" = String, Path), RetrofitQuery),
    responses((status = 200, body = Vec<RetrofitBuilding>),
        (status = 422, description = "Bad limit"), (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn retrofit(
    credit: web::Data<Credit>,
    _: Principal,
    path: web::Path<String>,
    query: web::Query<RetrofitQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        let mut errors = FieldErrors::default();
        errors.add("limit", "out_of_range", "from 1 to 1,000");
        errors.into_result()?;
    }
    let client = client(&credit).await?;
    let list = board::retrofit(&client, season, credit.clock.now(), limit)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(list))
}

/// The network map: complaints this season and week, open tickets and open incidents by
/// district and heat-exchange station, the stations most complained of first.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/map", tag = "credit",
    params(("season" = String, Path)),
    responses((status = 200, body = NetworkMap), (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn network_map(
    credit: web::Data<Credit>,
    _: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let client = client(&credit).await?;
    let answer = map::map(&client, season, credit.clock.now())
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(answer))
}
