//! The regulator's targets board: the city, each district and each supplier against the
//! plan's targets over the season and the week, open tickets by SLA band, trend charts, and
//! the tickets behind each figure.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

mod behind;
mod retrofit;

pub(crate) use behind::behind;
pub(crate) use retrofit::retrofit;

use super::queue::urlencode;
use super::{Chrome, SeasonQuery, html, read};
use crate::Console;
use crate::chart::{self, Point};
use crate::format;
use crate::i18n::{Lang, Tr};
use crate::session::Session;

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Figures {
    complaints: i64,
    complaints_per_10k_m2: Option<f64>,
    measurements: i64,
    share_at_or_above_standard: Option<f64>,
    verdicts: i64,
    satisfaction: Option<f64>,
    dispatched: i64,
    share_signed_in_time: Option<f64>,
    restored: i64,
    restore_median_minutes: Option<f64>,
    restore_p90_minutes: Option<f64>,
    open_tickets: i64,
    incidents_open: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ScopeFigures {
    key: Option<String>,
    name: Option<String>,
    season: Figures,
    week: Figures,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TrendPoint {
    from: String,
    complaints: i64,
    measurements: i64,
    at_or_above_standard: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Board {
    season: String,
    satisfaction_target: f64,
    week_from: String,
    to: String,
    city: ScopeFigures,
    districts: Vec<ScopeFigures>,
    suppliers: Vec<ScopeFigures>,
    days: Vec<TrendPoint>,
    weeks: Vec<TrendPoint>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Bands {
    breached: i64,
    at_risk: i64,
}

/// One figure of one scope, the season's above the week's.
pub(crate) struct Cell {
    season: String,
    week: String,
    season_href: String,
    week_href: String,
    /// Below its target.
    season_short: bool,
    week_short: bool,
}

/// One scope's row.
pub(crate) struct Row {
    label: String,
    cells: Vec<Cell>,
    breached: String,
    at_risk: String,
    queue_href: String,
}

#[derive(Template)]
#[template(path = "targets.html")]
struct TargetsView {
    chrome: Chrome,
    season: String,
    window: String,
    columns: Vec<&'static str>,
    city: Row,
    districts: Vec<Row>,
    suppliers: Vec<Row>,
    daily: String,
    weekly: String,
    /// Orders in force now, and suppliers that have not acknowledged them.
    orders_in_force: usize,
    unacknowledged: usize,
}

fn percent(share: Option<f64>, of: i64) -> String {
    match share {
        Some(s) => format!("{:.1}% ({})", s * 100.0, format::count(of)),
        None => "—".into(),
    }
}

fn minutes(lang: Lang, value: Option<f64>) -> String {
    value
        .map(|m| format::duration(lang, (m * 60.0).round() as i64))
        .unwrap_or_else(|| "—".into())
}

/// The columns of the board: (heading key, figure whose tickets a cell lists).
const COLUMNS: [(&str, &str); 7] = [
    ("targets.standard", "below_standard"),
    ("targets.satisfaction", "unsatisfied"),
    ("targets.complaints", "opened"),
    ("targets.signed", "late_sign"),
    ("targets.restore", "restored"),
    ("targets.open", "open"),
    ("targets.incidents", "incidents_open"),
];

fn cells(t: Tr, target: f64, season: &str, scope: &str, f: &ScopeFigures) -> Vec<Cell> {
    let text = |figures: &Figures, column: usize| -> String {
        match column {
            0 => percent(figures.share_at_or_above_standard, figures.measurements),
            1 => percent(figures.satisfaction, figures.verdicts),
            2 => match figures.complaints_per_10k_m2 {
                Some(rate) => format!("{} · {rate:.2}", format::count(figures.complaints)),
                None => format::count(figures.complaints),
            },
            3 => percent(figures.share_signed_in_time, figures.dispatched),
            4 if figures.restored == 0 => "—".into(),
            4 => format!(
                "{} / {}",
                minutes(t.0, figures.restore_median_minutes),
                minutes(t.0, figures.restore_p90_minutes)
            ),
            5 => format::count(figures.open_tickets),
            _ => format::count(figures.incidents_open),
        }
    };
    let short = |figures: &Figures, column: usize| {
        column == 1 && figures.satisfaction.is_some_and(|s| s < target)
    };
    COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, figure))| {
            let href = |week: bool| {
                format!(
                    "/console/targets/tickets?season={season}&figure={figure}{scope}{}",
                    if week { "&week=true" } else { "" }
                )
            };
            Cell {
                season: text(&f.season, i),
                week: text(&f.week, i),
                season_href: href(false),
                week_href: href(true),
                season_short: short(&f.season, i),
                week_short: short(&f.week, i),
            }
        })
        .collect()
}

fn row(t: Tr, board: &Board, label: String, scope: &str, f: &ScopeFigures, bands: Bands) -> Row {
    Row {
        label,
        cells: cells(t, board.satisfaction_target, &board.season, scope, f),
        breached: format::count(bands.breached),
        at_risk: format::count(bands.at_risk),
        queue_href: format!("/console/queue?band=breached{scope}"),
    }
}

/// `MM/DD` of an API date (`2026-12-08`).
fn short_date(date: &str) -> String {
    date.get(5..).unwrap_or(date).replace('-', "/")
}

/// The China dates an order is in force on, first and last.
fn order_days(order: &super::orders::OrderView) -> Option<(String, String)> {
    let day = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&format::china()).date_naive().to_string())
    };
    let last = chrono::DateTime::parse_from_rfc3339(&order.until)
        .ok()?
        .with_timezone(&format::china())
        - chrono::Duration::seconds(1);
    Some((day(&order.from)?, last.date_naive().to_string()))
}

/// The trend's points; `days` is how many days each covers (1, or 7 for weeks), and a point
/// is marked when a cold-snap order was in force on any of its days.
fn points(trend: &[TrendPoint], days: i64, orders: &[(String, String)]) -> Vec<Point> {
    trend
        .iter()
        .map(|p| {
            let first = chrono::NaiveDate::parse_from_str(&p.from, "%Y-%m-%d").ok();
            let last = first.map(|f| (f + chrono::Duration::days(days - 1)).to_string());
            Point {
                label: short_date(&p.from),
                count: p.complaints,
                share: (p.measurements > 0)
                    .then(|| p.at_or_above_standard as f64 / p.measurements as f64),
                marked: last.is_some_and(|last| {
                    orders
                        .iter()
                        .any(|(from, until)| from.as_str() <= last.as_str() && until >= &p.from)
                }),
            }
        })
        .collect()
}

/// The targets board.
pub(crate) async fn page(
    session: Session,
    console: web::Data<Console>,
    query: web::Query<SeasonQuery>,
) -> HttpResponse {
    let season = query.season();
    let path = format!("/api/v1/credit/seasons/{season}/targets");
    let (board, orders) = futures_util::join!(
        read::<Board>(&console, &session, &path, "/console"),
        super::orders::read_orders(&console, &session),
    );
    let (board, orders) = match (board, orders) {
        (Ok(board), Ok(orders)) => (board, orders),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let in_force: Vec<&super::orders::OrderView> = orders
        .iter()
        .filter(|o| {
            let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
            let now = at(&now);
            at(&o.from) <= now && now < at(&o.until)
        })
        .collect();
    let marks: Vec<(String, String)> = orders.iter().filter_map(order_days).collect();
    let scopes: Vec<String> = std::iter::once(String::new())
        .chain(
            board
                .districts
                .iter()
                .map(|d| format!("&district={}", urlencode(d.key.as_deref().unwrap_or("")))),
        )
        .chain(
            board
                .suppliers
                .iter()
                .map(|s| format!("&supplier_id={}", urlencode(s.key.as_deref().unwrap_or("")))),
        )
        .collect();
    // Open tickets by band, per scope, as dispatch counts them now.
    let bands = futures_util::future::join_all(scopes.iter().map(|scope| {
        let path = format!("/api/v1/tickets/bands?{}", scope.trim_start_matches('&'));
        let (console, token) = (&console, &session.token);
        async move {
            console
                .api
                .get::<Bands>(&path, Some(token))
                .await
                .unwrap_or_default()
        }
    }))
    .await;
    let mut bands = bands.into_iter();
    let mut scope_iter = scopes.iter();
    let t = session.tr();
    let city = row(
        t,
        &board,
        t.s("targets.city").to_owned(),
        scope_iter.next().map(String::as_str).unwrap_or(""),
        &board.city,
        bands.next().unwrap_or_default(),
    );
    let districts = board
        .districts
        .iter()
        .map(|d| {
            row(
                t,
                &board,
                d.key.clone().unwrap_or_default(),
                scope_iter.next().map(String::as_str).unwrap_or(""),
                d,
                bands.next().unwrap_or_default(),
            )
        })
        .collect();
    let suppliers = board
        .suppliers
        .iter()
        .map(|s| {
            row(
                t,
                &board,
                s.name.clone().or_else(|| s.key.clone()).unwrap_or_default(),
                scope_iter.next().map(String::as_str).unwrap_or(""),
                s,
                bands.next().unwrap_or_default(),
            )
        })
        .collect();
    let page = TargetsView {
        chrome: Chrome::of(&session, "targets.title", "/console/targets"),
        window: format!(
            "{} — {}",
            format::moment_text(t.0, &board.week_from),
            format::moment_text(t.0, &board.to)
        ),
        season: board.season.clone(),
        columns: COLUMNS.iter().map(|(key, _)| t.s(key)).collect(),
        city,
        districts,
        suppliers,
        daily: chart::trend(
            t.s("targets.daily"),
            t.s("targets.complaints_bar"),
            t.s("targets.standard_line"),
            &points(&board.days, 1, &marks),
        ),
        weekly: chart::trend(
            t.s("targets.weekly"),
            t.s("targets.complaints_bar"),
            t.s("targets.standard_line"),
            &points(&board.weeks, 7, &marks),
        ),
        orders_in_force: in_force.len(),
        unacknowledged: in_force.iter().map(|o| o.unacknowledged).sum(),
    };
    session.finish(html(actix_web::http::StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn scope(satisfaction: Option<f64>) -> ScopeFigures {
        let figures = Figures {
            verdicts: 2,
            satisfaction,
            ..Figures::default()
        };
        ScopeFigures {
            key: Some("nangang".into()),
            name: None,
            season: figures.clone(),
            week: figures,
        }
    }

    #[test]
    fn only_satisfaction_below_its_target_is_marked_short() {
        let t = Tr(Lang::Zh);
        for (value, short) in [
            (Some(1.0), false),
            (Some(0.85), false),
            (Some(0.5), true),
            (None, false),
        ] {
            let cells = cells(t, 0.85, "2026-2027", "&district=nangang", &scope(value));
            assert_eq!(cells[1].season_short, short, "{value:?}");
            assert_eq!(cells[1].week_short, short, "{value:?}");
            assert!(
                cells
                    .iter()
                    .enumerate()
                    .all(|(i, c)| i == 1 || !c.season_short)
            );
        }
        let cells = cells(t, 0.85, "2026-2027", "&district=nangang", &scope(Some(1.0)));
        assert_eq!(cells[1].season, "100.0% (2)");
        assert_eq!(
            cells[1].week_href,
            "/console/targets/tickets?season=2026-2027&figure=unsatisfied&district=nangang&week=true"
        );
    }
}
