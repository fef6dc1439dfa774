//! Given/when/then tests of the ticket: each transition and its refusals, and what it
//! publishes.

use std::sync::Arc;

use chrono::{Duration, TimeZone};
use contracts::Message;
use contracts::dispatch::v1 as proto;
use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;
use eventstore::Publish;

use crate::domain::sla::Sla;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn sla() -> Arc<Sla> {
    Arc::new(Sla::shipped())
}

fn subject(supplier: Option<&str>, hotline: bool) -> Subject {
    Subject {
        origin: "complaint".into(),
        category: "low_temperature".into(),
        priority: "normal".into(),
        place: Place {
            district: Some("heping".into()),
            station: Some("HP-S1".into()),
            building_id: Some("HP-001".into()),
            supplier_id: supplier.map(Into::into),
        },
        hotline_work_order: None,
        hotline,
        filed_at: t0(),
        channel: Some(if hotline { "hotline" } else { "app" }.into()),
    }
}

fn member(n: u32) -> Member {
    Member {
        complaint_id: format!("c-{n}"),
        household: format!("h-{n}"),
        filed_by: format!("resident-{n}"),
    }
}

/// Runs commands from nothing, each at its time, and answers the events so far.
fn history(commands: Vec<TicketCommand>) -> Vec<TicketEvent> {
    history_after(&[], commands)
}

fn open(supplier: Option<&str>) -> TicketCommand {
    TicketCommand::Open {
        subject: subject(supplier, false),
        members: vec![member(1)],
        at: at(0),
    }
}

fn signed() -> Vec<TicketEvent> {
    history(vec![
        open(Some("sup-north")),
        TicketCommand::Sign { at: at(10) },
    ])
}

fn on_site() -> Vec<TicketEvent> {
    let mut events = signed();
    events.extend(history_after(
        &events,
        vec![
            TicketCommand::AssignCrew {
                crew: "crew-7".into(),
                crew_supplier: "sup-north".into(),
                at: at(20),
            },
            TicketCommand::CheckIn {
                latitude: 41.8,
                longitude: 123.4,
                at: at(60),
            },
        ],
    ));
    events
}

/// Runs commands on the ticket that `given` made; answers only the new events.
fn history_after(given: &[TicketEvent], commands: Vec<TicketCommand>) -> Vec<TicketEvent> {
    let sla = sla();
    let mut ticket = state(given);
    let mut events = Vec::new();
    for command in commands {
        for event in ticket.decide(command, &sla).expect("a valid history") {
            ticket.apply(event.clone());
            events.push(event);
        }
    }
    events
}

fn measured(celsius: f64, minutes: i64) -> TicketCommand {
    TicketCommand::Measure {
        tenths: Tenths::from_celsius(celsius).unwrap(),
        room: "bedroom".into(),
        device_id: "THERM-001".into(),
        at: at(minutes),
    }
}

fn state(events: &[TicketEvent]) -> Ticket {
    let mut ticket = Ticket::default();
    for event in events {
        ticket.apply(event.clone());
    }
    ticket
}

#[test]
fn a_routed_complaint_opens_a_ticket_dispatched_to_its_supplier_with_a_30_minute_sign_clock() {
    let events = TestFramework::<Ticket>::with(sla())
        .given_no_previous_events()
        .when(open(Some("sup-north")))
        .inspect_result()
        .unwrap();
    assert_eq!(events.len(), 2);
    let TicketEvent::Dispatched { supplier, sign, .. } = &events[1] else {
        panic!("{events:?}");
    };
    assert_eq!(supplier, "sup-north");
    assert_eq!(sign.deadline, Some(at(30)));
}

#[test]
fn an_unrouted_complaint_waits_for_a_dispatcher_and_a_redelivery_opens_nothing() {
    let events = history(vec![open(None)]);
    assert_eq!(events.len(), 1);
    TestFramework::<Ticket>::with(sla())
        .given(events)
        .when(open(None))
        .then_expect_error(TicketError::AlreadyOpened);
}

#[test]
fn signing_starts_on_site_and_restore_and_for_the_hotline_its_working_day_clock() {
    let ticket = state(&signed());
    assert_eq!(ticket.status, Status::Signed);
    assert_eq!(
        ticket.clock(ClockKind::OnSite).unwrap().deadline,
        Some(at(130))
    );
    assert_eq!(
        ticket.clock(ClockKind::Restore).unwrap().deadline,
        Some(at(10 + 480))
    );
    assert!(ticket.clock(ClockKind::HotlineFinish).is_none());
    assert!(!ticket.clock(ClockKind::Sign).unwrap().is_running());
    let hotline = history(vec![
        TicketCommand::Open {
            subject: subject(Some("sup-north"), true),
            members: vec![member(1)],
            at: at(0),
        },
        TicketCommand::Sign { at: at(10) },
    ]);
    let ticket = state(&hotline);
    // Tuesday 2026-12-01 15:10 China time: five working days end with Tuesday 12-08.
    assert_eq!(
        ticket.clock(ClockKind::HotlineFinish).unwrap().deadline,
        Some(Utc.with_ymd_and_hms(2026, 12, 8, 16, 0, 0).unwrap())
    );
}

#[test]
fn a_return_is_possible_only_before_signing_and_needs_a_reason() {
    TestFramework::<Ticket>::with(sla())
        .given(signed())
        .when(TicketCommand::Return {
            reason: "not our network".into(),
            at: at(20),
        })
        .then_expect_error(TicketError::InvalidTransition {
            action: "return",
            status: "signed",
        });
    TestFramework::<Ticket>::with(sla())
        .given(history(vec![open(Some("sup-north"))]))
        .when(TicketCommand::Return {
            reason: " ".into(),
            at: at(5),
        })
        .then_expect_error(TicketError::ReasonRequired);
}

#[test]
fn a_refused_return_goes_back_to_the_supplier_and_an_approved_one_waits_for_a_dispatch() {
    let returned = history(vec![
        open(Some("sup-north")),
        TicketCommand::Return {
            reason: "the building is sup-east's".into(),
            at: at(5),
        },
    ]);
    let refused = history_after(
        &returned,
        vec![TicketCommand::ReviewReturn {
            approve: false,
            note: "the registry says it is yours".into(),
            at: at(15),
        }],
    );
    let mut all = returned.clone();
    all.extend(refused);
    let ticket = state(&all);
    assert_eq!(ticket.status, Status::Dispatched);
    assert_eq!(
        ticket.clock(ClockKind::Sign).unwrap().deadline,
        Some(at(45))
    );
    let approved = history_after(
        &returned,
        vec![TicketCommand::ReviewReturn {
            approve: true,
            note: String::new(),
            at: at(15),
        }],
    );
    let mut all = returned;
    all.extend(approved);
    let ticket = state(&all);
    assert_eq!(
        (ticket.status, ticket.supplier.as_deref()),
        (Status::Opened, None)
    );
    // The resident's clock kept running through it all.
    assert!(ticket.clock(ClockKind::Resident).unwrap().is_running());
}

#[test]
fn a_crew_of_another_supplier_cannot_be_assigned() {
    TestFramework::<Ticket>::with(sla())
        .given(signed())
        .when(TicketCommand::AssignCrew {
            crew: "crew-9".into(),
            crew_supplier: "sup-east".into(),
            at: at(20),
        })
        .then_expect_error(TicketError::CrewOfAnotherSupplier);
}

#[test]
fn standard_met_needs_a_measurement_of_18_degrees_or_more() {
    let resolve = |standard_met| TicketCommand::Resolve {
        cause: Cause::Supplier,
        standard_met,
        note: "valve replaced".into(),
        at: at(200),
    };
    TestFramework::<Ticket>::with(sla())
        .given(on_site())
        .when(resolve(true))
        .then_expect_error(TicketError::StandardNotMet);
    let mut cold = on_site();
    cold.extend(history_after(&cold, vec![measured(16.0, 70)]));
    TestFramework::<Ticket>::with(sla())
        .given(cold.clone())
        .when(resolve(true))
        .then_expect_error(TicketError::StandardNotMet);
    let mut warm = cold;
    warm.extend(history_after(&warm, vec![measured(19.0, 180)]));
    let events = TestFramework::<Ticket>::with(sla())
        .given(warm)
        .when(resolve(true))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        events[0],
        TicketEvent::Resolved {
            standard_met: true,
            ..
        }
    ));
}

#[test]
fn paused_work_cannot_be_resolved_and_a_pause_moves_the_restore_deadline() {
    let mut events = on_site();
    events.extend(history_after(
        &events,
        vec![TicketCommand::Pause {
            reason: PauseReason::Parts,
            at: at(100),
        }],
    ));
    TestFramework::<Ticket>::with(sla())
        .given(events.clone())
        .when(TicketCommand::Resolve {
            cause: Cause::Supplier,
            standard_met: false,
            note: String::new(),
            at: at(150),
        })
        .then_expect_error(TicketError::Paused);
    events.extend(history_after(
        &events,
        vec![TicketCommand::Resume { at: at(160) }],
    ));
    let ticket = state(&events);
    assert_eq!(
        ticket.clock(ClockKind::Restore).unwrap().deadline,
        Some(at(490 + 60))
    );
}

#[test]
fn a_ticket_gets_one_extension_only() {
    let mut events = signed();
    events.extend(history_after(
        &events,
        vec![
            TicketCommand::RequestExtension {
                days: 3,
                reason: "pipe replacement".into(),
                at: at(30),
            },
            TicketCommand::DecideExtension {
                approve: true,
                note: String::new(),
                at: at(40),
            },
        ],
    ));
    assert_eq!(
        state(&events).clock(ClockKind::Restore).unwrap().deadline,
        Some(at(490) + Duration::days(3))
    );
    TestFramework::<Ticket>::with(sla())
        .given(events)
        .when(TicketCommand::RequestExtension {
            days: 1,
            reason: "again".into(),
            at: at(50),
        })
        .then_expect_error(TicketError::ExtensionUsed);
    TestFramework::<Ticket>::with(sla())
        .given(signed())
        .when(TicketCommand::RequestExtension {
            days: 11,
            reason: "too long".into(),
            at: at(50),
        })
        .then_expect_error(TicketError::ExtensionTooLong(10));
}

fn resolved() -> Vec<TicketEvent> {
    let mut events = on_site();
    events.extend(history_after(
        &events,
        vec![
            measured(19.5, 90),
            TicketCommand::Resolve {
                cause: Cause::Supplier,
                standard_met: true,
                note: "balanced the riser".into(),
                at: at(120),
            },
        ],
    ));
    events
}

#[test]
fn unsatisfied_feedback_reopens_as_a_new_cycle_and_satisfied_closes() {
    let reopened = TestFramework::<Ticket>::with(sla())
        .given(resolved())
        .when(TicketCommand::GiveFeedback {
            rating: Rating::Unsatisfied,
            comment: "cold again".into(),
            resident: None,
            at: at(300),
        })
        .inspect_result()
        .unwrap();
    let mut all = resolved();
    all.extend(reopened);
    let ticket = state(&all);
    assert_eq!((ticket.status, ticket.cycle), (Status::Dispatched, 2));
    assert_eq!(ticket.clock(ClockKind::Sign).unwrap().cycle, 2);
    assert!(
        ticket.last_measurement().is_none(),
        "a new cycle needs new measurements"
    );
    assert!(ticket.clock(ClockKind::Resident).unwrap().is_running());
    let closed = history_after(
        &resolved(),
        vec![TicketCommand::GiveFeedback {
            rating: Rating::Satisfied,
            comment: String::new(),
            resident: Some("resident-1".into()),
            at: at(300),
        }],
    );
    let mut all = resolved();
    all.extend(closed);
    let ticket = state(&all);
    assert_eq!(ticket.status, Status::Closed);
    assert!(!ticket.clock(ClockKind::Resident).unwrap().is_running());
}

#[test]
fn a_merged_filer_records_their_own_verdict_once_and_decides_nothing() {
    let mut given = resolved();
    given.extend(history_after(
        &given,
        vec![TicketCommand::Attach {
            member: member(2),
            at: at(130),
        }],
    ));
    let verdict = |n: u32, rating| TicketCommand::GiveFeedback {
        rating,
        comment: String::new(),
        resident: Some(format!("resident-{n}")),
        at: at(300),
    };
    let own = history_after(&given, vec![verdict(2, Rating::Unsatisfied)]);
    assert!(matches!(
        own.as_slice(),
        [TicketEvent::MemberVerdictGiven { complaint_id, cycle: 1, rating: Rating::Unsatisfied, .. }]
            if complaint_id == "c-2"
    ));
    let mut all = given.clone();
    all.extend(own);
    assert_eq!(state(&all).status, Status::Resolved, "nothing reopened");
    TestFramework::<Ticket>::with(sla())
        .given(all.clone())
        .when(verdict(2, Rating::Satisfied))
        .then_expect_error(TicketError::AlreadyRated);
    TestFramework::<Ticket>::with(sla())
        .given(all.clone())
        .when(verdict(9, Rating::Unsatisfied))
        .then_expect_error(TicketError::NotAParty);
    // The reporter decides; the merged filer may still give theirs after the closing.
    let decided = history_after(&given, vec![verdict(1, Rating::Satisfied)]);
    let mut closed = given.clone();
    closed.extend(decided);
    assert_eq!(state(&closed).status, Status::Closed);
    let late = history_after(&closed, vec![verdict(2, Rating::Satisfied)]);
    assert!(matches!(
        late.as_slice(),
        [TicketEvent::MemberVerdictGiven { .. }]
    ));
}

#[test]
fn a_breach_is_recorded_once_and_only_after_the_deadline() {
    let given = history(vec![open(Some("sup-north"))]);
    let breach = |minutes| TicketCommand::RecordBreach {
        clock: ClockKind::Sign,
        at: at(minutes),
    };
    TestFramework::<Ticket>::with(sla())
        .given(given.clone())
        .when(breach(29))
        .then_expect_error(TicketError::NothingToBreach);
    let events = history_after(&given, vec![breach(45)]);
    assert_eq!(
        events,
        vec![TicketEvent::SlaBreached {
            clock: ClockKind::Sign,
            cycle: 1,
            deadline: at(30),
            at: at(45),
        }]
    );
    let mut all = given;
    all.extend(events);
    TestFramework::<Ticket>::with(sla())
        .given(all.clone())
        .when(breach(50))
        .then_expect_error(TicketError::NothingToBreach);
    let ticket = state(&all);
    let published = ticket.publish("t-1", &all[2]);
    let message = proto::SlaBreached::decode(published[0].payload.as_slice()).unwrap();
    assert_eq!(message.late_by_ms, 15 * 60 * 1000);
    assert_eq!(message.target, "30 min");
    assert_eq!(message.supplier_id, "sup-north");
}

#[test]
fn work_that_began_cannot_be_cancelled_by_a_withdrawal() {
    TestFramework::<Ticket>::with(sla())
        .given(signed())
        .when(TicketCommand::Cancel {
            reason: "withdrawn".into(),
            at: at(30),
        })
        .then_expect_error(TicketError::InvalidTransition {
            action: "cancel",
            status: "signed",
        });
}

#[test]
fn the_opening_is_published_with_its_complaints_and_households() {
    let events = history(vec![open(Some("sup-north"))]);
    let ticket = state(&events[..1]);
    let published = ticket.publish("t-1", &events[0]);
    assert_eq!(
        published[0].message_type,
        "heatline.dispatch.v1.TicketOpened"
    );
    let message = proto::TicketOpened::decode(published[0].payload.as_slice()).unwrap();
    assert_eq!(message.complaint_ids, vec!["c-1"]);
    assert_eq!(message.households, vec!["h-1"]);
    assert_eq!(
        message.category,
        contracts::intake::v1::Category::LowTemperature as i32
    );
    assert_eq!(message.route.unwrap().supplier_id, "sup-north");
}
