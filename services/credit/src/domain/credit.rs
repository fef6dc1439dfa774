//! `SupplierCredit`: one supplier's ledger in one season. Entries are only ever added: a
//! scorer's change, a regulator's adjustment or veto, a reversal after an upheld appeal.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::scorer::REVERSAL_RULE;
use crate::domain::values::{Centipoints, Dimension, Grade, total};

/// The prefix of a regulator's veto rules.
pub const VETO_PREFIX: &str = "veto.";
/// The rule of a regulator's adjustment by hand.
pub const ADJUSTMENT_RULE: &str = "manual_adjustment";

/// The findings that force grade D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VetoRule {
    /// Supply reduced on purpose (蓄意减供).
    SupplyReduction,
    /// Heating stopped without authorisation.
    UnauthorisedStoppage,
    /// Falsified data (temperatures, records).
    FalsifiedData,
}

impl VetoRule {
    /// The ledger rule (`veto.supply_reduction`, ...).
    pub fn rule(self) -> &'static str {
        match self {
            VetoRule::SupplyReduction => "veto.supply_reduction",
            VetoRule::UnauthorisedStoppage => "veto.unauthorised_stoppage",
            VetoRule::FalsifiedData => "veto.falsified_data",
        }
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its id.
    pub entry_id: Uuid,
    /// Its dimension.
    pub dimension: Dimension,
    /// Its rule.
    pub rule: String,
    /// The rulebook version (empty for a regulator's own entries).
    pub version: String,
    /// The change, in centipoints.
    pub points: Centipoints,
    /// The published events behind it.
    pub evidence: Vec<Uuid>,
    /// The tickets behind it.
    pub tickets: Vec<String>,
    /// What the rule saw, or the regulator's justification.
    pub detail: String,
    /// When its fact happened.
    pub at: DateTime<Utc>,
    /// For a reversal: the entry it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<Uuid>,
}

/// What the appealed entry was, as the filer read it from the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appealed {
    /// The entry.
    pub entry_id: Uuid,
    /// Its dimension.
    pub dimension: Dimension,
    /// Its rule.
    pub rule: String,
    /// Its points.
    pub points: Centipoints,
    /// Its evidence.
    pub evidence: Vec<Uuid>,
}

/// A supplier credit's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CreditEvent {
    /// An entry was recorded.
    EntryRecorded(Entry),
    /// The supplier appealed an entry.
    AppealFiled {
        /// The appeal.
        appeal_id: Uuid,
        /// The entry.
        entry: Appealed,
        /// The supplier's statement.
        statement: String,
        /// Stored attachments.
        attachments: Vec<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A regulator decided an appeal.
    AppealDecided {
        /// The appeal.
        appeal_id: Uuid,
        /// Upheld (the entry stops counting) or rejected.
        upheld: bool,
        /// The regulator's reason.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A month (or, when final, the season) was closed with the grade it had at its end.
    PeriodClosed {
        /// `2026-12`, or the season for the final grade.
        period: String,
        /// The season's final grade.
        #[serde(rename = "final")]
        is_final: bool,
        /// The score at the period's end.
        score: Centipoints,
        /// Whether a veto stood then.
        vetoed: bool,
        /// When the period ended.
        at: DateTime<Utc>,
    },
    /// A regulator published a closed period's grade: from now on the public sees it.
    PeriodPublished {
        /// The period closed.
        period: String,
        /// Its score at its end.
        score: Centipoints,
        /// Whether a veto stood then.
        vetoed: bool,
        /// When it was published.
        at: DateTime<Utc>,
    },
}

impl CreditEvent {
    /// The stored name.
    pub fn name(&self) -> &'static str {
        match self {
            CreditEvent::EntryRecorded(_) => "EntryRecorded",
            CreditEvent::AppealFiled { .. } => "AppealFiled",
            CreditEvent::AppealDecided { .. } => "AppealDecided",
            CreditEvent::PeriodClosed { .. } => "PeriodClosed",
            CreditEvent::PeriodPublished { .. } => "PeriodPublished",
        }
    }
}

impl DomainEvent for CreditEvent {
    fn event_type(&self) -> String {
        self.name().into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// What a supplier credit can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum CreditCommand {
    /// Record the scorer's entries (those already recorded are skipped).
    Record(Vec<Entry>),
    /// A regulator's adjustment or veto.
    RecordOwn(Entry),
    /// Appeal an entry before `deadline`.
    Appeal {
        /// A new appeal id.
        appeal_id: Uuid,
        /// The entry, as read from the ledger.
        entry: Appealed,
        /// The statement.
        statement: String,
        /// Stored attachments.
        attachments: Vec<String>,
        /// Now.
        at: DateTime<Utc>,
        /// The last moment to appeal.
        deadline: DateTime<Utc>,
    },
    /// Decide an appeal.
    Decide {
        /// The appeal.
        appeal_id: Uuid,
        /// Upheld or rejected.
        upheld: bool,
        /// The reason.
        reason: String,
        /// Now.
        at: DateTime<Utc>,
    },
    /// Close a period.
    Close {
        /// `2026-12`, or the season.
        period: String,
        /// The final grade.
        is_final: bool,
        /// The score at its end.
        score: Centipoints,
        /// Whether a veto stood then.
        vetoed: bool,
        /// Its end.
        at: DateTime<Utc>,
    },
    /// Publish a closed period's grade.
    Publish {
        /// `2026-12`, or the season.
        period: String,
        /// Now.
        at: DateTime<Utc>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CreditError {
    /// The entry is not in this ledger.
    #[error("no such entry in this ledger")]
    UnknownEntry,
    /// Only deductions (and vetoes) are appealed.
    #[error("only a deduction or a veto can be appealed")]
    NotADeduction,
    /// One appeal per entry.
    #[error("this entry has already been appealed")]
    AlreadyAppealed,
    /// The window is over.
    #[error("the appeal window closed at {0}")]
    WindowClosed(DateTime<Utc>),
    /// No such appeal.
    #[error("no such appeal")]
    UnknownAppeal,
    /// Decided before.
    #[error("this appeal has already been decided")]
    AlreadyDecided,
    /// Closed before.
    #[error("period {0} is already closed")]
    AlreadyClosed(String),
    /// Only a closed period's grade is published: never a provisional one.
    #[error("period {0} is not closed yet; only a closed period's grade is published")]
    NotClosed(String),
    /// Published before.
    #[error("period {0} is already published")]
    AlreadyPublished(String),
}

/// An appeal as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppealState {
    /// The entry.
    pub entry: Option<Appealed>,
    /// `None` while pending.
    pub upheld: Option<bool>,
}

/// One supplier's ledger in one season.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SupplierCredit {
    /// Every entry id recorded.
    pub entries: HashSet<Uuid>,
    /// The regulator's own entries (adjustments, vetoes), for their reversal.
    pub own: HashMap<Uuid, Entry>,
    /// The sum of entries by scored dimension.
    pub points: [Centipoints; 6],
    /// Vetoes standing.
    pub vetoes: BTreeSet<Uuid>,
    /// Appeals by id.
    pub appeals: HashMap<Uuid, AppealState>,
    /// Entries appealed.
    pub appealed: HashSet<Uuid>,
    /// Periods closed, with the score at their end and whether a veto stood.
    pub closed: BTreeMap<String, (Centipoints, bool)>,
    /// Periods published.
    pub published: BTreeSet<String>,
    /// The provisional grade now, and before the last event.
    pub grade: Option<Grade>,
    /// The grade before the last event.
    pub previous_grade: Option<Grade>,
}

impl SupplierCredit {
    /// The total score (0–100 in centipoints).
    pub fn score(&self) -> Centipoints {
        total(self.points.iter().sum())
    }

    /// The provisional grade.
    pub fn current_grade(&self) -> Grade {
        Grade::of(self.score(), !self.vetoes.is_empty())
    }

    /// Decides a command.
    pub fn decide(&self, command: CreditCommand) -> Result<Vec<CreditEvent>, CreditError> {
        match command {
            CreditCommand::Record(entries) => {
                let mut seen = HashSet::new();
                Ok(entries
                    .into_iter()
                    .filter(|e| !self.entries.contains(&e.entry_id) && seen.insert(e.entry_id))
                    .map(CreditEvent::EntryRecorded)
                    .collect())
            }
            CreditCommand::RecordOwn(entry) => Ok(vec![CreditEvent::EntryRecorded(entry)]),
            CreditCommand::Appeal {
                appeal_id,
                entry,
                statement,
                attachments,
                at,
                deadline,
            } => {
                if !self.entries.contains(&entry.entry_id) {
                    return Err(CreditError::UnknownEntry);
                }
                let veto = entry.rule.starts_with(VETO_PREFIX);
                if entry.points >= 0 && !veto || entry.rule == REVERSAL_RULE {
                    return Err(CreditError::NotADeduction);
                }
                if self.appealed.contains(&entry.entry_id) {
                    return Err(CreditError::AlreadyAppealed);
                }
                if at > deadline {
                    return Err(CreditError::WindowClosed(deadline));
                }
                Ok(vec![CreditEvent::AppealFiled {
                    appeal_id,
                    entry,
                    statement,
                    attachments,
                    at,
                }])
            }
            CreditCommand::Decide {
                appeal_id,
                upheld,
                reason,
                at,
            } => {
                let appeal = self
                    .appeals
                    .get(&appeal_id)
                    .ok_or(CreditError::UnknownAppeal)?;
                if appeal.upheld.is_some() {
                    return Err(CreditError::AlreadyDecided);
                }
                let mut events = vec![CreditEvent::AppealDecided {
                    appeal_id,
                    upheld,
                    reason: reason.clone(),
                    at,
                }];
                // A regulator's own entry is reversed here; a scorer's entry is reversed by
                // the scorer, which sees the decision in the log and leaves its evidence out.
                if let (true, Some(entry)) = (upheld, &appeal.entry)
                    && let Some(own) = self.own.get(&entry.entry_id)
                {
                    events.push(CreditEvent::EntryRecorded(Entry {
                        entry_id: Uuid::new_v5(&appeal_id, b"reversal"),
                        dimension: own.dimension,
                        rule: REVERSAL_RULE.into(),
                        version: String::new(),
                        points: -own.points,
                        evidence: own.evidence.clone(),
                        tickets: own.tickets.clone(),
                        detail: format!("appeal upheld: {reason}"),
                        at,
                        reverses: Some(own.entry_id),
                    }));
                }
                Ok(events)
            }
            CreditCommand::Close {
                period,
                is_final,
                score,
                vetoed,
                at,
            } => {
                if self.closed.contains_key(&period) {
                    return Err(CreditError::AlreadyClosed(period));
                }
                Ok(vec![CreditEvent::PeriodClosed {
                    period,
                    is_final,
                    score,
                    vetoed,
                    at,
                }])
            }
            CreditCommand::Publish { period, at } => {
                let Some((score, vetoed)) = self.closed.get(&period).copied() else {
                    return Err(CreditError::NotClosed(period));
                };
                if self.published.contains(&period) {
                    return Err(CreditError::AlreadyPublished(period));
                }
                Ok(vec![CreditEvent::PeriodPublished {
                    period,
                    score,
                    vetoed,
                    at,
                }])
            }
        }
    }
}

impl Aggregate for SupplierCredit {
    const TYPE: &'static str = "supplier_credit";
    type Command = CreditCommand;
    type Event = CreditEvent;
    type Error = CreditError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.previous_grade = self.grade;
        match event {
            CreditEvent::EntryRecorded(entry) => {
                self.entries.insert(entry.entry_id);
                if let Some(index) = entry.dimension.index() {
                    self.points[index] += entry.points;
                }
                if entry.rule.starts_with(VETO_PREFIX) {
                    self.vetoes.insert(entry.entry_id);
                }
                if let Some(reversed) = entry.reverses {
                    self.vetoes.remove(&reversed);
                }
                if entry.rule.starts_with(VETO_PREFIX) || entry.rule == ADJUSTMENT_RULE {
                    self.own.insert(entry.entry_id, entry);
                }
            }
            CreditEvent::AppealFiled {
                appeal_id, entry, ..
            } => {
                self.appealed.insert(entry.entry_id);
                self.appeals.insert(
                    appeal_id,
                    AppealState {
                        entry: Some(entry),
                        upheld: None,
                    },
                );
            }
            CreditEvent::AppealDecided {
                appeal_id, upheld, ..
            } => {
                self.appeals.entry(appeal_id).or_default().upheld = Some(upheld);
            }
            CreditEvent::PeriodClosed {
                period,
                score,
                vetoed,
                ..
            } => {
                self.closed.insert(period, (score, vetoed));
            }
            CreditEvent::PeriodPublished { period, .. } => {
                self.published.insert(period);
            }
        }
        self.grade = Some(self.current_grade());
    }
}
