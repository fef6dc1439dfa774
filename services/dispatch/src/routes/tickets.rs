//! Reading tickets: the dispatcher queue, a supplier's tickets, a crew's jobs, one ticket.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use platform::pagination::Cursor;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{client, may_touch, parse_id};
use crate::Dispatch;
use crate::bands::Lookup;
use crate::domain::publish::CHANNELS;
use crate::domain::ticket::Status;
use crate::views::{self, Bands, QueueFilter, QueuePage, TicketView};

/// Filters and paging of a ticket list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct QueueQuery {
    /// Only this district.
    #[param(max_length = 100)]
    district: Option<String>,
    /// Only this supplier.
    #[param(max_length = 100)]
    supplier_id: Option<String>,
    /// Only this status (`opened`, `dispatched`, `returned`, `signed`, `crew_assigned`,
    /// `on_site`, `resolved`).
    #[param(max_length = 32)]
    status: Option<String>,
    /// Only this priority (`normal`, `urgent`).
    #[param(max_length = 32)]
    priority: Option<String>,
    /// Only tickets whose first complaint came through this channel (`app`, `wechat`,
    /// `hotline`, `12345`, `open311`, `sensor`).
    #[param(max_length = 32)]
    channel: Option<String>,
    /// Only this band (`breached`, `at_risk`, `paused`, `on_time`).
    #[param(max_length = 32)]
    band: Option<String>,
    /// At most this many (1 to 100, default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// The bands a queue may be filtered by.
const BANDS: [&str; 4] = ["breached", "at_risk", "paused", "on_time"];

/// Checks the status, priority, channel and band filters and adds them to `filter`.
fn filtered(query: &QueueQuery, mut filter: QueueFilter) -> Result<QueueFilter, ApiError> {
    if let Some(status) = query.status.as_deref() {
        if !Status::OPEN_CODES.contains(&status) {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("status is one of {}", Status::OPEN_CODES.join(", ")),
            ));
        }
        filter.status = Some(status.to_owned());
    }
    if let Some(priority) = query.priority.as_deref() {
        if !["normal", "urgent"].contains(&priority) {
            return Err(ApiError::bad_request(
                "invalid_priority",
                "priority is normal or urgent",
            ));
        }
        filter.priority = Some(priority.to_owned());
    }
    if let Some(channel) = query.channel.as_deref() {
        if !CHANNELS.contains(&channel) {
            return Err(ApiError::bad_request(
                "invalid_channel",
                format!("channel is one of {}", CHANNELS.join(", ")),
            ));
        }
        filter.channel = Some(channel.to_owned());
    }
    if let Some(band) = query.band.as_deref() {
        if !BANDS.contains(&band) {
            return Err(ApiError::bad_request(
                "invalid_band",
                format!("band is one of {}", BANDS.join(", ")),
            ));
        }
        filter.band = Some(band.to_owned());
    }
    Ok(filter)
}

async fn list(
    dispatch: &Dispatch,
    query: &QueueQuery,
    filter: QueueFilter,
) -> Result<HttpResponse, ApiError> {
    let limit = match query.limit {
        None => 50,
        Some(n) if (1..=100).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                "limit must be 1 to 100",
            ));
        }
    };
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "the cursor is not one this API gave")
        })?),
    };
    let filter = filtered(query, filter)?;
    let page = views::queue(
        &client(dispatch).await?,
        &filter,
        cursor,
        limit,
        dispatch.now(),
    )
    .await
    .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(page))
}

/// A caller limited to one district, supplier or crew sees only that one.
fn narrowed(wanted: Option<String>, own: &Option<String>) -> Result<Option<String>, ApiError> {
    match (own, wanted) {
        (Some(own), Some(wanted)) if *own != wanted => Err(ApiError::forbidden(
            "this is outside your district, supplier or crew",
        )),
        (Some(own), _) => Ok(Some(own.clone())),
        (None, wanted) => Ok(wanted),
    }
}

/// The dispatcher queue: open tickets by time left before their nearest breach, overdue
/// first. Suppliers see their own tickets, crews their jobs.
#[utoipa::path(
    get, path = "/api/v1/tickets", tag = "tickets", params(QueueQuery),
    responses((status = 200, body = QueuePage), (status = 400, description = "Bad filter, limit or cursor"), (status = 403, description = "Residents follow their complaints instead")),
    security(("bearer" = []))
)]
pub(crate) async fn queue(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = own_queue(&principal, &query)?;
    list(&dispatch, &query, filter).await
}

/// How many of the queue's open tickets are in each band (breached, at risk, paused, on time)
/// now, under the same filters and scope as the queue (`band`, `limit` and `cursor` aside).
#[utoipa::path(
    get, path = "/api/v1/tickets/bands", tag = "tickets", params(QueueQuery),
    responses((status = 200, body = Bands), (status = 400, description = "Bad filter"), (status = 403, description = "Residents follow their complaints instead")),
    security(("bearer" = []))
)]
pub(crate) async fn bands(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut filter = filtered(&query, own_queue(&principal, &query)?)?;
    filter.band = None;
    match dispatch.bands.lookup(&filter) {
        Lookup::Found { bands, recount } => {
            if recount {
                let dispatch = dispatch.into_inner();
                tokio::spawn(async move {
                    if count_bands(&dispatch, filter.clone()).await.is_err() {
                        dispatch.bands.recount_failed(&filter);
                    }
                });
            }
            Ok(HttpResponse::Ok().json(bands))
        }
        Lookup::Missing => Ok(HttpResponse::Ok().json(count_bands(&dispatch, filter).await?)),
    }
}

/// Counts the bands of `filter` now and keeps the counts.
async fn count_bands(dispatch: &Dispatch, filter: QueueFilter) -> Result<Bands, ApiError> {
    let counted = views::bands(&client(dispatch).await?, &filter, dispatch.now())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    dispatch.bands.keep(filter, counted.clone());
    Ok(counted)
}

/// The queue a caller may read: their district, supplier or crew.
fn own_queue(principal: &Principal, query: &QueueQuery) -> Result<QueueFilter, ApiError> {
    let mut filter = QueueFilter {
        district: narrowed(query.district.clone(), &principal.district)?,
        supplier: narrowed(query.supplier_id.clone(), &principal.supplier)?,
        ..QueueFilter::default()
    };
    if principal.role == Role::Crew {
        filter.crew =
            Some(principal.crew.clone().ok_or_else(|| {
                ApiError::forbidden("this crew account is not attached to a crew")
            })?);
    }
    if principal.role == Role::SupplierAdmin && principal.supplier.is_none() {
        return Err(ApiError::forbidden(
            "this account is not attached to a supplier",
        ));
    }
    Ok(filter)
}

/// A supplier's open tickets (the supplier itself, dispatchers, regulators).
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/tickets", tag = "tickets",
    params(("id" = String, Path, description = "The supplier"), QueueQuery),
    responses((status = 200, body = QueuePage), (status = 403, description = "Another supplier")),
    security(("bearer" = []))
)]
pub(crate) async fn supplier_tickets(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    supplier: web::Path<String>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = narrowed(Some(supplier.into_inner()), &principal.supplier)?;
    let filter = QueueFilter {
        district: narrowed(query.district.clone(), &principal.district)?,
        supplier,
        ..QueueFilter::default()
    };
    list(&dispatch, &query, filter).await
}

/// A crew's open jobs (the crew itself, its supplier, dispatchers).
#[utoipa::path(
    get, path = "/api/v1/crews/{id}/jobs", tag = "crews",
    params(("id" = Uuid, Path, description = "The crew"), QueueQuery),
    responses((status = 200, body = QueuePage), (status = 403, description = "Another crew"), (status = 404, description = "No such crew")),
    security(("bearer" = []))
)]
pub(crate) async fn crew_jobs(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    crew: web::Path<String>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = crew
        .parse()
        .map_err(|_| ApiError::not_found("no such crew"))?;
    let found = views::crew(&client(&dispatch).await?, id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("no such crew"))?;
    narrowed(Some(found.crew_id.to_string()), &principal.crew)?;
    narrowed(Some(found.supplier_id.clone()), &principal.supplier)?;
    // A district dispatcher sees only the crew's jobs in their district.
    let filter = QueueFilter {
        crew: Some(found.crew_id.to_string()),
        district: principal.district.clone(),
        ..QueueFilter::default()
    };
    list(&dispatch, &query, filter).await
}

/// One ticket with its clocks (time used, time left, breached) and its whole timeline. The
/// `ETag` is the version to send back in `If-Match`.
#[utoipa::path(
    get, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketView), (status = 404, description = "No such ticket, or not yours")),
    security(("bearer" = []))
)]
pub(crate) async fn one(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let (ticket, view) = views::ticket(dispatch.tickets.store(), id, dispatch.now())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("no such ticket"))?;
    // Someone else's ticket is answered as missing: its existence is not theirs to learn.
    may_touch(&principal, &ticket).map_err(|_| ApiError::not_found("no such ticket"))?;
    let view = match principal.role {
        Role::Resident => view.for_filer(&principal.subject),
        _ => view,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", view.version)))
        .json(view))
}
