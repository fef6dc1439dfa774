//! The rulebook: versioned data with effective dates that turns counted facts into points.
//!
//! Each dimension's points are a function of what has been counted for the supplier in the
//! season (its tally); a ledger entry is the change of that function when a fact is counted.
//! So a dimension's points are always the sum of its entries, and every entry names the facts
//! that moved it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::facts::Clock;
use crate::domain::values::{Centipoints, Dimension, Season};

/// The rulebook shipped with Heatline.
pub const SHIPPED: &str = include_str!("../../rulebook.json");

/// Deductions per SLA breach, by clock, in points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerBreach {
    /// Complaint filed → closed.
    pub resident: f64,
    /// Dispatched → signed.
    pub sign: f64,
    /// Signed → on site.
    pub on_site: f64,
    /// Signed → resolved.
    pub restore: f64,
    /// Signed → resolved in working days.
    pub hotline_finish: f64,
    /// Resolved → callback done.
    pub callback: f64,
    /// A stop-heating application filed → the supplier's reply (0 when a version leaves it
    /// out).
    #[serde(default)]
    pub stop_heating_reply: f64,
}

/// A dimension with a weight only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighted {
    /// Its share of 100 points.
    pub weight: f64,
}

/// Which sensor episodes count in heating quality.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorEpisodes {
    /// None: only certified crew measurements count.
    #[default]
    None,
    /// Episodes read by certified sensors only.
    Certified,
    /// Every episode.
    Any,
}

/// Heating quality: the share of evidence at or above the standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeatingQualityRule {
    /// Its share of 100 points.
    pub weight: f64,
    /// Whether a home's low-temperature episode counts, as one more measurement (at its cold
    /// hours' mean) of the repair it opened or joined, when that repair's cycle has no certified
    /// crew measurement by the supplier that resolved it: a crew measurement outranks it.
    #[serde(default)]
    pub sensor_episodes: SensorEpisodes,
}

impl SensorEpisodes {
    /// Whether an episode read by sensors that are (or are not) all certified counts.
    pub fn counts(self, certified: bool) -> bool {
        match self {
            SensorEpisodes::None => false,
            SensorEpisodes::Certified => certified,
            SensorEpisodes::Any => true,
        }
    }
}

/// SLA performance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaRule {
    /// Its share of 100 points.
    pub weight: f64,
    /// What one breach costs.
    pub per_breach: PerBreach,
}

/// Complaints per 10,000 m².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintRule {
    /// Its share of 100 points.
    pub weight: f64,
    /// The rate at which the dimension reaches zero (linear from full at no complaints).
    pub zero_at_per_10k_m2: f64,
}

/// Satisfaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionRule {
    /// Its share of 100 points.
    pub weight: f64,
    /// What a "basically satisfied" verdict is worth against a "satisfied" one (0–1).
    pub basically_satisfied: f64,
}

/// Outages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageRule {
    /// Its share of 100 points.
    pub weight: f64,
    /// What one household-hour of an incident costs.
    pub per_household_hour: f64,
}

/// One version of the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// Its name, never reused.
    pub version: String,
    /// Seasons starting at or after this moment are scored under it (until a later version).
    pub effective_from: DateTime<Utc>,
    /// What changed, in words.
    pub summary: String,
    /// The room-temperature standard.
    pub standard_celsius: f64,
    /// Heating quality.
    pub heating_quality: HeatingQualityRule,
    /// SLA performance.
    pub sla_performance: SlaRule,
    /// Complaint rate.
    pub complaint_rate: ComplaintRule,
    /// Satisfaction.
    pub satisfaction: SatisfactionRule,
    /// Outages.
    pub outages: OutageRule,
    /// Data integration.
    pub data_integration: Weighted,
}

/// What has been counted for one supplier in one season.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Certified measurements counted.
    pub measurements: u64,
    /// Of which at or above the standard.
    pub measurements_met: u64,
    /// Sensor episodes counted in their stead.
    pub episodes: u64,
    /// Of which at or above the standard.
    pub episodes_met: u64,
    /// Breaches by clock: resident, sign, on site, restore, hotline finish, callback,
    /// stop-heating reply.
    pub breaches: [u64; 7],
    /// Complaints on tickets resolved with a supplier-side cause.
    pub complaints: u64,
    /// Verdicts counted, and of them satisfied and basically satisfied.
    pub verdicts: u64,
    /// Satisfied verdicts.
    pub satisfied: u64,
    /// Basically satisfied verdicts.
    pub basically_satisfied: u64,
    /// Incident households × minutes without heat.
    pub household_minutes: u64,
    /// Supplier-side resolutions counted.
    pub resolutions: u64,
    /// Of which backed by a certified measurement of the same cycle.
    pub resolutions_measured: u64,
}

fn cp(points: f64) -> Centipoints {
    (points * 100.0).round() as Centipoints
}

fn share(weight: f64, part: u64, whole: u64) -> Centipoints {
    if whole == 0 {
        cp(weight)
    } else {
        cp(weight * part as f64 / whole as f64)
    }
}

impl Version {
    /// The weight of a scored dimension, in centipoints.
    pub fn weight(&self, dimension: Dimension) -> Centipoints {
        cp(match dimension {
            Dimension::HeatingQuality => self.heating_quality.weight,
            Dimension::SlaPerformance => self.sla_performance.weight,
            Dimension::ComplaintRate => self.complaint_rate.weight,
            Dimension::Satisfaction => self.satisfaction.weight,
            Dimension::Outages => self.outages.weight,
            Dimension::DataIntegration => self.data_integration.weight,
            Dimension::Veto => 0.0,
        })
    }

    /// The standard in tenths of a degree.
    pub fn standard_tenths(&self) -> i32 {
        (self.standard_celsius * 10.0).round() as i32
    }

    /// A dimension's points for a tally, in centipoints, between 0 and its weight.
    /// `area_m2` is the supplier's heated area (the complaint rate needs it; without it the
    /// dimension keeps its weight).
    pub fn points(&self, dimension: Dimension, tally: &Tally, area_m2: Option<f64>) -> Centipoints {
        let weight = self.weight(dimension);
        let points = match dimension {
            Dimension::HeatingQuality => share(
                self.heating_quality.weight,
                tally.measurements_met + tally.episodes_met,
                tally.measurements + tally.episodes,
            ),
            Dimension::SlaPerformance => {
                let per = &self.sla_performance.per_breach;
                let costs = [
                    per.resident,
                    per.sign,
                    per.on_site,
                    per.restore,
                    per.hotline_finish,
                    per.callback,
                    per.stop_heating_reply,
                ];
                let lost: Centipoints = costs
                    .iter()
                    .zip(tally.breaches)
                    .map(|(cost, n)| cp(*cost) * n as Centipoints)
                    .sum();
                weight - lost
            }
            Dimension::ComplaintRate => match area_m2 {
                Some(area) if area > 0.0 => {
                    let rate = tally.complaints as f64 * 10_000.0 / area;
                    cp(self.complaint_rate.weight
                        * (1.0 - rate / self.complaint_rate.zero_at_per_10k_m2))
                }
                _ => weight,
            },
            Dimension::Satisfaction => {
                if tally.verdicts == 0 {
                    weight
                } else {
                    let worth = tally.satisfied as f64
                        + tally.basically_satisfied as f64 * self.satisfaction.basically_satisfied;
                    cp(self.satisfaction.weight * worth / tally.verdicts as f64)
                }
            }
            Dimension::Outages => {
                let hours = tally.household_minutes as f64 / 60.0;
                weight - cp(hours * self.outages.per_household_hour)
            }
            Dimension::DataIntegration => share(
                self.data_integration.weight,
                tally.resolutions_measured,
                tally.resolutions,
            ),
            Dimension::Veto => 0,
        };
        points.clamp(0, weight)
    }

    /// What a dimension's points come from, in words (the entries' `detail`).
    pub fn detail(&self, dimension: Dimension, tally: &Tally, area: Option<f64>) -> String {
        match dimension {
            Dimension::HeatingQuality if tally.episodes > 0 => format!(
                "{} of {} measurements and {} of {} sensor episodes at or above {:.1} ℃",
                tally.measurements_met,
                tally.measurements,
                tally.episodes_met,
                tally.episodes,
                self.standard_celsius
            ),
            Dimension::HeatingQuality => format!(
                "{} of {} measurements at or above {:.1} ℃",
                tally.measurements_met, tally.measurements, self.standard_celsius
            ),
            Dimension::SlaPerformance => {
                let parts: Vec<String> = Clock::ALL
                    .iter()
                    .filter(|c| tally.breaches[c.index()] > 0)
                    .map(|c| format!("{} {}", c.name(), tally.breaches[c.index()]))
                    .collect();
                format!("breaches: {}", parts.join(", "))
            }
            Dimension::ComplaintRate => match area {
                Some(area) if area > 0.0 => format!(
                    "{} complaints on {:.0} m²: {:.2} per 10,000 m² (zero at {})",
                    tally.complaints,
                    area,
                    tally.complaints as f64 * 10_000.0 / area,
                    self.complaint_rate.zero_at_per_10k_m2
                ),
                _ => format!("{} complaints; no heated area registered", tally.complaints),
            },
            Dimension::Satisfaction => format!(
                "{} verdicts: {} satisfied, {} basically satisfied",
                tally.verdicts, tally.satisfied, tally.basically_satisfied
            ),
            Dimension::Outages => format!(
                "{:.1} incident household-hours",
                tally.household_minutes as f64 / 60.0
            ),
            Dimension::DataIntegration => format!(
                "{} of {} resolutions backed by a certified measurement",
                tally.resolutions_measured, tally.resolutions
            ),
            Dimension::Veto => String::new(),
        }
    }

    fn check(&self) -> Result<(), String> {
        let weights: f64 = Dimension::SCORED
            .iter()
            .map(|d| self.weight(*d) as f64)
            .sum();
        if weights as Centipoints != 10_000 {
            return Err(format!(
                "version {}: the weights add up to {}, not 100",
                self.version,
                weights / 100.0
            ));
        }
        let numbers = [
            self.sla_performance.per_breach.resident,
            self.sla_performance.per_breach.sign,
            self.sla_performance.per_breach.on_site,
            self.sla_performance.per_breach.restore,
            self.sla_performance.per_breach.hotline_finish,
            self.sla_performance.per_breach.callback,
            self.sla_performance.per_breach.stop_heating_reply,
            self.outages.per_household_hour,
        ];
        if numbers.iter().any(|n| !n.is_finite() || *n < 0.0) {
            return Err(format!(
                "version {}: deductions must be 0 or more",
                self.version
            ));
        }
        let zero_at = self.complaint_rate.zero_at_per_10k_m2;
        if !zero_at.is_finite() || zero_at <= 0.0 {
            return Err(format!(
                "version {}: complaint_rate.zero_at_per_10k_m2 must be above 0",
                self.version
            ));
        }
        if !(0.0..=1.0).contains(&self.satisfaction.basically_satisfied) {
            return Err(format!(
                "version {}: satisfaction.basically_satisfied must be between 0 and 1",
                self.version
            ));
        }
        if !(0.0..=40.0).contains(&self.standard_celsius) {
            return Err(format!(
                "version {}: standard_celsius must be between 0 and 40",
                self.version
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
    versions: Vec<Version>,
}

/// Every version, by effective date.
#[derive(Debug, Clone, PartialEq)]
pub struct Rulebook {
    versions: Vec<Version>,
}

impl Rulebook {
    /// Reads a rulebook (JSON); errors say what is wrong.
    pub fn parse(text: &str) -> Result<Rulebook, String> {
        let file: File = serde_json::from_str(text).map_err(|e| format!("rulebook: {e}"))?;
        if file.versions.is_empty() {
            return Err("rulebook: no versions".into());
        }
        let mut names = BTreeMap::new();
        for version in &file.versions {
            version.check().map_err(|e| format!("rulebook: {e}"))?;
            if names.insert(version.version.clone(), ()).is_some() {
                return Err(format!(
                    "rulebook: version {} is listed twice",
                    version.version
                ));
            }
        }
        let mut versions = file.versions;
        versions.sort_by_key(|v| v.effective_from);
        Ok(Rulebook { versions })
    }

    /// The shipped rulebook.
    pub fn shipped() -> Rulebook {
        Rulebook::parse(SHIPPED).expect("the shipped rulebook is valid")
    }

    /// The sha-256 of its versions (hex): whether a saved scorer was scored under it.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let text = serde_json::to_vec(&self.versions).expect("a rulebook serializes");
        hex::encode(sha2::Sha256::digest(text))
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[Version] {
        &self.versions
    }

    /// A version by name.
    pub fn version(&self, name: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == name)
    }

    /// The version a season is scored under: the latest in effect at its start (the oldest
    /// when none is yet).
    pub fn for_season(&self, season: Season) -> &Version {
        let start = season.starts_at();
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= start)
            .unwrap_or(&self.versions[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rulebook_follows_the_design_weights() {
        let book = Rulebook::shipped();
        let season = Season::parse("2026-2027").unwrap();
        let version = book.for_season(season);
        assert_eq!(version.version, "2024.1");
        let weights: Vec<_> = Dimension::SCORED
            .iter()
            .map(|d| version.weight(*d))
            .collect();
        assert_eq!(weights, [3000, 2500, 1500, 1500, 1000, 500]);
        assert_eq!(
            book.for_season(Season::parse("2027-2028").unwrap()).version,
            "2027.1"
        );
        let sensing = book.for_season(Season::parse("2028-2029").unwrap());
        assert_eq!(sensing.version, "2028.1");
        assert_eq!(
            sensing.heating_quality.sensor_episodes,
            SensorEpisodes::Certified
        );
        assert!(
            book.versions()[..2]
                .iter()
                .all(|v| v.heating_quality.sensor_episodes == SensorEpisodes::None)
        );
    }

    #[test]
    fn points_follow_the_tally() {
        let book = Rulebook::shipped();
        let v = book.version("2024.1").unwrap();
        let tally = Tally {
            measurements: 4,
            measurements_met: 3,
            episodes: 0,
            episodes_met: 0,
            breaches: [0, 1, 1, 1, 0, 0, 0],
            complaints: 10,
            verdicts: 4,
            satisfied: 2,
            basically_satisfied: 1,
            household_minutes: 20 * 600,
            resolutions: 4,
            resolutions_measured: 3,
        };
        assert_eq!(v.points(Dimension::HeatingQuality, &tally, None), 2250);
        // Two sensor episodes, one at the standard: 4 of 6.
        let sensed = Tally {
            episodes: 2,
            episodes_met: 1,
            ..tally.clone()
        };
        assert_eq!(v.points(Dimension::HeatingQuality, &sensed, None), 2000);
        assert_eq!(v.points(Dimension::SlaPerformance, &tally, None), 2150);
        // 10 complaints on 100,000 m² is 1 per 10,000 m²: a fifth of the way to zero.
        assert_eq!(
            v.points(Dimension::ComplaintRate, &tally, Some(100_000.0)),
            1200
        );
        assert_eq!(v.points(Dimension::ComplaintRate, &tally, None), 1500);
        assert_eq!(v.points(Dimension::Satisfaction, &tally, None), 1050);
        // 200 household-hours at 0.02.
        assert_eq!(v.points(Dimension::Outages, &tally, None), 600);
        assert_eq!(v.points(Dimension::DataIntegration, &tally, None), 375);
    }

    #[test]
    fn a_rulebook_whose_weights_miss_100_is_refused() {
        let text = SHIPPED.replacen("\"weight\": 30", "\"weight\": 31", 1);
        let error = Rulebook::parse(&text).unwrap_err();
        assert!(error.contains("add up to 101"), "{error}");
    }
}
