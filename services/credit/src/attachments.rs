//! Appeal attachments: JPEG, PNG or PDF (checked by content), at most 5 MB each, kept in the
//! same file store as complaint photos under their SHA-256 (a retried upload stores nothing new).

use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;
use sha2::{Digest, Sha256};

/// The largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// The most attachments on one appeal.
pub const MAX_ATTACHMENTS: usize = 5;

/// The extension of what the bytes are, when accepted.
pub fn kind(bytes: &[u8]) -> Option<&'static str> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.len() >= 16 && bytes.starts_with(PNG) && &bytes[12..16] == b"IHDR" {
        Some("png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("pdf")
    } else {
        None
    }
}

/// Where attachments are kept.
#[derive(Clone)]
pub struct Attachments {
    store: Arc<dyn ObjectStore>,
}

impl Attachments {
    /// Opens the file store at `location` (see [`platform::storage::open`]).
    pub fn open(location: &str) -> Result<Attachments, String> {
        Ok(Attachments {
            store: platform::storage::open(location)?,
        })
    }

    /// Stores an attachment whose kind was checked; returns its id (`<sha256>.<ext>`).
    pub async fn put(&self, bytes: Bytes, ext: &str) -> Result<String, object_store::Error> {
        let id = format!("{}.{ext}", hex::encode(Sha256::digest(&bytes)));
        let path = Path::from(format!("appeals/{}/{id}", &id[..2]));
        if self.store.head(&path).await.is_err() {
            self.store.put(&path, bytes.into()).await?;
        }
        Ok(id)
    }
}
