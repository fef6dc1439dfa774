//! Refunds over real HTTP, from dispatch's published messages: a cold household's days
//! accrued under Xi'an's rules (a reopened repair, an incident that reaches a neighbour who
//! never called, a resident-side cause that counts for nothing), published as
//! `RefundAccrued`, read by the resident, the supplier and the regulator, counted once when
//! the log is handled again, and counted under Harbin's rules in a what-if; certified room
//! sensors' hours standing in for a crew's measurement under Xi'an's 2027 rules.

mod season;
mod sensors;
#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use credit::refunds::households::Household;
use identity::domain::account::Scope;
use platform::auth::Role;
use serde_json::Value;
use support::Harness;

/// Milliseconds of a China-time moment in December 2026.
fn dec(day: u32, hour: u32) -> i64 {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .single()
        .unwrap()
        .timestamp_millis()
}

fn home(household: &str, building: &str) -> Household {
    Household {
        household: household.into(),
        building_id: building.into(),
        district: "heping".into(),
        supplier_id: "north-heat".into(),
        // 80 m² at 23.40 yuan a season: 1,547.107 fen a day over Xi'an's 121 days.
        area_centi_m2: 8_000,
        price_fen_per_m2: 2_340,
    }
}

fn route(building: &str) -> Option<intake::Route> {
    Some(intake::Route {
        routed: true,
        building_id: building.into(),
        station: "heping-s1".into(),
        district: "heping".into(),
        supplier_id: "north-heat".into(),
    })
}

async fn opened(
    h: &Harness,
    ticket: &str,
    incident: bool,
    no_heat: bool,
    households: &[&str],
    filed: i64,
) {
    let category = if no_heat {
        intake::Category::NoHeat
    } else {
        intake::Category::LowTemperature
    };
    h.publish(
        ticket,
        &dispatch::TicketOpened {
            ticket_id: ticket.into(),
            origin: if incident { "incident" } else { "complaint" }.into(),
            households: households.iter().map(|s| s.to_string()).collect(),
            category: category.into(),
            route: route("b1"),
            filed_at_ms: filed,
            opened_at_ms: filed,
            ..Default::default()
        },
    )
    .await;
}

async fn measured(h: &Harness, ticket: &str, cycle: u32, at: i64, tenths: i32) {
    h.publish(
        ticket,
        &dispatch::TemperatureMeasured {
            ticket_id: ticket.into(),
            supplier_id: "north-heat".into(),
            tenths_celsius: tenths,
            measured_at_ms: at,
            standard_met: tenths >= 180,
            cycle,
            ..Default::default()
        },
    )
    .await;
}

async fn resolved(
    h: &Harness,
    ticket: &str,
    cycle: u32,
    at: i64,
    cause: dispatch::Cause,
    households: &[&str],
) {
    h.publish(
        ticket,
        &dispatch::TicketResolved {
            ticket_id: ticket.into(),
            supplier_id: "north-heat".into(),
            cause: cause.into(),
            resolved_at_ms: at,
            cycle,
            households: households.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
    .await;
}

async fn accrued(h: &Harness) {
    let head = h.store.published_head().await.unwrap();
    let background = h.background.as_ref().unwrap();
    assert!(
        background
            .refund_accruals
            .wait_for(head, Duration::from_secs(20))
            .await,
        "the refund accruals caught up"
    );
}

/// Waits until the recount sweep has counted every registered household.
async fn swept(h: &Harness) {
    testkit::api::eventually("the recount swept the registry", || async {
        let client = h.store.pool().get().await.unwrap();
        let due: i64 = client
            .query_one(
                "SELECT count(*) FROM credit.refund_household \
                 WHERE counted_at IS DISTINCT FROM imported_at",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        due == 0
    })
    .await;
}

async fn accrual_events(h: &Harness) -> i64 {
    let client = h.store.pool().get().await.unwrap();
    client
        .query_one(
            "SELECT count(*) FROM eventstore.published_event \
             WHERE message_type = 'heatline.credit.v1.RefundAccrued'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

fn days(statement: &Value) -> Vec<(String, String, u64, i64)> {
    statement["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
                d["share_pct"].as_u64().unwrap(),
                d["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect()
}
