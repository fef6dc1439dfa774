//! The sealer's Ed25519 keys: made on first use, the private half wrapped by the master key.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use secrets::Keyring;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::store::PgEventStore;

/// The id of a public key: the first 8 bytes of its SHA-256, in hex.
pub fn key_id(public: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public)[..8])
}

fn context(key_id: &str) -> String {
    format!("eventstore.seal_key:{key_id}")
}

/// A key that signs seals.
pub struct SealKey {
    id: String,
    signing: SigningKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({})", self.id)
    }
}

impl SealKey {
    /// A new random key.
    pub fn generate() -> Self {
        SealKey::from_secret(rand::random())
    }

    fn from_secret(secret: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&secret);
        SealKey {
            id: key_id(&signing.verifying_key().to_bytes()),
            signing,
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its public half.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The newest stored key, or a new one stored now. Only the sealer (one holder at a time)
    /// calls this, so two processes never both make a first key.
    pub async fn load_or_create(
        store: &PgEventStore,
        keyring: &Keyring,
    ) -> Result<SealKey, StoreError> {
        let client = store.pool().get().await?;
        let row = client
            .query_opt(
                "SELECT key_id, private_key FROM eventstore.seal_key
                 ORDER BY created_at DESC, key_id LIMIT 1",
                &[],
            )
            .await?;
        if let Some(row) = row {
            let id: String = row.get(0);
            let wrapped: Vec<u8> = row.get(1);
            let secret: [u8; 32] = keyring
                .unwrap(&wrapped, &context(&id))?
                .try_into()
                .map_err(|_| StoreError::Decode(format!("seal key {id} is not 32 bytes")))?;
            let key = SealKey::from_secret(secret);
            if key.id != id {
                return Err(StoreError::Decode(format!(
                    "seal key {id} does not match its public half"
                )));
            }
            return Ok(key);
        }
        let key = SealKey::generate();
        let wrapped = keyring.wrap(&key.signing.to_bytes(), &context(&key.id));
        client
            .execute(
                "INSERT INTO eventstore.seal_key (key_id, public_key, private_key) VALUES ($1, $2, $3)",
                &[&key.id, &key.public().as_slice(), &wrapped],
            )
            .await?;
        tracing::info!(key_id = %key.id, "made the sealer's signing key");
        Ok(key)
    }
}

/// A seal key's public half, as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSealKey {
    /// Its id.
    pub key_id: String,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Every seal key's public half, oldest first.
pub async fn public_keys(store: &PgEventStore) -> Result<Vec<PublicSealKey>, StoreError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT key_id, public_key, created_at FROM eventstore.seal_key ORDER BY created_at, key_id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let key_id: String = row.get(0);
            let bytes: Vec<u8> = row.get(1);
            Ok(PublicSealKey {
                public_key: bytes.try_into().map_err(|_| {
                    StoreError::Decode(format!("seal key {key_id}'s public half is not 32 bytes"))
                })?,
                key_id,
                created_at: row.get(2),
            })
        })
        .collect()
}

/// Wraps every stored seal key with the keyring's current master key (after a rotation);
/// answers how many were re-wrapped.
pub async fn rewrap(store: &PgEventStore, keyring: &Keyring) -> Result<usize, StoreError> {
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "SELECT key_id, private_key FROM eventstore.seal_key FOR UPDATE",
            &[],
        )
        .await?;
    let mut count = 0;
    for row in rows {
        let id: String = row.get(0);
        let wrapped: Vec<u8> = row.get(1);
        if keyring.needs_rewrap(&wrapped) {
            let again = keyring.rewrap(&wrapped, &context(&id))?;
            tx.execute(
                "UPDATE eventstore.seal_key SET private_key = $2 WHERE key_id = $1",
                &[&id, &again],
            )
            .await?;
            count += 1;
        }
    }
    tx.commit().await?;
    Ok(count)
}

/// Whether `signature` over `message` was made by the key `public`.
pub fn signature_holds(public: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}
