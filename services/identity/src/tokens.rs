//! Access tokens (EdDSA JWTs, 15 minutes) and refresh tokens (opaque, rotated on use).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, Header, encode};
use platform::auth::{Claims, Role};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::domain::account::Scope;
use crate::keys::ActiveKey;

/// How long an access token is valid.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(15);
/// The `iss` and `aud` of Heatline's tokens.
pub const ISSUER: &str = "heatline";
/// The audience of Heatline's tokens.
pub const AUDIENCE: &str = "heatline";

/// What a successful login or refresh answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// The JWT to send as `Authorization: Bearer ...`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchanges for a new pair at `POST /api/v1/auth/refresh`, once.
    pub refresh_token: String,
    /// The role the tokens grant.
    #[schema(value_type = String)]
    pub role: Role,
}

/// Signs an access token issued at `now`, valid for [`ACCESS_TOKEN_LIFETIME`].
pub fn access_token(
    key: &ActiveKey,
    account_id: &str,
    session_id: &str,
    role: Role,
    scope: &Scope,
    now: DateTime<Utc>,
) -> String {
    access_token_valid_for(
        key,
        account_id,
        session_id,
        role,
        scope,
        now,
        ACCESS_TOKEN_LIFETIME,
    )
}

/// Signs an access token issued at `now` and valid for `lifetime`. Identity's own logins use
/// [`access_token`]; a longer life is for callers that stand in for a client refreshing its
/// token (test harnesses whose clocks move by days).
pub fn access_token_valid_for(
    key: &ActiveKey,
    account_id: &str,
    session_id: &str,
    role: Role,
    scope: &Scope,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> String {
    let claims = Claims {
        sub: account_id.to_owned(),
        role,
        district: scope.district.clone(),
        supplier: scope.supplier.clone(),
        crew: scope.crew.clone(),
        sid: session_id.to_owned(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now.timestamp(),
        exp: (now + lifetime).timestamp(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    encode(&header, &claims, &key.encoding).expect("an Ed25519 key signs any claims")
}

/// A new refresh token for `session_id`: the session id, a dot, 32 random bytes.
pub fn refresh_token(session_id: &str) -> String {
    let secret: [u8; 32] = rand::random();
    format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret))
}

/// The session a refresh token claims to belong to.
pub fn session_of(refresh_token: &str) -> Option<&str> {
    let (session, secret) = refresh_token.split_once('.')?;
    (uuid::Uuid::parse_str(session).is_ok() && secret.len() == 43).then_some(session)
}

/// What is stored of a refresh token: its SHA-256.
pub fn refresh_hash(refresh_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(refresh_token.as_bytes()))
}

/// A pair for a session.
pub fn pair(
    key: &ActiveKey,
    account_id: &str,
    session_id: &str,
    role: Role,
    scope: &Scope,
    refresh_token: String,
    now: DateTime<Utc>,
) -> TokenPair {
    TokenPair {
        access_token: access_token(key, account_id, session_id, role, scope, now),
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_LIFETIME.num_seconds(),
        refresh_token,
        role,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_names_its_session_and_only_its_hash_is_kept() {
        let session = uuid::Uuid::now_v7().to_string();
        let token = refresh_token(&session);
        assert_eq!(session_of(&token), Some(session.as_str()));
        assert_ne!(refresh_hash(&token), token);
        assert_ne!(refresh_token(&session), token);
        assert_eq!(session_of("not-a-session.abc"), None);
    }
}
