//! Where uploaded files live (complaint photos, appeal attachments): `object_store` over a
//! local folder by default, or any S3-compatible bucket in production.

use std::sync::Arc;

use object_store::ObjectStore;

/// Opens `location`: `s3://bucket/prefix` (credentials and endpoint from the usual `AWS_*`
/// variables), or a local folder (`file:///path` or a plain path), created if missing.
pub fn open(location: &str) -> Result<Arc<dyn ObjectStore>, String> {
    if location.starts_with("s3://") {
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_url(location)
            .build()
            .map_err(|e| format!("file store {location}: {e}"))?;
        Ok(Arc::new(object_store::prefix::PrefixStore::new(
            s3,
            url::Url::parse(location)
                .map(|u| u.path().trim_matches('/').to_owned())
                .unwrap_or_default(),
        )))
    } else {
        let dir = location.strip_prefix("file://").unwrap_or(location);
        std::fs::create_dir_all(dir).map_err(|e| format!("file folder {dir}: {e}"))?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("file folder {dir}: {e}"))?;
        Ok(Arc::new(local))
    }
}
