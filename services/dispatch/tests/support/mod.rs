//! Intake and dispatch on one real HTTP server over a fresh database, with a manual clock,
//! a building registry, and access tokens signed by identity's keys: a resident's complaint
//! reaches dispatch only through intake's published events, as in production.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::App;
use chrono::DateTime;
use dispatch::{Dispatch, DispatchConfig};
use eventstore::PgEventStore;
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use intake::{Intake, IntakeConfig};
use platform::auth::Role;
use platform::clock::{Clock, ManualClock};
use serde_json::{Value, json};
use testkit::TestDb;
use testkit::api::{Api, Reply, eventually};

/// Three buildings of one station of `sup-north` in Heping, one building of `sup-east`.
pub const REGISTRY: &str = "\
building_id,district,station,supplier_id,address,account_prefix,heated_area_m2
HP-001,heping,HP-S1,sup-north,和平区南京路100号1栋,HL01,5200
HP-002,heping,HP-S1,sup-north,和平区南京路100号2栋,HL02,4800
SH-001,shenhe,SH-S1,sup-east,沈河区北站路8号,SH8,9000
";

pub struct Harness {
    pub api: Api,
    pub clock: ManualClock,
    pub store: PgEventStore,
    pub dispatch: Arc<Dispatch>,
    pub intake: Arc<Intake>,
    pub intake_background: Option<intake::Background>,
    pub dispatch_background: Option<dispatch::Background>,
    keys: KeyRing,
    photos: std::path::PathBuf,
    pub _db: TestDb,
}

fn config() -> DispatchConfig {
    DispatchConfig {
        timer_every: Duration::from_millis(50),
        ..DispatchConfig::default()
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut IntakeConfig)) -> Harness {
        let db = TestDb::new().await;
        let mut client = db.connect().await;
        identity::migrate(&mut client).await.unwrap();
        intake::migrate(&mut client).await.unwrap();
        dispatch::migrate(&mut client).await.unwrap();
        let store = PgEventStore::new(&db.config());
        let clock = ManualClock::at(
            DateTime::parse_from_rfc3339("2026-12-01T07:00:00Z")
                .unwrap()
                .to_utc(),
        );
        // Keys and tokens live on the harness's clock, as everything else here does.
        let (keys, verifier) =
            testkit::tokens::keys_and_verifier(store.pool().clone(), Arc::new(clock.clone())).await;
        intake::registry::import(store.pool(), REGISTRY.as_bytes(), clock.now())
            .await
            .unwrap();
        let photos =
            std::env::temp_dir().join(format!("heatline-dispatch-test-{}", uuid::Uuid::new_v4()));
        let mut intake_config = IntakeConfig::new(photos.to_str().unwrap());
        adjust(&mut intake_config);
        let intake = Intake::open(
            store.clone(),
            Arc::new(clock.clone()),
            intake_config,
            testkit::master_key(),
        )
        .await
        .unwrap();
        let dispatch = Dispatch::open(store.clone(), Arc::new(clock.clone()), config());
        let intake_background = intake.start().unwrap();
        let dispatch_background = dispatch.start().unwrap();
        let (mounted_intake, mounted_dispatch) = (intake.clone(), dispatch.clone());
        let mut api = <intake::openapi::IntakeApi as utoipa::OpenApi>::openapi();
        api.merge(<dispatch::openapi::DispatchApi as utoipa::OpenApi>::openapi());
        let policy =
            platform::policy::Policy::of(&[intake::policy::POLICY, dispatch::policy::POLICY])
                .with_caps(platform::caps::Caps::of_api(&api));
        let (base, _) = testkit::fakes::serve(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
                .app_data(actix_web::web::Data::new(policy.clone()))
                .app_data(actix_web::web::Data::new(verifier.clone()))
                .configure(mounted_intake.configure())
                .configure(mounted_dispatch.configure())
        });
        Harness {
            api: Api::new(base),
            clock,
            store,
            dispatch,
            intake,
            intake_background: Some(intake_background),
            dispatch_background: Some(dispatch_background),
            keys,
            photos,
            _db: db,
        }
    }

    /// Stops dispatch's feed and timer, as when its process is down.
    pub async fn stop_dispatch(&mut self) {
        if let Some(background) = self.dispatch_background.take() {
            background.feed.stop().await;
            drop(background.timer);
        }
    }

    /// Starts a new dispatch instance's feed and timer on the same database.
    pub fn start_dispatch_again(&mut self) {
        let fresh = Dispatch::open(self.store.clone(), Arc::new(self.clock.clone()), config());
        self.dispatch_background = Some(fresh.start().unwrap());
    }

    pub fn token(&self, role: Role, subject: &str, scope: Scope) -> String {
        testkit::tokens::mint(&self.keys, self.clock.now(), role, subject, &scope)
    }

    pub fn resident(&self, n: u32) -> String {
        self.token(Role::Resident, &format!("resident-{n}"), Scope::default())
    }

    pub fn dispatcher(&self) -> String {
        self.token(Role::Dispatcher, "dispatcher-1", Scope::default())
    }

    pub fn supplier(&self, supplier: &str) -> String {
        let scope = Scope {
            supplier: Some(supplier.into()),
            ..Scope::default()
        };
        self.token(Role::SupplierAdmin, &format!("admin-{supplier}"), scope)
    }

    pub fn crew(&self, supplier: &str, crew: &str) -> String {
        let scope = Scope {
            supplier: Some(supplier.into()),
            crew: Some(crew.into()),
            ..Scope::default()
        };
        self.token(Role::Crew, &format!("member-of-{crew}"), scope)
    }

    /// Resident `n` files a cold-room complaint for heating account `account`; answers the
    /// complaint id (the household's open one when intake merged it).
    pub async fn file(&self, n: u32, account: &str) -> String {
        let reply = self
            .api
            .post(
                "/api/v1/complaints",
                &self.resident(n),
                &json!({
                    "category": "low_temperature",
                    "heating_account": account,
                    "room_temperature": 15.5,
                    "description": "radiators barely warm",
                    "contact_phone": "13800138000",
                }),
            )
            .await;
        assert!(matches!(reply.status, 200 | 201), "{}", reply.body);
        reply.body["complaint_id"].as_str().unwrap().to_owned()
    }

    /// Waits until ticket `id` exists and answers it as a dispatcher sees it.
    pub async fn ticket(&self, id: &str) -> Value {
        let path = format!("/api/v1/tickets/{id}");
        eventually(&format!("ticket {id} exists"), || async {
            self.api.get(&path, &self.dispatcher()).await.status == 200
        })
        .await;
        self.api.get(&path, &self.dispatcher()).await.body
    }

    /// Waits until ticket `id` has at least `version` events.
    pub async fn ticket_at(&self, id: &str, version: u64) -> Value {
        let path = format!("/api/v1/tickets/{id}");
        eventually(
            &format!("ticket {id} reaches version {version}"),
            || async {
                let reply = self.api.get(&path, &self.dispatcher()).await;
                reply.status == 200 && reply.body["version"].as_u64() >= Some(version)
            },
        )
        .await;
        self.api.get(&path, &self.dispatcher()).await.body
    }

    /// Runs a ticket command.
    pub async fn act(&self, id: &str, action: &str, token: &str, body: Value) -> Reply {
        self.api
            .post(&format!("/api/v1/tickets/{id}/{action}"), token, &body)
            .await
    }

    /// Crew `crew` of sup-north checks in at ticket `id`, measures 18.5 ℃ and resolves it
    /// (supplier's fault, standard met).
    pub async fn resolve(&self, id: &str, crew: &str) {
        let crew_token = self.crew("sup-north", crew);
        let position = json!({"latitude": 41.8, "longitude": 123.4});
        let reading = json!({"celsius": 18.5, "room": "living room", "device_id": "THERM-1"});
        assert_eq!(
            self.act(id, "check-in", &crew_token, position).await.status,
            200
        );
        assert_eq!(
            self.act(id, "measurements", &crew_token, reading)
                .await
                .status,
            200
        );
        let resolved = self
            .act(
                id,
                "resolve",
                &crew_token,
                json!({"cause": "supplier", "standard_met": true}),
            )
            .await;
        assert_eq!(resolved.status, 200, "{}", resolved.body);
    }

    /// Registers a crew of `supplier`; answers its id.
    pub async fn crew_of(&self, supplier: &str, name: &str) -> String {
        let reply = self
            .api
            .post(
                "/api/v1/crews",
                &self.supplier(supplier),
                &json!({ "name": name }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["crew_id"].as_str().unwrap().to_owned()
    }

    /// The number of events of `event_type` in ticket `id`'s stream.
    pub async fn count(&self, id: &str, event_type: &str) -> i64 {
        let client = self.store.pool().get().await.unwrap();
        client
            .query_one(
                "SELECT count(*) FROM eventstore.event WHERE aggregate_type = 'ticket' \
                 AND aggregate_id = $1 AND event_type = $2",
                &[&id, &event_type],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Looks at passed deadlines now (as the timer does every 50 ms).
    pub async fn sweep(&self) -> usize {
        dispatch::timer::sweep(self.dispatch.tickets(), self.clock.now())
            .await
            .unwrap()
    }
}

/// The clock `name` of cycle `cycle` in a ticket view.
pub fn clock<'a>(ticket: &'a Value, name: &str, cycle: u64) -> &'a Value {
    ticket["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c["clock"] == name && c["cycle"].as_u64() == Some(cycle))
        .unwrap_or_else(|| panic!("no {name} clock of cycle {cycle} in {ticket}"))
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.photos);
    }
}
