//! The keys that sign access tokens, kept in `identity.signing_key`.

use argon2::password_hash::rand_core::OsRng;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Pool;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use eventstore::StoreError;
use jsonwebtoken::EncodingKey;
use platform::auth::{Jwks, PublicJwk};
use std::sync::{Arc, RwLock};

/// How long after creation a new key starts signing: longer than verifiers cache a key set.
pub const PUBLISH_BEFORE_SIGNING: Duration = Duration::seconds(60);

/// A key that can sign.
#[derive(Clone)]
pub struct ActiveKey {
    /// Its id, named in every token it signs.
    pub kid: String,
    /// The private key.
    pub encoding: EncodingKey,
}

#[derive(Default)]
struct Loaded {
    jwks: Jwks,
    signing: Vec<(DateTime<Utc>, ActiveKey)>,
}

/// The signing keys, loaded from the database and refreshed on change. Their private halves
/// are stored wrapped by the master key.
#[derive(Clone)]
pub struct KeyRing {
    pool: Pool,
    master: secrets::Keyring,
    loaded: Arc<RwLock<Loaded>>,
}

/// What a signing key's wrapping is bound to.
fn context(kid: &str) -> String {
    format!("identity.signing_key:{kid}")
}

impl KeyRing {
    /// Loads the keys; creates the first one when there is none. Keys stored before they were
    /// wrapped (plain PKCS#8) are wrapped now.
    pub async fn open(
        pool: Pool,
        now: DateTime<Utc>,
        master: secrets::Keyring,
    ) -> Result<KeyRing, StoreError> {
        let ring = KeyRing {
            pool,
            master,
            loaded: Arc::default(),
        };
        {
            let mut client = ring.pool.get().await?;
            let tx = client.transaction().await?;
            // Two processes starting at once on an empty table must not both create a key.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('heatline.identity.keys'))",
                &[],
            )
            .await?;
            let live: i64 = tx
                .query_one(
                    "SELECT count(*) FROM identity.signing_key WHERE retired_at IS NULL",
                    &[],
                )
                .await?
                .get(0);
            if live == 0 {
                insert_key(&tx, &ring.master, now, now).await?;
            }
            let plain = tx
                .query("SELECT kid, private_key FROM identity.signing_key", &[])
                .await?;
            for row in plain {
                let (kid, private): (String, Vec<u8>) = (row.get(0), row.get(1));
                if secrets::Keyring::wrapped_by(&private).is_none() {
                    tx.execute(
                        "UPDATE identity.signing_key SET private_key = $2 WHERE kid = $1",
                        &[&kid, &ring.master.wrap(&private, &context(&kid))],
                    )
                    .await?;
                }
            }
            tx.commit().await?;
        }
        ring.reload().await?;
        Ok(ring)
    }

    /// Adds a key that is published now and signs from `now + PUBLISH_BEFORE_SIGNING`.
    /// Tokens signed by older keys stay valid: those keys stay published until retired.
    pub async fn rotate(&self, now: DateTime<Utc>) -> Result<String, StoreError> {
        let client = self.pool.get().await?;
        let kid = insert_key(&client, &self.master, now, now + PUBLISH_BEFORE_SIGNING).await?;
        drop(client);
        self.reload().await?;
        Ok(kid)
    }

    /// Retires keys that stopped signing more than `token_lifetime` ago: no valid token names
    /// them any more.
    pub async fn retire_superseded(
        &self,
        now: DateTime<Utc>,
        token_lifetime: Duration,
    ) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let retired = client
            .execute(
                "UPDATE identity.signing_key k SET retired_at = $1
                 WHERE retired_at IS NULL AND EXISTS (
                     SELECT 1 FROM identity.signing_key newer
                     WHERE newer.retired_at IS NULL AND newer.signing_from > k.signing_from
                       AND newer.signing_from <= $1::timestamptz - make_interval(secs => $2::float8))",
                &[&now, &(token_lifetime.num_seconds() as f64)],
            )
            .await?;
        drop(client);
        self.reload().await?;
        Ok(retired)
    }

    /// Re-reads the keys from the database.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT kid, private_key, public_x, signing_from FROM identity.signing_key
                 WHERE retired_at IS NULL ORDER BY signing_from",
                &[],
            )
            .await?;
        let mut loaded = Loaded::default();
        for row in rows {
            let kid: String = row.get("kid");
            let private = self
                .master
                .unwrap(&row.get::<_, Vec<u8>>("private_key"), &context(&kid))?;
            loaded.jwks.keys.push(PublicJwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: row.get("public_x"),
                kid: kid.clone(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
            });
            loaded.signing.push((
                row.get("signing_from"),
                ActiveKey {
                    kid,
                    encoding: EncodingKey::from_ed_der(&private),
                },
            ));
        }
        *self.loaded.write().expect("key lock") = loaded;
        Ok(())
    }

    /// Wraps every stored key with the master key's current key (after a rotation); answers
    /// how many were re-wrapped.
    pub async fn rewrap(&self) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT kid, private_key FROM identity.signing_key FOR UPDATE",
                &[],
            )
            .await?;
        let mut count = 0;
        for row in rows {
            let (kid, wrapped): (String, Vec<u8>) = (row.get(0), row.get(1));
            if self.master.needs_rewrap(&wrapped) {
                let again = self.master.rewrap(&wrapped, &context(&kid))?;
                tx.execute(
                    "UPDATE identity.signing_key SET private_key = $2 WHERE kid = $1",
                    &[&kid, &again],
                )
                .await?;
                count += 1;
            }
        }
        tx.commit().await?;
        Ok(count)
    }

    /// The published key set.
    pub fn jwks(&self) -> Jwks {
        self.loaded.read().expect("key lock").jwks.clone()
    }

    /// The key that signs at `now`: the newest whose signing has begun.
    pub fn signing_key(&self, now: DateTime<Utc>) -> Option<ActiveKey> {
        let loaded = self.loaded.read().expect("key lock");
        loaded
            .signing
            .iter()
            .rev()
            .find(|(from, _)| *from <= now)
            .map(|(_, key)| key.clone())
    }
}

async fn insert_key(
    client: &impl deadpool_postgres::GenericClient,
    master: &secrets::Keyring,
    now: DateTime<Utc>,
    signing_from: DateTime<Utc>,
) -> Result<String, tokio_postgres::Error> {
    let signing = SigningKey::generate(&mut OsRng);
    let der = signing
        .to_pkcs8_der()
        .expect("an Ed25519 key always encodes as PKCS#8");
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let kid = format!("{}-{}", now.format("%Y%m%d%H%M%S"), &x[..8]);
    client
        .execute(
            "INSERT INTO identity.signing_key (kid, private_key, public_x, created_at, signing_from)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &kid,
                &master.wrap(der.as_bytes(), &context(&kid)),
                &x,
                &now,
                &signing_from,
            ],
        )
        .await?;
    Ok(kid)
}
