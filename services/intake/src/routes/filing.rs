//! The one path every channel files through: photos checked, address routed, household
//! found, the filing's id taken from its idempotency key, then decided in one transaction.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use eventstore::EventMetadata;
use platform::error::ApiError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::command_failure;
use crate::Intake;
use crate::complaints::{FilingReceipt, NewFiling};
use crate::domain::complaint::ComplaintDetails;
use crate::domain::values::{Household, Source};
use crate::input::{ComplaintInput, FieldErrors};

/// The namespace of filing ids derived from idempotency keys.
const FILING_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_52a4_9d3e_4b0f_8a61_0c2e_7d95_b3a8);

/// A filing on its way in.
pub(crate) struct Submission {
    pub input: ComplaintInput,
    pub source: Source,
    /// The account or client that files.
    pub filer: String,
    /// What makes a retry recognisable: `(scope, key)`, e.g. the filer and its
    /// `Idempotency-Key`, or the platform and its work-order number.
    pub idempotency: Option<(String, String)>,
    /// The request's canonical bytes.
    pub request: Vec<u8>,
    pub rate_limited: bool,
    pub work_order: Option<String>,
    pub position: Option<(f64, f64)>,
    pub metadata: EventMetadata,
}

/// What a filing answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FilingResponse {
    /// The complaint to follow: this filing's own, or the household's open complaint it was
    /// merged into.
    complaint_id: Uuid,
    /// This filing's own id.
    filed_id: Uuid,
    /// `accepted` (a new complaint) or `merged` (into the household's open complaint).
    outcome: &'static str,
    /// Whether the address or account resolved to a building; if not, a dispatcher routes it.
    routed: bool,
    /// What happened, for the resident.
    message: &'static str,
}

impl FilingResponse {
    pub(crate) fn of(receipt: &FilingReceipt) -> (StatusCode, FilingResponse) {
        let (status, outcome, message) = if receipt.merged {
            (
                StatusCode::OK,
                "merged",
                "your home already has an open complaint; this report was added to it",
            )
        } else if receipt.routed {
            (
                StatusCode::CREATED,
                "accepted",
                "your complaint was accepted",
            )
        } else {
            (
                StatusCode::CREATED,
                "accepted",
                "your complaint was accepted; a dispatcher will find the responsible supplier",
            )
        };
        (
            status,
            FilingResponse {
                complaint_id: receipt.complaint_id,
                filed_id: receipt.filed_id,
                outcome,
                routed: receipt.routed,
                message,
            },
        )
    }
}

/// The `Idempotency-Key` header: 1 to 128 visible ASCII characters.
pub(crate) fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(|v| Some(v.to_owned()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            )
        })
}

impl Intake {
    /// Files a submission; bad photos are a 422 before anything is written.
    pub(crate) async fn submit(&self, s: Submission) -> Result<FilingReceipt, ApiError> {
        let mut errors = FieldErrors::default();
        for photo in &s.input.photos {
            match self.photos.exists(photo).await {
                Ok(true) => {}
                Ok(false) => errors.add("photos", "unknown_photo", format!("no photo {photo}")),
                Err(e) => return Err(ApiError::internal(&e)),
            }
        }
        errors.into_result()?;
        let route = self
            .registry
            .resolve(s.input.account.as_ref(), s.input.address.as_ref());
        let household = match (&s.input.account, &s.input.address, s.position) {
            (Some(account), _, _) => Household::of_account(account),
            (None, Some(address), _) => Household::of_address(address),
            (None, None, Some((lat, long))) => Household::of_position(lat, long),
            (None, None, None) => {
                return Err(ApiError::unprocessable(
                    "invalid_fields",
                    "give the heating account number or the address",
                    serde_json::json!([{"field": "address", "code": "address_or_account_required",
                        "message": "give the heating account number or the address"}]),
                ));
            }
        };
        let id = match &s.idempotency {
            Some((scope, key)) => {
                Uuid::new_v5(&FILING_NAMESPACE, format!("{scope}\u{1f}{key}").as_bytes())
            }
            None => Uuid::now_v7(),
        };
        let input = s.input;
        let filing = NewFiling {
            id,
            details: ComplaintDetails {
                category: input.category,
                priority: input.category.priority(),
                source: s.source,
                household,
                route,
                account: input.account,
                address: input.address,
                position: s.position,
                reading: input.reading,
                description: input.description,
                contact_phone: input.contact_phone.map(|p| p.as_str().to_owned()),
                photos: input.photos,
                filer: s.filer,
                hotline_work_order: s.work_order,
            },
            fingerprint: hex::encode(Sha256::digest(&s.request)),
            at: self.now(),
            rate_limited: s.rate_limited,
        };
        let receipt = self
            .complaints
            .file(&filing, &s.metadata)
            .await
            .map_err(command_failure)?;
        if !receipt.replayed {
            tracing::info!(
                complaint.id = %receipt.complaint_id,
                filed.id = %receipt.filed_id,
                merged = receipt.merged,
                routed = receipt.routed,
                source = crate::complaints::source_code(filing.details.source),
                "complaint filed"
            );
        }
        Ok(receipt)
    }
}
