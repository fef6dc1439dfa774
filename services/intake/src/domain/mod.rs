//! Intake's domain: complaints, incidents and the values they are made of. Pure: no HTTP, no
//! database, no clock.

pub mod complaint;
pub mod erasure;
pub mod incident;
pub mod stop_heating;
pub mod values;
