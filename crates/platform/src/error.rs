//! The API error of every service: a status, a stable snake_case `code`, a human `message` and
//! optional `details`, as `{ "code": ..., "message": ..., "details": ... }`.
//!
//! | constructor | status | code |
//! |---|---|---|
//! | [`ApiError::bad_request`] | 400 | given |
//! | [`ApiError::unauthorized`] | 401 + `WWW-Authenticate: Bearer` | `unauthorized` |
//! | [`ApiError::forbidden`] | 403 | `forbidden` |
//! | [`ApiError::not_found`] | 404 | `not_found` |
//! | [`ApiError::conflict`] | 409 | given |
//! | [`ApiError::precondition_failed`] | 412 | `precondition_failed` |
//! | [`ApiError::payload_too_large`] | 413 | `payload_too_large` |
//! | [`ApiError::unsupported_media_type`] | 415 | `unsupported_media_type` |
//! | [`ApiError::unprocessable`] | 422 | given, with the bad fields in `details` |
//! | [`ApiError::too_many_requests`] | 429 + `Retry-After` | `too_many_requests` |
//! | [`ApiError::internal`] | 500 | `internal` (the cause is logged, never shown) |
//! | [`ApiError::unavailable`] | 503 + `Retry-After` | given |

use std::fmt;

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use serde_json::Value;

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    details: Option<Value>,
    retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    /// 400: the request cannot be read.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no credentials, or credentials that do not hold.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated, but not allowed to do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 405: the route exists, the method does not.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
    }

    /// 404: no such resource (or none this caller may see).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 412: the `If-Match` version is not the current one.
    pub fn precondition_failed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            message,
        )
    }

    /// 413: the body is larger than the endpoint accepts.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 415: the body is not of a type the endpoint accepts.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 422: the request is well-formed but some fields are invalid.
    pub fn unprocessable(
        code: impl Into<String>,
        message: impl Into<String>,
        details: Value,
    ) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_details(details)
    }

    /// 429: too many requests; try again after `retry_after_secs`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message);
        error.retry_after_secs = Some(retry_after_secs);
        error
    }

    /// 503: a dependency is unavailable; try again after `retry_after_secs`.
    pub fn unavailable(
        code: impl Into<String>,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        error.retry_after_secs = Some(retry_after_secs);
        error
    }

    /// 500: logs `cause` with its whole chain, once, and answers without it. When the cause is
    /// that PostgreSQL cannot be reached (down, restarting, refusing connections, or the
    /// connection dropped), it is a 503 `database_unavailable` with `Retry-After` instead: the
    /// client should simply try again.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(inner) = source {
            chain.push_str(": ");
            chain.push_str(&inner.to_string());
            source = inner.source();
        }
        if database_unreachable(cause) {
            tracing::warn!(error = %chain, "database unavailable");
            return Self::unavailable(
                "database_unavailable",
                "the database cannot be reached right now; try again shortly",
                5,
            );
        }
        tracing::error!(error = %chain, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// Adds details (for instance the list of invalid fields).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Replaces the code with a more precise one (e.g. `invalid_credentials` for a 401).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(seconds) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(Body {
            code: &self.code,
            message: &self.message,
            details: self.details.as_ref(),
        })
    }
}

/// Whether an error (or any error in its chain) says PostgreSQL cannot be reached: no
/// connection could be had, the connection closed, or the server is shutting down or starting.
pub fn database_unreachable(cause: &(dyn std::error::Error + 'static)) -> bool {
    use deadpool_postgres::PoolError;
    use deadpool_postgres::tokio_postgres::error::SqlState;
    let down = [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::CONNECTION_EXCEPTION,
        SqlState::CONNECTION_FAILURE,
        SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
    ];
    let mut next = Some(cause);
    while let Some(error) = next {
        if let Some(pool) = error.downcast_ref::<PoolError>()
            && matches!(pool, PoolError::Timeout(_) | PoolError::Backend(_))
        {
            return true;
        }
        if let Some(db) = error.downcast_ref::<deadpool_postgres::tokio_postgres::Error>()
            && (db.is_closed() || db.code().is_some_and(|code| down.contains(code)))
        {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// Query-string settings for every route: a query that does not parse (a number out of range,
/// a wrong type) is a 400 `invalid_query` in the error shape, not the framework's plain text.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request: &HttpRequest| {
        ApiError::bad_request(
            "invalid_query",
            format!("the query does not parse: {error}"),
        )
        .into()
    })
}

/// Path settings for every route: a path parameter that does not parse is a 404 in the error
/// shape (no such resource), not the framework's plain text.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_error, _request: &HttpRequest| {
        ApiError::not_found("no such resource").into()
    })
}

/// JSON body settings for every service: a size limit, and bad bodies answered with the error
/// shape above (413 too large, 415 not JSON, 400 malformed, 422 well-formed but wrong fields).
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit_bytes)
        .error_handler(|error, _request: &HttpRequest| json_error(&error).into())
}

fn json_error(error: &JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::payload_too_large(format!("the body is larger than {limit} bytes"))
        }
        JsonPayloadError::ContentType => ApiError::unsupported_media_type(
            "the body must be JSON (Content-Type: application/json)",
        ),
        JsonPayloadError::Deserialize(error) if error.is_data() => ApiError::unprocessable(
            "invalid_body",
            "the body does not have the expected fields",
            serde_json::json!({ "reason": error.to_string() }),
        ),
        JsonPayloadError::Deserialize(error) => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        ),
        _ => ApiError::bad_request("unreadable_body", "the body could not be read"),
    }
}

/// The answer to a path that no route serves (the app's default service): 404 `no_such_path`
/// in the error shape, never an empty body.
pub async fn no_such_path(
    request: actix_web::HttpRequest,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_path",
        format!(
            "nothing is served at {}; the API is listed at /openapi.json",
            request.path()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body(error: ApiError) -> (u16, Value, Option<String>, Option<String>) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (www, retry) = (
            header(header::WWW_AUTHENTICATE),
            header(header::RETRY_AFTER),
        );
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), www, retry)
    }

    #[actix_web::test]
    async fn a_401_challenges_for_a_bearer_token() {
        let (status, json, www, _) = body(ApiError::unauthorized("missing token")).await;
        assert_eq!(status, 401);
        assert_eq!(json["code"], "unauthorized");
        assert_eq!(www.as_deref(), Some("Bearer"));
    }

    #[actix_web::test]
    async fn a_429_says_when_to_retry() {
        let (status, json, _, retry) = body(ApiError::too_many_requests("slow down", 30)).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (429, Some("too_many_requests"))
        );
        assert_eq!(retry.as_deref(), Some("30"));
    }

    #[actix_web::test]
    async fn a_500_does_not_echo_its_cause() {
        let cause = std::io::Error::other("password=hunter2 at db.internal:5432");
        let (status, json, _, _) = body(ApiError::internal(&cause)).await;
        assert_eq!(status, 500);
        assert_eq!(
            json,
            serde_json::json!({ "code": "internal", "message": "internal error" })
        );
    }

    #[actix_web::test]
    async fn an_unreachable_database_is_a_503_to_retry_not_a_500() {
        #[derive(Debug, thiserror::Error)]
        #[error("loading the ticket")]
        struct Loading(#[source] std::io::Error);
        let refused = Loading(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let (status, json, _, retry_after) = body(ApiError::internal(&refused)).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (503, Some("database_unavailable"))
        );
        assert_eq!(retry_after.as_deref(), Some("5"));
        let timeout = deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait);
        assert_eq!(body(ApiError::internal(&timeout)).await.0, 503);
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(body(ApiError::internal(&missing)).await.0, 500);
    }
}
