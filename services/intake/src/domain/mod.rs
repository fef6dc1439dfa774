//! Intake's domain: complaints, incidents, what sensors find and the values they are made of. Pure: no HTTP, no
//! database, no clock.

pub mod complaint;
pub mod erasure;
pub mod incident;
pub mod sensing;
pub mod stop_heating;
pub mod values;
