//! Sensor platforms push readings in bulk, signed as the 12345 platform signs its pushes.

use actix_web::{HttpRequest, HttpResponse, web};
use platform::error::ApiError;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::Intake;
use crate::readings::{Outcome, parse};

/// The largest push: 10,000 station readings with room to spare.
pub const READINGS_LIMIT: usize = 4 * 1024 * 1024;

pub(crate) fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(READINGS_LIMIT)
}

/// A push of readings.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read reading by reading so one bad reading drops alone"
)]
pub(crate) struct Push {
    /// Up to 10,000 readings (more are refused whole): `{"sensor_id", "at" (RFC 3339),
    /// "celsius"}` from a room or building sensor, `{"sensor_id", "at", "supply_c",
    /// "return_c", "pressure_kpa", "flow_m3h"}` from a station.
    #[schema(max_items = 10000)]
    readings: Vec<Value>,
}

/// Takes in a batch of readings. Each reading is stored or dropped on its own, and the answer
/// counts both; a reading sent again is dropped as `duplicate`, so a push may be retried whole.
#[utoipa::path(
    post, path = "/api/v1/sensors/readings", tag = "sensors",
    request_body = Push,
    params(
        ("X-Heatline-Timestamp" = String, Header, description = "Unix seconds; at most 5 minutes from our clock"),
        ("X-Heatline-Signature" = String, Header, description = "hex HMAC-SHA256 of `timestamp \\n body` under the shared secret"),
    ),
    responses(
        (status = 200, description = "Stored and dropped, by reason", body = Outcome),
        (status = 400, description = "`malformed_json`"),
        (status = 401, description = "`signature_missing`, `signature_expired` or `signature_invalid`"),
        (status = 413, description = "The body over 4 MiB"),
        (status = 422, description = "`invalid_body`: not an object with a `readings` array; `invalid_fields`: more than 10,000 readings"),
        (status = 503, description = "`sensors_not_configured`"),
    )
)]
pub(crate) async fn push(
    intake: web::Data<Intake>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let config = &intake.config.readings;
    let Some(secret) = &config.secret else {
        return Err(ApiError::unavailable(
            "sensors_not_configured",
            "sensor pushes are not configured on this server",
            3600,
        ));
    };
    let parsed = super::signed_json(
        &request,
        &body,
        secret,
        ("x-heatline-timestamp", "x-heatline-signature"),
        intake.now(),
        config.max_skew,
    )?;
    let Some(items) = parsed.get("readings").and_then(Value::as_array) else {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "the body must be an object with a readings array",
            Value::Null,
        ));
    };
    let outcome = intake
        .ingest_readings(items.iter().map(parse).collect())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// The sensors that sent nothing for the silent hours (`HEATLINE_SENSOR_SILENT_HOURS`), longest
/// silent first, at most 500: a home or station behind one of them is not watched. A district
/// dispatcher sees their district's, a supplier's staff their supplier's.
#[utoipa::path(
    get, path = "/api/v1/sensors/silent", tag = "sensors",
    responses((status = 200, body = [crate::silence::SilentSensor])),
    security(("bearer" = []))
)]
pub(crate) async fn silent(
    intake: web::Data<Intake>,
    principal: platform::auth::Principal,
) -> Result<HttpResponse, ApiError> {
    let found = intake
        .silent_sensors(principal.district.as_deref(), principal.supplier.as_deref())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(found))
}
