//! Identity's aggregates: accounts (who can log in, and how) and sessions (what a login grants).

pub mod account;
pub mod phone;
pub mod session;

use uuid::Uuid;

/// Accounts have ids derived from what identifies them, so the same person can never get two
/// accounts: the second registration finds the stream already there, and two racing first
/// logins conflict on it. A staff account's id derives from its username (a name, not personal
/// data); a resident's from their WeChat openid or phone number through [`ResidentIds`].
pub fn account_id(kind: &str, key: &str) -> String {
    const NAMESPACE: Uuid = Uuid::from_u128(0x7c3e_51b2_9a0d_4f61_8e27_4b5d_c0f1_a913);
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes()).to_string()
}

/// Residents' ids, keyed: an HMAC-SHA256 of the openid or number under a deployment secret,
/// shaped as a UUID (version 8). Without the secret, an id in the log cannot be tied back to a
/// phone number by trying them all, which matters once the resident's data is erased.
#[derive(Clone)]
pub struct ResidentIds {
    key: [u8; 32],
}

impl std::fmt::Debug for ResidentIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResidentIds(..)")
    }
}

impl ResidentIds {
    /// The ids under `key`.
    pub fn new(key: [u8; 32]) -> Self {
        ResidentIds { key }
    }

    /// The id of `kind` (`wechat`, `phone`, `phone-codes`) for `value`.
    pub fn id(&self, kind: &str, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{kind}:{value}").as_bytes());
        let digest = mac.finalize().into_bytes();
        let bytes: [u8; 16] = digest[..16].try_into().expect("16 of 32 bytes");
        Uuid::new_v8(bytes).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_are_stable_under_one_secret_and_unguessable_without_it() {
        let ours = ResidentIds::new([1; 32]);
        let id = ours.id("phone", "13912345678");
        assert_eq!(id, ours.id("phone", "13912345678"));
        assert_ne!(id, ours.id("phone-codes", "13912345678"));
        assert_ne!(id, ResidentIds::new([2; 32]).id("phone", "13912345678"));
        assert_ne!(id, account_id("phone", "13912345678"));
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 8);
    }
}
