//! The 12345 platform's work-order push.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::{Actor, Channel};
use platform::error::ApiError;
use platform::request::metadata;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::filing::{Submission, respond};
use crate::Intake;
use crate::domain::values::Source;
use crate::input::{self, FieldErrors};

/// A work order pushed by the platform.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct WorkOrder {
    /// The platform's work-order number: 1 to 64 of letters, digits, `-` and `_`. A second
    /// push of one number answers as the first did.
    #[schema(max_length = 64)]
    work_order_no: String,
    /// One of intake's category codes.
    #[schema(max_length = 32)]
    category: String,
    /// The caller's phone.
    #[schema(max_length = 32)]
    caller_phone: String,
    /// The heating account number, when the caller gave it.
    #[schema(max_length = 40)]
    heating_account: Option<String>,
    /// The address.
    #[schema(max_length = 200)]
    address: Option<String>,
    /// The caller's reading, ℃.
    room_temperature: Option<f64>,
    /// The call's summary.
    #[schema(max_length = 2000)]
    description: Option<String>,
}

fn work_order_no(body: &Map<String, Value>, errors: &mut FieldErrors) -> Option<String> {
    match errors.text(body, "work_order_no", 64) {
        Some(no)
            if no
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(no)
        }
        Some(_) => {
            errors.add(
                "work_order_no",
                "invalid",
                "letters, digits, '-' and '_' only",
            );
            None
        }
        None => {
            if !errors.0.iter().any(|e| e.field == "work_order_no") {
                errors.add(
                    "work_order_no",
                    "required",
                    "the work-order number is required",
                );
            }
            None
        }
    }
}

/// Receives a work order from the 12345 platform (HMAC-signed; see the `hotline` module).
#[utoipa::path(
    post, path = "/api/v1/hotline/12345/work-orders", tag = "12345",
    request_body = WorkOrder,
    params(
        ("X-12345-Timestamp" = String, Header, description = "Unix seconds; at most 5 minutes from our clock"),
        ("X-12345-Signature" = String, Header, description = "hex HMAC-SHA256 of `timestamp \\n body` under the shared secret"),
    ),
    responses(
        (status = 201, description = "Accepted", body = super::filing::FilingResponse),
        (status = 200, description = "Merged into the household's open complaint", body = super::filing::FilingResponse),
        (status = 401, description = "`signature_missing`, `signature_expired` or `signature_invalid`"),
        (status = 422, description = "Bad fields, each listed"),
        (status = 503, description = "`hotline_not_configured`"),
    )
)]
pub(crate) async fn push(
    intake: web::Data<Intake>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(config) = &intake.config.hotline else {
        return Err(ApiError::unavailable(
            "hotline_not_configured",
            "the 12345 platform is not configured on this server",
            3600,
        ));
    };
    let parsed = super::signed_json(
        &request,
        &body,
        &config.secret,
        ("x-12345-timestamp", "x-12345-signature"),
        intake.now(),
        config.max_skew,
    )?;
    let Value::Object(fields) = parsed else {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "the body must be a JSON object",
            Value::Null,
        ));
    };
    let mut errors = FieldErrors::default();
    let number = work_order_no(&fields, &mut errors);
    let complaint = input::complaint(&fields, "caller_phone", true, &mut errors);
    errors.into_result()?;
    let (Some(number), Some(input)) = (number, complaint) else {
        return Err(ApiError::bad_request("invalid_body", "unreadable"));
    };
    let actor = Actor {
        id: "12345".into(),
        role: "platform".into(),
    };
    let receipt = intake
        .submit(Submission {
            input,
            source: Source::HotlinePlatform,
            filer: "platform:12345".into(),
            idempotency: Some(("12345".into(), number.clone())),
            request: serde_json::to_vec(&fields).unwrap_or_default(),
            rate_limited: false,
            work_order: Some(number),
            position: None,
            metadata: metadata(&request, actor, Channel::Hotline),
        })
        .await?;
    Ok(respond(&receipt))
}
