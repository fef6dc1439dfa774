//! Bad input of every kind, and photos: each refusal has a stable code and stores nothing.

mod support;

use platform::auth::Role;
use serde_json::json;
use support::{Harness, cold};

#[actix_web::test]
async fn bad_input_of_every_kind_gets_a_stable_code_and_stores_nothing() {
    let h = Harness::start().await;
    let token = h.resident(1);
    let raw = |body: Vec<u8>| {
        let token = token.clone();
        let h = &h;
        async move {
            h.send(
                reqwest::Method::POST,
                "/api/v1/complaints",
                Some(&token),
                Some(body.into()),
                &[("content-type", "application/json")],
            )
            .await
        }
    };
    let malformed = raw(b"{\"category\": ".to_vec()).await;
    assert_eq!(
        (malformed.status, malformed.body["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let not_utf8 = raw(b"{\"category\": \"no_heat\", \"address\": \"\xff\xfe\"}".to_vec()).await;
    assert_eq!(not_utf8.status, 400, "{}", not_utf8.body);
    let array = raw(b"[1, 2]".to_vec()).await;
    assert_eq!(array.status, 422);
    let huge = json!({"category": "no_heat", "address": "和平区南京路100号", "description": "x".repeat(1 << 20)});
    let huge = h.post("/api/v1/complaints", &token, &huge).await;
    assert_eq!(
        (huge.status, huge.body["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    let cases = [
        (
            json!({"category": "cold", "address": "和平区南京路100号"}),
            "category",
            "unknown_category",
        ),
        (
            json!({"category": 7, "address": "和平区南京路100号"}),
            "category",
            "wrong_type",
        ),
        (
            json!({"category": "no_heat"}),
            "address",
            "address_or_account_required",
        ),
        (
            json!({"category": "low_temperature", "address": "和平区南京路100号", "room_temperature": -100}),
            "room_temperature",
            "out_of_range",
        ),
        (
            json!({"category": "low_temperature", "address": "和平区南京路100号", "room_temperature": 200}),
            "room_temperature",
            "out_of_range",
        ),
        (
            json!({"category": "low_temperature", "address": "和平区南京路100号", "room_temperature": "16"}),
            "room_temperature",
            "wrong_type",
        ),
        (
            json!({"category": "no_heat", "address": "和平区南京路100号", "contact_phone": "12345"}),
            "contact_phone",
            "invalid",
        ),
        (
            json!({"category": "no_heat", "address": "和平区南京路100号", "description": "x".repeat(2001)}),
            "description",
            "too_long",
        ),
        (
            json!({"category": "no_heat", "address": "和平区南京路100号", "photos": ["a", "b", "c", "d"]}),
            "photos",
            "too_many",
        ),
        (
            json!({"category": "no_heat", "heating_account": "12"}),
            "heating_account",
            "invalid",
        ),
    ];
    for (body, field, code) in cases {
        let reply = h.post("/api/v1/complaints", &token, &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.body["code"], "invalid_fields");
        let listed = reply.body["details"].as_array().unwrap();
        assert!(
            listed
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{body}: {}",
            reply.body
        );
    }
    let bad_key = h
        .post_with(
            "/api/v1/complaints",
            &token,
            &cold("HL01-0009"),
            &[("idempotency-key", "")],
        )
        .await;
    assert_eq!(bad_key.body["code"], "invalid_idempotency_key");
    let anonymous = h
        .send(
            reqwest::Method::POST,
            "/api/v1/complaints",
            None,
            Some(b"{}".to_vec().into()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(anonymous.status, 401);
    let operator = h
        .post(
            "/api/v1/complaints",
            &h.token(Role::Operator, "op"),
            &cold("HL01-0009"),
        )
        .await;
    assert_eq!(operator.status, 403);

    assert_eq!(h.complaint_rows().await, 0);
    assert_eq!(h.event_rows().await, 0);
}

#[actix_web::test]
async fn photos_are_checked_by_content_and_size_and_attached_by_id() {
    let h = Harness::start().await;
    let token = h.resident(1);
    let upload = |bytes: Vec<u8>, kind: &'static str| {
        let token = token.clone();
        let h = &h;
        async move {
            h.send(
                reqwest::Method::POST,
                "/api/v1/photos",
                Some(&token),
                Some(bytes.into()),
                &[("content-type", kind)],
            )
            .await
        }
    };
    let fake_png = upload(b"\x89PNG, honestly: just a text file".to_vec(), "image/png").await;
    assert_eq!(
        (fake_png.status, fake_png.body["code"].as_str()),
        (415, Some("not_an_image"))
    );
    let huge = upload(vec![0xFF; 50 * 1024 * 1024], "image/jpeg").await;
    assert_eq!(huge.status, 413);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend_from_slice(&[7; 1000]);
    let stored = upload(jpeg.clone(), "image/jpeg").await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let photo = stored.body["photo_id"].as_str().unwrap().to_owned();

    let mut body = cold("HL01-0010");
    body["photos"] = json!([photo]);
    let filed = h.post("/api/v1/complaints", &token, &body).await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let id = filed.body["complaint_id"].as_str().unwrap();
    let view = h.get(&format!("/api/v1/complaints/{id}"), &token).await;
    assert_eq!(view.body["complaint"]["photos"][0], photo.as_str());
    let back = h
        .api
        .http
        .get(format!("{}/api/v1/photos/{photo}", h.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(back.headers()["content-type"], "image/jpeg");
    assert_eq!(back.bytes().await.unwrap().to_vec(), jpeg);

    let mut missing = cold("HL01-0011");
    missing["photos"] = json!([format!("{}.png", "0".repeat(64))]);
    let refused = h.post("/api/v1/complaints", &token, &missing).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["details"][0]["code"], "unknown_photo");
    assert_eq!(h.complaint_rows().await, 1);
}
