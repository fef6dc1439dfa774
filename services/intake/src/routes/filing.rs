//! Filing: the resident's and the operator's JSON endpoints, and the one path every channel
//! files through: photos checked, address routed, household
//! found, the filing's id taken from its idempotency key, then decided in one transaction.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::{Channel, EventMetadata};
use platform::auth::Principal;
use platform::error::ApiError;
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::command_failure;
use crate::Intake;
use crate::complaints::{FilingReceipt, NewFiling};
use crate::domain::complaint::{ComplaintDetails, Contact};
use crate::domain::values::Source;
use crate::input::{self, ComplaintInput, FieldErrors};
use eventstore::personal::{Owner, Personal};

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
        let pseudonyms = &self.pseudonyms;
        let household = match (&s.input.account, &s.input.address, s.position) {
            (Some(account), _, _) => pseudonyms.of_account(account),
            (None, Some(address), _) => pseudonyms.of_address(address),
            (None, None, Some((lat, long))) => pseudonyms.of_position(lat, long),
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
        // The filing's personal data is sealed with a key of its own, stored with its events.
        let resident = matches!(s.source, Source::App | Source::Wechat).then(|| s.filer.clone());
        let (key, data_key) = self.vault.new_key(Owner {
            subject: crate::privacy::subject(id),
            resident,
            household: Some(household.as_str().to_owned()),
        });
        let contact = Contact {
            account: input.account,
            address: input.address,
            position: s.position,
            description: input.description,
            contact_phone: input.contact_phone.map(|p| p.as_str().to_owned()),
            photos: input.photos,
        };
        let filing = NewFiling {
            id,
            fresh: s.idempotency.is_none(),
            details: ComplaintDetails {
                category: input.category,
                priority: input.category.priority(),
                source: s.source,
                household,
                route,
                reading: input.reading,
                personal: Personal::seal(key.id(), &data_key, contact),
                filer: s.filer,
                hotline_work_order: s.work_order,
            },
            key,
            fingerprint: hex::encode(Sha256::digest(&s.request)),
            at: self.now(),
            rate_limited: s.rate_limited,
        };
        self.complaints
            .file(&filing, &s.metadata)
            .await
            .map_err(command_failure)
    }
}

/// A complaint as a resident files it.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct FileComplaint {
    /// `no_heat`, `low_temperature`, `leak`, `noise`, `billing`, `service_attitude`,
    /// `stop_heating` or `refund`.
    #[schema(max_length = 32)]
    category: String,
    /// The heating account number (供热户号); this or `address` is required.
    #[schema(max_length = 40)]
    heating_account: Option<String>,
    /// The address; this or `heating_account` is required.
    #[schema(max_length = 200)]
    address: Option<String>,
    /// The resident's own room reading in ℃ (-40 to 45).
    room_temperature: Option<f64>,
    /// At most 2,000 characters.
    #[schema(max_length = 2000)]
    description: Option<String>,
    /// A phone to call back.
    #[schema(max_length = 32)]
    contact_phone: Option<String>,
    /// Up to 3 ids returned by `POST /api/v1/photos`.
    #[schema(max_items = 3, max_length = 68)]
    photos: Option<Vec<String>>,
}

/// A complaint as a hotline operator files it for a caller.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct FileForCaller {
    /// As for residents.
    #[schema(max_length = 32)]
    category: String,
    /// As for residents.
    #[schema(max_length = 40)]
    heating_account: Option<String>,
    /// As for residents.
    #[schema(max_length = 200)]
    address: Option<String>,
    /// The caller's reading, ℃.
    room_temperature: Option<f64>,
    /// What the caller said.
    #[schema(max_length = 2000)]
    description: Option<String>,
    /// The caller's phone (required).
    #[schema(max_length = 32)]
    caller_phone: String,
}

fn canonical(body: &Map<String, Value>) -> Vec<u8> {
    // serde_json's map is ordered by key: the same fields give the same bytes.
    serde_json::to_vec(body).unwrap_or_default()
}

/// Files a complaint from the resident app or the mini-program (`X-Heatline-Client: wechat`).
#[utoipa::path(
    post, path = "/api/v1/complaints", tag = "complaints",
    request_body = FileComplaint,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key answers as the first request did")),
    responses(
        (status = 201, description = "Accepted as a new complaint", body = FilingResponse),
        (status = 200, description = "Merged into the household's open complaint", body = FilingResponse),
        (status = 400, description = "Malformed JSON or Idempotency-Key"),
        (status = 413, description = "Body over 64 KiB"),
        (status = 422, description = "Bad fields (`invalid_fields`, each listed) or a reused key (`idempotency_key_reused`)"),
        (status = 429, description = "More than 10 complaints in an hour (`too_many_complaints`)"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn file(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let wechat = request
        .headers()
        .get("x-heatline-client")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"wechat"));
    let way = if wechat {
        JsonFiling {
            source: Source::Wechat,
            channel: Channel::Wechat,
            phone_field: "contact_phone",
            phone_required: false,
            rate_limited: true,
        }
    } else {
        JsonFiling {
            source: Source::App,
            channel: Channel::App,
            phone_field: "contact_phone",
            phone_required: false,
            rate_limited: true,
        }
    };
    file_json(&intake, &request, &principal, &body, way).await
}

/// How a JSON channel files.
struct JsonFiling {
    source: Source,
    channel: Channel,
    /// The field with the phone to call back, and whether it is required.
    phone_field: &'static str,
    phone_required: bool,
    /// Whether the hourly limit applies.
    rate_limited: bool,
}

/// Reads, checks and files a JSON complaint; a retry with the filer's `Idempotency-Key`
/// answers as the first request did.
async fn file_json(
    intake: &Intake,
    request: &HttpRequest,
    principal: &Principal,
    body: &Map<String, Value>,
    way: JsonFiling,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(request)?;
    let mut errors = FieldErrors::default();
    let parsed = input::complaint(body, way.phone_field, way.phone_required, &mut errors);
    errors.into_result()?;
    let input = parsed.ok_or_else(|| ApiError::bad_request("invalid_body", "unreadable"))?;
    let scope = format!("{}:{}", principal.role.as_str(), principal.subject);
    let receipt = intake
        .submit(Submission {
            input,
            source: way.source,
            filer: principal.subject.clone(),
            idempotency: key.map(|k| (scope, k)),
            request: canonical(body),
            rate_limited: way.rate_limited,
            work_order: None,
            position: None,
            metadata: metadata(request, actor(principal), way.channel),
        })
        .await?;
    Ok(respond(&receipt))
}

pub(crate) fn respond(receipt: &FilingReceipt) -> HttpResponse {
    let (status, body) = FilingResponse::of(receipt);
    HttpResponse::build(status)
        .insert_header((
            "Location",
            format!("/api/v1/complaints/{}", receipt.complaint_id),
        ))
        .json(body)
}

/// Files a complaint for a caller of the hotline.
#[utoipa::path(
    post, path = "/api/v1/hotline/complaints", tag = "complaints",
    request_body = FileForCaller,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key answers as the first request did")),
    responses(
        (status = 201, description = "Accepted as a new complaint", body = FilingResponse),
        (status = 200, description = "Merged into the household's open complaint", body = FilingResponse),
        (status = 422, description = "Bad fields, each listed"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn file_for_caller(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let way = JsonFiling {
        source: Source::HotlineOperator,
        channel: Channel::Hotline,
        phone_field: "caller_phone",
        phone_required: true,
        rate_limited: false,
    };
    file_json(&intake, &request, &principal, &body, way).await
}
