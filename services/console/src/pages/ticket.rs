//! One ticket: its clocks drawn as bars, its complaints, measurements and timeline, and the
//! actions its state allows the user. Each action sends the version the page showed in
//! `If-Match`; a ticket changed meanwhile (412) is shown again, fresh, with a word about it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::queue::urlencode;
use super::ticket_members::{Member, MemberRow, members};
use super::{Chrome, Form, field, form_session, html, refused, see_other};
use crate::Console;
use crate::api::Failure;
use crate::format;
use crate::i18n::Tr;
use crate::session::Session;

#[derive(Debug, Deserialize)]
struct TicketView {
    ticket_id: String,
    version: i64,
    status: String,
    origin: String,
    category: String,
    priority: String,
    district: Option<String>,
    station: Option<String>,
    building_id: Option<String>,
    supplier_id: Option<String>,
    crew_id: Option<String>,
    crew_name: Option<String>,
    extension: String,
    paused: Option<String>,
    cause: Option<String>,
    hotline_work_order: Option<String>,
    cycle: i64,
    complaints: Vec<Member>,
    measurements: Vec<Measurement>,
    clocks: Vec<Clock>,
    timeline: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Measurement {
    celsius: f64,
    room: String,
    device_id: String,
    measured_at: String,
    standard_met: bool,
}

#[derive(Debug, Deserialize)]
struct Clock {
    clock: String,
    cycle: i64,
    target: String,
    state: String,
    used_seconds: i64,
    left_seconds: Option<i64>,
    breached: bool,
}

#[derive(Debug, Deserialize)]
struct Entry {
    event: String,
    at: String,
    actor_role: String,
    details: Value,
}

#[derive(Debug, Deserialize)]
struct CrewView {
    crew_id: String,
    name: String,
    active: bool,
}

/// A clock as a bar: the share of its target used, and words.
pub(crate) struct ClockBar {
    label: String,
    state: String,
    /// `breached`, `paused`, `at_risk`, `on_time` or `stopped`: the bar's colour.
    tone: &'static str,
    /// Percent of the bar filled (0 to 100).
    filled: i64,
    used: String,
    left: String,
    target: String,
    breached: bool,
}

pub(crate) struct TimelineRow {
    at: String,
    event: String,
    actor: String,
    details: String,
}

pub(crate) struct MeasurementRow {
    celsius: String,
    room: String,
    device: String,
    at: String,
    met: bool,
}

/// An action the page offers, with the fields of its form.
pub(crate) struct Action {
    name: &'static str,
    label: String,
}

pub(crate) struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct Page {
    chrome: Chrome,
    id: String,
    version: i64,
    heading: String,
    facts: Vec<(String, String)>,
    clocks: Vec<ClockBar>,
    members: Vec<MemberRow>,
    measurements: Vec<MeasurementRow>,
    timeline: Vec<TimelineRow>,
    actions: Vec<Action>,
    crews: Vec<Choice>,
    causes: Vec<Choice>,
    pauses: Vec<Choice>,
    notice: Option<String>,
    error: Option<String>,
}

/// The actions the role may take on a ticket in this state (the API decides in the end).
fn actions(role: &str, ticket: &TicketView) -> Vec<&'static str> {
    let status = ticket.status.as_str();
    let working = matches!(status, "signed" | "crew_assigned" | "on_site");
    let mut names = Vec::new();
    match role {
        "dispatcher" => {
            if matches!(status, "opened" | "returned") {
                names.push("dispatch");
            }
            if status == "returned" {
                names.push("return-review");
            }
            if ticket.extension == "requested" {
                names.push("extension-decision");
            }
            if working {
                names.push("assign");
            }
            if status == "resolved" {
                names.push("close");
            }
            if status != "closed" {
                names.push("supervise");
            }
        }
        "regulator" if status != "closed" => names.push("supervise"),
        "supplier_admin" => {
            if status == "dispatched" {
                names.extend(["sign", "return"]);
            }
            if working {
                names.push("assign");
                if ticket.extension == "none" {
                    names.push("extension");
                }
                names.push(if ticket.paused.is_some() {
                    "resume"
                } else {
                    "pause"
                });
                names.push("resolve");
            }
        }
        "crew" => {
            if status == "crew_assigned" {
                names.push("check-in");
            }
            if matches!(status, "crew_assigned" | "on_site") {
                names.push("measurements");
                names.push(if ticket.paused.is_some() {
                    "resume"
                } else {
                    "pause"
                });
                names.push("resolve");
            }
        }
        _ => {}
    }
    names
}

fn clock_bar(t: Tr, clock: &Clock) -> ClockBar {
    let lang = t.0;
    let total = clock.used_seconds + clock.left_seconds.unwrap_or(0).max(0);
    // A clock that is only reported (no deadline) has no bar to fill.
    let filled = if clock.breached || clock.left_seconds.is_some_and(|l| l < 0) {
        100
    } else if clock.left_seconds.is_some() && total > 0 {
        (clock.used_seconds * 100 / total).clamp(0, 100)
    } else {
        0
    };
    let at_risk = clock
        .left_seconds
        .is_some_and(|left| total > 0 && left * 4 < total);
    let tone = if clock.breached || clock.left_seconds.is_some_and(|l| l < 0) {
        "breached"
    } else if clock.state == "paused" {
        "paused"
    } else if clock.state == "stopped" {
        "stopped"
    } else if at_risk {
        "at_risk"
    } else {
        "on_time"
    };
    let left = match clock.left_seconds {
        Some(l) if l < 0 => format!("{} {}", t.s("ticket.late"), format::duration(lang, l)),
        Some(l) => format!("{} {}", t.s("ticket.left"), format::duration(lang, l)),
        None => String::new(),
    };
    ClockBar {
        label: t.code("clock", &clock.clock),
        state: t.code("clockstate", &clock.state),
        tone,
        filled,
        used: format!(
            "{} {}",
            t.s("ticket.used"),
            format::duration(lang, clock.used_seconds)
        ),
        left,
        target: format::target(lang, &clock.target),
        breached: clock.breached,
    }
}

/// The fields of an event worth a line: notes, reasons, temperatures, the crew.
fn summary(t: Tr, details: &Value) -> String {
    let Some(fields) = details.as_object() else {
        return String::new();
    };
    let mut parts = Vec::new();
    for (key, value) in fields {
        let text = match (key.as_str(), value) {
            ("note" | "reason" | "statement", Value::String(s)) if !s.is_empty() => s.clone(),
            ("supplier_id" | "crew_id" | "clock" | "rating" | "cause", Value::String(s)) => {
                let kind = match key.as_str() {
                    "clock" => "clock",
                    "rating" => "rating",
                    "cause" => "cause",
                    _ => "",
                };
                if kind.is_empty() {
                    s.clone()
                } else {
                    t.code(kind, s)
                }
            }
            ("tenths", Value::Number(n)) => n
                .as_f64()
                .map(|n| format::celsius(n / 10.0))
                .unwrap_or_default(),
            ("approve" | "approved", Value::Bool(b)) => t
                .s(if *b { "form.approve" } else { "form.refuse" })
                .to_owned(),
            _ => continue,
        };
        if !text.is_empty() {
            parts.push(text);
        }
    }
    parts.join(" · ")
}

async fn read(console: &Console, session: &Session, id: &str) -> Result<TicketView, Failure> {
    console
        .api
        .get(
            &format!("/api/v1/tickets/{}", urlencode(id)),
            Some(&session.token),
        )
        .await
}

async fn show(
    console: &Console,
    session: &Session,
    ticket: TicketView,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let t = session.tr();
    let lang = t.0;
    let names = actions(&session.claims.role, &ticket);
    // The crews of the ticket's supplier, for the assign form.
    let crews = if names.contains(&"assign") {
        let path = match &ticket.supplier_id {
            Some(s) => format!("/api/v1/crews?supplier_id={}", urlencode(s)),
            None => "/api/v1/crews".to_owned(),
        };
        console
            .api
            .get::<Vec<CrewView>>(&path, Some(&session.token))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.active)
            .map(|c| Choice {
                value: c.crew_id,
                label: c.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let codes = |kind: &str, list: &[&str]| -> Vec<Choice> {
        list.iter()
            .map(|c| Choice {
                value: (*c).to_owned(),
                label: t.code(kind, c),
            })
            .collect()
    };
    let place = [&ticket.district, &ticket.station, &ticket.building_id]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ");
    let none = || t.s("ticket.none").to_owned();
    let supplier = match &ticket.supplier_id {
        Some(id) => console.supplier_name(id).await,
        None => none(),
    };
    let mut facts = vec![
        (
            t.s("queue.status").to_owned(),
            t.code("status", &ticket.status),
        ),
        (
            t.s("queue.category").to_owned(),
            t.code("category", &ticket.category),
        ),
        (
            t.s("queue.priority").to_owned(),
            t.code("priority", &ticket.priority),
        ),
        (
            t.s("queue.place").to_owned(),
            if place.is_empty() { none() } else { place },
        ),
        (t.s("ticket.supplier").to_owned(), supplier),
        (
            t.s("ticket.crew").to_owned(),
            ticket
                .crew_name
                .clone()
                .or_else(|| ticket.crew_id.clone())
                .unwrap_or_else(none),
        ),
        (
            t.s("ticket.extension").to_owned(),
            t.code("extension", &ticket.extension),
        ),
    ];
    if let Some(reason) = &ticket.paused {
        facts.push((t.s("ticket.paused_for").to_owned(), t.code("pause", reason)));
    }
    if let Some(cause) = &ticket.cause {
        facts.push((t.s("form.cause").to_owned(), t.code("cause", cause)));
    }
    if let Some(order) = &ticket.hotline_work_order {
        facts.push((t.s("ticket.work_order").to_owned(), order.clone()));
    }
    let page = Page {
        // Switching the language comes back to this ticket.
        chrome: Chrome::of(
            session,
            "ticket.title",
            &format!("/console/tickets/{}", urlencode(&ticket.ticket_id)),
        ),
        heading: format!(
            "{} {} · {}",
            t.code("origin", &ticket.origin),
            super::queue::short_id(&ticket.ticket_id),
            t.code("status", &ticket.status)
        ),
        facts,
        clocks: ticket
            .clocks
            .iter()
            .filter(|c| c.cycle == ticket.cycle || c.clock == "resident")
            .map(|c| clock_bar(t, c))
            .collect(),
        members: members(console, session, &ticket.complaints).await,
        measurements: ticket
            .measurements
            .iter()
            .map(|m| MeasurementRow {
                celsius: format::celsius(m.celsius),
                room: m.room.clone(),
                device: m.device_id.clone(),
                at: format::moment_text(lang, &m.measured_at),
                met: m.standard_met,
            })
            .collect(),
        timeline: ticket
            .timeline
            .iter()
            .rev()
            .map(|e| TimelineRow {
                at: format::moment_text(lang, &e.at),
                event: t.code("event", &e.event),
                actor: t.code("role", &e.actor_role),
                details: summary(t, &e.details),
            })
            .collect(),
        actions: names
            .iter()
            .map(|n| Action {
                name: n,
                label: t.code("action", n),
            })
            .collect(),
        crews,
        causes: codes(
            "cause",
            &[
                "supplier",
                "resident_side",
                "developer_handover",
                "upstream",
            ],
        ),
        pauses: codes("pause", &["resident_absent", "parts", "upstream_outage"]),
        id: ticket.ticket_id,
        version: ticket.version,
        notice,
        error,
    };
    session.finish(html(status, &page))
}

/// The ticket page.
pub(crate) async fn page(
    request: HttpRequest,
    console: web::Data<Console>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    let back = if session.is("crew") {
        "/console/jobs"
    } else {
        "/console/queue"
    };
    match read(&console, &session, &id).await {
        Ok(ticket) => {
            let done = request.query_string().strip_prefix("done=").map(|action| {
                format!(
                    "{}：{}",
                    session.tr().s("done"),
                    session.tr().code("action", action)
                )
            });
            show(&console, &session, ticket, done, None, StatusCode::OK).await
        }
        Err(failure) => refused(&session, &failure, back),
    }
}

/// The JSON an action sends, from its form.
fn body(action: &str, form: &std::collections::HashMap<String, String>) -> Option<Value> {
    let text = |name: &str| field(form, name);
    let number = |name: &str| text(name).and_then(|v| v.parse::<f64>().ok());
    let yes = |name: &str| text(name).as_deref() == Some("yes");
    Some(match action {
        "dispatch" => json!({ "supplier_id": text("supplier_id") }),
        "sign" | "resume" => json!({}),
        "return" => json!({ "reason": text("reason") }),
        "return-review" | "extension-decision" => {
            json!({ "approve": yes("approve"), "note": text("note") })
        }
        "assign" => json!({ "crew_id": text("crew_id") }),
        "check-in" => json!({ "latitude": number("latitude"), "longitude": number("longitude") }),
        "measurements" => json!({
            "celsius": number("celsius"),
            "room": text("room"),
            "device_id": text("device_id"),
        }),
        "pause" => json!({ "reason": text("reason") }),
        "extension" => json!({
            "working_days": text("working_days").and_then(|d| d.parse::<i64>().ok()),
            "reason": text("reason"),
        }),
        "supervise" | "close" => json!({ "note": text("note") }),
        "resolve" => json!({
            "cause": text("cause"),
            "note": text("note"),
            "standard_met": yes("standard_met"),
        }),
        _ => return None,
    })
}

/// Sends an action to the API with the version the page showed.
pub(crate) async fn act(
    request: HttpRequest,
    console: web::Data<Console>,
    path: web::Path<(String, String)>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let (id, action) = path.into_inner();
    let Some(body) = body(&action, &form) else {
        let failure = Failure::local(404, "no_such_action", "no such action");
        return refused(&session, &failure, "/console");
    };
    let version = field(&form, "version").and_then(|v| v.parse::<i64>().ok());
    let sent: Result<Value, Failure> = console
        .api
        .post(
            &format!("/api/v1/tickets/{}/{action}", urlencode(&id)),
            Some(&session.token),
            &body,
            version,
        )
        .await;
    let failure = match sent {
        Ok(_) => {
            return session.finish(see_other(&format!(
                "/console/tickets/{}?done={action}",
                urlencode(&id)
            )));
        }
        Err(failure) => failure,
    };
    let t = session.tr();
    let (notice, error) = if failure.status == 412 {
        (Some(t.s("conflict").to_owned()), None)
    } else {
        (None, Some(failure.explained()))
    };
    match read(&console, &session, &id).await {
        Ok(ticket) => {
            let status = failure.status_code();
            show(&console, &session, ticket, notice, error, status).await
        }
        Err(read_failure) => refused(&session, &read_failure, "/console"),
    }
}
