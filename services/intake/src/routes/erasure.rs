//! Erasure of a data subject's personal data on a regulator's approval.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::complaints::client;
use crate::Intake;
use crate::domain::erasure::ErasureScope;
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
