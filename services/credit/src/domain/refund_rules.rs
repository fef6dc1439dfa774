//! The refund rulebook: versioned data, per city, with effective dates, that says which days
//! of a heating season a household's fee is refunded for and what share of the day's fee.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::values::Season;

/// The refund rulebook shipped with Heatline.
pub const SHIPPED: &str = include_str!("../../refunds.json");

/// The city whose rules apply when none is configured.
pub const DEFAULT_CITY: &str = "xian";

/// One band of temperature below the standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Its lower bound in ℃ (the band reaches up to the next warmer tier's bound, or to the
    /// standard); `null` for the coldest tier, which has none.
    pub from_celsius: Option<f64>,
    /// The share of the day's fee refunded, in percent.
    pub share_pct: u32,
}

/// One version of a city's refund rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundVersion {
    /// Its name, never reused.
    pub version: String,
    /// The city it belongs to.
    pub city: String,
    /// Seasons starting at or after this moment follow it (until a later version).
    pub effective_from: DateTime<Utc>,
    /// What it says, in words.
    pub summary: String,
    /// The room-temperature standard.
    pub standard_celsius: f64,
    /// The official start of heating, `MM-DD` in the season's first year.
    pub heating_starts: String,
    /// The official end of heating, `MM-DD` in the season's second year (inclusive).
    pub heating_ends: String,
    /// The tiers, warmest first.
    pub tiers: Vec<Tier>,
    /// Hours a household must have been below standard in a row before its days count (0: at
    /// once).
    pub after_hours_below: u32,
    /// A no-heat repair filed within this many days of the official start is a late start.
    pub late_start_within_days: u32,
    /// A no-heat repair that took this many hours or more is an outage.
    pub outage_min_hours: u32,
    /// The share of a late-start or outage day refunded, in percent.
    pub whole_day_share_pct: u32,
    /// The city's terms for stopping heating online (Xi'an's when left out).
    #[serde(default)]
    pub stop_heating: platform::stop_heating::StopHeatingTerms,
    /// Whether the hours of certified room sensors count as temperatures of a repair that has
    /// no certified crew measurement (a crew measurement outranks them).
    #[serde(default)]
    pub sensor_hours: bool,
}

fn month_day(text: &str) -> Option<(u32, u32)> {
    let (month, day) = text.split_once('-')?;
    let (month, day) = (month.parse().ok()?, day.parse().ok()?);
    // 2024 is a leap year: any real month and day parses.
    NaiveDate::from_ymd_opt(2024, month, day)?;
    Some((month, day))
}

fn date(year: i32, (month, day): (u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day)
        .or_else(|| NaiveDate::from_ymd_opt(year, month, day - 1))
        .expect("checked when the rulebook was read")
}

impl RefundVersion {
    /// The official start of heating as (month, day).
    pub fn starts_month_day(&self) -> (u32, u32) {
        month_day(&self.heating_starts).expect("checked when read")
    }

    /// The standard in tenths of a degree.
    pub fn standard_tenths(&self) -> i32 {
        (self.standard_celsius * 10.0).round() as i32
    }

    /// The official heating days of `season` (China dates, both inclusive).
    pub fn heating_days(&self, season: Season) -> (NaiveDate, NaiveDate) {
        let first = season
            .starts_at()
            .with_timezone(&super::values::china())
            .year();
        let starts = month_day(&self.heating_starts).expect("checked when read");
        let ends = month_day(&self.heating_ends).expect("checked when read");
        (date(first, starts), date(first + 1, ends))
    }

    /// How many days the official heating season has: a day's fee is the season's fee over
    /// this.
    pub fn season_days(&self, season: Season) -> u32 {
        let (first, last) = self.heating_days(season);
        (last - first).num_days() as u32 + 1
    }

    /// The tier a temperature below the standard falls in: its index and share. `None` at or
    /// above the standard.
    pub fn tier(&self, tenths: i32) -> Option<(usize, u32)> {
        if tenths >= self.standard_tenths() {
            return None;
        }
        self.tiers.iter().enumerate().find_map(|(i, tier)| {
            let floor = tier.from_celsius.map(|c| (c * 10.0).round() as i32);
            floor
                .is_none_or(|f| tenths >= f)
                .then_some((i, tier.share_pct))
        })
    }

    /// A tier's name: the band it covers, `16.0–18.0 ℃` or `below 14.0 ℃`.
    pub fn tier_name(&self, index: usize) -> String {
        let upper = match index {
            0 => self.standard_celsius,
            i => self.tiers[i - 1]
                .from_celsius
                .unwrap_or(self.standard_celsius),
        };
        match self.tiers.get(index).and_then(|t| t.from_celsius) {
            Some(lower) => format!("{lower:.1}–{upper:.1} ℃"),
            None => format!("below {upper:.1} ℃"),
        }
    }

    fn check(&self) -> Result<(), String> {
        let v = &self.version;
        if v.is_empty() || self.city.is_empty() {
            return Err("every version needs a name and a city".into());
        }
        if !(0.0..=40.0).contains(&self.standard_celsius) {
            return Err(format!(
                "version {v}: standard_celsius must be between 0 and 40"
            ));
        }
        let (Some(starts), Some(ends)) = (
            month_day(&self.heating_starts),
            month_day(&self.heating_ends),
        ) else {
            return Err(format!(
                "version {v}: heating_starts and heating_ends must be MM-DD dates"
            ));
        };
        if !(7..=12).contains(&starts.0) || !(1..=6).contains(&ends.0) {
            return Err(format!(
                "version {v}: heating must start between July and December and end between \
                 January and June"
            ));
        }
        if self.tiers.is_empty() {
            return Err(format!("version {v}: no tiers"));
        }
        let mut above = self.standard_celsius;
        let mut share = 0;
        for (i, tier) in self.tiers.iter().enumerate() {
            let last = i + 1 == self.tiers.len();
            match tier.from_celsius {
                None if !last => {
                    return Err(format!(
                        "version {v}: only the last (coldest) tier may have no lower bound"
                    ));
                }
                Some(from) if !(from.is_finite() && from < above) => {
                    return Err(format!(
                        "version {v}: tier {} must start below {above:.1} ℃ (tiers go from warm to cold)",
                        i + 1
                    ));
                }
                _ => {}
            }
            if tier.share_pct == 0 || tier.share_pct > 100 || tier.share_pct < share {
                return Err(format!(
                    "version {v}: tier {}'s share must be 1 to 100 % and no less than a warmer tier's",
                    i + 1
                ));
            }
            share = tier.share_pct;
            above = tier.from_celsius.unwrap_or(f64::NEG_INFINITY);
        }
        if self.whole_day_share_pct == 0 || self.whole_day_share_pct > 100 {
            return Err(format!("version {v}: whole_day_share_pct must be 1 to 100"));
        }
        if self.after_hours_below > 24 * 30 || self.outage_min_hours > 24 * 30 {
            return Err(format!(
                "version {v}: after_hours_below and outage_min_hours must be at most 720"
            ));
        }
        self.stop_heating
            .check()
            .map_err(|e| format!("version {v}: {e}"))?;
        if self.late_start_within_days > 60 {
            return Err(format!(
                "version {v}: late_start_within_days must be at most 60"
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    #[expect(dead_code, reason = "a note for readers of the file")]
    about: String,
    versions: Vec<RefundVersion>,
}

/// Every version of every city, by effective date.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRulebook {
    versions: Vec<RefundVersion>,
}

impl RefundRulebook {
    /// Reads a refund rulebook (JSON); errors say what is wrong.
    pub fn parse(text: &str) -> Result<RefundRulebook, String> {
        let file: File = serde_json::from_str(text).map_err(|e| format!("refund rulebook: {e}"))?;
        if file.versions.is_empty() {
            return Err("refund rulebook: no versions".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for version in &file.versions {
            version
                .check()
                .map_err(|e| format!("refund rulebook: {e}"))?;
            if !names.insert(version.version.clone()) {
                return Err(format!(
                    "refund rulebook: version {} is listed twice",
                    version.version
                ));
            }
        }
        let mut versions = file.versions;
        versions
            .sort_by(|a, b| (a.effective_from, &a.version).cmp(&(b.effective_from, &b.version)));
        Ok(RefundRulebook { versions })
    }

    /// The shipped rulebook.
    pub fn shipped() -> RefundRulebook {
        RefundRulebook::parse(SHIPPED).expect("the shipped refund rulebook is valid")
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[RefundVersion] {
        &self.versions
    }

    /// A version by name.
    pub fn version(&self, name: &str) -> Option<&RefundVersion> {
        self.versions.iter().find(|v| v.version == name)
    }

    /// Whether any version belongs to `city`.
    pub fn has_city(&self, city: &str) -> bool {
        self.versions.iter().any(|v| v.city == city)
    }

    /// The stop-heating terms of `city`'s latest version, with its official start of heating.
    pub fn city_terms(&self, city: &str) -> Option<platform::stop_heating::CityTerms> {
        let latest = self.versions.iter().rev().find(|v| v.city == city)?;
        Some(platform::stop_heating::CityTerms {
            heating_starts: latest.starts_month_day(),
            terms: latest.stop_heating,
        })
    }

    /// The version `city`'s season follows: the latest of the city's in effect at the
    /// season's start (its oldest when none is yet).
    pub fn for_season(&self, city: &str, season: Season) -> Option<&RefundVersion> {
        let start = season.starts_at();
        let mine = || self.versions.iter().filter(|v| v.city == city);
        mine()
            .rev()
            .find(|v| v.effective_from <= start)
            .or_else(|| mine().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn season() -> Season {
        Season::parse("2026-2027").unwrap()
    }

    #[test]
    fn the_shipped_shapes_have_their_tiers_and_seasons() {
        let book = RefundRulebook::shipped();
        let xian = book.for_season("xian", season()).unwrap();
        assert_eq!(xian.version, "xian-2024.1");
        assert_eq!(xian.season_days(season()), 121);
        assert_eq!(xian.tier(180), None);
        assert_eq!(xian.tier(179), Some((0, 20)));
        assert_eq!(xian.tier(160), Some((0, 20)));
        assert_eq!(xian.tier(159), Some((1, 50)));
        assert_eq!(xian.tier(140), Some((1, 50)));
        assert_eq!(xian.tier(139), Some((2, 100)));
        assert_eq!(xian.tier(-50), Some((2, 100)));
        assert_eq!(xian.tier_name(0), "16.0–18.0 ℃");
        assert_eq!(xian.tier_name(2), "below 14.0 ℃");
        let harbin = book.for_season("harbin", season()).unwrap();
        assert_eq!(harbin.season_days(season()), 183);
        assert_eq!(harbin.tier(199), Some((0, 50)));
        assert_eq!(harbin.tier(159), Some((1, 100)));
        assert_eq!(harbin.tier_name(1), "below 16.0 ℃");
        assert!(book.for_season("dalian", season()).is_none());
        assert_eq!(xian.stop_heating.apply_days_before_start, 15);
        assert_eq!(harbin.stop_heating.apply_days_before_start, 30);
        assert_eq!(harbin.stop_heating.reply_working_days, 10);
    }

    #[test]
    fn a_bad_file_is_refused_with_the_reason() {
        let shipped: serde_json::Value = serde_json::from_str(SHIPPED).unwrap();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut file = shipped.clone();
            edit(&mut file["versions"][0]);
            RefundRulebook::parse(&file.to_string()).unwrap_err()
        };
        assert!(with(&|v| v["tiers"][0]["from_celsius"] = 19.0.into()).contains("tier 1"));
        assert!(with(&|v| v["tiers"][1]["share_pct"] = 10.into()).contains("tier 2's share"));
        assert!(
            with(&|v| v["tiers"][0]["from_celsius"] = serde_json::Value::Null)
                .contains("only the last")
        );
        assert!(with(&|v| v["heating_starts"] = "11-31".into()).contains("MM-DD"));
        assert!(with(&|v| v["tiers"] = serde_json::json!([])).contains("no tiers"));
        assert!(with(&|v| v["whole_day_share_pct"] = 0.into()).contains("whole_day"));
        assert!(with(&|v| v["version"] = "harbin-2024.1".into()).contains("listed twice"));
        assert!(with(&|v| v["surprise"] = 1.into()).contains("unknown field"));
        assert!(
            with(&|v| v["stop_heating"]["building_cap_pct"] = 0.into())
                .contains("version xian-2024.1: stop_heating.building_cap_pct")
        );
    }
}
