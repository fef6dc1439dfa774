//! Access tokens: what is accepted, what is refused and how.

use actix_web::{App, HttpResponse, HttpServer, test, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use platform::auth::{Claims, Jwks, Principal, PublicJwk, Role, TokenError, Verifier};
use platform::clock::{Clock, ManualClock};
use platform::error::ApiError;
use platform::policy::{Operation, Policy, Reach};

const ISSUER: &str = "heatline-identity";
const AUDIENCE: &str = "heatline";

struct Key {
    kid: String,
    signing: SigningKey,
}

impl Key {
    fn new(kid: &str, seed: u8) -> Key {
        Key {
            kid: kid.into(),
            signing: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    fn jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes()),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        let der = self.signing.to_pkcs8_der().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }
}

/// The verifiers' time in these tests: far from the real date on purpose, so a check that read
/// the system clock instead would fail every test here on any day.
fn clock() -> ManualClock {
    ManualClock::at(
        chrono::DateTime::parse_from_rfc3339("2031-01-15T03:00:00Z")
            .unwrap()
            .to_utc(),
    )
}

/// Claims issued now by `clock`, valid 15 minutes.
fn claims_at(clock: &ManualClock, role: Role) -> Claims {
    let now = clock.now().timestamp();
    Claims {
        sub: "acc-1".into(),
        role,
        district: None,
        supplier: Some("sup-7".into()),
        crew: None,
        sid: "s-1".into(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now,
        exp: now + 900,
    }
}

async fn whoami(principal: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().body(principal.subject))
}

/// The routes of these tests and who may call them.
const POLICY: &[Operation] = &[
    Operation::roles(
        "GET",
        "/queue",
        &[
            (Role::Dispatcher, Reach::OwnDistrict),
            (Role::Admin, Reach::City),
        ],
    ),
    Operation::public("GET", "/open"),
];

async fn call(verifier: &Verifier, authorization: Option<String>) -> (u16, Option<String>) {
    call_route(verifier, "GET", "/queue", authorization).await
}

async fn call_route(
    verifier: &Verifier,
    method: &str,
    path: &str,
    authorization: Option<String>,
) -> (u16, Option<String>) {
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
            .app_data(web::Data::new(Policy::of(&[POLICY])))
            .app_data(web::Data::new(verifier.clone()))
            .route("/queue", web::get().to(whoami))
            .route("/queue", web::post().to(whoami))
            .route(
                "/open",
                web::get().to(|| async { HttpResponse::Ok().finish() }),
            )
            .route("/forgotten", web::get().to(whoami)),
    )
    .await;
    let mut request = test::TestRequest::default()
        .method(method.parse().unwrap())
        .uri(path);
    if let Some(value) = authorization {
        request = request.insert_header(("authorization", value));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), challenge)
}

fn claims(role: Role) -> Claims {
    claims_at(&clock(), role)
}

fn verifier_with(keys: &[&Key]) -> Verifier {
    verifier_on(&clock(), keys)
}

fn verifier_on(clock: &ManualClock, keys: &[&Key]) -> Verifier {
    let verifier = Verifier::in_process(ISSUER, AUDIENCE, std::sync::Arc::new(clock.clone()));
    verifier.set_keys(&Jwks {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    });
    verifier
}

fn uuid_like() -> &'static str {
    "0193a8f0-7c1e-7a9b-8c2d-3e4f5a6b7c8d"
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

#[actix_web::test]
async fn a_valid_token_with_the_right_role_is_let_through() {
    let key = Key::new("k1", 1);
    let verifier = verifier_with(&[&key]);
    assert_eq!(
        call(&verifier, bearer(&key.sign(&claims(Role::Dispatcher))))
            .await
            .0,
        200
    );
}

#[actix_web::test]
async fn a_valid_token_with_another_role_is_a_403() {
    let key = Key::new("k1", 1);
    let verifier = verifier_with(&[&key]);
    assert_eq!(
        call(&verifier, bearer(&key.sign(&claims(Role::Resident))))
            .await
            .0,
        403
    );
}

#[actix_web::test]
async fn a_route_without_a_policy_row_is_refused_to_everyone_and_a_public_one_open_to_all() {
    let key = Key::new("k1", 1);
    let verifier = verifier_with(&[&key]);
    let dispatcher = bearer(&key.sign(&claims(Role::Dispatcher)));
    assert_eq!(
        call_route(&verifier, "GET", "/forgotten", dispatcher.clone())
            .await
            .0,
        403
    );
    assert_eq!(
        call_route(&verifier, "GET", "/forgotten", None).await.0,
        403
    );
    // A method the policy has no row for on a known route: not reached either.
    assert_eq!(
        call_route(&verifier, "POST", "/queue", dispatcher.clone())
            .await
            .0,
        405
    );
    assert_eq!(call_route(&verifier, "GET", "/open", None).await.0, 200);
    assert_eq!(call_route(&verifier, "GET", "/nowhere", None).await.0, 404);
}

#[actix_web::test]
async fn no_token_is_a_401_with_a_bearer_challenge() {
    let verifier = verifier_with(&[&Key::new("k1", 1)]);
    assert_eq!(call(&verifier, None).await, (401, Some("Bearer".into())));
    assert_eq!(call(&verifier, Some("Basic YTpi".into())).await.0, 401);
}

#[actix_web::test]
async fn forged_tampered_expired_and_foreign_tokens_are_401() {
    let key = Key::new("k1", 1);
    let verifier = verifier_with(&[&key]);

    let unknown_key = Key::new("k9", 9).sign(&claims(Role::Dispatcher));
    let same_kid_other_key = Key::new("k1", 2).sign(&claims(Role::Dispatcher));
    let mut expired = claims(Role::Dispatcher);
    expired.exp = expired.iat - 60;
    let mut foreign = claims(Role::Dispatcher);
    foreign.aud = "another-system".into();
    let mut other_issuer = claims(Role::Dispatcher);
    other_issuer.iss = "someone-else".into();

    let genuine = key.sign(&claims(Role::Resident));
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["role"] = "admin".into();
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
        parts[1]
    );
    // The algorithm-confusion attack: HS256 "signed" with the published public key as secret.
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("k1".into());
    let public_key_as_secret = encode(
        &hs256,
        &claims(Role::Admin),
        &EncodingKey::from_secret(key.signing.verifying_key().as_bytes()),
    )
    .unwrap();
    // A refresh token (opaque: session id, a dot, a secret) presented as an access token.
    let refresh = format!("{}.{}", uuid_like(), "A".repeat(43));

    for (what, token) in [
        ("unknown key", unknown_key),
        ("same kid, other key", same_kid_other_key),
        ("expired", key.sign(&expired)),
        ("other audience", key.sign(&foreign)),
        ("other issuer", key.sign(&other_issuer)),
        ("changed payload", tampered),
        ("alg none", alg_none),
        ("HS256 keyed with the public key", public_key_as_secret),
        ("a refresh token", refresh),
        ("garbage", "not.a.token".into()),
    ] {
        assert_eq!(
            call(&verifier, bearer(&token)).await,
            (401, Some("Bearer".into())),
            "{what}"
        );
    }
}

#[actix_web::test]
async fn a_remote_verifier_fetches_the_key_set_and_follows_a_new_key_while_old_tokens_stay_valid() {
    let old = Key::new("2026-a", 3);
    let new = Key::new("2026-b", 4);
    let published = web::Data::new(std::sync::RwLock::new(Jwks {
        keys: vec![old.jwk()],
    }));
    let served = published.clone();
    let server = HttpServer::new(move || {
        App::new().app_data(served.clone()).route(
            "/.well-known/jwks.json",
            web::get().to(|jwks: web::Data<std::sync::RwLock<Jwks>>| async move {
                HttpResponse::Ok().json(&*jwks.read().unwrap())
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}/.well-known/jwks.json", server.addrs()[0]);
    let running = server.run();
    let handle = running.handle();
    actix_web::rt::spawn(running);

    let verifier = Verifier::remote(&url, ISSUER, AUDIENCE, std::sync::Arc::new(clock()));
    let old_token = old.sign(&claims(Role::Dispatcher));
    assert_eq!(verifier.verify(&old_token).await.unwrap().sub, "acc-1");

    // Identity adds a key and signs new tokens with it; the old key stays published until the
    // tokens it signed have expired.
    published.write().unwrap().keys.push(new.jwk());
    let new_token = new.sign(&claims(Role::Dispatcher));
    // The set was fetched moments ago: a new kid is not fetched again at once.
    assert!(verifier.verify(&new_token).await.is_err());
    let fresh = Verifier::remote(&url, ISSUER, AUDIENCE, std::sync::Arc::new(clock()));
    assert!(fresh.verify(&new_token).await.is_ok());
    assert!(fresh.verify(&old_token).await.is_ok());
    handle.stop(true).await;
}

#[actix_web::test]
async fn a_remembered_token_stops_working_when_its_key_is_withdrawn_or_it_expires() {
    let key = Key::new("k-1", 7);
    let clock = clock();
    let verifier = verifier_on(&clock, &[&key]);
    let token = key.sign(&claims_at(&clock, Role::Dispatcher));
    // Verified once, then answered from memory.
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok());
    // The key is withdrawn: the remembered token goes with it.
    verifier.set_keys(&Jwks { keys: Vec::new() });
    assert!(verifier.verify(&token).await.is_err());
    // A token that expires while remembered is refused once past the 5 s leeway.
    verifier.set_keys(&Jwks {
        keys: vec![key.jwk()],
    });
    assert!(verifier.verify(&token).await.is_ok());
    clock.advance(chrono::Duration::seconds(900 + 5));
    assert!(verifier.verify(&token).await.is_ok(), "within the leeway");
    clock.advance(chrono::Duration::seconds(1));
    assert!(matches!(
        verifier.verify(&token).await,
        Err(TokenError::Expired { .. })
    ));
}

#[actix_web::test]
async fn the_verifiers_clock_decides_validity_not_the_system_clock() {
    let key = Key::new("k-1", 7);
    let now = chrono::Utc::now();
    let wall = ManualClock::at(now);
    let a_year_ago = ManualClock::at(now - chrono::Duration::days(365));
    let a_year_ahead = ManualClock::at(now + chrono::Duration::days(365));

    // Issued and judged a year ago: long expired by the system clock, valid by the verifier's.
    let then = key.sign(&claims_at(&a_year_ago, Role::Dispatcher));
    assert!(
        verifier_on(&a_year_ago, &[&key])
            .verify(&then)
            .await
            .is_ok()
    );
    assert!(matches!(
        verifier_on(&wall, &[&key]).verify(&then).await,
        Err(TokenError::Expired { .. })
    ));

    // Valid by the system clock, expired by a verifier whose time is a year ahead.
    let today = key.sign(&claims_at(&wall, Role::Dispatcher));
    assert!(verifier_on(&wall, &[&key]).verify(&today).await.is_ok());
    assert!(matches!(
        verifier_on(&a_year_ahead, &[&key]).verify(&today).await,
        Err(TokenError::Expired { .. })
    ));

    // Issued by a clock a year ahead: not yet issued for a verifier on today's time.
    let later = key.sign(&claims_at(&a_year_ahead, Role::Dispatcher));
    assert!(matches!(
        verifier_on(&wall, &[&key]).verify(&later).await,
        Err(TokenError::IssuedInTheFuture { .. })
    ));
    // A few seconds of skew between the issuer and the verifier are tolerated.
    let skewed = ManualClock::at(now + chrono::Duration::seconds(4));
    let early = key.sign(&claims_at(&skewed, Role::Dispatcher));
    assert!(verifier_on(&wall, &[&key]).verify(&early).await.is_ok());
}
