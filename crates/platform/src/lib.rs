//! What every Heatline service shares: logging set-up and the health endpoints.

#![warn(missing_docs)]

pub mod health;
pub mod telemetry;
