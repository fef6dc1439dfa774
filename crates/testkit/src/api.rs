//! A JSON API client for tests: requests with a bearer token and extra headers, replies read
//! whole, and waiting for something to become true.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

/// A service's base URL and an HTTP client.
#[derive(Debug, Clone)]
pub struct Api {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The client.
    pub http: reqwest::Client,
}

/// A reply, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    /// A client of the service at `base`.
    pub fn new(base: impl Into<String>) -> Api {
        Api {
            base: base.into(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("the reply is read whole");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            headers,
        }
    }

    /// POSTs `body` as JSON with extra headers.
    pub async fn post_with(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let bytes = serde_json::to_vec(body).expect("JSON serialises");
        self.send(
            reqwest::Method::POST,
            path,
            Some(token),
            Some(bytes.into()),
            &all,
        )
        .await
    }

    /// POSTs `body` as JSON.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.post_with(path, token, body, &[]).await
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(reqwest::Method::GET, path, Some(token), None, &[])
            .await
    }
}

/// Waits (up to 10 s, looking every 50 ms) until `probe` holds; panics naming `what`.
pub async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..200 {
        if probe().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}
