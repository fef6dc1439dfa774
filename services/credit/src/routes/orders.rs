//! Cold-snap orders over HTTP: the regulator issues, suppliers acknowledge, both read.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use eventstore::Channel;
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{client, db, own_supplier, season};
use crate::Credit;
use crate::domain::order::{Order, OrderCommand, OrderError};
use crate::orders::{self, OrderFailure, OrderView};

/// A new order.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewOrder {
    /// The districts it covers (1 to 20).
    #[schema(max_items = 20, max_length = 64)]
    #[serde(default)]
    districts: Vec<String>,
    /// In force from (RFC 3339).
    #[schema(max_length = 40)]
    from: Option<String>,
    /// Until (RFC 3339; at most 14 days after `from`).
    #[schema(max_length = 40)]
    until: Option<String>,
    /// What suppliers must do (10 to 2,000 characters).
    #[schema(max_length = 2000)]
    instruction: Option<String>,
}

/// A supplier's acknowledgement.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewAcknowledgement {
    /// What it does (up to 2,000 characters).
    #[schema(max_length = 2000)]
    note: Option<String>,
}

fn failure(error: OrderFailure) -> ApiError {
    match error {
        OrderFailure::Refused(refusal) => {
            let message = refusal.to_string();
            match refusal {
                OrderError::Unknown => ApiError::not_found(message),
                OrderError::NotAddressed => ApiError::forbidden(message),
                OrderError::AlreadyIssued => ApiError::conflict("already_issued", message),
                OrderError::AlreadyAcknowledged => {
                    ApiError::conflict("already_acknowledged", message)
                }
            }
        }
        OrderFailure::Contended => {
            ApiError::conflict("conflict", "the order changed meanwhile; try again")
        }
        OrderFailure::Store(e) => ApiError::internal(&e),
        OrderFailure::Append(e) => ApiError::internal(&e),
    }
}

fn moment(text: Option<&str>, field: &str, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
    match text.map(DateTime::parse_from_rfc3339) {
        Some(Ok(at)) => Some(at.to_utc()),
        _ => {
            errors.add(
                field,
                "invalid",
                "an RFC 3339 moment, e.g. 2026-12-05T00:00:00+08:00",
            );
            None
        }
    }
}

async fn one(credit: &Credit, id: Uuid) -> Result<OrderView, ApiError> {
    let client = client(credit).await?;
    orders::list(&client, None, None, None, Some(id))
        .await
        .map_err(db)?
        .pop()
        .ok_or_else(|| ApiError::not_found("no such order"))
}

/// Issues a cold-snap order to every supplier serving the districts. With an
/// `Idempotency-Key`, sending the same request again answers the order issued the first time.
#[utoipa::path(post, path = "/api/v1/credit/cold-snap-orders", tag = "credit",
    request_body = NewOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely")),
    responses((status = 201, body = OrderView), (status = 200, body = OrderView, description = "Issued before with this key"),
        (status = 422, description = "Bad fields, or no supplier serves the districts")),
    security(("bearer" = [])))]
pub(crate) async fn issue(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    body: web::Json<NewOrder>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let mut districts: Vec<String> = body
        .districts
        .iter()
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect();
    districts.sort();
    districts.dedup();
    if districts.is_empty() || districts.len() > 20 || districts.iter().any(|d| d.len() > 64) {
        errors.add("districts", "required", "1 to 20 districts");
    }
    let from = moment(body.from.as_deref(), "from", &mut errors);
    let until = moment(body.until.as_deref(), "until", &mut errors);
    if let (Some(from), Some(until)) = (from, until)
        && !(from < until && until - from <= Duration::days(14))
    {
        errors.add("until", "out_of_range", "after `from`, by at most 14 days");
    }
    let instruction = body.instruction.as_deref().map(str::trim).unwrap_or("");
    if !(10..=2000).contains(&instruction.chars().count()) {
        errors.add("instruction", "required", "10 to 2,000 characters");
    }
    errors.into_result()?;
    let (Some(from), Some(until)) = (from, until) else {
        return Err(ApiError::internal(&std::fmt::Error));
    };
    let suppliers: Vec<String> = client(&credit)
        .await?
        .query(
            "SELECT supplier_id FROM credit.supplier WHERE districts && $1 ORDER BY supplier_id",
            &[&districts],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if suppliers.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add(
            "districts",
            "unserved",
            "no registered supplier serves these districts",
        );
        errors.into_result()?;
    }
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 200);
    let id = match key {
        Some(key) => Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("cold-snap-order:{}:{key}", principal.subject).as_bytes(),
        ),
        None => Uuid::now_v7(),
    };
    let command = OrderCommand::Issue {
        order: Order {
            districts,
            suppliers,
            from,
            until,
            instruction: instruction.to_owned(),
        },
        at: credit.clock.now(),
    };
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    match orders::execute(credit.ledger.store(), id, command, &metadata).await {
        Ok(()) => Ok(HttpResponse::Created().json(one(&credit, id).await?)),
        Err(OrderFailure::Refused(OrderError::AlreadyIssued)) if key.is_some() => {
            Ok(HttpResponse::Ok().json(one(&credit, id).await?))
        }
        Err(error) => Err(failure(error)),
    }
}

/// Which orders to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct OrdersQuery {
    /// Orders in force during this season (default: the season now).
    #[param(max_length = 9)]
    season: Option<String>,
}

/// Cold-snap orders of a season with who acknowledged, newest first: a regulator reads all,
/// a supplier admin those addressed to it.
#[utoipa::path(get, path = "/api/v1/credit/cold-snap-orders", tag = "credit",
    params(OrdersQuery),
    responses((status = 200, body = Vec<OrderView>), (status = 404, description = "Bad season")),
    security(("bearer" = [])))]
pub(crate) async fn list_orders(
    credit: web::Data<Credit>,
    principal: Principal,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let only = own_supplier(&principal)?;
    let season = match &query.season {
        Some(s) => season(s)?,
        None => crate::domain::values::Season::of(credit.clock.now()),
    };
    let client = client(&credit).await?;
    let list = orders::list(
        &client,
        Some(season.starts_at()),
        Some(season.ends_at()),
        only,
        None,
    )
    .await
    .map_err(db)?;
    Ok(HttpResponse::Ok().json(list))
}

/// A supplier admin acknowledges an order addressed to its supplier.
#[utoipa::path(post, path = "/api/v1/credit/cold-snap-orders/{id}/acknowledgements", tag = "credit",
    params(("id" = Uuid, Path)), request_body = NewAcknowledgement,
    responses((status = 200, body = OrderView), (status = 403, description = "Not addressed to you"),
        (status = 404, description = "Unknown order"), (status = 409, description = "Acknowledged before")),
    security(("bearer" = [])))]
pub(crate) async fn acknowledge(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<NewAcknowledgement>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| ApiError::not_found("no such order"))?;
    if principal.role != Role::SupplierAdmin {
        return Err(ApiError::forbidden("a supplier acknowledges its orders"));
    }
    let supplier = own_supplier(&principal)?
        .ok_or_else(|| ApiError::forbidden("your account names no supplier"))?
        .to_owned();
    let note = body.note.as_deref().map(str::trim).unwrap_or("");
    if note.chars().count() > 2000 {
        let mut errors = FieldErrors::default();
        errors.add("note", "too_long", "at most 2,000 characters");
        errors.into_result()?;
    }
    let command = OrderCommand::Acknowledge {
        supplier,
        note: note.to_owned(),
        at: credit.clock.now(),
    };
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    orders::execute(credit.ledger.store(), id, command, &metadata)
        .await
        .map_err(failure)?;
    Ok(HttpResponse::Ok().json(one(&credit, id).await?))
}
