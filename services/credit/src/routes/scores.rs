//! Reading credit: the rulebook, the registry, scores (now or as of a moment), ledgers,
//! rankings and the CSV export.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use platform::auth::Principal;
use platform::error::ApiError;
use platform::pagination::Cursor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{client, csv_file, db, may_read, narrowed, own_supplier, season};
use crate::Credit;
use crate::domain::rulebook::Version;
use crate::views::{self, LedgerPage, RankView, ScoreView};

/// The rulebook's versions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RulebookView {
    /// Oldest first; a season is scored under the latest in effect at its start.
    #[schema(value_type = Vec<Object>)]
    versions: Vec<Version>,
}

/// Every version of the rulebook.
#[utoipa::path(get, path = "/api/v1/credit/rulebook", tag = "credit",
    responses((status = 200, body = RulebookView)), security(("bearer" = [])))]
pub(crate) async fn rulebook(
    credit: web::Data<Credit>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    own_supplier(&principal)?;
    Ok(HttpResponse::Ok().json(RulebookView {
        versions: credit.rulebook.versions().to_vec(),
    }))
}

/// A registered supplier.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SupplierView {
    supplier_id: String,
    name: String,
    districts: Vec<String>,
    heated_area_m2: f64,
    contact: String,
}

/// The supplier registry (a supplier admin sees its own).
#[utoipa::path(get, path = "/api/v1/credit/suppliers", tag = "credit",
    responses((status = 200, body = Vec<SupplierView>)), security(("bearer" = [])))]
pub(crate) async fn suppliers(
    credit: web::Data<Credit>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let only = own_supplier(&principal)?;
    let client = client(&credit).await?;
    let rows = client
        .query(
            "SELECT supplier_id, name, districts, heated_area_m2, contact FROM credit.supplier \
             WHERE $1::text IS NULL OR supplier_id = $1 ORDER BY supplier_id",
            &[&only],
        )
        .await
        .map_err(db)?;
    let list: Vec<SupplierView> = rows
        .iter()
        .map(|r| SupplierView {
            supplier_id: r.get(0),
            name: r.get(1),
            districts: r.get(2),
            heated_area_m2: r.get(3),
            contact: r.get(4),
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// The suppliers of a season, best first (a supplier admin sees its own row).
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/ranking", tag = "credit",
    params(("season" = String, Path, description = "e.g. 2026-2027")),
    responses((status = 200, body = Vec<RankView>), (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn ranking(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let only = own_supplier(&principal)?;
    let season = season(&path)?;
    let client = client(&credit).await?;
    let ranking = views::ranking(&client, season, only).await.map_err(db)?;
    Ok(HttpResponse::Ok().json(ranking))
}

/// The moment to compute a score for.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct AsOf {
    /// RFC 3339; absent: now.
    #[param(max_length = 40)]
    as_of: Option<String>,
}

/// A supplier's score by dimension, now or as of a past moment (the entries whose facts had
/// happened by then).
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/suppliers/{id}", tag = "credit",
    params(("season" = String, Path), ("id" = String, Path), AsOf),
    responses((status = 200, body = ScoreView), (status = 400, description = "Bad as_of"),
        (status = 403, description = "Another supplier"), (status = 404, description = "Unknown")),
    security(("bearer" = [])))]
pub(crate) async fn score(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<AsOf>,
) -> Result<HttpResponse, ApiError> {
    let (season_text, supplier) = path.into_inner();
    may_read(&principal, &supplier)?;
    let season = season(&season_text)?;
    let as_of = match &query.as_of {
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    ApiError::bad_request("invalid_as_of", "as_of must be an RFC 3339 time")
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let version = credit.rulebook.for_season(season);
    let client = client(&credit).await?;
    match views::score(&client, version, &supplier, season, as_of)
        .await
        .map_err(db)?
    {
        Some(view) => Ok(HttpResponse::Ok().json(view)),
        None => Err(ApiError::not_found("no such supplier")),
    }
}

/// A page of a ledger.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PageQuery {
    /// From a previous page's `next_cursor`.
    #[param(max_length = 200)]
    cursor: Option<String>,
    /// 1 to 500; 100 by default.
    limit: Option<i64>,
}

/// A supplier's ledger in ledger order, each entry with its rule, points, evidence events and
/// tickets.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/suppliers/{id}/ledger", tag = "credit",
    params(("season" = String, Path), ("id" = String, Path), PageQuery),
    responses((status = 200, body = LedgerPage), (status = 400, description = "Bad cursor"),
        (status = 403, description = "Another supplier")),
    security(("bearer" = [])))]
pub(crate) async fn ledger(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (season_text, supplier) = path.into_inner();
    may_read(&principal, &supplier)?;
    let season = season(&season_text)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            "limit must be 1 to 500",
        ));
    }
    let after = match &query.cursor {
        Some(text) => Cursor::decode(text)
            .map(|c| Some(c.id))
            .ok_or_else(|| ApiError::bad_request("invalid_cursor", "the cursor is not valid"))?,
        None => None,
    };
    let client = client(&credit).await?;
    let page = views::ledger(&client, &supplier, season, after, limit)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(page))
}

/// Which supplier to export.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ExportQuery {
    /// One supplier (a supplier admin always gets its own).
    #[param(max_length = 100)]
    supplier_id: Option<String>,
}

/// The ledger of a season as CSV, in ledger order per supplier.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/ledger.csv", tag = "credit",
    params(("season" = String, Path), ExportQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv")),
    security(("bearer" = [])))]
pub(crate) async fn export(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let supplier = narrowed(&principal, query.supplier_id.as_deref())?;
    let client = client(&credit).await?;
    let body = views::ledger_csv(&client, season, supplier)
        .await
        .map_err(|e| ApiError::internal(&*e))?;
    Ok(csv_file(body, &format!("credit-ledger-{season}.csv")))
}
