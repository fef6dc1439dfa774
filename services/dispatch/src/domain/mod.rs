//! Dispatch's domain: tickets, their SLA clocks, and crews. No I/O here.

mod apply;
pub use platform::calendar;
pub mod clock;
pub mod command;
pub mod crew;
mod decide;
pub mod publish;
pub mod sla;
pub mod stop_heating;
pub mod ticket;
pub mod values;
