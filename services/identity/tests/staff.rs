//! Staff accounts, password logins, lockout, sessions and keys, over real HTTP.

mod support;

use chrono::Duration;
use identity::domain::account::{Account, AccountEvent, FailureReason};
use platform::auth::Role;
use serde_json::{Value, json};
use support::{Harness, NowUtc};

#[actix_web::test]
async fn an_admin_creates_a_dispatcher_whose_token_carries_role_and_district() {
    let h = Harness::start().await;
    h.create_dispatcher("li.dispatch", "winter is coming").await;
    let (status, body) = h.login("Li.Dispatch", "winter is coming").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let claims = h
        .identity
        .verifier()
        .verify(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims.role, Role::Dispatcher);
    assert_eq!(claims.district.as_deref(), Some("nangang"));

    // The published key set verifies it too, as a service in another process would.
    let remote = platform::auth::Verifier::remote(
        &format!("{}/.well-known/jwks.json", h.base),
        identity::tokens::ISSUER,
        identity::tokens::AUDIENCE,
        std::sync::Arc::new(h.clock.clone()),
    );
    assert_eq!(
        remote
            .verify(body["access_token"].as_str().unwrap())
            .await
            .unwrap(),
        claims
    );
}

#[actix_web::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let h = Harness::start().await;
    h.create_dispatcher("li.dispatch", "winter is coming").await;
    let wrong = h.login("li.dispatch", "summer is coming").await;
    let unknown = h.login("nobody.here", "winter is coming").await;
    let malformed_name = h.login("x", "winter is coming").await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong.1["code"], "invalid_credentials");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, malformed_name);
}

#[actix_web::test]
async fn a_field_over_its_documented_cap_is_refused_before_any_handler_naming_it() {
    let h = Harness::start().await;
    // The document caps a username at 64 characters: a longer one never reaches the login.
    let (status, body) = h.login(&"x".repeat(65), "winter is coming").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_fields");
    assert_eq!(
        (
            body["details"][0]["field"].as_str(),
            body["details"][0]["code"].as_str()
        ),
        (Some("username"), Some("too_long"))
    );
    assert_eq!(body["details"][0]["message"], "at most 64 characters");
    // Characters, not bytes: 64 Chinese characters are within the cap (and then simply wrong).
    let (status, _) = h.login(&"温".repeat(64), "winter is coming").await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn five_wrong_passwords_lock_the_account_until_the_lockout_ends() {
    let h = Harness::start().await;
    h.create_dispatcher("li.dispatch", "winter is coming").await;
    for _ in 0..5 {
        h.clock.advance(Duration::seconds(30));
        assert_eq!(h.login("li.dispatch", "guess").await.0, 401);
    }
    h.clock.advance(Duration::minutes(5));
    let refused = h.login("li.dispatch", "winter is coming").await;
    assert_eq!(
        refused,
        h.login("nobody.here", "x-x-x-x-x-x").await,
        "a lock looks like any failure"
    );
    h.clock.advance(Duration::minutes(10));
    assert_eq!(h.login("li.dispatch", "winter is coming").await.0, 200);

    let account_id = identity::domain::account_id("staff", "li.dispatch");
    let events: Vec<AccountEvent> = h
        .store
        .stream::<Account>(&account_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect();
    let failures = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                AccountEvent::LoginFailed {
                    reason: FailureReason::WrongPassword,
                    ..
                }
            )
        })
        .count();
    assert_eq!(failures, 5);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AccountEvent::LockedOut { .. }))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        AccountEvent::LoginFailed {
            reason: FailureReason::Locked,
            ..
        }
    )));
    assert!(matches!(
        events.last(),
        Some(AccountEvent::LoginSucceeded { .. })
    ));
}

#[actix_web::test]
async fn a_refresh_token_works_once_and_its_reuse_revokes_the_session() {
    let h = Harness::start().await;
    let (_, first) = h.login("root.admin", "first admin password").await;
    let spent = first["refresh_token"].as_str().unwrap();
    let (status, second) = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": spent }),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);

    let (status, body) = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": spent }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_refresh_token"))
    );
    // The reuse revoked the session: the fresh token is dead as well.
    let (status, _) = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": second["refresh_token"] }),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": "forged.token" }),
        )
        .await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn logging_out_ends_the_session() {
    let h = Harness::start().await;
    let (_, pair) = h.login("root.admin", "first admin password").await;
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(
        h.post("/api/v1/auth/logout", Some(token), json!({}))
            .await
            .0,
        204
    );
    let (status, _) = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(h.post("/api/v1/auth/logout", None, json!({})).await.0, 401);
}

#[actix_web::test]
async fn only_an_admin_creates_staff_and_bad_requests_say_which_field() {
    let h = Harness::start().await;
    let admin = h.admin_token().await;
    h.create_dispatcher("li.dispatch", "winter is coming").await;
    let (_, dispatcher) = h.login("li.dispatch", "winter is coming").await;
    let dispatcher = dispatcher["access_token"].as_str().unwrap();
    let staff = |username: &str, password: &str, role: &str| json!({ "username": username, "password": password, "role": role });

    let cases = [
        (
            None,
            staff("new.op", "long enough pw", "operator"),
            401,
            "unauthorized",
        ),
        (
            Some(dispatcher),
            staff("new.op", "long enough pw", "operator"),
            403,
            "role_not_allowed",
        ),
        (
            Some(admin.as_str()),
            staff("li.dispatch", "long enough pw", "operator"),
            409,
            "username_taken",
        ),
        (
            Some(admin.as_str()),
            staff("no", "long enough pw", "operator"),
            422,
            "invalid_staff",
        ),
        (
            Some(admin.as_str()),
            staff("new.op", "short", "operator"),
            422,
            "invalid_staff",
        ),
        (
            Some(admin.as_str()),
            staff("new.op", "long enough pw", "resident"),
            422,
            "invalid_staff",
        ),
        (
            Some(admin.as_str()),
            staff("new.op", "long enough pw", "supplier_admin"),
            422,
            "invalid_staff",
        ),
        (
            Some(admin.as_str()),
            staff("new.op", "long enough pw", "janitor"),
            422,
            "invalid_body",
        ),
    ];
    for (token, body, status, code) in cases {
        let (got, answer) = h.post("/api/v1/staff", token, body.clone()).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{body} -> {answer}"
        );
    }
    let (_, answer) = h
        .post(
            "/api/v1/staff",
            Some(&admin),
            staff("new.op", "short", "operator"),
        )
        .await;
    assert!(
        answer["details"]["fields"]["password"].is_string(),
        "{answer}"
    );
}

#[actix_web::test]
async fn a_password_change_needs_the_current_password_and_replaces_it() {
    let h = Harness::start().await;
    let admin = h.admin_token().await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let (status, body) = h
        .post(
            "/api/v1/auth/password",
            Some(&admin),
            change("not it at all", "a brand new secret"),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("wrong_password"))
    );
    let (status, _) = h
        .post(
            "/api/v1/auth/password",
            Some(&admin),
            change("first admin password", "a brand new secret"),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(h.login("root.admin", "first admin password").await.0, 401);
    assert_eq!(h.login("root.admin", "a brand new secret").await.0, 200);
}

#[actix_web::test]
async fn a_new_signing_key_is_published_before_it_signs_and_old_tokens_stay_valid() {
    let h = Harness::start().await;
    let old_token = h.admin_token().await;
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();
    let new_kid = h.identity.keys().rotate(h.clock.now_utc()).await.unwrap();
    h.identity.reload_keys().await.unwrap();
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", h.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str()]);

    let still_old = h.admin_token().await;
    assert_eq!(
        jsonwebtoken::decode_header(&still_old)
            .unwrap()
            .kid
            .unwrap(),
        old_kid
    );
    h.clock.advance(Duration::seconds(61));
    let fresh = h.admin_token().await;
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.unwrap(),
        new_kid
    );
    assert!(h.identity.verifier().verify(&old_token).await.is_ok());
    assert!(h.identity.verifier().verify(&fresh).await.is_ok());

    // Once the new key has signed for longer than a token lives, the old one is retired.
    let lifetime = identity::tokens::ACCESS_TOKEN_LIFETIME;
    let keys = h.identity.keys();
    assert_eq!(
        keys.retire_superseded(h.clock.now_utc(), lifetime)
            .await
            .unwrap(),
        0
    );
    h.clock.advance(lifetime + Duration::seconds(1));
    assert_eq!(
        keys.retire_superseded(h.clock.now_utc(), lifetime)
            .await
            .unwrap(),
        1
    );
    h.identity.reload_keys().await.unwrap();
    let kids: Vec<String> = keys.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(kids, [new_kid]);
    // Refused for its retired key (it has also expired by now, which is checked only after).
    assert!(matches!(
        h.identity.verifier().verify(&old_token).await,
        Err(platform::auth::TokenError::UnknownKey(_))
    ));
}

#[actix_web::test]
async fn malformed_and_oversized_login_bodies_get_stable_codes() {
    let h = Harness::start().await;
    let send = |body: Vec<u8>| {
        h.http
            .post(format!("{}/api/v1/auth/login", h.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = send(b"{\"username\": \"root.admin\", ".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");
    let huge = format!(
        r#"{{"username": "root.admin", "password": "{}"}}"#,
        "x".repeat(100_000)
    );
    let response = send(huge.into_bytes()).await.unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let response = send(br#"{"username": 7, "password": []}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
}

#[test]
fn the_checked_in_openapi_document_matches_the_code() {
    testkit::assert_openapi_current("identity", &identity::openapi::document());
}

#[actix_web::test]
async fn a_dispatcher_needs_a_district_unless_made_city_wide_in_so_many_words() {
    let h = Harness::start().await;
    let admin = h.admin_token().await;
    let create = |extra: serde_json::Value| {
        let mut body = json!({"username": "zhou.dispatch", "password": "long enough pw", "role": "dispatcher"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        h.post("/api/v1/staff", Some(&admin), body)
    };
    let (status, answer) = create(json!({})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("invalid_staff"))
    );
    assert!(
        answer["details"]["fields"]["district"].is_string(),
        "{answer}"
    );
    let (status, answer) = create(json!({"district": "nangang", "city_wide": true})).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["details"]["fields"]["city_wide"].is_string(),
        "{answer}"
    );
    let (status, answer) = create(json!({"city_wide": true})).await;
    assert_eq!(status, 201, "{answer}");
    let (_, pair) = h.login("zhou.dispatch", "long enough pw").await;
    let claims = h
        .identity
        .verifier()
        .verify(pair["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!((claims.role, claims.district), (Role::Dispatcher, None));
}

#[actix_web::test]
async fn a_supplier_admin_lists_its_own_crews_members_and_no_one_elses() {
    let h = Harness::start().await;
    let admin = h.admin_token().await;
    for (username, role, supplier, crew) in [
        ("north.admin", "supplier_admin", "north-heat", None),
        ("north.crew.a", "crew", "north-heat", Some("crew-a")),
        ("north.crew.b", "crew", "north-heat", Some("crew-b")),
        ("south.crew.a", "crew", "south-heat", Some("crew-s")),
    ] {
        let (status, body) = h
            .post(
                "/api/v1/staff",
                Some(&admin),
                json!({"username": username, "password": "winter is coming", "role": role,
                       "supplier": supplier, "crew": crew}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, login) = h.login("north.admin", "winter is coming").await;
    let token = login["access_token"].as_str().unwrap();
    let list = |query: &'static str| {
        let (http, base, token) = (h.http.clone(), h.base.clone(), token.to_owned());
        async move {
            let response = http
                .get(format!("{base}/api/v1/staff{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, own) = list("").await;
    assert_eq!(status, 200, "{own}");
    let names: Vec<&str> = own
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["north.admin", "north.crew.a", "north.crew.b"]);
    let (_, crew) = list("?crew_id=crew-b").await;
    assert_eq!(crew[0]["username"], "north.crew.b");
    assert_eq!(crew.as_array().unwrap().len(), 1);
    let (status, other) = list("?supplier_id=south-heat").await;
    assert_eq!(status, 403, "{other}");
}
