//! Complaints after filing: residents follow and withdraw theirs; operators find repeat
//! callers; dispatchers route what the registry could not place, and reject.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use platform::policy::{Grant, Reach};
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::command_failure;
use crate::Intake;
use crate::domain::complaint::{Complaint, ComplaintCommand, ComplaintEvent};
use crate::domain::values::{Address, HeatingAccountNo};
use crate::views::{self, ComplaintView, Cursor, Disclosure, Page};

/// Paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct Paging {
    /// At most this many (1 to 100, default 20).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

pub(super) fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "invalid_limit",
            "limit must be 1 to 100",
        )),
    }
}

pub(super) async fn client(intake: &Intake) -> Result<deadpool_postgres::Object, ApiError> {
    intake
        .store
        .pool()
        .get()
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// The complaints I filed, newest first.
#[utoipa::path(
    get, path = "/api/v1/complaints", tag = "complaints", params(Paging),
    responses((status = 200, body = Page), (status = 400, description = "Bad cursor or limit")),
    security(("bearer" = []))
)]
pub(crate) async fn mine(
    intake: web::Data<Intake>,
    principal: Principal,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let cursor =
        match &query.cursor {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not valid")
            })?),
        };
    let client = client(&intake).await?;
    let page = views::filed_by(&client, &principal.subject, cursor, limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(page))
}

/// One step in a complaint's life.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComplaintTimelineEntry {
    /// When it happened.
    at: chrono::DateTime<chrono::Utc>,
    /// Intake's steps: `accepted`, `merged`, `repeat_recorded`, `routed`, `joined_incident`,
    /// `withdrawn`, `rejected`, `signed`; then the repair's, from dispatch: `ticket_opened`,
    /// `attached`, `dispatched`, `returned`, `crew_assigned`, `crew_on_site`, `measured`,
    /// `resolved`, `rated`, `reopened`, `deadline_missed`, `supervised`, `closed`.
    event: String,
    /// The role of whoever did it (`resident`, `operator`, `system`, ...).
    by: String,
    /// What a resident reads about it.
    note: String,
}

/// A complaint and its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComplaintDetail {
    complaint: ComplaintView,
    timeline: Vec<ComplaintTimelineEntry>,
}

fn entry(event: &ComplaintEvent) -> (&'static str, String) {
    match event {
        ComplaintEvent::Accepted {
            joins_incident: Some(incident_id),
            ..
        } => (
            "accepted",
            format!(
                "complaint accepted as part of incident {incident_id}: homes nearby reported \
                 the same, and their repair is under way"
            ),
        ),
        ComplaintEvent::Accepted { .. } => ("accepted", "complaint accepted".into()),
        ComplaintEvent::Merged { into, .. } => (
            "merged",
            format!("added to your home's open complaint {into}"),
        ),
        ComplaintEvent::RepeatRecorded { .. } => {
            ("repeat_recorded", "your home reported this again".into())
        }
        ComplaintEvent::Routed { route, .. } => (
            "routed",
            format!(
                "sent to supplier {}",
                route.supplier_id.as_deref().unwrap_or("?")
            ),
        ),
        ComplaintEvent::JoinedIncident { incident_id, .. } => (
            "joined_incident",
            format!("part of incident {incident_id}: several homes nearby reported the same"),
        ),
        ComplaintEvent::Withdrawn { reason, .. } => ("withdrawn", format!("withdrawn: {reason}")),
        ComplaintEvent::Rejected { reason, .. } => ("rejected", format!("rejected: {reason}")),
        ComplaintEvent::Signed { .. } => ("signed", "the supplier signed for the repair".into()),
        // The resident is told who looked at their contact details, and why.
        ComplaintEvent::ContactRevealed { by, reason, .. } => (
            "contact_revealed",
            format!("{} viewed your contact details: {reason}", by.role),
        ),
    }
}

/// Complaint `id` within `principal`'s reach, with how much of its personal data they see; one
/// outside their reach is answered as missing (a resident cannot probe others' complaint ids).
pub(super) async fn reach(
    intake: &Intake,
    principal: &Principal,
    id: Uuid,
) -> Result<(ComplaintView, Disclosure), ApiError> {
    let client = client(intake).await?;
    let missing = || ApiError::not_found("no such complaint");
    let view = views::complaint(&client, id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(missing)?;
    let disclosure = match principal.role {
        // A resident reads their own filings only: a filing merged into a neighbour's is
        // followed through its own view and the shared ticket, never by reading theirs.
        Role::Resident if view.filer() == principal.subject => Some(Disclosure::Whole),
        Role::Resident => None,
        Role::Operator | Role::Regulator => Some(Disclosure::Masked),
        // A district dispatcher sees its district's complaints and the unplaced ones it may
        // route.
        Role::Dispatcher => match (&principal.district, &view.district) {
            (Some(own), Some(theirs)) if own != theirs => None,
            _ => Some(Disclosure::Masked),
        },
        Role::SupplierAdmin => (view.supplier_id.is_some()
            && view.supplier_id == principal.supplier)
            .then_some(Disclosure::Masked),
        // A crew finds the home of its open jobs.
        Role::Crew => match &principal.crew {
            Some(crew) => views::crew_works_on(&client, crew, id)
                .await
                .map_err(|e| ApiError::internal(&e))?
                .then_some(Disclosure::Address),
            None => None,
        },
        Role::Admin => None,
    };
    disclosure.map(|d| (view, d)).ok_or_else(missing)
}

/// Complaint `id` as `principal` may see it: the filer whole; staff with the phone and
/// account masked, and the address shown to the building (a crew on the job sees the address).
pub(super) async fn readable(
    intake: &Intake,
    principal: &Principal,
    id: Uuid,
) -> Result<ComplaintView, ApiError> {
    let (view, disclosure) = reach(intake, principal, id).await?;
    Ok(view.disclosed(disclosure))
}

pub(super) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such complaint"))
}

/// One complaint with its timeline.
#[utoipa::path(
    get, path = "/api/v1/complaints/{id}", tag = "complaints",
    params(("id" = Uuid, Path, description = "The complaint")),
    responses((status = 200, body = ComplaintDetail), (status = 404, description = "No such complaint, or not yours")),
    security(("bearer" = []))
)]
pub(crate) async fn one(
    intake: web::Data<Intake>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let complaint = readable(&intake, &principal, id).await?;
    let events = intake
        .store
        .stream::<Complaint>(&id.to_string())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut timeline: Vec<ComplaintTimelineEntry> = events
        .iter()
        .filter(|recorded| !matches!(recorded.payload, ComplaintEvent::Signed { .. }))
        .map(|recorded| {
            let (event, note) = entry(&recorded.payload);
            ComplaintTimelineEntry {
                at: recorded.payload.at(),
                event: event.to_owned(),
                by: recorded.metadata.actor.role.clone(),
                note,
            }
        })
        .collect();
    // The repair's steps, as dispatch published them (the supplier's signature among them).
    let progress = client(&intake)
        .await?
        .query(
            "SELECT at, event, by_role, note FROM intake.complaint_progress \
             WHERE complaint_id = $1 ORDER BY at, event_id LIMIT 500",
            &[&id],
        )
        .await
        .map_err(|e| ApiError::internal(&e))?;
    timeline.extend(progress.iter().map(|row| ComplaintTimelineEntry {
        at: row.get(0),
        event: row.get(1),
        by: row.get(2),
        note: row.get(3),
    }));
    timeline.sort_by_key(|entry| entry.at);
    Ok(HttpResponse::Ok().json(ComplaintDetail {
        complaint,
        timeline,
    }))
}

/// Indoor beside outdoor for a complaint, hour by hour, from twelve hours before it was filed
/// until now (at most three days): the home's room sensors (else its building's) and its
/// district's outdoor sensors, so that the cold shows as the weather's or the supply's. For
/// whoever may read the complaint.
#[utoipa::path(
    get, path = "/api/v1/complaints/{id}/temperatures", tag = "complaints",
    params(("id" = Uuid, Path, description = "The complaint")),
    responses((status = 200, body = crate::temperatures::Temperatures),
              (status = 404, description = "No such complaint, or not yours")),
    security(("bearer" = []))
)]
pub(crate) async fn temperatures(
    intake: web::Data<Intake>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    readable(&intake, &principal, id).await?;
    let found = intake
        .temperatures_of(id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("no such complaint"))?;
    Ok(HttpResponse::Ok().json(found))
}

/// Why (a withdrawal's reason may be empty; a rejection's may not).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ComplaintReason {
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: String,
}

pub(super) fn reason(body: &ComplaintReason) -> Result<String, ApiError> {
    if body.reason.chars().count() > 500 {
        return Err(ApiError::unprocessable(
            "invalid_fields",
            "the reason is too long",
            serde_json::json!([{"field": "reason", "code": "too_long", "message": "at most 500 characters"}]),
        ));
    }
    Ok(body.reason.trim().to_owned())
}

/// Runs `command` on complaint `id` for `principal`, and answers the complaint as it is now.
async fn act(
    intake: &Intake,
    request: &HttpRequest,
    principal: &Principal,
    id: Uuid,
    command: ComplaintCommand,
    channel: Channel,
) -> Result<HttpResponse, ApiError> {
    intake
        .complaints
        .execute(id, command, &metadata(request, actor(principal), channel))
        .await
        .map_err(command_failure)?;
    Ok(HttpResponse::Ok().json(readable(intake, principal, id).await?))
}

/// Withdraws my complaint while it has not been signed for.
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/withdraw", tag = "complaints",
    params(("id" = Uuid, Path, description = "The complaint")), request_body = ComplaintReason,
    responses(
        (status = 200, body = ComplaintView),
        (status = 404, description = "No such complaint, or not yours"),
        (status = 409, description = "Signed for already (`complaint_signed`) or closed (`complaint_closed`)"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn withdraw(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: web::Json<ComplaintReason>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let view = readable(&intake, &principal, id).await?;
    if view.filer() != principal.subject {
        return Err(ApiError::not_found("no such complaint"));
    }
    let command = ComplaintCommand::Withdraw {
        reason: reason(&body)?,
        at: intake.now(),
    };
    act(&intake, &request, &principal, id, command, Channel::App).await
}

/// Rejects a complaint that is not a heating matter (operators and dispatchers).
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/reject", tag = "complaints",
    params(("id" = Uuid, Path, description = "The complaint")), request_body = ComplaintReason,
    responses((status = 200, body = ComplaintView), (status = 409, description = "Closed already"), (status = 422, description = "No reason")),
    security(("bearer" = []))
)]
pub(crate) async fn reject(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: web::Json<ComplaintReason>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    // Only within the caller's reach (a district dispatcher's own district).
    readable(&intake, &principal, id).await?;
    let command = ComplaintCommand::Reject {
        reason: reason(&body)?,
        at: intake.now(),
    };
    act(&intake, &request, &principal, id, command, Channel::Console).await
}

/// Where to send an unrouted complaint.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RouteTo {
    /// A building of the registry.
    #[schema(max_length = 100)]
    building_id: String,
}

/// Routes a complaint the registry could not place (dispatchers).
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/route", tag = "complaints",
    params(("id" = Uuid, Path, description = "The complaint")), request_body = RouteTo,
    responses((status = 200, body = ComplaintView), (status = 409, description = "Routed already or closed"), (status = 422, description = "Unknown building")),
    security(("bearer" = []))
)]
pub(crate) async fn route(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: web::Json<RouteTo>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let route = {
        let client = client(&intake).await?;
        crate::registry::building(&client, &body.building_id)
            .await
            .map_err(|e| ApiError::internal(&e))?
    }
    .ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_fields",
            "no such building",
            serde_json::json!([{"field": "building_id", "code": "unknown_building", "message": "not in the registry"}]),
        )
    })?;
    readable(&intake, &principal, id).await?;
    if let Some(own) = &principal.district
        && route.district.as_deref() != Some(own.as_str())
    {
        return Err(ApiError::forbidden(
            "that building is outside your district",
        ));
    }
    let command = ComplaintCommand::Route {
        route,
        at: intake.now(),
    };
    act(&intake, &request, &principal, id, command, Channel::Console).await
}

/// What identifies a repeat caller.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SearchQuery {
    /// The caller's phone.
    #[param(max_length = 32)]
    phone: Option<String>,
    /// A heating account number.
    #[param(max_length = 40)]
    heating_account: Option<String>,
    /// The start of an address.
    #[param(max_length = 200)]
    address: Option<String>,
}

/// Live complaints by phone, account or address, to find a repeat caller (operators and
/// dispatchers). At least one criterion; at most 50 results, newest first, with their personal
/// data masked (reveal one with `POST /api/v1/complaints/{id}/contact`).
#[utoipa::path(
    get, path = "/api/v1/complaints/search", tag = "complaints", params(SearchQuery),
    responses((status = 200, body = [ComplaintView]), (status = 400, description = "No criterion, or one that cannot match")),
    security(("bearer" = []))
)]
pub(crate) async fn search(
    intake: web::Data<Intake>,
    grant: Grant,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let bad = |field: &str| {
        ApiError::bad_request(
            "invalid_search",
            format!("{field} is not a valid search term"),
        )
    };
    let search = views::Search {
        phone: match &query.phone {
            None => None,
            Some(raw) => Some(
                platform::phone::PhoneNumber::parse_any(raw)
                    .ok_or_else(|| bad("phone"))?
                    .as_str()
                    .to_owned(),
            ),
        },
        account: match &query.heating_account {
            None => None,
            Some(raw) => Some(
                HeatingAccountNo::parse(raw)
                    .ok_or_else(|| bad("heating_account"))?
                    .as_str()
                    .to_owned(),
            ),
        },
        address: match &query.address {
            None => None,
            Some(raw) => Some(
                Address::parse(raw)
                    .ok_or_else(|| bad("address"))?
                    .as_str()
                    .to_owned(),
            ),
        },
        district: match grant.reach {
            Reach::OwnDistrict => grant.principal.district.clone(),
            _ => None,
        },
    };
    if search.phone.is_none() && search.account.is_none() && search.address.is_none() {
        return Err(ApiError::bad_request(
            "invalid_search",
            "give phone, heating_account or address",
        ));
    }
    let client = client(&intake).await?;
    let found: Vec<ComplaintView> = views::search(&client, &search, 50)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .into_iter()
        .map(|view| view.disclosed(Disclosure::Masked))
        .collect();
    Ok(HttpResponse::Ok().json(found))
}

/// Open complaints the registry could not place, oldest first (dispatchers).
#[utoipa::path(
    get, path = "/api/v1/complaints/unrouted", tag = "complaints",
    responses((status = 200, body = [ComplaintView])),
    security(("bearer" = []))
)]
pub(crate) async fn unrouted(
    intake: web::Data<Intake>,
    _: Principal,
) -> Result<HttpResponse, ApiError> {
    let client = client(&intake).await?;
    let found: Vec<ComplaintView> = views::unrouted(&client, 100)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .into_iter()
        .map(|view| view.disclosed(Disclosure::Masked))
        .collect();
    Ok(HttpResponse::Ok().json(found))
}

/// What address completion searches for.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct BuildingQuery {
    /// Part of the address (a street and number, a compound's name), at least one character.
    #[param(max_length = 100)]
    q: Option<String>,
    /// At most this many (1 to 100, default 20).
    limit: Option<i64>,
}

/// Buildings of the registry whose address contains `q`, for completing an address while an
/// operator types it, or for a dispatcher routing by hand (a district dispatcher sees their
/// district's).
#[utoipa::path(
    get, path = "/api/v1/buildings", tag = "complaints", params(BuildingQuery),
    responses((status = 200, body = [crate::registry::BuildingView]), (status = 400, description = "`invalid_query`: no `q`, or only spaces")),
    security(("bearer" = []))
)]
pub(crate) async fn buildings(
    intake: web::Data<Intake>,
    principal: Principal,
    query: web::Query<BuildingQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let text = query
        .q
        .as_deref()
        .and_then(Address::fragment)
        .ok_or_else(|| ApiError::bad_request("invalid_query", "q names part of an address"))?;
    let client = client(&intake).await?;
    let found = crate::registry::search(&client, &text, principal.district.as_deref(), limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(found))
}
