//! The hotline operator's filing for a caller: the caller's open complaints found by phone
//! first (a repeat caller), the address completed from the building registry, and the answer
//! (accepted, merged, part of an incident, unrouted) in plain words.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::queue::urlencode;
use super::{Chrome, Form, field, form_session, html};
use crate::Console;
use crate::format;
use crate::session::Session;

#[derive(Debug, Deserialize)]
struct ComplaintView {
    complaint_id: String,
    status: String,
    category: String,
    address: Option<String>,
    filed_at: String,
    incident_id: Option<String>,
}

/// What `GET /api/v1/complaints/{id}` answers: the complaint and its timeline.
#[derive(Debug, Deserialize)]
struct ComplaintDetail {
    complaint: ComplaintView,
}

#[derive(Debug, Deserialize)]
struct FilingResponse {
    complaint_id: String,
    outcome: String,
    routed: bool,
}

#[derive(Debug, Deserialize)]
struct Building {
    address: String,
}

pub(crate) struct OpenRow {
    id: String,
    status: String,
    category: String,
    address: String,
    filed: String,
}

pub(crate) struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// What the last filing answered, in words.
pub(crate) struct Answer {
    /// `accepted` or `merged`: the banner's colour.
    outcome: String,
    lines: Vec<String>,
    complaint: String,
}

#[derive(Template)]
#[template(path = "hotline.html")]
struct Page {
    chrome: Chrome,
    phone: String,
    looked_up: bool,
    open: Vec<OpenRow>,
    categories: Vec<Choice>,
    /// The filing's idempotency key: a form sent twice files once.
    filing: String,
    answer: Option<Answer>,
    error: Option<String>,
    addresses: Vec<String>,
    form: std::collections::HashMap<String, String>,
}

impl Page {
    fn value(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

const CATEGORIES: [&str; 8] = [
    "no_heat",
    "low_temperature",
    "leak",
    "noise",
    "billing",
    "service_attitude",
    "stop_heating",
    "refund",
];

#[derive(Deserialize)]
pub(crate) struct Lookup {
    phone: Option<String>,
    address: Option<String>,
}

async fn open_complaints(
    console: &Console,
    session: &Session,
    phone: &str,
) -> Result<Vec<OpenRow>, String> {
    let t = session.tr();
    let found: Vec<ComplaintView> = console
        .api
        .get(
            &format!("/api/v1/complaints/search?phone={}", urlencode(phone)),
            Some(&session.token),
        )
        .await
        .map_err(|f| f.explained())?;
    Ok(found
        .into_iter()
        .map(|c| OpenRow {
            status: t.code("complaintstatus", &c.status),
            category: t.code("category", &c.category),
            address: c.address.unwrap_or_else(|| "—".into()),
            filed: format::moment_text(t.0, &c.filed_at),
            id: c.complaint_id,
        })
        .collect())
}

/// Addresses of the registry containing what was typed (for the address field's list).
async fn addresses(console: &Console, session: &Session, typed: &str) -> Vec<String> {
    if typed.chars().count() < 2 {
        return Vec::new();
    }
    console
        .api
        .get::<Vec<Building>>(
            &format!("/api/v1/buildings?limit=10&q={}", urlencode(typed)),
            Some(&session.token),
        )
        .await
        .map(|found| found.into_iter().map(|b| b.address).collect())
        .unwrap_or_default()
}

fn render(
    session: &Session,
    status: StatusCode,
    mut page: Page,
    selected: Option<&str>,
) -> HttpResponse {
    let t = session.tr();
    page.categories = CATEGORIES
        .iter()
        .map(|c| Choice {
            value: c,
            label: t.code("category", c),
            selected: selected == Some(*c),
        })
        .collect();
    session.finish(html(status, &page))
}

fn blank(session: &Session) -> Page {
    Page {
        chrome: Chrome::of(session, "hotline.title", "/console/hotline"),
        phone: String::new(),
        looked_up: false,
        open: Vec::new(),
        categories: Vec::new(),
        filing: uuid::Uuid::new_v4().to_string(),
        answer: None,
        error: None,
        addresses: Vec::new(),
        form: Default::default(),
    }
}

/// The filing page; with `?phone=`, the caller's open complaints; with `?address=`, the
/// registry's addresses containing it (also the page's script's completion list).
pub(crate) async fn page(
    request: HttpRequest,
    console: web::Data<Console>,
    session: Session,
    lookup: web::Query<Lookup>,
) -> HttpResponse {
    let mut page = blank(&session);
    if let Some(typed) = lookup.address.as_deref() {
        let found = addresses(&console, &session, typed.trim()).await;
        // The script asks for JSON; a browser without it gets the page with the list.
        if request
            .headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
        {
            return session.finish(HttpResponse::Ok().json(found));
        }
        page.addresses = found;
        page.form.insert("address".into(), typed.trim().to_owned());
    }
    if let Some(phone) = lookup
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        page.phone = phone.to_owned();
        page.looked_up = true;
        match open_complaints(&console, &session, phone).await {
            Ok(open) => page.open = open,
            Err(error) => page.error = Some(error),
        }
    }
    render(&session, StatusCode::OK, page, None)
}

/// Files the complaint through the API; shows its answer and a fresh form for the next call.
pub(crate) async fn file(
    request: HttpRequest,
    console: web::Data<Console>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let temperature = match field(&form, "room_temperature") {
        None => None,
        Some(text) => match text.parse::<f64>() {
            Ok(value) => Some(value),
            Err(_) => {
                let mut page = blank(&session);
                page.error = Some(format!("{}: {text}", t.s("hotline.temperature")));
                page.form = form.into_inner();
                return render(&session, StatusCode::UNPROCESSABLE_ENTITY, page, None);
            }
        },
    };
    let body = json!({
        "caller_phone": field(&form, "caller_phone").unwrap_or_default(),
        "category": field(&form, "category").unwrap_or_default(),
        "address": field(&form, "address"),
        "heating_account": field(&form, "heating_account"),
        "description": field(&form, "description"),
        "room_temperature": temperature,
    });
    let key = field(&form, "filing");
    let filed: Result<FilingResponse, _> = console
        .api
        .post_once(
            "/api/v1/hotline/complaints",
            Some(&session.token),
            &body,
            None,
            key.as_deref(),
        )
        .await;
    match filed {
        Ok(filed) => {
            let mut lines = vec![
                t.s(if filed.outcome == "merged" {
                    "hotline.merged"
                } else {
                    "hotline.accepted"
                })
                .to_owned(),
            ];
            if !filed.routed {
                lines.push(t.s("hotline.unrouted").to_owned());
            }
            let complaint: Option<ComplaintDetail> = console
                .api
                .get(
                    &format!("/api/v1/complaints/{}", urlencode(&filed.complaint_id)),
                    Some(&session.token),
                )
                .await
                .ok();
            if complaint.is_some_and(|c| c.complaint.incident_id.is_some()) {
                lines.push(t.s("hotline.incident").to_owned());
            }
            let mut page = blank(&session);
            page.answer = Some(Answer {
                outcome: filed.outcome,
                lines,
                complaint: filed.complaint_id,
            });
            render(&session, StatusCode::OK, page, None)
        }
        Err(failure) => {
            let status = failure.status_code();
            let mut page = blank(&session);
            page.error = Some(failure.explained());
            let form = form.into_inner();
            let selected = form.get("category").cloned();
            // A refused filing stored nothing: the corrected form is a new filing (a new key).
            page.form = form;
            render(&session, status, page, selected.as_deref())
        }
    }
}
