//! Resident logins: WeChat mini-program and SMS one-time codes; binding a phone through WeChat.

use actix_web::{HttpRequest, HttpResponse, web};
use cqrs_es::AggregateError;
use eventstore::{Actor, Channel};
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::start_session;
use super::{actor, metadata, store_failure};
use crate::Identity;
use crate::domain::account::{AccountCommand, AccountError, ResidentVia, Scope};
use crate::domain::phone::{CodeOutcome, Phone, PhoneCommand, PhoneError};
use crate::sms::PhoneNumber;
use crate::tokens::TokenPair;
use crate::wechat::WechatError;

/// A `wx.login` code.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct WechatLogin {
    /// The code `wx.login` returned in the mini-program.
    #[schema(max_length = 256)]
    code: String,
}

/// A `getPhoneNumber` code.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct WechatPhone {
    /// The code the `getPhoneNumber` button returned.
    #[schema(max_length = 256)]
    code: String,
}

/// A phone to send a code to.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SmsCodeRequest {
    /// A mainland mobile number.
    #[schema(max_length = 32)]
    phone: String,
}

/// An SMS login.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SmsLogin {
    /// The number the code was sent to.
    #[schema(max_length = 32)]
    phone: String,
    /// The six digits.
    #[schema(max_length = 16)]
    code: String,
}

fn wechat_refusal(error: WechatError) -> ApiError {
    match error {
        WechatError::InvalidCode(_) => {
            ApiError::unauthorized("the WeChat login code is invalid, expired or already used")
                .with_code("wechat_code_invalid")
        }
        WechatError::RateLimited => {
            ApiError::too_many_requests("WeChat is rate limiting logins; try again in a minute", 60)
                .with_code("wechat_rate_limited")
        }
        WechatError::RiskyUser => ApiError::forbidden("WeChat refuses to log this user in")
            .with_code("wechat_user_refused"),
        WechatError::Unavailable(reason) => {
            tracing::warn!(%reason, "WeChat unavailable");
            ApiError::unavailable(
                "wechat_unavailable",
                "WeChat cannot be reached; try again shortly",
                5,
            )
        }
        WechatError::Other { code, message } => {
            tracing::error!(wechat.errcode = code, %message, "WeChat refused our request");
            ApiError::unavailable(
                "wechat_error",
                "WeChat login is failing; try again later",
                30,
            )
        }
    }
}

/// Before an SMS login, the caller is known only by the number they typed: recorded as the
/// number's keyed stream id, never as digits (even masked, 7 of 11 digits would outlive an
/// erasure).
fn caller_by_phone(identity: &Identity, phone: &PhoneNumber) -> Actor {
    Actor {
        id: phone_id(identity, phone),
        role: "anonymous".into(),
    }
}

fn resident_actor(account_id: &str) -> Actor {
    actor(account_id, Role::Resident)
}

/// Creates the resident's account on first login, then records the login and starts a session.
async fn resident_session(
    identity: &Identity,
    request: &HttpRequest,
    account_id: &str,
    via: ResidentVia,
    channel: Channel,
) -> Result<TokenPair, ApiError> {
    let now = identity.now();
    let meta = metadata(request, resident_actor(account_id), channel);
    let register = AccountCommand::RegisterResident { via, at: now };
    match identity.accounts.execute(account_id, register, &meta).await {
        // Already there, or created a moment ago by a racing first login: either way it exists.
        Ok(_)
        | Err(AggregateError::UserError(AccountError::AlreadyExists))
        | Err(AggregateError::AggregateConflict) => {}
        Err(other) => return Err(store_failure(other)),
    }
    identity
        .accounts
        .execute(
            account_id,
            AccountCommand::RecordResidentLogin { at: now },
            &meta,
        )
        .await
        .map_err(store_failure)?;
    let actor = resident_actor(account_id);
    start_session(
        identity,
        request,
        account_id,
        Role::Resident,
        Scope::default(),
        actor,
        channel,
    )
    .await
}

/// Logs a resident in from the WeChat mini-program; the first login creates the account.
#[utoipa::path(
    post,
    path = "/api/v1/auth/wechat",
    tag = "identity",
    request_body = WechatLogin,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "`wechat_code_invalid`: WeChat 40029 or 40163 (invalid, expired, replayed)"),
        (status = 403, description = "`wechat_user_refused`: WeChat 40226 (risky user)"),
        (status = 429, description = "`wechat_rate_limited`: WeChat 45011; see Retry-After"),
        (status = 503, description = "`wechat_unavailable` (WeChat -1 or unreachable) or `wechat_not_configured`; see Retry-After"),
    )
)]
pub(crate) async fn wechat_login(
    request: HttpRequest,
    identity: web::Data<Identity>,
    body: web::Json<WechatLogin>,
) -> Result<HttpResponse, ApiError> {
    let wechat = identity
        .wechat
        .as_ref()
        .ok_or_else(not_configured("wechat"))?;
    let code = body.into_inner().code;
    if code.is_empty() || code.len() > 256 {
        return Err(ApiError::unauthorized("the WeChat login code is invalid")
            .with_code("wechat_code_invalid"));
    }
    let openid = wechat.openid(&code).await.map_err(wechat_refusal)?;
    let account_id = identity.resident_id("wechat", &openid);
    let openid = identity
        .seal_for(&account_id, openid)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    identity
        .remember_contact(&account_id, Some(&openid), None)
        .await;
    let pair = resident_session(
        &identity,
        &request,
        &account_id,
        ResidentVia::Wechat { openid },
        Channel::Wechat,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Binds the phone number the resident shared with WeChat's `getPhoneNumber` button.
#[utoipa::path(
    post,
    path = "/api/v1/auth/wechat/phone",
    tag = "identity",
    security(("bearer" = [])),
    request_body = WechatPhone,
    responses(
        (status = 200, description = "Bound; the body shows the number masked"),
        (status = 401, description = "`unauthorized` or `wechat_code_invalid`"),
        (status = 403, description = "`forbidden`: not a resident"),
        (status = 503, description = "`wechat_unavailable`"),
    )
)]
pub(crate) async fn wechat_phone(
    request: HttpRequest,
    identity: web::Data<Identity>,
    principal: Principal,
    body: web::Json<WechatPhone>,
) -> Result<HttpResponse, ApiError> {
    let wechat = identity
        .wechat
        .as_ref()
        .ok_or_else(not_configured("wechat"))?;
    let raw = wechat
        .phone_number(&body.code)
        .await
        .map_err(wechat_refusal)?;
    let phone = PhoneNumber::parse(&raw).ok_or_else(|| {
        ApiError::unprocessable(
            "unsupported_phone",
            "only mainland China mobile numbers can be bound",
            serde_json::json!({ "fields": { "code": "the number behind it is not a mainland mobile number" } }),
        )
    })?;
    let now = identity.now();
    let meta = metadata(
        &request,
        resident_actor(&principal.subject),
        Channel::Wechat,
    );
    let sealed = identity
        .seal_for(&principal.subject, phone.as_str().to_owned())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    identity
        .remember_contact(&principal.subject, None, Some(&sealed))
        .await;
    let bind = AccountCommand::BindPhone {
        phone: sealed,
        at: now,
    };
    identity
        .accounts
        .execute(&principal.subject, bind, &meta)
        .await
        .map_err(store_failure)?;
    let link = PhoneCommand::Link {
        account_id: principal.subject.clone(),
        at: now,
    };
    identity
        .phones
        .execute(&phone_id(&identity, &phone), link, &meta)
        .await
        .map_err(store_failure)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "phone": phone.masked() })))
}

fn phone_id(identity: &Identity, phone: &PhoneNumber) -> String {
    identity.resident_id("phone-codes", phone.as_str())
}

fn invalid_phone() -> ApiError {
    ApiError::unprocessable(
        "invalid_phone",
        "the phone must be a mainland China mobile number",
        serde_json::json!({ "fields": { "phone": "11 digits starting with 13 to 19" } }),
    )
}

fn not_configured(what: &'static str) -> impl FnOnce() -> ApiError {
    // Say which settings turn it on: the operator reading the answer is setting the server up.
    let settings = match what {
        "wechat" => {
            "--wechat-appid and --wechat-secret (HEATLINE_WECHAT_APPID, HEATLINE_WECHAT_SECRET)"
        }
        _ => "--sms-url (HEATLINE_SMS_URL)",
    };
    move || {
        ApiError::unavailable(
            format!("{what}_not_configured"),
            format!("{what} login is not configured on this server; set {settings}"),
            3600,
        )
    }
}

/// Sends a six-digit login code by SMS (one a minute per number; valid five minutes).
#[utoipa::path(
    post,
    path = "/api/v1/auth/sms/code",
    tag = "identity",
    request_body = SmsCodeRequest,
    responses(
        (status = 202, description = "Sent; the body says how long it is valid"),
        (status = 422, description = "`invalid_phone`"),
        (status = 429, description = "`too_many_requests`: a code was sent less than a minute ago; see Retry-After"),
        (status = 503, description = "`sms_unavailable` or `sms_not_configured`"),
    )
)]
pub(crate) async fn sms_code(
    request: HttpRequest,
    identity: web::Data<Identity>,
    body: web::Json<SmsCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let gateway = identity.sms.as_ref().ok_or_else(not_configured("sms"))?;
    let phone = PhoneNumber::parse(&body.phone).ok_or_else(invalid_phone)?;
    let id = phone_id(&identity, &phone);
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let salt = uuid::Uuid::new_v4().simple().to_string();
    let now = identity.now();
    let meta = metadata(&request, caller_by_phone(&identity, &phone), Channel::App);
    let issue = PhoneCommand::IssueCode {
        code: code.clone(),
        salt,
        at: now,
    };
    match identity.phones.execute(&id, issue, &meta).await {
        Ok(_) => {}
        Err(AggregateError::UserError(PhoneError::TooSoon(wait))) => {
            return Err(ApiError::too_many_requests(
                "a code was sent less than a minute ago",
                wait.max(1) as u64,
            ));
        }
        Err(AggregateError::AggregateConflict) => {
            return Err(ApiError::too_many_requests("a code is being sent", 60));
        }
        Err(other) => return Err(store_failure(other)),
    }
    if let Err(reason) = gateway.send_code(&phone, &code).await {
        tracing::warn!(phone = %phone.masked(), %reason, "SMS gateway refused a login code");
        identity
            .phones
            .execute(
                &id,
                PhoneCommand::DeliveryFailed { at: identity.now() },
                &meta,
            )
            .await
            .map_err(store_failure)?;
        return Err(ApiError::unavailable(
            "sms_unavailable",
            "the code could not be sent; try again shortly",
            10,
        ));
    }
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "expires_in": 300, "resend_after": 60 })))
}

/// Logs a resident in with an SMS code; the first login creates the account (or logs into the
/// WeChat account the number was bound to).
#[utoipa::path(
    post,
    path = "/api/v1/auth/sms/login",
    tag = "identity",
    request_body = SmsLogin,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "`sms_code_invalid`: wrong, expired, used, or five wrong tries already"),
        (status = 422, description = "`invalid_phone`"),
    )
)]
pub(crate) async fn sms_login(
    request: HttpRequest,
    identity: web::Data<Identity>,
    body: web::Json<SmsLogin>,
) -> Result<HttpResponse, ApiError> {
    let SmsLogin { phone, code } = body.into_inner();
    let phone = PhoneNumber::parse(&phone).ok_or_else(invalid_phone)?;
    let refused = || {
        ApiError::unauthorized("the code is wrong or no longer valid").with_code("sms_code_invalid")
    };
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(refused());
    }
    let id = phone_id(&identity, &phone);
    let context = identity
        .store
        .load::<Phone>(&id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let now = identity.now();
    let outcome = context.state().code_outcome(&code, now);
    let linked = context.state().linked_account().map(str::to_owned);
    let meta = metadata(&request, caller_by_phone(&identity, &phone), Channel::App);
    match identity
        .phones
        .execute(&id, PhoneCommand::TryCode { code, at: now }, &meta)
        .await
    {
        Ok(_) if outcome == CodeOutcome::Accepted => {}
        Ok(_)
        | Err(AggregateError::UserError(PhoneError::NoLiveCode))
        | Err(AggregateError::AggregateConflict) => {
            return Err(refused());
        }
        Err(other) => return Err(store_failure(other)),
    }
    let account_id = linked.unwrap_or_else(|| identity.resident_id("phone", phone.as_str()));
    let sealed = identity
        .seal_for(&account_id, phone.as_str().to_owned())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    identity
        .remember_contact(&account_id, None, Some(&sealed))
        .await;
    let via = ResidentVia::Phone { phone: sealed };
    let pair = resident_session(&identity, &request, &account_id, via, Channel::App).await?;
    Ok(HttpResponse::Ok().json(pair))
}
