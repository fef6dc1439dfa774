//! The checked-in OpenAPI document is the one the code generates.

#[test]
fn the_checked_in_openapi_document_matches_the_code() {
    let generated = intake::openapi::document();
    testkit::assert_openapi_current("intake", &generated);
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for path in [
        "/api/v1/complaints",
        "/api/v1/hotline/12345/work-orders",
        "/api/v1/photos",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
}
