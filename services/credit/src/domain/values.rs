//! The words of credit: dimensions, points, seasons, grades.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A dimension of a supplier's score, or a veto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Share of certified room measurements at or above the standard.
    HeatingQuality,
    /// SLA breaches, by clock.
    SlaPerformance,
    /// Complaints per 10,000 m² of heated area.
    ComplaintRate,
    /// Residents' verdicts.
    Satisfaction,
    /// Incident households × hours without heat.
    Outages,
    /// Share of resolutions backed by a certified measurement.
    DataIntegration,
    /// A veto: no points, forces grade D while it stands.
    Veto,
}

impl Dimension {
    /// The six scored dimensions, in the rulebook's order.
    pub const SCORED: [Dimension; 6] = [
        Dimension::HeatingQuality,
        Dimension::SlaPerformance,
        Dimension::ComplaintRate,
        Dimension::Satisfaction,
        Dimension::Outages,
        Dimension::DataIntegration,
    ];

    /// The stable name (`heating_quality`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::HeatingQuality => "heating_quality",
            Dimension::SlaPerformance => "sla_performance",
            Dimension::ComplaintRate => "complaint_rate",
            Dimension::Satisfaction => "satisfaction",
            Dimension::Outages => "outages",
            Dimension::DataIntegration => "data_integration",
            Dimension::Veto => "veto",
        }
    }

    /// Reads a stable name.
    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::SCORED
            .into_iter()
            .chain([Dimension::Veto])
            .find(|d| d.as_str() == name)
    }

    /// The index of a scored dimension in [`Self::SCORED`] (`None` for a veto).
    pub fn index(self) -> Option<usize> {
        Dimension::SCORED.iter().position(|d| *d == self)
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hundredths of a point: exact sums, no floating point in the ledger.
pub type Centipoints = i64;

/// A full score: 100 points.
pub const FULL_SCORE: Centipoints = 10_000;

/// Points as a decimal string with two places (`-2.50`).
pub fn points_text(points: Centipoints) -> String {
    let sign = if points < 0 { "-" } else { "" };
    let abs = points.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Points as a number, for JSON.
pub fn points_number(points: Centipoints) -> f64 {
    points as f64 / 100.0
}

/// China Standard Time, in which seasons and months are counted.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A heating season, accounted from 1 July to 30 June and named by its two years
/// (`2026-2027`); the heating itself runs from November to March.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Season {
    first_year: i32,
}

impl Season {
    /// The season a moment falls in.
    pub fn of(at: DateTime<Utc>) -> Season {
        let local = at.with_timezone(&china());
        let first_year = if local.month() >= 7 {
            local.year()
        } else {
            local.year() - 1
        };
        Season { first_year }
    }

    /// Reads `2026-2027`.
    pub fn parse(text: &str) -> Option<Season> {
        let (first, second) = text.split_once('-')?;
        let first: i32 = first.parse().ok()?;
        let second: i32 = second.parse().ok()?;
        (first.to_string().len() == 4 && second == first + 1 && (2000..2200).contains(&first))
            .then_some(Season { first_year: first })
    }

    fn local(year: i32, month: u32, day: u32) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(year, month, day).expect("a valid date");
        china()
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("UTC+8 has no gaps")
            .with_timezone(&Utc)
    }

    /// Where the season's accounting starts (1 July, 00:00 China time).
    pub fn starts_at(self) -> DateTime<Utc> {
        Season::local(self.first_year, 7, 1)
    }

    /// Where the season's accounting ends: where the next one starts.
    pub fn ends_at(self) -> DateTime<Utc> {
        Season::local(self.first_year + 1, 7, 1)
    }

    /// When the season's grade becomes final: the end of heating (1 April, 00:00 China time).
    pub fn final_at(self) -> DateTime<Utc> {
        Season::local(self.first_year + 1, 4, 1)
    }

    /// The heating months that are closed one by one, with the moment each ends:
    /// November to March.
    pub fn months(self) -> Vec<(String, DateTime<Utc>)> {
        let y = self.first_year;
        [(y, 11), (y, 12), (y + 1, 1), (y + 1, 2), (y + 1, 3)]
            .into_iter()
            .map(|(year, month)| {
                let (next_year, next_month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                (
                    format!("{year}-{month:02}"),
                    Season::local(next_year, next_month, 1),
                )
            })
            .collect()
    }
}

impl fmt::Display for Season {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first_year, self.first_year + 1)
    }
}

/// A credit grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grade {
    /// 90 points or more.
    A,
    /// 75 to 89.99.
    B,
    /// 60 to 74.99.
    C,
    /// Below 60, or vetoed.
    D,
}

impl Grade {
    /// The grade of a score (clamped to 0–100) and veto state.
    pub fn of(score: Centipoints, vetoed: bool) -> Grade {
        match score {
            _ if vetoed => Grade::D,
            s if s >= 9_000 => Grade::A,
            s if s >= 7_500 => Grade::B,
            s if s >= 6_000 => Grade::C,
            _ => Grade::D,
        }
    }

    /// `A` to `D`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }
}

/// The total shown for a sum of entries: 100 plus the entries, kept within 0–100.
pub fn total(entries_sum: Centipoints) -> Centipoints {
    (FULL_SCORE + entries_sum).clamp(0, FULL_SCORE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasons_run_from_july_to_june_in_china_time() {
        let late_june = Utc.with_ymd_and_hms(2027, 6, 30, 15, 59, 0).unwrap();
        let july = Utc.with_ymd_and_hms(2027, 6, 30, 16, 0, 0).unwrap();
        assert_eq!(Season::of(late_june).to_string(), "2026-2027");
        assert_eq!(Season::of(july).to_string(), "2027-2028");
        assert_eq!(Season::parse("2026-2027"), Some(Season::of(late_june)));
        assert_eq!(Season::parse("2026-2028"), None);
        assert_eq!(Season::parse("26-27"), None);
        let months = Season::parse("2026-2027").unwrap().months();
        assert_eq!(months[1].0, "2026-12");
        assert_eq!(
            months[1].1,
            Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn grades_follow_the_thresholds_and_a_veto_forces_d() {
        assert_eq!(Grade::of(9_000, false), Grade::A);
        assert_eq!(Grade::of(8_999, false), Grade::B);
        assert_eq!(Grade::of(7_500, false), Grade::B);
        assert_eq!(Grade::of(7_499, false), Grade::C);
        assert_eq!(Grade::of(6_000, false), Grade::C);
        assert_eq!(Grade::of(5_999, false), Grade::D);
        assert_eq!(Grade::of(10_000, true), Grade::D);
        assert_eq!(points_text(-250), "-2.50");
        assert_eq!(points_text(5), "0.05");
        assert_eq!(total(-12_000), 0);
    }
}
