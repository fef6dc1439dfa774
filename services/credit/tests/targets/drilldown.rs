//! Beyond the board's figures: the tickets behind a figure, the retrofit list and the map, over
//! the same season.

use super::*;

#[tokio::test]
async fn the_tickets_behind_a_figure_worst_first() {
    let h = Harness::start().await;
    season(&h).await;
    let behind = |query: &'static str| {
        let h = &h;
        async move {
            let reply = h
                .api
                .get(
                    &format!("/api/v1/credit/seasons/2026-2027/targets/tickets?{query}"),
                    &h.regulator(),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body
        }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["ticket_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let cold = behind("figure=below_standard").await;
    assert_eq!(ids(&cold), ["t2", "t1"], "the coldest reading first");
    close(&cold["items"][0]["value"], 16.0);
    assert_eq!(cold["total"], 2);
    let cold_week = behind("figure=below_standard&week=true").await;
    assert_eq!(ids(&cold_week), ["t2"]);
    let late = behind("figure=late_sign").await;
    assert_eq!(ids(&late), ["t3", "t2"], "t3 still unsigned a day on");
    close(&late["items"][1]["value"], 60.0);
    assert_eq!(ids(&behind("figure=incidents_open").await), ["t3"]);
    assert_eq!(ids(&behind("figure=unsatisfied").await), ["t1"]);
    assert_eq!(
        ids(&behind("figure=open&district=%E5%A4%A7%E4%B8%9C%E5%8C%BA").await),
        ["t3", "t4"],
        "the oldest first"
    );
    let restored = behind("figure=restored&limit=1").await;
    assert_eq!(ids(&restored), ["t2"], "the longest first");
    assert_eq!(restored["total"], 2);

    let reply = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/targets/tickets?figure=warmth",
            &h.regulator(),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    // A supplier reads its own ledger, not the city's board.
    let reply = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/targets",
            &h.supplier("north-heat"),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[tokio::test]
async fn the_retrofit_list_ranks_buildings_by_complaints_with_their_causes() {
    let h = Harness::start().await;
    season(&h).await;
    let reply = h
        .api
        .get("/api/v1/credit/seasons/2026-2027/retrofit", &h.regulator())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list = reply.body.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let first = &list[0];
    assert_eq!(first["rank"], 1);
    assert_eq!(first["building_id"], "和平区-b1");
    assert_eq!(first["complaints"], 3);
    assert_eq!(first["households"], 2, "c4 was c1's home calling again");
    assert_eq!(first["repeat_households"], 1);
    assert_eq!(first["incidents"], 0);
    assert_eq!(first["below_standard"], 2, "17.5 and 16.0");
    assert_eq!(
        first["causes"],
        serde_json::json!([{"cause": "supplier", "tickets": 2}])
    );
    let second = &list[1];
    assert_eq!(second["building_id"], "大东区-b1");
    assert_eq!(
        second["complaints"], 1,
        "the refused complaint does not count"
    );
    assert_eq!(second["incidents"], 1);
    assert_eq!(second["causes"], serde_json::json!([]));
    let bad = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/retrofit?limit=0",
            &h.regulator(),
        )
        .await;
    assert_eq!(bad.status, 422);
}

#[tokio::test]
async fn the_map_counts_complaints_and_open_incidents_by_district_and_station() {
    let h = Harness::start().await;
    season(&h).await;
    // A second station in 和平区 with one complaint this season, routed to another building.
    h.publish(
        "c6",
        &intake::ComplaintAccepted {
            complaint_id: "c6".into(),
            category: intake::Category::LowTemperature.into(),
            source: intake::Source::App.into(),
            household: "household-c6".into(),
            route: Some(intake::Route {
                routed: true,
                building_id: "和平区-b9".into(),
                station: "和平区-s2".into(),
                district: "和平区".into(),
                supplier_id: "north-heat".into(),
            }),
            filed_at_ms: at("2026-11-25T00:00:00Z"),
            ..Default::default()
        },
    )
    .await;
    h.targets_caught_up().await;
    let reply = h
        .api
        .get("/api/v1/credit/seasons/2026-2027/map", &h.regulator())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let districts = reply.body["districts"].as_array().unwrap();
    let names: Vec<&str> = districts
        .iter()
        .map(|d| d["district"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["和平区", "大东区"]);
    let heping = &districts[0];
    assert_eq!(heping["complaints"], 4, "c1, merged c4, c2 and c6");
    assert_eq!(heping["complaints_week"], 1, "c2");
    assert_eq!(heping["open_tickets"], 1, "t2");
    let stations = heping["stations"].as_array().unwrap();
    assert_eq!(stations.len(), 2);
    assert_eq!(
        stations[0]["station"], "和平区-s1",
        "the most complained of first"
    );
    assert_eq!(stations[0]["complaints"], 3);
    assert_eq!(stations[0]["buildings"], 1);
    assert_eq!(stations[0]["supplier_id"], "north-heat");
    assert_eq!(stations[1]["station"], "和平区-s2");
    assert_eq!(stations[1]["complaints"], 1);
    assert_eq!(stations[1]["open_tickets"], 0);
    let dadong = &districts[1];
    assert_eq!(dadong["complaints"], 1, "the refused c5 is not one");
    assert_eq!(dadong["open_tickets"], 2, "t3 and t4");
    assert_eq!(dadong["incidents_open"], 1, "t3");

    let refused = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/map",
            &h.supplier("north-heat"),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}
