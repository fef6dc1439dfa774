//! Personal data in an immutable log: each piece is encrypted with a data key of its own
//! subject (a complaint, a resident account), wrapped by the master key in
//! `eventstore.data_key`. Erasing destroys the keys: every event stays in place and in order
//! (and its seal still verifies, since seals cover the ciphertext), while the personal fields
//! can never be read again.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::{GenericClient, Pool};
use secrets::{DataKey, Keyring};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;

/// How long a process trusts what it read of a key. An erasure made by another process takes
/// effect here within this time (in the erasing process at once).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// Personal data as an event stores it: encrypted with its subject's key. Right after sealing
/// the value is also kept in memory (never serialized), so the writer can project it without
/// decrypting.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Personal<T> {
    key: Uuid,
    sealed: String,
    #[serde(skip)]
    plain: Option<T>,
    #[serde(skip)]
    kind: PhantomData<T>,
}

impl<T: Clone> Clone for Personal<T> {
    fn clone(&self) -> Self {
        Personal {
            key: self.key,
            sealed: self.sealed.clone(),
            plain: self.plain.clone(),
            kind: PhantomData,
        }
    }
}

impl<T> PartialEq for Personal<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.sealed == other.sealed
    }
}

impl<T> Eq for Personal<T> {}

impl<T> std::fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Personal(key {})", self.key)
    }
}

impl<T: Serialize> Personal<T> {
    /// Encrypts `value` with `key` (whose id is `key_id`; made by [`Vault::new_key`] or found
    /// by [`Vault::key_of`]).
    pub fn seal(key_id: Uuid, key: &DataKey, value: T) -> Personal<T> {
        let json = serde_json::to_string(&value).expect("personal data serializes");
        Personal {
            key: key_id,
            sealed: key.seal(&json, &context(key_id)),
            plain: Some(value),
            kind: PhantomData,
        }
    }
}

impl<T> Personal<T> {
    /// The value sealed in this process, if it was (never after loading).
    pub fn sealed_here(&self) -> Option<&T> {
        self.plain.as_ref()
    }

    /// The same ciphertext without the in-memory value (what a loaded event holds).
    pub fn forget_plain(&mut self) {
        self.plain = None;
    }

    /// The key that opens it.
    pub fn key_id(&self) -> Uuid {
        self.key
    }
}

/// Whom a piece of personal data belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// What the key protects, e.g. `complaint:<id>` or `account:<id>`.
    pub subject: String,
    /// The resident account it belongs to, when known.
    pub resident: Option<String>,
    /// The household it belongs to, when known.
    pub household: Option<String>,
}

/// What an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasing {
    /// A resident: their account's data and every complaint they filed.
    Resident(String),
    /// A household: every complaint filed for it, by anyone.
    Household(String),
    /// One subject (a complaint past its retention).
    Subject(String),
}

impl Erasing {
    /// The rows of `eventstore.data_key` it covers: a condition on `$1`, and `$1`.
    fn condition(&self) -> (&'static str, &String) {
        match self {
            // The account's own data is under its own subject.
            Erasing::Resident(id) => ("(resident = $1 OR subject = 'account:' || $1)", id),
            Erasing::Household(h) => ("household = $1", h),
            Erasing::Subject(s) => ("subject = $1", s),
        }
    }
}

/// A data key made for a new subject, to be stored in the writer's transaction.
#[derive(Debug, Clone)]
pub struct NewKey {
    id: Uuid,
    owner: Owner,
    wrapped: Vec<u8>,
}

impl NewKey {
    /// Its id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Queues the key's row in `writes`, to go out with the events that use it (with the other
    /// keys queued there, in one statement: nothing else a queue sends reads the keys).
    pub fn queue(&self, writes: &mut crate::Writes) {
        writes.push_row(
            INSERT_KEY,
            crate::params![
                self.id,
                self.owner.subject.clone(),
                self.owner.resident.clone(),
                self.owner.household.clone(),
                self.wrapped.clone(),
            ],
        );
    }

    /// Stores the key, in the transaction of the events that use it.
    pub async fn store(&self, client: &impl GenericClient) -> Result<(), StoreError> {
        let key = self;
        let statement = client.prepare_cached(INSERT_KEY).await?;
        client
            .execute(
                &statement,
                &[
                    &key.id,
                    &key.owner.subject,
                    &key.owner.resident,
                    &key.owner.household,
                    &key.wrapped,
                ],
            )
            .await?;
        Ok(())
    }
}

#[derive(Clone)]
enum Cached {
    Live(Arc<DataKey>),
    Erased,
}

/// The data keys: seals, opens and erases personal data.
#[derive(Clone)]
pub struct Vault {
    pool: Pool,
    keyring: Keyring,
    cache: Arc<Mutex<HashMap<Uuid, (Cached, Instant)>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn context(key_id: Uuid) -> String {
    format!("eventstore.data_key:{key_id}")
}

const INSERT_KEY: &str = "INSERT INTO eventstore.data_key (key_id, subject, resident, household, wrapped) \
                          VALUES ($1, $2, $3, $4, $5)";

impl Vault {
    /// The vault over the event store's database, with the deployment's master key.
    pub fn new(pool: Pool, keyring: Keyring) -> Self {
        Vault {
            pool,
            keyring,
            cache: Arc::default(),
        }
    }

    fn remember(&self, id: Uuid, key: Cached) {
        let mut cache = self.cache.lock().expect("the key cache is never poisoned");
        if cache.len() > 100_000 {
            cache.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
        }
        cache.insert(id, (key, Instant::now()));
    }

    /// The master keyring it wraps keys with.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// A key for a new subject: seal with it, then store it with [`NewKey::store`] in the
    /// same transaction as the events that use it.
    pub fn new_key(&self, owner: Owner) -> (NewKey, DataKey) {
        let id = Uuid::now_v7();
        let (key, bytes) = DataKey::generate();
        let wrapped = self.keyring.wrap(&bytes, &context(id));
        self.remember(id, Cached::Live(Arc::new(key.clone())));
        (NewKey { id, owner, wrapped }, key)
    }

    /// The live key of `owner.subject`, made and stored (on its own) when it has none.
    pub async fn key_of(&self, owner: &Owner) -> Result<(Uuid, DataKey), StoreError> {
        let client = self.pool.get().await?;
        loop {
            let found = client
                .query_opt(
                    "SELECT key_id, wrapped FROM eventstore.data_key \
                     WHERE subject = $1 AND erased_at IS NULL",
                    &[&owner.subject],
                )
                .await?;
            if let Some(row) = found {
                let id: Uuid = row.get(0);
                let wrapped: Vec<u8> = row.get(1);
                let key = DataKey::from_slice(&self.keyring.unwrap(&wrapped, &context(id))?)?;
                self.remember(id, Cached::Live(Arc::new(key.clone())));
                return Ok((id, key));
            }
            let (new, key) = self.new_key(owner.clone());
            match new.store(&client).await {
                Ok(()) => return Ok((new.id, key)),
                // Another writer made the subject's key a moment ago: use that one.
                Err(StoreError::Database(e))
                    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {}
                Err(other) => return Err(other),
            }
        }
    }

    /// Seals `value` for `owner`, with its live key (made when it has none).
    pub async fn seal<T: Serialize>(
        &self,
        owner: &Owner,
        value: T,
    ) -> Result<Personal<T>, StoreError> {
        let (id, key) = self.key_of(owner).await?;
        Ok(Personal::seal(id, &key, value))
    }

    async fn key(&self, id: Uuid) -> Result<Cached, StoreError> {
        {
            let cache = self.cache.lock().expect("the key cache is never poisoned");
            if let Some((key, at)) = cache.get(&id)
                && at.elapsed() < KEY_CACHE_TTL
            {
                return Ok(key.clone());
            }
        }
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT wrapped FROM eventstore.data_key WHERE key_id = $1",
                &[&id],
            )
            .await?;
        let key = match row.and_then(|r| r.get::<_, Option<Vec<u8>>>(0)) {
            Some(wrapped) => Cached::Live(Arc::new(DataKey::from_slice(
                &self.keyring.unwrap(&wrapped, &context(id))?,
            )?)),
            // A destroyed key, or one whose writer rolled back: nothing can open it.
            None => Cached::Erased,
        };
        self.remember(id, key.clone());
        Ok(key)
    }

    /// The data key `id`, or `None` when it was erased (for data sealed outside events, such
    /// as photos in the file store).
    pub async fn data_key(&self, id: Uuid) -> Result<Option<Arc<DataKey>>, StoreError> {
        Ok(match self.key(id).await? {
            Cached::Live(key) => Some(key),
            Cached::Erased => None,
        })
    }

    /// The value, or `None` when its subject was erased.
    pub async fn open<T: DeserializeOwned + Clone>(
        &self,
        personal: &Personal<T>,
    ) -> Result<Option<T>, StoreError> {
        if let Some(plain) = &personal.plain {
            return Ok(Some(plain.clone()));
        }
        match self.key(personal.key).await? {
            Cached::Erased => Ok(None),
            Cached::Live(key) => {
                let json = key.open(&personal.sealed, &context(personal.key))?;
                serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| StoreError::Decode(format!("personal data: {e}")))
            }
        }
    }

    /// The live subjects `what` covers (read before an erasure, e.g. for its audit record).
    pub async fn covered(
        &self,
        client: &impl GenericClient,
        what: &Erasing,
    ) -> Result<Vec<String>, StoreError> {
        let (condition, value) = what.condition();
        let sql = format!(
            "SELECT DISTINCT subject FROM eventstore.data_key \
             WHERE erased_at IS NULL AND {condition} ORDER BY subject"
        );
        let rows = client.query(&sql, &[value]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Destroys the keys `what` covers, inside the caller's transaction (so that whatever else
    /// the erasure changes commits with it). Answers the subjects erased.
    pub async fn erase(
        &self,
        client: &impl GenericClient,
        what: &Erasing,
    ) -> Result<Vec<String>, StoreError> {
        let (condition, value) = what.condition();
        let sql = format!(
            "UPDATE eventstore.data_key SET wrapped = NULL, erased_at = now() \
             WHERE erased_at IS NULL AND {condition} RETURNING key_id, subject"
        );
        let rows = client.query(&sql, &[value]).await?;
        let mut subjects = Vec::with_capacity(rows.len());
        for row in rows {
            self.remember(row.get(0), Cached::Erased);
            subjects.push(row.get(1));
        }
        subjects.sort();
        subjects.dedup();
        Ok(subjects)
    }

    /// Re-wraps every live data key wrapped by an older master key; answers how many.
    pub async fn rewrap(&self) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let mut count = 0;
        let mut after = Uuid::nil();
        loop {
            let tx = client.transaction().await?;
            let rows = tx
                .query(
                    "SELECT key_id, wrapped FROM eventstore.data_key \
                     WHERE wrapped IS NOT NULL AND key_id > $1 \
                     ORDER BY key_id LIMIT 1000 FOR UPDATE",
                    &[&after],
                )
                .await?;
            for row in &rows {
                let id: Uuid = row.get(0);
                let wrapped: Vec<u8> = row.get(1);
                after = id;
                if self.keyring.needs_rewrap(&wrapped) {
                    let again = self.keyring.rewrap(&wrapped, &context(id))?;
                    tx.execute(
                        "UPDATE eventstore.data_key SET wrapped = $2 WHERE key_id = $1",
                        &[&id, &again],
                    )
                    .await?;
                    count += 1;
                }
            }
            tx.commit().await?;
            if rows.len() < 1000 {
                return Ok(count);
            }
        }
    }
}

/// A deployment's 32-byte secret kept in `table` (one row: `wrapped bytea`), wrapped by the
/// master key under `context`; made on first use (two processes starting together agree on
/// the first one stored). Services key their pseudonyms with such secrets.
pub async fn deployment_secret(
    pool: &Pool,
    keyring: &Keyring,
    table: &str,
    context: &str,
) -> Result<[u8; 32], StoreError> {
    let client = pool.get().await?;
    let (_, fresh) = DataKey::generate();
    client
        .execute(
            &format!("INSERT INTO {table} (wrapped) VALUES ($1) ON CONFLICT DO NOTHING"),
            &[&keyring.wrap(&fresh, context)],
        )
        .await?;
    let wrapped: Vec<u8> = client
        .query_one(&format!("SELECT wrapped FROM {table}"), &[])
        .await?
        .get(0);
    Ok(keyring
        .unwrap(&wrapped, context)?
        .try_into()
        .map_err(|_| secrets::KeyError::Corrupt)?)
}

/// Re-wraps a [`deployment_secret`] with the current master key; answers 1 if it was needed.
pub async fn rewrap_deployment_secret(
    pool: &Pool,
    keyring: &Keyring,
    table: &str,
    context: &str,
) -> Result<usize, StoreError> {
    let client = pool.get().await?;
    let Some(row) = client
        .query_opt(&format!("SELECT wrapped FROM {table}"), &[])
        .await?
    else {
        return Ok(0);
    };
    let wrapped: Vec<u8> = row.get(0);
    if !keyring.needs_rewrap(&wrapped) {
        return Ok(0);
    }
    let again = keyring.rewrap(&wrapped, context)?;
    client
        .execute(&format!("UPDATE {table} SET wrapped = $1"), &[&again])
        .await?;
    Ok(1)
}
