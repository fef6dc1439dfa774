//! WeChat's server API as identity uses it: `jscode2session` to turn a mini-program's
//! `wx.login` code into an openid, `getuserphonenumber` to turn a `getPhoneNumber` code into
//! the user's phone number, and `message/subscribe/send` to send a subscribe message (both
//! with the app's access token, cached until shortly before it expires).

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

/// Where WeChat is and who we are to it.
#[derive(Debug, Clone)]
pub struct WechatConfig {
    /// `https://api.weixin.qq.com` in production.
    pub base_url: String,
    /// The mini-program's app id.
    pub appid: String,
    /// The mini-program's app secret.
    pub secret: String,
}

/// What WeChat said no with, or why it could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WechatError {
    /// 40029 invalid code, 40163 code already used: the code does not log anyone in.
    #[error("the code is not valid (WeChat error {0})")]
    InvalidCode(i64),
    /// 45011: WeChat's rate limit.
    #[error("WeChat's rate limit was reached")]
    RateLimited,
    /// 40226: WeChat flags the user as risky.
    #[error("WeChat refuses this user")]
    RiskyUser,
    /// -1, a 5xx, a timeout, no connection.
    #[error("WeChat is unavailable: {0}")]
    Unavailable(String),
    /// Any other error code (a misconfigured app id or secret, for instance).
    #[error("WeChat answered error {code}: {message}")]
    Other {
        /// errcode.
        code: i64,
        /// errmsg.
        message: String,
    },
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
struct PhoneInfo {
    #[serde(rename = "purePhoneNumber")]
    pure_phone_number: String,
}

/// A WeChat client.
pub struct Wechat {
    config: WechatConfig,
    http: reqwest::Client,
    access_token: Mutex<Option<(String, Instant)>>,
}

impl Wechat {
    /// A client with a 5-second timeout per call.
    pub fn new(config: WechatConfig) -> Self {
        Wechat {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client with a timeout builds"),
            access_token: Mutex::new(None),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Answer, WechatError> {
        let response = request
            .send()
            .await
            .map_err(|e| WechatError::Unavailable(e.without_url().to_string()))?;
        if response.status().is_server_error() {
            return Err(WechatError::Unavailable(format!(
                "HTTP {}",
                response.status()
            )));
        }
        let answer: Answer = response.json().await.map_err(|e| {
            WechatError::Unavailable(format!("unreadable answer: {}", e.without_url()))
        })?;
        match answer.errcode {
            0 => Ok(answer),
            40029 | 40163 => Err(WechatError::InvalidCode(answer.errcode)),
            45011 => Err(WechatError::RateLimited),
            40226 => Err(WechatError::RiskyUser),
            -1 => Err(WechatError::Unavailable("WeChat is busy (-1)".into())),
            code => Err(WechatError::Other {
                code,
                message: answer.errmsg,
            }),
        }
    }

    /// Exchanges a `wx.login` code for the user's openid.
    pub async fn openid(&self, code: &str) -> Result<String, WechatError> {
        let request = self
            .http
            .get(format!("{}/sns/jscode2session", self.config.base_url))
            .query(&[
                ("appid", self.config.appid.as_str()),
                ("secret", self.config.secret.as_str()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ]);
        self.call(request)
            .await?
            .openid
            .filter(|openid| !openid.is_empty())
            .ok_or_else(|| WechatError::Unavailable("no openid in the answer".into()))
    }

    async fn access_token(&self) -> Result<String, WechatError> {
        let mut cached = self.access_token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let request = self
            .http
            .get(format!("{}/cgi-bin/token", self.config.base_url))
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", self.config.appid.as_str()),
                ("secret", self.config.secret.as_str()),
            ]);
        let answer = self.call(request).await?;
        let token = answer
            .access_token
            .ok_or_else(|| WechatError::Unavailable("no access_token in the answer".into()))?;
        // Renewed five minutes early, so a token never expires in flight.
        let lifetime = answer.expires_in.unwrap_or(7200).saturating_sub(300);
        *cached = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        Ok(token)
    }

    /// Exchanges a `getPhoneNumber` code for the user's phone number (without country code).
    pub async fn phone_number(&self, code: &str) -> Result<String, WechatError> {
        let token = self.access_token().await?;
        let request = self
            .http
            .post(format!(
                "{}/wxa/business/getuserphonenumber",
                self.config.base_url
            ))
            .query(&[("access_token", token.as_str())])
            .json(&serde_json::json!({ "code": code }));
        self.call(request)
            .await?
            .phone_info
            .map(|info| info.pure_phone_number)
            .ok_or_else(|| WechatError::Unavailable("no phone_info in the answer".into()))
    }
}

/// Why a subscribe message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// 43101: the user has no subscription left for the template (or refused it).
    #[error("the user has not subscribed to this template (43101)")]
    NotSubscribed,
    /// 47003: the template's data was refused.
    #[error("WeChat refused the message's data (47003): {0}")]
    BadData(String),
    /// 40001, 42001, 40014: the access token is invalid or expired.
    #[error("the access token was refused ({0})")]
    Token(i64),
    /// -1, 45009 and the like, a 5xx, a timeout: try again later.
    #[error("WeChat could not take the message now: {0}")]
    Unavailable(String),
    /// Anything else (a template id that is not the app's, a blocked user).
    #[error("WeChat answered error {code}: {message}")]
    Other {
        /// errcode.
        code: i64,
        /// errmsg.
        message: String,
    },
}

impl Wechat {
    /// Forgets the cached access token (WeChat said it is no longer valid).
    pub async fn forget_token(&self) {
        *self.access_token.lock().await = None;
    }

    /// Sends a subscribe message of `template` to `openid`, opening mini-program `page`, with
    /// the template's `data` (`{"thing1": {"value": "…"}, …}`).
    pub async fn subscribe_send(
        &self,
        openid: &str,
        template: &str,
        page: &str,
        data: &serde_json::Value,
    ) -> Result<(), SendError> {
        let token = self.access_token().await.map_err(|e| match e {
            WechatError::Other { code, message } => SendError::Other { code, message },
            other => SendError::Unavailable(other.to_string()),
        })?;
        let response = self
            .http
            .post(format!(
                "{}/cgi-bin/message/subscribe/send",
                self.config.base_url
            ))
            .query(&[("access_token", token.as_str())])
            .json(&serde_json::json!({
                "touser": openid,
                "template_id": template,
                "page": page,
                "data": data,
                "miniprogram_state": "formal",
                "lang": "zh_CN",
            }))
            .send()
            .await
            .map_err(|e| SendError::Unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(SendError::Unavailable(format!(
                "HTTP {}",
                response.status()
            )));
        }
        let answer: Answer = response.json().await.map_err(|e| {
            SendError::Unavailable(format!("unreadable answer: {}", e.without_url()))
        })?;
        match answer.errcode {
            0 => Ok(()),
            43101 => Err(SendError::NotSubscribed),
            47003 => Err(SendError::BadData(answer.errmsg)),
            code @ (40001 | 42001 | 40014) => Err(SendError::Token(code)),
            -1 | 45009 | 45047 => Err(SendError::Unavailable(format!(
                "WeChat is busy ({}): {}",
                answer.errcode, answer.errmsg
            ))),
            code => Err(SendError::Other {
                code,
                message: answer.errmsg,
            }),
        }
    }
}
