//! The regulator's credit pages: the ranking with each supplier's dimensions and closed
//! months, a supplier's ledger with adjustments and vetoes, the event behind an entry, the
//! appeals to decide, and a season replayed under another rulebook version.

use serde::Deserialize;

use crate::i18n::Tr;

mod appeals;
mod ledger;
mod ranking;
mod what_if;

pub(crate) use appeals::{decide, decisions};
pub(crate) use ledger::{evidence, own_entry, supplier};
pub(crate) use ranking::{publish, ranking};
pub(crate) use what_if::what_if;

#[derive(Debug, Deserialize)]
struct Dimension {
    dimension: String,
    weight: f64,
    points: f64,
}

#[derive(Debug, Deserialize)]
struct Closing {
    period: String,
    is_final: bool,
    score: f64,
    grade: String,
    published_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Score {
    score: f64,
    grade: String,
    status: String,
    vetoed: bool,
    rulebook_version: String,
    dimensions: Vec<Dimension>,
    closings: Vec<Closing>,
}

/// `2026-12` → `2026年12月` (or as is in English); the season for the final grade.
fn period(t: Tr, closing: &Closing) -> String {
    if closing.is_final {
        return t.s("ranking.final").to_owned();
    }
    match (t.english(), closing.period.split_once('-')) {
        (false, Some((year, month))) => {
            format!("{year}年{}月", month.trim_start_matches('0'))
        }
        _ => closing.period.clone(),
    }
}

fn points(value: f64) -> String {
    format!("{value:.2}")
}

/// A closed period's grade as the ranking shows it: `A 92.50`, and whether it is public.
fn month(t: Tr, c: &Closing) -> (String, String) {
    let public = if c.published_at.is_some() {
        format!(" · {}", t.s("ranking.published"))
    } else {
        String::new()
    };
    (
        period(t, c),
        format!("{} {}{public}", c.grade, points(c.score)),
    )
}

/// Query of a supplier's page: the season, and what was just recorded.
#[derive(Debug, Deserialize)]
pub(crate) struct SupplierQuery {
    season: Option<String>,
    done: Option<String>,
}
