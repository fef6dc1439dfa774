//! The targets board: the figures the city's plan sets targets for, for the city, each district
//! and each supplier, over the season and its latest week, with a trend by day and week, and the
//! tickets behind each figure.
//!
//! Definitions (what a regulator reads off the board):
//! - *at or above standard*: certified measurements of 18.0 ℃ or more over all certified
//!   measurements taken in the window;
//! - *satisfaction*: satisfied and basically satisfied verdicts over all verdicts given in the
//!   window (a ticket's verdict and each member complaint's count once each);
//! - *complaints per 10,000 m²*: complaints filed in the window (merged ones included, refused
//!   ones not) over the heated area of the scope;
//! - *signed in time*: tickets first dispatched in the window and signed within 30 minutes, over
//!   those whose signing is decided (signed, or dispatched 30 minutes or more before the end);
//! - *time to restore*: from a ticket's opening to its first resolution, for tickets first
//!   resolved in the window (median and 90th percentile, nearest-rank);
//! - *open* and *incidents open*: tickets (incident tickets) opened and not closed at the end.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use utoipa::ToSchema;

use crate::domain::values::{Season, china};

mod behind;
mod retrofit;
mod trend;

pub use behind::{FIGURES, TicketBehind, TicketsBehind, tickets_behind};
pub use retrofit::{CauseCount, RetrofitBuilding, retrofit};
pub use trend::by_week;
use trend::trend;

/// The room-temperature standard, in tenths of a degree.
pub const STANDARD_TENTHS: i32 = 180;
/// The satisfaction target.
pub const SATISFACTION_TARGET: f64 = 0.85;
/// Minutes to sign a ticket.
pub const SIGN_MINUTES: i64 = 30;

/// The windows the board reads: the season up to its end (or now) and that moment's week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// The season's start.
    pub season_from: DateTime<Utc>,
    /// The week's start (Monday, 00:00 China time; not before the season's start).
    pub week_from: DateTime<Utc>,
    /// The end of both: now, or the season's end if it is over.
    pub to: DateTime<Utc>,
}

impl Windows {
    /// The windows of `season` seen at `now`.
    pub fn of(season: Season, now: DateTime<Utc>) -> Windows {
        let season_from = season.starts_at();
        let to = now.clamp(season_from, season.ends_at());
        let last = (to - Duration::milliseconds(1)).with_timezone(&china());
        let monday =
            last.date_naive() - Duration::days(i64::from(last.weekday().num_days_from_monday()));
        let week_from = midnight(monday).max(season_from);
        Windows {
            season_from,
            week_from,
            to,
        }
    }
}

/// Where whole China days end in a window and its current day begins: the board reads whole
/// days from the daily counts (`credit.target_day_counts`) and the rest from the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split {
    /// The season's first day.
    season_first: NaiveDate,
    /// The week's first day.
    week_first: NaiveDate,
    /// The day the windows end in (the first not read from the daily counts).
    today: NaiveDate,
    /// 00:00 of `today`, not before the season's start.
    today_from: DateTime<Utc>,
}

impl Windows {
    fn split(&self) -> Split {
        let day = |at: DateTime<Utc>| at.with_timezone(&china()).date_naive();
        let today = day(self.to);
        Split {
            season_first: day(self.season_from),
            week_first: day(self.week_from),
            today,
            today_from: midnight(today).max(self.season_from),
        }
    }
}

/// 00:00 China time of `day`.
fn midnight(day: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("UTC+8 has no gaps")
        .with_timezone(&Utc)
}

/// The figures of one scope over one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Complaints filed.
    pub complaints: i64,
    /// The scope's heated area, when the registries know it.
    pub heated_area_m2: Option<f64>,
    /// Complaints per 10,000 m² of heated area.
    pub complaints_per_10k_m2: Option<f64>,
    /// Certified measurements taken.
    pub measurements: i64,
    /// Of which at 18.0 ℃ or more.
    pub at_or_above_standard: i64,
    /// Their share (0–1); absent without measurements.
    pub share_at_or_above_standard: Option<f64>,
    /// Verdicts given.
    pub verdicts: i64,
    /// Of which satisfied or basically satisfied.
    pub satisfied: i64,
    /// Their share (0–1); absent without verdicts.
    pub satisfaction: Option<f64>,
    /// Tickets dispatched whose signing is decided.
    pub dispatched: i64,
    /// Of which signed within 30 minutes.
    pub signed_in_time: i64,
    /// Their share (0–1).
    pub share_signed_in_time: Option<f64>,
    /// Tickets first resolved.
    pub restored: i64,
    /// Median minutes from opening to first resolution.
    pub restore_median_minutes: Option<f64>,
    /// 90th percentile of the same.
    pub restore_p90_minutes: Option<f64>,
    /// Tickets open at the end.
    pub open_tickets: i64,
    /// Incident tickets open at the end.
    pub incidents_open: i64,
}

/// A scope's figures over the season and the week.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeFigures {
    /// `city`, `district` or `supplier`.
    pub scope: String,
    /// The district or supplier id (absent for the city).
    pub key: Option<String>,
    /// The supplier's name.
    pub name: Option<String>,
    /// Over the season.
    pub season: Figures,
    /// Over the week.
    pub week: Figures,
}

/// One day or week of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrendPoint {
    /// Its first day (China time).
    pub from: NaiveDate,
    /// Complaints filed.
    pub complaints: i64,
    /// Certified measurements.
    pub measurements: i64,
    /// Of which at or above standard.
    pub at_or_above_standard: i64,
    /// Verdicts.
    pub verdicts: i64,
    /// Of which satisfied or basically satisfied.
    pub satisfied: i64,
}

/// The whole board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetsBoard {
    /// The season.
    pub season: String,
    /// The standard, ℃.
    pub standard_celsius: f64,
    /// The satisfaction target (0–1).
    pub satisfaction_target: f64,
    /// Minutes to sign.
    pub sign_target_minutes: i64,
    /// The season window's start.
    pub season_from: DateTime<Utc>,
    /// The week window's start.
    pub week_from: DateTime<Utc>,
    /// The end of both windows.
    pub to: DateTime<Utc>,
    /// The city.
    pub city: ScopeFigures,
    /// Each district with complaints or tickets, by name.
    pub districts: Vec<ScopeFigures>,
    /// Each registered or seen supplier, by id.
    pub suppliers: Vec<ScopeFigures>,
    /// By day over the season, first to last (days with nothing included).
    pub days: Vec<TrendPoint>,
    /// By week (Monday first).
    pub weeks: Vec<TrendPoint>,
}

/// Narrows the board's lists and trend to one district or supplier.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One district.
    pub district: Option<String>,
    /// One supplier.
    pub supplier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Scope {
    City,
    District(String),
    Supplier(String),
}

/// The grouping every family of figures is computed under.
const GROUPS: &str = "GROUPING SETS ((), (district), (supplier_id))";

/// Runs a query grouped by [`GROUPS`] whose first columns are `grouping(district)`,
/// `grouping(supplier_id)`, `district`, `supplier_id`, and whose others are numbers.
async fn grouped(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<HashMap<Scope, Vec<Option<f64>>>, tokio_postgres::Error> {
    let rows = client.query(sql, params).await?;
    let mut out = HashMap::new();
    for row in rows {
        let (by_district, by_supplier): (i32, i32) = (row.get(0), row.get(1));
        let scope = match (by_district, by_supplier) {
            (1, 1) => Scope::City,
            (0, 1) => match row.get::<_, Option<String>>(2) {
                Some(d) => Scope::District(d),
                None => continue,
            },
            (1, 0) => match row.get::<_, Option<String>>(3) {
                Some(s) => Scope::Supplier(s),
                None => continue,
            },
            _ => continue,
        };
        let values = (4..row.len())
            .map(|i| row.get::<_, Option<f64>>(i))
            .collect();
        out.insert(scope, values);
    }
    Ok(out)
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Reads every figure of `season` seen at `now`.
pub async fn board(
    client: &impl GenericClient,
    season: Season,
    now: DateTime<Utc>,
    filter: &Filter,
) -> Result<TargetsBoard, tokio_postgres::Error> {
    let windows = Windows::of(season, now);
    let head = "SELECT grouping(district)::int, grouping(supplier_id)::int, district, supplier_id";
    // Complaints, measurements and verdicts: whole days from the daily counts, the current
    // day (from `$4`) from the rows themselves.
    let daily = format!(
        "{head}, {sums} FROM ( \
           SELECT nullif(district, '') AS district, nullif(supplier_id, '') AS supplier_id, \
                  day >= $2 AS week, complaints AS c, measurements AS m, at_or_above AS ok, \
                  verdicts AS v, satisfied AS s \
             FROM credit.target_day_counts WHERE day >= $1 AND day < $3 \
           UNION ALL \
           SELECT district, supplier_id, filed_at >= $5, 1, 0, 0, 0, 0 \
             FROM credit.target_complaint WHERE NOT rejected AND filed_at >= $4 AND filed_at < $6 \
           UNION ALL \
           SELECT district, supplier_id, at >= $5, 0, 1, (tenths >= {STANDARD_TENTHS})::int, 0, 0 \
             FROM credit.target_measurement WHERE at >= $4 AND at < $6 \
           UNION ALL \
           SELECT district, supplier_id, at >= $5, 0, 0, 0, 1, (rating <> 'unsatisfied')::int \
             FROM credit.target_verdict WHERE at >= $4 AND at < $6 \
         ) x GROUP BY {GROUPS}",
        sums = ["c", "m", "ok", "v", "s"]
            .map(|c| format!("sum({c})::float8, (sum({c}) FILTER (WHERE week))::float8"))
            .join(", ")
    );
    let in_time = format!(
        "signed_at IS NOT NULL AND signed_at < $3 \
         AND signed_at <= dispatched_at + interval '{SIGN_MINUTES} minutes'"
    );
    let decided = format!(
        "(signed_at IS NOT NULL AND signed_at < $3) \
         OR dispatched_at <= $3 - interval '{SIGN_MINUTES} minutes'"
    );
    let signing = format!(
        "{head}, count(*)::float8, (count(*) FILTER (WHERE {in_time}))::float8, \
         (count(*) FILTER (WHERE dispatched_at >= $2))::float8, \
         (count(*) FILTER (WHERE dispatched_at >= $2 AND {in_time}))::float8 \
         FROM credit.target_ticket \
         WHERE dispatched_at >= $1 AND dispatched_at < $3 AND ({decided}) GROUP BY {GROUPS}"
    );
    let restoring = format!(
        "SELECT g_d, g_s, district, supplier_id, n, p[1] / 60.0, p[2] / 60.0, \
                n_week, p_week[1] / 60.0, p_week[2] / 60.0 FROM ( \
           SELECT grouping(district)::int AS g_d, grouping(supplier_id)::int AS g_s, district, \
                  supplier_id, count(*)::float8 AS n, \
                  percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY restore_s)::float8[] \
                    AS p, \
                  (count(*) FILTER (WHERE resolved_at >= $2))::float8 AS n_week, \
                  (percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY restore_s) \
                     FILTER (WHERE resolved_at >= $2))::float8[] AS p_week \
             FROM credit.target_ticket \
            WHERE resolved_at >= $1 AND resolved_at < $3 GROUP BY {GROUPS}) q"
    );
    let open = format!(
        "{head}, count(*)::float8, (count(*) FILTER (WHERE incident))::float8 \
         FROM credit.target_ticket \
         WHERE opened_at >= $1 AND opened_at < $3 AND (closed_at IS NULL OR closed_at >= $3) \
         AND $2::timestamptz IS NOT NULL GROUP BY {GROUPS}"
    );
    let split = windows.split();
    let daily = grouped(
        client,
        &daily,
        &[
            &split.season_first,
            &split.week_first,
            &split.today,
            &split.today_from,
            &windows.week_from,
            &windows.to,
        ],
    )
    .await?;
    let moments: [&(dyn ToSql + Sync); 3] = [&windows.season_from, &windows.week_from, &windows.to];
    let signing = grouped(client, &signing, &moments).await?;
    let restoring = grouped(client, &restoring, &moments).await?;
    let open = grouped(client, &open, &moments).await?;

    let suppliers = client
        .query(
            "SELECT supplier_id, name, heated_area_m2 FROM credit.supplier ORDER BY supplier_id",
            &[],
        )
        .await?;
    let names: HashMap<String, (String, f64)> = suppliers
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let city_area: f64 = names.values().map(|(_, area)| area).sum();
    let district_areas: HashMap<String, f64> = client
        .query("SELECT district, heated_area_m2 FROM credit.district", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    let figures = |scope: &Scope, week: bool| -> Figures {
        let at = |map: &HashMap<Scope, Vec<Option<f64>>>, season_i: usize, week_i: usize| {
            map.get(scope).and_then(|v| {
                v.get(if week { week_i } else { season_i })
                    .copied()
                    .flatten()
            })
        };
        let count = |map, s, w| at(map, s, w).unwrap_or(0.0) as i64;
        let area = match scope {
            Scope::City => (city_area > 0.0).then_some(city_area),
            Scope::Supplier(s) => names.get(s).map(|(_, a)| *a),
            Scope::District(d) => district_areas.get(d).copied(),
        };
        let complaints_n = count(&daily, 0, 1);
        let (measurements, at_or_above) = (count(&daily, 2, 3), count(&daily, 4, 5));
        let (verdicts_n, satisfied) = (count(&daily, 6, 7), count(&daily, 8, 9));
        let (dispatched, signed) = (count(&signing, 0, 2), count(&signing, 1, 3));
        Figures {
            complaints: complaints_n,
            heated_area_m2: area,
            complaints_per_10k_m2: area.map(|a| complaints_n as f64 * 10_000.0 / a),
            measurements,
            at_or_above_standard: at_or_above,
            share_at_or_above_standard: share(at_or_above, measurements),
            verdicts: verdicts_n,
            satisfied,
            satisfaction: share(satisfied, verdicts_n),
            dispatched,
            signed_in_time: signed,
            share_signed_in_time: share(signed, dispatched),
            restored: count(&restoring, 0, 3),
            restore_median_minutes: at(&restoring, 1, 4),
            restore_p90_minutes: at(&restoring, 2, 5),
            open_tickets: count(&open, 0, 0),
            incidents_open: count(&open, 1, 1),
        }
    };
    let scoped = |scope: Scope, names: &HashMap<String, (String, f64)>| {
        let (kind, key) = match &scope {
            Scope::City => ("city", None),
            Scope::District(d) => ("district", Some(d.clone())),
            Scope::Supplier(s) => ("supplier", Some(s.clone())),
        };
        let name = match &scope {
            Scope::Supplier(s) => names.get(s).map(|(n, _)| n.clone()),
            _ => None,
        };
        ScopeFigures {
            scope: kind.into(),
            key,
            name,
            season: figures(&scope, false),
            week: figures(&scope, true),
        }
    };

    let mut district_keys: Vec<String> = [&daily, &signing, &restoring, &open]
        .iter()
        .flat_map(|m| m.keys())
        .filter_map(|s| match s {
            Scope::District(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    district_keys.sort();
    district_keys.dedup();
    let mut supplier_keys: Vec<String> = names.keys().cloned().collect();
    for map in [&daily, &signing, &restoring, &open] {
        for scope in map.keys() {
            if let Scope::Supplier(s) = scope {
                supplier_keys.push(s.clone());
            }
        }
    }
    supplier_keys.sort();
    supplier_keys.dedup();
    if let Some(d) = &filter.district {
        district_keys.retain(|k| k == d);
    }
    if let Some(s) = &filter.supplier {
        supplier_keys.retain(|k| k == s);
    }
    let city = scoped(Scope::City, &names);
    let districts = district_keys
        .into_iter()
        .map(|d| scoped(Scope::District(d), &names))
        .collect();
    let suppliers_out = supplier_keys
        .into_iter()
        .map(|s| scoped(Scope::Supplier(s), &names))
        .collect();

    let days = trend(client, &windows, &split, filter).await?;
    let weeks = by_week(&days);
    Ok(TargetsBoard {
        season: season.to_string(),
        standard_celsius: f64::from(STANDARD_TENTHS) / 10.0,
        satisfaction_target: SATISFACTION_TARGET,
        sign_target_minutes: SIGN_MINUTES,
        season_from: windows.season_from,
        week_from: windows.week_from,
        to: windows.to,
        city,
        districts,
        suppliers: suppliers_out,
        days,
        weeks,
    })
}
