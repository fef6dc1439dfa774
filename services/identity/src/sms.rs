//! The SMS gateway that carries one-time codes and notices.

use std::time::Duration;

pub use platform::phone::PhoneNumber;

/// The SMS gateway: `POST {url}` with `{ "phone", "code", "template" }` for a login code, and
/// `{ "phone", "template", "text" }` for a notice.
pub struct SmsGateway {
    url: String,
    http: reqwest::Client,
}

impl SmsGateway {
    /// A gateway client with a 5-second timeout.
    pub fn new(url: String) -> Self {
        SmsGateway {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client with a timeout builds"),
        }
    }

    /// Sends a notice; an error means it was not accepted for delivery.
    pub async fn send_text(
        &self,
        phone: &PhoneNumber,
        template: &str,
        text: &str,
    ) -> Result<(), String> {
        self.post(
            serde_json::json!({ "phone": phone.as_str(), "template": template, "text": text }),
        )
        .await
    }

    /// Sends a login code; an error means it was not accepted for delivery.
    pub async fn send_code(&self, phone: &PhoneNumber, code: &str) -> Result<(), String> {
        self.post(
            serde_json::json!({ "phone": phone.as_str(), "code": code, "template": "login_code" }),
        )
        .await
    }

    async fn post(&self, body: serde_json::Value) -> Result<(), String> {
        let response = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("gateway answered HTTP {}", response.status()))
        }
    }
}
