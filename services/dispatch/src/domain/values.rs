//! The value types of a ticket.

use serde::{Deserialize, Serialize};

/// Why a ticket was resolved the way it was: who was at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The supplier's network, station or service: counts against the supplier.
    Supplier,
    /// Inside the home: the resident's own valves, radiators, renovation.
    ResidentSide,
    /// The building's developer has not handed the network over.
    DeveloperHandover,
    /// The heat source or primary network upstream of the supplier.
    Upstream,
}

impl Cause {
    /// Every cause, as the API names them.
    pub const CODES: [&'static str; 4] = [
        "supplier",
        "resident_side",
        "developer_handover",
        "upstream",
    ];

    /// The cause with this code.
    pub fn parse(code: &str) -> Option<Cause> {
        Some(match code {
            "supplier" => Cause::Supplier,
            "resident_side" => Cause::ResidentSide,
            "developer_handover" => Cause::DeveloperHandover,
            "upstream" => Cause::Upstream,
            _ => return None,
        })
    }
}

/// The resident's verdict at the callback (回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意: the ticket is reopened (重办).
    Unsatisfied,
}

impl Rating {
    /// Every rating, as the API names them.
    pub const CODES: [&'static str; 3] = ["satisfied", "basically_satisfied", "unsatisfied"];

    /// The rating with this code.
    pub fn parse(code: &str) -> Option<Rating> {
        Some(match code {
            "satisfied" => Rating::Satisfied,
            "basically_satisfied" => Rating::BasicallySatisfied,
            "unsatisfied" => Rating::Unsatisfied,
            _ => return None,
        })
    }
}

/// Why work on a ticket is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// Nobody at home to let the crew in.
    ResidentAbsent,
    /// Waiting for parts.
    Parts,
    /// The heat source or primary network is down.
    UpstreamOutage,
}

impl PauseReason {
    /// Every reason, as the API names them.
    pub const CODES: [&'static str; 3] = ["resident_absent", "parts", "upstream_outage"];

    /// The reason with this code.
    pub fn parse(code: &str) -> Option<PauseReason> {
        Some(match code {
            "resident_absent" => PauseReason::ResidentAbsent,
            "parts" => PauseReason::Parts,
            "upstream_outage" => PauseReason::UpstreamOutage,
            _ => return None,
        })
    }
}

/// A room temperature in tenths of a degree Celsius, within what a room can plausibly be
/// (-30.0 to 40.0 ℃).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tenths(i32);

/// The heating standard: 18.0 ℃.
pub const STANDARD: Tenths = Tenths(180);

impl Tenths {
    /// Parses a reading in ℃, rounded to a tenth.
    pub fn from_celsius(celsius: f64) -> Option<Tenths> {
        let tenths = (celsius * 10.0).round();
        (tenths.is_finite() && (-300.0..=400.0).contains(&tenths)).then_some(Tenths(tenths as i32))
    }

    /// The value in tenths.
    pub fn tenths(self) -> i32 {
        self.0
    }

    /// The value in ℃.
    pub fn celsius(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

/// Where a ticket belongs: the building registry's answer, or a dispatcher's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The district.
    pub district: Option<String>,
    /// The heat-exchange station.
    pub station: Option<String>,
    /// The building.
    pub building_id: Option<String>,
    /// The supplier the registry names.
    pub supplier_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_outside_what_a_room_can_be_are_refused() {
        assert_eq!(Tenths::from_celsius(17.96).map(Tenths::tenths), Some(180));
        assert_eq!(Tenths::from_celsius(-100.0), None);
        assert_eq!(Tenths::from_celsius(200.0), None);
        assert_eq!(Tenths::from_celsius(f64::NAN), None);
        assert!(Tenths::from_celsius(17.9).unwrap() < STANDARD);
    }
}
