//! Reading a JSON request body field by field, so that every bad field is reported at once as
//! a 422 `invalid_fields` whose details list `{field, code, message}`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// One bad field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as named in the request.
    pub field: String,
    /// A stable code: `required`, `wrong_type`, `unknown_category`, `out_of_range`, ...
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

/// The bad fields of a request.
#[derive(Debug, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Notes a bad field.
    pub fn add(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        });
    }

    /// 422 `invalid_fields` listing them, or `Ok` when there are none.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(ApiError::unprocessable(
            "invalid_fields",
            "some fields are missing or invalid; see details",
            serde_json::to_value(&self.0).unwrap_or_default(),
        ))
    }

    /// A text field: absent or null is `None`; anything but a string is `wrong_type`; longer
    /// than `max` characters is `too_long`.
    pub fn text(&mut self, body: &Map<String, Value>, field: &str, max: usize) -> Option<String> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() > max => {
                self.add(field, "too_long", format!("at most {max} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(_) => {
                self.add(field, "wrong_type", "must be a string");
                None
            }
        }
    }

    /// A number field.
    pub fn number(&mut self, body: &Map<String, Value>, field: &str) -> Option<f64> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.add(field, "wrong_type", "must be a number");
                None
            }
        }
    }

    /// A required text field: missing is `required`.
    pub fn required_text(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        max: usize,
    ) -> Option<String> {
        let before = self.0.len();
        let value = self.text(body, field, max);
        if value.is_none() && self.0.len() == before {
            self.add(field, "required", format!("{field} is required"));
        }
        value
    }

    /// A boolean field.
    pub fn boolean(&mut self, body: &Map<String, Value>, field: &str) -> Option<bool> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.add(field, "wrong_type", "must be true or false");
                None
            }
        }
    }

    /// A text field that must be one of `allowed`: missing is `required` when `required`,
    /// another value is `unknown_value`.
    pub fn one_of<'a>(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        allowed: &[&'a str],
        required: bool,
    ) -> Option<&'a str> {
        let before = self.0.len();
        let raw = self.text(body, field, 64);
        match raw {
            Some(raw) => {
                let found = allowed.iter().find(|a| **a == raw).copied();
                if found.is_none() {
                    self.add(
                        field,
                        "unknown_value",
                        format!("unknown value {raw:?}; one of {}", allowed.join(", ")),
                    );
                }
                found
            }
            None => {
                if required && self.0.len() == before {
                    self.add(field, "required", format!("{field} is required"));
                }
                None
            }
        }
    }
}
