//! Who is calling: access tokens verified against the identity service's public keys.
//!
//! Access tokens are JWTs signed with EdDSA (Ed25519). Every service verifies them with a
//! [`Verifier`] holding the public keys by `kid`: fed directly when identity runs in the same
//! process, fetched from identity's `/.well-known/jwks.json` (and fetched again when a token
//! names an unknown key) when it runs apart. The access policy ([`crate::policy`]) verifies the
//! token in front of every route that needs one (a missing or bad token is a 401) and hands the
//! handler its [`Principal`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::ApiError;

/// What a user may be in Heatline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A resident reporting about their home.
    Resident,
    /// A hotline operator filing on a caller's behalf.
    Operator,
    /// A dispatcher routing and watching tickets.
    Dispatcher,
    /// A repair crew member.
    Crew,
    /// A heating supplier's administrator.
    SupplierAdmin,
    /// A regulator auditing suppliers.
    Regulator,
    /// A Heatline administrator.
    Admin,
}

impl Role {
    /// The stable name, as in tokens and event metadata (`supplier_admin`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Operator => "operator",
            Role::Dispatcher => "dispatcher",
            Role::Crew => "crew",
            Role::SupplierAdmin => "supplier_admin",
            Role::Regulator => "regulator",
            Role::Admin => "admin",
        }
    }
}

/// The claims of a Heatline access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    /// The role the account acts in.
    pub role: Role,
    /// The district the account is limited to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// The supplier the account belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// The crew the account belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crew: Option<String>,
    /// The session the token was issued in.
    pub sid: String,
    /// Who issued it.
    pub iss: String,
    /// For whom.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account id.
    pub subject: String,
    /// The role.
    pub role: Role,
    /// District scope.
    pub district: Option<String>,
    /// Supplier scope.
    pub supplier: Option<String>,
    /// Crew scope.
    pub crew: Option<String>,
    /// The session.
    pub session: String,
}

impl Principal {
    /// Refuses (403) a caller whose scope does not cover `resource`: for each of district,
    /// supplier and crew that the caller is limited to, the resource must belong to the same
    /// one. Dimensions the caller is not limited to (a city-wide dispatcher's district, a
    /// regulator's supplier) do not restrict.
    pub fn require_scope(&self, resource: &ResourceScope<'_>) -> Result<&Self, ApiError> {
        let covers = |own: &Option<String>, theirs: Option<&str>| match own {
            Some(own) => theirs == Some(own.as_str()),
            None => true,
        };
        if covers(&self.district, resource.district)
            && covers(&self.supplier, resource.supplier)
            && covers(&self.crew, resource.crew)
        {
            Ok(self)
        } else {
            Err(ApiError::forbidden(
                "this is outside your district, supplier or crew",
            ))
        }
    }
}

/// Where a resource belongs, for [`Principal::require_scope`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceScope<'a> {
    /// Its district.
    pub district: Option<&'a str>,
    /// Its supplier.
    pub supplier: Option<&'a str>,
    /// Its crew.
    pub crew: Option<&'a str>,
}

impl From<Claims> for Principal {
    fn from(claims: Claims) -> Self {
        Principal {
            subject: claims.sub,
            role: claims.role,
            district: claims.district,
            supplier: claims.supplier,
            crew: claims.crew,
            session: claims.sid,
        }
    }
}

/// A public key as published in a JWKS (`kty` OKP, `crv` Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// The key id tokens name in their header.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<PublicJwk>,
}

/// Why a token was refused (all answered as 401; the reason is logged, not shown).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// The header names a key this service does not know.
    #[error("unknown signing key {0:?}")]
    UnknownKey(Option<String>),
    /// Signature, algorithm, issuer or audience check failed.
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// The token expired (by the verifier's clock, past the leeway).
    #[error("expired at {exp}, now {now}")]
    Expired {
        /// Its `exp`.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The token says it was issued later than now (by the verifier's clock, past the leeway).
    #[error("issued at {iat}, later than now {now}")]
    IssuedInTheFuture {
        /// Its `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The JWKS could not be fetched.
    #[error("public keys unavailable: {0}")]
    KeysUnavailable(String),
}

enum KeySource {
    /// Keys are pushed in by the identity service of this process.
    InProcess,
    /// Keys are fetched from identity over HTTP.
    Remote {
        url: String,
        client: reqwest::Client,
        last_fetch: tokio::sync::Mutex<Option<Instant>>,
    },
}

/// Verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<RwLock<HashMap<String, DecodingKey>>>,
    /// Tokens already verified under the current keys, with their claims: a mobile app sends
    /// one token for its whole 15 minutes, and its signature need not be checked every time.
    verified: Arc<Mutex<HashMap<String, Claims>>>,
    source: Arc<KeySource>,
    /// Decides whether a token is still (or already) valid: the same clock as the rest of the
    /// process, so a process whose time is moved (tests, replays) judges tokens by that time.
    clock: Arc<dyn Clock>,
    issuer: String,
    audience: String,
}

/// The most verified tokens remembered; past it, expired ones are dropped, and all if that is
/// not enough.
const VERIFIED_CAPACITY: usize = 20_000;

/// Seconds of clock skew tolerated on expiry and issuing time.
const LEEWAY_SECS: i64 = 5;

/// How long a fetched key set is trusted before an unknown `kid` may trigger a new fetch.
const REFETCH_AFTER: Duration = Duration::from_secs(30);

impl Verifier {
    /// A verifier whose keys are given with [`Verifier::set_keys`], judging expiry by `clock`.
    pub fn in_process(issuer: &str, audience: &str, clock: Arc<dyn Clock>) -> Self {
        Verifier {
            keys: Arc::default(),
            verified: Arc::default(),
            source: Arc::new(KeySource::InProcess),
            clock,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// A verifier that fetches keys from `jwks_url`, judging expiry by `clock`.
    pub fn remote(jwks_url: &str, issuer: &str, audience: &str, clock: Arc<dyn Clock>) -> Self {
        Verifier {
            keys: Arc::default(),
            verified: Arc::default(),
            clock,
            source: Arc::new(KeySource::Remote {
                url: jwks_url.to_owned(),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .expect("an HTTP client with a timeout builds"),
                last_fetch: tokio::sync::Mutex::new(None),
            }),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Replaces the known keys; keys that fail to parse are skipped with a warning.
    pub fn set_keys(&self, jwks: &Jwks) {
        let parsed: HashMap<String, DecodingKey> = jwks
            .keys
            .iter()
            .filter_map(|jwk| match DecodingKey::from_ed_components(&jwk.x) {
                Ok(key) if jwk.kty == "OKP" && jwk.crv == "Ed25519" => Some((jwk.kid.clone(), key)),
                _ => {
                    tracing::warn!(kid = %jwk.kid, "ignoring a public key that is not Ed25519");
                    None
                }
            })
            .collect();
        *self.keys.write().expect("key lock") = parsed;
        // A key that is gone must stop admitting the tokens it signed.
        self.verified.lock().expect("verified lock").clear();
    }

    /// Verifies a token's signature, algorithm (EdDSA only), issuer and audience, and its
    /// expiry and issuing time against the verifier's clock.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let remembered = self
            .verified
            .lock()
            .expect("verified lock")
            .get(token)
            .cloned();
        if let Some(claims) = remembered {
            self.check_time(&claims)?;
            return Ok(claims);
        }
        let claims = self.verify_signature(token).await?;
        self.check_time(&claims)?;
        let now = self.clock.now().timestamp();
        let mut verified = self.verified.lock().expect("verified lock");
        if verified.len() >= VERIFIED_CAPACITY {
            verified.retain(|_, c| c.exp.saturating_add(LEEWAY_SECS) >= now);
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// Refuses a token that expired, or was issued later than now, by the verifier's clock
    /// (each with [`LEEWAY_SECS`] of skew allowed).
    fn check_time(&self, claims: &Claims) -> Result<(), TokenError> {
        let now = self.clock.now().timestamp();
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(TokenError::Expired {
                exp: claims.exp,
                now,
            });
        }
        if claims.iat > now.saturating_add(LEEWAY_SECS) {
            return Err(TokenError::IssuedInTheFuture {
                iat: claims.iat,
                now,
            });
        }
        Ok(())
    }

    async fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token)?;
        let kid = header.kid.clone();
        let key = match self.key(kid.as_deref()) {
            Some(key) => key,
            None => {
                self.refresh().await?;
                self.key(kid.as_deref())
                    .ok_or(TokenError::UnknownKey(kid))?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is the verifier's clock's to judge (`check_time`), not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(decode::<Claims>(token, &key, &validation)?.claims)
    }

    fn key(&self, kid: Option<&str>) -> Option<DecodingKey> {
        self.keys.read().expect("key lock").get(kid?).cloned()
    }

    async fn refresh(&self) -> Result<(), TokenError> {
        let KeySource::Remote {
            url,
            client,
            last_fetch,
        } = &*self.source
        else {
            return Ok(());
        };
        let mut last = last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < REFETCH_AFTER) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let jwks: Jwks = client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| TokenError::KeysUnavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| TokenError::KeysUnavailable(e.to_string()))?;
        self.set_keys(&jwks);
        Ok(())
    }
}

fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The caller of `request`, from its bearer token, verified with the [`Verifier`] in the app
/// data. The access policy ([`crate::policy::enforce`]) calls it in front of every operation
/// that needs a token.
pub fn authenticate(
    request: &HttpRequest,
) -> impl Future<Output = Result<Principal, ApiError>> + use<> {
    let verifier = request.app_data::<web::Data<Verifier>>().cloned();
    let token = bearer(request);
    async move {
        let verifier = verifier.ok_or_else(|| {
            ApiError::internal(&std::io::Error::other("no token verifier is configured"))
        })?;
        let token = token.ok_or(TokenError::Missing).map_err(refuse)?;
        verifier
            .verify(&token)
            .await
            .map(Principal::from)
            .map_err(refuse)
    }
}

/// A handler's caller, as the access policy in front of its route verified it. A route the
/// policy does not guard has no caller to give: that is a server error, never a way in.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Principal, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            request
                .extensions()
                .get::<Principal>()
                .cloned()
                .ok_or_else(|| {
                    ApiError::internal(&std::io::Error::other(
                        "no verified caller: the access policy does not guard this route",
                    ))
                }),
        )
    }
}

fn refuse(error: TokenError) -> ApiError {
    match error {
        TokenError::KeysUnavailable(reason) => {
            tracing::warn!(%reason, "cannot verify tokens: public keys unavailable");
            ApiError::unavailable("keys_unavailable", "tokens cannot be verified right now", 5)
        }
        TokenError::Missing => ApiError::unauthorized("a bearer token is required"),
        other => {
            tracing::info!(reason = %other, "token refused");
            ApiError::unauthorized("the token is not valid")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(
        role: Role,
        district: Option<&str>,
        supplier: Option<&str>,
        crew: Option<&str>,
    ) -> Principal {
        Principal {
            subject: "a".into(),
            role,
            district: district.map(Into::into),
            supplier: supplier.map(Into::into),
            crew: crew.map(Into::into),
            session: "s".into(),
        }
    }

    #[test]
    fn a_scope_limits_only_the_dimensions_the_caller_is_limited_to() {
        let ticket = ResourceScope {
            district: Some("nangang"),
            supplier: Some("sup-1"),
            crew: Some("crew-9"),
        };
        let city_dispatcher = principal(Role::Dispatcher, None, None, None);
        let district_dispatcher = principal(Role::Dispatcher, Some("nangang"), None, None);
        let other_district = principal(Role::Dispatcher, Some("daoli"), None, None);
        let own_supplier = principal(Role::SupplierAdmin, None, Some("sup-1"), None);
        let other_supplier = principal(Role::SupplierAdmin, None, Some("sup-2"), None);
        let own_crew = principal(Role::Crew, None, Some("sup-1"), Some("crew-9"));
        let other_crew = principal(Role::Crew, None, Some("sup-1"), Some("crew-3"));
        for allowed in [
            &city_dispatcher,
            &district_dispatcher,
            &own_supplier,
            &own_crew,
        ] {
            assert!(allowed.require_scope(&ticket).is_ok(), "{allowed:?}");
        }
        for refused in [&other_district, &other_supplier, &other_crew] {
            assert!(refused.require_scope(&ticket).is_err(), "{refused:?}");
        }
        let unassigned = ResourceScope {
            crew: None,
            ..ticket
        };
        assert!(
            own_crew.require_scope(&unassigned).is_err(),
            "a crew acts only on its own jobs"
        );
    }
}
