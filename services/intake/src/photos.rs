//! Complaint photos: JPEG or PNG (checked by content, not by the declared type), at most 5 MB,
//! stored through `object_store` under their SHA-256 (a retried upload stores nothing new): a
//! local folder by default, any S3-compatible bucket in production.

use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;
use sha2::{Digest, Sha256};

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// What a photo's bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (its 8-byte signature and an IHDR chunk).
    Png,
}

impl ImageKind {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }
}

/// Reads the kind from the bytes themselves.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() >= 4 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.len() >= 16 && bytes.starts_with(PNG) && &bytes[12..16] == b"IHDR" {
        Some(ImageKind::Png)
    } else {
        None
    }
}

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

/// Why a photo was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not a JPEG or PNG.
    #[error("the photo is not a JPEG or PNG image")]
    NotAnImage,
    /// The storage failed.
    #[error("photo storage failed: {0}")]
    Storage(#[from] object_store::Error),
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

    /// Stores a photo and returns its id.
    pub async fn put(&self, bytes: Bytes) -> Result<(String, ImageKind), PhotoError> {
        let kind = sniff(&bytes).ok_or(PhotoError::NotAnImage)?;
        let id = format!(
            "{}.{}",
            hex::encode(Sha256::digest(&bytes)),
            kind.extension()
        );
        let path = Self::path(&id);
        if self.store.head(&path).await.is_err() {
            self.store.put(&path, bytes.into()).await?;
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

    /// A stored photo's bytes and media type.
    pub async fn get(&self, id: &str) -> Result<Option<(Bytes, ImageKind)>, PhotoError> {
        if !is_photo_id(id) {
            return Ok(None);
        }
        match self.store.get(&Self::path(id)).await {
            Ok(found) => {
                let bytes = found.bytes().await?;
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
    async fn a_photo_stored_twice_is_one_photo() {
        let dir = std::env::temp_dir().join(format!("heatline-photos-{}", uuid::Uuid::new_v4()));
        let store = PhotoStore::open(dir.to_str().unwrap()).unwrap();
        let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        let (first, _) = store.put(jpeg.clone()).await.unwrap();
        let (second, kind) = store.put(jpeg.clone()).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(kind, ImageKind::Jpeg);
        assert!(store.exists(&first).await.unwrap());
        assert_eq!(store.get(&first).await.unwrap().unwrap().0, jpeg);
        assert!(matches!(
            store.put(Bytes::from_static(b"not an image")).await,
            Err(PhotoError::NotAnImage)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
