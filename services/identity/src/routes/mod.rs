//! Identity's HTTP API; the route table is here.

pub(crate) mod auth;
pub(crate) mod jwks;
pub(crate) mod notifications;
pub(crate) mod resident;
pub(crate) mod staff;

use actix_web::{HttpRequest, web};
use cqrs_es::AggregateError;
use eventstore::{Actor, Channel, EventMetadata};
use platform::auth::Role;
use platform::error::ApiError;

use crate::Identity;

pub(crate) use auth::{ChangePassword, Login, Refresh};
pub(crate) use resident::{SmsCodeRequest, SmsLogin, WechatLogin, WechatPhone};
pub(crate) use staff::CreateStaff;

pub(crate) fn configure(cfg: &mut web::ServiceConfig, identity: web::Data<Identity>) {
    cfg.app_data(identity)
        .app_data(platform::error::json_config(16 * 1024))
        .route("/.well-known/jwks.json", web::get().to(jwks::jwks))
        .route("/api/v1/auth/login", web::post().to(auth::login))
        .route("/api/v1/auth/refresh", web::post().to(auth::refresh))
        .route("/api/v1/auth/logout", web::post().to(auth::logout))
        .route(
            "/api/v1/auth/password",
            web::post().to(auth::change_password),
        )
        .route(
            "/api/v1/auth/wechat",
            web::post().to(resident::wechat_login),
        )
        .route(
            "/api/v1/auth/wechat/phone",
            web::post().to(resident::wechat_phone),
        )
        .route("/api/v1/auth/sms/code", web::post().to(resident::sms_code))
        .route(
            "/api/v1/auth/sms/login",
            web::post().to(resident::sms_login),
        )
        .route("/api/v1/staff", web::post().to(staff::create))
        .route("/api/v1/staff", web::get().to(staff::list))
        .route(
            "/api/v1/me/notifications",
            web::get().to(notifications::show),
        )
        .route(
            "/api/v1/me/notifications/channels",
            web::post().to(notifications::channels),
        )
        .route(
            "/api/v1/me/notifications/subscriptions",
            web::post().to(notifications::subscriptions),
        );
}

/// The actor an account is in the events it causes.
fn actor(account_id: &str, role: Role) -> Actor {
    Actor {
        id: account_id.to_owned(),
        role: role.as_str().to_owned(),
    }
}

/// The metadata of a command issued by this request.
fn metadata(request: &HttpRequest, actor: Actor, channel: Channel) -> EventMetadata {
    platform::request::metadata(request, actor, channel)
}

/// Store failures and lost races, for commands whose own refusals were handled already.
fn store_failure<E: std::error::Error + 'static>(error: AggregateError<E>) -> ApiError {
    match error {
        AggregateError::AggregateConflict => {
            ApiError::conflict("conflict", "the account changed meanwhile; try again")
        }
        // cqrs-es keeps the store's error without its chain: hand over the error itself, so an
        // unreachable database is told apart (503) from a failure (500).
        AggregateError::DatabaseConnectionError(cause)
        | AggregateError::DeserializationError(cause)
        | AggregateError::UnexpectedError(cause) => ApiError::internal(&*cause),
        other => ApiError::internal(&other),
    }
}
