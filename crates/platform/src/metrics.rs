//! `/metrics` in the Prometheus text format: HTTP requests by route and status with latency
//! histograms, counters the services keep (complaints by channel, SLA breaches by clock), and
//! each subscription's lag behind the public log, read from the database when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use deadpool_postgres::Pool;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    http: BTreeMap<(String, String, u16), Histogram>,
    counters: BTreeMap<&'static str, (&'static str, BTreeMap<String, u64>)>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A counter a service keeps: its name (`heatline_..._total`) and what it counts.
#[derive(Debug, Clone, Copy)]
pub struct Counter {
    /// The metric's name.
    pub name: &'static str,
    /// Its `# HELP` text.
    pub help: &'static str,
}

/// Makes `counter` known before it first counts: `/metrics` lists it (with no series) from the
/// start, so dashboards and alerts find it on a quiet day.
pub fn declare(counter: Counter) {
    let mut registry = registry().lock().expect("metrics lock");
    registry
        .counters
        .entry(counter.name)
        .or_insert_with(|| (counter.help, BTreeMap::new()));
}

/// Adds one to `counter` with `labels`.
pub fn count(counter: Counter, pairs: &[(&str, &str)]) {
    count_by(counter, pairs, 1);
}

/// Adds `n` to `counter` with `labels`.
pub fn count_by(counter: Counter, pairs: &[(&str, &str)], n: u64) {
    let mut registry = registry().lock().expect("metrics lock");
    let (_, series) = registry
        .counters
        .entry(counter.name)
        .or_insert_with(|| (counter.help, BTreeMap::new()));
    *series.entry(labels(pairs)).or_default() += n;
}

fn observe(method: &str, route: &str, status: u16, seconds: f64) {
    let mut registry = registry().lock().expect("metrics lock");
    let histogram = registry
        .http
        .entry((method.to_owned(), route.to_owned(), status))
        .or_default();
    for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
        if seconds <= bound {
            *bucket += 1;
        }
    }
    histogram.count += 1;
    histogram.sum += seconds;
}

/// Middleware (`App::wrap(from_fn(metrics::track))`): times every request under its route
/// pattern (`/api/v1/tickets/{id}`), so ids do not make series of their own.
pub async fn track(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(request).await?;
    observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    Ok(response)
}

fn calendar_end() -> &'static OnceLock<chrono::NaiveDate> {
    static END: OnceLock<chrono::NaiveDate> = OnceLock::new();
    &END
}

/// Reports `heatline_calendar_days_left`: the days until the working-day calendar ends (its
/// last day), negative once it has ended, so an alert can fire well before it does.
pub fn watch_calendar(last_day: chrono::NaiveDate) {
    let _ = calendar_end().set(last_day);
}

/// The metrics kept in this process, as Prometheus text.
pub fn render() -> String {
    let registry = registry().lock().expect("metrics lock");
    let mut out = String::new();
    out.push_str(
        "# HELP heatline_http_request_duration_seconds HTTP requests by route and status.\n",
    );
    out.push_str("# TYPE heatline_http_request_duration_seconds histogram\n");
    for ((method, route, status), histogram) in &registry.http {
        let base = labels(&[
            ("method", method),
            ("route", route),
            ("status", &status.to_string()),
        ]);
        for (bucket, bound) in histogram.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "heatline_http_request_duration_seconds_bucket{{{base},le=\"{bound}\"}} {bucket}"
            );
        }
        let _ = writeln!(
            out,
            "heatline_http_request_duration_seconds_bucket{{{base},le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(
            out,
            "heatline_http_request_duration_seconds_sum{{{base}}} {}",
            histogram.sum
        );
        let _ = writeln!(
            out,
            "heatline_http_request_duration_seconds_count{{{base}}} {}",
            histogram.count
        );
    }
    for (name, (help, series)) in &registry.counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (labels, value) in series {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
    if let Some(last) = calendar_end().get() {
        let today = crate::calendar::Calendar::today(chrono::Utc::now());
        let _ = writeln!(
            out,
            "# HELP heatline_calendar_days_left Days until the working-day calendar ends.\n\
             # TYPE heatline_calendar_days_left gauge\nheatline_calendar_days_left {}",
            (*last - today).num_days()
        );
    }
    out
}

/// What `/metrics` and `/readyz` read from the database: how far this process's
/// subscriptions are behind the public log.
#[derive(Clone)]
pub struct Lag {
    pool: Pool,
    /// `(schema, name)` of each subscription this process runs.
    subscriptions: Vec<(String, String)>,
    /// Whether this process seals the event logs (and reports how current the seals are).
    sealing: bool,
    /// The public log's head when the process started.
    start: eventstore::LogPosition,
    /// The subscriptions seen to have reached `start`.
    reached_start: std::sync::Arc<Mutex<std::collections::HashSet<String>>>,
}

/// How far one subscription is behind the public log.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionLag {
    /// `schema.name`.
    pub name: String,
    /// Published events past its checkpoint (`i64::MAX` before it has a checkpoint).
    pub behind: i64,
    /// The age in seconds of the oldest of them (0 when none).
    pub age: f64,
    /// Whether its checkpoint has reached the log's head as it was when the process started
    /// (once reached, it stays so).
    pub reached_start: bool,
}

impl Lag {
    /// The subscriptions named `schema.name` (plain identifiers).
    pub fn new(pool: Pool, subscriptions: &[&str]) -> Self {
        Lag {
            pool,
            subscriptions: subscriptions
                .iter()
                .filter_map(|s| s.split_once('.'))
                .map(|(schema, name)| (schema.to_owned(), name.to_owned()))
                .collect(),
            sealing: false,
            start: eventstore::LogPosition::START,
            reached_start: Default::default(),
        }
    }

    /// The same, naming `subscriptions` instead.
    pub fn with_subscriptions(mut self, subscriptions: &[&str]) -> Self {
        self.subscriptions = Lag::new(self.pool.clone(), subscriptions).subscriptions;
        self
    }

    /// The public log's head when the process started: until a subscription's checkpoint has
    /// reached it, the subscription is catching up (a read model rebuilt, a scorer restored).
    pub fn since(mut self, head: eventstore::LogPosition) -> Self {
        self.start = head;
        self
    }

    /// Also reports the age of the newest seal and the events after it.
    pub fn with_sealing(mut self) -> Self {
        self.sealing = true;
        self
    }

    async fn render_seals(&self) -> Result<String, Box<dyn std::error::Error>> {
        let status = eventstore::seal::sealer::status(&self.pool).await?;
        let age = status.newest.map_or(String::new(), |newest| {
            format!(
                "heatline_seal_age_seconds {}\n",
                (chrono::Utc::now() - newest).num_milliseconds() as f64 / 1000.0
            )
        });
        Ok(format!(
            "# HELP heatline_seal_age_seconds Seconds since the newest seal of the event logs (absent before the first).\n\
             # TYPE heatline_seal_age_seconds gauge\n{age}\
             # HELP heatline_unsealed_events Events after the newest seal, by log.\n\
             # TYPE heatline_unsealed_events gauge\n\
             heatline_unsealed_events{{log=\"domain\"}} {}\n\
             heatline_unsealed_events{{log=\"published\"}} {}\n",
            status.unsealed_events, status.unsealed_published
        ))
    }

    /// Each subscription with the published events it has not handled yet, the age of the
    /// oldest of them, and whether it has reached the log's head as it was at start.
    pub async fn measure(&self) -> Result<Vec<SubscriptionLag>, Box<dyn std::error::Error>> {
        let client = self.pool.get().await?;
        let mut lags = Vec::new();
        let mut schemas: Vec<&str> = self.subscriptions.iter().map(|(s, _)| s.as_str()).collect();
        schemas.dedup();
        for schema in schemas {
            let names: Vec<&str> = self
                .subscriptions
                .iter()
                .filter(|(s, _)| s == schema)
                .map(|(_, n)| n.as_str())
                .collect();
            let exists: bool = client
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!("{schema}.subscription_checkpoint")],
                )
                .await?
                .get(0);
            let rows = if exists {
                let sql = include_str!("sql/subscription_lag.sql").replace("{schema}", schema);
                client
                    .query(
                        &sql,
                        &[
                            &names,
                            &self.start.tx_id_text(),
                            &self.start.global_position,
                        ],
                    )
                    .await?
            } else {
                Vec::new()
            };
            for name in names {
                let full = format!("{schema}.{name}");
                // A subscription that has not taken its checkpoint yet is still starting: as
                // far behind as the whole log.
                let (behind, age, reached) = match rows.iter().find(|r| r.get::<_, &str>(0) == name)
                {
                    Some(row) => (row.get(1), row.get(2), row.get(3)),
                    None => (i64::MAX, f64::INFINITY, false),
                };
                let mut seen = self.reached_start.lock().unwrap_or_else(|e| e.into_inner());
                if reached {
                    seen.insert(full.clone());
                }
                lags.push(SubscriptionLag {
                    reached_start: seen.contains(&full),
                    name: full,
                    behind,
                    age,
                });
            }
        }
        Ok(lags)
    }

    async fn render(&self) -> Result<String, Box<dyn std::error::Error>> {
        let mut events = String::new();
        let mut seconds = String::new();
        for lag in self.measure().await? {
            if lag.behind == i64::MAX {
                continue; // not started yet: no figure to give
            }
            let series = labels(&[("subscription", &lag.name)]);
            let _ = writeln!(
                events,
                "heatline_subscription_lag_events{{{series}}} {}",
                lag.behind
            );
            let _ = writeln!(
                seconds,
                "heatline_subscription_lag_seconds{{{series}}} {}",
                lag.age
            );
        }
        Ok(format!(
            "# HELP heatline_subscription_lag_events Published events a subscription has not handled yet.\n\
             # TYPE heatline_subscription_lag_events gauge\n{events}\
             # HELP heatline_subscription_lag_seconds Age of the oldest published event a subscription has not handled yet.\n\
             # TYPE heatline_subscription_lag_seconds gauge\n{seconds}"
        ))
    }
}

/// Mounts `/metrics`.
pub fn configure(lag: Lag) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(lag))
            .route("/metrics", web::get().to(metrics));
    }
}

/// Request counts and latencies by route and status, counters of what the services did, and
/// each subscription's lag, in the Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String))
)]
pub(crate) async fn metrics(lag: web::Data<Lag>) -> HttpResponse {
    let mut body = render();
    match lag.render().await {
        Ok(text) => body.push_str(&text),
        Err(error) => tracing::warn!(%error, "subscription lag not read for /metrics"),
    }
    if lag.sealing {
        match lag.render_seals().await {
            Ok(text) => body.push_str(&text),
            Err(error) => tracing::warn!(%error, "seal status not read for /metrics"),
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_counters_render_in_the_prometheus_text_format() {
        observe("GET", "/api/v1/tickets/{id}", 200, 0.003);
        observe("GET", "/api/v1/tickets/{id}", 200, 0.2);
        let counter = Counter {
            name: "heatline_test_total",
            help: "A test counter.",
        };
        count(counter, &[("clock", "sign")]);
        count(counter, &[("clock", "sign")]);
        let text = render();
        let base = r#"method="GET",route="/api/v1/tickets/{id}",status="200""#;
        assert!(
            text.contains(&format!(
                "heatline_http_request_duration_seconds_bucket{{{base},le=\"0.005\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "heatline_http_request_duration_seconds_bucket{{{base},le=\"0.25\"}} 2"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "heatline_http_request_duration_seconds_count{{{base}}} 2"
            )),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE heatline_test_total counter\nheatline_test_total{clock=\"sign\"} 2"
            ),
            "{text}"
        );
    }
}
