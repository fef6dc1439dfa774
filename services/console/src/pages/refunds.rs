//! Refunds in the console: what each supplier owes residents for cold and late days, the
//! households behind it, and one household's days with the repairs and events behind them.
//! The regulator sees every supplier; a supplier admin its own liability.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::queue::urlencode;
use super::season_or_now;
use super::{Chrome, html, read};
use crate::Console;
use crate::format;
use crate::session::Session;

#[derive(Debug, Deserialize)]
pub(crate) struct SupplierTotal {
    pub supplier_id: String,
    pub households: i64,
    pub days: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HouseholdTotal {
    pub household: String,
    pub supplier_id: String,
    pub building_id: Option<String>,
    pub district: Option<String>,
    pub days: i64,
    pub amount_fen: i64,
    pub last_day: String,
}

#[derive(Debug, Deserialize)]
struct Day {
    day: String,
    rule: String,
    tier: String,
    share_pct: u32,
    lowest_celsius: Option<f64>,
    amount_fen: i64,
    version: String,
    evidence: Vec<String>,
    tickets: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Statement {
    household: String,
    registered: bool,
    supplier_id: Option<String>,
    area_m2: Option<f64>,
    season_fee_fen: Option<i64>,
    days: Vec<Day>,
    total_fen: i64,
    repairs_open: i64,
}

struct TotalRow {
    supplier: String,
    households: String,
    days: String,
    yuan: String,
}

struct HomeRow {
    household: String,
    place: String,
    supplier: String,
    days: String,
    yuan: String,
    last_day: String,
}

#[derive(Template)]
#[template(path = "refunds.html")]
struct RefundsPage {
    chrome: Chrome,
    season: String,
    totals: Vec<TotalRow>,
    total_yuan: String,
    homes: Vec<HomeRow>,
}

struct DayRow {
    day: String,
    rule: String,
    tier: String,
    share: String,
    lowest: String,
    yuan: String,
    version: String,
    tickets: Vec<String>,
    evidence: Vec<String>,
}

#[derive(Template)]
#[template(path = "refund.html")]
struct RefundPage {
    chrome: Chrome,
    season: String,
    household: String,
    supplier: String,
    area: String,
    season_fee: String,
    registered: bool,
    days: Vec<DayRow>,
    total: String,
    repairs_open: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RefundsQuery {
    season: Option<String>,
    supplier_id: Option<String>,
}

/// The supplier filter of a query, as the API takes it.
fn supplier_filter(asked: Option<&str>) -> String {
    asked
        .filter(|s| !s.is_empty())
        .map(|s| format!("&supplier_id={}", urlencode(s)))
        .unwrap_or_default()
}

/// What suppliers owe in a season and the households behind it.
pub(crate) async fn read_refunds(
    console: &Console,
    session: &Session,
    season: &str,
    supplier: Option<&str>,
) -> Result<(Vec<SupplierTotal>, Vec<HouseholdTotal>), HttpResponse> {
    let filter = supplier_filter(supplier);
    let totals: Vec<SupplierTotal> = read(
        console,
        session,
        &format!("/api/v1/refunds/seasons/{season}/suppliers?{filter}"),
        "/console",
    )
    .await?;
    let homes: Vec<HouseholdTotal> = read(
        console,
        session,
        &format!("/api/v1/refunds/seasons/{season}/households?limit=200{filter}"),
        "/console",
    )
    .await?;
    Ok((totals, homes))
}

/// `/console/refunds`.
pub(crate) async fn page(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<RefundsQuery>,
) -> HttpResponse {
    let season = season_or_now(query.season.clone());
    let (totals, homes) =
        match read_refunds(&console, &session, &season, query.supplier_id.as_deref()).await {
            Ok(read) => read,
            Err(refusal) => return refusal,
        };
    let page = RefundsPage {
        chrome: Chrome::of(&session, "refunds.title", "/console/refunds"),
        total_yuan: format::yuan(totals.iter().map(|t| t.amount_fen).sum()),
        totals: totals
            .into_iter()
            .map(|t| TotalRow {
                supplier: t.supplier_id,
                households: format::count(t.households),
                days: format::count(t.days),
                yuan: format::yuan(t.amount_fen),
            })
            .collect(),
        homes: homes
            .into_iter()
            .map(|h| HomeRow {
                place: [h.district, h.building_id]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                household: h.household,
                supplier: h.supplier_id,
                days: format::count(h.days),
                yuan: format::yuan(h.amount_fen),
                last_day: h.last_day,
            })
            .collect(),
        season,
    };
    session.finish(html(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SeasonOnly {
    season: Option<String>,
}

/// `/console/refunds/{household}`.
pub(crate) async fn household(
    session: Session,
    console: web::Data<Console>,
    path: web::Path<String>,
    query: web::Query<SeasonOnly>,
) -> HttpResponse {
    let season = season_or_now(query.season.clone());
    let statement: Statement = match read(
        &console,
        &session,
        &format!(
            "/api/v1/refunds/seasons/{season}/households/{}",
            urlencode(&path)
        ),
        "/console/refunds",
    )
    .await
    {
        Ok(statement) => statement,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let page = RefundPage {
        chrome: Chrome::of(&session, "refunds.statement", "/console/refunds"),
        household: statement.household,
        supplier: statement.supplier_id.unwrap_or_else(|| "—".into()),
        area: statement
            .area_m2
            .map(|a| format!("{a:.2} m²"))
            .unwrap_or_else(|| "—".into()),
        season_fee: statement
            .season_fee_fen
            .map(format::yuan)
            .unwrap_or_else(|| "—".into()),
        registered: statement.registered,
        days: statement
            .days
            .into_iter()
            .map(|d| DayRow {
                rule: t.code("refund_rule", &d.rule),
                // `°C`, not `℃`: see `format::celsius`.
                tier: if d.tier == "whole day" {
                    t.s("refunds.whole_day").to_owned()
                } else {
                    d.tier.replace('℃', "°C")
                },
                share: format!("{} %", d.share_pct),
                lowest: d
                    .lowest_celsius
                    .map(format::celsius)
                    .unwrap_or_else(|| "—".into()),
                yuan: format::yuan(d.amount_fen),
                day: d.day,
                version: d.version,
                tickets: d.tickets,
                evidence: d.evidence,
            })
            .collect(),
        total: format::yuan(statement.total_fen),
        repairs_open: statement.repairs_open,
        season,
    };
    session.finish(html(StatusCode::OK, &page))
}
