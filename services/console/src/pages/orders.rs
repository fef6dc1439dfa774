//! Cold-snap orders in the console: the regulator issues one and sees who has not
//! acknowledged; a supplier admin acknowledges the orders addressed to it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::queue::urlencode;
use super::{Chrome, Form, field, form_session, html, read, refused, see_other};
use crate::Console;
use crate::format;
use crate::session::Session;

#[derive(Debug, Deserialize)]
pub(crate) struct Ack {
    pub supplier_id: String,
    pub acknowledged_at: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrderView {
    pub order_id: String,
    pub districts: Vec<String>,
    pub from: String,
    pub until: String,
    pub instruction: String,
    pub issued_at: String,
    pub suppliers: Vec<Ack>,
    pub unacknowledged: usize,
}

pub(crate) struct AckRow {
    supplier: String,
    done: bool,
    words: String,
}

pub(crate) struct OrderRow {
    id: String,
    districts: String,
    window: String,
    instruction: String,
    issued: String,
    acks: Vec<AckRow>,
    unacknowledged: usize,
    /// The signed-in supplier may acknowledge it now.
    mine_to_acknowledge: bool,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    chrome: Chrome,
    regulator: bool,
    orders: Vec<OrderRow>,
    notice: Option<String>,
    error: Option<String>,
}

/// The orders of the season (a supplier's own), for the page and the targets board.
pub(crate) async fn read_orders(
    console: &Console,
    session: &Session,
) -> Result<Vec<OrderView>, HttpResponse> {
    read(
        console,
        session,
        "/api/v1/credit/cold-snap-orders",
        "/console",
    )
    .await
}

async fn orders_page(
    console: &Console,
    session: &Session,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let orders = match read_orders(console, session).await {
        Ok(orders) => orders,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let me = session.claims.supplier.clone();
    let rows = orders
        .into_iter()
        .map(|o| OrderRow {
            mine_to_acknowledge: o
                .suppliers
                .iter()
                .any(|a| Some(&a.supplier_id) == me.as_ref() && a.acknowledged_at.is_none()),
            acks: o
                .suppliers
                .iter()
                .map(|a| AckRow {
                    supplier: a.supplier_id.clone(),
                    done: a.acknowledged_at.is_some(),
                    words: match &a.acknowledged_at {
                        Some(at) => format!(
                            "{} {}{}",
                            t.s("orders.acknowledged"),
                            format::moment_text(t.0, at),
                            a.note
                                .as_deref()
                                .filter(|n| !n.is_empty())
                                .map(|n| format!(" · {n}"))
                                .unwrap_or_default()
                        ),
                        None => t.s("orders.waiting").to_owned(),
                    },
                })
                .collect(),
            id: o.order_id,
            districts: o.districts.join("、"),
            window: format!(
                "{} — {}",
                format::moment_text(t.0, &o.from),
                format::moment_text(t.0, &o.until)
            ),
            instruction: o.instruction,
            issued: format::moment_text(t.0, &o.issued_at),
            unacknowledged: o.unacknowledged,
        })
        .collect();
    let page = OrdersPage {
        chrome: Chrome::of(session, "orders.title", "/console/orders"),
        regulator: session.claims.role == "regulator",
        orders: rows,
        notice,
        error,
    };
    session.finish(html(status, &page))
}

/// What was just done, for the banner.
#[derive(Debug, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// The orders page.
pub(crate) async fn page(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<DoneQuery>,
) -> HttpResponse {
    let notice = query
        .done
        .as_deref()
        .map(|d| session.tr().code("orders.done", d));
    orders_page(&console, &session, notice, None, StatusCode::OK).await
}

/// A `datetime-local` value (`2026-12-05T08:00`), China time, as RFC 3339.
fn china_time(value: Option<String>) -> Option<String> {
    value.map(|v| {
        if v.len() == 16 {
            format!("{v}:00+08:00")
        } else {
            v
        }
    })
}

async fn answer(
    console: &Console,
    session: Session,
    outcome: Result<Value, crate::api::Failure>,
    done: &str,
) -> HttpResponse {
    match outcome {
        Ok(_) => session.finish(see_other(&format!("/console/orders?done={done}"))),
        Err(failure) if failure.status == 401 => refused(&session, &failure, "/console"),
        Err(failure) => {
            let status = failure.status_code();
            orders_page(console, &session, None, Some(failure.explained()), status).await
        }
    }
}

/// Issues an order (the form carries an idempotency key: a double submit issues it once).
pub(crate) async fn issue(
    request: HttpRequest,
    console: web::Data<Console>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let districts: Vec<String> = field(&form, "districts")
        .map(|d| {
            d.split([',', '，', '、', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let body = json!({
        "districts": districts,
        "from": china_time(field(&form, "from")),
        "until": china_time(field(&form, "until")),
        "instruction": field(&form, "instruction"),
    });
    let key = field(&form, "key");
    let outcome = console
        .api
        .post_once::<Value>(
            "/api/v1/credit/cold-snap-orders",
            Some(&session.token),
            &body,
            None,
            key.as_deref(),
        )
        .await;
    answer(&console, session, outcome, "issued").await
}

/// A supplier admin acknowledges an order.
pub(crate) async fn acknowledge(
    request: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let path = format!(
        "/api/v1/credit/cold-snap-orders/{}/acknowledgements",
        urlencode(&id)
    );
    let outcome = console
        .api
        .post::<Value>(
            &path,
            Some(&session.token),
            &json!({ "note": field(&form, "note") }),
            None,
        )
        .await;
    answer(&console, session, outcome, "acknowledged").await
}
