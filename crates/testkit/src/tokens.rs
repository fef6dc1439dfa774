//! Access tokens for test harnesses, signed by identity's key ring on the harness's clock, and
//! the verifier that checks them on that clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use platform::auth::{Role, Verifier};
use platform::clock::Clock;

/// A token for `subject` in `role` with `scope`, issued at `now` (the harness's clock) and
/// valid for a year: the span a test moves its clock through, as a client that refreshes its
/// token would stay signed in.
pub fn mint(
    keys: &KeyRing,
    now: DateTime<Utc>,
    role: Role,
    subject: &str,
    scope: &Scope,
) -> String {
    let key = keys
        .signing_key(now)
        .expect("the key ring has a key for the harness's time");
    identity::tokens::access_token_valid_for(
        &key,
        subject,
        "session-1",
        role,
        scope,
        now,
        Duration::days(365),
    )
}

/// Opens identity's key ring on `pool` at the clock's time, and an in-process verifier of its
/// keys that judges tokens by `clock`.
pub async fn keys_and_verifier(
    pool: deadpool_postgres::Pool,
    clock: Arc<dyn Clock>,
) -> (KeyRing, Verifier) {
    let keys = KeyRing::open(pool, clock.now(), crate::master_key())
        .await
        .expect("the key ring opens");
    let verifier =
        Verifier::in_process(identity::tokens::ISSUER, identity::tokens::AUDIENCE, clock);
    verifier.set_keys(&keys.jwks());
    (keys, verifier)
}
