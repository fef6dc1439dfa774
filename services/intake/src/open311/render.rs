//! Open311's two formats: JSON, and XML whose elements are the JSON's fields (array items named
//! as the specification names them), and its error shape.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::Value;

use super::schema::Open311Error;

/// The format the path's extension asks for.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// `.json`.
    Json,
    /// `.xml`.
    Xml,
}

pub(super) fn format(raw: &str) -> Option<Format> {
    match raw {
        "json" => Some(Format::Json),
        "xml" => Some(Format::Xml),
        _ => None,
    }
}

pub(super) fn unknown_format() -> HttpResponse {
    error(
        Format::Json,
        StatusCode::NOT_FOUND,
        "format_unknown",
        "use .json or .xml",
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The element name of an array's items.
fn item_name(array: &str) -> &str {
    match array {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "errors" => "error",
        other => other,
    }
}

fn write_xml(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                write_xml(out, item_name(name), item);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (field, v) in fields {
                write_xml(out, field, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// Answers `answer` (as its JSON form) in `format`; `root` names the XML document element.
pub(super) fn answer(
    format: Format,
    status: StatusCode,
    root: &str,
    answer: &impl serde::Serialize,
) -> HttpResponse {
    // Open311's answers are plain structs and lists: nothing in them can fail to serialise.
    let value = serde_json::to_value(answer).expect("an Open311 answer serialises");
    match format {
        Format::Json => HttpResponse::build(status)
            .content_type("application/json; charset=utf-8")
            .body(value.to_string()),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            write_xml(&mut out, root, &value);
            HttpResponse::build(status)
                .content_type("text/xml; charset=utf-8")
                .body(out)
        }
    }
}

pub(super) fn error(format: Format, status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let errors = [Open311Error {
        code: status.as_u16(),
        description: format!("{code}: {message}"),
    }];
    answer(format, status, "errors", &errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn xml_escapes_text_and_names_array_items() {
        let mut out = String::new();
        write_xml(
            &mut out,
            "errors",
            &json!([{"code": 400, "description": "a < b & \"c\"\u{1}"}]),
        );
        assert_eq!(
            out,
            "<errors><error><code>400</code><description>a &lt; b &amp; &quot;c&quot;</description></error></errors>"
        );
    }
}
