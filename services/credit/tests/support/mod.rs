//! Credit on a real HTTP server over a fresh database, with a manual clock, a supplier
//! registry, tokens signed by identity's keys, and a stand-in for dispatch that publishes
//! dispatch's protobuf messages to the public log, as dispatch does.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::App;
use chrono::{DateTime, Utc};
use contracts::dispatch::v1 as dispatch;
use credit::{Credit, CreditConfig};
use eventstore::PgEventStore;
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use platform::auth::Role;
use platform::clock::{Clock, ManualClock};
use serde_json::Value;
use testkit::TestDb;
use testkit::api::{Api, eventually};
use uuid::Uuid;

pub const SUPPLIERS: &str = "\
supplier_id,name,districts,heated_area_m2,contact
north-heat,North Heat Co.,heping;shenhe,200000,024-2222-0000
east-heat,East Heat Co.,dadong,500000,024-3333-0000
";

pub struct Harness {
    pub api: Api,
    pub clock: ManualClock,
    pub store: PgEventStore,
    pub credit: Arc<Credit>,
    pub background: Option<credit::Background>,
    keys: KeyRing,
    pub _db: TestDb,
}

pub fn config() -> CreditConfig {
    let files = std::env::temp_dir().join(format!("heatline-credit-test-{}", Uuid::new_v4()));
    let mut config = CreditConfig::new(files.display().to_string());
    config.close_every = Duration::from_millis(100);
    config.recount_every = Duration::from_millis(100);
    // The scorer is saved after every batch, so a restart starts from a snapshot.
    config.snapshot_every = 1;
    config
}

impl Harness {
    pub async fn start() -> Harness {
        let db = TestDb::new().await;
        let mut client = db.connect().await;
        identity::migrate(&mut client).await.unwrap();
        credit::migrate(&mut client).await.unwrap();
        let store = PgEventStore::new(&db.config());
        // 08:00 on 10 December 2026, China time.
        let clock = ManualClock::at(
            DateTime::parse_from_rfc3339("2026-12-10T00:00:00Z")
                .unwrap()
                .to_utc(),
        );
        // Keys and tokens live on the harness's clock, as everything else here does.
        let (keys, verifier) =
            testkit::tokens::keys_and_verifier(store.pool().clone(), Arc::new(clock.clone())).await;
        credit::registry::import(store.pool(), SUPPLIERS.as_bytes())
            .await
            .unwrap();
        let credit = Credit::open(store.clone(), Arc::new(clock.clone()), config()).unwrap();
        let background = credit.start().unwrap();
        let mounted = credit.clone();
        let (base, _) = testkit::fakes::serve(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
                .app_data(actix_web::web::Data::new(credit::policy::alone()))
                .app_data(actix_web::web::Data::new(verifier.clone()))
                .configure(mounted.configure())
        });
        Harness {
            api: Api::new(base),
            clock,
            store,
            credit,
            background: Some(background),
            keys,
            _db: db,
        }
    }

    pub fn token(&self, role: Role, subject: &str, scope: Scope) -> String {
        testkit::tokens::mint(&self.keys, self.clock.now(), role, subject, &scope)
    }

    pub fn regulator(&self) -> String {
        self.token(Role::Regulator, "regulator-1", Scope::default())
    }

    pub fn supplier(&self, supplier: &str) -> String {
        let scope = Scope {
            supplier: Some(supplier.into()),
            ..Scope::default()
        };
        self.token(Role::SupplierAdmin, &format!("admin-{supplier}"), scope)
    }

    /// Publishes a message of dispatch to the public log, as ticket `ticket` would; answers
    /// its event id.
    pub async fn publish<M: prost::Message + prost::Name>(
        &self,
        ticket: &str,
        message: &M,
    ) -> Uuid {
        testkit::log::publish(&self.store, "ticket", ticket, message).await
    }

    /// Waits until the ledger feed has handled everything published so far.
    pub async fn caught_up(&self) {
        let head = self.store.published_head().await.unwrap();
        let background = self.background.as_ref().unwrap();
        assert!(
            background
                .feed
                .wait_for(head, Duration::from_secs(10))
                .await,
            "the ledger feed caught up"
        );
    }

    /// Waits until the targets board's feed has handled everything published so far.
    pub async fn targets_caught_up(&self) {
        let head = self.store.published_head().await.unwrap();
        let background = self.background.as_ref().unwrap();
        assert!(
            background
                .targets
                .wait_for(head, Duration::from_secs(10))
                .await,
            "the targets feed caught up"
        );
    }

    /// A supplier's score, as a regulator reads it.
    pub async fn score(&self, supplier: &str, query: &str) -> Value {
        let reply = self
            .api
            .get(
                &format!("/api/v1/credit/seasons/2026-2027/suppliers/{supplier}{query}"),
                &self.regulator(),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// A supplier's whole ledger.
    pub async fn ledger(&self, supplier: &str) -> Vec<Value> {
        let reply = self
            .api
            .get(
                &format!("/api/v1/credit/seasons/2026-2027/suppliers/{supplier}/ledger?limit=500"),
                &self.regulator(),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["items"].as_array().unwrap().clone()
    }

    pub async fn wait_for_entries(&self, supplier: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{supplier} has {n} entries"), || async {
            self.ledger(supplier).await.len() >= n
        })
        .await;
        self.ledger(supplier).await
    }
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Hours after 08:00 on 10 December 2026 (China time), in ms.
pub fn hour(h: i64) -> i64 {
    ms(DateTime::parse_from_rfc3339("2026-12-10T00:00:00Z")
        .unwrap()
        .to_utc())
        + h * 3_600_000
}

/// The season of the hand-computed domain test, told as dispatch publishes it.
pub struct Story {
    pub ids: Vec<(String, Uuid)>,
}

impl Story {
    pub fn id(&self, name: &str) -> Uuid {
        self.ids.iter().find(|(n, _)| n == name).unwrap().1
    }
}

pub async fn opened(h: &Harness, ticket: &str, origin: &str, households: usize) -> Uuid {
    h.publish(
        ticket,
        &dispatch::TicketOpened {
            ticket_id: ticket.into(),
            origin: origin.into(),
            complaint_ids: (0..households).map(|n| format!("{ticket}-c{n}")).collect(),
            households: (0..households).map(|n| format!("{ticket}-h{n}")).collect(),
            opened_at_ms: hour(0),
            filed_at_ms: hour(0),
            ..Default::default()
        },
    )
    .await
}

pub async fn measured(h: &Harness, ticket: &str, at: i64, tenths: i32) -> Uuid {
    h.publish(
        ticket,
        &dispatch::TemperatureMeasured {
            ticket_id: ticket.into(),
            supplier_id: "north-heat".into(),
            tenths_celsius: tenths,
            room: "living room".into(),
            device_id: "T-1".into(),
            measured_at_ms: hour(at),
            standard_met: tenths >= 180,
            cycle: 1,
        },
    )
    .await
}

pub async fn breached(h: &Harness, ticket: &str, at: i64, clock: dispatch::Clock) -> Uuid {
    h.publish(
        ticket,
        &dispatch::SlaBreached {
            ticket_id: ticket.into(),
            supplier_id: "north-heat".into(),
            clock: clock.into(),
            cycle: 1,
            target: "test".into(),
            deadline_ms: hour(at),
            recorded_at_ms: hour(at),
            late_by_ms: 0,
        },
    )
    .await
}

pub async fn resolved(h: &Harness, ticket: &str, at: i64, cause: dispatch::Cause) -> Uuid {
    h.publish(
        ticket,
        &dispatch::TicketResolved {
            ticket_id: ticket.into(),
            supplier_id: "north-heat".into(),
            cause: cause.into(),
            standard_met: false,
            resolved_at_ms: hour(at),
            cycle: 1,
            households: Vec::new(),
        },
    )
    .await
}

pub async fn rated(h: &Harness, ticket: &str, at: i64, rating: dispatch::Rating) -> Uuid {
    h.publish(
        ticket,
        &dispatch::FeedbackGiven {
            ticket_id: ticket.into(),
            supplier_id: "north-heat".into(),
            rating: rating.into(),
            given_at_ms: hour(at),
            cycle: 1,
        },
    )
    .await
}

/// T1 (16.0 then 19.0 ℃, a sign breach, satisfied), T2 (resident side), T3 (an incident of 5
/// households for 10 hours, basically satisfied), T4 (developer handover), T5 (18.0 ℃, a
/// restore breach, unsatisfied): 77.78 points, grade B.
pub async fn season(h: &Harness) -> Story {
    use dispatch::{Cause, Clock, Rating};
    let mut ids = Vec::new();
    let mut note = |name: &str, id: Uuid| ids.push((name.to_owned(), id));
    opened(h, "t1", "complaint", 1).await;
    note("t1.cold", measured(h, "t1", 1, 160).await);
    note("t1.sign_breach", breached(h, "t1", 1, Clock::Sign).await);
    note("t1.warm", measured(h, "t1", 3, 190).await);
    note("t1.resolved", resolved(h, "t1", 4, Cause::Supplier).await);
    rated(h, "t1", 5, Rating::Satisfied).await;
    opened(h, "t2", "complaint", 1).await;
    note("t2.measured", measured(h, "t2", 1, 150).await);
    note("t2.breach", breached(h, "t2", 9, Clock::Restore).await);
    note(
        "t2.resolved",
        resolved(h, "t2", 10, Cause::ResidentSide).await,
    );
    opened(h, "t3", "incident", 5).await;
    resolved(h, "t3", 10, Cause::Supplier).await;
    rated(h, "t3", 12, Rating::BasicallySatisfied).await;
    opened(h, "t4", "complaint", 1).await;
    note(
        "t4.resolved",
        resolved(h, "t4", 2, Cause::DeveloperHandover).await,
    );
    opened(h, "t5", "complaint", 1).await;
    measured(h, "t5", 2, 180).await;
    note(
        "t5.restore_breach",
        breached(h, "t5", 9, Clock::Restore).await,
    );
    note("t5.resolved", resolved(h, "t5", 10, Cause::Supplier).await);
    rated(h, "t5", 11, Rating::Unsatisfied).await;
    Story { ids }
}
