//! What every Heatline service shares: the API error shape, access-token verification, the
//! injected clock, phone numbers, logging set-up and the health endpoints.

#![warn(missing_docs)]

pub mod auth;
pub mod background;
pub mod calendar;
pub mod caps;
pub mod clock;
pub mod error;
pub mod fields;
pub mod health;
pub mod hygiene;
pub mod image;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod phone;
pub mod policy;
pub mod request;
pub mod stop_heating;
pub mod storage;
pub mod table;
pub mod telemetry;
