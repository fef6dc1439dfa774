//! The working-day calendar: the hotline's "finish within N working days" clock, and the
//! regulator's window for appeals.
//!
//! Kept as data: a CSV of `date,kind,name` lines, `kind` being `holiday` (a weekday off) or
//! `workday` (a weekend day worked instead, 调休). Other days follow the week: Monday to Friday
//! work. Dates are local dates in China Standard Time (UTC+8, no daylight saving).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// The calendar shipped with Heatline (years and sources in its header).
pub const SHIPPED: &str = include_str!("../calendar/cn-working-days.csv");

/// What a listed date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A day off on what would be a working day.
    Holiday,
    /// A working day on what would be a weekend.
    Workday,
}

/// A working-day calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, DayKind>,
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

impl Calendar {
    /// Reads a calendar; a bad line is an error naming its line number.
    pub fn parse(text: &str) -> Result<Calendar, String> {
        let mut days = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("date,") {
                continue;
            }
            let mut fields = line.split(',');
            let (Some(date), Some(kind)) = (fields.next(), fields.next()) else {
                return Err(format!("line {}: expected date,kind,name", n + 1));
            };
            let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
                .map_err(|e| format!("line {}: bad date {date:?}: {e}", n + 1))?;
            let kind = match kind.trim() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                other => {
                    return Err(format!(
                        "line {}: kind must be holiday or workday, not {other:?}",
                        n + 1
                    ));
                }
            };
            if days.insert(date, kind).is_some() {
                return Err(format!("line {}: {date} is listed twice", n + 1));
            }
        }
        Ok(Calendar { days })
    }

    /// The years the calendar lists days of.
    pub fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self.days.keys().map(|d| d.year()).collect();
        years.dedup();
        years
    }

    /// The last day the calendar knows: 31 December of the last year it lists (each year's
    /// notice covers the whole year). Past it, only weekends are days off, which is wrong for
    /// the next Spring Festival: [`Calendar::ending_soon`] says so ahead.
    pub fn last_day(&self) -> Option<NaiveDate> {
        let year = self.days.keys().next_back()?.year();
        NaiveDate::from_ymd_opt(year, 12, 31)
    }

    /// Whether the calendar ends within `days` of `today` (or has ended): the words to warn
    /// with, naming the day it ends.
    pub fn ending_soon(&self, today: NaiveDate, days: i64) -> Option<String> {
        let Some(last) = self.last_day() else {
            return Some(
                "the working-day calendar lists no year: every weekday counts as a working day"
                    .to_owned(),
            );
        };
        let left = (last - today).num_days();
        (left < days).then(|| {
            let when = if left < 0 {
                format!("ended on {last}")
            } else {
                format!("ends on {last}, in {left} days")
            };
            format!(
                "the working-day calendar {when}: later holidays would count as working days; \
                 install the next year's schedule (--workday-calendar FILE, see the README)"
            )
        })
    }

    /// Today in China.
    pub fn today(now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&china()).date_naive()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The end (midnight, China time) of the `n`-th working day after the local day of
    /// `start`: "within 5 working days" of a Friday afternoon ends with the next Thursday.
    pub fn after_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let mut date = start.with_timezone(&china()).date_naive();
        let mut counted = 0;
        while counted < n {
            date = date
                .succ_opt()
                .expect("dates stay far from the end of time");
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        let end = date
            .succ_opt()
            .expect("dates stay far from the end of time");
        china()
            .from_local_datetime(&end.and_hms_opt(0, 0, 0).expect("midnight exists"))
            .single()
            .expect("a fixed offset has no gaps")
            .with_timezone(&Utc)
    }

    /// The working days after `now`'s day up to `deadline` (a deadline at midnight ends the
    /// day before it): 0 on the last day, -1 once the deadline has passed.
    pub fn working_days_left(&self, now: DateTime<Utc>, deadline: DateTime<Utc>) -> i64 {
        if now >= deadline {
            return -1;
        }
        let last = (deadline - Duration::seconds(1))
            .with_timezone(&china())
            .date_naive();
        Calendar::today(now)
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= last)
            .filter(|d| self.is_working_day(*d))
            .count() as i64
    }

    /// A deadline extended by `n` working days: to the end of the `n`-th working day after
    /// the day the deadline falls in (a deadline at midnight belongs to the day it ends).
    pub fn extend(&self, deadline: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        self.after_working_days(deadline - Duration::seconds(1), n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn the_shipped_calendar_reads_and_knows_its_years() {
        let calendar = Calendar::parse(SHIPPED).unwrap();
        assert_eq!(calendar.years(), vec![2024, 2025, 2026]);
        // National Day 2026 is a holiday; the Saturday after it is worked.
        assert!(!calendar.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()));
        assert!(calendar.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 10).unwrap()));
    }

    #[test]
    fn a_calendar_warns_before_it_ends() {
        let calendar = Calendar::parse(SHIPPED).unwrap();
        let last = calendar.last_day().unwrap();
        assert_eq!((last.month(), last.day()), (12, 31));
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(
            calendar
                .ending_soon(last - Duration::days(61), 60)
                .is_none()
        );
        let soon = calendar.ending_soon(last - Duration::days(29), 60).unwrap();
        assert!(soon.contains("in 29 days"), "{soon}");
        let ended = calendar.ending_soon(last + Duration::days(1), 60).unwrap();
        assert!(ended.contains(&format!("ended on {last}")), "{ended}");
        assert!(
            Calendar::default()
                .ending_soon(day(2026, 1, 1), 60)
                .is_some()
        );
        assert_eq!(
            Calendar::today(Utc.with_ymd_and_hms(2026, 12, 31, 16, 30, 0).unwrap()),
            day(2027, 1, 1),
            "China is eight hours ahead"
        );
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_make_up_saturdays() {
        let calendar = Calendar::parse(SHIPPED).unwrap();
        // Friday 2026-12-04 15:00 China time: Mon 7 .. Fri 11 are the five days.
        let deadline = calendar.after_working_days(utc("2026-12-04T07:00:00Z"), 5);
        assert_eq!(deadline, utc("2026-12-11T16:00:00Z"));
        // Signed on Friday 2026-09-25 (Mid-Autumn starts that day): 9/28, 9/29, 9/30, then
        // the National Day week off, then 10/8, 10/9.
        let deadline = calendar.after_working_days(utc("2026-09-24T20:00:00Z"), 5);
        assert_eq!(deadline, utc("2026-10-09T16:00:00Z"));
        let deadline = calendar.after_working_days(utc("2026-09-24T20:00:00Z"), 6);
        assert_eq!(
            deadline,
            utc("2026-10-10T16:00:00Z"),
            "Saturday 10/10 is worked"
        );
    }

    #[test]
    fn working_days_left_count_the_days_after_today_up_to_the_deadline() {
        let calendar = Calendar::parse(SHIPPED).unwrap();
        // Filed Thursday 3 December 2026: ten working days end with Thursday 17 December.
        let filed = utc("2026-12-03T02:00:00Z");
        let by = calendar.after_working_days(filed, 10);
        assert_eq!(by, utc("2026-12-17T16:00:00Z"));
        assert_eq!(calendar.working_days_left(filed, by), 10);
        // On Saturday the 5th, Monday 7 to Thursday 17 are left.
        assert_eq!(
            calendar.working_days_left(utc("2026-12-05T02:00:00Z"), by),
            9
        );
        assert_eq!(
            calendar.working_days_left(utc("2026-12-17T15:59:00Z"), by),
            0
        );
        assert_eq!(calendar.working_days_left(by, by), -1);
    }

    #[test]
    fn an_extension_adds_working_days_to_a_deadline() {
        let calendar = Calendar::parse(SHIPPED).unwrap();
        let deadline = utc("2026-12-11T16:00:00Z");
        assert_eq!(calendar.extend(deadline, 2), utc("2026-12-15T16:00:00Z"));
    }

    #[test]
    fn a_bad_line_is_named() {
        let error = Calendar::parse("2026-13-01,holiday,x").unwrap_err();
        assert!(error.starts_with("line 1:"), "{error}");
        let error = Calendar::parse("2026-10-01,vacation,x").unwrap_err();
        assert!(error.contains("holiday or workday"), "{error}");
    }
}
