//! Password hashing with argon2id, off the async threads (a hash takes tens of milliseconds),
//! and the credentials table that holds the hashes: the event log only names a credential, so
//! no hash is ever in an event, a backup of the log, or a seal's proof.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .expect("argon2 hashes any password with default parameters")
            .to_string()
    })
    .await
    .expect("the hashing task does not panic")
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash).
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .expect("the verifying task does not panic")
}

/// Stores a new credential for `account_id` and answers its id, for the event that sets it.
/// A credential no event names (the command failed after this) is never read.
pub async fn store(
    pool: &deadpool_postgres::Pool,
    account_id: &str,
    hash: String,
) -> Result<uuid::Uuid, eventstore::StoreError> {
    let credential = uuid::Uuid::now_v7();
    pool.get()
        .await?
        .execute(
            "INSERT INTO identity.credential (credential_id, account_id, password_hash) VALUES ($1, $2, $3)",
            &[&credential, &account_id, &hash],
        )
        .await?;
    Ok(credential)
}

/// The hash a credential holds.
pub async fn stored(
    pool: &deadpool_postgres::Pool,
    credential: uuid::Uuid,
) -> Result<Option<String>, eventstore::StoreError> {
    Ok(pool
        .get()
        .await?
        .query_opt(
            "SELECT password_hash FROM identity.credential WHERE credential_id = $1",
            &[&credential],
        )
        .await?
        .map(|row| row.get(0)))
}

/// Deletes every credential of `account_id` but `current` (after a change was recorded):
/// an old password's hash is not kept.
pub async fn forget_others(
    pool: &deadpool_postgres::Pool,
    account_id: &str,
    current: uuid::Uuid,
) -> Result<(), eventstore::StoreError> {
    pool.get()
        .await?
        .execute(
            "DELETE FROM identity.credential WHERE account_id = $1 AND credential_id <> $2",
            &[&account_id, &current],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = super::hash("correct horse".into()).await;
        assert!(hash.starts_with("$argon2id$"));
        assert!(super::verify("correct horse".into(), hash.clone()).await);
        assert!(!super::verify("correct horsf".into(), hash).await);
        assert!(!super::verify("x".into(), "not a hash".into()).await);
    }
}
