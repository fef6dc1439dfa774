//! Credit's domain: the rulebook, the scorer that turns facts into entries, the supplier
//! credit ledger, and the refund rules that turn the same facts into refunded days. No I/O
//! here.

pub mod credit;
pub mod facts;
pub mod order;
pub mod refund_account;
pub mod refund_rules;
pub mod refunds;
pub mod rulebook;
pub mod scorer;
#[cfg(test)]
mod scorer_tests;
pub mod values;

/// The stream id of a supplier's ledger in a season: `2026-2027/harbin-heat`.
pub fn stream_id(supplier: &str, season: values::Season) -> String {
    format!("{season}/{supplier}")
}

/// The supplier and season of a stream id.
pub fn parse_stream_id(id: &str) -> Option<(&str, values::Season)> {
    let (season, supplier) = id.split_once('/')?;
    Some((supplier, values::Season::parse(season)?))
}
