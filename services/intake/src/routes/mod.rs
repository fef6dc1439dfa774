//! Intake's HTTP API; the route table is here.

pub(crate) mod complaints;
pub(crate) mod contact;
pub(crate) mod erasure;
pub(crate) mod filing;
pub(crate) mod photos;
pub(crate) mod platform12345;
pub(crate) mod readings;
pub(crate) mod stop_heating;
pub(crate) mod supply;

use actix_web::web;
use platform::error::ApiError;

use crate::Intake;
use crate::complaints::CommandError;
use crate::domain::complaint::ComplaintError;

/// A platform's signed push, read: the HMAC of the timestamp and body under `secret` checked
/// from the headers `names` (timestamp, signature) within `max_skew` of now, then the body
/// parsed as JSON. Each failure is its stable error (`signature_missing`, `signature_expired`,
/// `signature_invalid`, `malformed_json`).
pub(crate) fn signed_json(
    request: &actix_web::HttpRequest,
    body: &[u8],
    secret: &str,
    names: (&str, &str),
    now: chrono::DateTime<chrono::Utc>,
    max_skew: chrono::Duration,
) -> Result<serde_json::Value, ApiError> {
    use crate::hotline::{SignatureError, verify};
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    verify(
        secret,
        header(names.0),
        header(names.1),
        body,
        now,
        max_skew,
    )
    .map_err(|error| {
        let code = match error {
            SignatureError::Missing => "signature_missing",
            SignatureError::Expired => "signature_expired",
            SignatureError::Invalid => "signature_invalid",
        };
        ApiError::unauthorized(error.to_string()).with_code(code)
    })?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })
}

/// The largest JSON body of a complaint (a description is at most 2,000 characters).
pub(crate) const JSON_LIMIT: usize = 64 * 1024;

pub(crate) fn configure(cfg: &mut web::ServiceConfig, intake: web::Data<Intake>) {
    cfg.app_data(intake)
        .app_data(platform::error::json_config(JSON_LIMIT))
        .route("/api/v1/complaints", web::post().to(filing::file))
        .route("/api/v1/complaints", web::get().to(complaints::mine))
        .route(
            "/api/v1/complaints/search",
            web::get().to(complaints::search),
        )
        .route(
            "/api/v1/complaints/unrouted",
            web::get().to(complaints::unrouted),
        )
        .route("/api/v1/complaints/{id}", web::get().to(complaints::one))
        .route(
            "/api/v1/complaints/{id}/temperatures",
            web::get().to(complaints::temperatures),
        )
        .route(
            "/api/v1/complaints/{id}/withdraw",
            web::post().to(complaints::withdraw),
        )
        .route(
            "/api/v1/complaints/{id}/reject",
            web::post().to(complaints::reject),
        )
        .route(
            "/api/v1/complaints/{id}/route",
            web::post().to(complaints::route),
        )
        .route(
            "/api/v1/complaints/{id}/contact",
            web::post().to(contact::reveal),
        )
        .route("/api/v1/contact-reveals", web::get().to(contact::reveals))
        .route("/api/v1/buildings", web::get().to(complaints::buildings))
        .route(
            "/api/v1/me/stop-heating-applications",
            web::post().to(stop_heating::apply),
        )
        .route(
            "/api/v1/me/stop-heating-applications",
            web::get().to(stop_heating::mine),
        )
        .route("/api/v1/privacy/erasures", web::post().to(erasure::erase))
        .route("/api/v1/privacy/erasures", web::get().to(erasure::list))
        .route(
            "/api/v1/hotline/complaints",
            web::post().to(filing::file_for_caller),
        )
        .route(
            "/api/v1/hotline/12345/work-orders",
            web::post().to(platform12345::push),
        )
        .service(
            web::resource("/api/v1/sensors/readings")
                .app_data(readings::payload_config())
                .route(web::post().to(readings::push)),
        )
        .route("/api/v1/sensors/silent", web::get().to(readings::silent))
        .route("/api/v1/supply-alerts", web::get().to(supply::list))
        .route(
            "/api/v1/supply-alerts/{id}/confirm",
            web::post().to(supply::confirm),
        )
        .route(
            "/api/v1/supply-alerts/{id}/dismiss",
            web::post().to(supply::dismiss),
        )
        .service(
            web::resource("/api/v1/photos")
                .app_data(photos::payload_config())
                .route(web::post().to(photos::upload)),
        )
        .route("/api/v1/photos/{id}", web::get().to(photos::download))
        .configure(crate::open311::configure);
}

/// A command's failure as the API answers it.
pub(crate) fn command_failure(error: CommandError) -> ApiError {
    match error {
        CommandError::Refused(refusal) => match refusal {
            ComplaintError::NotFiled => ApiError::not_found("no such complaint"),
            ComplaintError::AlreadySigned => ApiError::conflict(
                "complaint_signed",
                "the complaint has been signed for; it is a repair ticket now",
            ),
            ComplaintError::NotOpen(_) => {
                ApiError::conflict("complaint_closed", "the complaint is no longer open")
            }
            ComplaintError::AlreadyRouted => {
                ApiError::conflict("already_routed", "the complaint is routed already")
            }
            ComplaintError::AlreadyFiled => {
                ApiError::conflict("already_filed", "the complaint was filed already")
            }
            ComplaintError::ReasonRequired => ApiError::unprocessable(
                "invalid_fields",
                "a reason is required",
                serde_json::json!([{"field": "reason", "code": "required", "message": "a reason is required"}]),
            ),
        },
        CommandError::KeyReused => ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
            serde_json::Value::Null,
        ),
        CommandError::TooMany { retry_after } => ApiError::too_many_requests(
            "more than the allowed complaints in one hour; try again later",
            retry_after,
        )
        .with_code("too_many_complaints"),
        CommandError::Contended => {
            ApiError::conflict("conflict", "the complaint changed meanwhile; try again")
        }
        CommandError::Store(e) => ApiError::internal(&e),
        CommandError::Append(e) => ApiError::internal(&e),
    }
}
