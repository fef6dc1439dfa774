//! A city's terms for stopping heating online (停暖申请), as its fee rules set them: how long
//! before the season's official start a resident must apply, how many working days the
//! supplier has to reply, which share of the fee a stopped household still pays, and how many
//! of a building's households may stop before the supplier may refuse the rest.
//!
//! The terms are part of each city version of the refund rulebook; intake reads the deadline,
//! dispatch the reply window and the shares.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a city allows and requires of stop-heating applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopHeatingTerms {
    /// Applications for a season close this many days before its official start.
    pub apply_days_before_start: u32,
    /// The supplier replies within this many working days.
    pub reply_working_days: u32,
    /// The share of the season's fee a stopped household still pays (the base fee), percent.
    pub base_fee_share_pct: u32,
    /// Once this share of a building's registered households has stopped, the supplier may
    /// refuse more (percent).
    pub building_cap_pct: u32,
}

impl Default for StopHeatingTerms {
    /// Xi'an's terms: 15 days, 5 working days, 30 %, 30 %.
    fn default() -> Self {
        StopHeatingTerms {
            apply_days_before_start: 15,
            reply_working_days: 5,
            base_fee_share_pct: 30,
            building_cap_pct: 30,
        }
    }
}

impl StopHeatingTerms {
    /// Checks the terms; the error names the bad field.
    pub fn check(&self) -> Result<(), String> {
        if self.apply_days_before_start > 120 {
            return Err("stop_heating.apply_days_before_start must be at most 120".into());
        }
        if !(1..=30).contains(&self.reply_working_days) {
            return Err("stop_heating.reply_working_days must be 1 to 30".into());
        }
        if self.base_fee_share_pct > 100 {
            return Err("stop_heating.base_fee_share_pct must be 0 to 100".into());
        }
        if !(1..=100).contains(&self.building_cap_pct) {
            return Err("stop_heating.building_cap_pct must be 1 to 100".into());
        }
        Ok(())
    }
}

/// A city's terms with the day its heating officially starts: what intake and dispatch are
/// configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CityTerms {
    /// The official start of heating, (month, day) of a season's first year.
    pub heating_starts: (u32, u32),
    /// The terms.
    pub terms: StopHeatingTerms,
}

impl Default for CityTerms {
    /// Xi'an's: heating from 15 November.
    fn default() -> Self {
        CityTerms {
            heating_starts: (11, 15),
            terms: StopHeatingTerms::default(),
        }
    }
}

impl CityTerms {
    /// When applications for the season starting in `first_year` close.
    pub fn deadline(&self, first_year: i32) -> DateTime<Utc> {
        deadline(&self.terms, self.heating_starts, first_year)
    }
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// When applications for a season close: midnight (China time) `apply_days_before_start`
/// days before the official start, which is `heating_starts` (month, day) of `first_year`.
pub fn deadline(
    terms: &StopHeatingTerms,
    heating_starts: (u32, u32),
    first_year: i32,
) -> DateTime<Utc> {
    let (month, day) = heating_starts;
    let start = NaiveDate::from_ymd_opt(first_year, month, day)
        .or_else(|| NaiveDate::from_ymd_opt(first_year, month, day.saturating_sub(1)))
        .unwrap_or_default();
    let close = start - Duration::days(i64::from(terms.apply_days_before_start));
    china()
        .from_local_datetime(&close.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|at| at.to_utc())
        .unwrap_or_default()
}

/// The building cap as a count: how many of `households` may stop before the supplier may
/// refuse more (at least one).
pub fn cap_count(terms: &StopHeatingTerms, households: i64) -> i64 {
    let share = households.max(0) * i64::from(terms.building_cap_pct);
    ((share + 99) / 100).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_close_at_china_midnight_the_terms_ahead_of_the_start() {
        let xian = StopHeatingTerms::default();
        assert_eq!(
            deadline(&xian, (11, 15), 2027).to_rfc3339(),
            "2027-10-30T16:00:00+00:00"
        );
        let harbin = StopHeatingTerms {
            apply_days_before_start: 30,
            reply_working_days: 10,
            ..xian
        };
        assert_eq!(
            deadline(&harbin, (10, 20), 2027).to_rfc3339(),
            "2027-09-19T16:00:00+00:00"
        );
    }

    #[test]
    fn the_cap_rounds_up_and_bad_terms_name_their_field() {
        let terms = StopHeatingTerms::default();
        assert_eq!(cap_count(&terms, 10), 3);
        assert_eq!(cap_count(&terms, 11), 4);
        assert_eq!(cap_count(&terms, 1), 1);
        let bad = StopHeatingTerms {
            reply_working_days: 0,
            ..terms
        };
        assert!(bad.check().unwrap_err().contains("reply_working_days"));
        let bad = StopHeatingTerms {
            base_fee_share_pct: 101,
            ..terms
        };
        assert!(bad.check().unwrap_err().contains("base_fee_share_pct"));
    }
}
