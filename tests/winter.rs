//! A whole winter story through the public API, against the four services as separate
//! processes behind Debian's nginx with the repository's gateway configuration, and against
//! `heatline serve` in one process: a resident logs in through WeChat and reports a cold home,
//! which the 12345 platform also pushes; a dispatcher registers and assigns a crew; the crew
//! measures 16 ℃, repairs, measures 19 ℃ and resolves; the resident rates it; the 12345
//! platform gets its status pushes; the supplier's credit ledger shows the entries with the
//! events behind them; the resident's refund statement shows the cold day at its tier; the
//! resident applies to stop heating next winter and the crew seals the valve.

mod support;

#[path = "winter/story.rs"]
mod story;

use std::process::Command;

use chrono::Utc;
use serde_json::{Value, json};
use support::{Gateway, Server, data_dir, login, registries_and_admin, season_now, staff};
use testkit::api::{Api, Reply, eventually};
use testkit::fakes::{FakeHotline, FakeWechat};

use story::story;

const SECRET: &str = "shared-with-12345";
const ADDRESS: &str = "南岗区学府路100号1栋2单元301";

/// A refund rulebook whose heating season is the whole accounting year, so that today is a
/// heating day whenever the tests run.
const REFUND_RULES: &str = r#"{"versions": [{
  "version": "all-year.1", "city": "testville", "effective_from": "2020-06-30T16:00:00Z",
  "summary": "Xi'an's tiers over the whole year", "standard_celsius": 18.0,
  "heating_starts": "07-01", "heating_ends": "06-30",
  "tiers": [{"from_celsius": 16.0, "share_pct": 20}, {"from_celsius": 14.0, "share_pct": 50},
            {"from_celsius": null, "share_pct": 100}],
  "after_hours_below": 0, "late_start_within_days": 7, "outage_min_hours": 12,
  "whole_day_share_pct": 100}]}"#;

/// What both topologies share: a database with the registries and the first admin, and the
/// outside parties.
struct World {
    db: testkit::TestDb,
    dir: std::path::PathBuf,
    wechat: FakeWechat,
    hotline: FakeHotline,
}

impl World {
    async fn new(name: &str) -> World {
        let db = testkit::TestDb::new().await;
        let dir = data_dir(name);
        registries_and_admin(
            db.url(),
            &dir,
            "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n\
             NG-0101,nangang,NG-S01,harbin-heat,南岗区学府路100号1栋,NG0101,5200\n",
            "supplier_id,name,districts,heated_area_m2,contact\n\
             harbin-heat,Harbin Heat Co.,nangang,2500000,0451-8888-0000\n",
            "a long first password",
        );
        // The home's fee basis, keyed by its address as its complaints are: 80 m² at 23.40
        // yuan a season.
        let households = dir.join("households.csv");
        std::fs::write(
            &households,
            format!(
                "address,building_id,heated_area_m2,price_yuan_per_m2\n{ADDRESS},NG-0101,80,23.40\n"
            ),
        )
        .unwrap();
        let printed = support::heatline(
            db.url(),
            &["import", "households", households.to_str().unwrap()],
        );
        assert_eq!(printed.trim(), "1 households imported");
        std::fs::write(dir.join("refunds.json"), REFUND_RULES).unwrap();
        World {
            db,
            dir,
            wechat: FakeWechat::start(),
            hotline: FakeHotline::start(),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "HEATLINE_WECHAT_BASE_URL",
                self.wechat.base_url().to_owned(),
            ),
            ("HEATLINE_WECHAT_APPID", testkit::fakes::WECHAT_APPID.into()),
            (
                "HEATLINE_WECHAT_SECRET",
                testkit::fakes::WECHAT_SECRET.into(),
            ),
            ("HEATLINE_HOTLINE_SECRET", SECRET.into()),
            ("HEATLINE_HOTLINE_URL", self.hotline.url()),
            (
                "HEATLINE_REFUND_RULEBOOK",
                self.dir.join("refunds.json").display().to_string(),
            ),
            ("HEATLINE_REFUND_CITY", "testville".into()),
            (
                "HEATLINE_WECHAT_TEMPLATES",
                "repair=TPL-REPAIR,stop_heating=TPL-STOP".into(),
            ),
        ]
    }

    fn start(&self, args: &[&str], extra: &[(&str, &str)]) -> Server {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        Server::start_with(Some(self.db.url()), &self.dir, args, &all)
    }
}

#[tokio::test]
async fn a_winter_story_runs_through_the_gateway_with_each_service_in_its_own_process() {
    let world = World::new("winter-split").await;
    let identity = world.start(&["--only", "identity"], &[]);
    let jwks = format!("{}/.well-known/jwks.json", identity.base);
    let keys = [("HEATLINE_JWKS_URL", jwks.as_str())];
    let intake = world.start(&["--only", "intake"], &keys);
    let dispatch = world.start(&["--only", "dispatch"], &keys);
    let credit = world.start(&["--only", "credit"], &keys);
    let gateway = Gateway::start(
        &world.dir,
        &identity.base,
        &intake.base,
        &dispatch.base,
        &credit.base,
    );
    story(&world, &gateway.base).await;
    // Swagger UI, through the gateway, as a browser renders it from the whole API's document.
    let page = support::rendered(&format!("{}/docs/", gateway.base));
    assert!(page.contains("class=\"title\">Heatline"), "{page}");
    assert!(page.contains("/api/v1/credit/seasons/{season}/ranking"));
    assert!(page.contains("/api/v1/tickets/{id}/resolve"));
    drop(gateway);
    for server in [credit, dispatch, intake, identity] {
        assert!(server.terminate().success());
    }
    let _ = std::fs::remove_dir_all(&world.dir);
}

#[tokio::test]
async fn the_same_winter_story_runs_against_one_process() {
    let world = World::new("winter-one").await;
    let server = world.start(&[], &[]);
    story(&world, &server.base).await;

    // The read models are rebuilt from the streams while the server runs, to the same rows.
    let snapshot = |sql: &'static str| {
        let db = &world.db;
        async move {
            let client = db.connect().await;
            let rows = client.query(sql, &[]).await.unwrap();
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    let ledger_sql = "SELECT concat_ws('|', entry_id, supplier_id, season, sequence, dimension, \
                      rule, points, evidence::text, at) FROM credit.entry ORDER BY entry_id";
    let queue_sql = "SELECT concat_ws('|', ticket_id, status, supplier_id, crew_id, version) \
                     FROM dispatch.ticket ORDER BY ticket_id";
    let refunds_sql = "SELECT concat_ws('|', season, household, day, supplier_id, rule, tier, \
                       share_pct, amount_fen, version, evidence::text, accrued_at) \
                       FROM credit.refund_day ORDER BY season, household, day";
    let (ledger, queue) = (snapshot(ledger_sql).await, snapshot(queue_sql).await);
    let refunds = snapshot(refunds_sql).await;
    assert!(!ledger.is_empty() && !queue.is_empty() && !refunds.is_empty());
    for name in ["credit.ledger", "dispatch.queue", "credit.refunds"] {
        let printed = support::heatline(world.db.url(), &["projections", "rebuild", name]);
        assert!(printed.contains("rebuilt"), "{printed}");
    }
    assert_eq!(snapshot(ledger_sql).await, ledger);
    assert_eq!(snapshot(queue_sql).await, queue);
    assert_eq!(snapshot(refunds_sql).await, refunds);
    let unknown = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["projections", "rebuild", "intake.everything"])
        .env("DATABASE_URL", world.db.url())
        .env("HEATLINE_MASTER_KEY", support::MASTER_KEY)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("credit.ledger"));
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&world.dir);
}

#[test]
fn heatline_demo_fills_a_fresh_database_through_the_api_and_refuses_a_used_one() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(testkit::TestDb::new());
    let demo = || {
        Command::new(env!("CARGO_BIN_EXE_heatline"))
            .args(["demo", "--complaints", "90"])
            .env("DATABASE_URL", db.url())
            .env("HEATLINE_MASTER_KEY", support::MASTER_KEY)
            .env("RUST_LOG", "off")
            .output()
            .unwrap()
    };
    let first = demo();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(printed.contains("Credit ranking"), "{printed}");
    let statuses: Vec<String> = runtime.block_on(async {
        let client = db.connect().await;
        client
            .query(
                "SELECT DISTINCT status FROM dispatch.ticket ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    for status in [
        "closed",
        "crew_assigned",
        "dispatched",
        "on_site",
        "resolved",
        "returned",
        "signed",
    ] {
        assert!(
            statuses.iter().any(|s| s == status),
            "{status} in {statuses:?}"
        );
    }
    let ranked: i64 = runtime.block_on(async {
        let client = db.connect().await;
        client
            .query_one("SELECT count(*) FROM credit.standing", &[])
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(ranked, 3);
    let again = demo();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("fills a fresh one"));
}
