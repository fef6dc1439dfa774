//! `/healthz` (the process answers) and `/readyz` (it can do its work).

use actix_web::{HttpResponse, web};
use deadpool_postgres::Pool;
use serde::Serialize;

/// How many days ahead of its end the working-day calendar is reported.
pub const CALENDAR_NOTICE_DAYS: i64 = 60;

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pool: Pool,
    /// Refinery history tables and the migrations each must list.
    migrations: Vec<(String, Vec<i32>)>,
    /// The subscriptions, and how many seconds behind the log one may fall and still be ready.
    subscriptions: Option<(crate::metrics::Lag, f64)>,
    /// The working-day calendar the clocks count with.
    calendar: Option<crate::calendar::Calendar>,
}

impl Readiness {
    /// Checks the database and the event store's migrations.
    pub fn new(pool: Pool) -> Self {
        let versions = eventstore::db::known_migrations()
            .into_iter()
            .map(|(version, _)| version)
            .collect();
        Readiness {
            pool,
            migrations: vec![(eventstore::db::MIGRATION_TABLE.to_owned(), versions)],
            subscriptions: None,
            calendar: None,
        }
    }

    /// Also checks a service's migrations: its refinery table and the versions it must list.
    pub fn with_migrations(mut self, table: &str, versions: Vec<i32>) -> Self {
        self.migrations.push((table.to_owned(), versions));
        self
    }

    /// Also looks at the working-day calendar: one that ends within 60 days makes the process
    /// `degraded` (still serving), naming the day it ends.
    pub fn with_calendar(mut self, calendar: crate::calendar::Calendar) -> Self {
        self.calendar = Some(calendar);
        self
    }

    /// Also checks that every subscription has caught up with the public log as it was when
    /// the process started ([`crate::metrics::Lag::since`]) and is no more than `max_seconds`
    /// behind it.
    pub fn with_subscriptions(mut self, lag: crate::metrics::Lag, max_seconds: f64) -> Self {
        self.subscriptions = Some((lag, max_seconds));
        self
    }
}

/// One thing `/readyz` looked at.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Check {
    /// `database`, `migrations {table}`, `subscription {name}`.
    name: String,
    /// Whether it is as it must be.
    ok: bool,
    /// What is wrong, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// A check that needs attention but does not stop the process serving: failing, it makes
    /// the status `degraded`, not `not_ready`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    advisory: bool,
}

/// What `/readyz` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReadinessReport {
    /// `ready`; `degraded` (serving, but an advisory check fails); or `not_ready`.
    status: &'static str,
    /// Each check.
    checks: Vec<Check>,
}

/// What `/healthz` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Liveness {
    /// `ok`.
    status: &'static str,
}

/// Mounts `/healthz` and `/readyz`.
pub fn configure(readiness: Readiness) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(readiness))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz));
    }
}

/// The process answers (for a liveness probe; it reads nothing).
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Liveness))
)]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

/// The process can do its work: the database answers, every migration is applied, and no
/// subscription is too far behind the public log (for a readiness probe and load balancers).
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = ReadinessReport, description = "Ready, or degraded (serving; an advisory check such as the calendar's end needs attention)"),
        (status = 503, body = ReadinessReport, description = "Not ready: the failing checks say why; `Retry-After` says when to look again",
            headers(("Retry-After" = u32, description = "Seconds"))),
    )
)]
pub(crate) async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let mut checks = Vec::new();
    match readiness.pool.get().await {
        Ok(client) => {
            checks.push(Check {
                name: "database".into(),
                ok: client.simple_query("SELECT 1").await.is_ok(),
                detail: None,
                advisory: false,
            });
            for (table, wanted) in &readiness.migrations {
                let applied: Result<Vec<i32>, _> = client
                    .query(&format!("SELECT version FROM {table}"), &[])
                    .await
                    .map(|rows| rows.iter().map(|r| r.get(0)).collect());
                let missing: Vec<i32> = match &applied {
                    Ok(applied) => wanted
                        .iter()
                        .filter(|v| !applied.contains(v))
                        .copied()
                        .collect(),
                    Err(_) => wanted.clone(),
                };
                checks.push(Check {
                    name: format!("migrations {table}"),
                    ok: missing.is_empty(),
                    detail: (!missing.is_empty()).then(|| format!("not applied: {missing:?}")),
                    advisory: false,
                });
            }
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: no database connection");
            checks.push(Check {
                name: "database".into(),
                ok: false,
                detail: Some("no connection".into()),
                advisory: false,
            });
        }
    }
    if let Some((lag, max_seconds)) = &readiness.subscriptions {
        match lag.measure().await {
            Ok(lags) => checks.extend(lags.into_iter().map(|lag| Check {
                name: format!("subscription {}", lag.name),
                ok: lag.reached_start && lag.age <= *max_seconds,
                detail: match lag.behind {
                    i64::MAX => Some("not started".to_owned()),
                    behind if !lag.reached_start => Some(format!(
                        "catching up with the log as it was at start: {behind} events behind"
                    )),
                    0 => None,
                    behind => Some(format!("{behind} events behind, oldest {:.0} s", lag.age)),
                },
                advisory: false,
            })),
            Err(error) => checks.push(Check {
                name: "subscriptions".into(),
                ok: false,
                detail: Some(format!("lag not readable: {error}")),
                advisory: false,
            }),
        }
    }
    if let Some(calendar) = &readiness.calendar {
        let warning = calendar.ending_soon(
            crate::calendar::Calendar::today(chrono::Utc::now()),
            CALENDAR_NOTICE_DAYS,
        );
        checks.push(Check {
            name: "calendar".into(),
            ok: warning.is_none(),
            detail: warning,
            advisory: true,
        });
    }
    let ready = checks.iter().all(|c| c.ok || c.advisory);
    let degraded = checks.iter().any(|c| !c.ok && c.advisory);
    let body = ReadinessReport {
        status: match (ready, degraded) {
            (false, _) => "not_ready",
            (true, true) => "degraded",
            (true, false) => "ready",
        },
        checks,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(body)
    }
}
