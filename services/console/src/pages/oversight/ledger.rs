//! A supplier's ledger with its adjustments and vetoes, and the events behind an entry.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Console;
use crate::format;
use crate::pages::queue::urlencode;
use crate::pages::season_or_now;
use crate::pages::{Chrome, Form, field, form_session, html, read, refused, see_other};
use crate::session::Session;

use super::{Score, SupplierQuery, month, points};
use crate::pages::entries::{EntryRow, Ledger};

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
        entries: ledger
            .items
            .into_iter()
            .map(|e| EntryRow::of(t, e))
            .collect(),
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

/// A supplier's score and ledger, as the regulator reads them.
pub(crate) async fn supplier(
    session: Session,
    console: web::Data<Console>,
    id: web::Path<String>,
    query: web::Query<SupplierQuery>,
) -> HttpResponse {
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
            let status = failure.status_code();
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
    session: Session,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
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
