//! SLA policies: the target of each clock for a ticket's category, priority and origin, and
//! the working-day calendar of the hotline clock. Data, read from JSON; the shipped default
//! follows the city's rules (sign within 30 min, on site within 2 h or 30 min for a leak,
//! restored within 8 h, 24 h for a major fault, 48 h for an area outage, callback within a
//! day, hotline complaints finished within 5 working days with one extension of up to 10).
//!
//! Rules apply in order over the default: each rule whose conditions all hold overrides the
//! targets it names.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::domain::calendar::Calendar;
use crate::domain::clock::{ClockKind, Start};

/// The policy shipped with Heatline.
pub const SHIPPED: &str = include_str!("../../sla-policy.json");

/// The targets of a ticket's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Dispatched → signed.
    pub sign_minutes: u32,
    /// Signed → on site.
    pub on_site_minutes: u32,
    /// Signed → resolved.
    pub restore_hours: u32,
    /// Resolved → callback done.
    pub callback_hours: u32,
    /// Filed → closed; `null` when the resident's clock is only reported.
    pub resident_hours: Option<u32>,
}

/// One rule: conditions, then the targets it sets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    category: Option<String>,
    priority: Option<String>,
    origin: Option<String>,
    sign_minutes: Option<u32>,
    on_site_minutes: Option<u32>,
    restore_hours: Option<u32>,
    callback_hours: Option<u32>,
    resident_hours: Option<u32>,
}

/// The hotline clock's terms.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotlineTerms {
    /// Working days from signing to resolving.
    pub finish_working_days: u32,
    /// The longest single extension, in working days.
    pub max_extension_working_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    default: Targets,
    #[serde(default)]
    rules: Vec<Rule>,
    hotline: HotlineTerms,
}

/// What a ticket's targets depend on.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    /// The complaint category code (`leak`, ...).
    pub category: &'a str,
    /// `normal` or `urgent`.
    pub priority: &'a str,
    /// `complaint` or `incident`.
    pub origin: &'a str,
}

/// SLA policy and calendar together: everything needed to compute a deadline.
#[derive(Debug, Clone)]
pub struct Sla {
    default: Targets,
    rules: Vec<Rule>,
    /// The hotline clock's terms.
    pub hotline: HotlineTerms,
    calendar: Calendar,
}

fn words(minutes: i64) -> String {
    match minutes {
        m if m % (24 * 60) == 0 && m >= 48 * 60 => format!("{} d", m / (24 * 60)),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

impl Sla {
    /// Reads a policy (JSON) and a calendar (CSV); errors say what is wrong.
    pub fn parse(policy: &str, calendar: &str) -> Result<Sla, String> {
        let file: PolicyFile =
            serde_json::from_str(policy).map_err(|e| format!("SLA policy: {e}"))?;
        let calendar = Calendar::parse(calendar).map_err(|e| format!("calendar: {e}"))?;
        Ok(Sla {
            default: file.default,
            rules: file.rules,
            hotline: file.hotline,
            calendar,
        })
    }

    /// The shipped policy and calendar.
    pub fn shipped() -> Sla {
        Sla::parse(SHIPPED, crate::domain::calendar::SHIPPED)
            .expect("the shipped SLA policy and calendar are valid")
    }

    /// The calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The targets for a ticket.
    pub fn targets(&self, profile: Profile<'_>) -> Targets {
        let mut targets = self.default;
        for rule in &self.rules {
            let holds =
                |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
            if holds(&rule.category, profile.category)
                && holds(&rule.priority, profile.priority)
                && holds(&rule.origin, profile.origin)
            {
                targets.sign_minutes = rule.sign_minutes.unwrap_or(targets.sign_minutes);
                targets.on_site_minutes = rule.on_site_minutes.unwrap_or(targets.on_site_minutes);
                targets.restore_hours = rule.restore_hours.unwrap_or(targets.restore_hours);
                targets.callback_hours = rule.callback_hours.unwrap_or(targets.callback_hours);
                targets.resident_hours = rule.resident_hours.or(targets.resident_hours);
            }
        }
        targets
    }

    /// The clock `kind` of a ticket starting at `at`.
    pub fn start(&self, kind: ClockKind, profile: Profile<'_>, at: DateTime<Utc>) -> Start {
        let targets = self.targets(profile);
        let minutes = |m: u32| Some(i64::from(m));
        let span = match kind {
            ClockKind::Resident => targets.resident_hours.map(|h| i64::from(h) * 60),
            ClockKind::Sign => minutes(targets.sign_minutes),
            ClockKind::OnSite => minutes(targets.on_site_minutes),
            ClockKind::Restore => Some(i64::from(targets.restore_hours) * 60),
            ClockKind::Callback => Some(i64::from(targets.callback_hours) * 60),
            ClockKind::HotlineFinish => {
                let days = self.hotline.finish_working_days;
                return Start {
                    kind,
                    deadline: Some(self.calendar.after_working_days(at, days)),
                    target: format!("{days} working days"),
                };
            }
        };
        Start {
            kind,
            deadline: span.map(|m| at + Duration::minutes(m)),
            target: span.map_or_else(|| "reported".to_owned(), words),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile<'a>(category: &'a str, priority: &'a str, origin: &'a str) -> Profile<'a> {
        Profile {
            category,
            priority,
            origin,
        }
    }

    #[test]
    fn the_shipped_policy_gives_the_city_targets() {
        let sla = Sla::shipped();
        let cold = sla.targets(profile("low_temperature", "normal", "complaint"));
        assert_eq!(
            (cold.sign_minutes, cold.on_site_minutes, cold.restore_hours),
            (30, 120, 8)
        );
        let leak = sla.targets(profile("leak", "urgent", "complaint"));
        assert_eq!((leak.on_site_minutes, leak.restore_hours), (30, 24));
        let outage = sla.targets(profile("no_heat", "urgent", "incident"));
        assert_eq!(outage.restore_hours, 48);
        assert_eq!(cold.callback_hours, 24);
        assert_eq!(cold.resident_hours, None);
    }

    #[test]
    fn a_clock_starts_with_its_deadline_and_target_in_words() {
        let sla = Sla::shipped();
        let at = DateTime::parse_from_rfc3339("2026-12-01T07:00:00Z")
            .unwrap()
            .to_utc();
        let p = profile("leak", "urgent", "complaint");
        let on_site = sla.start(ClockKind::OnSite, p, at);
        assert_eq!(on_site.deadline, Some(at + Duration::minutes(30)));
        assert_eq!(on_site.target, "30 min");
        assert_eq!(sla.start(ClockKind::Restore, p, at).target, "24 h");
        let resident = sla.start(ClockKind::Resident, p, at);
        assert_eq!(
            (resident.deadline, resident.target.as_str()),
            (None, "reported")
        );
        assert_eq!(
            sla.start(ClockKind::HotlineFinish, p, at).target,
            "5 working days"
        );
    }

    #[test]
    fn an_unknown_field_in_a_policy_is_refused() {
        let error = Sla::parse(
            r#"{"default":{"sign_minutes":30,"on_site_minutes":1,"restore_hours":1,"callback_hours":1,"resident_hours":null,"sing":1},"hotline":{"finish_working_days":5,"max_extension_working_days":10}}"#,
            "",
        )
        .unwrap_err();
        assert!(error.contains("sing"), "{error}");
    }
}
