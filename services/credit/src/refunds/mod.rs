//! Refunds for late or insufficient heating: the credit design applied to money. One
//! subscription keeps the facts (tickets, households, measurements, resolutions); another
//! counts each household's refunded days under the city's refund rulebook when a repair is
//! resolved with a supplier-side cause, records them in the household's `RefundAccount` and
//! publishes them; a sweep counts households registered after their repairs; the ledger
//! answers statements, what-ifs, totals and the billing export.

pub mod accrual;
pub mod facts;
pub mod households;
pub mod read;
pub mod recount;
pub mod statement;
