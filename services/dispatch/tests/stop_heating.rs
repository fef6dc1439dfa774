//! Stopping heating online over real HTTP: residents apply in intake before the season's
//! deadline, the supplier replies in dispatch (a crew of its own, or a refusal the city allows,
//! the building cap checked against the household registry), the crew photographs the sealed
//! valve, the resident follows it all, and a reply that does not come in time is breached once.

mod support;

use chrono::Duration;
use contracts::Message;
use contracts::dispatch::v1 as proto;
use platform::auth::Role;
use serde_json::{Value, json};
use support::Harness;
use testkit::api::eventually;

const APPLICATIONS: &str = "/api/v1/me/stop-heating-applications";
const CASES: &str = "/api/v1/stop-heating/applications";

fn application(kind: &str, season: &str, account: &str) -> Value {
    json!({ "kind": kind, "season": season, "reason": "vacant", "heating_account": account })
}

async fn apply(h: &Harness, resident: u32, body: &Value) -> testkit::api::Reply {
    h.api.post(APPLICATIONS, &h.resident(resident), body).await
}

/// Waits until the supplier's desk holds application `id`.
async fn case(h: &Harness, id: &str, token: &str) -> Value {
    let path = format!("{CASES}/{id}");
    eventually(&format!("application {id} reaches dispatch"), || async {
        h.api.get(&path, token).await.status == 200
    })
    .await;
    h.api.get(&path, token).await.body
}

async fn reply(h: &Harness, id: &str, token: &str, body: Value) -> testkit::api::Reply {
    h.api
        .post(&format!("{CASES}/{id}/reply"), token, &body)
        .await
}

async fn valve_work(h: &Harness, id: &str, token: &str, bytes: Vec<u8>) -> testkit::api::Reply {
    h.api
        .send(
            reqwest::Method::POST,
            &format!("{CASES}/{id}/valve-work"),
            Some(token),
            Some(bytes.into()),
            &[("content-type", "image/jpeg")],
        )
        .await
}

async fn published(h: &Harness, message_type: &str) -> Vec<Vec<u8>> {
    let client = h.store.pool().get().await.unwrap();
    client
        .query(
            "SELECT payload FROM eventstore.published_event WHERE message_type = $1 \
             ORDER BY global_position",
            &[&message_type],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn bad_and_late_applications_are_refused_with_their_reason_and_nothing_is_stored() {
    let h = Harness::start().await;
    // Applications for 2026-2027 closed on 31 October 2026 (15 days before 15 November).
    let late = apply(&h, 1, &application("stop", "2026-2027", "HL0100000001")).await;
    assert_eq!(late.status, 422, "{}", late.body);
    assert_eq!(late.body["code"], "past_deadline");
    assert_eq!(late.body["details"]["deadline"], "2026-10-30T16:00:00Z");
    let unknown = apply(&h, 1, &application("stop", "2027-2028", "ZZ99999999")).await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.body["details"][0]["code"], "unknown_home");
    let bad = apply(
        &h,
        1,
        &json!({ "kind": "pause", "season": "2027-2029", "reason": "sleeping" }),
    )
    .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["kind", "season", "reason", "heating_account"]);
    let far = apply(&h, 1, &application("stop", "2030-2031", "HL0100000001")).await;
    assert_eq!(far.body["details"][0]["code"], "too_far");
    // A supplier cannot apply for a resident.
    let staff = h
        .api
        .post(
            APPLICATIONS,
            &h.supplier("sup-north"),
            &application("stop", "2027-2028", "HL0100000001"),
        )
        .await;
    assert_eq!(staff.status, 403);
    let mine = h.api.get(APPLICATIONS, &h.resident(1)).await;
    assert_eq!(mine.body, json!([]));
}

#[tokio::test]
async fn a_stop_is_approved_sealed_and_followed_and_a_cap_refusal_stands_only_at_the_cap() {
    let h = Harness::start().await;
    // HP-001 has 3 registered households: its 30 % cap is 1 household.
    dispatch::stop_heating::set_building_households(h.store.pool(), &[("HP-001".to_owned(), 3)])
        .await
        .unwrap();
    let first = apply(&h, 1, &application("stop", "2027-2028", "HL0100000001")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["status"], "applied");
    assert_eq!(first.body["building_id"], "HP-001");
    assert_eq!(first.body["deadline"], "2027-10-30T16:00:00Z");
    let id = first.body["application_id"].as_str().unwrap().to_owned();
    let again = apply(&h, 1, &application("stop", "2027-2028", "HL01-0000-0001")).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "application_open");
    assert_eq!(again.body["details"]["application_id"], id.as_str());
    // A retry with the same key answers the first filing.
    let (second, retried) = (keyed(&h, 201).await, keyed(&h, 200).await);
    assert_eq!(second["application_id"], retried["application_id"]);
    let second = second["application_id"].as_str().unwrap().to_owned();

    let north = h.supplier("sup-north");
    let on_desk = case(&h, &id, &north).await;
    assert_eq!(on_desk["status"], "applied");
    // Filed Tuesday 1 December 2026 at 15:00: due by the end of the fifth working day after,
    // Tuesday 8 December.
    assert_eq!(on_desk["reply_by"], "2026-12-08T16:00:00Z");
    case(&h, &second, &north).await;
    let east = h.supplier("sup-east");
    assert_eq!(h.api.get(&format!("{CASES}/{id}"), &east).await.status, 404);
    assert_eq!(h.api.get(CASES, &east).await.body, json!([]));

    let refused = reply(
        &h,
        &id,
        &north,
        json!({"decision": "refuse", "refusal": "building_cap", "note": "楼栋停暖比例已满"}),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["details"][0]["code"], "cap_not_reached");
    let east_crew = h.crew_of("sup-east", "east crew").await;
    let wrong = reply(
        &h,
        &id,
        &north,
        json!({"decision": "approve", "crew_id": east_crew}),
    )
    .await;
    assert_eq!(wrong.body["details"][0]["code"], "crew_of_another_supplier");
    let crew = h.crew_of("sup-north", "valve crew").await;
    let approved = reply(
        &h,
        &id,
        &north,
        json!({"decision": "approve", "crew_id": crew, "note": "周一上门关阀"}),
    )
    .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    let twice = reply(
        &h,
        &id,
        &north,
        json!({"decision": "approve", "crew_id": crew}),
    )
    .await;
    assert_eq!(twice.body["code"], "already_replied");
    // Now one of three stops: the cap is reached and the second may be refused.
    let capped = reply(
        &h,
        &second,
        &north,
        json!({"decision": "refuse", "refusal": "building_cap", "note": "楼栋停暖比例已满"}),
    )
    .await;
    assert_eq!(capped.status, 200, "{}", capped.body);
    assert_eq!(capped.body["refusal"], "building_cap");

    // The crew sees its valve job and seals it with a photo.
    let crew_token = h.crew("sup-north", &crew);
    let jobs = h
        .api
        .get(&format!("{CASES}?status=approved"), &crew_token)
        .await;
    assert_eq!(jobs.body.as_array().unwrap().len(), 1, "{}", jobs.body);
    let other = h.crew("sup-north", &h.crew_of("sup-north", "other crew").await);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend_from_slice(b"a sealed valve");
    assert_eq!(valve_work(&h, &id, &other, jpeg.clone()).await.status, 403);
    let text = valve_work(&h, &id, &crew_token, b"not a photo".to_vec()).await;
    assert_eq!(text.status, 415);
    let sealed = valve_work(&h, &id, &crew_token, jpeg.clone()).await;
    assert_eq!(sealed.status, 200, "{}", sealed.body);
    assert_eq!(sealed.body["status"], "done");
    let photo = h
        .api
        .http
        .get(format!("{}{CASES}/{id}/photo", h.api.base))
        .bearer_auth(&north)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert_eq!(photo.bytes().await.unwrap().to_vec(), jpeg);
    assert_eq!(
        valve_work(&h, &id, &crew_token, jpeg).await.body["code"],
        "not_approved"
    );

    // Published once each, for credit and billing.
    let stopped = published(&h, "heatline.dispatch.v1.HeatingStopped").await;
    assert_eq!(stopped.len(), 1);
    let stopped = proto::HeatingStopped::decode(stopped[0].as_slice()).unwrap();
    assert_eq!(stopped.base_fee_share_pct, 30);
    assert_eq!(stopped.season, "2027-2028");
    assert_eq!(
        published(&h, "heatline.dispatch.v1.StopHeatingReplied")
            .await
            .len(),
        2
    );

    // The residents follow it; the refused one may apply again.
    eventually("the residents see the replies", || async {
        let one = h.api.get(APPLICATIONS, &h.resident(1)).await.body;
        let two = h.api.get(APPLICATIONS, &h.resident(2)).await.body;
        one[0]["status"] == "done" && two[0]["status"] == "refused"
    })
    .await;
    let two = h.api.get(APPLICATIONS, &h.resident(2)).await.body;
    assert_eq!(two[0]["refusal"], "building_cap");
    assert_eq!(two[0]["note"], "楼栋停暖比例已满");
    let anew = apply(&h, 2, &application("stop", "2027-2028", "HL0100000003")).await;
    assert_eq!(anew.status, 201, "{}", anew.body);
}

#[tokio::test]
async fn a_reply_not_given_within_the_working_days_is_breached_once_and_may_still_come() {
    let h = Harness::start().await;
    let filed = apply(&h, 1, &application("restore", "2027-2028", "HL0200000001")).await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let id = filed.body["application_id"].as_str().unwrap().to_owned();
    let north = h.supplier("sup-north");
    case(&h, &id, &north).await;
    // Monday 7 December, 15:00: the reply is due by the end of Tuesday; nothing happens.
    h.clock.advance(Duration::days(6));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        published(&h, "heatline.dispatch.v1.SlaBreached")
            .await
            .is_empty()
    );
    h.clock.advance(Duration::days(2));
    eventually("the reply deadline is breached", || async {
        !published(&h, "heatline.dispatch.v1.SlaBreached")
            .await
            .is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let breaches = published(&h, "heatline.dispatch.v1.SlaBreached").await;
    assert_eq!(breaches.len(), 1);
    let breach = proto::SlaBreached::decode(breaches[0].as_slice()).unwrap();
    assert_eq!(breach.clock(), proto::Clock::StopHeatingReply);
    assert_eq!(breach.ticket_id, id);
    assert_eq!(breach.supplier_id, "sup-north");
    assert_eq!(breach.target, "5 working days");
    let seen = h.api.get(&format!("{CASES}/{id}"), &h.dispatcher()).await;
    assert!(seen.body["breached_at"].is_string(), "{}", seen.body);
    // A restore cannot be refused for the building cap; a late approval still lands.
    let cap = reply(
        &h,
        &id,
        &north,
        json!({"decision": "refuse", "refusal": "building_cap", "note": "满"}),
    )
    .await;
    assert_eq!(cap.body["details"][0]["code"], "cap_on_restore");
    let crew = h.crew_of("sup-north", "valve crew").await;
    let late = reply(
        &h,
        &id,
        &north,
        json!({"decision": "approve", "crew_id": crew}),
    )
    .await;
    assert_eq!(late.status, 200, "{}", late.body);
    let replied = published(&h, "heatline.dispatch.v1.StopHeatingReplied").await;
    let replied = proto::StopHeatingReplied::decode(replied[0].as_slice()).unwrap();
    assert!(replied.late && replied.approved);
    // Regulators read; residents and crews of no job do not.
    let regulator = h.token(Role::Regulator, "regulator-1", Default::default());
    assert_eq!(
        h.api
            .get(CASES, &regulator)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(h.api.get(CASES, &h.resident(1)).await.status, 403);
}

/// Resident 2 applies with an idempotency key; answers the body once the status is `status`.
async fn keyed(h: &Harness, status: u16) -> Value {
    let reply = h
        .api
        .post_with(
            APPLICATIONS,
            &h.resident(2),
            &application("stop", "2027-2028", "HL0100000003"),
            &[("idempotency-key", "phone-retry-1")],
        )
        .await;
    assert_eq!(reply.status, status, "{}", reply.body);
    reply.body
}
