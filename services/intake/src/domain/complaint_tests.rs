//! Given/when/then tests of the complaint aggregate and of what it publishes.

use chrono::TimeZone;
use contracts::Message;
use contracts::intake::v1 as proto;
use cqrs_es::test::TestFramework;
use eventstore::Publish;

use super::*;
use crate::domain::values::Pseudonyms;
use secrets::DataKey;

const KEY_ID: uuid::Uuid = uuid::Uuid::from_u128(1);

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 7, 30, 0).unwrap()
}

/// One filing for every test (sealing draws a fresh nonce each time: a second sealing would
/// not equal the first).
fn details() -> ComplaintDetails {
    static DETAILS: std::sync::OnceLock<ComplaintDetails> = std::sync::OnceLock::new();
    DETAILS.get_or_init(sealed_details).clone()
}

fn sealed_details() -> ComplaintDetails {
    let account = HeatingAccountNo::parse("HL20240001").unwrap();
    ComplaintDetails {
        category: Category::LowTemperature,
        priority: Priority::Normal,
        source: Source::App,
        household: Pseudonyms::new([7; 32]).of_account(&account),
        route: Route {
            building_id: Some("B-1".into()),
            station: Some("S-1".into()),
            district: Some("heping".into()),
            supplier_id: Some("sup-1".into()),
        },
        reading: Celsius::parse(15.5),
        personal: Personal::seal(
            KEY_ID,
            &DataKey::from_bytes(&[9; 32]),
            Contact {
                account: Some(account),
                description: "radiators lukewarm".into(),
                contact_phone: Some("13800138000".into()),
                ..Contact::default()
            },
        ),
        filer: "resident-1".into(),
        hotline_work_order: Some("WO-1".into()),
    }
}

fn accepted() -> ComplaintEvent {
    ComplaintEvent::Accepted {
        details: Box::new(details()),
        fingerprint: "f".into(),
        joins_incident: None,
        at: at(),
    }
}

fn file(merge_into: Option<&str>) -> ComplaintCommand {
    ComplaintCommand::File {
        details: Box::new(details()),
        fingerprint: "f".into(),
        merge_into: merge_into.map(str::to_owned),
        open_incident: None,
        at: at(),
    }
}

#[test]
fn a_cold_home_filed_under_an_open_incident_joins_it_and_says_so() {
    let under = |details: ComplaintDetails, merge_into: Option<&str>| ComplaintCommand::File {
        details: Box::new(details),
        fingerprint: "f".into(),
        merge_into: merge_into.map(str::to_owned),
        open_incident: Some("i-1".into()),
        at: at(),
    };
    let event = Complaint::default().decide(under(details(), None)).unwrap();
    assert_eq!(
        event,
        ComplaintEvent::Accepted {
            details: Box::new(details()),
            fingerprint: "f".into(),
            joins_incident: Some("i-1".into()),
            at: at(),
        }
    );
    let mut state = Complaint::default();
    cqrs_es::Aggregate::apply(&mut state, event.clone());
    assert_eq!(state.incident_id(), Some("i-1"));
    let published = Complaint::default().publish("c-1", &event);
    let accepted = proto::ComplaintAccepted::decode(published[0].payload.as_slice()).unwrap();
    assert_eq!(accepted.joins_incident_id, "i-1");
    // A leak is not a cold home: it stands alone.
    let leak = ComplaintDetails {
        category: Category::Leak,
        ..details()
    };
    let event = Complaint::default().decide(under(leak, None)).unwrap();
    assert!(matches!(
        event,
        ComplaintEvent::Accepted {
            joins_incident: None,
            ..
        }
    ));
    // Nor does a home the registry could not place.
    let unplaced = ComplaintDetails {
        route: Route::default(),
        ..details()
    };
    let event = Complaint::default().decide(under(unplaced, None)).unwrap();
    assert!(matches!(
        event,
        ComplaintEvent::Accepted {
            joins_incident: None,
            ..
        }
    ));
    // A repeat goes to the household's own complaint, not to the incident.
    let event = Complaint::default()
        .decide(under(details(), Some("c-0")))
        .unwrap();
    assert!(matches!(event, ComplaintEvent::Merged { .. }));
}

#[test]
fn an_acceptance_stored_before_incidents_were_looked_for_still_reads() {
    let stored = serde_json::to_value(accepted()).unwrap();
    assert!(stored["Accepted"].get("joins_incident").is_none());
    let read: ComplaintEvent = serde_json::from_value(stored).unwrap();
    assert_eq!(read, accepted());
}

#[test]
fn a_new_filing_is_accepted_and_a_second_one_refused() {
    TestFramework::<Complaint>::with(())
        .given_no_previous_events()
        .when(file(None))
        .then_expect_events(vec![accepted()]);
    TestFramework::<Complaint>::with(())
        .given(vec![accepted()])
        .when(file(None))
        .then_expect_error(ComplaintError::AlreadyFiled);
}

#[test]
fn a_filing_with_an_open_household_complaint_is_merged() {
    TestFramework::<Complaint>::with(())
        .given_no_previous_events()
        .when(file(Some("c-0")))
        .then_expect_events(vec![ComplaintEvent::Merged {
            into: "c-0".into(),
            details: Box::new(details()),
            fingerprint: "f".into(),
            at: at(),
        }]);
}

#[test]
fn a_signed_complaint_cannot_be_withdrawn_but_an_open_one_can() {
    let withdraw = || ComplaintCommand::Withdraw {
        reason: "it is warm now".into(),
        at: at(),
    };
    TestFramework::<Complaint>::with(())
        .given(vec![accepted(), ComplaintEvent::Signed { at: at() }])
        .when(withdraw())
        .then_expect_error(ComplaintError::AlreadySigned);
    TestFramework::<Complaint>::with(())
        .given(vec![accepted()])
        .when(withdraw())
        .then_expect_events(vec![ComplaintEvent::Withdrawn {
            reason: "it is warm now".into(),
            at: at(),
        }]);
    TestFramework::<Complaint>::with(())
        .given(vec![
            accepted(),
            ComplaintEvent::Withdrawn {
                reason: String::new(),
                at: at(),
            },
        ])
        .when(withdraw())
        .then_expect_error(ComplaintError::NotOpen(Status::Withdrawn));
}

#[test]
fn a_rejection_needs_a_reason_and_a_routed_complaint_is_not_rerouted() {
    TestFramework::<Complaint>::with(())
        .given(vec![accepted()])
        .when(ComplaintCommand::Reject {
            reason: "  ".into(),
            at: at(),
        })
        .then_expect_error(ComplaintError::ReasonRequired);
    TestFramework::<Complaint>::with(())
        .given(vec![accepted()])
        .when(ComplaintCommand::Route {
            route: Route::default(),
            at: at(),
        })
        .then_expect_error(ComplaintError::AlreadyRouted);
    TestFramework::<Complaint>::with(())
        .given_no_previous_events()
        .when(ComplaintCommand::RecordSigned { at: at() })
        .then_expect_error(ComplaintError::NotFiled);
}

#[test]
fn acceptance_publishes_the_routing_without_personal_data() {
    let published = Complaint::default().publish("c-1", &accepted());
    assert_eq!(published.len(), 1);
    let message = proto::ComplaintAccepted::decode(published[0].payload.as_slice()).unwrap();
    assert_eq!(message.complaint_id, "c-1");
    assert_eq!(message.category(), proto::Category::LowTemperature);
    assert_eq!(message.reported_tenths_celsius, Some(155));
    assert_eq!(message.household, details().household.as_str());
    assert_eq!(message.filed_at_ms, at().timestamp_millis());
    let route = message.route.unwrap();
    assert_eq!(Route::from(&route), details().route);
    let bytes = published[0].payload.clone();
    assert!(!String::from_utf8_lossy(&bytes).contains("13800138000"));
    assert_eq!(
        Category::try_from(proto::Category::Leak),
        Ok(Category::Leak)
    );
}

#[test]
fn a_withdrawal_names_the_work_order_for_the_platform() {
    let mut complaint = Complaint::default();
    complaint.apply(accepted());
    let published = complaint.publish(
        "c-1",
        &ComplaintEvent::Withdrawn {
            reason: "warm".into(),
            at: at(),
        },
    );
    let message = proto::ComplaintWithdrawn::decode(published[0].payload.as_slice()).unwrap();
    assert_eq!(message.hotline_work_order, "WO-1");
}
