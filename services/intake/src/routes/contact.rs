//! Contact details on record: a staff member reveals a complaint's masked phone, address and
//! account with a reason, and the regulator reads who did, when and why.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::command_failure;
use super::complaints::{ComplaintReason, client, limit, parse_id, reach, reason};
use crate::Intake;
use crate::domain::complaint::{ComplaintCommand, Revealer};
use crate::views::{self, Cursor, RevealFilter, RevealPage};

/// A complaint's contact details, revealed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContactDetails {
    /// The complaint.
    complaint_id: Uuid,
    /// The phone to call back.
    contact_phone: Option<String>,
    /// The exact address.
    address: Option<String>,
    /// The heating account.
    heating_account: Option<String>,
    /// The reveal's record (`GET /api/v1/contact-reveals`).
    reveal_id: Uuid,
    /// When it was revealed.
    revealed_at: chrono::DateTime<chrono::Utc>,
}

/// Reveals a complaint's phone, exact address and heating account to a staff member who needs
/// them (an operator calling back, a crew arranging a visit), with a reason. Every reveal is
/// recorded on the complaint (who, in which role and scope, when, why): the regulator reads the
/// log and the resident sees it in the timeline.
#[utoipa::path(
    post, path = "/api/v1/complaints/{id}/contact", tag = "complaints",
    params(("id" = Uuid, Path, description = "The complaint")), request_body = ComplaintReason,
    responses(
        (status = 200, body = ContactDetails),
        (status = 404, description = "No such complaint, or outside your reach"),
        (status = 422, description = "No reason, or one over 500 characters"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn reveal(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: web::Json<ComplaintReason>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let (view, _) = reach(&intake, &principal, id).await?;
    let at = intake.now();
    let command = ComplaintCommand::RevealContact {
        by: Revealer {
            account: principal.subject.clone(),
            role: principal.role.as_str().to_owned(),
            district: principal.district.clone(),
            supplier_id: principal.supplier.clone(),
        },
        reason: reason(&body)?,
        at,
    };
    let channel = match principal.role {
        Role::Crew => Channel::App,
        _ => Channel::Console,
    };
    let (_, version) = intake
        .complaints
        .execute(id, command, &metadata(&request, actor(&principal), channel))
        .await
        .map_err(command_failure)?;
    Ok(HttpResponse::Ok().json(ContactDetails {
        complaint_id: id,
        contact_phone: view.contact_phone,
        address: view.address,
        heating_account: view.heating_account,
        reveal_id: views::reveal_id(id, version as i64),
        revealed_at: at,
    }))
}

/// Which reveals to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct RevealQuery {
    /// Only this complaint's.
    #[param(max_length = 36)]
    complaint_id: Option<Uuid>,
    /// Only this staff account's.
    #[param(max_length = 100)]
    account: Option<String>,
    /// At most this many (1 to 100, default 20).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// The log of contact reveals, newest first (regulators): who saw which complaint's phone and
/// address, when, in which role and scope, and why.
#[utoipa::path(
    get, path = "/api/v1/contact-reveals", tag = "complaints", params(RevealQuery),
    responses((status = 200, body = RevealPage), (status = 400, description = "Bad cursor or limit")),
    security(("bearer" = []))
)]
pub(crate) async fn reveals(
    intake: web::Data<Intake>,
    _: Principal,
    query: web::Query<RevealQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let cursor =
        match &query.cursor {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not valid")
            })?),
        };
    let filter = RevealFilter {
        complaint: query.complaint_id,
        account: query.account.clone(),
    };
    let client = client(&intake).await?;
    let page: RevealPage = views::reveals(&client, &filter, cursor, limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(page))
}
