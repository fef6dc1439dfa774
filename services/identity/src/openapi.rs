//! Identity's OpenAPI document (checked in as `openapi/identity.json`).

use platform::openapi::BearerScheme;
use utoipa::OpenApi;

use crate::routes;
use crate::tokens::TokenPair;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Heatline identity", description = "Logins, sessions and access tokens."),
    paths(
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::change_password,
        routes::resident::wechat_login,
        routes::resident::wechat_phone,
        routes::resident::sms_code,
        routes::resident::sms_login,
        routes::staff::create,
        routes::staff::list,
        routes::jwks::jwks,
        routes::notifications::show,
        routes::notifications::channels,
        routes::notifications::subscriptions,
    ),
    components(schemas(
        TokenPair,
        routes::Login,
        routes::Refresh,
        routes::ChangePassword,
        routes::CreateStaff,
        crate::StaffView,
        routes::WechatLogin,
        routes::WechatPhone,
        routes::SmsCodeRequest,
        routes::SmsLogin,
        routes::notifications::Channels,
        routes::notifications::Grant,
        crate::notify::prefs::Settings,
        crate::notify::prefs::NoticeView,
    )),
    modifiers(&BearerScheme),
    tags((name = "identity", description = "Accounts, logins and tokens"))
)]
pub struct IdentityApi;

/// The document as pretty JSON, as checked in.
pub fn document() -> String {
    IdentityApi::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}
