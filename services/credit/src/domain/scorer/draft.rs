//! What the scorer writes: a ledger entry's draft, its id and its rule.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::values::{Centipoints, Dimension, Season};

/// The namespace of entry ids (UUIDv5 of `event id/dimension`).
pub const ENTRY_NAMESPACE: Uuid = Uuid::from_u128(0x6c0a_3f1e_93b4_4d2a_9a51_0e8f_2b7c_c4d1);

/// The rule names of the scorer's entries.
pub fn rule_of(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::HeatingQuality => "heating_quality.share_at_standard",
        Dimension::SlaPerformance => "sla_performance.breaches",
        Dimension::ComplaintRate => "complaint_rate.per_10k_m2",
        Dimension::Satisfaction => "satisfaction.verdicts",
        Dimension::Outages => "outages.household_hours",
        Dimension::DataIntegration => "data_integration.measured_resolutions",
        Dimension::Veto => "veto",
    }
}

/// The rule of a reversal after an upheld appeal.
pub const REVERSAL_RULE: &str = "appeal_reversal";

/// The id of the entry an event makes in a dimension.
pub fn entry_id(event_id: Uuid, dimension: Dimension) -> Uuid {
    Uuid::new_v5(
        &ENTRY_NAMESPACE,
        format!("{event_id}/{}", dimension.as_str()).as_bytes(),
    )
}

/// A ledger entry as the scorer computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Derived from the triggering event and the dimension.
    pub entry_id: Uuid,
    /// The supplier.
    pub supplier: String,
    /// The season.
    pub season: Season,
    /// The dimension.
    pub dimension: Dimension,
    /// The rule.
    pub rule: String,
    /// The rulebook version.
    pub version: String,
    /// The change, in centipoints.
    pub points: Centipoints,
    /// The events behind it.
    pub evidence: Vec<Uuid>,
    /// The tickets behind it.
    pub tickets: Vec<String>,
    /// What the rule saw.
    pub detail: String,
    /// When its fact happened.
    pub at: DateTime<Utc>,
    /// For a reversal, the entry reversed.
    pub reverses: Option<Uuid>,
}
