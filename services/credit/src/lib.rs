//! Heatline credit: what regulators use to hold heating suppliers to account.
//!
//! A subscription runs dispatch's published events through a versioned rulebook and records
//! every change of a supplier's score as a ledger entry naming its rule, its points and the
//! events behind it. Suppliers appeal entries; regulators decide appeals, adjust by hand with
//! a justification, veto, read the score as of any moment, and replay a season under another
//! rulebook without changing anything. Months and seasons are closed with their grades. A
//! second subscription keeps the figures of the city's heating targets (the targets board);
//! two more count households' refunds for late or insufficient heating.

#![warn(missing_docs)]

pub mod attachments;
pub mod closer;
pub mod domain;
pub mod feed;
pub mod ledger;
pub mod openapi;
pub mod orders;
pub mod policy;
mod projection;
pub mod publish;
pub mod rebuild;
pub mod refunds;
pub mod registry;
mod routes;
pub mod targets;
pub mod views;
pub mod whatif;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use eventstore::{PgEventStore, StoreError, SubscriptionHandle};
use platform::background::BackgroundTask;
use platform::calendar::Calendar;
use platform::clock::Clock;

use crate::attachments::Attachments;
use crate::domain::refund_rules::RefundRulebook;
use crate::domain::rulebook::Rulebook;
use crate::ledger::Ledger;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The name of the table where refinery records credit's applied migrations.
pub const MIGRATION_TABLE: &str = "credit.refinery_schema_history";

/// Creates or upgrades the `credit` schema.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    eventstore::db::run_migrations(client, "credit", embedded::migrations::runner()).await
}

/// The versions of credit's migrations, for readiness checks.
pub fn known_migrations() -> Vec<i32> {
    eventstore::db::migration_versions(&embedded::migrations::runner())
}

/// How credit runs.
#[derive(Debug, Clone)]
pub struct CreditConfig {
    /// The rulebook.
    pub rulebook: Rulebook,
    /// The working-day calendar of the appeal window.
    pub calendar: Calendar,
    /// Working days a supplier has to appeal an entry.
    pub appeal_working_days: u32,
    /// Working days the regulator has to decide an appeal.
    pub decide_working_days: u32,
    /// Where appeal attachments are kept (the file store of complaint photos).
    pub file_store: String,
    /// How often the closer looks for ended months.
    pub close_every: Duration,
    /// The refund rulebook.
    pub refunds: RefundRulebook,
    /// The city whose refund rules apply.
    pub refund_city: String,
    /// How often households registered since their last count are counted.
    pub recount_every: Duration,
    /// Published events the ledger feed reads between two snapshots of its scorer.
    pub snapshot_every: u64,
}

impl CreditConfig {
    /// The shipped rulebooks (refunds under Xi'an's rules) and calendar, 10 working days to appeal and 10 to decide, attachments under
    /// `file_store`, closings and newly registered households looked for every minute.
    pub fn new(file_store: impl Into<String>) -> Self {
        CreditConfig {
            rulebook: Rulebook::shipped(),
            calendar: Calendar::parse(platform::calendar::SHIPPED)
                .expect("the shipped calendar is valid"),
            appeal_working_days: 10,
            decide_working_days: 10,
            file_store: file_store.into(),
            close_every: Duration::from_secs(60),
            refunds: RefundRulebook::shipped(),
            refund_city: domain::refund_rules::DEFAULT_CITY.into(),
            recount_every: Duration::from_secs(60),
            snapshot_every: feed::SNAPSHOT_EVERY,
        }
    }
}

/// The credit service.
pub struct Credit {
    ledger: Ledger,
    rulebook: Arc<Rulebook>,
    refund_rules: Arc<RefundRulebook>,
    attachments: Attachments,
    clock: Arc<dyn Clock>,
    config: CreditConfig,
}

/// Credit's background work; dropping it stops it.
pub struct Background {
    /// The subscription that scores published events.
    pub feed: SubscriptionHandle,
    /// The subscription that keeps the targets board's figures.
    pub targets: SubscriptionHandle,
    /// The closer of months and seasons.
    pub closer: BackgroundTask,
    /// The subscription that keeps the refunds' facts.
    pub refund_facts: SubscriptionHandle,
    /// The subscription that accrues refunds.
    pub refund_accruals: SubscriptionHandle,
    /// The sweep that counts households registered after their repairs.
    pub refund_recount: BackgroundTask,
}

impl Credit {
    /// Opens the service on `store`, whose database has credit's migrations applied.
    pub fn open(
        store: PgEventStore,
        clock: Arc<dyn Clock>,
        config: CreditConfig,
    ) -> Result<Arc<Self>, String> {
        Ok(Arc::new(Credit {
            ledger: Ledger::new(store, clock.clone()),
            rulebook: Arc::new(config.rulebook.clone()),
            refund_rules: Arc::new(config.refunds.clone()),
            attachments: Attachments::open(&config.file_store)?,
            clock,
            config,
        }))
    }

    /// The ledger commands.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The rulebook.
    pub fn rulebook(&self) -> &Arc<Rulebook> {
        &self.rulebook
    }

    /// Starts the feeds and the closer.
    pub fn start(self: &Arc<Self>) -> Result<Background, StoreError> {
        let feed = feed::spawn(
            self.ledger.store(),
            self.rulebook.clone(),
            self.clock.clone(),
            self.config.snapshot_every,
        )?;
        let targets = targets::feed::spawn(self.ledger.store())?;
        let closer = closer::spawn(
            self.ledger.clone(),
            self.clock.clone(),
            self.config.close_every,
        );
        let refund_facts = refunds::facts::spawn(self.ledger.store())?;
        let refund_accruals = refunds::accrual::spawn(
            self.ledger.store(),
            self.refund_rules.clone(),
            self.config.refund_city.clone(),
            self.clock.clone(),
        )?;
        let refund_recount = refunds::recount::spawn(
            self.ledger.store().clone(),
            self.refund_rules.clone(),
            self.config.refund_city.clone(),
            self.clock.clone(),
            self.config.recount_every,
        );
        Ok(Background {
            feed,
            targets,
            closer,
            refund_facts,
            refund_accruals,
            refund_recount,
        })
    }

    /// The subscriptions [`Self::start`] runs, as `schema.name`.
    pub fn subscriptions(&self) -> Vec<&'static str> {
        vec![
            "credit.ledger_feed",
            "credit.targets_feed",
            "credit.refund_facts",
            "credit.refund_accruals",
        ]
    }

    /// Mounts credit's routes.
    pub fn configure(self: &Arc<Self>) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let credit = web::Data::from(self.clone());
        move |cfg| routes::configure(cfg, credit)
    }
}
