//! `heatline serve --sandbox`: resident logins to try on one machine, without WeChat or an SMS
//! gateway. It serves stand-ins for both on a loopback port, and identity calls them over HTTP
//! exactly as it calls the real ones: a WeChat login code `sandbox-<name>` logs in the resident
//! `sandbox-<name>`, a phone code `sandbox-<digits>` binds that number, and an SMS login code,
//! a subscribe message or an SMS notice is written to the log instead of being sent. Refused
//! unless the server itself listens on a loopback address: a sandbox must never face the public.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::json;

/// The stand-ins' base URL and the handle that stops them.
pub struct Sandbox {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Stops the stand-ins.
    pub handle: actix_web::dev::ServerHandle,
}

/// A sandbox name: 1 to 64 of a-z, 0-9, `.`, `_`, `-`.
fn sandbox_name(code: &str) -> Option<&str> {
    let name = code.strip_prefix("sandbox-")?;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    valid.then_some(name)
}

fn invalid_code() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "errcode": 40029,
        "errmsg": "invalid code: sandbox codes are sandbox-<name>",
    }))
}

#[derive(Deserialize)]
struct LoginQuery {
    js_code: String,
}

/// `jscode2session`: `sandbox-<name>` is the user `sandbox-<name>`.
async fn jscode2session(query: web::Query<LoginQuery>) -> HttpResponse {
    match sandbox_name(&query.js_code) {
        Some(name) => HttpResponse::Ok().json(json!({
            "errcode": 0,
            "openid": format!("sandbox-{name}"),
            "session_key": "sandbox",
        })),
        None => invalid_code(),
    }
}

async fn token() -> HttpResponse {
    HttpResponse::Ok().json(json!({"errcode": 0, "access_token": "sandbox", "expires_in": 7200}))
}

#[derive(Deserialize)]
struct PhoneCode {
    code: String,
}

/// `getuserphonenumber`: `sandbox-<digits>` is that number.
async fn phone_number(body: web::Json<PhoneCode>) -> HttpResponse {
    match sandbox_name(&body.code).filter(|n| n.bytes().all(|b| b.is_ascii_digit())) {
        Some(digits) => HttpResponse::Ok().json(json!({
            "errcode": 0,
            "phone_info": {"purePhoneNumber": digits},
        })),
        None => invalid_code(),
    }
}

#[derive(Deserialize)]
struct SubscribeMessage {
    touser: String,
    template_id: String,
    page: String,
    data: serde_json::Value,
}

/// `message/subscribe/send`: the message goes to the log.
async fn subscribe_send(body: web::Json<SubscribeMessage>) -> HttpResponse {
    tracing::info!(
        touser = %body.touser,
        template = %body.template_id,
        page = %body.page,
        data = %body.data,
        "sandbox WeChat: a subscribe message"
    );
    HttpResponse::Ok().json(json!({"errcode": 0, "errmsg": "ok"}))
}

#[derive(Deserialize)]
struct Sms {
    phone: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// The SMS gateway: a login code or a notice goes to the log.
async fn sms(body: web::Json<Sms>) -> HttpResponse {
    match (&body.code, &body.text) {
        (Some(code), _) => {
            tracing::info!(phone = %body.phone, %code, "sandbox SMS: the login code");
        }
        (None, Some(text)) => tracing::info!(phone = %body.phone, %text, "sandbox SMS: a notice"),
        (None, None) => {
            return HttpResponse::BadRequest().json(json!({"error": "a code or a text"}));
        }
    }
    HttpResponse::Ok().json(json!({"accepted": true}))
}

/// Starts the stand-ins on a free loopback port.
pub fn start() -> anyhow::Result<Sandbox> {
    let server = HttpServer::new(|| {
        App::new()
            .route("/sns/jscode2session", web::get().to(jscode2session))
            .route("/cgi-bin/token", web::get().to(token))
            .route(
                "/wxa/business/getuserphonenumber",
                web::post().to(phone_number),
            )
            .route(
                "/cgi-bin/message/subscribe/send",
                web::post().to(subscribe_send),
            )
            .route("/sms", web::post().to(sms))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")?;
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(Sandbox {
        url: format!("http://{address}"),
        handle,
    })
}

/// The identity settings that send WeChat and SMS logins, subscribe messages (a template per
/// family, named `sandbox-<family>`) and SMS notices to the stand-ins at `url`.
pub fn identity_config(url: &str) -> identity::IdentityConfig {
    let templates = identity::notify::FAMILIES
        .iter()
        .map(|f| ((*f).to_owned(), format!("sandbox-{f}")))
        .collect();
    identity::IdentityConfig {
        wechat: Some(identity::wechat::WechatConfig {
            base_url: url.to_owned(),
            appid: "sandbox".into(),
            secret: "sandbox".into(),
        }),
        sms_url: Some(format!("{url}/sms")),
        notify: identity::notify::NotifyConfig {
            templates,
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::sandbox_name;

    #[test]
    fn sandbox_codes_name_their_resident() {
        assert_eq!(sandbox_name("sandbox-li.ming"), Some("li.ming"));
        assert_eq!(sandbox_name("sandbox-"), None);
        assert_eq!(sandbox_name("sandbox-Li"), None);
        assert_eq!(sandbox_name("081abc"), None);
    }
}
