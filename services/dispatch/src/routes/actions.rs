//! Ticket commands. Each accepts `If-Match` with the version last seen (412 when stale) and
//! answers the new version as the `ETag`; who may act is decided on the ticket as loaded in
//! the command's own transaction.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use eventstore::Channel;
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{CommandReply, client, command_failure, if_match, may_touch, parse_id, reply};
use crate::Dispatch;
use crate::domain::ticket::{Ticket, TicketCommand};
use crate::domain::values::{Cause, PauseReason, Rating, Tenths};
use crate::views;

/// The longest reason or note, in characters.
const MAX_TEXT: usize = 500;

/// What every ticket command needs: the service, the request (for `If-Match` and the
/// metadata), the verified caller and the ticket's id.
pub(crate) struct Act {
    dispatch: web::Data<Dispatch>,
    request: HttpRequest,
    principal: Principal,
    id: String,
}

impl FromRequest for Act {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Act, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let dispatch = request
                .app_data::<web::Data<Dispatch>>()
                .cloned()
                .ok_or_else(|| {
                    ApiError::internal(&std::io::Error::other("dispatch is not mounted"))
                })?;
            let id = request
                .match_info()
                .get("id")
                .unwrap_or_default()
                .to_owned();
            Ok(Act {
                dispatch,
                principal: principal.await?,
                request,
                id,
            })
        })
    }
}

impl Act {
    /// Runs the command `build` makes (at the service's time); the access policy has let the
    /// caller's role through, and the ticket as loaded decides the reach (`may_touch`).
    async fn run(
        self,
        build: impl FnOnce(DateTime<Utc>) -> Result<TicketCommand, ApiError>,
    ) -> Result<HttpResponse, ApiError> {
        let Act {
            dispatch,
            request,
            principal,
            id,
        } = self;
        let id = parse_id(&id)?;
        let expected = if_match(&request)?;
        let command = build(dispatch.now())?;
        let channel = match principal.role {
            Role::Resident | Role::Crew => Channel::App,
            _ => Channel::Console,
        };
        let metadata = metadata(&request, actor(&principal), channel);
        let check = |ticket: &Ticket| may_touch(&principal, ticket);
        dispatch
            .tickets
            .execute(id, expected, command, &check, &metadata)
            .await
            .map(|outcome| reply(id, outcome))
            .map_err(command_failure)
    }
}

fn text(errors: &mut FieldErrors, field: &str, value: &Option<String>, required: bool) -> String {
    let value = value.as_deref().map(str::trim).unwrap_or_default();
    if value.chars().count() > MAX_TEXT {
        errors.add(field, "too_long", format!("at most {MAX_TEXT} characters"));
    } else if required && value.is_empty() {
        errors.add(field, "required", format!("{field} is required"));
    }
    value.to_owned()
}

/// Which supplier to hand a ticket to.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DispatchTo {
    /// The supplier.
    #[schema(max_length = 100)]
    supplier_id: Option<String>,
}

/// Hands a ticket to a supplier (dispatchers): an unrouted one, one whose return was approved,
/// or one not yet signed that should go elsewhere.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/dispatch", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The version last seen")),
    request_body = DispatchTo,
    responses((status = 200, body = CommandReply), (status = 409, description = "`invalid_transition`"), (status = 412, description = "Stale `If-Match`")),
    security(("bearer" = []))
)]
pub(crate) async fn dispatch(
    act: Act,
    body: web::Json<DispatchTo>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let supplier = text(&mut errors, "supplier_id", &body.supplier_id, true);
        errors.into_result()?;
        Ok(TicketCommand::Dispatch { supplier, at })
    })
    .await
}

/// Signs for a ticket (签收; the supplier).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/sign", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = CommandReply), (status = 403, description = "Another supplier's ticket"), (status = 409, description = "`invalid_transition`")),
    security(("bearer" = []))
)]
pub(crate) async fn sign(act: Act) -> Result<HttpResponse, ApiError> {
    act.run(|at| Ok(TicketCommand::Sign { at })).await
}

/// A reason.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Reason {
    /// Why (required, at most 500 characters).
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// Returns a ticket that is not the supplier's to fix (退单), before signing.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/return", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Reason,
    responses((status = 200, body = CommandReply), (status = 409, description = "Signed already"), (status = 422, description = "No reason")),
    security(("bearer" = []))
)]
pub(crate) async fn return_ticket(
    act: Act,
    body: web::Json<Reason>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let reason = text(&mut errors, "reason", &body.reason, true);
        errors.into_result()?;
        Ok(TicketCommand::Return { reason, at })
    })
    .await
}

/// A decision on a request.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReviewDecision {
    /// Approve or refuse.
    approve: Option<bool>,
    /// Why (required when refusing).
    #[schema(max_length = 500)]
    note: Option<String>,
}

fn decision(body: &ReviewDecision) -> Result<(bool, String), ApiError> {
    let mut errors = FieldErrors::default();
    if body.approve.is_none() {
        errors.add("approve", "required", "approve (true or false) is required");
    }
    let approve = body.approve.unwrap_or_default();
    let note = text(&mut errors, "note", &body.note, !approve);
    errors.into_result()?;
    Ok((approve, note))
}

/// Reviews a return (dispatchers): approved, the ticket waits for another dispatch; refused,
/// it goes back to the same supplier with a new sign clock.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/return-review", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = ReviewDecision,
    responses((status = 200, body = CommandReply), (status = 409, description = "Not returned")),
    security(("bearer" = []))
)]
pub(crate) async fn review_return(
    act: Act,
    body: web::Json<ReviewDecision>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let (approve, note) = decision(&body)?;
        Ok(TicketCommand::ReviewReturn { approve, note, at })
    })
    .await
}

/// Which crew.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AssignTo {
    /// The crew (of the ticket's supplier).
    #[schema(max_length = 36)]
    crew_id: Option<String>,
}

/// Assigns a crew (the supplier, or a dispatcher).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/assign", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = AssignTo,
    responses((status = 200, body = CommandReply), (status = 412, description = "Someone assigned first"), (status = 422, description = "Unknown crew, or another supplier's")),
    security(("bearer" = []))
)]
pub(crate) async fn assign(act: Act, body: web::Json<AssignTo>) -> Result<HttpResponse, ApiError> {
    let unknown = || super::invalid("crew_id", "unknown_crew", "no active crew has this id");
    let crew_id = body
        .crew_id
        .as_deref()
        .and_then(|c| c.trim().parse().ok())
        .ok_or_else(unknown)?;
    let crew = views::crew(&client(&act.dispatch).await?, crew_id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .filter(|c| c.active)
        .ok_or_else(unknown)?;
    act.run(|at| {
        Ok(TicketCommand::AssignCrew {
            crew: crew.crew_id.to_string(),
            crew_supplier: crew.supplier_id,
            at,
        })
    })
    .await
}

/// Where the crew is.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Position {
    /// Latitude (-90 to 90).
    latitude: Option<f64>,
    /// Longitude (-180 to 180).
    longitude: Option<f64>,
}

/// The crew checks in at the home (its own jobs only).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/check-in", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Position,
    responses((status = 200, body = CommandReply), (status = 403, description = "Not this crew's job"), (status = 422, description = "Bad position")),
    security(("bearer" = []))
)]
pub(crate) async fn check_in(
    act: Act,
    body: web::Json<Position>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let mut coordinate = |field: &str, value: Option<f64>, limit: f64| match value {
            Some(v) if v.is_finite() && v.abs() <= limit => v,
            Some(_) => {
                errors.add(field, "out_of_range", format!("-{limit} to {limit}"));
                0.0
            }
            None => {
                errors.add(field, "required", format!("{field} is required"));
                0.0
            }
        };
        let latitude = coordinate("latitude", body.latitude, 90.0);
        let longitude = coordinate("longitude", body.longitude, 180.0);
        errors.into_result()?;
        Ok(TicketCommand::CheckIn {
            latitude,
            longitude,
            at,
        })
    })
    .await
}

/// A certified measurement.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Reading {
    /// Room temperature in ℃ (-30 to 40).
    celsius: Option<f64>,
    /// Which room (e.g. `bedroom`).
    #[schema(max_length = 500)]
    room: Option<String>,
    /// The certified thermometer's id.
    #[schema(max_length = 500)]
    device_id: Option<String>,
}

/// Records a certified room-temperature measurement (the crew).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/measurements", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Reading,
    responses((status = 200, body = CommandReply), (status = 422, description = "Bad reading")),
    security(("bearer" = []))
)]
pub(crate) async fn measure(act: Act, body: web::Json<Reading>) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let tenths = match body.celsius {
            None => {
                errors.add("celsius", "required", "celsius is required");
                None
            }
            Some(c) => {
                let parsed = Tenths::from_celsius(c);
                if parsed.is_none() {
                    errors.add("celsius", "out_of_range", "a room is -30 to 40 ℃");
                }
                parsed
            }
        };
        let room = text(&mut errors, "room", &body.room, true);
        let device_id = text(&mut errors, "device_id", &body.device_id, true);
        errors.into_result()?;
        Ok(TicketCommand::Measure {
            tenths: tenths.expect("checked above"),
            room,
            device_id,
            at,
        })
    })
    .await
}

/// Why work pauses.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PauseFor {
    /// `resident_absent`, `parts` or `upstream_outage`.
    #[schema(max_length = 32)]
    reason: Option<String>,
}

/// Pauses work: the on-site, restore and hotline clocks stop until it resumes; the resident's
/// clock does not.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/pause", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = PauseFor,
    responses((status = 200, body = CommandReply), (status = 409, description = "Paused already, or not in work")),
    security(("bearer" = []))
)]
pub(crate) async fn pause(act: Act, body: web::Json<PauseFor>) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let reason = body
            .reason
            .as_deref()
            .and_then(PauseReason::parse)
            .ok_or_else(|| {
                super::invalid(
                    "reason",
                    "unknown_value",
                    &format!("one of {}", PauseReason::CODES.join(", ")),
                )
            })?;
        Ok(TicketCommand::Pause { reason, at })
    })
    .await
}

/// Resumes paused work.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/resume", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = CommandReply), (status = 409, description = "`not_paused`")),
    security(("bearer" = []))
)]
pub(crate) async fn resume(act: Act) -> Result<HttpResponse, ApiError> {
    act.run(|at| Ok(TicketCommand::Resume { at })).await
}

/// The extension asked for.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ExtensionAsk {
    /// Working days (1 to 10).
    working_days: Option<u32>,
    /// Why.
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// Asks for the ticket's one extension (the supplier).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/extension", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = ExtensionAsk,
    responses((status = 200, body = CommandReply), (status = 409, description = "`extension_used` or `extension_pending`")),
    security(("bearer" = []))
)]
pub(crate) async fn request_extension(
    act: Act,
    body: web::Json<ExtensionAsk>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        if body.working_days.is_none() {
            errors.add("working_days", "required", "working_days is required");
        }
        let reason = text(&mut errors, "reason", &body.reason, true);
        errors.into_result()?;
        Ok(TicketCommand::RequestExtension {
            days: body.working_days.unwrap_or_default(),
            reason,
            at,
        })
    })
    .await
}

/// Decides on the extension (dispatchers).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/extension-decision", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = ReviewDecision,
    responses((status = 200, body = CommandReply), (status = 409, description = "`no_extension_requested`")),
    security(("bearer" = []))
)]
pub(crate) async fn decide_extension(
    act: Act,
    body: web::Json<ReviewDecision>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let (approve, note) = decision(&body)?;
        Ok(TicketCommand::DecideExtension { approve, note, at })
    })
    .await
}

/// A note.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Note {
    /// What is said (required, at most 500 characters).
    #[schema(max_length = 500)]
    note: Option<String>,
}

/// Supervises a ticket (督办; dispatchers and regulators).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/supervise", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Note,
    responses((status = 200, body = CommandReply), (status = 409, description = "Closed")),
    security(("bearer" = []))
)]
pub(crate) async fn supervise(act: Act, body: web::Json<Note>) -> Result<HttpResponse, ApiError> {
    let by_role = act.principal.role.as_str().to_owned();
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let note = text(&mut errors, "note", &body.note, true);
        errors.into_result()?;
        Ok(TicketCommand::Supervise { by_role, note, at })
    })
    .await
}

/// How it was resolved.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Resolution {
    /// `supplier`, `resident_side`, `developer_handover` or `upstream`.
    #[schema(max_length = 32)]
    cause: Option<String>,
    /// The room meets 18 ℃: needs a measurement of this cycle at or above it.
    standard_met: Option<bool>,
    /// What was done.
    #[schema(max_length = 500)]
    note: Option<String>,
}

/// Resolves a ticket with its cause (the crew or the supplier).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/resolve", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Resolution,
    responses((status = 200, body = CommandReply), (status = 409, description = "Not in work, or paused"), (status = 422, description = "`standard_not_met`, or bad fields")),
    security(("bearer" = []))
)]
pub(crate) async fn resolve(
    act: Act,
    body: web::Json<Resolution>,
) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let cause = body.cause.as_deref().and_then(Cause::parse);
        if cause.is_none() {
            errors.add(
                "cause",
                "unknown_value",
                format!("one of {}", Cause::CODES.join(", ")),
            );
        }
        if body.standard_met.is_none() {
            errors.add("standard_met", "required", "standard_met is required");
        }
        let note = text(&mut errors, "note", &body.note, false);
        errors.into_result()?;
        Ok(TicketCommand::Resolve {
            cause: cause.expect("checked above"),
            standard_met: body.standard_met.unwrap_or_default(),
            note,
            at,
        })
    })
    .await
}

/// The resident's verdict.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Verdict {
    /// `satisfied`, `basically_satisfied` or `unsatisfied` (reopens the ticket).
    #[schema(max_length = 32)]
    rating: Option<String>,
    /// Their words.
    #[schema(max_length = 500)]
    comment: Option<String>,
}

/// Gives a verdict on a resolved ticket: the reporting resident in the app, or an operator or
/// dispatcher at the callback (回访); unsatisfied reopens it (重办) as a new cycle. A resident
/// whose filing was merged into the ticket, or whose household is part of its incident, records
/// their own verdict (once per cycle, also after the ticket closed): it is kept for them and
/// closes or reopens nothing, so nobody decides a repair of a home that is not theirs.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/feedback", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Verdict,
    responses((status = 200, body = CommandReply), (status = 403, description = "Not your ticket"), (status = 409, description = "Not resolved, or your verdict is recorded already")),
    security(("bearer" = []))
)]
pub(crate) async fn feedback(act: Act, body: web::Json<Verdict>) -> Result<HttpResponse, ApiError> {
    let resident = (act.principal.role == Role::Resident).then(|| act.principal.subject.clone());
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let rating = body.rating.as_deref().and_then(Rating::parse);
        if rating.is_none() {
            errors.add(
                "rating",
                "unknown_value",
                format!("one of {}", Rating::CODES.join(", ")),
            );
        }
        let comment = text(&mut errors, "comment", &body.comment, false);
        errors.into_result()?;
        Ok(TicketCommand::GiveFeedback {
            rating: rating.expect("checked above"),
            comment,
            resident,
            at,
        })
    })
    .await
}

/// Closes a resolved ticket after a callback that got no verdict (dispatchers).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/close", tag = "tickets",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), request_body = Note,
    responses((status = 200, body = CommandReply), (status = 409, description = "Not resolved")),
    security(("bearer" = []))
)]
pub(crate) async fn close(act: Act, body: web::Json<Note>) -> Result<HttpResponse, ApiError> {
    act.run(|at| {
        let mut errors = FieldErrors::default();
        let note = text(&mut errors, "note", &body.note, true);
        errors.into_result()?;
        Ok(TicketCommand::Close { note, at })
    })
    .await
}
