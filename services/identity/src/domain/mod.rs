//! Identity's aggregates: accounts (who can log in, and how) and sessions (what a login grants).

pub mod account;
pub mod phone;
pub mod session;

use uuid::Uuid;

/// Accounts have ids derived from what identifies them (a staff username, a WeChat openid, a
/// phone number), so the same person can never get two accounts: the second registration finds
/// the stream already there, and two racing first logins conflict on it.
pub fn account_id(kind: &str, key: &str) -> String {
    const NAMESPACE: Uuid = Uuid::from_u128(0x7c3e_51b2_9a0d_4f61_8e27_4b5d_c0f1_a913);
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes()).to_string()
}
