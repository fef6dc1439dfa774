//! What the scorer keeps between facts: each ticket's track of resolution cycles, the facts
//! waiting for a cycle's outcome, and what a counted fact adds to a supplier's tally.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::facts::{Clock, Verdict};
use crate::domain::rulebook::Tally;
use crate::domain::values::{Dimension, Season};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) enum Contribution {
    Measurement { met: bool },
    Episode { met: bool },
    Breach(Clock),
    Complaints(u32),
    Verdict(Verdict),
    Outage { household_minutes: u64 },
    Resolution { measured: bool },
}

impl Contribution {
    pub(super) fn dimension(self) -> Dimension {
        match self {
            Contribution::Measurement { .. } | Contribution::Episode { .. } => {
                Dimension::HeatingQuality
            }
            Contribution::Breach(_) => Dimension::SlaPerformance,
            Contribution::Complaints(_) => Dimension::ComplaintRate,
            Contribution::Verdict(_) => Dimension::Satisfaction,
            Contribution::Outage { .. } => Dimension::Outages,
            Contribution::Resolution { .. } => Dimension::DataIntegration,
        }
    }

    /// Adds to (or, with `add` false, takes from) a tally.
    pub(super) fn apply(self, tally: &mut Tally, add: bool) {
        fn step(value: &mut u64, by: u64, add: bool) {
            *value = if add {
                *value + by
            } else {
                value.saturating_sub(by)
            };
        }
        match self {
            Contribution::Measurement { met } => {
                step(&mut tally.measurements, 1, add);
                step(&mut tally.measurements_met, u64::from(met), add);
            }
            Contribution::Episode { met } => {
                step(&mut tally.episodes, 1, add);
                step(&mut tally.episodes_met, u64::from(met), add);
            }
            Contribution::Breach(clock) => step(&mut tally.breaches[clock.index()], 1, add),
            Contribution::Complaints(n) => step(&mut tally.complaints, u64::from(n), add),
            Contribution::Verdict(verdict) => {
                step(&mut tally.verdicts, 1, add);
                match verdict {
                    Verdict::Satisfied => step(&mut tally.satisfied, 1, add),
                    Verdict::BasicallySatisfied => step(&mut tally.basically_satisfied, 1, add),
                    Verdict::Unsatisfied => {}
                }
            }
            Contribution::Outage { household_minutes } => {
                step(&mut tally.household_minutes, household_minutes, add);
            }
            Contribution::Resolution { measured } => {
                step(&mut tally.resolutions, 1, add);
                step(&mut tally.resolutions_measured, u64::from(measured), add);
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Waiting {
    Measured(i32),
    Breached(Clock),
    Verdict(Verdict),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Pending {
    pub(super) event_id: Uuid,
    pub(super) supplier: String,
    pub(super) what: Waiting,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) enum Outcome {
    #[default]
    Open,
    Supplier {
        supplier: String,
        resolution: Uuid,
        season: Season,
    },
    NotCounted,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Cycle {
    pub(super) outcome: Outcome,
    pub(super) pending: Vec<Pending>,
    pub(super) measured_by: HashSet<String>,
}

/// A sensor episode waiting for its ticket's resolution.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Episode {
    pub(super) event_id: Uuid,
    pub(super) certified: bool,
    pub(super) mean_tenths: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct TicketTrack {
    pub(super) incident: bool,
    pub(super) complaint_ids: Vec<String>,
    pub(super) episodes: Vec<Episode>,
    pub(super) complaints: u32,
    pub(super) households: u32,
    pub(super) opened_at: Option<DateTime<Utc>>,
    pub(super) counted: bool,
    pub(super) cycles: BTreeMap<u32, Cycle>,
}
