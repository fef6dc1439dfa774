//! Outside parties as real HTTP servers on a free loopback port, for tests.
//!
//! - [`FakeWechat`]: `GET /sns/jscode2session`, `GET /cgi-bin/token` and
//!   `POST /wxa/business/getuserphonenumber`, answering as WeChat does.
//! - [`FakeSms`]: an SMS gateway that records what it was asked to send, and can be told to fail.
//! - [`FakeHotline`]: the 12345 platform, recording the status updates it is sent; can go down.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// A running fake; stopped when dropped.
struct Running {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Running {
    fn start<F, T>(factory: F) -> Running
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: actix_web::dev::ServiceFactory<
                actix_web::dev::ServiceRequest,
                Config = (),
                Response = actix_web::dev::ServiceResponse,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
    {
        let (base, handle) = serve(factory);
        Running { base, handle }
    }
}

/// Serves the app `factory` builds on a free loopback port with one worker, on the current
/// runtime. Returns its base URL and a handle to stop it.
pub fn serve<F, T, B>(factory: F) -> (String, actix_web::dev::ServerHandle)
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    B: actix_web::body::MessageBody + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
{
    let server = HttpServer::new(factory)
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("a free loopback port");
    let base = format!("http://{}", server.addrs()[0]);
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);
    (base, handle)
}

impl Drop for Running {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(tokio::spawn(async move { handle.stop(false).await }));
    }
}

/// What the fake WeChat knows.
#[derive(Default)]
struct WechatState {
    /// `wx.login` codes and the openid each stands for.
    codes: HashMap<String, String>,
    /// Codes already exchanged (WeChat answers 40163 when one comes back).
    used: HashSet<String>,
    /// `getPhoneNumber` codes and the phone each stands for.
    phone_codes: HashMap<String, String>,
    /// Calls received, by path.
    calls: Vec<String>,
    /// Subscribe messages accepted, as sent.
    messages: Vec<Value>,
    /// The errcodes the next subscribe messages are answered with, in turn (then 0).
    answers: std::collections::VecDeque<i64>,
    /// Whether subscribe messages are answered HTTP 503.
    down: bool,
}

/// A fake of WeChat's server API.
///
/// Codes registered with [`FakeWechat::code`] exchange once for their openid. These codes
/// answer WeChat's errors: `invalid` 40029, `limited` 45011, `risky` 40226, `busy` -1.
/// Subscribe messages are accepted and kept ([`FakeWechat::messages`]) unless an errcode was
/// queued with [`FakeWechat::answer_next`] or the fake was taken down.
pub struct FakeWechat {
    running: Running,
    state: Arc<Mutex<WechatState>>,
}

/// The app id and secret the fake expects.
pub const WECHAT_APPID: &str = "wx-heatline-test";
/// The secret the fake expects.
pub const WECHAT_SECRET: &str = "wechat-test-secret";

#[derive(Deserialize)]
struct Jscode2session {
    appid: String,
    secret: String,
    js_code: String,
    grant_type: String,
}

#[derive(Deserialize)]
struct TokenQuery {
    appid: String,
    secret: String,
}

#[derive(Deserialize)]
struct PhoneQuery {
    access_token: String,
}

const ACCESS_TOKEN: &str = "fake-access-token";

fn wechat_error(code: i64, message: &str) -> HttpResponse {
    // WeChat answers errors with HTTP 200 and an errcode.
    HttpResponse::Ok().json(json!({ "errcode": code, "errmsg": message }))
}

impl FakeWechat {
    /// Starts the fake.
    pub fn start() -> FakeWechat {
        let state = Arc::new(Mutex::new(WechatState::default()));
        let shared = web::Data::from(state.clone());
        let running = Running::start(move || {
            App::new()
                .app_data(shared.clone())
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
        });
        FakeWechat { running, state }
    }

    /// The subscribe messages accepted so far, as sent.
    pub fn messages(&self) -> Vec<Value> {
        self.state.lock().expect("fake state").messages.clone()
    }

    /// Answers the next subscribe messages with these errcodes, in turn.
    pub fn answer_next(&self, codes: &[i64]) {
        self.state
            .lock()
            .expect("fake state")
            .answers
            .extend(codes.iter().copied());
    }

    /// Makes subscribe messages answer HTTP 503 (or recover).
    pub fn set_down(&self, down: bool) {
        self.state.lock().expect("fake state").down = down;
    }

    /// The base URL to configure as WeChat's.
    pub fn base_url(&self) -> &str {
        &self.running.base
    }

    /// Registers a `wx.login` code for `openid`.
    pub fn code(&self, code: &str, openid: &str) {
        let mut state = self.state.lock().expect("fake state");
        state.codes.insert(code.into(), openid.into());
    }

    /// Registers a `getPhoneNumber` code for `phone`.
    pub fn phone_code(&self, code: &str, phone: &str) {
        let mut state = self.state.lock().expect("fake state");
        state.phone_codes.insert(code.into(), phone.into());
    }

    /// The paths called so far.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().expect("fake state").calls.clone()
    }
}

async fn jscode2session(
    state: web::Data<Mutex<WechatState>>,
    query: web::Query<Jscode2session>,
) -> HttpResponse {
    let mut state = state.lock().expect("fake state");
    state.calls.push("/sns/jscode2session".into());
    if query.appid != WECHAT_APPID || query.secret != WECHAT_SECRET {
        return wechat_error(40125, "invalid appsecret");
    }
    if query.grant_type != "authorization_code" {
        return wechat_error(40002, "invalid grant_type");
    }
    match query.js_code.as_str() {
        "limited" => return wechat_error(45011, "api minute-quota reach limit"),
        "risky" => return wechat_error(40226, "high risk user"),
        "busy" => return wechat_error(-1, "system error"),
        _ => {}
    }
    if state.used.contains(&query.js_code) {
        return wechat_error(40163, "code been used");
    }
    match state.codes.get(&query.js_code).cloned() {
        Some(openid) => {
            state.used.insert(query.js_code.clone());
            HttpResponse::Ok().json(json!({ "openid": openid, "session_key": "c2Vzc2lvbg==" }))
        }
        None => wechat_error(40029, "invalid code"),
    }
}

async fn token(
    state: web::Data<Mutex<WechatState>>,
    query: web::Query<TokenQuery>,
) -> HttpResponse {
    state
        .lock()
        .expect("fake state")
        .calls
        .push("/cgi-bin/token".into());
    if query.appid != WECHAT_APPID || query.secret != WECHAT_SECRET {
        return wechat_error(40125, "invalid appsecret");
    }
    HttpResponse::Ok().json(json!({ "access_token": ACCESS_TOKEN, "expires_in": 7200 }))
}

async fn phone_number(
    state: web::Data<Mutex<WechatState>>,
    query: web::Query<PhoneQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().expect("fake state");
    state.calls.push("/wxa/business/getuserphonenumber".into());
    if query.access_token != ACCESS_TOKEN {
        return wechat_error(40001, "invalid credential, access_token is invalid");
    }
    let code = body.get("code").and_then(Value::as_str).unwrap_or_default();
    match state.phone_codes.remove(code) {
        Some(phone) => HttpResponse::Ok().json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": { "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86" }
        })),
        None => wechat_error(40029, "invalid code"),
    }
}

async fn subscribe_send(
    state: web::Data<Mutex<WechatState>>,
    query: web::Query<PhoneQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().expect("fake state");
    state.calls.push("/cgi-bin/message/subscribe/send".into());
    if state.down {
        return HttpResponse::ServiceUnavailable().finish();
    }
    if query.access_token != ACCESS_TOKEN {
        return wechat_error(40001, "invalid credential, access_token is invalid");
    }
    match state.answers.pop_front() {
        Some(0) | None => {}
        Some(code) => return wechat_error(code, "scripted by the test"),
    }
    let complete = ["touser", "template_id", "page", "data"]
        .iter()
        .all(|field| body.get(*field).is_some());
    if !complete {
        return wechat_error(47003, "argument invalid! data.thing1.value is empty");
    }
    state.messages.push(body.into_inner());
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "msgid": 1 }))
}

/// A message the fake SMS gateway was asked to send: a login code, or a notice's text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sms {
    /// To whom.
    pub phone: String,
    /// The one-time code (empty for a notice).
    #[serde(default)]
    pub code: String,
    /// The template named.
    #[serde(default)]
    pub template: String,
    /// A notice's text (empty for a code).
    #[serde(default)]
    pub text: String,
}

#[derive(Default)]
struct SmsState {
    sent: Vec<Sms>,
    failing: bool,
}

/// A fake SMS gateway: `POST /send` with `{ "phone", "code", "template" }`.
pub struct FakeSms {
    running: Running,
    state: Arc<Mutex<SmsState>>,
}

impl FakeSms {
    /// Starts the fake.
    pub fn start() -> FakeSms {
        let state = Arc::new(Mutex::new(SmsState::default()));
        let shared = web::Data::from(state.clone());
        let running = Running::start(move || {
            App::new().app_data(shared.clone()).route(
                "/send",
                web::post().to(
                    |state: web::Data<Mutex<SmsState>>, sms: web::Json<Sms>| async move {
                        let mut state = state.lock().expect("fake state");
                        if state.failing {
                            return HttpResponse::ServiceUnavailable()
                                .json(json!({ "error": "gateway down" }));
                        }
                        state.sent.push(sms.into_inner());
                        HttpResponse::Ok().json(json!({ "status": "queued" }))
                    },
                ),
            )
        });
        FakeSms { running, state }
    }

    /// The URL to configure as the SMS gateway.
    pub fn url(&self) -> String {
        format!("{}/send", self.running.base)
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Sms> {
        self.state.lock().expect("fake state").sent.clone()
    }

    /// The last code sent to `phone`.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        self.sent()
            .into_iter()
            .rev()
            .find(|s| s.phone == phone && !s.code.is_empty())
            .map(|s| s.code)
    }

    /// Makes the gateway answer 503 (or recover).
    pub fn set_failing(&self, failing: bool) {
        self.state.lock().expect("fake state").failing = failing;
    }
}

/// What the fake 12345 platform received.
#[derive(Default)]
struct HotlineState {
    received: Vec<StatusPush>,
    down: bool,
    refused: u32,
}

/// A status update as the fake 12345 platform received it.
#[derive(Debug, Clone)]
pub struct StatusPush {
    /// The work order in the path.
    pub work_order: String,
    /// The body.
    pub body: Value,
    /// The raw body, for checking the signature.
    pub raw: Vec<u8>,
    /// `Idempotency-Key`.
    pub idempotency_key: String,
    /// `X-12345-Timestamp`.
    pub timestamp: String,
    /// `X-12345-Signature`.
    pub signature: String,
}

/// A fake of the city's 12345 platform: takes status updates at
/// `POST /work-orders/{no}/status` and records them; can be taken down.
pub struct FakeHotline {
    running: Running,
    state: Arc<Mutex<HotlineState>>,
}

impl FakeHotline {
    /// Starts the fake.
    pub fn start() -> FakeHotline {
        let state = Arc::new(Mutex::new(HotlineState::default()));
        let shared = web::Data::from(state.clone());
        let running = Running::start(move || {
            App::new().app_data(shared.clone()).route(
                "/work-orders/{no}/status",
                web::post().to(
                    |state: web::Data<Mutex<HotlineState>>,
                     path: web::Path<String>,
                     request: actix_web::HttpRequest,
                     body: web::Bytes| async move {
                        let mut state = state.lock().expect("fake state");
                        if state.down {
                            state.refused += 1;
                            return HttpResponse::ServiceUnavailable().finish();
                        }
                        let header = |name: &str| {
                            request
                                .headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        state.received.push(StatusPush {
                            work_order: path.into_inner(),
                            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                            raw: body.to_vec(),
                            idempotency_key: header("idempotency-key"),
                            timestamp: header("x-12345-timestamp"),
                            signature: header("x-12345-signature"),
                        });
                        HttpResponse::Ok().json(json!({ "code": 0 }))
                    },
                ),
            )
        });
        FakeHotline { running, state }
    }

    /// The platform's base URL.
    pub fn url(&self) -> String {
        self.running.base.clone()
    }

    /// Every update taken so far, in arrival order.
    pub fn received(&self) -> Vec<StatusPush> {
        self.state.lock().expect("fake state").received.clone()
    }

    /// How many updates were refused while down.
    pub fn refused(&self) -> u32 {
        self.state.lock().expect("fake state").refused
    }

    /// Takes the platform down (503 to everything) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.state.lock().expect("fake state").down = down;
    }
}
