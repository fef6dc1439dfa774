//! The regulator's credit pages: the ranking with each supplier's dimensions and closed
//! months, a supplier's ledger with adjustments and vetoes, the event behind an entry, the
//! appeals to decide, and a season replayed under another rulebook version.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::queue::urlencode;
use super::targets::season_or_now;
use super::{Chrome, Form, field, form_session, html, read, refused, see_other};
use crate::Console;
use crate::format;
use crate::i18n::Tr;
use crate::session::Session;

#[derive(Debug, Deserialize)]
struct Rank {
    rank: usize,
    supplier_id: String,
    name: Option<String>,
    score: f64,
    grade: String,
    vetoed: bool,
}

#[derive(Debug, Deserialize)]
struct Dimension {
    dimension: String,
    weight: f64,
    points: f64,
}

#[derive(Debug, Deserialize)]
struct Closing {
    period: String,
    is_final: bool,
    score: f64,
    grade: String,
    published_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Score {
    score: f64,
    grade: String,
    status: String,
    vetoed: bool,
    rulebook_version: String,
    dimensions: Vec<Dimension>,
    closings: Vec<Closing>,
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

/// `2026-12` → `2026年12月` (or as is in English); the season for the final grade.
fn period(t: Tr, closing: &Closing) -> String {
    if closing.is_final {
        return t.s("ranking.final").to_owned();
    }
    match (t.english(), closing.period.split_once('-')) {
        (false, Some((year, month))) => {
            format!("{year}年{}月", month.trim_start_matches('0'))
        }
        _ => closing.period.clone(),
    }
}

fn points(value: f64) -> String {
    format!("{value:.2}")
}

/// A closed period's grade as the ranking shows it: `A 92.50`, and whether it is public.
fn month(t: Tr, c: &Closing) -> (String, String) {
    let public = if c.published_at.is_some() {
        format!(" · {}", t.s("ranking.published"))
    } else {
        String::new()
    };
    (
        period(t, c),
        format!("{} {}{public}", c.grade, points(c.score)),
    )
}

/// The season's ranking.
pub(crate) async fn ranking(
    request: HttpRequest,
    console: web::Data<Console>,
    query: web::Query<SupplierQuery>,
) -> HttpResponse {
    let session = match Session::load(&request, &console).await {
        Ok(session) => session,
        Err(to_login) => return to_login,
    };
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
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_GATEWAY);
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

#[derive(Debug, Deserialize)]
struct Link {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Entry {
    entry_id: String,
    sequence: i64,
    dimension: String,
    rule: String,
    points: f64,
    points_text: String,
    detail: String,
    at: String,
    evidence: Vec<Link>,
    tickets: Vec<Link>,
    appeal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Ledger {
    items: Vec<Entry>,
}

pub(crate) struct EntryRow {
    id: String,
    sequence: i64,
    dimension: String,
    rule: String,
    points: String,
    negative: bool,
    detail: String,
    at: String,
    evidence: Vec<String>,
    tickets: Vec<String>,
    appeal: Option<String>,
}

fn entry_rows(t: Tr, entries: Vec<Entry>) -> Vec<EntryRow> {
    entries
        .into_iter()
        .map(|e| EntryRow {
            negative: e.points < 0.0,
            id: e.entry_id,
            sequence: e.sequence,
            dimension: t.code("dimension", &e.dimension),
            rule: e.rule,
            points: e.points_text,
            detail: e.detail,
            at: format::moment_text(t.0, &e.at),
            evidence: e.evidence.into_iter().map(|l| l.id).collect(),
            tickets: e.tickets.into_iter().map(|l| l.id).collect(),
            appeal: e.appeal.map(|a| t.code("appeal", &a)),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "supplier_credit.html")]
struct SupplierView {
    chrome: Chrome,
    season: String,
    id: String,
    score: String,
    grade: String,
    status: String,
    vetoed: bool,
    version: String,
    dimensions: Vec<(String, String)>,
    months: Vec<(String, String)>,
    entries: Vec<EntryRow>,
    dimension_choices: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
}

const SCORED: [&str; 6] = [
    "heating_quality",
    "sla_performance",
    "complaint_rate",
    "satisfaction",
    "outages",
    "data_integration",
];

async fn supplier_page(
    console: &Console,
    session: &Session,
    supplier: &str,
    season: String,
    error: Option<String>,
    status: StatusCode,
    notice: Option<String>,
) -> HttpResponse {
    let base = format!(
        "/api/v1/credit/seasons/{season}/suppliers/{}",
        urlencode(supplier)
    );
    let ledger_path = format!("{base}/ledger?limit=500");
    let back = format!("/console/ranking?season={season}");
    let (score, ledger) = futures_util::join!(
        read::<Score>(console, session, &base, &back),
        read::<Ledger>(console, session, &ledger_path, &back),
    );
    let (score, ledger) = match (score, ledger) {
        (Ok(score), Ok(ledger)) => (score, ledger),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let t = session.tr();
    let page = SupplierView {
        chrome: Chrome::of(session, "credit.title", "/console/ranking"),
        id: supplier.to_owned(),
        score: points(score.score),
        grade: score.grade,
        status: t.code("credit_status", &score.status),
        vetoed: score.vetoed,
        version: score.rulebook_version,
        dimensions: score
            .dimensions
            .iter()
            .map(|d| {
                (
                    t.code("dimension", &d.dimension),
                    format!("{} / {}", points(d.points), d.weight),
                )
            })
            .collect(),
        months: score.closings.iter().map(|c| month(t, c)).collect(),
        entries: entry_rows(t, ledger.items),
        dimension_choices: SCORED
            .iter()
            .map(|d| ((*d).to_owned(), t.code("dimension", d)))
            .collect(),
        season,
        error,
        notice,
    };
    session.finish(html(status, &page))
}

/// Query of a supplier's page: the season, and what was just recorded.
#[derive(Debug, Deserialize)]
pub(crate) struct SupplierQuery {
    season: Option<String>,
    done: Option<String>,
}

/// A supplier's score and ledger, as the regulator reads them.
pub(crate) async fn supplier(
    request: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    query: web::Query<SupplierQuery>,
) -> HttpResponse {
    let session = match Session::load(&request, &console).await {
        Ok(session) => session,
        Err(to_login) => return to_login,
    };
    let season = season_or_now(query.season.clone());
    let notice = query
        .done
        .as_deref()
        .map(|kind| session.tr().code("recorded", kind));
    supplier_page(
        &console,
        &session,
        &id,
        season,
        None,
        StatusCode::OK,
        notice,
    )
    .await
}

/// Records a regulator's adjustment or veto on a supplier's ledger.
pub(crate) async fn own_entry(
    request: HttpRequest,
    console: web::Data<Console>,
    path: web::Path<(String, String)>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let (supplier, kind) = path.into_inner();
    let season = season_or_now(field(&form, "season"));
    let tickets: Vec<String> = field(&form, "ticket_ids")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let (api_kind, body) = match kind.as_str() {
        "adjustment" => {
            let points = field(&form, "points").map(|p| p.parse::<f64>());
            let points = match points {
                Some(Ok(p)) => Some(p),
                Some(Err(_)) => {
                    let message = session.tr().s("credit.points_number").to_owned();
                    return supplier_page(
                        &console,
                        &session,
                        &supplier,
                        season,
                        Some(message),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        None,
                    )
                    .await;
                }
                None => None,
            };
            (
                "adjustments",
                json!({
                    "dimension": field(&form, "dimension"),
                    "points": points,
                    "justification": field(&form, "justification"),
                    "ticket_ids": tickets,
                }),
            )
        }
        "veto" => (
            "vetoes",
            json!({
                "rule": field(&form, "rule"),
                "justification": field(&form, "justification"),
                "ticket_ids": tickets,
            }),
        ),
        _ => {
            let failure = crate::api::Failure::local(404, "not_found", "no such form");
            return refused(&session, &failure, "/console/ranking");
        }
    };
    let path = format!(
        "/api/v1/credit/seasons/{season}/suppliers/{}/{api_kind}",
        urlencode(&supplier)
    );
    match console
        .api
        .post::<Value>(&path, Some(&session.token), &body, None)
        .await
    {
        Ok(_) => session.finish(see_other(&format!(
            "/console/suppliers/{}?season={season}&done={kind}",
            urlencode(&supplier)
        ))),
        Err(failure) if failure.status == 401 => refused(&session, &failure, "/console"),
        Err(failure) => {
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_GATEWAY);
            supplier_page(
                &console,
                &session,
                &supplier,
                season,
                Some(failure.explained()),
                status,
                None,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
struct EvidenceEntry {
    entry_id: String,
    supplier_id: String,
    season: String,
    rule: String,
    points: String,
}

#[derive(Debug, Deserialize)]
struct Evidence {
    event_id: String,
    message_type: String,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    recorded_at: String,
    metadata: Value,
    fact: Option<String>,
    entries: Vec<EvidenceEntry>,
}

pub(crate) struct EvidenceLine {
    href: String,
    supplier: String,
    rule: String,
    points: String,
}

#[derive(Template)]
#[template(path = "evidence.html")]
struct EvidenceView {
    chrome: Chrome,
    id: String,
    kind: String,
    message_type: String,
    stream: String,
    ticket: Option<String>,
    recorded: String,
    actor: String,
    fact: String,
    entries: Vec<EvidenceLine>,
}

/// The name of a message type's last part (`heatline.dispatch.v1.TicketResolved` →
/// `TicketResolved`).
fn message_name(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}

/// A published event behind ledger entries.
pub(crate) async fn evidence(
    request: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
    let session = match Session::load(&request, &console).await {
        Ok(session) => session,
        Err(to_login) => return to_login,
    };
    let path = format!("/api/v1/credit/evidence/{}", urlencode(&id));
    let found: Evidence = match read(&console, &session, &path, "/console/ranking").await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let actor = |key: &str| {
        found
            .metadata
            .pointer(&format!("/actor/{key}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let page = EvidenceView {
        chrome: Chrome::of(&session, "evidence.title", "/console/ranking"),
        kind: t.code("event", message_name(&found.message_type)),
        message_type: found.message_type.clone(),
        stream: format!(
            "{} {} #{}",
            found.aggregate_type, found.aggregate_id, found.sequence
        ),
        ticket: (found.aggregate_type == "ticket").then(|| found.aggregate_id.clone()),
        recorded: format::moment_text(t.0, &found.recorded_at),
        actor: format!("{} · {}", t.code("role", &actor("role")), actor("id")),
        fact: found.fact.clone().unwrap_or_else(|| "—".into()),
        entries: found
            .entries
            .iter()
            .map(|e| EvidenceLine {
                href: format!(
                    "/console/suppliers/{}?season={}#entry-{}",
                    urlencode(&e.supplier_id),
                    e.season,
                    e.entry_id
                ),
                supplier: e.supplier_id.clone(),
                rule: e.rule.clone(),
                points: e.points.clone(),
            })
            .collect(),
        id: found.event_id,
    };
    session.finish(html(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
struct Appeal {
    appeal_id: String,
    supplier_id: String,
    entry_id: String,
    statement: String,
    attachments: Vec<String>,
    filed_at: String,
    status: String,
    reason: Option<String>,
    decided_at: Option<String>,
    decided_by: Option<String>,
    working_days_left: Option<i64>,
}

pub(crate) struct AppealCard {
    id: String,
    supplier: String,
    supplier_href: String,
    filed: String,
    left: String,
    overdue: bool,
    statement: String,
    attachments: Vec<String>,
    entry: Option<EntryRow>,
    decided: Option<String>,
}

#[derive(Template)]
#[template(path = "decisions.html")]
struct DecisionsView {
    chrome: Chrome,
    season: String,
    pending: Vec<AppealCard>,
    decided: Vec<AppealCard>,
    error: Option<String>,
    notice: Option<String>,
}

async fn decisions_page(
    console: &Console,
    session: &Session,
    season: String,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let path = format!("/api/v1/credit/seasons/{season}/appeals");
    let mut appeals: Vec<Appeal> = match read(console, session, &path, "/console").await {
        Ok(appeals) => appeals,
        Err(refusal) => return refusal,
    };
    appeals.sort_by(|a, b| a.filed_at.cmp(&b.filed_at));
    // The appealed entries, from each supplier's ledger.
    let mut suppliers: Vec<&str> = appeals.iter().map(|a| a.supplier_id.as_str()).collect();
    suppliers.sort_unstable();
    suppliers.dedup();
    let ledgers = futures_util::future::join_all(suppliers.iter().map(|s| {
        let path = format!(
            "/api/v1/credit/seasons/{season}/suppliers/{}/ledger?limit=500",
            urlencode(s)
        );
        let token = &session.token;
        async move { console.api.get::<Ledger>(&path, Some(token)).await }
    }))
    .await;
    let t = session.tr();
    let mut entries: HashMap<String, Entry> = HashMap::new();
    for ledger in ledgers.into_iter().flatten() {
        for entry in ledger.items {
            entries.insert(entry.entry_id.clone(), entry);
        }
    }
    let (mut pending, mut decided) = (Vec::new(), Vec::new());
    for a in appeals {
        let card = AppealCard {
            supplier_href: format!(
                "/console/suppliers/{}?season={season}#entry-{}",
                urlencode(&a.supplier_id),
                a.entry_id
            ),
            entry: entries
                .remove(&a.entry_id)
                .and_then(|e| entry_rows(t, vec![e]).pop()),
            id: a.appeal_id,
            supplier: a.supplier_id,
            filed: format::moment_text(t.0, &a.filed_at),
            left: match a.working_days_left {
                Some(n) if n < 0 => t.s("decisions.overdue").to_owned(),
                Some(0) => t.s("decisions.today").to_owned(),
                Some(n) => format!("{n} {}", t.s("decisions.working_days")),
                None => String::new(),
            },
            overdue: a.working_days_left.is_some_and(|n| n <= 1),
            statement: a.statement,
            attachments: a.attachments,
            decided: a.decided_at.as_ref().map(|at| {
                format!(
                    "{} · {} · {} {} · {}",
                    t.code("appeal", &a.status),
                    format::moment_text(t.0, at),
                    t.code("role", "regulator"),
                    a.decided_by.as_deref().unwrap_or("—"),
                    a.reason.clone().unwrap_or_default()
                )
            }),
        };
        if a.status == "pending" {
            pending.push(card);
        } else {
            decided.push(card);
        }
    }
    decided.reverse();
    let page = DecisionsView {
        chrome: Chrome::of(session, "decisions.title", "/console/decisions"),
        season,
        pending,
        decided,
        error,
        notice,
    };
    session.finish(html(status, &page))
}

/// The appeals to decide, oldest first, and those decided.
pub(crate) async fn decisions(
    request: HttpRequest,
    console: web::Data<Console>,
    query: web::Query<SupplierQuery>,
) -> HttpResponse {
    let session = match Session::load(&request, &console).await {
        Ok(session) => session,
        Err(to_login) => return to_login,
    };
    let season = season_or_now(query.season.clone());
    let notice = query
        .done
        .as_deref()
        .map(|d| session.tr().code("decided", d));
    decisions_page(&console, &session, season, None, notice, StatusCode::OK).await
}

/// Decides an appeal: upheld or rejected, with a reason.
pub(crate) async fn decide(
    request: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let season = season_or_now(field(&form, "season"));
    let upheld = match field(&form, "decision").as_deref() {
        Some("uphold") => Some(true),
        Some("reject") => Some(false),
        _ => None,
    };
    let body = json!({ "upheld": upheld, "reason": field(&form, "reason") });
    let path = format!("/api/v1/credit/appeals/{}/decision", urlencode(&id));
    match console
        .api
        .post::<Value>(&path, Some(&session.token), &body, None)
        .await
    {
        Ok(_) => {
            let done = if upheld == Some(true) {
                "upheld"
            } else {
                "rejected"
            };
            session.finish(see_other(&format!(
                "/console/decisions?season={season}&done={done}"
            )))
        }
        Err(failure) if failure.status == 401 => refused(&session, &failure, "/console"),
        Err(failure) => {
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_GATEWAY);
            decisions_page(
                &console,
                &session,
                season,
                Some(failure.explained()),
                None,
                status,
            )
            .await
        }
    }
}

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
    request: HttpRequest,
    console: web::Data<Console>,
    query: web::Query<WhatIfQuery>,
) -> HttpResponse {
    let session = match Session::load(&request, &console).await {
        Ok(session) => session,
        Err(to_login) => return to_login,
    };
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
