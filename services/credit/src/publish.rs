//! What credit tells the world (`proto/heatline/credit/v1`), and what it reads from
//! dispatch's messages (with intake's sensor episodes and merges, and its own appeal decisions)
//! as facts.

use chrono::{DateTime, Utc};
use contracts::credit::v1 as proto;
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use eventstore::{IntegrationEvent, Publish, PublishedEvent};
use uuid::Uuid;

use crate::domain::credit::{CreditEvent, SupplierCredit};
use crate::domain::facts::{Clock, Fact, FactKind, Verdict};
use crate::domain::parse_stream_id;
use crate::domain::values::{Dimension, Grade};

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A moment of a published message (milliseconds since the epoch).
pub(crate) fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Whether `event` holds a message of type `M`.
pub(crate) fn is<M: contracts::Name>(event: &PublishedEvent) -> bool {
    event.message_type == M::full_name()
}

impl From<Dimension> for proto::Dimension {
    fn from(dimension: Dimension) -> Self {
        match dimension {
            Dimension::HeatingQuality => proto::Dimension::HeatingQuality,
            Dimension::SlaPerformance => proto::Dimension::SlaPerformance,
            Dimension::ComplaintRate => proto::Dimension::ComplaintRate,
            Dimension::Satisfaction => proto::Dimension::Satisfaction,
            Dimension::Outages => proto::Dimension::Outages,
            Dimension::DataIntegration => proto::Dimension::DataIntegration,
            Dimension::Veto => proto::Dimension::Veto,
        }
    }
}

impl TryFrom<proto::Dimension> for Dimension {
    type Error = ();
    fn try_from(dimension: proto::Dimension) -> Result<Self, ()> {
        Dimension::SCORED
            .into_iter()
            .chain([Dimension::Veto])
            .find(|d| proto::Dimension::from(*d) == dimension)
            .ok_or(())
    }
}

fn ids(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

impl Publish for SupplierCredit {
    fn publish(&self, stream: &str, event: &CreditEvent) -> Vec<IntegrationEvent> {
        let Some((supplier, season)) = parse_stream_id(stream) else {
            return Vec::new();
        };
        let (supplier_id, season) = (supplier.to_owned(), season.to_string());
        let grade_changed = |status: &str, period: &str, score, vetoed, grade: Grade, when| {
            IntegrationEvent::encode(&proto::GradeChanged {
                supplier_id: supplier_id.clone(),
                season: season.clone(),
                grade: grade.as_str().into(),
                previous_grade: self.previous_grade.map(Grade::as_str).unwrap_or("").into(),
                score,
                status: status.into(),
                period: period.into(),
                vetoed,
                at_ms: millis(when),
            })
        };
        match event {
            CreditEvent::EntryRecorded(entry) => {
                let mut out = vec![IntegrationEvent::encode(&proto::EntryRecorded {
                    entry_id: entry.entry_id.to_string(),
                    supplier_id: supplier_id.clone(),
                    season: season.clone(),
                    dimension: proto::Dimension::from(entry.dimension).into(),
                    rule: entry.rule.clone(),
                    rulebook_version: entry.version.clone(),
                    points: entry.points,
                    evidence_event_ids: ids(&entry.evidence),
                    ticket_ids: entry.tickets.clone(),
                    detail: entry.detail.clone(),
                    at_ms: millis(entry.at),
                    reverses_entry_id: entry.reverses.map(|r| r.to_string()).unwrap_or_default(),
                })];
                if self.grade != self.previous_grade {
                    let grade = self.current_grade();
                    out.push(grade_changed(
                        "provisional",
                        "",
                        self.score(),
                        !self.vetoes.is_empty(),
                        grade,
                        entry.at,
                    ));
                }
                out
            }
            CreditEvent::AppealFiled {
                appeal_id,
                entry,
                statement,
                attachments,
                at,
            } => vec![IntegrationEvent::encode(&proto::AppealFiled {
                appeal_id: appeal_id.to_string(),
                supplier_id,
                season,
                entry_id: entry.entry_id.to_string(),
                statement: statement.clone(),
                attachment_ids: attachments.clone(),
                filed_at_ms: millis(*at),
            })],
            CreditEvent::AppealDecided {
                appeal_id,
                upheld,
                reason,
                at,
            } => {
                let entry = self.appeals.get(appeal_id).and_then(|a| a.entry.clone());
                let Some(entry) = entry else {
                    return Vec::new();
                };
                vec![IntegrationEvent::encode(&proto::AppealDecided {
                    appeal_id: appeal_id.to_string(),
                    supplier_id,
                    season,
                    entry_id: entry.entry_id.to_string(),
                    upheld: *upheld,
                    reason: reason.clone(),
                    decided_at_ms: millis(*at),
                    dimension: proto::Dimension::from(entry.dimension).into(),
                    rule: entry.rule.clone(),
                    evidence_event_ids: ids(&entry.evidence),
                    points: entry.points,
                })]
            }
            CreditEvent::PeriodClosed {
                period,
                is_final,
                score,
                vetoed,
                at,
            } => {
                let status = if *is_final { "final" } else { "monthly" };
                vec![grade_changed(
                    status,
                    period,
                    *score,
                    *vetoed,
                    Grade::of(*score, *vetoed),
                    *at,
                )]
            }
            CreditEvent::PeriodPublished {
                period,
                score,
                vetoed,
                at,
            } => vec![grade_changed(
                "published",
                period,
                *score,
                *vetoed,
                Grade::of(*score, *vetoed),
                *at,
            )],
        }
    }
}

fn uuids(ids: &[String]) -> Vec<Uuid> {
    ids.iter().filter_map(|id| id.parse().ok()).collect()
}

/// Reads a published event as a fact, when credit counts it (`None` otherwise, or when its
/// bytes do not decode: a malformed event is logged and skipped, never fatal).
pub fn fact(event: &PublishedEvent) -> Option<Fact> {
    let kind = fact_kind(event);
    if let Err(error) = &kind {
        tracing::warn!(event.id = %event.event_id, %error, "a published event credit cannot read");
    }
    let (at_ms, kind) = kind.ok()??;
    Some(Fact {
        event_id: event.event_id,
        at: at(at_ms),
        kind,
    })
}

/// The sensor episode an event tells, when it is one (`LowTemperatureDetected`).
pub fn episode(event: &PublishedEvent) -> Option<intake::LowTemperatureDetected> {
    if is::<intake::LowTemperatureDetected>(event) {
        event.decode().ok()
    } else {
        None
    }
}

fn fact_kind(event: &PublishedEvent) -> Result<Option<(i64, FactKind)>, eventstore::DecodeError> {
    let message = event.message_type.as_str();
    let kind = if message == <dispatch::TicketOpened as contracts::Name>::full_name() {
        let m: dispatch::TicketOpened = event.decode()?;
        (
            m.opened_at_ms,
            FactKind::TicketOpened {
                ticket: m.ticket_id,
                incident: m.origin == "incident",
                households: m.households.len() as u32,
                complaint_ids: m.complaint_ids,
            },
        )
    } else if message == <dispatch::ComplaintAttached as contracts::Name>::full_name() {
        let m: dispatch::ComplaintAttached = event.decode()?;
        (
            m.attached_at_ms,
            FactKind::ComplaintAttached {
                ticket: m.ticket_id,
                complaint: m.complaint_id,
            },
        )
    } else if message == <intake::ComplaintMerged as contracts::Name>::full_name() {
        let m: intake::ComplaintMerged = event.decode()?;
        // Only a sensor episode's complaint matters: its hours go where it merged.
        if m.source() != intake::Source::Sensor {
            return Ok(None);
        }
        (
            m.filed_at_ms,
            FactKind::ComplaintMerged {
                complaint: m.complaint_id,
                into: m.into_complaint_id,
            },
        )
    } else if message == <intake::LowTemperatureDetected as contracts::Name>::full_name() {
        let m: intake::LowTemperatureDetected = event.decode()?;
        if m.hours.is_empty() {
            return Ok(None);
        }
        let sum: i64 = m
            .hours
            .iter()
            .map(|h| i64::from(h.mean_tenths_celsius))
            .sum();
        let mean = sum as f64 / m.hours.len() as f64;
        (
            m.detected_at_ms,
            FactKind::SensorEpisode {
                episode: m.episode_id,
                certified: m.certified,
                mean_tenths: mean.round() as i32,
            },
        )
    } else if message == <dispatch::TemperatureMeasured as contracts::Name>::full_name() {
        let m: dispatch::TemperatureMeasured = event.decode()?;
        (
            m.measured_at_ms,
            FactKind::Measured {
                ticket: m.ticket_id,
                supplier: m.supplier_id,
                cycle: m.cycle,
                tenths: m.tenths_celsius,
            },
        )
    } else if message == <dispatch::SlaBreached as contracts::Name>::full_name() {
        let m: dispatch::SlaBreached = event.decode()?;
        let clock = match m.clock() {
            dispatch::Clock::Resident => Clock::Resident,
            dispatch::Clock::Sign => Clock::Sign,
            dispatch::Clock::OnSite => Clock::OnSite,
            dispatch::Clock::Restore => Clock::Restore,
            dispatch::Clock::HotlineFinish => Clock::HotlineFinish,
            dispatch::Clock::Callback => Clock::Callback,
            dispatch::Clock::StopHeatingReply => Clock::StopHeatingReply,
            dispatch::Clock::Unspecified => return Ok(None),
        };
        (
            m.recorded_at_ms,
            FactKind::Breached {
                ticket: m.ticket_id,
                supplier: m.supplier_id,
                cycle: m.cycle,
                clock,
            },
        )
    } else if message == <dispatch::TicketResolved as contracts::Name>::full_name() {
        let m: dispatch::TicketResolved = event.decode()?;
        let supplier_side = m.cause() == dispatch::Cause::Supplier;
        (
            m.resolved_at_ms,
            FactKind::Resolved {
                ticket: m.ticket_id,
                supplier: m.supplier_id,
                cycle: m.cycle,
                supplier_side,
            },
        )
    } else if message == <dispatch::FeedbackGiven as contracts::Name>::full_name() {
        let m: dispatch::FeedbackGiven = event.decode()?;
        let verdict = match m.rating() {
            dispatch::Rating::Satisfied => Verdict::Satisfied,
            dispatch::Rating::BasicallySatisfied => Verdict::BasicallySatisfied,
            dispatch::Rating::Unsatisfied => Verdict::Unsatisfied,
            dispatch::Rating::Unspecified => return Ok(None),
        };
        (
            m.given_at_ms,
            FactKind::Feedback {
                ticket: m.ticket_id,
                supplier: m.supplier_id,
                cycle: m.cycle,
                verdict,
            },
        )
    } else if message == <dispatch::TicketClosed as contracts::Name>::full_name() {
        let m: dispatch::TicketClosed = event.decode()?;
        (
            m.closed_at_ms,
            FactKind::Closed {
                ticket: m.ticket_id,
            },
        )
    } else if message == <proto::AppealDecided as contracts::Name>::full_name() {
        let m: proto::AppealDecided = event.decode()?;
        let Ok(dimension) = Dimension::try_from(m.dimension()) else {
            return Ok(None);
        };
        if !m.upheld {
            return Ok(None);
        }
        let Ok(entry_id) = m.entry_id.parse() else {
            return Ok(None);
        };
        (
            m.decided_at_ms,
            FactKind::AppealUpheld {
                entry_id,
                supplier: m.supplier_id,
                season: m.season,
                dimension,
                rule: m.rule,
                evidence: uuids(&m.evidence_event_ids),
            },
        )
    } else {
        return Ok(None);
    };
    Ok(Some(kind))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use contracts::Message;
    use eventstore::Publish;
    use uuid::Uuid;

    use super::proto;
    use crate::domain::credit::{Appealed, CreditEvent, Entry, SupplierCredit};
    use crate::domain::values::Dimension;

    fn entry() -> Entry {
        Entry {
            entry_id: Uuid::from_u128(7),
            dimension: Dimension::SlaPerformance,
            rule: "sla_performance.breaches".into(),
            version: "2024.1".into(),
            points: -250,
            evidence: vec![Uuid::from_u128(1), Uuid::from_u128(2)],
            tickets: vec!["t1".into()],
            detail: "breaches: sign 1, restore 1".into(),
            at: Utc.with_ymd_and_hms(2026, 12, 10, 4, 0, 0).unwrap(),
            reverses: None,
        }
    }

    #[test]
    fn an_entry_is_published_with_its_evidence_and_a_grade_change_beside_it() {
        let mut credit = SupplierCredit::default();
        let event = CreditEvent::EntryRecorded(entry());
        cqrs_es::Aggregate::apply(&mut credit, event.clone());
        let published = credit.publish("2026-2027/north-heat", &event);
        assert_eq!(published.len(), 2, "the first entry also sets the grade");
        let recorded = proto::EntryRecorded::decode(published[0].payload.as_slice()).unwrap();
        assert_eq!(recorded.supplier_id, "north-heat");
        assert_eq!(recorded.season, "2026-2027");
        assert_eq!(recorded.dimension(), proto::Dimension::SlaPerformance);
        assert_eq!(recorded.points, -250);
        assert_eq!(
            recorded.evidence_event_ids,
            [
                Uuid::from_u128(1).to_string(),
                Uuid::from_u128(2).to_string()
            ]
        );
        assert_eq!(recorded.at_ms, entry().at.timestamp_millis());
        let grade = proto::GradeChanged::decode(published[1].payload.as_slice()).unwrap();
        assert_eq!(
            (grade.grade.as_str(), grade.status.as_str()),
            ("A", "provisional")
        );
        for dimension in Dimension::SCORED.into_iter().chain([Dimension::Veto]) {
            assert_eq!(
                Dimension::try_from(proto::Dimension::from(dimension)),
                Ok(dimension)
            );
        }
    }

    #[test]
    fn an_upheld_appeal_is_read_back_as_the_fact_that_leaves_its_evidence_out() {
        let mut credit = SupplierCredit::default();
        let appeal_id = Uuid::from_u128(9);
        for event in [
            CreditEvent::EntryRecorded(entry()),
            CreditEvent::AppealFiled {
                appeal_id,
                entry: Appealed {
                    entry_id: entry().entry_id,
                    dimension: Dimension::SlaPerformance,
                    rule: entry().rule,
                    points: -250,
                    evidence: entry().evidence,
                },
                statement: "the clock ran while the crew was kept out".into(),
                attachments: Vec::new(),
                at: entry().at,
            },
        ] {
            cqrs_es::Aggregate::apply(&mut credit, event);
        }
        let decided = CreditEvent::AppealDecided {
            appeal_id,
            upheld: true,
            reason: "on the record".into(),
            at: entry().at,
        };
        cqrs_es::Aggregate::apply(&mut credit, decided.clone());
        let published = credit.publish("2026-2027/north-heat", &decided);
        let event = eventstore::PublishedEvent {
            position: eventstore::LogPosition::START,
            event_id: Uuid::from_u128(10),
            message_type: published[0].message_type.clone(),
            payload: published[0].payload.clone(),
            aggregate_type: "supplier_credit".into(),
            aggregate_id: "2026-2027/north-heat".into(),
            sequence: 3,
            metadata: eventstore::EventMetadata::new(
                eventstore::Actor::system(),
                eventstore::Channel::System,
            ),
            recorded_at: entry().at,
        };
        let fact = super::fact(&event).unwrap();
        assert_eq!(
            fact.kind,
            crate::domain::facts::FactKind::AppealUpheld {
                entry_id: entry().entry_id,
                supplier: "north-heat".into(),
                season: "2026-2027".into(),
                dimension: Dimension::SlaPerformance,
                rule: entry().rule,
                evidence: entry().evidence,
            }
        );
    }
}
