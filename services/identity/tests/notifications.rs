//! Residents told what happens, against fake WeChat and SMS servers over HTTP: a WeChat
//! subscribe message while one is granted (the access token fetched again when WeChat refuses
//! it), SMS when none is left or WeChat says 43101, nothing lost while the gateway is down,
//! nothing sent twice when the log is read again, and nothing against a resident's opt-out.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::dispatch::v1 as dispatch;
use contracts::intake::v1 as intake;
use contracts::{Message, Name};
use identity::notify::NotifyConfig;
use platform::clock::Clock;
use serde_json::{Value, json};
use support::Harness;
use testkit::api::eventually;
use testkit::fakes::{FakeSms, FakeWechat};
use uuid::Uuid;

struct World {
    h: Harness,
    wechat: FakeWechat,
    sms: FakeSms,
    _background: identity::notify::Background,
}

async fn start() -> World {
    let wechat = FakeWechat::start();
    let sms = FakeSms::start();
    let config = support::outside(
        &wechat,
        &sms,
        NotifyConfig {
            templates: BTreeMap::from([("repair".to_owned(), "TPL-REPAIR".to_owned())]),
            every: Duration::from_millis(50),
            ..NotifyConfig::default()
        },
    );
    let h = Harness::start_with(config).await;
    let background = h.identity.start_notifications().unwrap();
    World {
        h,
        wechat,
        sms,
        _background: background,
    }
}

impl World {
    fn ms(&self) -> i64 {
        self.h.clock.now().timestamp_millis()
    }

    /// Appends a message to the public log, as another service's commit would.
    async fn publish<M: Message + Name>(&self, stream: &str, message: &M) -> Uuid {
        testkit::log::publish(&self.h.store, "test", stream, message).await
    }

    async fn get(&self, token: &str) -> Value {
        let response = self
            .h
            .http
            .get(format!("{}/api/v1/me/notifications", self.h.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The outbox as `(account, kind, status, channel)`, in a stable order.
    async fn outbox(&self) -> Vec<(String, String, String, Option<String>)> {
        let client = self.h.store.pool().get().await.unwrap();
        client
            .query(
                "SELECT account_id, kind, status, channel FROM identity.notification \
                 ORDER BY created_at, kind, account_id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    async fn settled(&self, what: &str, wanted: usize) {
        eventually(what, || async {
            let outbox = self.outbox().await;
            outbox.len() == wanted && outbox.iter().all(|(_, _, status, _)| status != "pending")
        })
        .await;
    }
}

/// Logs a resident in through WeChat and binds a phone; answers the token and account id.
async fn wechat_resident(w: &World, code: &str, openid: &str, phone: &str) -> (String, String) {
    w.wechat.code(code, openid);
    let (status, pair) =
        w.h.post("/api/v1/auth/wechat", None, json!({ "code": code }))
            .await;
    assert_eq!(status, 200, "{pair}");
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let phone_code = format!("phone-{code}");
    w.wechat.phone_code(&phone_code, phone);
    let (status, body) =
        w.h.post(
            "/api/v1/auth/wechat/phone",
            Some(&token),
            json!({ "code": phone_code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let account = w.h.identity.verifier().verify(&token).await.unwrap().sub;
    (token, account)
}

/// Logs a resident in by SMS; answers the token and account id.
async fn sms_resident(w: &World, phone: &str) -> (String, String) {
    let (status, _) =
        w.h.post("/api/v1/auth/sms/code", None, json!({ "phone": phone }))
            .await;
    assert_eq!(status, 202);
    let code = w.sms.last_code(phone).unwrap();
    let (status, pair) =
        w.h.post(
            "/api/v1/auth/sms/login",
            None,
            json!({ "phone": phone, "code": code }),
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let account = w.h.identity.verifier().verify(&token).await.unwrap().sub;
    (token, account)
}

fn notices(sms: &FakeSms) -> Vec<(String, String)> {
    sms.sent()
        .into_iter()
        .filter(|s| !s.text.is_empty())
        .map(|s| (s.phone, s.text))
        .collect()
}

#[actix_web::test]
async fn residents_are_told_each_step_by_wechat_while_granted_else_by_sms_and_never_twice() {
    let w = start().await;
    let (a_token, a) = wechat_resident(&w, "code-a", "openid-a", "13800000001").await;
    let (_, b) = sms_resident(&w, "13900000002").await;
    // A accepted one subscribe message of the repair template in the mini-program.
    let (status, body) =
        w.h.post(
            "/api/v1/me/notifications/subscriptions",
            Some(&a_token),
            json!({ "family": "repair", "accepted": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subscriptions"]["repair"], 1);
    let (status, body) =
        w.h.post(
            "/api/v1/me/notifications/subscriptions",
            Some(&a_token),
            json!({ "family": "weather", "accepted": 11 }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["details"].as_array().unwrap().len(), 2, "{body}");

    // A files from the mini-program, B from the app; one incident ticket carries both.
    for (complaint, account, household, source) in [
        ("c-a", &a, "hh-a", intake::Source::Wechat),
        ("c-b", &b, "hh-b", intake::Source::App),
    ] {
        w.publish(
            complaint,
            &intake::ComplaintAccepted {
                complaint_id: complaint.into(),
                household: household.into(),
                source: source.into(),
                filed_by: account.clone(),
                filed_at_ms: w.ms(),
                ..Default::default()
            },
        )
        .await;
    }
    w.publish(
        "t-1",
        &dispatch::TicketOpened {
            ticket_id: "t-1".into(),
            origin: "incident".into(),
            complaint_ids: vec!["c-a".into(), "c-b".into()],
            opened_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    // WeChat refuses the cached access token once: it is fetched again and the message goes.
    let tokens_before = w
        .wechat
        .calls()
        .iter()
        .filter(|c| *c == "/cgi-bin/token")
        .count();
    w.wechat.answer_next(&[40001]);
    let signed = dispatch::TicketSigned {
        ticket_id: "t-1".into(),
        supplier_id: "north-heat".into(),
        cycle: 1,
        signed_at_ms: w.ms(),
    };
    w.publish("t-1", &signed).await;
    w.settled("the signing is told", 2).await;
    let tokens_after = w
        .wechat
        .calls()
        .iter()
        .filter(|c| *c == "/cgi-bin/token")
        .count();
    assert_eq!(tokens_after, tokens_before + 1);
    let messages = w.wechat.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["touser"], "openid-a");
    assert_eq!(messages[0]["template_id"], "TPL-REPAIR");
    assert_eq!(messages[0]["data"]["phrase1"]["value"], "已受理");
    assert_eq!(messages[0]["page"], "pages/ticket/detail?id=t-1");
    assert_eq!(notices(&w.sms).len(), 1);
    assert_eq!(notices(&w.sms)[0].0, "13900000002");
    assert!(
        notices(&w.sms)[0].1.contains("签收"),
        "{:?}",
        notices(&w.sms)
    );

    // A's subscription is used up: the crew's assignment goes to both by SMS.
    w.publish(
        "t-1",
        &dispatch::CrewAssigned {
            ticket_id: "t-1".into(),
            crew_id: "crew-1".into(),
            supplier_id: "north-heat".into(),
            assigned_at_ms: w.ms(),
        },
    )
    .await;
    w.settled("the crew is told", 4).await;
    assert_eq!(w.wechat.messages().len(), 1);
    assert_eq!(notices(&w.sms).len(), 3);

    // The gateway is down for an hour: the notice waits, then goes once.
    w.sms.set_failing(true);
    w.publish(
        "t-1",
        &dispatch::CrewOnSite {
            ticket_id: "t-1".into(),
            crew_id: "crew-1".into(),
            arrived_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    eventually("the failed attempts are counted", || async {
        let client = w.h.store.pool().get().await.unwrap();
        let row = client
            .query_one(
                "SELECT count(*) FROM identity.notification \
                 WHERE kind = 'crew_on_site' AND status = 'pending' AND attempts > 0",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0) == 2
    })
    .await;
    for _ in 0..12 {
        w.h.clock.advance(chrono::Duration::minutes(5));
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    assert_eq!(notices(&w.sms).len(), 3);
    w.sms.set_failing(false);
    w.h.clock.advance(chrono::Duration::minutes(5));
    w.settled("the arrival is told after the outage", 6).await;
    assert_eq!(notices(&w.sms).len(), 5);

    // An hour on, both log in again. B turns SMS off; A grants one more, which WeChat says
    // is gone (43101): SMS instead.
    let (a_token, _) = wechat_resident(&w, "code-a2", "openid-a", "13800000001").await;
    let (b_token, _) = sms_resident(&w, "13900000002").await;
    let (status, body) =
        w.h.post(
            "/api/v1/me/notifications/channels",
            Some(&b_token),
            json!({ "sms": false }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["wechat"].clone(), body["sms"].clone()),
        (json!(true), json!(false))
    );
    w.h.post(
        "/api/v1/me/notifications/subscriptions",
        Some(&a_token),
        json!({ "family": "repair", "accepted": 1 }),
    )
    .await;
    w.wechat.answer_next(&[43101]);
    w.publish(
        "t-1",
        &dispatch::TicketResolved {
            ticket_id: "t-1".into(),
            supplier_id: "north-heat".into(),
            cause: dispatch::Cause::Supplier.into(),
            standard_met: true,
            resolved_at_ms: w.ms(),
            cycle: 1,
            ..Default::default()
        },
    )
    .await;
    w.settled("the repair is told", 8).await;
    let outbox = w.outbox().await;
    let resolved: Vec<_> = outbox
        .iter()
        .filter(|(_, kind, _, _)| kind == "repair_resolved")
        .map(|(account, _, status, channel)| (account == &a, status.as_str(), channel.clone()))
        .collect();
    assert!(
        resolved.contains(&(true, "sent", Some("sms".into()))),
        "{resolved:?}"
    );
    assert!(resolved.contains(&(false, "dropped", None)), "{resolved:?}");
    let mine = w.get(&a_token).await;
    assert_eq!(mine["subscriptions"]["repair"], 0);
    assert_eq!(mine["recent"][0]["kind"], "repair_resolved");
    assert!(
        mine["recent"][0]["text"]
            .as_str()
            .unwrap()
            .contains("热了吗"),
        "{mine}"
    );
    let theirs = w.get(&b_token).await;
    assert!(
        theirs["recent"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("turned SMS off"),
        "{theirs}"
    );

    // The log read again from its start owes nothing more.
    let sent = (w.wechat.messages().len(), notices(&w.sms).len());
    w.h.store
        .pool()
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE identity.subscription_checkpoint SET tx_id = '0', global_position = 0 \
             WHERE name = 'notifications'",
            &[],
        )
        .await
        .unwrap();
    w.publish("t-1", &signed).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(w.outbox().await.len(), 10);
    w.settled("the signing published again is told", 10).await;
    assert_eq!(
        (w.wechat.messages().len(), notices(&w.sms).len()),
        (sent.0, sent.1 + 1),
        "only the newly published event is told, to A (B turned SMS off)"
    );
}

#[actix_web::test]
async fn a_stop_heating_decision_and_a_refund_reach_the_resident_who_filed() {
    let w = start().await;
    let (token, a) = wechat_resident(&w, "code-a", "openid-a", "13800000001").await;
    w.publish(
        "app-1",
        &intake::StopHeatingApplied {
            application_id: "app-1".into(),
            season: "2027-2028".into(),
            household: "hh-a".into(),
            filed_by: a.clone(),
            applied_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    w.publish(
        "app-1",
        &dispatch::StopHeatingReplied {
            application_id: "app-1".into(),
            season: "2027-2028".into(),
            approved: false,
            refusal: "arrears".into(),
            note: "上季供暖费未结清".into(),
            replied_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    w.publish(
        "c-a",
        &intake::ComplaintAccepted {
            complaint_id: "c-a".into(),
            household: "hh-a".into(),
            source: intake::Source::Wechat.into(),
            filed_by: a.clone(),
            filed_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    w.publish(
        "hh-a",
        &contracts::credit::v1::RefundAccrued {
            household: "hh-a".into(),
            season: "2026-2027".into(),
            amount_fen: 774,
            season_total_fen: 1_548,
            accrued_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    w.settled("both are told", 2).await;
    let texts: Vec<String> = notices(&w.sms).into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.contains("停暖申请未通过：上季供暖费未结清")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("15.48元")), "{texts:?}");
    let mine = w.get(&token).await;
    assert_eq!(
        mine["recent"][0]["page"],
        "pages/refunds/index?season=2026-2027"
    );
    assert_eq!(mine["recent"][1]["kind"], "stop_heating_decided");
}

/// Parties read in one batch follow the log's order: a ticket takes on the residents its
/// complaints had when it took them on, not a resident who joined a complaint later in the
/// batch, and the ticket's notice goes to those it took on.
#[actix_web::test]
async fn parties_read_together_follow_the_order_of_the_log() {
    let w = start().await;
    // An open transaction holds the log's readers back at its place: everything published
    // while it is open reaches the feed in one read once it ends.
    let mut holder = w.h.store.pool().get().await.unwrap();
    let hold = holder.transaction().await.unwrap();
    hold.query_one("SELECT pg_current_xact_id()::text", &[])
        .await
        .unwrap();
    for (complaint, account, household) in [("c1", "acct-a", "hh-1"), ("c2", "acct-b", "hh-2")] {
        w.publish(
            complaint,
            &intake::ComplaintAccepted {
                complaint_id: complaint.into(),
                household: household.into(),
                source: intake::Source::App.into(),
                filed_by: account.into(),
                filed_at_ms: w.ms(),
                ..Default::default()
            },
        )
        .await;
    }
    w.publish(
        "t1",
        &dispatch::TicketOpened {
            ticket_id: "t1".into(),
            origin: "complaint".into(),
            complaint_ids: vec!["c1".into()],
            opened_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    w.publish(
        "c3",
        &intake::ComplaintMerged {
            complaint_id: "c3".into(),
            into_complaint_id: "c1".into(),
            household: "hh-1".into(),
            source: intake::Source::Wechat.into(),
            filed_by: "acct-c".into(),
            filed_at_ms: w.ms(),
            ..Default::default()
        },
    )
    .await;
    w.publish(
        "t1",
        &dispatch::ComplaintAttached {
            ticket_id: "t1".into(),
            complaint_id: "c2".into(),
            household: "hh-2".into(),
            ..Default::default()
        },
    )
    .await;
    w.publish(
        "t1",
        &dispatch::TicketSigned {
            ticket_id: "t1".into(),
            supplier_id: "north-heat".into(),
            cycle: 1,
            signed_at_ms: w.ms(),
        },
    )
    .await;
    hold.commit().await.unwrap();

    eventually(
        "the signing is noted for the ticket's residents",
        || async { w.outbox().await.len() == 2 },
    )
    .await;
    let signed: Vec<String> = w.outbox().await.into_iter().map(|(a, ..)| a).collect();
    assert_eq!(signed, ["acct-a", "acct-b"]);
    let client = w.h.store.pool().get().await.unwrap();
    let parties: Vec<(String, String)> = client
        .query(
            "SELECT subject, account_id FROM identity.notify_party ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected = [
        ("complaint:c1", "acct-a"),
        ("complaint:c1", "acct-c"),
        ("complaint:c2", "acct-b"),
        ("complaint:c3", "acct-c"),
        ("household:hh-1", "acct-a"),
        ("household:hh-1", "acct-c"),
        ("household:hh-2", "acct-b"),
        ("ticket:t1", "acct-a"),
        ("ticket:t1", "acct-b"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(s, a)| (s.to_string(), a.to_string()))
        .collect();
    assert_eq!(parties, expected);
}
