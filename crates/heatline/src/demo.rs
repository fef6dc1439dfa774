//! `heatline demo`: fills a fresh database with a cold morning in a northern city, through the
//! real API of the whole system running in this process: three districts, three suppliers,
//! stations and buildings, hundreds of calls to the hotline (repeat callers merged, one
//! building's outage declared an incident), tickets in every state, and a credit ranking.
//! Then it prints the accounts to log in with and stops; `heatline serve` shows the rest.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use identity::NewStaff;
use identity::domain::account::Scope;
use platform::auth::Role;
use platform::clock::ShiftedClock;
use serde_json::{Value, json};

use crate::database::Database;
use crate::serve::{Plan, Service, start};

mod city;
mod stop_heating;

use city::{SUPPLIERS, home, households, registries};

#[derive(clap::Args)]
pub struct Options {
    /// Calls to the hotline.
    #[arg(long, default_value_t = 300)]
    complaints: usize,
}

const PASSWORD: &str = "a cold morning";

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = match &body {
            Some(body) => self.http.post(&url).json(body),
            None => self.http.get(&url),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} answered {status}: {value}");
        }
        Ok(value)
    }

    async fn login(&self, username: &str) -> anyhow::Result<String> {
        let login = self
            .call(
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await?;
        Ok(login["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    async fn staff(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        scope: Value,
    ) -> anyhow::Result<String> {
        let mut body = json!({"username": username, "password": PASSWORD, "role": role});
        if let (Some(body), Some(scope)) = (body.as_object_mut(), scope.as_object()) {
            body.extend(scope.clone());
        }
        self.call("/api/v1/staff", Some(admin), Some(body)).await?;
        self.login(username).await
    }
}

pub async fn run(database: &Database, options: Options) -> anyhow::Result<()> {
    if !(20..=5_000).contains(&options.complaints) {
        bail!("--complaints must be 20 to 5,000");
    }
    database.migrate().await?;
    let pool = database.config.pool();
    let events: i64 = pool
        .get()
        .await?
        .query_one("SELECT count(*) FROM eventstore.event", &[])
        .await?
        .get(0);
    if events > 0 {
        bail!(
            "the database already holds {events} events; the demo fills a fresh one (another \
             --data-dir, or an empty DATABASE_URL)"
        );
    }
    let (buildings, suppliers) = registries();
    intake::registry::import(&pool, buildings.as_bytes(), chrono::Utc::now()).await?;
    credit::registry::import(&pool, suppliers.as_bytes()).await?;
    crate::registries::district_areas(&pool).await?;
    crate::registries::import_households(database, households(options.complaints).as_bytes())
        .await?;
    // The morning is played as if it began hours ago (the first signing key and accounts
    // included); then the clock catches up with now and dispatch's timer records the deadlines
    // that passed meanwhile, as it would have.
    let clock = ShiftedClock::behind(chrono::Duration::hours(MORNING_HOURS_AGO));
    let identity = database.identity_at(Arc::new(clock.clone())).await?;
    identity
        .create_staff(NewStaff {
            username: "demo.admin".into(),
            password: PASSWORD.into(),
            role: Role::Admin,
            scope: Scope::default(),
            city_wide: false,
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo admin: {e:?}"))?;

    let photos = std::env::temp_dir().join(format!("heatline-demo-{}", std::process::id()));
    let mut intake = intake::IntakeConfig::new(photos.display().to_string());
    // Ten homes of one building or station within two hours make an incident this morning.
    intake.incidents.households = 10;
    let dispatch = dispatch::DispatchConfig::default();
    let credit = credit::CreditConfig::new(photos.display().to_string());
    // Residents log in through the sandbox's stand-in for WeChat.
    let sandbox = crate::sandbox::start()?;
    let plan = Plan {
        addr: "127.0.0.1:0".parse()?,
        only: None::<Service>,
        jwks_url: None,
        api_url: None,
        identity: crate::sandbox::identity_config(&sandbox.url),
        intake,
        dispatch,
        credit,
        seal_every: std::time::Duration::from_secs(60),
        relay: None,
        subscription_batches: crate::serve::default_subscription_batches(),
        clock: Arc::new(clock.clone()),
    };
    let running = start(database, plan).await?;
    let base = format!("http://{}", running.addrs[0]);
    let handle = running.handle();
    let served = tokio::spawn(running.serve());
    let outcome = morning(
        &Client {
            http: reqwest::Client::new(),
            base,
        },
        options.complaints,
        &clock,
    )
    .await;
    if outcome.is_ok() {
        clock.set_behind(chrono::Duration::zero());
        let breaches = breaches_recorded(&pool).await?;
        println!(
            "The morning began {MORNING_HOURS_AGO} hours ago: {breaches} SLA deadlines passed \
             since then (breach events recorded)."
        );
        let (homes, fen) = refunds_accrued(&pool).await?;
        println!(
            "Refunds for the cold hours (under {}'s refund rules): {homes} households, {}.{:02} yuan in all.",
            credit::domain::refund_rules::DEFAULT_CITY,
            fen / 100,
            fen % 100
        );
        println!(
            "Accounts (password \"{PASSWORD}\"): demo.admin, demo.operator, demo.dispatcher, demo.regulator,"
        );
        println!(
            "  demo.<supplier> (supplier admins), demo.crew.<supplier> (crew members); suppliers: harbin-heat, songbei-thermal, city-energy."
        );
        println!(
            "Run `heatline serve` on the same database and open http://127.0.0.1:8080/console (the API: POST /api/v1/auth/login)."
        );
    }
    handle.stop(true).await;
    let _ = served.await;
    sandbox.handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&photos);
    outcome
}

/// One step of a ticket's morning: the API path, who calls it (a username), the body.
type Step = (String, String, Value);

/// How long ago the demo's morning began.
const MORNING_HOURS_AGO: i64 = 3;
/// Minutes between two rounds of the morning's work (at most 13 rounds: within the morning).
const ROUND_MINUTES: i64 = 12;

/// Waits for dispatch's timer (it sweeps every second) to record the breaches that fell due
/// when the clock caught up; answers how many there are.
async fn breaches_recorded(pool: &deadpool_postgres::Pool) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    let mut last = -1;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let count: i64 = client
            .query_one(
                "SELECT count(*) FROM eventstore.event WHERE aggregate_type = 'ticket' \
                 AND event_type = 'SlaBreached'",
                &[],
            )
            .await?
            .get(0);
        if count == last {
            return Ok(count);
        }
        last = count;
    }
}

/// Waits for the refunds of the morning's repairs to be accrued; answers how many households
/// have one and their sum in fen.
async fn refunds_accrued(pool: &deadpool_postgres::Pool) -> anyhow::Result<(i64, i64)> {
    let client = pool.get().await?;
    let mut last = (-1, -1);
    loop {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let row = client
            .query_one(
                "SELECT count(DISTINCT household), coalesce(sum(amount_fen), 0)::bigint \
                 FROM credit.refund_day",
                &[],
            )
            .await?;
        let now = (row.get(0), row.get(1));
        if now == last {
            return Ok(now);
        }
        last = now;
    }
}

async fn morning(api: &Client, complaints: usize, clock: &ShiftedClock) -> anyhow::Result<()> {
    let admin = api.login("demo.admin").await?;
    let operator = api
        .staff(&admin, "demo.operator", "operator", json!({}))
        .await?;
    let dispatcher = api
        .staff(
            &admin,
            "demo.dispatcher",
            "dispatcher",
            json!({"city_wide": true}),
        )
        .await?;
    api.staff(&admin, "demo.regulator", "regulator", json!({}))
        .await?;
    let mut suppliers = Vec::new();
    for (id, name, district) in SUPPLIERS {
        let token = api
            .staff(
                &admin,
                &format!("demo.{id}"),
                "supplier_admin",
                json!({"supplier": id}),
            )
            .await?;
        let crew = api
            .call(
                "/api/v1/crews",
                Some(&token),
                Some(json!({"name": format!("{name}抢修一班"), "supplier_id": id, "district": district})),
            )
            .await?;
        let crew_id = crew["crew_id"].as_str().unwrap_or_default().to_owned();
        let member = api
            .staff(
                &admin,
                &format!("demo.crew.{id}"),
                "crew",
                json!({"supplier": id, "crew": crew_id}),
            )
            .await?;
        suppliers.push((id, token, crew_id, member));
    }

    // The hotline's calls: most homes once, every fifteenth a repeat caller (merged), and
    // twelve homes of one building within minutes (an incident).
    let mut tickets: Vec<(String, usize)> = Vec::new();
    let address = |n: usize| {
        let (d, _, place) = home(n);
        (d, place)
    };
    let filing = crate::progress::bar(complaints as u64, "hotline calls");
    for n in 0..complaints {
        filing.inc(1);
        let (d, place) = if n % 15 == 14 {
            address(n - 12)
        } else {
            address(n)
        };
        let category = match n % 10 {
            0 => "no_heat",
            1 => "leak",
            _ => "low_temperature",
        };
        let filed = api
            .call(
                "/api/v1/hotline/complaints",
                Some(&operator),
                Some(json!({
                    "category": category,
                    "address": place,
                    "caller_phone": format!("138{:08}", 10_000_000 + n % 997),
                    "description": "室内温度低 / the rooms are cold this morning",
                })),
            )
            .await?;
        if filed["outcome"] == "accepted" {
            tickets.push((
                filed["complaint_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                d,
            ));
        }
    }
    filing.finish_and_clear();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Tickets in every state, by supplier: each ticket's steps are planned, then played in
    // rounds ROUND_MINUTES apart on the morning's clock, a ticket starting in one of its first
    // four rounds (so some are signed within 30 minutes and some late).
    let mut plans: Vec<(usize, Vec<Step>)> = Vec::new();
    for (i, (id, d)) in tickets.iter().enumerate() {
        let (supplier_id, _, crew, _) = &suppliers[*d];
        let supplier = format!("demo.{supplier_id}");
        let member = format!("demo.crew.{supplier_id}");
        let act = |action: &str| format!("/api/v1/tickets/{id}/{action}");
        let ticket = api
            .call(&format!("/api/v1/tickets/{id}"), Some(&dispatcher), None)
            .await;
        if ticket.map(|t| t["status"] != "dispatched").unwrap_or(true) {
            continue;
        }
        let stage = i % 12;
        let steps: Vec<Step> = match stage {
            0 | 1 => vec![],
            2 => vec![(
                act("return"),
                supplier.clone(),
                json!({"reason": "this building is another supplier's network"}),
            )],
            _ => {
                let mut steps = vec![(act("sign"), supplier.clone(), json!({}))];
                if stage >= 4 {
                    steps.push((
                        act("assign"),
                        "demo.dispatcher".into(),
                        json!({"crew_id": crew}),
                    ));
                }
                if stage >= 5 {
                    steps.push((
                        act("check-in"),
                        member.clone(),
                        json!({"latitude": 45.75, "longitude": 126.63}),
                    ));
                    steps.push((act("measurements"), member.clone(), json!({"celsius": 15.0 + (i % 20) as f64 / 10.0, "room": "bedroom", "device_id": "TM-DEMO-1"})));
                }
                if stage == 6 {
                    steps.push((
                        act("pause"),
                        member.clone(),
                        json!({"reason": "resident_absent"}),
                    ));
                }
                if stage >= 7 {
                    let warm = 17.5 + (i % 30) as f64 / 10.0;
                    steps.push((
                        act("measurements"),
                        member.clone(),
                        json!({"celsius": warm, "room": "bedroom", "device_id": "TM-DEMO-1"}),
                    ));
                    let cause = match i % 7 {
                        0 => "resident_side",
                        1 => "developer_handover",
                        _ => "supplier",
                    };
                    steps.push((
                        act("resolve"),
                        member.clone(),
                        json!({"cause": cause, "standard_met": warm >= 18.0}),
                    ));
                }
                if stage >= 9 {
                    let rating = ["satisfied", "basically_satisfied", "unsatisfied"][i % 3];
                    steps.push((
                        act("feedback"),
                        "demo.operator".into(),
                        json!({"rating": rating}),
                    ));
                }
                if stage == 11 {
                    steps.push((
                        act("supervise"),
                        "demo.regulator".into(),
                        json!({"note": "repeat cold complaints in this station"}),
                    ));
                }
                steps
            }
        };
        plans.push((i % 4, steps));
    }
    let moved = plans.len();
    let rounds = plans
        .iter()
        .map(|(start, steps)| start + steps.len())
        .max()
        .unwrap_or(0);
    let working = crate::progress::bar(rounds as u64, "rounds of work");
    let mut stopped = vec![false; plans.len()];
    for round in 0..rounds {
        working.inc(1);
        let elapsed = chrono::Duration::minutes(ROUND_MINUTES * (round as i64 + 1));
        clock.set_behind(chrono::Duration::hours(MORNING_HOURS_AGO) - elapsed);
        // Access tokens last 15 minutes of the morning's clock: everyone logs in again.
        let mut tokens = std::collections::HashMap::new();
        for (_, steps) in &plans {
            for (_, username, _) in steps {
                if !tokens.contains_key(username) {
                    tokens.insert(username.clone(), api.login(username).await?);
                }
            }
        }
        for (n, (start, steps)) in plans.iter().enumerate() {
            let Some((path, token, body)) = round.checked_sub(*start).and_then(|k| steps.get(k))
            else {
                continue;
            };
            if stopped[n] {
                continue;
            }
            if let Err(error) = api
                .call(path, Some(&tokens[token]), Some(body.clone()))
                .await
            {
                tracing::warn!(%error, "a demo step was refused");
                stopped[n] = true;
            }
        }
    }
    working.finish_and_clear();
    let (dispatcher, regulator) = (
        api.login("demo.dispatcher").await?,
        api.login("demo.regulator").await?,
    );
    for supplier in suppliers.iter_mut() {
        supplier.1 = api.login(&format!("demo.{}", supplier.0)).await?;
    }

    // The credit feed scores what dispatch published.
    let season = credit::domain::values::Season::of(chrono::Utc::now());
    let mut ranking = Value::Null;
    for _ in 0..100 {
        ranking = api
            .call(
                &format!("/api/v1/credit/seasons/{season}/ranking"),
                Some(&regulator),
                None,
            )
            .await?;
        if ranking
            .as_array()
            .is_some_and(|r| r.len() == SUPPLIERS.len())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let appeals = appeal(api, &suppliers, &regulator, season).await?;
    let first: i32 = season.to_string()[..4].parse()?;
    let next = format!("{}-{}", first + 1, first + 2);
    let applied = stop_heating::applications(api, &suppliers, &next).await?;
    let queue = api
        .call("/api/v1/tickets?limit=100", Some(&dispatcher), None)
        .await?;
    let open = queue["items"].as_array().map_or(0, Vec::len);
    println!(
        "A cold morning: {complaints} calls to the hotline, {} tickets ({moved} worked on, {open}+ still open).",
        tickets.len()
    );
    println!(
        "Stop-heating applications for {next}: {} (residents demo.resident.1 to .4: `heatline serve --sandbox`, WeChat code sandbox-demo.resident.N):",
        applied.len()
    );
    for (i, a) in applied.iter().enumerate() {
        let outcome = match a["status"].as_str().unwrap_or_default() {
            "done" => "the crew sealed the valve: the home pays the base fee share".to_owned(),
            "refused" => format!("refused ({})", a["refusal"].as_str().unwrap_or_default()),
            "approved" => "approved; the crew has yet to come".to_owned(),
            _ => "waiting for the supplier's reply".to_owned(),
        };
        println!("  demo.resident.{}: {outcome}", i + 1);
        let notice = &a["notice"];
        if notice["status"] == "sent" {
            println!(
                "    told by {}: {}",
                notice["channel"].as_str().unwrap_or_default(),
                notice["text"].as_str().unwrap_or_default()
            );
        }
    }
    println!("Credit ranking {season} ({appeals} appeals filed, one decided):");
    for row in ranking.as_array().into_iter().flatten() {
        println!(
            "  {} {:<16} {:>6.2} points, grade {}",
            row["rank"],
            row["supplier_id"].as_str().unwrap_or_default(),
            row["score"].as_f64().unwrap_or_default(),
            row["grade"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// Each supplier appeals its first deduction; the regulator rejects the first supplier's
/// appeal and leaves the others to decide. Answers how many were filed.
async fn appeal(
    api: &Client,
    suppliers: &[(&str, String, String, String)],
    regulator: &str,
    season: credit::domain::values::Season,
) -> anyhow::Result<usize> {
    let mut filed = Vec::new();
    for (id, token, _, _) in suppliers {
        let ledger = api
            .call(
                &format!("/api/v1/credit/seasons/{season}/suppliers/{id}/ledger?limit=500"),
                Some(token),
                None,
            )
            .await?;
        let deduction = ledger["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["points"].as_f64().is_some_and(|p| p < 0.0));
        let Some(entry) = deduction else { continue };
        let entry_id = entry["entry_id"].as_str().unwrap_or_default();
        let appeal = api
            .call(
                &format!("/api/v1/credit/entries/{entry_id}/appeals"),
                Some(token),
                Some(json!({
                    "statement": "该户室温偏低系住户自行关闭阀门所致，维修记录与现场照片可证。\n\
                        The household had closed its own valve; the repair record shows it.",
                })),
            )
            .await?;
        filed.push(appeal["appeal_id"].as_str().unwrap_or_default().to_owned());
    }
    if let Some(first) = filed.first() {
        api.call(
            &format!("/api/v1/credit/appeals/{first}/decision"),
            Some(regulator),
            Some(json!({
                "upheld": false,
                "reason": "复测记录显示供水温度不足，与住户阀门无关，维持扣分。",
            })),
        )
        .await?;
    }
    Ok(filed.len())
}
