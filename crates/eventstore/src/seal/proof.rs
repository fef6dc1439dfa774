//! Seals as documents, and proofs that one event is in one seal: checkable offline with the
//! seal key's public half and nothing else.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{key_id, signature_holds};
use super::merkle::{self, Hash};
use super::records::{Log, SealedEvent};
use super::{Leaf, SealBody};
use crate::error::StoreError;
use crate::store::PgEventStore;

/// One seal as downloaded: its signed text, the signature and the signer's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SealDocument {
    /// The seal's number.
    pub seq: i64,
    /// The signed text (`heatline seal v1` and its lines).
    pub body: String,
    /// The Ed25519 signature over `body`, in base64.
    pub signature: String,
    /// The id of the key that signed it.
    pub key_id: String,
    /// That key's public half, in base64. Check it against the key you pinned
    /// (`GET /api/v1/audit/seal-keys`) rather than trusting a file's own copy.
    pub public_key: String,
}

/// Why a seal or a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The document is not well formed.
    #[error("not a seal or proof: {0}")]
    Malformed(String),
    /// The seal was signed by another key than the one given.
    #[error("the seal is signed by key {signed_by}, not by the key given ({given})")]
    OtherKey {
        /// The key the seal names.
        signed_by: String,
        /// The id of the key checked against.
        given: String,
    },
    /// The signature does not hold: the seal's text was altered.
    #[error("the seal's signature does not hold: its text was altered")]
    BadSignature,
    /// The event's leaf is not in the seal's tree at that place.
    #[error("the event is not the one sealed: its leaf does not lead to the seal's root")]
    NotIncluded,
}

fn decode_key(text: &str) -> Result<[u8; 32], ProofError> {
    STANDARD
        .decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ProofError::Malformed("a public key is 32 bytes in base64".into()))
}

impl SealDocument {
    /// The public key the document carries.
    pub fn carried_key(&self) -> Result<[u8; 32], ProofError> {
        decode_key(&self.public_key)
    }

    /// Checks the signature with `public_key` and answers the body.
    pub fn check(&self, public_key: &[u8; 32]) -> Result<SealBody, ProofError> {
        let body = SealBody::parse(&self.body).map_err(ProofError::Malformed)?;
        let given = key_id(public_key);
        if body.key_id != given {
            return Err(ProofError::OtherKey {
                signed_by: body.key_id,
                given,
            });
        }
        let signature = STANDARD
            .decode(&self.signature)
            .map_err(|_| ProofError::Malformed("the signature is not base64".into()))?;
        if !signature_holds(public_key, self.body.as_bytes(), &signature) {
            return Err(ProofError::BadSignature);
        }
        Ok(body)
    }
}

/// One event, as stored, and the path from its leaf to a seal's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Proof {
    /// The seal that covers the event.
    pub seal: SealDocument,
    /// The event exactly as the log holds it.
    pub event: SealedEvent,
    /// Its leaf's index in the seal's tree (domain events first, then published ones).
    pub index: u64,
    /// How many leaves the tree has.
    pub size: u64,
    /// The sibling hashes from the leaf up (hex), as in RFC 9162's audit paths.
    pub path: Vec<String>,
}

impl Proof {
    /// Checks the seal's signature with `public_key`, then that the event's leaf leads to the
    /// seal's root; answers the seal's body.
    pub fn check(&self, public_key: &[u8; 32]) -> Result<SealBody, ProofError> {
        let body = self.seal.check(public_key)?;
        if self.size != body.size() {
            return Err(ProofError::Malformed(format!(
                "the proof's tree has {} leaves, the seal {}",
                self.size,
                body.size()
            )));
        }
        let leaf = self.event.leaf_hash().map_err(ProofError::Malformed)?;
        let path = self
            .path
            .iter()
            .map(|h| {
                hex::decode(h)
                    .ok()
                    .and_then(|b| Hash::try_from(b).ok())
                    .ok_or_else(|| ProofError::Malformed(format!("`{h}` is not a hash")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if merkle::verify_path(&leaf, self.index, self.size, &path, &body.root) {
            Ok(body)
        } else {
            Err(ProofError::NotIncluded)
        }
    }
}

/// What [`prove`] found.
#[derive(Debug)]
pub enum Proving {
    /// The proof.
    Proof(Box<Proof>),
    /// The event exists and no seal covers it yet (sealing runs every minute or so).
    NotSealedYet,
    /// No event has that id.
    NoSuchEvent,
}

/// One stored seal as a document.
pub async fn seal_document(
    store: &PgEventStore,
    seq: i64,
) -> Result<Option<SealDocument>, StoreError> {
    let client = store.pool().get().await?;
    let row = client
        .query_opt(
            "SELECT s.body, s.signature, s.key_id, k.public_key
             FROM eventstore.seal s JOIN eventstore.seal_key k USING (key_id)
             WHERE s.seq = $1",
            &[&seq],
        )
        .await?;
    Ok(row.map(|row| SealDocument {
        seq,
        body: row.get(0),
        signature: STANDARD.encode(row.get::<_, Vec<u8>>(1)),
        key_id: row.get(2),
        public_key: STANDARD.encode(row.get::<_, Vec<u8>>(3)),
    }))
}

/// The proof that event `event_id` (of either log) is in the seal that covers it.
pub async fn prove(store: &PgEventStore, event_id: Uuid) -> Result<Proving, StoreError> {
    let client = store.pool().get().await?;
    let mut event = None;
    for log in [Log::Events, Log::Published] {
        if let Some(row) = client.query_opt(log.read_one(), &[&event_id]).await? {
            event = Some(SealedEvent::from_row(log, &row)?);
            break;
        }
    }
    let Some(event) = event else {
        return Ok(Proving::NoSuchEvent);
    };
    let position = event.position().map_err(StoreError::Decode)?;
    let find = match event.log {
        Log::Events => {
            "SELECT seq, leaves FROM eventstore.seal
             WHERE (events_through_tx, events_through_pos) >= ($1::text::xid8, $2)
             ORDER BY seq LIMIT 1"
        }
        Log::Published => {
            "SELECT seq, leaves FROM eventstore.seal
             WHERE (published_through_tx, published_through_pos) >= ($1::text::xid8, $2)
             ORDER BY seq LIMIT 1"
        }
    };
    let Some(row) = client
        .query_opt(find, &[&position.tx_id_text(), &position.global_position])
        .await?
    else {
        return Ok(Proving::NotSealedYet);
    };
    let seq: i64 = row.get(0);
    let leaves = Leaf::unpack(&row.get::<_, Vec<u8>>(1)).map_err(StoreError::Decode)?;
    // The seal kept the event's place; an event that is not there was added after sealing,
    // and the path of the leaf at its place will not lead its leaf to the root.
    let index = leaves
        .iter()
        .position(|l| l.log == event.log && l.position == position)
        .ok_or_else(|| {
            StoreError::Decode(format!(
                "seal {seq} covers {position} and holds no event there: run `heatline verify`"
            ))
        })?;
    let hashes: Vec<Hash> = leaves.iter().map(|l| l.hash).collect();
    let seal = seal_document(store, seq)
        .await?
        .ok_or_else(|| StoreError::Decode(format!("seal {seq} vanished")))?;
    Ok(Proving::Proof(Box::new(Proof {
        seal,
        event,
        index: index as u64,
        size: leaves.len() as u64,
        path: merkle::path(&hashes, index)
            .iter()
            .map(hex::encode)
            .collect(),
    })))
}

/// A seal in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SealSummary {
    /// Its number.
    pub seq: i64,
    /// When it was made.
    pub sealed_at: chrono::DateTime<chrono::Utc>,
    /// Domain events it covers.
    pub events: i64,
    /// Published events it covers.
    pub published: i64,
    /// Its Merkle root (hex).
    pub root: String,
    /// The hash of its text, which the next seal chains to (hex).
    pub hash: String,
    /// The key that signed it.
    pub key_id: String,
}

/// Seals, newest first: those numbered below `before` (all when `None`) and made at or before
/// `sealed_by` (any time when `None`), at most `limit`.
pub async fn list_seals(
    store: &PgEventStore,
    before: Option<i64>,
    sealed_by: Option<chrono::DateTime<chrono::Utc>>,
    limit: i64,
) -> Result<Vec<SealSummary>, StoreError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT seq, sealed_at, events_count, published_count, body, hash, key_id
             FROM eventstore.seal
             WHERE ($1::bigint IS NULL OR seq < $1) AND ($2::timestamptz IS NULL OR sealed_at <= $2)
             ORDER BY seq DESC LIMIT $3",
            &[&before, &sealed_by, &limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let body = SealBody::parse(row.get(4)).map_err(StoreError::Decode)?;
            Ok(SealSummary {
                seq: row.get(0),
                sealed_at: row.get(1),
                events: row.get(2),
                published: row.get(3),
                root: hex::encode(body.root),
                hash: hex::encode(row.get::<_, Vec<u8>>(5)),
                key_id: row.get(6),
            })
        })
        .collect()
}
