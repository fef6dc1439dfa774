//! Which master key this process holds: `HEATLINE_MASTER_KEY`, `HEATLINE_MASTER_KEY_FILE`, or
//! `master.key` under the data folder, made on first use.

use std::path::Path;

use secrets::Keyring;

/// The keyring the settings name.
pub fn keyring(key: Option<&str>, file: Option<&Path>, data_dir: &Path) -> anyhow::Result<Keyring> {
    if let Some(text) = key.filter(|k| !k.trim().is_empty()) {
        return Keyring::parse(text).map_err(|e| anyhow::anyhow!("HEATLINE_MASTER_KEY: {e}"));
    }
    if let Some(path) = file {
        let (keyring, _) = Keyring::from_file(path, false)
            .map_err(|e| anyhow::anyhow!("HEATLINE_MASTER_KEY_FILE: {e}"))?;
        return Ok(keyring);
    }
    let path = data_dir.join("master.key");
    let (keyring, created) = Keyring::from_file(&path, true)
        .map_err(|e| anyhow::anyhow!("the master key under --data-dir: {e}"))?;
    if created {
        tracing::warn!(
            path = %path.display(),
            key_id = %keyring.current_id(),
            "made a new master key: back it up, and give every process of this deployment the same \
             key (HEATLINE_MASTER_KEY_FILE): without it, signing keys and personal data cannot be read"
        );
    }
    Ok(keyring)
}
