//! The checked-in OpenAPI document is the one the code generates, and documents every route.

#[test]
fn the_checked_in_openapi_document_is_current_and_complete() {
    let generated = credit::openapi::document();
    testkit::assert_openapi_current("credit", &generated);
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for (path, method) in [
        ("/api/v1/credit/rulebook", "get"),
        ("/api/v1/credit/suppliers", "get"),
        ("/api/v1/credit/public/suppliers", "get"),
        ("/api/v1/credit/seasons/{season}/ranking", "get"),
        ("/api/v1/credit/seasons/{season}/suppliers/{id}", "get"),
        (
            "/api/v1/credit/seasons/{season}/suppliers/{id}/ledger",
            "get",
        ),
        ("/api/v1/credit/seasons/{season}/ledger.csv", "get"),
        (
            "/api/v1/credit/seasons/{season}/suppliers/{id}/adjustments",
            "post",
        ),
        (
            "/api/v1/credit/seasons/{season}/suppliers/{id}/vetoes",
            "post",
        ),
        ("/api/v1/credit/seasons/{season}/what-if", "get"),
        ("/api/v1/credit/seasons/{season}/appeals", "get"),
        ("/api/v1/credit/entries/{id}/appeals", "post"),
        ("/api/v1/credit/appeals/{id}/decision", "post"),
        ("/api/v1/credit/evidence/{id}", "get"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
}
