//! WeChat's server API as identity uses it: `jscode2session` to turn a mini-program's
//! `wx.login` code into an openid, and `getuserphonenumber` to turn a `getPhoneNumber` code into
//! the user's phone number (with the app's access token, cached until it expires).

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
