//! Connecting to PostgreSQL and migrating the event store's schema.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::error::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct DbConfig {
    /// libpq-style connection settings (`postgres://...` or `host=... user=...`).
    pub pg: tokio_postgres::Config,
    /// The most connections the pool opens.
    pub pool_size: usize,
}

impl DbConfig {
    /// Parses a connection URL; the pool size defaults to 16.
    pub fn from_url(url: &str) -> Result<Self, tokio_postgres::Error> {
        let mut pg = tokio_postgres::Config::from_str(url)?;
        if pg.get_application_name().is_none() {
            pg.application_name("heatline");
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(Duration::from_secs(5));
        }
        Ok(DbConfig { pg, pool_size: 16 })
    }

    /// Sets the pool size.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Builds a connection pool (connections are opened on first use).
    pub fn pool(&self) -> Pool {
        let manager = Manager::from_config(
            self.pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(self.pool_size)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .expect("a pool with a runtime and timeouts always builds")
    }
}

/// The name of the table where refinery records the event store's applied migrations.
pub const MIGRATION_TABLE: &str = "eventstore.refinery_schema_history";

/// Creates or upgrades the `eventstore` schema. Safe to run from several processes at once.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    run_migrations(client, "eventstore", embedded::migrations::runner()).await
}

/// Applies a schema's embedded migrations, recording them in
/// `{schema}.refinery_schema_history`. Processes starting together take turns on an advisory
/// lock, so each migration runs once. Every service migrates its own schema with this.
pub async fn run_migrations(
    client: &mut tokio_postgres::Client,
    schema: &str,
    mut runner: refinery::Runner,
) -> Result<(), StoreError> {
    let lock = format!("SELECT pg_advisory_lock(hashtext('heatline.migrate.{schema}'))");
    let unlock = format!("SELECT pg_advisory_unlock(hashtext('heatline.migrate.{schema}'))");
    client.batch_execute(&lock).await?;
    let outcome = async {
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
        runner
            .set_migration_table_name(format!("{schema}.refinery_schema_history"))
            .run_async(client)
            .await?;
        Ok::<_, StoreError>(())
    }
    .await;
    client.batch_execute(&unlock).await?;
    outcome
}

/// The versions of a schema's embedded migrations, for readiness checks.
pub fn migration_versions(runner: &refinery::Runner) -> Vec<i32> {
    runner
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .collect()
}

/// The migrations this build knows, as `(version, name)`, for readiness checks.
pub fn known_migrations() -> Vec<(i32, String)> {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| (m.version(), m.name().to_owned()))
        .collect()
}

/// A fingerprint of the migrations this build knows, contents included: a database migrated
/// from the same fingerprint has the same schema (test templates are keyed by it).
pub fn migrations_fingerprint() -> u64 {
    let mut fingerprint: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in embedded::migrations::runner().get_migrations() {
        let entry = format!(
            "{}:{}:{};",
            migration.version(),
            migration.name(),
            migration.checksum()
        );
        for byte in entry.bytes() {
            fingerprint = (fingerprint ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fingerprint
}
