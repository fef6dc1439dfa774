//! The board's trend: complaints, measurements and verdicts by day, and by week.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};
use deadpool_postgres::GenericClient;

use super::{Filter, STANDARD_TENTHS, Split, TrendPoint, Windows};
use crate::domain::values::china;

/// The condition that narrows a trend query to the filter (`$5` district, `$6` supplier).
const NARROW: &str =
    "($5::text IS NULL OR district = $5) AND ($6::text IS NULL OR supplier_id = $6)";

/// Complaints, measurements and verdicts by China day from the first day with any to the end:
/// whole days from the daily counts, the current one from the rows.
pub(super) async fn trend(
    client: &impl GenericClient,
    windows: &Windows,
    split: &Split,
    filter: &Filter,
) -> Result<Vec<TrendPoint>, tokio_postgres::Error> {
    let day = |column: &str| format!("(({column}) AT TIME ZONE 'Asia/Shanghai')::date");
    let sql = format!(
        "SELECT d, sum(c)::bigint, sum(m)::bigint, sum(ok)::bigint, sum(v)::bigint, \
         sum(s)::bigint FROM ( \
           SELECT day AS d, complaints AS c, measurements AS m, at_or_above AS ok, \
                  verdicts AS v, satisfied AS s \
             FROM credit.target_day_counts WHERE day >= $1 AND day < $2 AND {NARROW} \
           UNION ALL \
           SELECT {cd}, 1, 0, 0, 0, 0 FROM credit.target_complaint \
             WHERE NOT rejected AND filed_at >= $3 AND filed_at < $4 AND {NARROW} \
           UNION ALL \
           SELECT {md}, 0, 1, (tenths >= {STANDARD_TENTHS})::int, 0, 0 \
             FROM credit.target_measurement WHERE at >= $3 AND at < $4 AND {NARROW} \
           UNION ALL \
           SELECT {md}, 0, 0, 0, 1, (rating <> 'unsatisfied')::int \
             FROM credit.target_verdict WHERE at >= $3 AND at < $4 AND {NARROW} \
         ) u GROUP BY d HAVING sum(c) + sum(m) + sum(v) > 0 ORDER BY d",
        cd = day("filed_at"),
        md = day("at"),
    );
    let rows = client
        .query(
            &sql,
            &[
                &split.season_first,
                &split.today,
                &split.today_from,
                &windows.to,
                &filter.district,
                &filter.supplier,
            ],
        )
        .await?;
    let found: Vec<TrendPoint> = rows
        .iter()
        .map(|r| TrendPoint {
            from: r.get(0),
            complaints: r.get(1),
            measurements: r.get(2),
            at_or_above_standard: r.get(3),
            verdicts: r.get(4),
            satisfied: r.get(5),
        })
        .collect();
    let Some(first) = found.first().map(|p| p.from) else {
        return Ok(Vec::new());
    };
    let last = (windows.to - Duration::milliseconds(1))
        .with_timezone(&china())
        .date_naive();
    let mut by_day: HashMap<NaiveDate, TrendPoint> =
        found.into_iter().map(|p| (p.from, p)).collect();
    Ok(first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| by_day.remove(&d).unwrap_or_else(|| empty(d)))
        .collect())
}

fn empty(from: NaiveDate) -> TrendPoint {
    TrendPoint {
        from,
        complaints: 0,
        measurements: 0,
        at_or_above_standard: 0,
        verdicts: 0,
        satisfied: 0,
    }
}

/// Days summed into weeks starting on Monday.
pub fn by_week(days: &[TrendPoint]) -> Vec<TrendPoint> {
    let mut weeks: Vec<TrendPoint> = Vec::new();
    for day in days {
        let monday =
            day.from - Duration::days(i64::from(day.from.weekday().num_days_from_monday()));
        if weeks.last().is_none_or(|w| w.from != monday) {
            weeks.push(empty(monday));
        }
        if let Some(week) = weeks.last_mut() {
            week.complaints += day.complaints;
            week.measurements += day.measurements;
            week.at_or_above_standard += day.at_or_above_standard;
            week.verdicts += day.verdicts;
            week.satisfied += day.satisfied;
        }
    }
    weeks
}
