//! Erasure of a data subject's personal data on a regulator's approval.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::complaints::{client, limit};
use crate::Intake;
use crate::domain::erasure::{ErasureEvent, ErasureScope};
use crate::domain::values::{Address, HeatingAccountNo};
use crate::privacy;

/// Whose personal data to erase (exactly one of the four), why and on what approval.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EraseRequest {
    /// A resident account: its phone and WeChat id, and every complaint it filed.
    #[schema(max_length = 100)]
    resident: Option<String>,
    /// A home by its heating account: every complaint filed for it, by anyone.
    #[schema(max_length = 40)]
    heating_account: Option<String>,
    /// A home by its address: every complaint filed for it, by anyone.
    #[schema(max_length = 200)]
    address: Option<String>,
    /// The home of this complaint: every complaint filed for it, by anyone.
    #[schema(max_length = 36)]
    complaint_id: Option<Uuid>,
    /// Why (required, at most 500 characters), e.g. the resident's request under PIPL art. 47.
    #[schema(max_length = 500)]
    reason: String,
    /// The approval it rests on (required, at most 100 characters), e.g. the decision's number.
    #[schema(max_length = 100)]
    approval: String,
}

/// What an erasure did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErasureDone {
    /// The audit record (a `PersonalDataErased` event on stream `erasure/{id}`).
    erasure_id: Uuid,
    /// The complaints whose personal data was erased.
    complaints: Vec<Uuid>,
    /// The data keys destroyed.
    keys_destroyed: usize,
    /// The photos deleted.
    photos_deleted: usize,
}

fn field_error(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::unprocessable(
        "invalid_fields",
        message.to_owned(),
        serde_json::json!([{ "field": field, "code": code, "message": message }]),
    )
}

fn required(value: &str, field: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        Err(field_error(field, "required", "required"))
    } else if value.chars().count() > max {
        Err(field_error(
            field,
            "too_long",
            &format!("at most {max} characters"),
        ))
    } else {
        Ok(value.to_owned())
    }
}

/// Erases a data subject's personal data (regulators): the keys of their data are destroyed,
/// so the phone, WeChat id, heating account, address, position, words and photos can never be
/// read again from the log or any rebuild; the complaints, repairs, clocks, measurements and
/// credit entries stay as they were, and the log still verifies against its seals. Recorded
/// as an audit event with the reason and the approval. Irreversible.
#[utoipa::path(
    post, path = "/api/v1/privacy/erasures", tag = "privacy", request_body = EraseRequest,
    responses(
        (status = 200, body = ErasureDone),
        (status = 404, description = "No such complaint"),
        (status = 422, description = "Not exactly one subject, or no reason or approval"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn erase(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    body: web::Json<EraseRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = required(&body.reason, "reason", 500)?;
    let approval = required(&body.approval, "approval", 100)?;
    let given = [
        body.resident.is_some(),
        body.heating_account.is_some(),
        body.address.is_some(),
        body.complaint_id.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(field_error(
            "resident",
            "one_subject",
            "give exactly one of resident, heating_account, address, complaint_id",
        ));
    }
    let scope = if let Some(resident) = &body.resident {
        ErasureScope::Resident(required(resident, "resident", 100)?)
    } else if let Some(account) = &body.heating_account {
        let account = HeatingAccountNo::parse(account).ok_or_else(|| {
            field_error("heating_account", "invalid", "not a heating account number")
        })?;
        ErasureScope::Household(intake.pseudonyms.of_account(&account).as_str().to_owned())
    } else if let Some(address) = &body.address {
        let address = Address::parse(address)
            .ok_or_else(|| field_error("address", "invalid", "not an address"))?;
        ErasureScope::Household(intake.pseudonyms.of_address(&address).as_str().to_owned())
    } else {
        let id = body.complaint_id.expect("one subject was given");
        let row = client(&intake)
            .await?
            .query_opt(
                "SELECT household FROM intake.complaint WHERE complaint_id = $1",
                &[&id],
            )
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let household: String = row
            .ok_or_else(|| ApiError::not_found("no such complaint"))?
            .get(0);
        ErasureScope::Household(household)
    };
    let meta = metadata(&request, actor(&principal), Channel::Console);
    let erased = privacy::erase(&intake, scope, &[], reason, Some(approval), &meta)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    tracing::info!(
        erasure.id = %erased.erasure_id,
        complaints = erased.complaints.len(),
        keys = erased.subjects,
        "personal data erased"
    );
    Ok(HttpResponse::Ok().json(ErasureDone {
        erasure_id: erased.erasure_id,
        complaints: erased.complaints,
        keys_destroyed: erased.subjects,
        photos_deleted: erased.photos,
    }))
}

/// Which erasures to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ErasureQuery {
    /// At most this many (1 to 100, default 20).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 20)]
    cursor: Option<String>,
}

/// One erasure as the audit log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErasureRecord {
    /// Its id.
    erasure_id: String,
    /// When.
    at: chrono::DateTime<chrono::Utc>,
    /// `resident`, `household` or `retention`.
    scope: String,
    /// The resident's account id or the household's key (none for retention).
    subject: Option<String>,
    /// Why.
    reason: String,
    /// The approval it rests on.
    approval: Option<String>,
    /// Who erased (an account id, or `retention`).
    by: String,
    /// In which role.
    role: String,
    /// The complaints whose personal data it erased.
    complaints: Vec<Uuid>,
    /// The data keys destroyed.
    keys_destroyed: usize,
}

/// A page of erasures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErasurePage {
    /// Newest first.
    items: Vec<ErasureRecord>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The erasures of personal data, newest first (regulators): who erased whose data, why, on
/// what approval, and which complaints it reached; retention's erasures too.
#[utoipa::path(
    get, path = "/api/v1/privacy/erasures", tag = "privacy", params(ErasureQuery),
    responses((status = 200, body = ErasurePage), (status = 400, description = "Bad cursor or limit")),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    intake: web::Data<Intake>,
    _: Principal,
    query: web::Query<ErasureQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let before =
        match &query.cursor {
            None => i64::MAX,
            Some(text) => text.parse::<i64>().ok().filter(|p| *p > 0).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not valid")
            })?,
        };
    let rows = client(&intake)
        .await?
        .query(
            "SELECT global_position, aggregate_id, payload, metadata FROM eventstore.event \
             WHERE aggregate_type = 'erasure' AND global_position < $1 \
             ORDER BY global_position DESC LIMIT $2",
            &[&before, &limit],
        )
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let tokio_postgres::types::Json(event): tokio_postgres::types::Json<ErasureEvent> =
            row.get("payload");
        let tokio_postgres::types::Json(meta): tokio_postgres::types::Json<
            eventstore::EventMetadata,
        > = row.get("metadata");
        let ErasureEvent::PersonalDataErased {
            scope,
            reason,
            approval,
            complaints,
            subjects,
            at,
        } = event;
        let (scope, subject) = match scope {
            ErasureScope::Resident(id) => ("resident", Some(id)),
            ErasureScope::Household(h) => ("household", Some(h)),
            ErasureScope::Retention => ("retention", None),
        };
        items.push(ErasureRecord {
            erasure_id: row.get("aggregate_id"),
            at,
            scope: scope.into(),
            subject,
            reason,
            approval,
            by: meta.actor.id,
            role: meta.actor.role,
            complaints,
            keys_destroyed: subjects,
        });
    }
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| {
            rows.last()
                .map(|r| r.get::<_, i64>("global_position").to_string())
        })
        .flatten();
    Ok(HttpResponse::Ok().json(ErasurePage { items, next_cursor }))
}
