//! What dispatch does shows where residents and the 12345 platform look: the complaint's
//! timeline in intake, withdrawal closed once signed, and the platform's status pushes.

mod support;

use intake::hotline::{HotlineConfig, sign};
use platform::auth::Role;
use platform::clock::Clock;
use serde_json::json;
use support::Harness;
use testkit::api::eventually;
use testkit::fakes::FakeHotline;

#[tokio::test]
async fn the_resident_follows_the_repair_in_the_complaint_timeline_and_cannot_withdraw_once_signed()
{
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    let supplier = h.supplier("sup-north");
    assert_eq!(h.act(&id, "sign", &supplier, json!({})).await.status, 200);
    let crew = h.crew_of("sup-north", "crew 3").await;
    h.act(&id, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    let path = format!("/api/v1/complaints/{id}");
    let resident = h.resident(1);
    eventually("the resident sees the crew on its way", || async {
        let reply = h.api.get(&path, &resident).await;
        reply.body["timeline"]
            .as_array()
            .is_some_and(|t| t.iter().any(|e| e["event"] == "crew_assigned"))
    })
    .await;
    let reply = h.api.get(&path, &resident).await;
    let events: Vec<&str> = reply.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "accepted",
            "ticket_opened",
            "dispatched",
            "signed",
            "crew_assigned"
        ]
    );
    assert_eq!(
        reply.body["timeline"][2]["note"],
        "sent to heating supplier sup-north"
    );
    assert_eq!(reply.body["timeline"][3]["by"], "supplier_admin");
    let withdraw = h
        .api
        .post(
            &format!("/api/v1/complaints/{id}/withdraw"),
            &resident,
            &json!({"reason": "fixed itself"}),
        )
        .await;
    assert_eq!(
        (withdraw.status, withdraw.body["code"].as_str()),
        (409, Some("complaint_signed"))
    );
}

#[tokio::test]
async fn a_withdrawal_before_signing_cancels_the_ticket() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    let withdrawn = h
        .api
        .post(
            &format!("/api/v1/complaints/{id}/withdraw"),
            &h.resident(1),
            &json!({"reason": "warm again"}),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let ticket = h.ticket_at(&id, 3).await;
    assert_eq!(
        (ticket["status"].as_str(), ticket["outcome"].as_str()),
        (Some("closed"), Some("cancelled"))
    );
}

const SECRET: &str = "shared-with-12345";

#[tokio::test]
async fn the_12345_platform_hears_signed_then_replied_then_finished() {
    let platform = FakeHotline::start();
    let url = platform.url();
    let h = Harness::start_with(move |config| {
        let mut hotline = HotlineConfig::new(SECRET, Some(url));
        hotline.poll = std::time::Duration::from_millis(20);
        hotline.min_backoff = std::time::Duration::from_millis(50);
        config.hotline = Some(hotline);
    })
    .await;
    let body = serde_json::to_vec(&json!({
        "work_order_no": "WO-2026-7001",
        "category": "no_heat",
        "caller_phone": "13900139000",
        "address": "和平区南京路100号1栋2单元101",
        "description": "caller says radiators are cold",
    }))
    .unwrap();
    let now = h.clock.now().timestamp();
    let pushed = h
        .api
        .send(
            reqwest::Method::POST,
            "/api/v1/hotline/12345/work-orders",
            None,
            Some(body.clone().into()),
            &[
                ("content-type", "application/json"),
                ("x-12345-timestamp", &now.to_string()),
                ("x-12345-signature", &sign(SECRET, now, &body)),
            ],
        )
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    let id = pushed.body["complaint_id"].as_str().unwrap().to_owned();
    let ticket = h.ticket(&id).await;
    assert_eq!(ticket["hotline_work_order"], "WO-2026-7001");
    let supplier = h.supplier("sup-north");
    h.act(&id, "sign", &supplier, json!({})).await;
    let signed = h.ticket(&id).await;
    assert!(
        signed["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["clock"] == "hotline_finish"),
        "a hotline complaint runs the working-day clock"
    );
    let crew = h.crew_of("sup-north", "crew 5").await;
    h.act(&id, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    h.resolve(&id, &crew).await;
    // The hotline calls the caller back and records the verdict.
    let operator = h.token(Role::Operator, "op-7", Default::default());
    let rated = h
        .act(
            &id,
            "feedback",
            &operator,
            json!({"rating": "basically_satisfied"}),
        )
        .await;
    assert_eq!(rated.body["status"], "closed", "{}", rated.body);
    eventually("the platform heard every status", || async {
        platform.received().len() >= 3
    })
    .await;
    let statuses: Vec<String> = platform
        .received()
        .iter()
        .filter(|p| p.work_order == "WO-2026-7001")
        .map(|p| p.body["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["signed", "replied", "finished"]);
}

#[tokio::test]
async fn a_merged_filer_gives_their_own_verdict_which_decides_nothing_and_reads_nothing_of_the_reporter()
 {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    // A second resident files for the same heating account: merged into the first complaint.
    let merged = h
        .api
        .post(
            "/api/v1/complaints",
            &h.resident(2),
            &json!({
                "category": "no_heat",
                "heating_account": "HL0100000001",
                "description": "the neighbour's words, never the reporter's to read",
                "contact_phone": "13900139002",
            }),
        )
        .await;
    assert_eq!(merged.body["outcome"], "merged", "{}", merged.body);
    let own = merged.body["filed_id"].as_str().unwrap().to_owned();
    h.ticket_at(&id, 3).await;
    let supplier = h.supplier("sup-north");
    h.act(&id, "sign", &supplier, json!({})).await;
    let crew = h.crew_of("sup-north", "crew 8").await;
    h.act(&id, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    h.clock.advance(chrono::Duration::minutes(40));
    h.resolve(&id, &crew).await;
    // What Open311 publishes follows the repair: closed once resolved, saying so.
    let published = format!("/open311/v2/requests/{id}.json");
    eventually("Open311 shows the repair done", || async {
        public(&h, &published).await[0]["status"] == "closed"
    })
    .await;
    let request = public(&h, &published).await[0].clone();
    assert_eq!(
        request["status_notes"],
        "repaired; the resident is asked to confirm"
    );
    assert_ne!(
        request["updated_datetime"], request["requested_datetime"],
        "the repair's steps move it"
    );

    // The merged filer reads the repair, but only their own complaint among its members.
    let seen = h
        .api
        .get(&format!("/api/v1/tickets/{id}"), &h.resident(2))
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let complaints: Vec<&str> = seen.body["complaints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["complaint_id"].as_str().unwrap())
        .collect();
    assert_eq!(complaints, [own.as_str()]);
    let opened = &seen.body["timeline"][0];
    assert_eq!(opened["event"], "TicketOpened");
    assert_eq!(
        opened["details"],
        json!({}),
        "the reporter's household is not shown"
    );

    // Their verdict is theirs: the repair stays resolved, and a second one is refused.
    let theirs = h
        .act(
            &id,
            "feedback",
            &h.resident(2),
            json!({"rating": "unsatisfied"}),
        )
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert_eq!(theirs.body["status"], "resolved");
    assert_eq!(theirs.body["events"], json!(["MemberVerdictGiven"]));
    let again = h
        .act(
            &id,
            "feedback",
            &h.resident(2),
            json!({"rating": "satisfied"}),
        )
        .await;
    assert_eq!(
        (again.status, again.body["code"].as_str()),
        (409, Some("already_rated"))
    );
    // A stranger gives none.
    let stranger = h
        .act(
            &id,
            "feedback",
            &h.resident(3),
            json!({"rating": "unsatisfied"}),
        )
        .await;
    assert_eq!(stranger.status, 403, "{}", stranger.body);
    // The reporter's verdict decides.
    let decided = h
        .act(
            &id,
            "feedback",
            &h.resident(1),
            json!({"rating": "satisfied"}),
        )
        .await;
    assert_eq!(decided.body["status"], "closed", "{}", decided.body);
    assert_eq!(h.count(&id, "TicketReopened").await, 0);
    eventually("Open311 shows the repair finished", || async {
        public(&h, &published).await[0]["status_notes"] == "repair finished"
    })
    .await;

    // The merged filer's timeline: their own verdict, then the one that decided the repair.
    eventually("the merged filer sees both verdicts", || async {
        rated(&h, h.resident(2), &own).await.len() == 2
    })
    .await;
    let notes = rated(&h, h.resident(2), &own).await;
    assert!(
        notes[0].starts_with("you rated the repair unsatisfied"),
        "{notes:?}"
    );
    assert_eq!(notes[1], "rated satisfied");
    eventually("the reporter sees the deciding verdict", || async {
        !rated(&h, h.resident(1), &id).await.is_empty()
    })
    .await;
    assert_eq!(
        rated(&h, h.resident(1), &id).await,
        ["rated satisfied"],
        "the reporter's timeline holds no other filer's verdict"
    );
}

/// The notes of the `rated` steps in a complaint's timeline, as its filer reads them.
async fn rated(h: &Harness, token: String, complaint: &str) -> Vec<String> {
    let path = format!("/api/v1/complaints/{complaint}");
    let reply = h.api.get(&path, &token).await;
    reply.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "rated")
        .map(|e| e["note"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_crew_finds_the_home_of_its_open_jobs_only_and_reveals_the_phone_on_record() {
    let h = Harness::start().await;
    let id = h.file(1, "HL0100000001").await;
    h.ticket(&id).await;
    let supplier = h.supplier("sup-north");
    h.act(&id, "sign", &supplier, json!({})).await;
    let crew = h.crew_of("sup-north", "crew 4").await;
    let other = h.crew_of("sup-north", "crew 6").await;
    let path = format!("/api/v1/complaints/{id}");
    let crew_token = h.crew("sup-north", &crew);
    assert_eq!(
        h.api.get(&path, &crew_token).await.status,
        404,
        "not its job yet"
    );
    h.act(&id, "assign", &supplier, json!({"crew_id": crew}))
        .await;
    eventually("the crew reads its job's complaint", || async {
        h.api.get(&path, &crew_token).await.status == 200
    })
    .await;
    let seen = h.api.get(&path, &crew_token).await.body["complaint"].clone();
    assert_eq!(seen["heating_account"], "HL********01");
    assert_eq!(seen["contact_phone"], "138******00");
    let supplier_view = h.api.get(&path, &supplier).await.body["complaint"].clone();
    assert_eq!(supplier_view["masked"], true);
    assert_eq!(
        h.api.get(&path, &h.crew("sup-north", &other)).await.status,
        404,
        "another crew's job"
    );
    let revealed = h
        .api
        .post(
            &format!("{path}/contact"),
            &crew_token,
            &json!({"reason": "arranging the visit"}),
        )
        .await;
    assert_eq!(revealed.status, 200, "{}", revealed.body);
    assert_eq!(revealed.body["contact_phone"], "13800138000");
    // The job closes: the crew's reach ends with it.
    h.resolve(&id, &crew).await;
    h.act(
        &id,
        "feedback",
        &h.resident(1),
        json!({"rating": "satisfied"}),
    )
    .await;
    eventually("the closed job is out of the crew's reach", || async {
        h.api.get(&path, &crew_token).await.status == 404
    })
    .await;
    // The resident sees who looked at their number, and why.
    let timeline = h.api.get(&path, &h.resident(1)).await.body["timeline"].clone();
    assert!(
        timeline
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "contact_revealed"
                && e["note"] == "crew viewed your contact details: arranging the visit"),
        "{timeline}"
    );
}

/// What Open311 answers anyone (no token) at `path`.
async fn public(h: &Harness, path: &str) -> serde_json::Value {
    h.api
        .send(reqwest::Method::GET, path, None, None, &[])
        .await
        .body
}
