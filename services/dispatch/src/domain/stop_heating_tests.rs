use chrono::{DateTime, Utc};
use cqrs_es::test::TestFramework;

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn filed(kind: Kind) -> Filed {
    Filed {
        kind,
        season: "2027-2028".into(),
        household: "hh-acct-1".into(),
        building_id: "B-1".into(),
        district: "碑林区".into(),
        supplier_id: "S-1".into(),
        reason: "vacant".into(),
        filed_by: "resident-1".into(),
        applied_at: at("2027-10-08T02:00:00Z"),
        reply_by: at("2027-10-14T16:00:00Z"),
        reply_target: "5 working days".into(),
    }
}

fn opened(kind: Kind) -> Vec<CaseEvent> {
    vec![CaseEvent::CaseOpened { filed: filed(kind) }]
}

type Case = TestFramework<StopHeatingCase>;

#[test]
fn an_approval_names_a_crew_of_the_supplier_and_the_crew_seals_once() {
    Case::with(())
        .given(opened(Kind::Stop))
        .when(CaseCommand::Approve {
            crew: "crew-1".into(),
            crew_supplier: Some("S-2".into()),
            note: String::new(),
            at: at("2027-10-09T02:00:00Z"),
        })
        .then_expect_error(CaseError::CrewOfAnotherSupplier);
    let approved = CaseEvent::CaseApproved {
        crew: "crew-1".into(),
        note: "we come on Monday".into(),
        at: at("2027-10-09T02:00:00Z"),
    };
    Case::with(())
        .given(opened(Kind::Stop))
        .when(CaseCommand::Approve {
            crew: "crew-1".into(),
            crew_supplier: Some("S-1".into()),
            note: "we come on Monday".into(),
            at: at("2027-10-09T02:00:00Z"),
        })
        .then_expect_events(vec![approved.clone()]);
    let mut given = opened(Kind::Stop);
    given.push(approved);
    let work = |crew: &str| CaseCommand::CompleteValveWork {
        crew: crew.into(),
        photo_sha256: "ab".repeat(32),
        base_fee_share_pct: 30,
        at: at("2027-10-12T02:00:00Z"),
    };
    Case::with(())
        .given(given.clone())
        .when(work("crew-2"))
        .then_expect_error(CaseError::NotYourJob);
    let done = CaseEvent::ValveWorkDone {
        crew: "crew-1".into(),
        photo_sha256: "ab".repeat(32),
        base_fee_share_pct: 30,
        at: at("2027-10-12T02:00:00Z"),
    };
    Case::with(())
        .given(given.clone())
        .when(work("crew-1"))
        .then_expect_events(vec![done.clone()]);
    given.push(done);
    Case::with(())
        .given(given)
        .when(work("crew-1"))
        .then_expect_error(CaseError::NotApproved);
}

#[test]
fn a_cap_refusal_stands_only_once_the_building_reached_its_cap() {
    let refuse = |share| CaseCommand::Refuse {
        refusal: Refusal::BuildingCap,
        note: String::new(),
        share,
        at: at("2027-10-09T02:00:00Z"),
    };
    Case::with(())
        .given(opened(Kind::Stop))
        .when(refuse(Some(BuildingShare {
            stopping: 2,
            cap: 3,
        })))
        .then_expect_error(CaseError::CapNotReached {
            stopping: 2,
            cap: 3,
        });
    Case::with(())
        .given(opened(Kind::Stop))
        .when(refuse(None))
        .then_expect_error(CaseError::CapUnknown);
    Case::with(())
        .given(opened(Kind::Restore))
        .when(refuse(Some(BuildingShare {
            stopping: 9,
            cap: 3,
        })))
        .then_expect_error(CaseError::CapOnRestore);
    Case::with(())
        .given(opened(Kind::Stop))
        .when(refuse(Some(BuildingShare {
            stopping: 3,
            cap: 3,
        })))
        .then_expect_events(vec![CaseEvent::CaseRefused {
            refusal: Refusal::BuildingCap,
            note: String::new(),
            at: at("2027-10-09T02:00:00Z"),
        }]);
}

#[test]
fn the_reply_deadline_is_breached_once_and_only_while_no_reply_came() {
    let breach = |when| CaseCommand::RecordBreach { at: at(when) };
    Case::with(())
        .given(opened(Kind::Stop))
        .when(breach("2027-10-14T15:59:59Z"))
        .then_expect_error(CaseError::NothingToBreach);
    Case::with(())
        .given(opened(Kind::Stop))
        .when(breach("2027-10-14T16:00:00Z"))
        .then_expect_events(vec![CaseEvent::ReplyBreached {
            at: at("2027-10-14T16:00:00Z"),
        }]);
    let mut given = opened(Kind::Stop);
    given.push(CaseEvent::ReplyBreached {
        at: at("2027-10-14T16:00:00Z"),
    });
    Case::with(())
        .given(given.clone())
        .when(breach("2027-10-15T16:00:00Z"))
        .then_expect_error(CaseError::NothingToBreach);
    // A late reply is still a reply.
    Case::with(())
        .given(given.clone())
        .when(CaseCommand::Refuse {
            refusal: Refusal::Arrears,
            note: "2026-2027 unpaid".into(),
            share: None,
            at: at("2027-10-16T02:00:00Z"),
        })
        .then_expect_events(vec![CaseEvent::CaseRefused {
            refusal: Refusal::Arrears,
            note: "2026-2027 unpaid".into(),
            at: at("2027-10-16T02:00:00Z"),
        }]);
    given.push(CaseEvent::CaseRefused {
        refusal: Refusal::Arrears,
        note: String::new(),
        at: at("2027-10-16T02:00:00Z"),
    });
    Case::with(())
        .given(given)
        .when(CaseCommand::Approve {
            crew: "crew-1".into(),
            crew_supplier: Some("S-1".into()),
            note: String::new(),
            at: at("2027-10-16T03:00:00Z"),
        })
        .then_expect_error(CaseError::AlreadyReplied);
}
