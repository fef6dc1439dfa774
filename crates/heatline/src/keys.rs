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
}

pub async fn run(database: &Database, command: KeysCommand) -> anyhow::Result<()> {
    database.migrate().await?;
    let store = PgEventStore::new(&database.config);
    let identity = Identity::open(store, Arc::new(SystemClock), Default::default()).await?;
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
    }
    Ok(())
}
