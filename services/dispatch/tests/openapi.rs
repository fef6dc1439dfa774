//! The checked-in OpenAPI document is the one the code generates, and documents every route.

#[test]
fn the_checked_in_openapi_document_is_current_and_complete() {
    let generated = dispatch::openapi::document();
    testkit::assert_openapi_current("dispatch", &generated);
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let actions = [
        "dispatch",
        "sign",
        "return",
        "return-review",
        "assign",
        "check-in",
        "measurements",
        "pause",
        "resume",
        "extension",
        "extension-decision",
        "supervise",
        "resolve",
        "feedback",
        "close",
    ];
    for action in actions {
        let path = format!("/api/v1/tickets/{{id}}/{action}");
        let operation = &document["paths"][&path]["post"];
        assert!(operation.is_object(), "{path} is documented");
        let params = operation["parameters"].as_array().unwrap();
        assert!(
            params.iter().any(|p| p["name"] == "If-Match"),
            "{path} documents If-Match"
        );
    }
    for path in ["/api/v1/tickets", "/api/v1/tickets/{id}", "/api/v1/crews"] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
}
