//! The regulator's supply alerts: stations whose rooms fell together while the weather did
//! not, to confirm or dismiss.

use actix_web::{HttpResponse, web};
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::Intake;
use crate::supply::{AlertView, Decision, DecisionError};

/// Which alerts to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct AlertQuery {
    /// `open`, `confirmed` or `dismissed`; all when absent.
    #[param(max_length = 20)]
    status: Option<String>,
}

/// The supply alerts, newest first (at most 200), each with the indoor and outdoor means behind
/// it and each sensor's.
#[utoipa::path(
    get, path = "/api/v1/supply-alerts", tag = "sensors", params(AlertQuery),
    responses((status = 200, body = [AlertView]),
              (status = 400, description = "`invalid_status`")),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    intake: web::Data<Intake>,
    query: web::Query<AlertQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = query.status.as_deref();
    if status.is_some_and(|s| !matches!(s, "open" | "confirmed" | "dismissed")) {
        return Err(ApiError::bad_request(
            "invalid_status",
            "status is open, confirmed or dismissed",
        ));
    }
    let found = intake
        .supply_alerts(status)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(found))
}

/// A regulator's confirmation: what was found.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Confirmation {
    /// What the regulator found (10 to 2,000 characters).
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// A regulator's dismissal: why.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Dismissal {
    /// Why the fall was not a reduction of supply (10 to 2,000 characters).
    #[schema(max_length = 2000)]
    reason: Option<String>,
}

fn written(text: Option<&str>, field: &str) -> Result<String, ApiError> {
    let text = text.map(str::trim).unwrap_or_default();
    let mut errors = FieldErrors::default();
    if !(10..=2000).contains(&text.chars().count()) {
        errors.add(field, "required", "10 to 2,000 characters");
    }
    errors.into_result()?;
    Ok(text.to_owned())
}

async fn decide(
    intake: &Intake,
    id: Uuid,
    decision: Decision,
    principal: &Principal,
) -> Result<HttpResponse, ApiError> {
    match intake
        .decide_supply_alert(id, decision, &principal.subject)
        .await
    {
        Ok(alert) => Ok(HttpResponse::Ok().json(alert)),
        Err(DecisionError::NotFound) => Err(ApiError::not_found("no such supply alert")),
        Err(DecisionError::Decided) => Err(ApiError::conflict(
            "alert_decided",
            "the alert was confirmed or dismissed already",
        )),
        Err(DecisionError::Command(error)) => Err(super::command_failure(error)),
    }
}

/// Confirms a suspected supply reduction. To make it a credit veto, record one with the rule
/// `supply_reduction` at `POST /api/v1/credit/seasons/{season}/suppliers/{id}/vetoes`, citing
/// the alert.
#[utoipa::path(
    post, path = "/api/v1/supply-alerts/{id}/confirm", tag = "sensors",
    params(("id" = Uuid, Path)), request_body = Confirmation,
    responses((status = 200, body = AlertView),
              (status = 404, description = "No such alert"),
              (status = 409, description = "`alert_decided`"),
              (status = 422, description = "`invalid_fields`: no note")),
    security(("bearer" = []))
)]
pub(crate) async fn confirm(
    intake: web::Data<Intake>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: web::Json<Confirmation>,
) -> Result<HttpResponse, ApiError> {
    let note = written(body.note.as_deref(), "note")?;
    decide(&intake, *id, Decision::Confirm(note), &principal).await
}

/// Dismisses a suspected supply reduction with the reason.
#[utoipa::path(
    post, path = "/api/v1/supply-alerts/{id}/dismiss", tag = "sensors",
    params(("id" = Uuid, Path)), request_body = Dismissal,
    responses((status = 200, body = AlertView),
              (status = 404, description = "No such alert"),
              (status = 409, description = "`alert_decided`"),
              (status = 422, description = "`invalid_fields`: no reason")),
    security(("bearer" = []))
)]
pub(crate) async fn dismiss(
    intake: web::Data<Intake>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: web::Json<Dismissal>,
) -> Result<HttpResponse, ApiError> {
    let reason = written(body.reason.as_deref(), "reason")?;
    decide(&intake, *id, Decision::Dismiss(reason), &principal).await
}
