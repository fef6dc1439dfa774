//! Credit ledger entries as the supplier's ledger and the regulator's pages show them: the
//! entry the API returns, and the row a template prints.

use serde::Deserialize;

use crate::format;
use crate::i18n::Tr;

/// A page of a supplier's ledger from the credit API.
#[derive(Debug, Deserialize)]
pub(crate) struct Ledger {
    pub(crate) items: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Link {
    id: String,
}

/// A ledger entry from the credit API.
#[derive(Debug, Deserialize)]
pub(crate) struct Entry {
    pub(crate) entry_id: String,
    sequence: i64,
    dimension: String,
    rule: String,
    points: f64,
    points_text: String,
    detail: String,
    at: String,
    evidence: Vec<Link>,
    tickets: Vec<Link>,
    pub(crate) appeal: Option<String>,
}

/// A ledger entry in the reader's words: its dimension, appeal and time translated, and
/// whether it took points away.
pub(crate) struct EntryRow {
    pub(crate) id: String,
    pub(crate) sequence: i64,
    pub(crate) dimension: String,
    pub(crate) rule: String,
    pub(crate) points: String,
    pub(crate) negative: bool,
    pub(crate) detail: String,
    pub(crate) at: String,
    pub(crate) evidence: Vec<String>,
    pub(crate) tickets: Vec<String>,
    pub(crate) appeal: Option<String>,
}

impl EntryRow {
    pub(crate) fn of(t: Tr, e: Entry) -> Self {
        EntryRow {
            negative: e.points < 0.0,
            id: e.entry_id,
            sequence: e.sequence,
            dimension: t.code("dimension", &e.dimension),
            rule: e.rule,
            points: e.points_text,
            detail: e.detail,
            at: format::moment_text(t.0, &e.at),
            evidence: e.evidence.into_iter().map(|l| l.id).collect(),
            tickets: e.tickets.into_iter().map(|l| l.id).collect(),
            appeal: e.appeal.map(|a| t.code("appeal", &a)),
        }
    }
}
