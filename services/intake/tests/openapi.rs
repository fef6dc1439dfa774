//! The checked-in OpenAPI document is the one the code generates.

#[test]
fn the_checked_in_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/intake.json");
    let generated = intake::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "openapi/intake.json is out of date: run `UPDATE_OPENAPI=1 cargo nextest run -p intake openapi` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for path in [
        "/api/v1/complaints",
        "/api/v1/hotline/12345/work-orders",
        "/api/v1/photos",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
}
