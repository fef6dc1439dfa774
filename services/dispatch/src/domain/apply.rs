//! How a ticket's events change it (`apply`, which cannot fail), and `handle`, which runs the
//! decisions of `decide.rs`.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;

use crate::domain::clock::{ClockKind, ClockRun, Start};
use crate::domain::sla::Sla;
use crate::domain::ticket::{
    Extension, Measurement, Status, Ticket, TicketCommand, TicketError, TicketEvent,
};

impl Aggregate for Ticket {
    const TYPE: &'static str = "ticket";
    type Command = TicketCommand;
    type Event = TicketEvent;
    type Error = TicketError;
    type Services = std::sync::Arc<Sla>;

    async fn handle(
        &mut self,
        command: Self::Command,
        sla: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, sla)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use TicketEvent::*;
        match event {
            Opened {
                subject,
                members,
                resident,
                ..
            } => {
                self.status = Status::Opened;
                self.cycle = 1;
                let filed_at = subject.filed_at;
                self.subject = Some(subject);
                self.members = members.into_iter().map(std::sync::Arc::new).collect();
                self.clocks.push(ClockRun::start(&resident, 1, filed_at));
            }
            ComplaintAttached { member, .. } => self.members.push_back(std::sync::Arc::new(member)),
            Routed { place, .. } => {
                if let Some(subject) = self.subject.as_mut() {
                    subject.place = place;
                }
            }
            Dispatched { supplier, sign, at } => {
                self.status = Status::Dispatched;
                self.supplier = Some(supplier);
                self.start(&sign, at);
            }
            Signed { clocks, at } => {
                self.status = Status::Signed;
                self.stop(ClockKind::Sign, at);
                for start in &clocks {
                    self.start(start, at);
                }
            }
            Returned { at, .. } => {
                self.status = Status::Returned;
                self.stop(ClockKind::Sign, at);
            }
            ReturnReviewed { sign, at, .. } => match sign {
                Some(sign) => {
                    self.status = Status::Dispatched;
                    self.start(&sign, at);
                }
                None => {
                    self.status = Status::Opened;
                    self.supplier = None;
                }
            },
            CrewAssigned { crew, .. } => {
                self.crew = Some(crew);
                if self.status != Status::OnSite {
                    self.status = Status::CrewAssigned;
                }
            }
            CheckedIn { at, .. } => {
                self.status = Status::OnSite;
                self.stop(ClockKind::OnSite, at);
            }
            TemperatureMeasured {
                tenths,
                room,
                device_id,
                at,
            } => {
                self.stop(ClockKind::OnSite, at);
                self.measurements.push(Measurement {
                    tenths,
                    room,
                    device_id,
                    at,
                    cycle: self.cycle,
                });
            }
            Paused { reason, at } => {
                self.paused = Some((reason, at));
                for run in self.clocks.iter_mut() {
                    run.pause(at);
                }
            }
            Resumed { at } => {
                self.paused = None;
                for run in self.clocks.iter_mut() {
                    run.resume(at);
                }
            }
            ExtensionRequested { days, .. } => self.extension = Extension::Requested { days },
            ExtensionDecided {
                approved,
                deadlines,
                ..
            } => {
                if approved {
                    let days = match self.extension {
                        Extension::Requested { days } => days,
                        _ => 0,
                    };
                    self.extension = Extension::Granted { days };
                    for (kind, deadline) in deadlines {
                        if let Some(run) = self.clock_mut(kind) {
                            run.deadline = Some(deadline);
                        }
                    }
                } else {
                    self.extension = Extension::Refused;
                }
            }
            Supervised { .. } => self.supervisions += 1,
            Resolved {
                cause,
                callback,
                at,
                ..
            } => {
                self.status = Status::Resolved;
                self.cause = Some(cause);
                self.paused = None;
                for kind in [
                    ClockKind::OnSite,
                    ClockKind::Restore,
                    ClockKind::HotlineFinish,
                ] {
                    self.stop(kind, at);
                }
                self.start(&callback, at);
            }
            FeedbackGiven { rating, at, .. } => {
                self.feedback.push(rating);
                self.stop(ClockKind::Callback, at);
            }
            MemberVerdictGiven {
                complaint_id,
                cycle,
                ..
            } => self.member_verdicts.push((complaint_id, cycle)),
            Reopened { cycle, sign, at } => {
                self.cycle = cycle;
                self.status = Status::Dispatched;
                self.crew = None;
                self.cause = None;
                self.start(&sign, at);
            }
            Closed {
                outcome, into, at, ..
            } => {
                self.status = Status::Closed;
                self.outcome = Some(outcome);
                self.merged_into = into;
                self.paused = None;
                for kind in ClockKind::ALL {
                    self.stop(kind, at);
                }
            }
            SlaBreached { clock, at, .. } => {
                if let Some(run) = self.clock_mut(clock) {
                    run.breached_at = Some(at);
                }
            }
        }
    }
}

impl Ticket {
    fn clock_mut(&mut self, kind: ClockKind) -> Option<&mut ClockRun> {
        self.clocks.iter_mut().rev().find(|c| c.kind == kind)
    }

    fn stop(&mut self, kind: ClockKind, at: DateTime<Utc>) {
        if let Some(run) = self.clock_mut(kind) {
            run.stop(at);
        }
    }

    fn start(&mut self, start: &Start, at: DateTime<Utc>) {
        self.stop(start.kind, at);
        self.clocks.push(ClockRun::start(start, self.cycle, at));
    }
}
