//! Residents and operators filing, following, withdrawing; merging; routing; incidents.

mod incidents;
#[path = "../support/mod.rs"]
mod support;

use chrono::Duration;
use contracts::intake::v1 as proto;
use platform::auth::Role;
use serde_json::json;
use support::{Harness, cold};

#[actix_web::test]
async fn a_resident_files_a_cold_home_and_follows_it_with_its_timeline() {
    let h = Harness::start().await;
    let token = h.resident(1);
    let filed = h
        .post("/api/v1/complaints", &token, &cold("HL01-0001"))
        .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert_eq!(filed.body["outcome"], "accepted");
    assert_eq!(filed.body["routed"], true);
    let id = filed.body["complaint_id"].as_str().unwrap().to_owned();
    assert_eq!(
        filed.headers["location"],
        format!("/api/v1/complaints/{id}")
    );

    let mine = h.get("/api/v1/complaints", &token).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["items"][0]["complaint_id"], id.as_str());
    assert_eq!(mine.body["items"][0]["supplier_id"], "sup-north");
    assert_eq!(mine.body["items"][0]["station"], "HP-S1");
    assert_eq!(mine.body["items"][0]["room_temperature"], 15.5);

    let one = h.get(&format!("/api/v1/complaints/{id}"), &token).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["complaint"]["status"], "open");
    assert_eq!(one.body["timeline"][0]["event"], "accepted");
    assert_eq!(one.body["timeline"][0]["by"], "resident");

    // Another resident cannot see it; a supplier of another company neither.
    let other = h
        .get(&format!("/api/v1/complaints/{id}"), &h.resident(2))
        .await;
    assert_eq!(other.status, 404);
    let regulator = h
        .get(
            &format!("/api/v1/complaints/{id}"),
            &h.token(Role::Regulator, "reg"),
        )
        .await;
    assert_eq!(regulator.status, 200);
    assert_eq!(regulator.body["complaint"]["contact_phone"], "138******00");

    // What the other services learn: the route, the reading, no phone number.
    let store = h.store.clone();
    h.eventually("the acceptance is in the public log", || {
        let store = store.clone();
        async move {
            let published = store.read_published(Default::default(), 100).await.unwrap();
            published.iter().any(|e| e.is::<proto::ComplaintAccepted>())
        }
    })
    .await;
    let published = h
        .store
        .read_published(Default::default(), 100)
        .await
        .unwrap();
    let accepted: Vec<proto::ComplaintAccepted> = published
        .iter()
        .filter(|e| e.is::<proto::ComplaintAccepted>())
        .map(|e| e.decode().unwrap())
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].complaint_id, id);
    assert_eq!(accepted[0].route.as_ref().unwrap().supplier_id, "sup-north");
    assert_eq!(accepted[0].reported_tenths_celsius, Some(155));
}

#[actix_web::test]
async fn a_complaint_filed_twice_with_one_idempotency_key_is_stored_once() {
    let h = Harness::start().await;
    let token = h.resident(1);
    let key = [("idempotency-key", "phone-retry-7")];
    let first = h
        .post_with("/api/v1/complaints", &token, &cold("HL01-0002"), &key)
        .await;
    let again = h
        .post_with("/api/v1/complaints", &token, &cold("HL01-0002"), &key)
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.body, again.body);
    assert_eq!(h.complaint_rows().await, 1);

    let mut changed = cold("HL01-0002");
    changed["room_temperature"] = json!(12);
    let reused = h
        .post_with("/api/v1/complaints", &token, &changed, &key)
        .await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.body["code"], "idempotency_key_reused");
    assert_eq!(h.complaint_rows().await, 1);

    // The same key from another resident is another filing (of the same home: merged).
    let theirs = h
        .post_with(
            "/api/v1/complaints",
            &h.resident(2),
            &cold("HL01-0002"),
            &key,
        )
        .await;
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.body["outcome"], "merged");
}

#[actix_web::test]
async fn a_second_complaint_from_one_household_within_a_day_merges_into_the_first() {
    let h = Harness::start().await;
    let first = h
        .post("/api/v1/complaints", &h.resident(1), &cold("HL01-0003"))
        .await;
    let first_id = first.body["complaint_id"].as_str().unwrap().to_owned();
    h.clock.advance(Duration::hours(23));
    let spouse = h.resident(2);
    let second = h
        .post("/api/v1/complaints", &spouse, &cold("hl01 0003"))
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["outcome"], "merged");
    assert_eq!(second.body["complaint_id"], first_id.as_str());
    assert_ne!(second.body["filed_id"], first_id.as_str());
    // The spouse follows their own filing, merged into the household's complaint; the first
    // filer's complaint (their words, photos and phone) is not the spouse's to read.
    let own = h
        .get(
            &format!(
                "/api/v1/complaints/{}",
                second.body["filed_id"].as_str().unwrap()
            ),
            &spouse,
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["complaint"]["merged_into"], first_id.as_str());
    let theirs = h
        .get(&format!("/api/v1/complaints/{first_id}"), &spouse)
        .await;
    assert_eq!(theirs.status, 404);
    // The first filer sees it was reported again.
    let seen = h
        .get(&format!("/api/v1/complaints/{first_id}"), &h.resident(1))
        .await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["timeline"][1]["event"], "repeat_recorded");

    // More than a day after the open complaint was filed, a new report opens a new complaint.
    h.clock.advance(Duration::hours(2));
    let next_day = h
        .post("/api/v1/complaints", &h.resident(3), &cold("HL01-0003"))
        .await;
    assert_eq!(next_day.status, 201, "{}", next_day.body);
    assert_ne!(next_day.body["complaint_id"], first_id.as_str());
}

#[actix_web::test]
async fn an_address_the_registry_does_not_know_is_accepted_unrouted_and_routed_by_a_dispatcher() {
    let h = Harness::start().await;
    let body = json!({"category": "no_heat", "address": "铁西区兴华街99号"});
    let filed = h.post("/api/v1/complaints", &h.resident(1), &body).await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert_eq!(filed.body["routed"], false);
    let id = filed.body["complaint_id"].as_str().unwrap().to_owned();
    let dispatcher = h.token(Role::Dispatcher, "disp-1");
    let waiting = h.get("/api/v1/complaints/unrouted", &dispatcher).await;
    assert_eq!(waiting.body[0]["complaint_id"], id.as_str());
    let unknown = h
        .post(
            &format!("/api/v1/complaints/{id}/route"),
            &dispatcher,
            &json!({"building_id": "XX"}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    let routed = h
        .post(
            &format!("/api/v1/complaints/{id}/route"),
            &dispatcher,
            &json!({"building_id": "SH-001"}),
        )
        .await;
    assert_eq!(routed.status, 200, "{}", routed.body);
    assert_eq!(routed.body["supplier_id"], "sup-east");
    let again = h
        .post(
            &format!("/api/v1/complaints/{id}/route"),
            &dispatcher,
            &json!({"building_id": "SH-001"}),
        )
        .await;
    assert_eq!(again.body["code"], "already_routed");
    // An address inside a registered building routes by its longest known prefix.
    let by_address = json!({"category": "no_heat", "address": "和平区 南京路１００号2栋3单元501"});
    let filed = h
        .post("/api/v1/complaints", &h.resident(2), &by_address)
        .await;
    let id = filed.body["complaint_id"].as_str().unwrap();
    let view = h
        .get(&format!("/api/v1/complaints/{id}"), &dispatcher)
        .await;
    assert_eq!(view.body["complaint"]["building_id"], "HP-002");
}

#[actix_web::test]
async fn a_resident_filing_more_than_ten_complaints_an_hour_is_told_to_wait() {
    let h = Harness::start().await;
    let token = h.resident(1);
    for n in 0..10 {
        let filed = h
            .post(
                "/api/v1/complaints",
                &token,
                &cold(&format!("HL01-1{n:03}")),
            )
            .await;
        assert_eq!(filed.status, 201, "{n}: {}", filed.body);
        h.clock.advance(Duration::minutes(1));
    }
    let eleventh = h
        .post("/api/v1/complaints", &token, &cold("HL01-2000"))
        .await;
    assert_eq!(eleventh.status, 429);
    assert_eq!(eleventh.body["code"], "too_many_complaints");
    let wait: i64 = eleventh.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        wait,
        50 * 60,
        "the first of the ten frees a place an hour after it"
    );
    h.clock.advance(Duration::minutes(51));
    let later = h
        .post("/api/v1/complaints", &token, &cold("HL01-2000"))
        .await;
    assert_eq!(later.status, 201);
}

#[actix_web::test]
async fn an_operator_is_not_held_to_the_hourly_limit() {
    let h = Harness::start().await;
    let operator = h.token(Role::Operator, "op-busy");
    for n in 0..12 {
        let call = json!({
            "category": "no_heat",
            "address": format!("沈河区北站路{n}号1单元101"),
            "caller_phone": format!("0242345{n:04}"),
        });
        let filed = h.post("/api/v1/hotline/complaints", &operator, &call).await;
        assert_eq!(filed.status, 201, "call {n}: {}", filed.body);
        h.clock.advance(Duration::minutes(1));
    }
}

#[actix_web::test]
async fn a_resident_withdraws_their_own_open_complaint_only() {
    let h = Harness::start().await;
    let token = h.resident(1);
    let filed = h
        .post("/api/v1/complaints", &token, &cold("HL01-0020"))
        .await;
    let id = filed.body["complaint_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/complaints/{id}/withdraw");
    let stranger = h
        .post(&path, &h.resident(2), &json!({"reason": "mine now"}))
        .await;
    assert_eq!(stranger.status, 404);
    let done = h
        .post(&path, &token, &json!({"reason": "warm again"}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "withdrawn");
    let twice = h.post(&path, &token, &json!({})).await;
    assert_eq!(
        (twice.status, twice.body["code"].as_str()),
        (409, Some("complaint_closed"))
    );
    // A withdrawn complaint no longer takes repeats: the next report opens a new one.
    let next = h
        .post("/api/v1/complaints", &token, &cold("HL01-0020"))
        .await;
    assert_eq!(next.status, 201);
}

#[actix_web::test]
async fn an_operator_files_for_a_caller_and_finds_the_repeat_caller_by_phone() {
    let h = Harness::start().await;
    let operator = h.token(Role::Operator, "op-7");
    let call = json!({
        "category": "no_heat",
        "address": "沈河区北站路8号5单元302",
        "caller_phone": "024-2345 6789",
        "description": "elderly caller, no heat at all",
    });
    let missing_phone = h
        .post(
            "/api/v1/hotline/complaints",
            &operator,
            &json!({"category": "no_heat", "address": "沈河区北站路8号"}),
        )
        .await;
    assert_eq!(missing_phone.status, 422);
    assert_eq!(missing_phone.body["details"][0]["field"], "caller_phone");
    let filed = h.post("/api/v1/hotline/complaints", &operator, &call).await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let found = h
        .get("/api/v1/complaints/search?phone=02423456789", &operator)
        .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.body[0]["complaint_id"], filed.body["complaint_id"]);
    assert_eq!(found.body[0]["source"], "hotline_operator");
    // What the operator sees is masked until revealed, and every reveal is on record.
    assert_eq!(found.body[0]["masked"], true);
    assert_eq!(found.body[0]["contact_phone"], "024******89");
    assert_eq!(found.body[0]["address"], "沈河区北站路8号 ***");
    let id = found.body[0]["complaint_id"].as_str().unwrap().to_owned();
    let reveal = format!("/api/v1/complaints/{id}/contact");
    let unexplained = h.post(&reveal, &operator, &json!({})).await;
    assert_eq!(unexplained.status, 422, "{}", unexplained.body);
    assert_eq!(unexplained.body["details"][0]["field"], "reason");
    let revealed = h
        .post(
            &reveal,
            &operator,
            &json!({"reason": "calling the caller back"}),
        )
        .await;
    assert_eq!(revealed.status, 200, "{}", revealed.body);
    assert_eq!(revealed.body["contact_phone"], "02423456789");
    assert_eq!(revealed.body["address"], "沈河区北站路8号5单元302");
    let stranger = h
        .post(&reveal, &h.resident(1), &json!({"reason": "curious"}))
        .await;
    assert_eq!(stranger.status, 403);
    let regulator = h.token(Role::Regulator, "reg-1");
    let log = h
        .get(
            &format!("/api/v1/contact-reveals?complaint_id={id}"),
            &regulator,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the refused reveals are not on record: {}",
        log.body
    );
    assert_eq!(
        (items[0]["account"].as_str(), items[0]["role"].as_str()),
        (Some("op-7"), Some("operator"))
    );
    assert_eq!(items[0]["reason"], "calling the caller back");
    assert_eq!(items[0]["reveal_id"], revealed.body["reveal_id"]);
    assert_eq!(
        h.get("/api/v1/contact-reveals", &operator).await.status,
        403
    );
    let timeline = h.get(&format!("/api/v1/complaints/{id}"), &operator).await;
    let last = timeline.body["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event"], "contact_revealed");
    assert_eq!(timeline.body["complaint"]["contact_phone"], "024******89");
    let by_address = h
        .get("/api/v1/complaints/search?address=沈河区北站路", &operator)
        .await;
    assert_eq!(by_address.body.as_array().unwrap().len(), 1);
    let nothing = h.get("/api/v1/complaints/search", &operator).await;
    assert_eq!(nothing.body["code"], "invalid_search");
    let resident = h
        .get(
            "/api/v1/complaints/search?phone=02423456789",
            &h.resident(1),
        )
        .await;
    assert_eq!(resident.status, 403);
    let reject = h
        .post(
            &format!(
                "/api/v1/complaints/{}/reject",
                filed.body["complaint_id"].as_str().unwrap()
            ),
            &operator,
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(reject.status, 422);
}

#[actix_web::test]
async fn simultaneous_reports_of_one_home_become_one_complaint_and_retries_one_filing() {
    let h = Harness::start().await;
    let reports = (1..=20).map(|n| {
        let token = h.resident(n);
        let h = &h;
        async move {
            h.post("/api/v1/complaints", &token, &cold("HL02-7777"))
                .await
        }
    });
    let replies = futures_util::future::join_all(reports).await;
    let accepted: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        accepted.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let id = accepted[0].body["complaint_id"].clone();
    for reply in &replies {
        assert_eq!(reply.body["complaint_id"], id);
    }

    let token = h.resident(99);
    let retries = (0..10).map(|_| {
        let token = token.clone();
        let h = &h;
        async move {
            h.post_with(
                "/api/v1/complaints",
                &token,
                &cold("HL02-8888"),
                &[("idempotency-key", "tap-tap-tap")],
            )
            .await
        }
    });
    let replies = futures_util::future::join_all(retries).await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.body, replies[0].body);
    }
    assert_eq!(h.complaint_rows().await, 21);
}

#[tokio::test]
async fn a_complaint_that_joins_a_ticket_is_told_so_and_the_others_on_it_are_not() {
    use contracts::dispatch::v1 as dispatch;
    let h = Harness::start().await;
    let first = h
        .post("/api/v1/complaints", &h.resident(1), &cold("HL01-0001"))
        .await;
    let second = h
        .post("/api/v1/complaints", &h.resident(2), &cold("HL01-0002"))
        .await;
    let first = first.body["complaint_id"].as_str().unwrap().to_owned();
    let second = second.body["complaint_id"].as_str().unwrap().to_owned();
    let ticket = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now().timestamp_millis();
    testkit::log::publish(
        &h.store,
        "ticket",
        &ticket,
        &dispatch::TicketOpened {
            ticket_id: ticket.clone(),
            origin: "complaint".into(),
            complaint_ids: vec![first.clone()],
            opened_at_ms: now,
            ..Default::default()
        },
    )
    .await;
    testkit::log::publish(
        &h.store,
        "ticket",
        &ticket,
        &dispatch::ComplaintAttached {
            ticket_id: ticket.clone(),
            complaint_id: second.clone(),
            household: "h2".into(),
            attached_at_ms: now,
        },
    )
    .await;
    let regulator = h.token(Role::Regulator, "reg");
    let events = |id: String| {
        let (h, regulator) = (&h, &regulator);
        async move {
            let one = h.get(&format!("/api/v1/complaints/{id}"), regulator).await;
            one.body["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .map(|step| step["event"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    h.eventually("the second complaint is told it joined", || async {
        events(second.clone())
            .await
            .contains(&"attached".to_owned())
    })
    .await;
    let steps = events(first.clone()).await;
    assert!(steps.contains(&"ticket_opened".to_owned()), "{steps:?}");
    assert!(!steps.contains(&"attached".to_owned()), "{steps:?}");
}
