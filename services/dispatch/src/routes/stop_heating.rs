//! Stop-heating applications on the supplier's desk: the supplier approves (naming the crew)
//! or refuses; the crew photographs the sealed (or opened) valve; dispatchers and regulators
//! follow.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::client;
use crate::Dispatch;
use crate::domain::stop_heating::{CaseCommand, CaseError, Refusal, StopHeatingCase};
use crate::stop_heating::{self, CaseFailure, CaseView, Filter, Photo};

/// The largest photo of a valve.
pub(crate) const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

pub(crate) fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_PHOTO_BYTES)
}

/// A supplier's reply.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct Reply {
    /// `approve` or `refuse`.
    #[schema(max_length = 16)]
    decision: String,
    /// When approving: the crew that will seal (or open) the valve, one of the supplier's.
    #[schema(max_length = 40)]
    crew_id: Option<String>,
    /// When refusing: `arrears` (欠费), `no_household_valve` (无分户阀门),
    /// `new_building_warranty` (新建楼保修期) or `building_cap` (the building's share of
    /// stopped households has reached the city's cap).
    #[schema(max_length = 32)]
    refusal: Option<String>,
    /// A note to the resident (up to 500 characters; required when refusing).
    #[schema(max_length = 500)]
    note: Option<String>,
}

/// Which applications.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct CaseQuery {
    /// `applied`, `approved`, `refused` or `done`.
    #[param(max_length = 16)]
    status: Option<String>,
    /// A season, `2027-2028`.
    #[param(max_length = 9)]
    season: Option<String>,
    /// At most this many (1 to 500, default 100).
    limit: Option<i64>,
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such application"))
}

fn crew_of(principal: &Principal) -> Result<Option<Uuid>, ApiError> {
    match (&principal.role, &principal.crew) {
        (Role::Crew, Some(crew)) => crew
            .parse()
            .map(Some)
            .map_err(|_| ApiError::forbidden("your account names no crew")),
        (Role::Crew, None) => Err(ApiError::forbidden("your account names no crew")),
        _ => Ok(None),
    }
}

/// The caller's scope as a filter: a supplier admin its supplier's, a crew its jobs, a
/// dispatcher its district's.
fn scoped<'a>(principal: &'a Principal) -> Result<Filter<'a>, ApiError> {
    if principal.role == Role::SupplierAdmin && principal.supplier.is_none() {
        return Err(ApiError::forbidden("your account names no supplier"));
    }
    Ok(Filter {
        supplier: principal.supplier.as_deref(),
        district: principal.district.as_deref(),
        crew: crew_of(principal)?,
        ..Filter::default()
    })
}

/// Whether `principal` may act on `case`.
fn may_touch(principal: &Principal, case: &StopHeatingCase) -> Result<(), String> {
    let Some(filed) = &case.filed else {
        return Ok(());
    };
    let own = |mine: &Option<String>, theirs: &str| mine.as_deref().is_none_or(|m| m == theirs);
    let allowed = own(&principal.supplier, &filed.supplier_id)
        && own(&principal.district, &filed.district)
        && match principal.role {
            Role::Crew => principal.crew.is_some() && principal.crew == case.crew,
            _ => true,
        };
    if allowed {
        Ok(())
    } else {
        Err("this application is not yours to act on".into())
    }
}

fn failure(error: CaseFailure) -> ApiError {
    match error {
        CaseFailure::Refused(refusal) => {
            let message = refusal.to_string();
            let field = |field: &str, code: &str| {
                ApiError::unprocessable(
                    "invalid_fields",
                    "some fields are missing or invalid; see details",
                    serde_json::json!([{"field": field, "code": code, "message": message}]),
                )
            };
            match refusal {
                CaseError::NotOpened => ApiError::not_found(message),
                CaseError::AlreadyOpened => ApiError::conflict("already_opened", message),
                CaseError::AlreadyReplied => ApiError::conflict("already_replied", message),
                CaseError::CrewOfAnotherSupplier => field("crew_id", "crew_of_another_supplier"),
                CaseError::CapNotReached { .. } => field("refusal", "cap_not_reached"),
                CaseError::CapUnknown => field("refusal", "cap_unknown"),
                CaseError::CapOnRestore => field("refusal", "cap_on_restore"),
                CaseError::NotApproved => ApiError::conflict("not_approved", message),
                CaseError::NotYourJob => ApiError::forbidden(message),
                CaseError::NothingToBreach => ApiError::conflict("no_breach", message),
            }
        }
        CaseFailure::Forbidden(message) => ApiError::forbidden(message),
        CaseFailure::Contended => {
            ApiError::conflict("conflict", "the application changed meanwhile; try again")
        }
        CaseFailure::Store(e) => ApiError::internal(&e),
        CaseFailure::Append(e) => ApiError::internal(&e),
    }
}

async fn one(dispatch: &Dispatch, principal: &Principal, id: Uuid) -> Result<CaseView, ApiError> {
    let filter = Filter {
        id: Some(id),
        ..scoped(principal)?
    };
    stop_heating::list(&client(dispatch).await?, &filter, 1)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .pop()
        .ok_or_else(|| ApiError::not_found("no such application"))
}

/// Stop-heating and restore applications, the most urgent reply first: a supplier admin sees
/// its supplier's, a crew its valve jobs, a dispatcher its district's, a regulator all.
#[utoipa::path(get, path = "/api/v1/stop-heating/applications", tag = "stop-heating",
    params(CaseQuery),
    responses((status = 200, body = Vec<CaseView>), (status = 422, description = "Bad filter")),
    security(("bearer" = [])))]
pub(crate) async fn list(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    if let Some(status) = &query.status
        && !["applied", "approved", "refused", "done"].contains(&status.as_str())
    {
        errors.add(
            "status",
            "unknown_value",
            "one of applied, approved, refused, done",
        );
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        errors.add("limit", "out_of_range", "1 to 500");
    }
    errors.into_result()?;
    let filter = Filter {
        status: query.status.as_deref(),
        season: query.season.as_deref(),
        ..scoped(&principal)?
    };
    let list = stop_heating::list(&client(&dispatch).await?, &filter, limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(list))
}

/// One application.
#[utoipa::path(get, path = "/api/v1/stop-heating/applications/{id}", tag = "stop-heating",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseView), (status = 404, description = "No such application, or not yours")),
    security(("bearer" = [])))]
pub(crate) async fn show(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    Ok(HttpResponse::Ok().json(one(&dispatch, &principal, id).await?))
}

/// The supplier replies, within the city's working days (late replies still land, after the
/// breach): approving names the crew that will do the valve work; refusing gives a reason the
/// city allows and a note. A `building_cap` refusal stands only when the building's share of
/// stopped households has reached the cap.
#[utoipa::path(post, path = "/api/v1/stop-heating/applications/{id}/reply", tag = "stop-heating",
    params(("id" = Uuid, Path)), request_body = Reply,
    responses((status = 200, body = CaseView), (status = 403, description = "Another supplier's"),
        (status = 404, description = "No such application"),
        (status = 409, description = "Replied before"), (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn reply(
    dispatch: web::Data<Dispatch>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let mut errors = FieldErrors::default();
    let decision = errors.one_of(&body, "decision", &["approve", "refuse"], true);
    let note = errors.text(&body, "note", 500).unwrap_or_default();
    let crew = errors.text(&body, "crew_id", 40);
    let codes: Vec<&str> = Refusal::ALL.iter().map(|r| r.code()).collect();
    let refusal = errors
        .one_of(&body, "refusal", &codes, decision == Some("refuse"))
        .and_then(Refusal::parse);
    let crew = match (decision, crew) {
        (Some("approve"), Some(crew)) => match crew.parse::<Uuid>() {
            Ok(crew) => Some(crew),
            Err(_) => {
                errors.add("crew_id", "invalid", "a crew id");
                None
            }
        },
        (Some("approve"), None) => {
            errors.add(
                "crew_id",
                "required",
                "the crew that will do the valve work",
            );
            None
        }
        _ => None,
    };
    if decision == Some("refuse") && note.is_empty() {
        errors.add("note", "required", "tell the resident why");
    }
    errors.into_result()?;
    let now = dispatch.now();
    let client = client(&dispatch).await?;
    let command = match (crew, refusal) {
        (Some(crew), _) => {
            let crew_supplier = client
                .query_opt(
                    "SELECT supplier_id FROM dispatch.crew WHERE crew_id = $1 AND active",
                    &[&crew],
                )
                .await
                .map_err(|e| ApiError::internal(&e))?
                .map(|r| r.get(0));
            CaseCommand::Approve {
                crew: crew.to_string(),
                crew_supplier,
                note,
                at: now,
            }
        }
        (None, Some(refusal)) => {
            let case = one(&dispatch, &principal, id).await?;
            let share = stop_heating::building_share(
                &client,
                &case.building_id,
                &case.season,
                &dispatch.config.stop_heating.terms,
            )
            .await
            .map_err(|e| ApiError::internal(&e))?;
            CaseCommand::Refuse {
                refusal,
                note,
                share,
                at: now,
            }
        }
        (None, None) => return Err(ApiError::internal(&std::fmt::Error)),
    };
    drop(client);
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    let check = |case: &StopHeatingCase| may_touch(&principal, case);
    stop_heating::execute(
        dispatch.tickets.store(),
        id,
        command,
        &check,
        None,
        &metadata,
    )
    .await
    .map_err(failure)?;
    Ok(HttpResponse::Ok().json(one(&dispatch, &principal, id).await?))
}

/// The crew named on approval records its valve work with a photo of the sealed (or opened)
/// valve: the raw JPEG or PNG bytes as the body, at most 5 MB. The household is then stopped
/// (paying the city's base fee share) or heated again.
#[utoipa::path(post, path = "/api/v1/stop-heating/applications/{id}/valve-work", tag = "stop-heating",
    params(("id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = CaseView), (status = 403, description = "Another crew's job"),
        (status = 404, description = "No such application"),
        (status = 409, description = "Not approved, or done before"),
        (status = 413, description = "Over 5 MB"), (status = 415, description = "Not a JPEG or PNG")),
    security(("bearer" = [])))]
pub(crate) async fn valve_work(
    dispatch: web::Data<Dispatch>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let crew = crew_of(&principal)?
        .ok_or_else(|| ApiError::forbidden("the crew named on approval does the valve work"))?;
    let kind = platform::image::sniff(&body).ok_or_else(|| {
        ApiError::unsupported_media_type("the photo must be a JPEG or PNG image")
            .with_code("not_an_image")
    })?;
    let photo = Photo {
        content_type: kind.content_type(),
        bytes: body.to_vec(),
    };
    let command = CaseCommand::CompleteValveWork {
        crew: crew.to_string(),
        photo_sha256: stop_heating::hex_sha256(&photo.bytes),
        base_fee_share_pct: dispatch.config.stop_heating.terms.base_fee_share_pct,
        at: dispatch.now(),
    };
    let metadata = metadata(&request, actor(&principal), Channel::App);
    let check = |case: &StopHeatingCase| may_touch(&principal, case);
    stop_heating::execute(
        dispatch.tickets.store(),
        id,
        command,
        &check,
        Some(photo),
        &metadata,
    )
    .await
    .map_err(failure)?;
    Ok(HttpResponse::Ok().json(one(&dispatch, &principal, id).await?))
}

/// The crew's photo of the valve.
#[utoipa::path(get, path = "/api/v1/stop-heating/applications/{id}/photo", tag = "stop-heating",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The image"), (status = 404, description = "No such application or no photo yet")),
    security(("bearer" = [])))]
pub(crate) async fn photo(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    one(&dispatch, &principal, id).await?;
    let (content_type, bytes) = stop_heating::photo(&client(&dispatch).await?, id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("no photo yet"))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "private, max-age=86400"))
        .body(bytes))
}
