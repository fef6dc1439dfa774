//! Resident logins through WeChat and SMS, against fake WeChat and SMS servers over HTTP.

mod support;

use chrono::Duration;
use identity::IdentityConfig;
use identity::wechat::WechatConfig;
use serde_json::{Value, json};
use support::Harness;
use testkit::fakes::{FakeSms, FakeWechat, WECHAT_APPID, WECHAT_SECRET};

struct Residents {
    h: Harness,
    wechat: FakeWechat,
    sms: FakeSms,
}

async fn start() -> Residents {
    let wechat = FakeWechat::start();
    let sms = FakeSms::start();
    let config = support::outside(&wechat, &sms, Default::default());
    Residents {
        h: Harness::start_with(config).await,
        wechat,
        sms,
    }
}

impl Residents {
    /// Posts JSON; answers the status, the body and the Retry-After header.
    async fn post(&self, path: &str, body: Value) -> (u16, Value, Option<String>) {
        let response = self
            .h
            .http
            .post(format!("{}{path}", self.h.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.json().await.unwrap_or(Value::Null), retry)
    }

    async fn wechat_login(&self, code: &str) -> (u16, Value, Option<String>) {
        self.post("/api/v1/auth/wechat", json!({ "code": code }))
            .await
    }

    async fn subject(&self, pair: &Value) -> String {
        self.h
            .identity
            .verifier()
            .verify(pair["access_token"].as_str().unwrap())
            .await
            .unwrap()
            .sub
    }

    async fn send_code(&self, phone: &str) -> (u16, Value, Option<String>) {
        self.post("/api/v1/auth/sms/code", json!({ "phone": phone }))
            .await
    }

    async fn sms_login(&self, phone: &str, code: &str) -> (u16, Value) {
        self.h
            .post(
                "/api/v1/auth/sms/login",
                None,
                json!({ "phone": phone, "code": code }),
            )
            .await
    }
}

#[actix_web::test]
async fn a_first_wechat_login_creates_the_resident_and_the_next_one_finds_them() {
    let r = start().await;
    r.wechat.code("code-1", "openid-zhang");
    r.wechat.code("code-2", "openid-zhang");
    let (status, first, _) = r.wechat_login("code-1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["role"], "resident");
    let (status, second, _) = r.wechat_login("code-2").await;
    assert_eq!(status, 200);
    assert_eq!(r.subject(&first).await, r.subject(&second).await);
    assert!(r.wechat.calls().iter().all(|c| c == "/sns/jscode2session"));
}

#[actix_web::test]
async fn wechat_refusals_each_get_their_documented_answer() {
    let r = start().await;
    r.wechat.code("once", "openid-li");
    assert_eq!(r.wechat_login("once").await.0, 200);

    let (status, body, _) = r.wechat_login("once").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("wechat_code_invalid")),
        "a replayed code"
    );
    let (status, body, _) = r.wechat_login("forged-code").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("wechat_code_invalid"))
    );
    let (status, body, retry) = r.wechat_login("limited").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("wechat_rate_limited"))
    );
    assert_eq!(retry.as_deref(), Some("60"));
    let (status, body, _) = r.wechat_login("risky").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("wechat_user_refused"))
    );
    let (status, body, retry) = r.wechat_login("busy").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("wechat_unavailable"))
    );
    assert!(retry.is_some());
}

#[actix_web::test]
async fn an_unreachable_wechat_is_a_503_with_retry_after() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = IdentityConfig {
        wechat: Some(WechatConfig {
            base_url: format!("http://127.0.0.1:{closed}"),
            appid: WECHAT_APPID.into(),
            secret: WECHAT_SECRET.into(),
        }),
        sms_url: None,
        notify: Default::default(),
    };
    let h = Harness::start_with(config).await;
    let response = h
        .http
        .post(format!("{}/api/v1/auth/wechat", h.base))
        .json(&json!({ "code": "anything" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "wechat_unavailable");
    let (status, body) = h
        .post(
            "/api/v1/auth/sms/code",
            None,
            json!({ "phone": "13812345678" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("sms_not_configured"))
    );
}

#[actix_web::test]
async fn an_sms_code_logs_in_once_and_only_one_code_is_sent_a_minute() {
    let r = start().await;
    let (status, body, _) = r.send_code("+86 138 1234 5678").await;
    assert_eq!(status, 202, "{body}");
    let code = r
        .sms
        .last_code("13812345678")
        .expect("the gateway got the code");
    assert_eq!(code.len(), 6);

    let (status, body, retry) = r.send_code("13812345678").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_requests"))
    );
    assert_eq!(retry.as_deref(), Some("60"));

    let (status, pair) = r.sms_login("13812345678", &code).await;
    assert_eq!(status, 200, "{pair}");
    let (status, body) = r.sms_login("13812345678", &code).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("sms_code_invalid")),
        "a used code"
    );

    r.h.clock.advance(Duration::seconds(61));
    assert_eq!(r.send_code("13812345678").await.0, 202);
    let again = r.sms.last_code("13812345678").unwrap();
    let (_, second) = r.sms_login("13812345678", &again).await;
    assert_eq!(
        r.subject(&pair).await,
        r.subject(&second).await,
        "the same resident"
    );
    // The log holds the number in no form: not in clear, not masked, not as an id anyone
    // could compute from it.
    let client = r.h.store.pool().get().await.unwrap();
    for needle in [
        "13812345678".to_owned(),
        "****5678".to_owned(),
        identity::domain::account_id("phone", "13812345678"),
        identity::domain::account_id("phone-codes", "13812345678"),
    ] {
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM eventstore.event \
                 WHERE payload::text || metadata::text || aggregate_id LIKE '%' || $1 || '%'",
                &[&needle],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 0, "{needle}");
    }
}

#[actix_web::test]
async fn a_code_guessed_six_times_is_dead_even_when_the_sixth_guess_is_right() {
    let r = start().await;
    assert_eq!(r.send_code("13912345678").await.0, 202);
    let code = r.sms.last_code("13912345678").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(r.sms_login("13912345678", wrong).await.0, 401);
    }
    let (status, body) = r.sms_login("13912345678", &code).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("sms_code_invalid"))
    );
}

#[actix_web::test]
async fn a_code_expires_after_five_minutes() {
    let r = start().await;
    assert_eq!(r.send_code("13712345678").await.0, 202);
    let code = r.sms.last_code("13712345678").unwrap();
    r.h.clock.advance(Duration::minutes(5));
    assert_eq!(r.sms_login("13712345678", &code).await.0, 401);
}

#[actix_web::test]
async fn a_gateway_failure_is_a_503_and_does_not_hold_back_the_next_try() {
    let r = start().await;
    r.sms.set_failing(true);
    let (status, body, _) = r.send_code("13612345678").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("sms_unavailable"))
    );
    r.sms.set_failing(false);
    assert_eq!(
        r.send_code("13612345678").await.0,
        202,
        "no one-minute wait after a failure"
    );
}

#[actix_web::test]
async fn bad_phone_numbers_and_bad_codes_are_refused_clearly() {
    let r = start().await;
    for phone in ["", "12345", "23812345678", "1381234567x"] {
        let (status, body, _) = r.send_code(phone).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalid_phone")),
            "{phone:?}"
        );
    }
    let (status, body) = r.sms_login("13812345678", "12ab56").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("sms_code_invalid"))
    );
    assert!(r.sms.sent().is_empty());
}

#[actix_web::test]
async fn a_phone_bound_through_wechat_logs_into_the_same_account_by_sms() {
    let r = start().await;
    r.wechat.code("code-w", "openid-wang");
    r.wechat.phone_code("phone-code", "13512345678");
    let (_, wechat_pair, _) = r.wechat_login("code-w").await;
    let token = wechat_pair["access_token"].as_str().unwrap();
    let (status, body) =
        r.h.post(
            "/api/v1/auth/wechat/phone",
            Some(token),
            json!({ "code": "phone-code" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"], "135******78");
    let (status, _) =
        r.h.post(
            "/api/v1/auth/wechat/phone",
            Some(token),
            json!({ "code": "phone-code" }),
        )
        .await;
    assert_eq!(status, 401, "a phone code works once");

    assert_eq!(r.send_code("13512345678").await.0, 202);
    let code = r.sms.last_code("13512345678").unwrap();
    let (_, sms_pair) = r.sms_login("13512345678", &code).await;
    assert_eq!(r.subject(&sms_pair).await, r.subject(&wechat_pair).await);
}
