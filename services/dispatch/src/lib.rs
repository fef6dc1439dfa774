//! Heatline dispatch: where a complaint becomes a crew at the door.
//!
//! Intake's published events open one repair ticket per accepted complaint or declared
//! incident. Dispatchers route and supervise, suppliers sign and assign crews, crews check in,
//! measure and resolve, residents rate. Six SLA clocks run on every ticket; a durable timer
//! records exactly one breach per clock run, also across restarts. Every change is published
//! for credit and intake.

#![warn(missing_docs)]

pub mod bands;
pub mod domain;
pub mod feed;
pub mod openapi;
pub mod policy;
mod projection;
pub mod rebuild;
mod routes;
pub mod stop_heating;
pub mod tickets;
pub mod timer;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use eventstore::{PgEventStore, StoreError, SubscriptionHandle};
use platform::clock::Clock;

pub use platform::background::BackgroundTask;

use crate::domain::sla::Sla;
use crate::tickets::Tickets;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The name of the table where refinery records dispatch's applied migrations.
pub const MIGRATION_TABLE: &str = "dispatch.refinery_schema_history";

/// Creates or upgrades the `dispatch` schema.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    eventstore::db::run_migrations(client, "dispatch", embedded::migrations::runner()).await
}

/// The versions of dispatch's migrations, for readiness checks.
pub fn known_migrations() -> Vec<i32> {
    eventstore::db::migration_versions(&embedded::migrations::runner())
}

/// How dispatch runs.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// SLA policy and working-day calendar.
    pub sla: Sla,
    /// How often the timer looks for passed deadlines.
    pub timer_every: Duration,
    /// The city's terms for stop-heating applications.
    pub stop_heating: platform::stop_heating::CityTerms,
}

impl Default for DispatchConfig {
    /// The shipped policy and calendar; the timer looks every second.
    fn default() -> Self {
        DispatchConfig {
            sla: Sla::shipped(),
            timer_every: Duration::from_secs(1),
            stop_heating: platform::stop_heating::CityTerms::default(),
        }
    }
}

/// The dispatch service.
pub struct Dispatch {
    tickets: Tickets,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
    /// The queue's counts per band, kept for a second.
    bands: bands::BandCache,
}

/// Dispatch's background work; dropping it stops it.
pub struct Background {
    /// The subscription to intake's events.
    pub feed: SubscriptionHandle,
    /// The SLA timer.
    pub timer: BackgroundTask,
}

impl Dispatch {
    /// Opens the service on `store`, whose database has dispatch's migrations applied.
    pub fn open(store: PgEventStore, clock: Arc<dyn Clock>, config: DispatchConfig) -> Arc<Self> {
        let sla = Arc::new(config.sla.clone());
        Arc::new(Dispatch {
            tickets: Tickets::new(store, sla, clock.clone()),
            clock,
            config,
            bands: bands::BandCache::default(),
        })
    }

    /// The ticket commands.
    pub fn tickets(&self) -> &Tickets {
        &self.tickets
    }

    /// Starts the feed from intake and the SLA timer.
    pub fn start(self: &Arc<Self>) -> Result<Background, StoreError> {
        platform::metrics::declare(timer::SLA_BREACHES);
        let feed = feed::spawn(
            self.tickets.store(),
            self.tickets.sla().clone(),
            self.config.stop_heating.terms,
            self.clock.clone(),
        )?;
        let timer = timer::spawn(
            self.tickets.clone(),
            self.clock.clone(),
            self.config.timer_every,
        );
        Ok(Background { feed, timer })
    }

    /// The subscriptions [`Self::start`] runs, as `schema.name`.
    pub fn subscriptions(&self) -> Vec<&'static str> {
        vec!["dispatch.intake_feed"]
    }

    /// Mounts dispatch's routes.
    pub fn configure(self: &Arc<Self>) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let dispatch = web::Data::from(self.clone());
        move |cfg| routes::configure(cfg, dispatch)
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
