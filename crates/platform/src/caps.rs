//! How large each field of an operation may be, as the served OpenAPI document declares it
//! (`maxLength` of a string, `maxItems` of a list and `maxLength` of its strings, for the top
//! level fields of a JSON or form body and for query parameters), held to in front of every
//! handler by [`crate::policy::enforce`]: the document is the contract, and nothing larger
//! reaches a handler, a log line or the database. A test keeps every string and list of every
//! request declared with its cap.

use std::collections::HashMap;

use serde_json::Value;

/// The caps of one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldCap {
    /// Characters of a string.
    pub chars: Option<usize>,
    /// Items of a list.
    pub items: Option<usize>,
    /// Characters of each string in a list.
    pub item_chars: Option<usize>,
}

/// The caps of one operation's body fields and query parameters.
#[derive(Debug, Clone, Default)]
pub struct OperationCaps {
    body: HashMap<String, FieldCap>,
    query: HashMap<String, usize>,
}

/// A field over its cap: its name, a stable code and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverCap {
    /// The field (`photos`, `description`) or query parameter.
    pub field: String,
    /// `too_long` or `too_many`.
    pub code: &'static str,
    /// `at most 500 characters`.
    pub message: String,
}

impl OperationCaps {
    /// The first top-level field of a JSON body over its cap.
    pub fn check_json(&self, body: &Value) -> Option<OverCap> {
        let Value::Object(fields) = body else {
            return None;
        };
        fields.iter().find_map(|(name, value)| {
            let cap = self.body.get(name)?;
            match value {
                Value::String(text) => over_chars(name, text, cap.chars),
                Value::Array(items) => {
                    if let Some(max) = cap.items
                        && items.len() > max
                    {
                        return Some(OverCap {
                            field: name.clone(),
                            code: "too_many",
                            message: format!("at most {max} items"),
                        });
                    }
                    items.iter().enumerate().find_map(|(i, item)| match item {
                        Value::String(text) => {
                            over_chars(&format!("{name}[{i}]"), text, cap.item_chars)
                        }
                        _ => None,
                    })
                }
                _ => None,
            }
        })
    }

    /// The first field of a form body over its cap.
    pub fn check_form<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<OverCap> {
        pairs.into_iter().find_map(|(name, value)| {
            let cap = self.body.get(name)?;
            over_chars(name, value, cap.chars)
        })
    }

    /// The first query parameter over its cap.
    pub fn check_query<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<OverCap> {
        pairs
            .into_iter()
            .find_map(|(name, value)| over_chars(name, value, self.query.get(name).copied()))
    }

    /// The cap of body field `name`, if it has one.
    pub fn body_field(&self, name: &str) -> Option<FieldCap> {
        self.body.get(name).copied()
    }
}

fn over_chars(field: &str, text: &str, max: Option<usize>) -> Option<OverCap> {
    let max = max?;
    (text.chars().count() > max).then(|| OverCap {
        field: field.to_owned(),
        code: "too_long",
        message: format!("at most {max} characters"),
    })
}

/// Every operation's caps, by method and route pattern.
#[derive(Debug, Clone, Default)]
pub struct Caps {
    by_operation: HashMap<(String, String), OperationCaps>,
}

impl Caps {
    /// The caps an OpenAPI document declares.
    pub fn of_api(document: &utoipa::openapi::OpenApi) -> Caps {
        // A document always serialises: it is plain data with string keys.
        Caps::of(&serde_json::to_value(document).expect("an OpenAPI document serialises"))
    }

    /// The caps an OpenAPI document declares (as JSON).
    pub fn of(document: &Value) -> Caps {
        let schemas = &document["components"]["schemas"];
        let resolve = |schema: &Value| -> Value {
            match schema["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    schemas[name].clone()
                }
                None => schema.clone(),
            }
        };
        let mut by_operation = HashMap::new();
        let Some(paths) = document["paths"].as_object() else {
            return Caps::default();
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, operation) in item {
                let mut caps = OperationCaps::default();
                if let Some(contents) = operation["requestBody"]["content"].as_object() {
                    for content in contents.values() {
                        let schema = resolve(&content["schema"]);
                        let Some(properties) = schema["properties"].as_object() else {
                            continue;
                        };
                        for (name, property) in properties {
                            let property = resolve(property);
                            let cap = FieldCap {
                                chars: limit(&property["maxLength"]),
                                items: limit(&property["maxItems"]),
                                item_chars: limit(&resolve(&property["items"])["maxLength"]),
                            };
                            if cap != FieldCap::default() {
                                caps.body.insert(name.clone(), cap);
                            }
                        }
                    }
                }
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "query"
                        && let (Some(name), Some(max)) = (
                            parameter["name"].as_str(),
                            limit(&parameter["schema"]["maxLength"]),
                        )
                    {
                        caps.query.insert(name.to_owned(), max);
                    }
                }
                by_operation.insert((method.to_ascii_uppercase(), path.clone()), caps);
            }
        }
        Caps { by_operation }
    }

    /// The caps of `method` on route `pattern` (none when the document does not have it).
    pub fn operation(&self, method: &str, pattern: &str) -> Option<&OperationCaps> {
        self.by_operation
            .get(&(method.to_owned(), pattern.to_owned()))
    }
}

fn limit(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "paths": {
                "/things": {
                    "post": {
                        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 5}}],
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                    }
                }
            },
            "components": {"schemas": {"Thing": {"properties": {
                "name": {"type": "string", "maxLength": 4},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 3}},
                "count": {"type": "integer"}
            }}}}
        })
    }

    #[test]
    fn fields_over_their_declared_caps_are_named() {
        let caps = Caps::of(&document());
        let op = caps.operation("POST", "/things").unwrap();
        assert_eq!(
            op.check_json(&json!({"name": "温暖温暖", "tags": ["a"]})),
            None
        );
        assert_eq!(
            op.check_json(&json!({"name": "温暖温暖!"})).unwrap().field,
            "name"
        );
        let many = op.check_json(&json!({"tags": ["a", "b", "c"]})).unwrap();
        assert_eq!((many.field.as_str(), many.code), ("tags", "too_many"));
        assert_eq!(
            op.check_json(&json!({"tags": ["a", "long"]}))
                .unwrap()
                .field,
            "tags[1]"
        );
        assert_eq!(op.check_json(&json!({"count": 10_000_000})), None);
        assert_eq!(op.check_form([("name", "12345")]).unwrap().code, "too_long");
        assert_eq!(op.check_query([("q", "123456")]).unwrap().field, "q");
        assert!(caps.operation("GET", "/things").is_none());
    }
}
