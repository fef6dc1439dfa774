//! What a request says about itself, for the metadata of the events it causes.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use tracing::Instrument;

/// The id [`tag`] gave the request.
#[derive(Debug, Clone)]
struct RequestId(String);

fn from_header(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
}

/// The request's id: the one [`tag`] gave it, else the client's or gateway's `X-Request-Id`
/// when it is a sane token (1 to 128 visible ASCII characters), else a new UUIDv7.
pub fn request_id(request: &HttpRequest) -> String {
    if let Some(RequestId(id)) = request.extensions().get::<RequestId>() {
        return id.clone();
    }
    from_header(request.headers()).unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Middleware (`App::wrap(from_fn(request::tag))`): gives every request one id (the
/// `X-Request-Id` it came with, or a new one), runs it inside a `request` span carrying that id
/// (so every log line it causes names it), answers it in `X-Request-Id`, and logs the request
/// once when it fails. The same id goes into the metadata of the events it causes.
pub async fn tag(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = from_header(request.headers()).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request.id = %id,
        http.method = %request.method(),
        http.route = %request.match_pattern().unwrap_or_default(),
    );
    let mut response = next.call(request).instrument(span.clone()).await?;
    let status = response.status();
    if status.is_server_error() {
        span.in_scope(|| tracing::warn!(http.status = status.as_u16(), "request failed"));
    } else {
        span.in_scope(|| tracing::debug!(http.status = status.as_u16(), "request answered"));
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// The metadata of a command issued by this request on behalf of `actor`.
pub fn metadata(
    request: &HttpRequest,
    actor: eventstore::Actor,
    channel: eventstore::Channel,
) -> eventstore::EventMetadata {
    eventstore::EventMetadata::new(actor, channel).with_request_id(request_id(request))
}

/// The actor a verified principal is in the events it causes.
pub fn actor(principal: &crate::auth::Principal) -> eventstore::Actor {
    eventstore::Actor {
        id: principal.subject.clone(),
        role: principal.role.as_str().to_owned(),
    }
}
