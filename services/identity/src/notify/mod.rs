//! Telling residents what happens: a subscription to the published log turns each step a
//! resident is owed (their repair signed for, the crew assigned and on site, the repair done
//! with "is it warm now?", a refund accrued, a stop-heating application decided) into an
//! outbox row per resident, keyed by the event and the resident; a worker delivers them
//! through a WeChat subscribe message while the resident has one granted for its template,
//! else by SMS, and retries with backoff while either is down.

pub mod delivery;
pub mod feed;
pub mod prefs;

use std::collections::BTreeMap;

/// The template families a resident subscribes to; each kind of notice belongs to one.
pub const FAMILIES: [&str; 3] = ["repair", "refund", "stop_heating"];

/// How notices are delivered.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The mini-program's subscribe-message template id of each family (`repair`, `refund`,
    /// `stop_heating`); a family without one goes by SMS.
    pub templates: BTreeMap<String, String>,
    /// How often the worker looks for notices due.
    pub every: std::time::Duration,
    /// Notices not delivered within this long are dropped (the reason is kept).
    pub give_up_after: chrono::Duration,
    /// The longest wait between two attempts.
    pub max_backoff: chrono::Duration,
}

impl Default for NotifyConfig {
    /// No templates (SMS only); a look every second; retries for 3 days, at most 5 minutes
    /// apart.
    fn default() -> Self {
        NotifyConfig {
            templates: BTreeMap::new(),
            every: std::time::Duration::from_secs(1),
            give_up_after: chrono::Duration::days(3),
            max_backoff: chrono::Duration::minutes(5),
        }
    }
}

impl NotifyConfig {
    /// Reads `family=template_id` pairs separated by commas; an unknown family or an empty id
    /// is an error naming it.
    pub fn parse_templates(text: &str) -> Result<BTreeMap<String, String>, String> {
        let mut templates = BTreeMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (family, id) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not family=template_id"))?;
            let (family, id) = (family.trim(), id.trim());
            if !FAMILIES.contains(&family) {
                return Err(format!(
                    "unknown family {family:?}; one of {}",
                    FAMILIES.join(", ")
                ));
            }
            if id.is_empty() || id.len() > 128 {
                return Err(format!(
                    "the template id of {family} must be 1 to 128 characters"
                ));
            }
            templates.insert(family.to_owned(), id.to_owned());
        }
        Ok(templates)
    }
}

/// The notifications subscription and the delivery worker; dropping it stops the worker.
pub struct Background {
    /// The subscription.
    pub feed: eventstore::SubscriptionHandle,
    /// The worker.
    pub delivery: platform::background::BackgroundTask,
}

/// `heatline_notifications_total{channel,outcome}`.
pub const NOTIFICATIONS: platform::metrics::Counter = platform::metrics::Counter {
    name: "heatline_notifications_total",
    help: "Notices to residents handled by this process's worker, by channel and outcome.",
};

#[cfg(test)]
mod tests {
    use super::NotifyConfig;

    #[test]
    fn templates_are_family_equals_id_and_bad_ones_are_named() {
        let templates =
            NotifyConfig::parse_templates("repair = T-REPAIR, refund=T-REFUND,").unwrap();
        assert_eq!(templates["repair"], "T-REPAIR");
        assert_eq!(templates["refund"], "T-REFUND");
        assert!(
            NotifyConfig::parse_templates("weather=T")
                .unwrap_err()
                .contains("weather")
        );
        assert!(
            NotifyConfig::parse_templates("repair")
                .unwrap_err()
                .contains("family=template_id")
        );
        assert!(NotifyConfig::parse_templates("").unwrap().is_empty());
    }
}
