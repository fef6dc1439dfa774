//! Bad JSON bodies get the API error shape with a stable code, before any handler runs.

use actix_web::{App, HttpResponse, test, web};
use platform::error::json_config;
use serde::Deserialize;

#[derive(Deserialize)]
struct Reading {
    #[expect(dead_code, reason = "only parsed")]
    celsius: f64,
}

async fn accept(_: web::Json<Reading>) -> HttpResponse {
    HttpResponse::Created().finish()
}

async fn post(body: Vec<u8>, content_type: &str) -> (u16, serde_json::Value) {
    let app = test::init_service(
        App::new()
            .app_data(json_config(64))
            .route("/readings", web::post().to(accept)),
    )
    .await;
    let request = test::TestRequest::post()
        .uri("/readings")
        .insert_header(("content-type", content_type))
        .set_payload(body)
        .to_request();
    let response = test::call_service(&app, request).await;
    let status = response.status().as_u16();
    let bytes = test::read_body(response).await;
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, json)
}

#[actix_web::test]
async fn a_valid_body_reaches_the_handler() {
    assert_eq!(
        post(br#"{"celsius": 16.5}"#.to_vec(), "application/json")
            .await
            .0,
        201
    );
}

#[actix_web::test]
async fn malformed_truncated_and_non_utf8_json_is_a_400_malformed_json() {
    for body in [&b"{\"celsius\": 16"[..], b"{celsius: 16}", b"\xff\xfe{}"] {
        let (status, json) = post(body.to_vec(), "application/json").await;
        assert_eq!(
            (status, json["code"].as_str()),
            (400, Some("malformed_json")),
            "{body:?}"
        );
    }
}

#[actix_web::test]
async fn a_wrong_type_or_missing_field_is_a_422_invalid_body() {
    for body in [&br#"{"celsius": "cold"}"#[..], br#"{}"#] {
        let (status, json) = post(body.to_vec(), "application/json").await;
        assert_eq!(
            (status, json["code"].as_str()),
            (422, Some("invalid_body")),
            "{body:?}"
        );
    }
}

#[actix_web::test]
async fn an_oversized_body_is_a_413_and_a_non_json_body_a_415() {
    let big = format!(r#"{{"celsius": 1, "pad": "{}"}}"#, "x".repeat(1_000));
    let (status, json) = post(big.into_bytes(), "application/json").await;
    assert_eq!(
        (status, json["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, json) = post(b"celsius=1".to_vec(), "text/plain").await;
    assert_eq!(
        (status, json["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
}
