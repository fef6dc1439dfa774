//! The intake service on a real HTTP server over a fresh database, with a manual clock,
//! a building registry, and access tokens signed by identity's keys.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::sync::Arc;

use actix_web::App;
use chrono::DateTime;
use eventstore::PgEventStore;
use identity::domain::account::Scope;
use identity::keys::KeyRing;
use intake::{Background, Intake, IntakeConfig};
use platform::auth::Role;
use platform::clock::{Clock, ManualClock};
use serde_json::{Value, json};
use testkit::TestDb;

/// Two stations of one supplier in Heping district, and one building of another supplier.
pub const REGISTRY: &str = "\
building_id,district,station,supplier_id,address,account_prefix,heated_area_m2
HP-001,heping,HP-S1,sup-north,和平区南京路100号1栋,HL01,5200
HP-002,heping,HP-S1,sup-north,和平区南京路100号2栋,HL02,4800
HP-003,heping,HP-S1,sup-north,和平区南京路100号3栋,,5100
SH-001,shenhe,SH-S1,sup-east,沈河区北站路8号,SH8,9000
";

/// The secret of sensor pushes in tests that set `readings.secret` to it.
pub const SENSOR_SECRET: &str = "shared-with-the-sensor-platform";

/// A cold-room complaint of the household with heating account `account`.
pub fn cold(account: &str) -> Value {
    json!({
        "category": "low_temperature",
        "heating_account": account,
        "room_temperature": 15.5,
        "description": "radiators barely warm since Monday",
        "contact_phone": "13800138000",
    })
}

pub struct Harness {
    pub base: String,
    pub api: testkit::api::Api,
    pub clock: ManualClock,
    pub intake: Arc<Intake>,
    pub store: PgEventStore,
    pub background: Option<Background>,
    keys: KeyRing,
    photos: std::path::PathBuf,
    pub _db: TestDb,
}

pub use testkit::api::Reply;

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut IntakeConfig)) -> Harness {
        let db = TestDb::new().await;
        let mut client = db.connect().await;
        identity::migrate(&mut client).await.unwrap();
        intake::migrate(&mut client).await.unwrap();
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
            std::env::temp_dir().join(format!("heatline-intake-test-{}", uuid::Uuid::new_v4()));
        let mut config = IntakeConfig::new(photos.to_str().unwrap());
        adjust(&mut config);
        let intake = Intake::open(
            store.clone(),
            Arc::new(clock.clone()),
            config,
            testkit::master_key(),
        )
        .await
        .unwrap();
        let background = intake.start().unwrap();
        let mounted = intake.clone();
        let (base, _) = testkit::fakes::serve(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(platform::policy::enforce))
                .app_data(actix_web::web::Data::new(intake::policy::alone()))
                .app_data(actix_web::web::Data::new(verifier.clone()))
                .configure(mounted.configure())
        });
        Harness {
            api: testkit::api::Api::new(base.clone()),
            base,
            clock,
            intake,
            store,
            background: Some(background),
            keys,
            photos,
            _db: db,
        }
    }

    /// An access token for `subject` in `role`.
    pub fn token(&self, role: Role, subject: &str) -> String {
        self.token_scoped(role, subject, Scope::default())
    }

    pub fn token_scoped(&self, role: Role, subject: &str, scope: Scope) -> String {
        testkit::tokens::mint(&self.keys, self.clock.now(), role, subject, &scope)
    }

    pub fn resident(&self, n: u32) -> String {
        self.token(Role::Resident, &format!("resident-{n}"))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.api.send(method, path, token, body, headers).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.api.post(path, token, body).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.api.post_with(path, token, body, headers).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.api.get(path, token).await
    }

    /// Imports the sensor file `csv`, keyed by the deployment's pseudonyms as
    /// `heatline import sensors` keys it.
    pub async fn import_sensors(&self, csv: &str) {
        let pseudonyms = intake::privacy::pseudonyms(self.store.pool(), &testkit::master_key())
            .await
            .unwrap();
        let today = self.clock.now().date_naive();
        let sensors = intake::sensors::read(self.store.pool(), &pseudonyms, csv.as_bytes(), today)
            .await
            .unwrap();
        intake::sensors::import(self.store.pool(), &sensors, self.clock.now())
            .await
            .unwrap();
    }

    /// Pushes `body` to the sensor readings endpoint with the given signature headers.
    pub async fn push_readings_signed(
        &self,
        body: &[u8],
        timestamp: i64,
        signature: &str,
    ) -> Reply {
        self.send(
            reqwest::Method::POST,
            "/api/v1/sensors/readings",
            None,
            Some(body.to_vec().into()),
            &[
                ("content-type", "application/json"),
                ("x-heatline-timestamp", &timestamp.to_string()),
                ("x-heatline-signature", signature),
            ],
        )
        .await
    }

    /// Pushes `readings`, signed under [`SENSOR_SECRET`] at the harness's time.
    pub async fn push_readings(&self, readings: Vec<Value>) -> Reply {
        let raw = serde_json::to_vec(&json!({ "readings": readings })).unwrap();
        let now = self.clock.now().timestamp();
        let signature = intake::hotline::sign(SENSOR_SECRET, now, &raw);
        self.push_readings_signed(&raw, now, &signature).await
    }

    /// Waits (up to 10 s) until `probe` holds.
    pub async fn eventually<F, Fut>(&self, what: &str, probe: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        testkit::api::eventually(what, probe).await
    }

    /// The published events of type `M` (of the first thousand), in log order.
    pub async fn published<M: prost::Message + prost::Name + Default>(&self) -> Vec<M> {
        self.store
            .read_published(Default::default(), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.is::<M>())
            .map(|e| e.decode().unwrap())
            .collect()
    }

    /// Waits (up to 10 s) until `count` events of type `M` are published (the public log shows
    /// an event only once every transaction that could precede it has ended); answers them all.
    pub async fn until_published<M: prost::Message + prost::Name + Default>(
        &self,
        what: &str,
        count: usize,
    ) -> Vec<M> {
        let store = self.store.clone();
        self.eventually(what, || {
            let store = store.clone();
            async move {
                let events = store
                    .read_published(Default::default(), 1000)
                    .await
                    .unwrap();
                events.iter().filter(|e| e.is::<M>()).count() >= count
            }
        })
        .await;
        self.published().await
    }

    /// Waits (up to 10 s) until the incident watcher has handled every event published so far.
    pub async fn until_watcher_caught_up(&self) {
        let handle = &self.background.as_ref().unwrap().incidents;
        let head = self.store.published_head().await.unwrap();
        assert!(
            handle
                .wait_for(head, std::time::Duration::from_secs(10))
                .await,
            "the incident watcher did not reach the log's head"
        );
    }

    /// How many complaints exist in the read model.
    pub async fn complaint_rows(&self) -> i64 {
        let client = self.store.pool().get().await.unwrap();
        client
            .query_one("SELECT count(*) FROM intake.complaint", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// How many events the event store holds.
    pub async fn event_rows(&self) -> i64 {
        let client = self.store.pool().get().await.unwrap();
        client
            .query_one("SELECT count(*) FROM eventstore.event", &[])
            .await
            .unwrap()
            .get(0)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.photos);
    }
}
