//! Heatline's keys at rest.
//!
//! - A [`Keyring`] holds the master key given in configuration (and the previous ones while a
//!   rotation is under way). It never protects data itself: it *wraps* other keys (identity's
//!   token-signing keys, the sealer's key, each data subject's data key), so that a copy of the
//!   database alone reads none of them.
//! - A [`DataKey`] encrypts one data subject's personal fields. Destroying the wrapped data key
//!   erases the subject's data everywhere it was written (crypto-shredding).
//!
//! Both use AES-256-GCM with a random 96-bit nonce and bind each ciphertext to what it belongs
//! to (the associated data), so a blob copied onto another row does not open.

#![warn(missing_docs)]

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The first bytes of a blob wrapped by a master key.
const WRAPPED: &[u8; 4] = b"HLW1";
/// The first bytes of a value encrypted with a data key.
const SEALED: &[u8; 4] = b"HLD1";
const NONCE_LEN: usize = 12;
const ID_LEN: usize = 8;

/// What can go wrong with keys.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// A configured key is not 32 bytes in base64 or hex.
    #[error(
        "a master key must be 32 bytes written in base64 or hex (`heatline keys master-key` makes one): {0}"
    )]
    BadKey(String),
    /// No key was configured.
    #[error("no master key is configured")]
    Missing,
    /// The blob was wrapped by a master key this keyring does not hold.
    #[error(
        "wrapped by master key {0}, which is not configured (give it as a previous key until `heatline keys rewrap` has run)"
    )]
    UnknownMasterKey(String),
    /// The blob is not one of ours, was altered, or belongs to another row.
    #[error("the ciphertext does not open: altered, truncated, or not for this record")]
    Corrupt,
    /// The key file could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// One master key and its id (the first 8 bytes of a hash of it; safe to show).
#[derive(Clone)]
struct MasterKey {
    id: [u8; ID_LEN],
    cipher: Aes256Gcm,
}

impl MasterKey {
    fn new(bytes: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"heatline master key id\0")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        MasterKey {
            id,
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(bytes)),
        }
    }
}

/// The master key in use and the previous ones still accepted for unwrapping.
#[derive(Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &hex::encode(self.current.id))
            .field(
                "previous",
                &self
                    .previous
                    .iter()
                    .map(|k| hex::encode(k.id))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Reads a key written in base64 (standard, padded) or hex.
fn parse_key(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| KeyError::BadKey(e.to_string()))?
    } else {
        STANDARD
            .decode(text)
            .map_err(|e| KeyError::BadKey(format!("not base64 ({e})")))?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| KeyError::BadKey(format!("{} bytes, not 32", b.len())))
}

/// A new random 32-byte key in base64.
pub fn new_key_text() -> String {
    STANDARD.encode(rand::random::<[u8; 32]>())
}

impl Keyring {
    /// A keyring from raw keys: the first is current, the rest are previous.
    pub fn from_bytes(current: [u8; 32], previous: &[[u8; 32]]) -> Self {
        Keyring {
            current: MasterKey::new(current),
            previous: previous.iter().map(|k| MasterKey::new(*k)).collect(),
        }
    }

    /// Parses keys written one per line or separated by commas, current first; blank lines and
    /// lines starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(parse_key)
            .collect::<Result<Vec<_>, _>>()?;
        let (current, previous) = keys.split_first().ok_or(KeyError::Missing)?;
        Ok(Keyring::from_bytes(*current, previous))
    }

    /// Reads the key file at `path`; when it does not exist and `create` is set, writes a new
    /// key there first (readable by its owner only).
    pub fn from_file(path: &Path, create: bool) -> Result<(Self, bool), KeyError> {
        let io = |e: std::io::Error| KeyError::Io(format!("{}: {e}", path.display()));
        let created = create && !path.exists() && Self::write_new(path).map_err(io)?;
        let text = std::fs::read_to_string(path).map_err(io)?;
        Ok((Keyring::parse(&text)?, created))
    }

    /// Writes a new key file at `path` unless one appears meanwhile (another process starting
    /// at the same moment): written aside, then linked into place, so no reader ever sees half
    /// a file. Answers whether this call made it.
    fn write_new(path: &Path) -> std::io::Result<bool> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let aside = path.with_extension(format!("new-{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&aside)?;
        writeln!(
            file,
            "# Heatline's master key (current first, then previous ones during a rotation).\n\
             # Without it, personal data and signing keys in the database cannot be read: back it up.\n{}",
            new_key_text()
        )?;
        file.sync_all()?;
        let linked = std::fs::hard_link(&aside, path);
        std::fs::remove_file(&aside)?;
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The id of the current master key (hex; safe to log).
    pub fn current_id(&self) -> String {
        hex::encode(self.current.id)
    }

    /// The ids of every key held, current first.
    pub fn ids(&self) -> Vec<String> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| hex::encode(k.id))
            .collect()
    }

    /// Encrypts `secret` with the current master key, bound to `context` (what it is and
    /// whose: `identity.signing_key:<kid>`).
    pub fn wrap(&self, secret: &[u8], context: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any message this size");
        let mut blob = Vec::with_capacity(4 + ID_LEN + NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(WRAPPED);
        blob.extend_from_slice(&self.current.id);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    /// The id of the master key that wrapped `blob`, if it is a wrapped blob at all.
    pub fn wrapped_by(blob: &[u8]) -> Option<String> {
        (blob.len() > 4 + ID_LEN && blob.starts_with(WRAPPED))
            .then(|| hex::encode(&blob[4..4 + ID_LEN]))
    }

    /// Whether `blob` was wrapped by another key than the current one (a rotation's leftover).
    pub fn needs_rewrap(&self, blob: &[u8]) -> bool {
        Self::wrapped_by(blob).is_some_and(|id| id != self.current_id())
    }

    /// Decrypts a blob [`Self::wrap`] made with any key held, checking `context`.
    pub fn unwrap(&self, blob: &[u8], context: &str) -> Result<Vec<u8>, KeyError> {
        if blob.len() < 4 + ID_LEN + NONCE_LEN || !blob.starts_with(WRAPPED) {
            return Err(KeyError::Corrupt);
        }
        let id = &blob[4..4 + ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| KeyError::UnknownMasterKey(hex::encode(id)))?;
        let nonce: [u8; NONCE_LEN] = blob[4 + ID_LEN..4 + ID_LEN + NONCE_LEN]
            .try_into()
            .expect("checked length");
        key.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &blob[4 + ID_LEN + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Corrupt)
    }

    /// Unwraps `blob` and wraps it again with the current key (rotation).
    pub fn rewrap(&self, blob: &[u8], context: &str) -> Result<Vec<u8>, KeyError> {
        Ok(self.wrap(&self.unwrap(blob, context)?, context))
    }
}

/// A data subject's key: encrypts that subject's personal fields.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A new random key, and its bytes (to be wrapped and stored).
    pub fn generate() -> (Self, [u8; 32]) {
        let bytes: [u8; 32] = rand::random();
        (DataKey::from_bytes(&bytes), bytes)
    }

    /// The key whose bytes were stored.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        DataKey {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*bytes)),
        }
    }

    /// The key from stored bytes of any length (32 expected).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| KeyError::Corrupt)?;
        Ok(DataKey::from_bytes(bytes))
    }

    /// Encrypts `value`, bound to `context`, as base64 text (it goes into JSON payloads).
    pub fn seal(&self, value: &str, context: &str) -> String {
        STANDARD.encode(self.seal_bytes(value.as_bytes(), context))
    }

    /// Encrypts `value`, bound to `context`: a marker, the nonce and the ciphertext.
    pub fn seal_bytes(&self, value: &[u8], context: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: value,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any message this size");
        let mut blob = Vec::with_capacity(4 + NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(SEALED);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    /// Decrypts what [`Self::seal`] made with this key and `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, KeyError> {
        let blob = STANDARD.decode(sealed).map_err(|_| KeyError::Corrupt)?;
        String::from_utf8(self.open_bytes(&blob, context)?).map_err(|_| KeyError::Corrupt)
    }

    /// Decrypts what [`Self::seal_bytes`] made with this key and `context`.
    pub fn open_bytes(&self, blob: &[u8], context: &str) -> Result<Vec<u8>, KeyError> {
        if blob.len() < 4 + NONCE_LEN || !blob.starts_with(SEALED) {
            return Err(KeyError::Corrupt);
        }
        self.cipher
            .decrypt(
                &Nonce::from(
                    <[u8; NONCE_LEN]>::try_from(&blob[4..4 + NONCE_LEN]).expect("checked length"),
                ),
                Payload {
                    msg: &blob[4 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_secret_opens_with_its_context_only() {
        let ring = Keyring::from_bytes([7; 32], &[]);
        let blob = ring.wrap(b"signing key bytes", "identity.signing_key:k1");
        assert_eq!(
            ring.unwrap(&blob, "identity.signing_key:k1").unwrap(),
            b"signing key bytes"
        );
        assert_eq!(
            ring.unwrap(&blob, "identity.signing_key:k2"),
            Err(KeyError::Corrupt)
        );
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            ring.unwrap(&flipped, "identity.signing_key:k1"),
            Err(KeyError::Corrupt)
        );
        assert!(!blob.windows(5).any(|w| w == b"signi"));
    }

    #[test]
    fn a_rotation_reads_old_blobs_and_rewraps_them_under_the_new_key() {
        let old = Keyring::from_bytes([1; 32], &[]);
        let blob = old.wrap(b"secret", "x");
        let rotating = Keyring::from_bytes([2; 32], &[[1; 32]]);
        assert!(rotating.needs_rewrap(&blob));
        let rewrapped = rotating.rewrap(&blob, "x").unwrap();
        assert!(!rotating.needs_rewrap(&rewrapped));
        let after = Keyring::from_bytes([2; 32], &[]);
        assert_eq!(after.unwrap(&rewrapped, "x").unwrap(), b"secret");
        assert_eq!(
            after.unwrap(&blob, "x"),
            Err(KeyError::UnknownMasterKey(old.current_id()))
        );
    }

    #[test]
    fn keys_are_read_in_base64_or_hex_current_first_and_bad_ones_are_named() {
        let text = format!(
            "# comment\n{}\n{}\n",
            STANDARD.encode([3u8; 32]),
            hex::encode([4u8; 32])
        );
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(
            ring.ids(),
            vec![
                Keyring::from_bytes([3; 32], &[]).current_id(),
                Keyring::from_bytes([4; 32], &[]).current_id()
            ]
        );
        assert!(
            matches!(Keyring::parse("c2hvcnQ="), Err(KeyError::BadKey(m)) if m.contains("5 bytes"))
        );
        assert_eq!(
            Keyring::parse("# nothing\n").unwrap_err(),
            KeyError::Missing
        );
    }

    #[test]
    fn a_new_key_file_is_written_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("heatline-keys-{}", rand::random::<u64>()));
        let path = dir.join("master.key");
        let (first, created) = Keyring::from_file(&path, true).unwrap();
        assert!(created);
        let (again, created) = Keyring::from_file(&path, true).unwrap();
        assert!(!created);
        assert_eq!(first.current_id(), again.current_id());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_data_key_seals_text_that_only_it_opens() {
        let (key, bytes) = DataKey::generate();
        let sealed = key.seal("13800138000", "complaint:c1:phone");
        assert!(!sealed.contains("13800138000"));
        let same = DataKey::from_slice(&bytes).unwrap();
        assert_eq!(
            same.open(&sealed, "complaint:c1:phone").unwrap(),
            "13800138000"
        );
        assert_eq!(
            same.open(&sealed, "complaint:c2:phone"),
            Err(KeyError::Corrupt)
        );
        let (other, _) = DataKey::generate();
        assert_eq!(
            other.open(&sealed, "complaint:c1:phone"),
            Err(KeyError::Corrupt)
        );
    }
}
