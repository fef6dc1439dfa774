//! Which PostgreSQL to use: `DATABASE_URL`, or a private cluster under the data folder.

use std::path::Path;

use anyhow::Context;
use eventstore::DbConfig;
use localpg::{Cluster, ClusterOptions};
use tokio_postgres::NoTls;

/// The database the process works on.
pub struct Database {
    pub config: DbConfig,
    /// The master key (and previous ones during a rotation).
    pub keyring: secrets::Keyring,
    /// The private cluster, when this process started or attached to one.
    cluster: Option<Cluster>,
}

const PRIVATE_DATABASE: &str = "heatline";

impl Database {
    pub async fn open(
        url: Option<&str>,
        data_dir: &Path,
        keyring: secrets::Keyring,
    ) -> anyhow::Result<Database> {
        if let Some(url) = url.filter(|u| !u.is_empty()) {
            let config =
                DbConfig::from_url(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
            return Ok(Database {
                config,
                keyring,
                cluster: None,
            });
        }
        let root = data_dir.join("postgres");
        let cluster =
            tokio::task::spawn_blocking(move || Cluster::start(&root, &ClusterOptions::default()))
                .await?
                .context(
                    "starting the private PostgreSQL cluster (set DATABASE_URL to use another)",
                )?;
        let (admin, connection) = tokio_postgres::connect(&cluster.url("postgres"), NoTls).await?;
        tokio::spawn(connection);
        let exists = admin
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&PRIVATE_DATABASE],
            )
            .await?
            .is_some();
        if !exists {
            admin
                .batch_execute(&format!("CREATE DATABASE {PRIVATE_DATABASE}"))
                .await?;
        }
        let config = DbConfig::from_url(&cluster.url(PRIVATE_DATABASE))?;
        Ok(Database {
            config,
            keyring,
            cluster: Some(cluster),
        })
    }

    /// Identity on this database, on the system clock, with this process's master key.
    pub async fn identity(&self) -> anyhow::Result<std::sync::Arc<identity::Identity>> {
        self.identity_at(std::sync::Arc::new(platform::clock::SystemClock))
            .await
    }

    /// Identity on this database reading the time from `clock` (the demo's morning).
    pub async fn identity_at(
        &self,
        clock: std::sync::Arc<dyn platform::clock::Clock>,
    ) -> anyhow::Result<std::sync::Arc<identity::Identity>> {
        Ok(identity::Identity::open(
            eventstore::PgEventStore::new(&self.config),
            clock,
            Default::default(),
            self.keyring.clone(),
        )
        .await?)
    }

    /// Applies every migration.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let (mut client, connection) = self
            .config
            .pg
            .connect(NoTls)
            .await
            .context("connecting to PostgreSQL")?;
        tokio::spawn(connection);
        eventstore::migrate(&mut client)
            .await
            .context("migrating the event store")?;
        identity::migrate(&mut client)
            .await
            .context("migrating identity")?;
        intake::migrate(&mut client)
            .await
            .context("migrating intake")?;
        dispatch::migrate(&mut client)
            .await
            .context("migrating dispatch")?;
        credit::migrate(&mut client)
            .await
            .context("migrating credit")?;
        Ok(())
    }

    /// Stops the private cluster if this process started it; a command run beside a serving
    /// `heatline` leaves that server's database running.
    pub fn close(&self) {
        if let Some(cluster) = self.cluster.as_ref().filter(|c| c.started_here())
            && let Err(error) = cluster.stop()
        {
            tracing::warn!(%error, "the private PostgreSQL did not stop cleanly");
        }
    }
}
