//! What a request says about itself, for the metadata of the events it causes.

use actix_web::HttpRequest;

/// The request's id: the client's or gateway's `X-Request-Id` when it is a sane token (1 to
/// 128 visible ASCII characters), else a new UUIDv7.
pub fn request_id(request: &HttpRequest) -> String {
    request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
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
