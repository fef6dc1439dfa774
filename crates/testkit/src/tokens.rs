//! Access tokens for test harnesses, signed by identity's key ring on the harness's clock.

use chrono::{DateTime, Duration, Utc};
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use platform::auth::Role;

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
