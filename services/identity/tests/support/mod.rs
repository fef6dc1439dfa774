//! The identity service on a real HTTP server over a fresh database, with a manual clock.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::sync::Arc;

use actix_web::App;
use chrono::{DateTime, Utc};
use eventstore::PgEventStore;
use identity::domain::account::Scope;
use identity::{Identity, NewStaff};
use platform::auth::Role;
use platform::clock::ManualClock;
use serde_json::{Value, json};
use testkit::TestDb;

/// Identity's settings that reach WeChat and the SMS gateway through these fakes.
pub fn outside(
    wechat: &testkit::fakes::FakeWechat,
    sms: &testkit::fakes::FakeSms,
    notify: identity::notify::NotifyConfig,
) -> identity::IdentityConfig {
    identity::IdentityConfig {
        wechat: Some(identity::wechat::WechatConfig {
            base_url: wechat.base_url().to_owned(),
            appid: testkit::fakes::WECHAT_APPID.into(),
            secret: testkit::fakes::WECHAT_SECRET.into(),
        }),
        sms_url: Some(sms.url()),
        notify,
    }
}

pub struct Harness {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub identity: Arc<Identity>,
    pub store: PgEventStore,
    pub _db: TestDb,
    pub server: actix_web::dev::ServerHandle,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(identity::IdentityConfig::default()).await
    }

    pub async fn start_with(config: identity::IdentityConfig) -> Harness {
        let db = TestDb::new().await;
        identity::migrate(&mut db.connect().await).await.unwrap();
        let store = PgEventStore::new(&db.config());
        let clock = ManualClock::at(
            DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let identity = Identity::open(
            store.clone(),
            Arc::new(clock.clone()),
            config,
            testkit::master_key(),
        )
        .await
        .unwrap();
        let mounted = identity.clone();
        let verifier = identity.verifier();
        let (base, handle) = testkit::fakes::serve(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
                .app_data(actix_web::web::Data::new(identity::policy::alone()))
                .app_data(actix_web::web::Data::new(verifier.clone()))
                .configure(mounted.configure())
        });
        identity
            .create_staff(NewStaff {
                username: "root.admin".into(),
                password: "first admin password".into(),
                role: Role::Admin,
                scope: Scope::default(),
                city_wide: false,
            })
            .await
            .unwrap();
        Harness {
            base,
            http: reqwest::Client::new(),
            clock,
            identity,
            store,
            _db: db,
            server: handle,
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn login(&self, username: &str, password: &str) -> (u16, Value) {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn admin_token(&self) -> String {
        let (status, body) = self.login("root.admin", "first admin password").await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn create_dispatcher(&self, username: &str, password: &str) {
        let admin = self.admin_token().await;
        let (status, body) = self
            .post(
                "/api/v1/staff",
                Some(&admin),
                json!({ "username": username, "password": password, "role": "dispatcher", "district": "nangang" }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let server = self.server.clone();
        actix_web::rt::spawn(async move { server.stop(false).await });
    }
}

pub trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        platform::clock::Clock::now(self)
    }
}
