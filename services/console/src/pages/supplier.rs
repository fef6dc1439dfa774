//! A supplier admin's pages besides its tickets: its crews (and registering one), its credit
//! ledger with each entry's evidence and tickets, and appeals against entries.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::entries::{EntryRow, Ledger};
use super::queue::urlencode;
use super::{Chrome, Form, field, form_session, html, read, refused, season_now, see_other};
use crate::Console;
use crate::api::Failure;
use crate::format;
use crate::session::Session;

#[derive(Debug, Deserialize)]
struct CrewView {
    crew_id: String,
    name: String,
    district: Option<String>,
    active: bool,
}

pub(crate) struct CrewRow {
    id: String,
    name: String,
    district: String,
    active: bool,
    members: Vec<String>,
}

/// A staff account as identity lists it.
#[derive(Debug, Deserialize)]
struct Member {
    username: String,
    crew: Option<String>,
}

#[derive(Template)]
#[template(path = "crews.html")]
struct CrewsPage {
    chrome: Chrome,
    crews: Vec<CrewRow>,
    error: Option<String>,
}

fn no_supplier() -> Failure {
    Failure::local(403, "no_supplier", "this account is not a supplier's")
}

async fn crews_page(
    console: &Console,
    session: &Session,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let Some(supplier) = session.claims.supplier.clone() else {
        return refused(session, &no_supplier(), "/console");
    };
    let crews_path = format!("/api/v1/crews?supplier_id={}", urlencode(&supplier));
    let staff_path = format!("/api/v1/staff?supplier_id={}", urlencode(&supplier));
    let (found, staff) = futures_util::join!(
        read::<Vec<CrewView>>(console, session, &crews_path, "/console"),
        read::<Vec<Member>>(console, session, &staff_path, "/console"),
    );
    let (found, staff) = match (found, staff) {
        (Ok(found), Ok(staff)) => (found, staff),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let page = CrewsPage {
        chrome: Chrome::of(session, "crews.title", "/console/crews"),
        crews: found
            .into_iter()
            .map(|c| CrewRow {
                members: staff
                    .iter()
                    .filter(|m| m.crew.as_deref() == Some(c.crew_id.as_str()))
                    .map(|m| m.username.clone())
                    .collect(),
                id: c.crew_id,
                name: c.name,
                district: c.district.unwrap_or_else(|| "—".into()),
                active: c.active,
            })
            .collect(),
        error,
    };
    session.finish(html(status, &page))
}

/// The supplier's crews.
pub(crate) async fn crews(session: Session, console: web::Data<Console>) -> HttpResponse {
    crews_page(&console, &session, None, StatusCode::OK).await
}

/// Registers a crew of the supplier.
pub(crate) async fn new_crew(
    request: HttpRequest,
    console: web::Data<Console>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let body = json!({
        "name": field(&form, "name"),
        "district": field(&form, "district"),
        "supplier_id": session.claims.supplier,
    });
    match console
        .api
        .post::<serde_json::Value>("/api/v1/crews", Some(&session.token), &body, None)
        .await
    {
        Ok(_) => session.finish(see_other("/console/crews")),
        Err(failure) => {
            let status = failure.status_code();
            crews_page(&console, &session, Some(failure.explained()), status).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct ScoreView {
    score: f64,
    grade: String,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerView {
    chrome: Chrome,
    season: String,
    score: String,
    grade: String,
    entries: Vec<EntryRow>,
    notice: Option<String>,
    error: Option<String>,
}

async fn ledger_page(
    console: &Console,
    session: &Session,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let Some(supplier) = session.claims.supplier.clone() else {
        return refused(session, &no_supplier(), "/console");
    };
    let season = season_now();
    let base = format!(
        "/api/v1/credit/seasons/{season}/suppliers/{}",
        urlencode(&supplier)
    );
    let ledger_path = format!("{base}/ledger?limit=500");
    let (score, ledger) = futures_util::join!(
        console.api.get::<ScoreView>(&base, Some(&session.token)),
        console
            .api
            .get::<Ledger>(&ledger_path, Some(&session.token)),
    );
    let t = session.tr();
    // A supplier not scored yet this season has no score and no ledger: both empty.
    let (score, grade) = match score {
        Ok(s) => (format!("{:.2}", s.score), s.grade),
        Err(f) if f.status == 404 => ("—".into(), "—".into()),
        Err(f) => return refused(session, &f, "/console"),
    };
    let entries = match ledger {
        Ok(ledger) => ledger.items,
        Err(f) if f.status == 404 => Vec::new(),
        Err(f) => return refused(session, &f, "/console"),
    };
    let page = LedgerView {
        chrome: Chrome::of(session, "ledger.title", "/console/ledger"),
        season,
        score,
        grade,
        entries: entries
            .into_iter()
            .rev()
            .map(|e| EntryRow::of(t, e))
            .collect(),
        notice,
        error,
    };
    session.finish(html(status, &page))
}

/// The supplier's ledger this season, newest first.
pub(crate) async fn ledger(session: Session, console: web::Data<Console>) -> HttpResponse {
    ledger_page(&console, &session, None, None, StatusCode::OK).await
}

/// Appeals an entry, with one attachment when the page's script put a file in the form.
pub(crate) async fn appeal(
    request: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let attachments = match (
        field(&form, "attachment_base64"),
        field(&form, "attachment_name"),
    ) {
        (Some(content), name) => vec![json!({
            "content_base64": content,
            "file_name": name.unwrap_or_else(|| "attachment".into()),
        })],
        _ => Vec::new(),
    };
    let body = json!({
        "statement": field(&form, "statement"),
        "attachments": attachments,
    });
    let path = format!("/api/v1/credit/entries/{}/appeals", urlencode(&id));
    let t = session.tr();
    match console
        .api
        .post::<serde_json::Value>(&path, Some(&session.token), &body, None)
        .await
    {
        Ok(_) => {
            ledger_page(
                &console,
                &session,
                Some(t.s("appeals.filed").to_owned()),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(failure) => {
            let status = failure.status_code();
            ledger_page(&console, &session, None, Some(failure.explained()), status).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct AppealView {
    entry_id: String,
    statement: String,
    attachments: Vec<String>,
    filed_at: String,
    status: String,
    decided_at: Option<String>,
    reason: Option<String>,
}

pub(crate) struct AppealRow {
    entry: String,
    statement: String,
    attachments: Vec<String>,
    filed: String,
    status: String,
    decided: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "appeals.html")]
struct AppealsPage {
    chrome: Chrome,
    season: String,
    appeals: Vec<AppealRow>,
}

/// The supplier's appeals this season, newest first, with their attachments and decisions.
pub(crate) async fn appeals(session: Session, console: web::Data<Console>) -> HttpResponse {
    let season = season_now();
    let path = format!("/api/v1/credit/seasons/{season}/appeals");
    let found: Vec<AppealView> = match read(&console, &session, &path, "/console").await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let page = AppealsPage {
        chrome: Chrome::of(&session, "appeals.title", "/console/appeals"),
        season,
        appeals: found
            .into_iter()
            .map(|a| AppealRow {
                entry: a.entry_id,
                statement: a.statement,
                attachments: a.attachments,
                filed: format::moment_text(t.0, &a.filed_at),
                status: t.code("appeal", &a.status),
                decided: a
                    .decided_at
                    .map(|d| format::moment_text(t.0, &d))
                    .unwrap_or_else(|| "—".into()),
                reason: a.reason.unwrap_or_default(),
            })
            .collect(),
    };
    session.finish(html(StatusCode::OK, &page))
}
