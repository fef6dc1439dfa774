//! Phone numbers and the SMS gateway that carries one-time codes.

use std::time::Duration;

/// A mainland China mobile number: 11 digits starting with 1 and 3 to 9 (`+86` accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number, tolerating spaces, dashes and a `+86`/`86` prefix.
    pub fn parse(raw: &str) -> Option<PhoneNumber> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .unwrap_or(&digits);
        let digits = if digits.len() == 13 {
            digits.strip_prefix("86").unwrap_or(digits)
        } else {
            digits
        };
        let valid = digits.len() == 11
            && digits.chars().all(|c| c.is_ascii_digit())
            && digits.starts_with('1')
            && matches!(digits.as_bytes()[1], b'3'..=b'9');
        valid.then(|| PhoneNumber(digits.to_owned()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: the first three and last two digits.
    pub fn masked(&self) -> String {
        format!("{}******{}", &self.0[..3], &self.0[9..])
    }
}

/// The SMS gateway: `POST {url}` with `{ "phone", "code", "template" }`.
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
