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
        let response = self
            .http
            .post(&self.url)
            .json(
                &serde_json::json!({ "phone": phone.as_str(), "template": template, "text": text }),
            )
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("gateway answered HTTP {}", response.status()))
        }
    }

    /// Sends a login code; an error means it was not accepted for delivery.
    pub async fn send_code(&self, phone: &PhoneNumber, code: &str) -> Result<(), String> {
        let response = self
            .http
            .post(&self.url)
            .json(&serde_json::json!({ "phone": phone.as_str(), "code": code, "template": "login_code" }))
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

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    #[test]
    fn mobile_numbers_parse_in_their_usual_spellings_and_others_do_not() {
        for raw in [
            "13812345678",
            "+86 138 1234 5678",
            "86-138-1234-5678",
            "008613812345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).unwrap().as_str(),
                "13812345678",
                "{raw}"
            );
        }
        for raw in [
            "",
            "1381234567",
            "23812345678",
            "12812345678",
            "1381234567x",
            "+1 415 555 0100",
        ] {
            assert!(PhoneNumber::parse(raw).is_none(), "{raw}");
        }
        assert_eq!(
            PhoneNumber::parse("13812345678").unwrap().masked(),
            "138******78"
        );
    }
}
