//! The appeals waiting for the regulator's decision, and deciding them.

use std::collections::HashMap;

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

use super::SupplierQuery;
use crate::pages::entries::{Entry, EntryRow, Ledger};

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
            entry: entries.remove(&a.entry_id).map(|e| EntryRow::of(t, e)),
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
    session: Session,
    console: web::Data<Console>,
    query: web::Query<SupplierQuery>,
) -> HttpResponse {
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
            let status = failure.status_code();
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
