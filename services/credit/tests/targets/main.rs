//! The targets board over a season built by hand: every figure, its windows and scopes, the
//! trend and the tickets behind a figure, checked against numbers worked out here.

mod batches;
mod drilldown;
#[path = "../support/mod.rs"]
mod support;

use chrono::{DateTime, Utc};
use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use serde_json::Value;
use support::Harness;

/// Milliseconds of an RFC 3339 moment.
fn at(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
        .timestamp_millis()
}

fn route(district: &str, supplier: &str) -> Option<intake::Route> {
    Some(intake::Route {
        routed: true,
        building_id: format!("{district}-b1"),
        station: format!("{district}-s1"),
        district: district.into(),
        supplier_id: supplier.into(),
    })
}

async fn complaint(h: &Harness, id: &str, district: &str, supplier: &str, filed: &str) {
    h.publish(
        id,
        &intake::ComplaintAccepted {
            complaint_id: id.into(),
            category: intake::Category::LowTemperature.into(),
            source: intake::Source::App.into(),
            household: format!("household-{id}"),
            route: route(district, supplier),
            filed_at_ms: at(filed),
            ..Default::default()
        },
    )
    .await;
}

async fn ticket(
    h: &Harness,
    id: &str,
    district: &str,
    supplier: &str,
    opened: &str,
    incident: bool,
) {
    h.publish(
        id,
        &dispatch::TicketOpened {
            ticket_id: id.into(),
            origin: if incident { "incident" } else { "complaint" }.into(),
            complaint_ids: vec![format!("{id}-c")],
            households: vec![format!("{id}-h")],
            category: intake::Category::NoHeat.into(),
            route: route(district, supplier),
            opened_at_ms: at(opened),
            filed_at_ms: at(opened),
            ..Default::default()
        },
    )
    .await;
    h.publish(
        id,
        &dispatch::TicketDispatched {
            ticket_id: id.into(),
            supplier_id: supplier.into(),
            cycle: 1,
            dispatched_at_ms: at(opened),
            sign_deadline_ms: at(opened) + 30 * 60_000,
        },
    )
    .await;
}

async fn signed(h: &Harness, id: &str, supplier: &str, when: &str) {
    h.publish(
        id,
        &dispatch::TicketSigned {
            ticket_id: id.into(),
            supplier_id: supplier.into(),
            cycle: 1,
            signed_at_ms: at(when),
        },
    )
    .await;
}

async fn resolved(h: &Harness, id: &str, supplier: &str, when: &str) {
    h.publish(
        id,
        &dispatch::TicketResolved {
            ticket_id: id.into(),
            supplier_id: supplier.into(),
            cause: dispatch::Cause::Supplier.into(),
            standard_met: true,
            resolved_at_ms: at(when),
            cycle: 1,
            households: vec![format!("{id}-h")],
        },
    )
    .await;
}

async fn measured(h: &Harness, id: &str, supplier: &str, when: &str, tenths: i32) {
    h.publish(
        id,
        &dispatch::TemperatureMeasured {
            ticket_id: id.into(),
            supplier_id: supplier.into(),
            tenths_celsius: tenths,
            room: "卧室".into(),
            device_id: "T-1".into(),
            measured_at_ms: at(when),
            standard_met: tenths >= 180,
            cycle: 1,
        },
    )
    .await;
}

/// The season: now is 08:00 on Thursday 10 December 2026 (China time), so the week runs from
/// Monday 7 December 00:00 (6 December 16:00 UTC).
async fn season(h: &Harness) {
    complaint(h, "c1", "和平区", "north-heat", "2026-11-20T00:00:00Z").await;
    h.publish(
        "c4",
        &intake::ComplaintMerged {
            complaint_id: "c4".into(),
            into_complaint_id: "c1".into(),
            category: intake::Category::LowTemperature.into(),
            source: intake::Source::HotlineOperator.into(),
            // The same home calling again.
            household: "household-c1".into(),
            filed_at_ms: at("2026-11-21T00:00:00Z"),
            ..Default::default()
        },
    )
    .await;
    complaint(h, "c2", "和平区", "north-heat", "2026-12-08T00:00:00Z").await;
    complaint(h, "c3", "大东区", "east-heat", "2026-12-09T00:00:00Z").await;
    complaint(h, "c5", "大东区", "east-heat", "2026-12-09T01:00:00Z").await;
    h.publish(
        "c5",
        &intake::ComplaintRejected {
            complaint_id: "c5".into(),
            reason: "not a heating matter".into(),
            rejected_at_ms: at("2026-12-09T02:00:00Z"),
            ..Default::default()
        },
    )
    .await;

    // t1: signed in 10 minutes, restored in 4 hours, closed.
    ticket(
        h,
        "t1",
        "和平区",
        "north-heat",
        "2026-11-20T00:00:00Z",
        false,
    )
    .await;
    signed(h, "t1", "north-heat", "2026-11-20T00:10:00Z").await;
    measured(h, "t1", "north-heat", "2026-11-20T02:00:00Z", 175).await;
    measured(h, "t1", "north-heat", "2026-11-20T03:00:00Z", 182).await;
    resolved(h, "t1", "north-heat", "2026-11-20T04:00:00Z").await;
    h.publish(
        "t1",
        &dispatch::FeedbackGiven {
            ticket_id: "t1".into(),
            supplier_id: "north-heat".into(),
            rating: dispatch::Rating::Satisfied.into(),
            given_at_ms: at("2026-11-21T00:00:00Z"),
            cycle: 1,
        },
    )
    .await;
    h.publish(
        "t1",
        &dispatch::MemberVerdictGiven {
            ticket_id: "t1".into(),
            supplier_id: "north-heat".into(),
            complaint_id: "c4".into(),
            rating: dispatch::Rating::Unsatisfied.into(),
            cycle: 1,
            given_at_ms: at("2026-11-21T01:00:00Z"),
        },
    )
    .await;
    h.publish(
        "t1",
        &dispatch::TicketClosed {
            ticket_id: "t1".into(),
            supplier_id: "north-heat".into(),
            outcome: "done".into(),
            closed_at_ms: at("2026-11-22T00:00:00Z"),
            into_ticket_id: String::new(),
        },
    )
    .await;

    // t2 (this week): signed after an hour, restored in 10 hours, still open.
    ticket(
        h,
        "t2",
        "和平区",
        "north-heat",
        "2026-12-08T00:00:00Z",
        false,
    )
    .await;
    signed(h, "t2", "north-heat", "2026-12-08T01:00:00Z").await;
    measured(h, "t2", "north-heat", "2026-12-08T02:00:00Z", 160).await;
    measured(h, "t2", "north-heat", "2026-12-08T09:00:00Z", 180).await;
    resolved(h, "t2", "north-heat", "2026-12-08T10:00:00Z").await;
    h.publish(
        "t2",
        &dispatch::FeedbackGiven {
            ticket_id: "t2".into(),
            supplier_id: "north-heat".into(),
            rating: dispatch::Rating::BasicallySatisfied.into(),
            given_at_ms: at("2026-12-08T12:00:00Z"),
            cycle: 1,
        },
    )
    .await;

    // t3 (this week): an incident never signed, a day past its 30 minutes.
    ticket(h, "t3", "大东区", "east-heat", "2026-12-09T00:00:00Z", true).await;
    measured(h, "t3", "east-heat", "2026-12-09T03:00:00Z", 190).await;
    // t4: dispatched ten minutes ago; whether it is signed in time is not decided yet.
    ticket(
        h,
        "t4",
        "大东区",
        "east-heat",
        "2026-12-09T23:50:00Z",
        false,
    )
    .await;
    h.targets_caught_up().await;
}

fn scope<'a>(board: &'a Value, list: &str, key: &str) -> &'a Value {
    board[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{list} has {key}: {board}"))
}

fn close(value: &Value, expected: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("a number: {value}"));
    assert!((got - expected).abs() < 1e-9, "{got} is not {expected}");
}

/// A day and scope's counts: complaints, measurements, at or above the standard, verdicts,
/// satisfied.
type Daily = Vec<(String, String, String, [i64; 5])>;

/// The daily counts, once every change is folded into them, checked against a count of the
/// rows themselves.
async fn daily_counts(h: &Harness) -> Daily {
    let db = h.store.pool().get().await.unwrap();
    let pending: i64 = db
        .query_one("SELECT count(*) FROM credit.target_day_change", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 0);
    let counted = "SELECT day::text, district, supplier_id, complaints::bigint, \
                   measurements::bigint, at_or_above::bigint, verdicts::bigint, \
                   satisfied::bigint FROM credit.target_day WHERE complaints + measurements \
                   + verdicts <> 0 ORDER BY 1, 2, 3";
    let recounted = "SELECT day::text, district, supplier_id, sum(c), sum(m), sum(ok), \
                     sum(v), sum(s) FROM ( \
                       SELECT (filed_at AT TIME ZONE 'Asia/Shanghai')::date AS day, \
                              coalesce(district, '') AS district, \
                              coalesce(supplier_id, '') AS supplier_id, \
                              1 AS c, 0 AS m, 0 AS ok, 0 AS v, 0 AS s \
                         FROM credit.target_complaint WHERE NOT rejected \
                       UNION ALL \
                       SELECT (at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(district, ''), \
                              supplier_id, 0, 1, (tenths >= 180)::int, 0, 0 \
                         FROM credit.target_measurement \
                       UNION ALL \
                       SELECT (at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(district, ''), \
                              supplier_id, 0, 0, 0, 1, (rating <> 'unsatisfied')::int \
                         FROM credit.target_verdict \
                     ) rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
    let rows = |sql: &'static str| {
        let db = &db;
        async move {
            db.query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    let n = |i: usize| r.get::<_, i64>(i);
                    (
                        r.get::<_, String>(0),
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        [n(3), n(4), n(5), n(6), n(7)],
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let daily = rows(counted).await;
    assert_eq!(
        daily,
        rows(recounted).await,
        "the daily counts hold what the rows do"
    );
    daily
}

#[tokio::test]
async fn every_figure_of_a_season_built_by_hand() {
    let h = Harness::start().await;
    season(&h).await;
    credit::registry::set_district_areas(h.store.pool(), &[("和平区".into(), 150_000.0, 3)])
        .await
        .unwrap();
    let reply = h
        .api
        .get("/api/v1/credit/seasons/2026-2027/targets", &h.regulator())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let board = &reply.body;
    assert_eq!(board["week_from"], "2026-12-06T16:00:00Z");
    assert_eq!(board["to"], "2026-12-10T00:00:00Z");

    let city = &board["city"]["season"];
    assert_eq!(
        city["complaints"], 4,
        "c1, merged c4, c2, c3; the refused c5 is not one"
    );
    close(&city["heated_area_m2"], 700_000.0);
    close(&city["complaints_per_10k_m2"], 4.0 * 10_000.0 / 700_000.0);
    assert_eq!(city["measurements"], 5);
    assert_eq!(city["at_or_above_standard"], 3, "18.2, 18.0 and 19.0");
    close(&city["share_at_or_above_standard"], 0.6);
    assert_eq!(city["verdicts"], 3);
    assert_eq!(city["satisfied"], 2);
    close(&city["satisfaction"], 2.0 / 3.0);
    assert_eq!(city["dispatched"], 3, "t4 is not decided yet");
    assert_eq!(city["signed_in_time"], 1);
    close(&city["share_signed_in_time"], 1.0 / 3.0);
    assert_eq!(city["restored"], 2);
    close(&city["restore_median_minutes"], 240.0);
    close(&city["restore_p90_minutes"], 600.0);
    assert_eq!(city["open_tickets"], 3);
    assert_eq!(city["incidents_open"], 1);

    let week = &board["city"]["week"];
    assert_eq!(week["complaints"], 2);
    assert_eq!(week["measurements"], 3);
    close(&week["share_at_or_above_standard"], 2.0 / 3.0);
    assert_eq!(week["verdicts"], 1);
    close(&week["satisfaction"], 1.0);
    assert_eq!(week["dispatched"], 2);
    assert_eq!(week["signed_in_time"], 0);
    close(&week["restore_median_minutes"], 600.0);

    let heping = scope(board, "districts", "和平区");
    assert_eq!(heping["season"]["complaints"], 3);
    assert_eq!(heping["season"]["measurements"], 4);
    assert_eq!(heping["season"]["open_tickets"], 1);
    assert_eq!(heping["season"]["incidents_open"], 0);
    close(&heping["season"]["heated_area_m2"], 150_000.0);
    close(
        &heping["season"]["complaints_per_10k_m2"],
        3.0 * 10_000.0 / 150_000.0,
    );
    let dadong = scope(board, "districts", "大东区");
    assert_eq!(
        dadong["season"]["complaints_per_10k_m2"],
        Value::Null,
        "no heated area known for it"
    );
    assert_eq!(dadong["season"]["complaints"], 1);
    assert_eq!(dadong["season"]["incidents_open"], 1);
    assert_eq!(dadong["season"]["dispatched"], 1);

    let north = scope(board, "suppliers", "north-heat");
    assert_eq!(north["name"], "North Heat Co.");
    close(
        &north["season"]["complaints_per_10k_m2"],
        3.0 * 10_000.0 / 200_000.0,
    );
    close(&north["season"]["satisfaction"], 2.0 / 3.0);
    close(&north["season"]["share_signed_in_time"], 0.5);
    let east = scope(board, "suppliers", "east-heat");
    close(
        &east["season"]["complaints_per_10k_m2"],
        1.0 * 10_000.0 / 500_000.0,
    );
    assert_eq!(
        east["season"]["satisfaction"],
        Value::Null,
        "no verdicts yet"
    );

    // 20 November to 10 December, China time, every day listed.
    let days = board["days"].as_array().unwrap();
    assert_eq!(days.len(), 21);
    assert_eq!(days[0]["from"], "2026-11-20");
    assert_eq!(days[0]["complaints"], 1);
    assert_eq!(days[0]["measurements"], 2);
    assert_eq!(days[0]["at_or_above_standard"], 1);
    assert_eq!(days[1]["verdicts"], 2);
    let weeks = board["weeks"].as_array().unwrap();
    assert_eq!(weeks.first().unwrap()["from"], "2026-11-16");
    assert_eq!(weeks.last().unwrap()["from"], "2026-12-07");
    assert_eq!(weeks.last().unwrap()["complaints"], 2);
    let total: i64 = weeks
        .iter()
        .map(|w| w["complaints"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 4);

    // The feed folded every change into the daily counts, and they hold what the rows do.
    assert!(!daily_counts(&h).await.is_empty());

    // Narrowed to one supplier, the trend counts only its own.
    let reply = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/targets?supplier_id=east-heat",
            &h.regulator(),
        )
        .await;
    assert_eq!(reply.body["suppliers"].as_array().unwrap().len(), 1);
    let days = reply.body["days"].as_array().unwrap();
    let complaints: i64 = days.iter().map(|d| d["complaints"].as_i64().unwrap()).sum();
    assert_eq!(complaints, 1);
}
