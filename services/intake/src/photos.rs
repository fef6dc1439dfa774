//! Complaint photos: JPEG or PNG (checked by content, not by the declared type), at most 5 MB,
//! sealed with the uploader's data key (erasing the resident leaves them unreadable) and
//! stored through `object_store` under a SHA-256 of uploader and bytes (a retried upload stores
//! nothing new): a local folder by default, any S3-compatible bucket in production.

use std::sync::Arc;

use bytes::Bytes;
use eventstore::personal::Vault;
use object_store::ObjectStore;
use object_store::path::Path;
use secrets::DataKey;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

pub use platform::image::{ImageKind, sniff};

/// Whether `id` is what [`PhotoStore::put`] returns: 64 hex digits and `.jpg` or `.png`.
pub fn is_photo_id(id: &str) -> bool {
    let Some((hash, ext)) = id.split_once('.') else {
        return false;
    };
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && matches!(ext, "jpg" | "png")
}

/// What a sealed photo object starts with; then the key id (16 bytes) and the sealed bytes.
const SEALED_PHOTO: &[u8] = b"HLPHOTO1";

fn context(id: &str) -> String {
    format!("intake.photo:{id}")
}

/// Why a photo was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not a JPEG or PNG.
    #[error("the photo is not a JPEG or PNG image")]
    NotAnImage,
    /// The storage failed.
    #[error("photo storage failed: {0}")]
    Storage(#[from] object_store::Error),
    /// Its key could not be read.
    #[error("the photo's key could not be read: {0}")]
    Key(#[from] eventstore::StoreError),
}

/// Where photos are kept.
#[derive(Clone)]
pub struct PhotoStore {
    store: Arc<dyn ObjectStore>,
}

impl PhotoStore {
    /// Opens `location`: `s3://bucket/prefix` (credentials and endpoint from the usual `AWS_*`
    /// variables), or a local folder (`file:///path` or a plain path), created if missing.
    pub fn open(location: &str) -> Result<PhotoStore, String> {
        let store = platform::storage::open(location)?;
        Ok(PhotoStore { store })
    }

    fn path(id: &str) -> Path {
        Path::from(format!("photos/{}/{id}", &id[..2]))
    }

    /// Stores a photo of `uploader`, sealed with `key` (the uploader's data key, `key_id`),
    /// and returns its id: the same photo from the same uploader has the same id (a retried
    /// upload stores nothing new); from another uploader, another.
    pub async fn put(
        &self,
        bytes: Bytes,
        uploader: &str,
        key_id: Uuid,
        key: &DataKey,
    ) -> Result<(String, ImageKind), PhotoError> {
        let kind = sniff(&bytes).ok_or(PhotoError::NotAnImage)?;
        let mut digest = Sha256::new();
        digest.update(uploader.as_bytes());
        digest.update([0x1f]);
        digest.update(&bytes);
        let id = format!("{}.{}", hex::encode(digest.finalize()), kind.extension());
        let path = Self::path(&id);
        if self.store.head(&path).await.is_err() {
            let mut sealed = SEALED_PHOTO.to_vec();
            sealed.extend_from_slice(key_id.as_bytes());
            sealed.extend_from_slice(&key.seal_bytes(&bytes, &context(&id)));
            self.store.put(&path, Bytes::from(sealed).into()).await?;
        }
        Ok((id, kind))
    }

    /// Whether a photo is stored.
    pub async fn exists(&self, id: &str) -> Result<bool, PhotoError> {
        match self.store.head(&Self::path(id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    /// A stored photo's bytes and media type, opened with its key from `vault` (`None` when it
    /// is not stored, or its key was erased).
    pub async fn get(
        &self,
        id: &str,
        vault: &Vault,
    ) -> Result<Option<(Bytes, ImageKind)>, PhotoError> {
        if !is_photo_id(id) {
            return Ok(None);
        }
        match self.store.get(&Self::path(id)).await {
            Ok(found) => {
                let stored = found.bytes().await?;
                let bytes = match stored.strip_prefix(SEALED_PHOTO) {
                    // Photos stored before they were sealed are served as they are.
                    None => stored,
                    Some(rest) if rest.len() > 16 => {
                        let key_id = Uuid::from_slice(&rest[..16]).expect("16 bytes");
                        let Some(key) = vault.data_key(key_id).await? else {
                            return Ok(None);
                        };
                        match key.open_bytes(&rest[16..], &context(id)) {
                            Ok(plain) => Bytes::from(plain),
                            Err(_) => return Ok(None),
                        }
                    }
                    Some(_) => return Ok(None),
                };
                Ok(sniff(&bytes).map(|kind| (bytes, kind)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Deletes a stored photo (an erasure's); a photo already gone is not an error.
    pub async fn delete(&self, id: &str) -> Result<(), PhotoError> {
        if !is_photo_id(id) {
            return Ok(());
        }
        match self.store.delete(&Self::path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(ImageKind::Jpeg)
        );
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0; 8]);
        assert_eq!(sniff(&png), Some(ImageKind::Png));
        assert_eq!(sniff(b"\x89PNG but really a text file"), None);
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn photo_ids_are_a_hash_and_an_extension() {
        let id = format!("{}.jpg", "ab".repeat(32));
        assert!(is_photo_id(&id));
        assert!(!is_photo_id("../../etc/passwd.jpg"));
        assert!(!is_photo_id(&format!("{}.gif", "ab".repeat(32))));
    }

    #[tokio::test]
    async fn a_photo_is_stored_sealed_once_per_uploader() {
        let dir = std::env::temp_dir().join(format!("heatline-photos-{}", uuid::Uuid::new_v4()));
        let store = PhotoStore::open(dir.to_str().unwrap()).unwrap();
        let (key, _) = DataKey::generate();
        let key_id = Uuid::now_v7();
        let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 7, 7, 7, 7, 7, 7, 7, 7]);
        let (first, _) = store.put(jpeg.clone(), "r1", key_id, &key).await.unwrap();
        let (second, kind) = store.put(jpeg.clone(), "r1", key_id, &key).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(kind, ImageKind::Jpeg);
        assert!(is_photo_id(&first));
        let (other, _) = store.put(jpeg.clone(), "r2", key_id, &key).await.unwrap();
        assert_ne!(other, first, "another uploader's copy is another photo");
        assert!(store.exists(&first).await.unwrap());
        // On disk: the marker, the key id and ciphertext that opens with the key alone.
        let file = dir.join(format!("photos/{}/{first}", &first[..2]));
        let stored = std::fs::read(&file).unwrap();
        assert!(!stored.windows(8).any(|w| w == [7; 8]), "not in clear");
        let rest = stored.strip_prefix(SEALED_PHOTO).expect("sealed");
        assert_eq!(Uuid::from_slice(&rest[..16]).unwrap(), key_id);
        assert_eq!(key.open_bytes(&rest[16..], &context(&first)).unwrap(), jpeg);
        assert!(key.open_bytes(&rest[16..], &context(&other)).is_err());
        store.delete(&first).await.unwrap();
        assert!(!store.exists(&first).await.unwrap());
        store.delete(&first).await.unwrap();
        assert!(matches!(
            store
                .put(Bytes::from_static(b"not an image"), "r1", key_id, &key)
                .await,
            Err(PhotoError::NotAnImage)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
