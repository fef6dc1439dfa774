//! `RefundAccount`: one household's refunds in one season. Days are only ever added or raised:
//! an accrual records each day whose share grew, with what it adds to the day's refund, so the
//! account's total is always the sum of its accruals and a fact counted twice adds nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::domain::refunds::RefundDay;

/// A day as accrued: the day as counted, and what the accrual adds to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccruedDay {
    /// The day as counted (its `amount_fen` is the day's whole refund).
    #[serde(flatten)]
    pub day: RefundDay,
    /// What this accrual adds, in fen.
    pub added_fen: i64,
}

/// A refund account's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RefundEvent {
    /// Days were refunded, or refunded at a higher share.
    RefundAccrued {
        /// The supplier that owes it.
        supplier: String,
        /// The refund rulebook version.
        version: String,
        /// The days.
        days: Vec<AccruedDay>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for RefundEvent {
    fn event_type(&self) -> String {
        "RefundAccrued".into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// What a refund account can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundCommand {
    /// Record the household's days as now counted; only what grew is accrued.
    Accrue {
        /// The supplier that owes it.
        supplier: String,
        /// The refund rulebook version.
        version: String,
        /// Every refunded day of the season as counted now.
        days: Vec<RefundDay>,
        /// Now.
        at: DateTime<Utc>,
    },
}

/// A refund account refuses nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("never")]
pub enum RefundError {}

/// One household's refunds in one season.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefundAccount {
    /// Each refunded day: its share and its refund so far, in fen.
    pub days: BTreeMap<NaiveDate, (u32, i64)>,
}

impl RefundAccount {
    /// The season's refund so far, in fen.
    pub fn total_fen(&self) -> i64 {
        self.days.values().map(|(_, fen)| fen).sum()
    }

    /// Decides a command.
    pub fn decide(&self, command: RefundCommand) -> Vec<RefundEvent> {
        let RefundCommand::Accrue {
            supplier,
            version,
            days,
            at,
        } = command;
        let grown: Vec<AccruedDay> = days
            .into_iter()
            .filter_map(|day| {
                let (share, fen) = self.days.get(&day.day).copied().unwrap_or((0, 0));
                (day.share_pct > share && day.amount_fen > fen).then(|| AccruedDay {
                    added_fen: day.amount_fen - fen,
                    day,
                })
            })
            .collect();
        if grown.is_empty() {
            return Vec::new();
        }
        vec![RefundEvent::RefundAccrued {
            supplier,
            version,
            days: grown,
            at,
        }]
    }
}

impl Aggregate for RefundAccount {
    const TYPE: &'static str = "refund_account";
    type Command = RefundCommand;
    type Event = RefundEvent;
    type Error = RefundError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command) {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let RefundEvent::RefundAccrued { days, .. } = event;
        for accrued in days {
            self.days.insert(
                accrued.day.day,
                (accrued.day.share_pct, accrued.day.amount_fen),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::refunds::RefundRule;

    fn day(d: u32, share_pct: u32, amount_fen: i64) -> RefundDay {
        RefundDay {
            day: NaiveDate::from_ymd_opt(2026, 12, d).unwrap(),
            rule: RefundRule::Temperature,
            tier: String::new(),
            share_pct,
            lowest_tenths: None,
            amount_fen,
            evidence: Vec::new(),
            tickets: Vec::new(),
        }
    }

    fn accrue(days: Vec<RefundDay>) -> RefundCommand {
        RefundCommand::Accrue {
            supplier: "xian-heat".into(),
            version: "xian-2024.1".into(),
            days,
            at: Utc::now(),
        }
    }

    #[test]
    fn only_days_that_grew_are_accrued_and_a_repeat_adds_nothing() {
        let mut account = RefundAccount::default();
        for event in account.decide(accrue(vec![day(1, 20, 309), day(2, 50, 774)])) {
            account.apply(event);
        }
        assert_eq!(account.total_fen(), 1_083);
        assert!(
            account
                .decide(accrue(vec![day(1, 20, 309), day(2, 50, 774)]))
                .is_empty()
        );
        let events = account.decide(accrue(vec![
            day(1, 100, 1_547),
            day(2, 50, 774),
            day(3, 20, 309),
        ]));
        let [RefundEvent::RefundAccrued { days, .. }] = events.as_slice() else {
            panic!("one accrual: {events:?}");
        };
        let added: Vec<i64> = days.iter().map(|d| d.added_fen).collect();
        assert_eq!(added, vec![1_238, 309]);
        for event in events {
            account.apply(event);
        }
        assert_eq!(account.total_fen(), 1_547 + 774 + 309);
    }
}
