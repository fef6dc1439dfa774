//! `heatline keys rotate`: a new token-signing key, published at once and signing a minute
//! later; keys no valid token can name any more are retired.

use std::sync::Arc;

use eventstore::PgEventStore;
use identity::Identity;
use platform::clock::{Clock, SystemClock};

use crate::database::Database;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Add a signing key and retire superseded ones.
    Rotate,
    /// List the published keys.
    List,
    /// Print a new random master key (base64), to configure as HEATLINE_MASTER_KEY or in the
    /// key file.
    NewMasterKey,
    /// After a master-key rotation (new key first, old ones after it): wrap every stored key
    /// with the new master key, so that the old one can be removed.
    Rewrap,
}

pub async fn run(database: &Database, command: KeysCommand) -> anyhow::Result<()> {
    database.migrate().await?;
    let store = PgEventStore::new(&database.config);
    let identity = Identity::open(
        store.clone(),
        Arc::new(SystemClock),
        Default::default(),
        database.keyring.clone(),
    )
    .await?;
    let now = SystemClock.now();
    match command {
        KeysCommand::Rotate => {
            let retired = identity
                .keys()
                .retire_superseded(now, identity::tokens::ACCESS_TOKEN_LIFETIME)
                .await?;
            let kid = identity.keys().rotate(now).await?;
            println!(
                "added key {kid}: published now, signing from {}; retired {retired} superseded key(s)",
                (now + identity::keys::PUBLISH_BEFORE_SIGNING).to_rfc3339()
            );
        }
        KeysCommand::List => {
            for key in identity.keys().jwks().keys {
                println!("{}", key.kid);
            }
        }
        KeysCommand::Rewrap => {
            let signing = identity.keys().rewrap().await?;
            let seal_keys = eventstore::seal::keys::rewrap(&store, &database.keyring).await?;
            let data_keys = identity.vault().rewrap().await?;
            let pseudonym = intake::privacy::rewrap(store.pool(), &database.keyring).await?
                + identity.rewrap_resident_ids().await?;
            println!(
                "re-wrapped with master key {}: {signing} token-signing key(s), {seal_keys} seal key(s), \
                 {data_keys} personal-data key(s), {pseudonym} pseudonym key(s)",
                database.keyring.current_id()
            );
        }
        KeysCommand::NewMasterKey => unreachable!("answered before the database opens"),
    }
    Ok(())
}
