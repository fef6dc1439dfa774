//! A resident's notification settings: channels on or off, subscribe messages granted in the
//! mini-program, and the latest notices with how each was delivered.

use actix_web::{HttpResponse, web};
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::Identity;
use crate::notify::{FAMILIES, prefs};

/// Channels to turn on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct Channels {
    /// WeChat subscribe messages (left as they are when absent).
    wechat: Option<bool>,
    /// SMS (left as it is when absent).
    sms: Option<bool>,
}

/// Subscribe messages the resident accepted in `wx.requestSubscribeMessage`.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct Grant {
    /// `repair`, `refund` or `stop_heating`.
    #[schema(max_length = 16)]
    family: String,
    /// How many were accepted (1 to 10); each allows one message.
    accepted: i64,
}

async fn connection(identity: &Identity) -> Result<deadpool_postgres::Object, ApiError> {
    identity
        .store
        .pool()
        .get()
        .await
        .map_err(|e| ApiError::internal(&e))
}

async fn answer(identity: &Identity, account: &str) -> Result<HttpResponse, ApiError> {
    let client = connection(identity).await?;
    let settings = prefs::settings(&client, account)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(settings))
}

/// The resident's channels, the subscribe messages left per template family and the latest
/// notices with how each went.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "identity",
    responses((status = 200, body = prefs::Settings)),
    security(("bearer" = [])))]
pub(crate) async fn show(
    identity: web::Data<Identity>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    answer(&identity, &principal.subject).await
}

/// Turns WeChat messages or SMS off (or on again).
#[utoipa::path(post, path = "/api/v1/me/notifications/channels", tag = "identity",
    request_body = Channels,
    responses((status = 200, body = prefs::Settings), (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn channels(
    identity: web::Data<Identity>,
    principal: Principal,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let wechat = errors.boolean(&body, "wechat");
    let sms = errors.boolean(&body, "sms");
    errors.into_result()?;
    let client = connection(&identity).await?;
    prefs::set_channels(&client, &principal.subject, wechat, sms, identity.now())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    drop(client);
    answer(&identity, &principal.subject).await
}

/// Records subscribe messages the resident accepted in the mini-program: each lets one
/// message of the family go by WeChat (at most 50 kept).
#[utoipa::path(post, path = "/api/v1/me/notifications/subscriptions", tag = "identity",
    request_body = Grant,
    responses((status = 200, body = prefs::Settings), (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn subscriptions(
    identity: web::Data<Identity>,
    principal: Principal,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let family = errors.one_of(&body, "family", &FAMILIES, true);
    let accepted = match errors.number(&body, "accepted") {
        Some(n) if n.fract() == 0.0 && (1.0..=10.0).contains(&n) => Some(n as i32),
        Some(_) => {
            errors.add("accepted", "out_of_range", "a whole number from 1 to 10");
            None
        }
        None => {
            errors.add("accepted", "required", "accepted is required");
            None
        }
    };
    errors.into_result()?;
    let (Some(family), Some(accepted)) = (family, accepted) else {
        return Err(ApiError::internal(&std::fmt::Error));
    };
    let client = connection(&identity).await?;
    prefs::grant(&client, &principal.subject, family, accepted)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    drop(client);
    answer(&identity, &principal.subject).await
}
