//! Which days of a season a household's fee is refunded for, and how much: a pure function of
//! its repairs (as dispatch published them), its fee basis and a refund rulebook version.
//!
//! - A repair counts only once it is resolved with a supplier-side cause; each of its cycles
//!   (a reopened repair is a new cycle) counts on its own.
//! - Temperatures: a certified measurement below the standard starts a cold spell that lasts
//!   until a measurement at or above it, or until the cycle's resolution. Under a version with
//!   `sensor_hours`, a cycle without a certified crew measurement takes the household's
//!   certified room sensors' hours instead (each hour's mean, from its start). Each China day the
//!   spell touches takes the lowest temperature in force during it, and the tier of that
//!   temperature. A spell shorter than the version's `after_hours_below` counts for nothing.
//! - A no-heat repair filed within `late_start_within_days` of the official start is a late
//!   start: every day from the start to the repair counts whole. A no-heat repair that took
//!   `outage_min_hours` or more is an outage: every day it touched counts whole.
//! - Only official heating days count, and a day is refunded once, at its highest share.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::refund_rules::RefundVersion;
use crate::domain::values::{Season, china};

/// A certified room-temperature measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The `TemperatureMeasured` event.
    pub event_id: Uuid,
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Tenths of a degree.
    pub tenths: i32,
}

/// How a cycle of a repair ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The `TicketResolved` event.
    pub event_id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Resolved with a supplier-side cause.
    pub supplier_side: bool,
}

/// One cycle of a household's repair ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairCycle {
    /// The ticket.
    pub ticket_id: String,
    /// 1 for the first, one more for each reopening.
    pub cycle: u32,
    /// A no-heat repair (not a low temperature, a leak, ...).
    pub no_heat: bool,
    /// When the cycle started: the complaint's filing for the first, the reopening after.
    pub started_at: DateTime<Utc>,
    /// The event that started it (`TicketOpened` or `TicketReopened`).
    pub started_by: Uuid,
    /// Its certified measurements.
    pub readings: Vec<Reading>,
    /// The household's certified room sensors' hours on it (`LowTemperatureDetected` and
    /// `TemperatureRecovered`), one reading per hour.
    pub sensed: Vec<Reading>,
    /// How it ended, once it has.
    pub resolution: Option<Resolution>,
}

/// What a household pays for a season.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeBasis {
    /// Heated area in hundredths of a m².
    pub area_centi_m2: i64,
    /// Price per m² for the season, in fen.
    pub price_fen_per_m2: i64,
}

impl FeeBasis {
    /// The season's fee in fen.
    pub fn season_fee_fen(&self) -> i64 {
        rounded(
            i128::from(self.area_centi_m2) * i128::from(self.price_fen_per_m2),
            100,
        )
    }

    /// `share_pct` of one day's fee in a season of `days` days, in fen, rounded half up.
    pub fn day_fen(&self, share_pct: u32, days: u32) -> i64 {
        rounded(
            i128::from(self.area_centi_m2)
                * i128::from(self.price_fen_per_m2)
                * i128::from(share_pct),
            100 * 100 * i128::from(days.max(1)),
        )
    }
}

fn rounded(numerator: i128, denominator: i128) -> i64 {
    ((numerator + denominator / 2) / denominator) as i64
}

/// Why a day is refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundRule {
    /// Heat not delivered from the official start.
    LateStart,
    /// No heat for `outage_min_hours` or more.
    Outage,
    /// Measured below the standard.
    Temperature,
}

impl RefundRule {
    /// Its name in the ledger: `refund.late_start`, `refund.outage`, `refund.temperature`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundRule::LateStart => "refund.late_start",
            RefundRule::Outage => "refund.outage",
            RefundRule::Temperature => "refund.temperature",
        }
    }

    /// Reads [`Self::as_str`].
    pub fn parse(text: &str) -> Option<RefundRule> {
        [
            RefundRule::LateStart,
            RefundRule::Outage,
            RefundRule::Temperature,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// One refunded day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundDay {
    /// The China date.
    pub day: NaiveDate,
    /// Why.
    pub rule: RefundRule,
    /// The tier (`14.0–16.0 ℃`), or `whole day` for a late start or outage.
    pub tier: String,
    /// The share of the day's fee.
    pub share_pct: u32,
    /// The lowest temperature in force, for a temperature day.
    pub lowest_tenths: Option<i32>,
    /// The refund in fen.
    pub amount_fen: i64,
    /// The published events behind it.
    pub evidence: Vec<Uuid>,
    /// The tickets behind it.
    pub tickets: Vec<String>,
}

/// What a whole day counts as in words.
pub const WHOLE_DAY: &str = "whole day";

fn china_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china()).date_naive()
}

/// The China days from `from` up to (not including) `until`; the day of `from` when they
/// are the same moment.
fn days_between(from: DateTime<Utc>, until: DateTime<Utc>) -> impl Iterator<Item = NaiveDate> {
    let first = china_day(from);
    let last = china_day((until - Duration::milliseconds(1)).max(from));
    first.iter_days().take_while(move |d| *d <= last)
}

/// A time during which one reading below the standard was the one in force.
struct InForce {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    tenths: i32,
    reading: Uuid,
}

struct Refunds<'a> {
    version: &'a RefundVersion,
    basis: FeeBasis,
    season_days: u32,
    heating: (NaiveDate, NaiveDate),
    days: BTreeMap<NaiveDate, RefundDay>,
}

impl Refunds<'_> {
    /// Counts `day` for `rule` at `share`, keeping the day's highest share.
    fn count(
        &mut self,
        day: NaiveDate,
        rule: RefundRule,
        (tier, share_pct): (String, u32),
        lowest_tenths: Option<i32>,
        evidence: Vec<Uuid>,
        ticket: &str,
    ) {
        if day < self.heating.0 || day > self.heating.1 {
            return;
        }
        if self
            .days
            .get(&day)
            .is_some_and(|d| d.share_pct >= share_pct)
        {
            return;
        }
        let amount_fen = self.basis.day_fen(share_pct, self.season_days);
        self.days.insert(
            day,
            RefundDay {
                day,
                rule,
                tier,
                share_pct,
                lowest_tenths,
                amount_fen,
                evidence,
                tickets: vec![ticket.to_owned()],
            },
        );
    }

    fn whole(&self) -> (String, u32) {
        (WHOLE_DAY.to_owned(), self.version.whole_day_share_pct)
    }

    fn no_heat(&mut self, cycle: &RepairCycle, resolved: &Resolution) {
        let evidence = vec![cycle.started_by, resolved.event_id];
        let official = china()
            .from_local_datetime(&self.heating.0.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("UTC+8 has no gaps")
            .with_timezone(&Utc);
        let late_by = Duration::days(i64::from(self.version.late_start_within_days));
        if cycle.cycle == 1 && cycle.started_at >= official && cycle.started_at < official + late_by
        {
            for day in days_between(official, resolved.at) {
                let whole = self.whole();
                self.count(
                    day,
                    RefundRule::LateStart,
                    whole,
                    None,
                    evidence.clone(),
                    &cycle.ticket_id,
                );
            }
        }
        let outage = Duration::hours(i64::from(self.version.outage_min_hours));
        if resolved.at - cycle.started_at >= outage {
            for day in days_between(cycle.started_at, resolved.at) {
                let whole = self.whole();
                self.count(
                    day,
                    RefundRule::Outage,
                    whole,
                    None,
                    evidence.clone(),
                    &cycle.ticket_id,
                );
            }
        }
    }

    fn temperatures(&mut self, cycle: &RepairCycle, resolved: &Resolution) {
        let standard = self.version.standard_tenths();
        let mut readings = if cycle.readings.is_empty() && self.version.sensor_hours {
            cycle.sensed.clone()
        } else {
            cycle.readings.clone()
        };
        readings.sort_by_key(|r| (r.at, r.event_id));
        // Each spell: the intervals in which a reading below the standard was the one in force.
        let mut spells: Vec<Vec<InForce>> = Vec::new();
        let mut open = false;
        for (i, reading) in readings.iter().enumerate() {
            if reading.tenths >= standard {
                open = false;
                continue;
            }
            let until = readings
                .get(i + 1)
                .map_or(resolved.at, |next| next.at.min(resolved.at));
            if !open {
                spells.push(Vec::new());
                open = true;
            }
            if let Some(spell) = spells.last_mut() {
                spell.push(InForce {
                    from: reading.at,
                    until: until.max(reading.at),
                    tenths: reading.tenths,
                    reading: reading.event_id,
                });
            }
        }
        let needed = Duration::hours(i64::from(self.version.after_hours_below));
        for spell in spells {
            let (Some(first), Some(last)) = (spell.first(), spell.last()) else {
                continue;
            };
            if last.until - first.from < needed {
                continue;
            }
            let mut lowest: BTreeMap<NaiveDate, (i32, Vec<Uuid>)> = BTreeMap::new();
            for interval in &spell {
                for day in days_between(interval.from, interval.until) {
                    let slot = lowest.entry(day).or_insert((interval.tenths, Vec::new()));
                    slot.0 = slot.0.min(interval.tenths);
                    if !slot.1.contains(&interval.reading) {
                        slot.1.push(interval.reading);
                    }
                }
            }
            for (day, (tenths, mut evidence)) in lowest {
                let Some((tier, share)) = self.version.tier(tenths) else {
                    continue;
                };
                evidence.push(resolved.event_id);
                let named = (self.version.tier_name(tier), share);
                self.count(
                    day,
                    RefundRule::Temperature,
                    named,
                    Some(tenths),
                    evidence,
                    &cycle.ticket_id,
                );
            }
        }
    }
}

/// The refunded days of a household's season under `version`, from its repairs' cycles.
pub fn refund_days(
    version: &RefundVersion,
    season: Season,
    basis: FeeBasis,
    cycles: &[RepairCycle],
) -> Vec<RefundDay> {
    let mut refunds = Refunds {
        version,
        basis,
        season_days: version.season_days(season),
        heating: version.heating_days(season),
        days: BTreeMap::new(),
    };
    let mut ordered: Vec<&RepairCycle> = cycles.iter().collect();
    ordered.sort_by_key(|c| (c.started_at, c.ticket_id.clone(), c.cycle));
    for cycle in ordered {
        let Some(resolved) = cycle.resolution.as_ref().filter(|r| r.supplier_side) else {
            continue;
        };
        if cycle.no_heat {
            refunds.no_heat(cycle, resolved);
        }
        refunds.temperatures(cycle, resolved);
    }
    refunds.days.into_values().collect()
}

#[cfg(test)]
#[path = "refunds_tests.rs"]
mod tests;
