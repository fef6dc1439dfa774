//! Tamper evidence: the logs below the horizon are sealed in order into chained, signed Merkle
//! roots, and anyone holding a seal and its key can check an event against it offline.
//!
//! - A [`sealer`] takes both logs (domain events and the public log) past the last seal, below the
//!   oldest running transaction, hashes each event's stored bytes and metadata into a leaf,
//!   builds a Merkle tree over the range (domain events first, then published ones, each in the
//!   readers' order), and stores a [`SealBody`] chained to the previous seal by its hash and
//!   signed with the sealer's own Ed25519 key. Writers never wait: sealing only reads the logs.
//! - [`verify`] re-reads the logs, recomputes every seal and names the first event that differs.
//! - A [`Proof`] carries one seal, one event as stored and its audit path: it checks with
//!   nothing but the seal key's public half.

pub mod keys;
pub mod merkle;
mod proof;
mod records;
pub mod sealer;
pub mod verify;

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

pub use keys::SealKey;
pub use merkle::Hash;
pub use proof::{
    Proof, ProofError, Proving, SealDocument, SealSummary, list_seals, prove, seal_document,
};
pub use records::{Log, SealedEvent};

use crate::position::LogPosition;

/// The first line of every seal body.
const HEADER: &str = "heatline seal v1";

/// The part of one log a seal covers: the events after `after` through `through`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The last position of the previous seal (or the start).
    pub after: LogPosition,
    /// The last position covered (`after` when the range is empty).
    pub through: LogPosition,
    /// How many events it holds.
    pub count: u64,
}

impl Range {
    fn line(&self) -> String {
        format!("{} {} {}", self.after, self.through, self.count)
    }

    fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(' ').collect();
        let [after, through, count] = parts[..] else {
            return Err(format!("a range is `after through count`, not `{text}`"));
        };
        Ok(Range {
            after: parse_position(after)?,
            through: parse_position(through)?,
            count: count
                .parse()
                .map_err(|_| format!("`{count}` is not a count"))?,
        })
    }
}

fn parse_position(text: &str) -> Result<LogPosition, String> {
    let (tx, pos) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a position (tx/position)"))?;
    Ok(LogPosition {
        tx_id: tx.parse().map_err(|_| format!("`{tx}` is not a tx id"))?,
        global_position: pos
            .parse()
            .map_err(|_| format!("`{pos}` is not a position"))?,
    })
}

fn parse_hash(text: &str) -> Result<Hash, String> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("`{text}` is not a SHA-256 hash in hex"))
}

/// What a seal says, as signed. Its text form ([`Self::text`]) is the signed message: a few
/// `name: value` lines, so that anyone can read and re-check it without Heatline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealBody {
    /// 1 for the first seal, then one more each.
    pub seq: i64,
    /// The hash of the previous seal's text (zeros for the first).
    pub previous: Hash,
    /// The domain events covered.
    pub events: Range,
    /// The published events covered.
    pub published: Range,
    /// The Merkle root over their leaves, domain events first.
    pub root: Hash,
    /// When it was made.
    pub sealed_at: DateTime<Utc>,
    /// The id of the key that signs it.
    pub key_id: String,
}

impl SealBody {
    /// The signed text.
    pub fn text(&self) -> String {
        format!(
            "{HEADER}\nseq: {}\nprevious: {}\nevents: {}\npublished: {}\nroot: {}\nsealed_at: {}\nkey: {}\n",
            self.seq,
            hex::encode(self.previous),
            self.events.line(),
            self.published.line(),
            hex::encode(self.root),
            self.sealed_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.key_id,
        )
    }

    /// Reads a body back from its text, which must be exactly what [`Self::text`] writes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("a seal starts with `{HEADER}`"));
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(": "))
                .ok_or_else(|| format!("the seal lacks its `{name}` line"))
        };
        let body = SealBody {
            seq: field("seq")?.parse().map_err(|_| "a bad seq".to_string())?,
            previous: parse_hash(field("previous")?)?,
            events: Range::parse(field("events")?)?,
            published: Range::parse(field("published")?)?,
            root: parse_hash(field("root")?)?,
            sealed_at: DateTime::parse_from_rfc3339(field("sealed_at")?)
                .map_err(|e| format!("a bad sealed_at: {e}"))?
                .with_timezone(&Utc),
            key_id: field("key")?.to_string(),
        };
        if body.text() != text {
            return Err("the seal's text is not in its canonical form".into());
        }
        Ok(body)
    }

    /// The hash the next seal chains to.
    pub fn hash(&self) -> Hash {
        Sha256::digest(self.text().as_bytes()).into()
    }

    /// How many leaves its tree has.
    pub fn size(&self) -> u64 {
        self.events.count + self.published.count
    }
}

/// One leaf as a seal keeps it, to name an event that later differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// Which log.
    pub log: Log,
    /// Where in it.
    pub position: LogPosition,
    /// The event's id.
    pub event_id: uuid::Uuid,
    /// The leaf hash.
    pub hash: Hash,
}

const LEAF_BYTES: usize = 1 + 8 + 8 + 16 + 32;

impl Leaf {
    /// Packs leaves for the seal's `leaves` column.
    pub fn pack(leaves: &[Leaf]) -> Vec<u8> {
        let mut out = Vec::with_capacity(leaves.len() * LEAF_BYTES);
        for leaf in leaves {
            out.push(leaf.log.tag());
            out.extend_from_slice(&leaf.position.tx_id.to_be_bytes());
            out.extend_from_slice(&leaf.position.global_position.to_be_bytes());
            out.extend_from_slice(leaf.event_id.as_bytes());
            out.extend_from_slice(&leaf.hash);
        }
        out
    }

    /// Unpacks the `leaves` column.
    pub fn unpack(bytes: &[u8]) -> Result<Vec<Leaf>, String> {
        if !bytes.len().is_multiple_of(LEAF_BYTES) {
            return Err(format!(
                "the stored leaves are {} bytes, not a multiple of {LEAF_BYTES}",
                bytes.len()
            ));
        }
        bytes
            .chunks_exact(LEAF_BYTES)
            .map(|c| {
                Ok(Leaf {
                    log: Log::from_tag(c[0]).ok_or("a stored leaf names no log")?,
                    position: LogPosition {
                        tx_id: u64::from_be_bytes(c[1..9].try_into().expect("8 bytes")),
                        global_position: i64::from_be_bytes(c[9..17].try_into().expect("8 bytes")),
                    },
                    event_id: uuid::Uuid::from_slice(&c[17..33]).expect("16 bytes"),
                    hash: c[33..65].try_into().expect("32 bytes"),
                })
            })
            .collect()
    }
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} event {} at {}",
            self.log, self.event_id, self.position
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> SealBody {
        SealBody {
            seq: 3,
            previous: [9; 32],
            events: Range {
                after: LogPosition {
                    tx_id: 700,
                    global_position: 10,
                },
                through: LogPosition {
                    tx_id: 745,
                    global_position: 40,
                },
                count: 30,
            },
            published: Range {
                after: LogPosition::START,
                through: LogPosition {
                    tx_id: 745,
                    global_position: 12,
                },
                count: 12,
            },
            root: [4; 32],
            sealed_at: DateTime::parse_from_rfc3339("2026-12-02T01:02:03.456789Z")
                .unwrap()
                .with_timezone(&Utc),
            key_id: "0a1b2c3d4e5f6071".into(),
        }
    }

    #[test]
    fn a_body_reads_back_from_its_text_and_nothing_else_does() {
        let text = body().text();
        assert_eq!(SealBody::parse(&text).unwrap(), body());
        assert!(text.contains("events: 700/10 745/40 30\n"));
        let edited = text.replace("seq: 3", "seq: 03");
        assert!(SealBody::parse(&edited).is_err());
        assert!(SealBody::parse(&text.replace("root", "rot")).is_err());
        assert_eq!(body().size(), 42);
    }

    #[test]
    fn leaves_pack_and_unpack() {
        let leaves = vec![
            Leaf {
                log: Log::Events,
                position: LogPosition {
                    tx_id: u64::MAX,
                    global_position: 1,
                },
                event_id: uuid::Uuid::from_u128(5),
                hash: [1; 32],
            },
            Leaf {
                log: Log::Published,
                position: LogPosition {
                    tx_id: 2,
                    global_position: i64::MAX,
                },
                event_id: uuid::Uuid::from_u128(6),
                hash: [2; 32],
            },
        ];
        assert_eq!(Leaf::unpack(&Leaf::pack(&leaves)).unwrap(), leaves);
        assert!(Leaf::unpack(&[0; 10]).is_err());
    }
}
