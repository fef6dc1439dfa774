//! Heatline intake: where a cold home enters the system.
//!
//! Complaints come from the resident app and the WeChat mini-program, from hotline operators
//! filing on a caller's behalf, from the city's 12345 platform (signed pushes, status sent
//! back) and from civic-reporting apps through Open311 GeoReport v2. Each is routed through the
//! building registry to its district, heat-exchange station and supplier, merged into its
//! household's open complaint when there is one, and grouped into an incident when many homes
//! of one building or station go cold together.

#![warn(missing_docs)]

pub mod complaints;
pub mod domain;
pub mod episodes;
pub mod hotline;
pub mod households;
pub mod incidents;
pub mod input;
mod known_sensors;
pub mod mqtt;
pub mod network;
pub mod news;
pub mod open311;
pub mod openapi;
pub mod photos;
pub mod policy;
pub mod privacy;
mod projection;
pub mod readings;
pub mod registry;
mod routes;
pub mod sensors;
pub mod silence;
pub mod stop_heating;
pub mod supply;
pub mod temperatures;
pub mod views;

use std::sync::Arc;

use crate::domain::erasure::ErasureScope;
use actix_web::web;
use chrono::Duration;
use eventstore::{EventMetadata, PgEventStore, StoreError, SubscriptionHandle};
use platform::clock::Clock;

use crate::complaints::{Complaints, Limits};
use crate::hotline::HotlineConfig;
use crate::incidents::IncidentRules;
use crate::open311::Open311Key;

use crate::domain::values::Pseudonyms;
use crate::photos::PhotoStore;
use crate::registry::Registry;
use eventstore::personal::Vault;
use secrets::Keyring;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// `heatline_complaints_total{channel,outcome}`.
pub const COMPLAINTS: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_complaints_total",
    help: "Complaints filed, by channel and outcome.",
};

/// The name of the table where refinery records intake's applied migrations.
pub const MIGRATION_TABLE: &str = "intake.refinery_schema_history";

/// Creates or upgrades the `intake` schema.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    eventstore::db::run_migrations(client, "intake", embedded::migrations::runner()).await
}

/// The versions of intake's migrations, for readiness checks.
pub fn known_migrations() -> Vec<i32> {
    eventstore::db::migration_versions(&embedded::migrations::runner())
}

/// How intake runs.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Merging and rate limits.
    pub limits: Limits,
    /// When complaints become an incident.
    pub incidents: IncidentRules,
    /// Where photos are kept: `s3://bucket/prefix` or a local folder.
    pub photo_store: String,
    /// The 12345 platform; without it, its endpoint answers 503 `hotline_not_configured`.
    pub hotline: Option<HotlineConfig>,
    /// The Open311 clients allowed to file.
    pub open311_keys: Vec<Open311Key>,
    /// How long a complaint's personal data is kept after it closed
    /// ([`privacy::DEFAULT_RETENTION`] unless configured).
    pub retention: Duration,
    /// When stop-heating applications close.
    pub stop_heating: platform::stop_heating::CityTerms,
    /// Sensor readings: the bulk push's secret and how long raw readings are kept.
    pub readings: readings::ReadingsConfig,
    /// The MQTT broker that sensors publish readings to; none, no subscriber.
    pub mqtt: Option<mqtt::MqttConfig>,
    /// When room sensors' readings open a low-temperature episode, and when a sensor is silent.
    pub episodes: episodes::EpisodeRules,
    /// When a station's telemetry shows a leak in its network.
    pub network: network::NetworkRules,
    /// When a station's rooms falling together raise a supply alert.
    pub supply: supply::SupplyRules,
}

impl IntakeConfig {
    /// The defaults, keeping photos under `photo_store`.
    pub fn new(photo_store: impl Into<String>) -> Self {
        IntakeConfig {
            limits: Limits::default(),
            incidents: IncidentRules {
                households: 5,
                window: Duration::hours(2),
            },
            photo_store: photo_store.into(),
            hotline: None,
            open311_keys: Vec::new(),
            retention: privacy::DEFAULT_RETENTION,
            stop_heating: platform::stop_heating::CityTerms::default(),
            readings: readings::ReadingsConfig::default(),
            mqtt: None,
            episodes: episodes::EpisodeRules::default(),
            network: network::NetworkRules::default(),
            supply: supply::SupplyRules::default(),
        }
    }
}

/// The intake service.
pub struct Intake {
    registry: Registry,
    complaints: Complaints,
    store: PgEventStore,
    clock: Arc<dyn Clock>,
    photos: PhotoStore,
    vault: Vault,
    pseudonyms: Pseudonyms,
    readings: Arc<readings::Readings>,
    /// The broker's connection options and the topic prefix, checked at opening.
    mqtt: Option<(rumqttc::MqttOptions, String)>,
    config: IntakeConfig,
}

pub use platform::background::BackgroundTask;

/// Intake's background work: the incident watcher, dispatch's news and the 12345 status feed. Dropping it stops
/// them.
pub struct Background {
    /// The registry's refresh.
    pub registry_refresh: BackgroundTask,
    /// The incident watcher's subscription.
    pub incidents: SubscriptionHandle,
    /// The subscription to dispatch's news.
    pub dispatch_news: SubscriptionHandle,
    /// The 12345 outbox's subscription, when the platform is configured.
    pub hotline_outbox: Option<SubscriptionHandle>,
    /// The 12345 delivery worker.
    pub hotline_delivery: Option<BackgroundTask>,
    /// The MQTT subscriber, when a broker is configured.
    pub mqtt: Option<BackgroundTask>,
    /// Every minute: room sensors' cold hours open low-temperature episodes and stations'
    /// drops open network anomalies; every ten, silent sensors and stations' falls are looked
    /// for.
    pub episodes: BackgroundTask,
    /// Hourly: erases the personal data of complaints closed longer ago than the retention
    /// period, creates the coming days' reading partitions and drops expired ones.
    pub retention: BackgroundTask,
}

impl Intake {
    /// Opens the service on `store`, whose database has intake's migrations applied.
    pub async fn open(
        store: PgEventStore,
        clock: Arc<dyn Clock>,
        config: IntakeConfig,
        master: Keyring,
    ) -> Result<Arc<Intake>, String> {
        let photos = PhotoStore::open(&config.photo_store)?;
        let pseudonyms = privacy::pseudonyms(store.pool(), &master)
            .await
            .map_err(|e| format!("opening the household pseudonym key: {e}"))?;
        let vault = Vault::new(store.pool().clone(), master);
        let registry = Registry::load(store.pool())
            .await
            .map_err(|e| format!("reading the building registry: {e}"))?;
        let readings = Arc::new(readings::Readings::new(
            store.pool().clone(),
            config.readings.retention_days,
        ));
        let mqtt = match &config.mqtt {
            Some(m) => Some((mqtt::options(m)?, m.prefix.clone())),
            None => None,
        };
        Ok(Arc::new(Intake {
            readings,
            mqtt,
            registry,
            complaints: Complaints::new(store.clone(), config.limits, config.incidents.window),
            store,
            clock,
            photos,
            vault,
            pseudonyms,
            config,
        }))
    }

    /// Checks and stores a batch of readings (each parsed, or dropped with its reason), as
    /// the bulk push and the MQTT subscriber do; counts each outcome in `/metrics`.
    pub async fn ingest_readings(
        &self,
        items: Vec<Result<readings::Reading, readings::Dropped>>,
    ) -> Result<readings::Outcome, StoreError> {
        self.readings.ingest(items, self.now()).await
    }

    /// Rolls up the sensors' whole hours not rolled up yet (the watchers do it first).
    pub async fn roll_up_readings(&self) -> Result<readings::RollUp, StoreError> {
        self.readings.roll_up(self.now()).await
    }

    /// Re-reads the building registry if an import changed it.
    pub async fn refresh_registry(&self) -> Result<bool, StoreError> {
        self.registry.refresh(self.store.pool()).await
    }

    /// Starts the subscriptions and workers; the building registry is re-read every
    /// 10 seconds when an import (`heatline import buildings`) changed it, and the sensors'
    /// kinds remembered are forgotten when one changed the sensor registry.
    pub fn start(self: &Arc<Self>) -> Result<Background, StoreError> {
        platform::metrics::declare(COMPLAINTS);
        platform::metrics::declare(readings::READINGS);
        platform::metrics::declare(episodes::EPISODES);
        platform::metrics::declare(silence::SILENCES);
        platform::metrics::declare(network::DROPS);
        platform::metrics::declare(supply::ALERTS);
        let refreshing = Arc::downgrade(self);
        let registry_refresh = BackgroundTask::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
            every.tick().await;
            loop {
                every.tick().await;
                let Some(intake) = refreshing.upgrade() else {
                    return;
                };
                match intake.refresh_registry().await {
                    Ok(true) => tracing::info!("building registry re-read"),
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "building registry not re-read"),
                }
                if let Err(error) = intake.readings.refresh_sensors().await {
                    tracing::warn!(%error, "sensor registry not checked for changes");
                }
            }
        });
        let incidents = incidents::spawn(&self.store, self.config.incidents)?;
        let dispatch_news = news::spawn(&self.store)?;
        let (hotline_outbox, hotline_delivery) = match &self.config.hotline {
            Some(config) => {
                let outbox = hotline::spawn_outbox(&self.store)?;
                let delivery = hotline::spawn_delivery(
                    self.store.pool().clone(),
                    config.clone(),
                    self.clock.clone(),
                );
                (Some(outbox), Some(delivery))
            }
            None => (None, None),
        };
        let mqtt = self.mqtt.as_ref().map(|(options, prefix)| {
            mqtt::spawn(
                options.clone(),
                prefix.clone(),
                self.readings.clone(),
                self.clock.clone(),
            )
        });
        let episodes = episodes::spawn(Arc::downgrade(self));
        let retaining = Arc::downgrade(self);
        let retention = BackgroundTask::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                let Some(intake) = retaining.upgrade() else {
                    return;
                };
                match intake.erase_expired().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(complaints = n, "personal data past its retention erased")
                    }
                    Err(error) => {
                        tracing::warn!(%error, "personal data past its retention not erased")
                    }
                }
                match readings::maintain(&intake.readings, intake.now()).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(days = n, "sensor readings past their retention dropped")
                    }
                    Err(error) => tracing::warn!(%error, "sensor reading partitions not kept"),
                }
            }
        });
        Ok(Background {
            registry_refresh,
            incidents,
            dispatch_news,
            hotline_outbox,
            hotline_delivery,
            mqtt,
            episodes,
            retention,
        })
    }

    /// The subscriptions [`Self::start`] runs, as `schema.name`.
    pub fn subscriptions(&self) -> Vec<&'static str> {
        let mut names = vec!["intake.incidents", "intake.dispatch_news"];
        if self.config.hotline.is_some() {
            names.push("intake.hotline_outbox");
        }
        names
    }

    /// Mounts intake's routes.
    pub fn configure(self: &Arc<Self>) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let intake = web::Data::from(self.clone());
        move |cfg| routes::configure(cfg, intake)
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Erases the personal data of every complaint closed longer ago than the retention
    /// period (in batches, one audit record each); answers how many complaints it reached.
    pub async fn erase_expired(&self) -> Result<usize, StoreError> {
        let before = self.now() - self.config.retention;
        let mut total = 0;
        loop {
            let due = privacy::due_for_erasure(self.store.pool(), before, 500).await?;
            if due.is_empty() {
                return Ok(total);
            }
            let metadata = EventMetadata::new(
                eventstore::Actor {
                    id: "retention".into(),
                    role: "system".into(),
                },
                eventstore::Channel::System,
            );
            let reason = format!(
                "kept {} days after the complaint closed",
                self.config.retention.num_days()
            );
            privacy::erase(self, ErasureScope::Retention, &due, reason, None, &metadata).await?;
            total += due.len();
        }
    }
}
