//! Input that no handler should have to think about, refused before one runs: control
//! characters in the path, the query or any string of a JSON or form body (PostgreSQL refuses
//! U+0000 outright, and the others have no business in a complaint), and bodies larger than
//! the operation takes. [`crate::policy::enforce`] applies it with each operation's limit.

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::Value;

use crate::caps::{OperationCaps, OverCap};
use crate::error::ApiError;

/// Whether `c` may stand in free text: anything but the C0 controls, DEL and the C1 controls,
/// except tab and line breaks.
fn allowed_in_text(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// Refuses (400 `invalid_parameter`) a path or query whose decoded text holds any control
/// character, or a query parameter longer than the operation's `caps` allow, naming the
/// parameter.
pub fn check_parameters(
    request: &ServiceRequest,
    caps: Option<&OperationCaps>,
) -> Result<(), ApiError> {
    let refuse = |name: &str| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("{name} contains a control character"),
        )
    };
    let path = percent_decoded(request.path());
    if path.chars().any(char::is_control) {
        return Err(refuse("the path"));
    }
    for pair in request.query_string().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decoded(&name.replace('+', " "));
        let value = percent_decoded(&value.replace('+', " "));
        if name.chars().any(char::is_control) {
            return Err(refuse("a query parameter's name"));
        }
        if value.chars().any(char::is_control) {
            return Err(refuse(&format!("query parameter {name}")));
        }
        if let Some(over) = caps.and_then(|c| c.check_query([(name.as_str(), value.as_str())])) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("query parameter {}: {}", over.field, over.message),
            ));
        }
    }
    Ok(())
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Reads the body (at most `limit` bytes: past it, 413 `payload_too_large`), refuses control
/// characters in the strings of a JSON or form body and fields over the operation's `caps`
/// (422 `invalid_fields` naming the field), and puts the body back for the handler. A body that
/// is not valid JSON is left for the handler to refuse in its own words.
pub async fn check_body(
    request: &mut ServiceRequest,
    limit: usize,
    caps: Option<&OperationCaps>,
) -> Result<(), ApiError> {
    let too_large =
        || ApiError::payload_too_large(format!("the body is larger than {limit} bytes"));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    if declared == Some(0) {
        return Ok(());
    }
    let mut payload = request.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::bad_request("unreadable_body", "the body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let content_type = request.content_type().to_owned();
    let found = match content_type.as_str() {
        "application/json" => match serde_json::from_slice::<Value>(&body) {
            Ok(value) => control_in_json(&value, String::new())
                .map(control_character)
                .or_else(|| caps.and_then(|c| c.check_json(&value))),
            Err(_) => None,
        },
        "application/x-www-form-urlencoded" => {
            control_in_form(&body).map(control_character).or_else(|| {
                let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                caps.and_then(|c| c.check_form(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
            })
        }
        _ => None,
    };
    request.set_payload(actix_web::dev::Payload::from(body));
    match found {
        None => Ok(()),
        Some(over) => Err(ApiError::unprocessable(
            "invalid_fields",
            format!("{}: {}", over.field, over.message),
            serde_json::json!([{
                "field": over.field,
                "code": over.code,
                "message": over.message,
            }]),
        )),
    }
}

fn control_character(field: String) -> OverCap {
    OverCap {
        message: format!(
            "{field} contains a control character: control characters (other than tab and \
             line breaks) are not accepted"
        ),
        field,
        code: "control_character",
    }
}

/// The path (`a.b[2]`) of the first string or key in `value` that holds a control character.
fn control_in_json(value: &Value, at: String) -> Option<String> {
    let name = |at: &str| {
        if at.is_empty() {
            "the body".to_owned()
        } else {
            at.to_owned()
        }
    };
    match value {
        Value::String(text) => (!text.chars().all(allowed_in_text)).then(|| name(&at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_in_json(item, format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            if !key.chars().all(allowed_in_text) {
                return Some(name(&at));
            }
            control_in_json(item, here)
        }),
        _ => None,
    }
}

fn control_in_form(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body).find_map(|(name, value)| {
        (!name.chars().all(allowed_in_text) || !value.chars().all(allowed_in_text))
            .then(|| name.into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_with_the_field_that_holds_them() {
        let body = serde_json::json!({
            "description": "cold\nsince Monday\tnight",
            "photos": ["a", "b\u{0}"],
        });
        assert_eq!(
            control_in_json(&body, String::new()),
            Some("photos[1]".into())
        );
        let nested = serde_json::json!({"contact": {"name": "Li\u{1b}[31m"}});
        assert_eq!(
            control_in_json(&nested, String::new()),
            Some("contact.name".into())
        );
        assert_eq!(
            control_in_json(&serde_json::json!({"ok": "温暖 18 ℃"}), String::new()),
            None
        );
        assert_eq!(
            control_in_form(b"api_key=k&description=a%00b"),
            Some("description".into())
        );
        assert_eq!(control_in_form(b"description=line%0Abreak"), None);
    }
}
