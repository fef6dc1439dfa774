//! Incidents: cold homes of one building within two hours declare one, a home filed while it
//! is open joins it, and homes spread over more time declare none.

use super::*;

#[actix_web::test]
async fn five_cold_households_of_one_building_within_two_hours_declare_one_incident() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for n in 1..=6 {
        let filed = h
            .post(
                "/api/v1/complaints",
                &h.resident(n),
                &cold(&format!("HL01-5{n:03}")),
            )
            .await;
        ids.push(filed.body["complaint_id"].as_str().unwrap().to_owned());
        h.clock.advance(Duration::minutes(10));
    }
    let store = h.store.clone();
    h.eventually("the incident is declared and joined", || {
        let store = store.clone();
        async move {
            let events = store.read_published(Default::default(), 100).await.unwrap();
            events.iter().any(|e| e.is::<proto::IncidentJoined>())
        }
    })
    .await;
    let events = h
        .store
        .read_published(Default::default(), 100)
        .await
        .unwrap();
    let declared: Vec<proto::IncidentDeclared> = events
        .iter()
        .filter(|e| e.is::<proto::IncidentDeclared>())
        .map(|e| e.decode().unwrap())
        .collect();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].scope, "building");
    assert_eq!(declared[0].complaint_ids, ids[..5]);
    assert_eq!(declared[0].route.as_ref().unwrap().building_id, "HP-001");
    let joined: proto::IncidentJoined = events
        .iter()
        .find(|e| e.is::<proto::IncidentJoined>())
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(joined.complaint_id, ids[5]);
    assert_eq!(joined.incident_id, declared[0].incident_id);
    let view = h
        .get(&format!("/api/v1/complaints/{}", ids[0]), &h.resident(1))
        .await;
    assert_eq!(
        view.body["complaint"]["incident_id"],
        declared[0].incident_id.as_str()
    );
    assert_eq!(view.body["timeline"][1]["event"], "joined_incident");
}

#[actix_web::test]
async fn a_cold_home_filed_while_its_buildings_incident_is_open_joins_it_at_filing() {
    let h = Harness::start().await;
    let file = |n: u32| {
        let h = &h;
        async move {
            let filed = h
                .post(
                    "/api/v1/complaints",
                    &h.resident(n),
                    &cold(&format!("HL01-8{n:03}")),
                )
                .await;
            assert_eq!(filed.status, 201, "{}", filed.body);
            filed.body["complaint_id"].as_str().unwrap().to_owned()
        }
    };
    let accepted = |id: String| {
        let store = h.store.clone();
        async move {
            for _ in 0..100 {
                let events = store.read_published(Default::default(), 200).await.unwrap();
                let found = events
                    .iter()
                    .filter(|e| e.is::<proto::ComplaintAccepted>())
                    .map(|e| e.decode::<proto::ComplaintAccepted>().unwrap())
                    .find(|a| a.complaint_id == id);
                if let Some(found) = found {
                    return found;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!(
                "{id} was not accepted: {events:?}",
                events = store
                    .read_published(Default::default(), 200)
                    .await
                    .unwrap()
                    .len()
            );
        }
    };
    // Whether the incident's own stream records the member, and whether the log said more
    // than the acceptance did (neither: the acceptance is the record).
    let joined = |id: String| {
        let store = h.store.clone();
        async move {
            let client = store.pool().get().await.unwrap();
            let row = client
                .query_opt(
                    "SELECT aggregate_id, (payload->'Joined'->>'named_at_filing')::boolean \
                     FROM eventstore.event WHERE event_type = 'IncidentJoined' \
                     AND payload->'Joined'->'member'->>'complaint_id' = $1",
                    &[&id],
                )
                .await
                .unwrap();
            row.map(|r| (r.get::<_, String>(0), r.get::<_, Option<bool>>(1)))
        }
    };
    let published_joined = |id: String| {
        let store = h.store.clone();
        async move {
            let events = store.read_published(Default::default(), 200).await.unwrap();
            events
                .iter()
                .filter(|e| e.is::<proto::IncidentJoined>())
                .map(|e| e.decode::<proto::IncidentJoined>().unwrap())
                .any(|j| j.complaint_id == id)
        }
    };
    for n in 1..=5 {
        let id = file(n).await;
        assert_eq!(accepted(id).await.joins_incident_id, "");
        h.clock.advance(Duration::minutes(10));
    }
    let declared: Vec<proto::IncidentDeclared> =
        h.until_published("the incident is declared", 1).await;
    let incident = declared[0].incident_id.clone();
    // Ten minutes after the last member, and then exactly the window after the one before:
    // each says at filing which incident it joins, and joins it.
    for (n, wait) in [(6, 0), (7, 120)] {
        h.clock.advance(Duration::minutes(wait));
        let id = file(n).await;
        assert_eq!(accepted(id.clone()).await.joins_incident_id, incident);
        // The watcher has read it (it moved the incident's last arrival, which the next
        // filing's window starts from) and recorded nothing more: its acceptance is the
        // membership's record, and told the world.
        h.until_watcher_caught_up().await;
        assert_eq!(joined(id.clone()).await, None);
        assert!(!published_joined(id.clone()).await);
        // The resident sees it from the first answer on: one step, not a second one.
        let view = h
            .get(&format!("/api/v1/complaints/{id}"), &h.resident(n))
            .await;
        assert_eq!(view.body["complaint"]["incident_id"], incident.as_str());
        let timeline = view.body["timeline"].as_array().unwrap();
        assert_eq!(timeline.len(), 1, "{timeline:?}");
        assert_eq!(timeline[0]["event"], "accepted");
        assert!(
            timeline[0]["note"].as_str().unwrap().contains(&incident),
            "{timeline:?}"
        );
    }
    // A minute past the window, the incident takes no one more.
    h.clock.advance(Duration::minutes(121));
    let late = file(8).await;
    assert_eq!(accepted(late.clone()).await.joins_incident_id, "");
    h.until_watcher_caught_up().await;
    assert!(joined(late.clone()).await.is_none());
    assert!(!published_joined(late).await);
}

#[actix_web::test]
async fn households_spread_over_more_than_two_hours_declare_no_incident() {
    let h = Harness::start().await;
    for n in 1..=5 {
        h.post(
            "/api/v1/complaints",
            &h.resident(n),
            &cold(&format!("HL02-6{n:03}")),
        )
        .await;
        h.clock.advance(Duration::minutes(40));
    }
    let marker = h
        .post(
            "/api/v1/complaints",
            &h.resident(9),
            &json!({"category": "billing", "address": "沈河区北站路8号"}),
        )
        .await;
    assert_eq!(marker.status, 201);
    h.until_watcher_caught_up().await;
    let events = h
        .store
        .read_published(Default::default(), 100)
        .await
        .unwrap();
    assert!(!events.iter().any(|e| e.is::<proto::IncidentDeclared>()));
}
