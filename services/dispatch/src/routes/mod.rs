//! Dispatch's HTTP API; the route table is here.

mod actions;
mod crews;
pub(crate) mod stop_heating;
mod tickets;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use platform::auth::{Principal, ResourceScope, Role};
use platform::error::ApiError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) use actions::*;
pub(crate) use crews::*;
pub(crate) use tickets::*;

use crate::Dispatch;
use crate::domain::ticket::{Ticket, TicketError};
use crate::tickets::{CommandError, Outcome};

/// The largest JSON body of a ticket command.
const JSON_LIMIT: usize = 16 * 1024;

pub(crate) fn configure(cfg: &mut web::ServiceConfig, dispatch: web::Data<Dispatch>) {
    let action = |path: &str, to| (format!("/api/v1/tickets/{{id}}/{path}"), to);
    let mut cfg = cfg
        .app_data(dispatch)
        .app_data(platform::error::json_config(JSON_LIMIT))
        .route("/api/v1/tickets", web::get().to(tickets::queue))
        .route("/api/v1/tickets/bands", web::get().to(tickets::bands))
        .route("/api/v1/tickets/{id}", web::get().to(tickets::one))
        .route("/api/v1/crews", web::get().to(crews::list))
        .route("/api/v1/crews", web::post().to(crews::register))
        .route("/api/v1/crews/{id}/jobs", web::get().to(tickets::crew_jobs))
        .route(
            "/api/v1/suppliers/{id}/tickets",
            web::get().to(tickets::supplier_tickets),
        )
        .route(
            "/api/v1/stop-heating/applications",
            web::get().to(stop_heating::list),
        )
        .route(
            "/api/v1/stop-heating/applications/{id}",
            web::get().to(stop_heating::show),
        )
        .route(
            "/api/v1/stop-heating/applications/{id}/reply",
            web::post().to(stop_heating::reply),
        )
        .route(
            "/api/v1/stop-heating/applications/{id}/photo",
            web::get().to(stop_heating::photo),
        )
        .service(
            web::resource("/api/v1/stop-heating/applications/{id}/valve-work")
                .app_data(stop_heating::payload_config())
                .route(web::post().to(stop_heating::valve_work)),
        );
    for (path, to) in [
        action("dispatch", web::post().to(actions::dispatch)),
        action("sign", web::post().to(actions::sign)),
        action("return", web::post().to(actions::return_ticket)),
        action("return-review", web::post().to(actions::review_return)),
        action("assign", web::post().to(actions::assign)),
        action("check-in", web::post().to(actions::check_in)),
        action("measurements", web::post().to(actions::measure)),
        action("pause", web::post().to(actions::pause)),
        action("resume", web::post().to(actions::resume)),
        action("extension", web::post().to(actions::request_extension)),
        action(
            "extension-decision",
            web::post().to(actions::decide_extension),
        ),
        action("supervise", web::post().to(actions::supervise)),
        action("resolve", web::post().to(actions::resolve)),
        action("feedback", web::post().to(actions::feedback)),
        action("close", web::post().to(actions::close)),
    ] {
        cfg = cfg.route(&path, to);
    }
}

/// Reads a path id.
fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such ticket"))
}

/// The version in `If-Match` (`"7"`, `W/"7"` or `7`), when sent.
fn if_match(request: &HttpRequest) -> Result<Option<usize>, ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    if text == "*" {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::bad_request(
            "invalid_if_match",
            "If-Match must be the ticket's version as its ETag gave it, e.g. \"7\"",
        )
    })
}

/// Whether `principal` may see and act on `ticket` at all: a resident only on tickets of
/// their complaints, a crew only on its jobs, a supplier only on its tickets, a dispatcher
/// only in their district when limited to one.
pub(crate) fn may_touch(principal: &Principal, ticket: &Ticket) -> Result<(), String> {
    let place = ticket.subject.as_ref().map(|s| &s.place);
    let scope = ResourceScope {
        district: place.and_then(|p| p.district.as_deref()),
        supplier: ticket.supplier.as_deref(),
        crew: ticket.crew.as_deref(),
    };
    let allowed = match principal.role {
        Role::Resident => ticket.filed_by(&principal.subject),
        Role::Crew => principal.crew.is_some() && principal.require_scope(&scope).is_ok(),
        Role::SupplierAdmin => {
            principal.supplier.is_some() && principal.require_scope(&scope).is_ok()
        }
        Role::Dispatcher | Role::Operator | Role::Regulator | Role::Admin => {
            principal.require_scope(&scope).is_ok()
        }
    };
    if allowed {
        Ok(())
    } else {
        Err("this ticket is not yours to see or act on".into())
    }
}

/// What a command answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommandReply {
    /// The ticket.
    ticket_id: Uuid,
    /// Its version now (also the `ETag`).
    version: usize,
    /// Where it stands now.
    status: String,
    /// What the command recorded (empty when it changed nothing).
    events: Vec<String>,
}

fn reply(id: Uuid, outcome: Outcome) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", outcome.version)))
        .json(CommandReply {
            ticket_id: id,
            version: outcome.version,
            status: outcome.ticket.status.as_str().to_owned(),
            events: outcome.events.iter().map(|e| e.name().to_owned()).collect(),
        })
}

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::unprocessable(
        "invalid_fields",
        "some fields are missing or invalid; see details",
        serde_json::json!([{"field": field, "code": code, "message": message}]),
    )
}

/// A command's failure as the API answers it.
pub(crate) fn command_failure(error: CommandError) -> ApiError {
    match error {
        CommandError::Refused(refusal) => match refusal {
            TicketError::NotOpened => ApiError::not_found("no such ticket"),
            TicketError::AlreadyOpened => ApiError::conflict("already_opened", refusal.to_string()),
            TicketError::InvalidTransition { .. } => {
                ApiError::conflict("invalid_transition", refusal.to_string())
            }
            TicketError::Paused => ApiError::conflict("ticket_paused", refusal.to_string()),
            TicketError::NotPaused => ApiError::conflict("not_paused", refusal.to_string()),
            TicketError::CrewOfAnotherSupplier => {
                invalid("crew_id", "crew_of_another_supplier", &refusal.to_string())
            }
            TicketError::StandardNotMet => ApiError::unprocessable(
                "standard_not_met",
                refusal.to_string(),
                serde_json::Value::Null,
            ),
            TicketError::ExtensionUsed => ApiError::conflict("extension_used", refusal.to_string()),
            TicketError::ExtensionPending => {
                ApiError::conflict("extension_pending", refusal.to_string())
            }
            TicketError::NoExtensionRequested => {
                ApiError::conflict("no_extension_requested", refusal.to_string())
            }
            TicketError::ExtensionTooLong(_) => {
                invalid("working_days", "out_of_range", &refusal.to_string())
            }
            TicketError::ReasonRequired => invalid("reason", "required", "a reason is required"),
            TicketError::NothingToBreach => ApiError::conflict("no_breach", refusal.to_string()),
            TicketError::NotAParty => ApiError::forbidden(refusal.to_string()),
            TicketError::AlreadyRated => ApiError::conflict("already_rated", refusal.to_string()),
        },
        CommandError::Crew(refusal) => ApiError::conflict("crew_refused", refusal.to_string()),
        CommandError::Forbidden(message) => ApiError::forbidden(message),
        CommandError::Stale { current, .. } => ApiError::precondition_failed(format!(
            "the ticket changed since you saw it; it is at version {current}"
        ))
        .with_details(serde_json::json!({ "current_version": current })),
        CommandError::Contended => {
            ApiError::conflict("conflict", "the ticket changed meanwhile; try again")
        }
        CommandError::Store(e) => ApiError::internal(&e),
        CommandError::Append(e) => ApiError::internal(&e),
    }
}

async fn client(dispatch: &Dispatch) -> Result<deadpool_postgres::Object, ApiError> {
    dispatch
        .tickets
        .store()
        .pool()
        .get()
        .await
        .map_err(|e| ApiError::internal(&e))
}
