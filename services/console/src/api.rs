//! The console's client of the public API: the same HTTP calls the mobile apps make, with the
//! signed-in user's token, so that the API's policy decides what each page may show and do.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the API is: set at start (`--api-url`), or once the process knows its own address.
#[derive(Debug, Clone, Default)]
pub struct ApiBase(Arc<OnceLock<String>>);

impl ApiBase {
    /// An API at `url` (`http://gateway:8080`), without a trailing slash.
    pub fn at(url: &str) -> Self {
        let base = ApiBase::default();
        base.set(url);
        base
    }

    /// Sets the address once; later calls change nothing.
    pub fn set(&self, url: &str) {
        let _ = self.0.set(url.trim_end_matches('/').to_owned());
    }

    /// The address, once known.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// What the API refused, or that it could not be reached.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The HTTP status (503 when the API did not answer).
    pub status: u16,
    /// The API's stable code (`role_not_allowed`, `version_mismatch`, ...).
    pub code: String,
    /// The API's message.
    pub message: String,
    /// The API's details, where it gave some.
    pub details: Value,
}

impl Failure {
    /// A refusal the console makes itself, before any call (a page for another role).
    pub fn local(status: u16, code: &str, message: &str) -> Self {
        Failure {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            details: Value::Null,
        }
    }

    fn unreachable(error: &dyn std::fmt::Display) -> Self {
        tracing::warn!(%error, "the console could not reach the API");
        Failure::local(503, "unavailable", "the API did not answer")
    }

    /// The status to answer the browser with: the API's, or 502 when it was not one.
    pub fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY)
    }

    /// The messages of the invalid fields, when the API listed them; else its message.
    pub fn explained(&self) -> String {
        let fields: Vec<String> = match &self.details {
            Value::Array(items) => items
                .iter()
                .filter_map(|f| {
                    Some(format!(
                        "{}: {}",
                        f.get("field")?.as_str()?,
                        f.get("message")?.as_str()?
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        if fields.is_empty() {
            self.message.clone()
        } else {
            fields.join("; ")
        }
    }
}

/// An HTTP client of the API, shared by every request of the console.
#[derive(Debug, Clone)]
pub struct Client {
    base: ApiBase,
    http: reqwest::Client,
}

impl Client {
    /// A client of the API at `base`.
    pub fn new(base: ApiBase) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client builds");
        Client { base, http }
    }

    fn url(&self, path: &str) -> Result<String, Failure> {
        let base = self
            .base
            .get()
            .ok_or_else(|| Failure::unreachable(&"the API's address is not known yet"))?;
        Ok(format!("{base}{path}"))
    }

    /// `GET path` with `token` (none for public reads).
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<T, Failure> {
        let mut request = self.http.get(self.url(path)?);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await).await
    }

    /// `POST path` with a JSON body, `token`, and `If-Match` when a version is given.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        if_match: Option<i64>,
    ) -> Result<T, Failure> {
        self.post_once(path, token, body, if_match, None).await
    }

    /// `POST path` as [`Client::post`], with an `Idempotency-Key` when one is given: the form
    /// sent twice (a double click, a retry) is filed once.
    pub async fn post_once<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        if_match: Option<i64>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Failure> {
        let mut request = self.http.post(self.url(path)?).json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        answer(request.send().await).await
    }
}

async fn answer<T: DeserializeOwned>(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, Failure> {
    let response = sent.map_err(|e| Failure::unreachable(&e))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failure::unreachable(&e))?;
    if status.is_success() {
        // A 204 answers nothing: read as JSON null.
        let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        return serde_json::from_slice(body).map_err(|e| {
            tracing::error!(error = %e, "the console could not read the API's answer");
            Failure::local(
                502,
                "unreadable_answer",
                "the API's answer could not be read",
            )
        });
    }
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Err(Failure {
        status: status.as_u16(),
        code: body["code"].as_str().unwrap_or("refused").to_owned(),
        message: body["message"]
            .as_str()
            .unwrap_or(status.canonical_reason().unwrap_or("refused"))
            .to_owned(),
        details: body.get("details").cloned().unwrap_or(Value::Null),
    })
}
