//! Refunds over HTTP: a resident's own statements, a household's statement and what-if, what
//! each supplier owes, the billing export, and the refund rulebook.

use actix_web::{HttpResponse, web};
use platform::auth::Principal;
use platform::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{client, csv_file, db, narrowed, own_supplier, season};
use crate::Credit;
use crate::domain::refund_rules::RefundVersion;
use crate::domain::values::Season;
use crate::refunds::statement::{self, RefundStatement, RefundWhatIf, SupplierRefunds};

/// The refund rulebook in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefundRulebookView {
    /// The city whose versions apply.
    city: String,
    /// The version the current season follows.
    current: Option<String>,
    /// Every version of every city, oldest first.
    versions: Vec<RefundVersion>,
}

/// The refund rulebook: every version with its tiers, and which one the current season of
/// the configured city follows. Public: these are the city's published rules.
#[utoipa::path(get, path = "/api/v1/refunds/rulebook", tag = "refunds",
    responses((status = 200, body = RefundRulebookView)))]
pub(crate) async fn refund_rulebook(credit: web::Data<Credit>) -> HttpResponse {
    let city = credit.config.refund_city.clone();
    let current = credit
        .refund_rules
        .for_season(&city, Season::of(credit.clock.now()))
        .map(|v| v.version.clone());
    HttpResponse::Ok().json(RefundRulebookView {
        city,
        current,
        versions: credit.refund_rules.versions().to_vec(),
    })
}

/// Which season.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SeasonQuery {
    /// The season, e.g. `2026-2027` (default: the current one).
    #[param(max_length = 9)]
    season: Option<String>,
}

/// A resident's refunds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyRefunds {
    /// The season.
    season: String,
    /// One statement per household the resident has filed for.
    statements: Vec<RefundStatement>,
}

/// The caller's refund statements for a season: one for each household they filed a
/// complaint for from the app or the mini-program, with every refunded day, its tier, its
/// amount in fen and the repairs behind it.
#[utoipa::path(get, path = "/api/v1/me/refunds", tag = "refunds",
    params(SeasonQuery),
    responses((status = 200, body = MyRefunds), (status = 422, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn my_refunds(
    credit: web::Data<Credit>,
    principal: Principal,
    query: web::Query<SeasonQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = match query.season.as_deref() {
        Some(raw) => Season::parse(raw).ok_or_else(|| {
            let mut errors = platform::fields::FieldErrors::default();
            errors.add(
                "season",
                "invalid",
                "a season is named by its two years, e.g. 2026-2027",
            );
            errors.into_result().expect_err("one error was added")
        })?,
        None => Season::of(credit.clock.now()),
    };
    let client = client(&credit).await?;
    let households: Vec<String> = client
        .query(
            "SELECT household FROM credit.refund_resident WHERE resident = $1 ORDER BY household",
            &[&principal.subject],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut statements = Vec::with_capacity(households.len());
    for household in households {
        statements.push(
            statement::statement(&client, season, &household)
                .await
                .map_err(db)?,
        );
    }
    Ok(HttpResponse::Ok().json(MyRefunds {
        season: season.to_string(),
        statements,
    }))
}

fn household_id(raw: &str) -> Result<&str, ApiError> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(raw)
        .ok_or_else(|| ApiError::not_found("no such household"))
}

/// A household's statement as `principal` may read it: a supplier admin only its own
/// households'.
async fn readable(
    credit: &Credit,
    principal: &Principal,
    season: Season,
    household: &str,
) -> Result<RefundStatement, ApiError> {
    let client = client(credit).await?;
    let statement = statement::statement(&client, season, household)
        .await
        .map_err(db)?;
    if !statement.registered && statement.days.is_empty() {
        return Err(ApiError::not_found("no such household"));
    }
    if let Some(own) = own_supplier(principal)?
        && statement.supplier_id.as_deref() != Some(own)
    {
        return Err(ApiError::forbidden("only your own supplier's households"));
    }
    Ok(statement)
}

/// A household's refund statement for a season: the supplier's liability for it, day by day,
/// each day with its rule, tier, amount and the events behind it.
#[utoipa::path(get, path = "/api/v1/refunds/seasons/{season}/households/{household}",
    tag = "refunds",
    params(("season" = String, Path), ("household" = String, Path, max_length = 64)),
    responses((status = 200, body = RefundStatement),
        (status = 403, description = "Another supplier's household"),
        (status = 404, description = "Bad season or unknown household")),
    security(("bearer" = [])))]
pub(crate) async fn household(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path.0)?;
    let household = household_id(&path.1)?;
    let statement = readable(&credit, &principal, season, household).await?;
    Ok(HttpResponse::Ok().json(statement))
}

/// Which version to count under.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct WhatIfQuery {
    /// A refund rulebook version, e.g. `harbin-2024.1`.
    #[param(max_length = 64)]
    version: String,
}

/// A registered household's season counted again under another refund rulebook version,
/// beside what its ledger holds; nothing is written.
#[utoipa::path(get, path = "/api/v1/refunds/seasons/{season}/households/{household}/what-if",
    tag = "refunds",
    params(("season" = String, Path), ("household" = String, Path, max_length = 64), WhatIfQuery),
    responses((status = 200, body = RefundWhatIf),
        (status = 404, description = "Bad season, unknown or unregistered household"),
        (status = 422, description = "Unknown version")),
    security(("bearer" = [])))]
pub(crate) async fn refund_what_if(
    credit: web::Data<Credit>,
    _: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<WhatIfQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path.0)?;
    let household = household_id(&path.1)?;
    let Some(version) = credit.refund_rules.version(&query.version) else {
        let mut errors = platform::fields::FieldErrors::default();
        errors.add("version", "unknown", "no such refund rulebook version");
        return Err(errors.into_result().expect_err("one error was added"));
    };
    let client = client(&credit).await?;
    let home = statement::registration(&client, household)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found("no such registered household"))?;
    let answer = statement::what_if(&client, season, &home, version)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Narrows to one supplier.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SupplierQuery {
    /// One supplier (a supplier admin always gets its own).
    #[param(max_length = 100)]
    supplier_id: Option<String>,
}

/// What each supplier owes in refunds for a season: households, days and the sum in fen (a
/// supplier admin sees its own).
#[utoipa::path(get, path = "/api/v1/refunds/seasons/{season}/suppliers", tag = "refunds",
    params(("season" = String, Path), SupplierQuery),
    responses((status = 200, body = Vec<SupplierRefunds>), (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn refund_totals(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<SupplierQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let supplier = narrowed(&principal, query.supplier_id.as_deref())?;
    let client = client(&credit).await?;
    let totals = statement::by_supplier(&client, season, supplier)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(totals))
}

/// The refunded days of a season as CSV for a supplier's billing system: one line per
/// household and day, amounts in fen.
#[utoipa::path(get, path = "/api/v1/refunds/seasons/{season}/refunds.csv", tag = "refunds",
    params(("season" = String, Path), SupplierQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv")),
    security(("bearer" = [])))]
pub(crate) async fn refund_export(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<SupplierQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let supplier = narrowed(&principal, query.supplier_id.as_deref())?;
    let client = client(&credit).await?;
    let body = statement::csv(&client, season, supplier)
        .await
        .map_err(|e| ApiError::internal(&*e))?;
    Ok(csv_file(body, &format!("refunds-{season}.csv")))
}

/// Which households.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct HouseholdsQuery {
    /// One supplier (a supplier admin always gets its own).
    #[param(max_length = 100)]
    supplier_id: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

/// The households with a refund in a season, the largest refund first: days, sum and latest
/// day (a supplier admin sees its own).
#[utoipa::path(get, path = "/api/v1/refunds/seasons/{season}/households", tag = "refunds",
    params(("season" = String, Path), HouseholdsQuery),
    responses((status = 200, body = Vec<statement::HouseholdRefunds>),
        (status = 422, description = "Bad limit"),
        (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn refund_households(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<HouseholdsQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        let mut errors = platform::fields::FieldErrors::default();
        errors.add("limit", "out_of_range", "from 1 to 500");
        errors.into_result()?;
    }
    let supplier = narrowed(&principal, query.supplier_id.as_deref())?;
    let client = client(&credit).await?;
    let list = statement::households(&client, season, supplier, limit)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(list))
}
