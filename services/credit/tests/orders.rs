//! Cold-snap orders: the regulator issues one to the suppliers serving its districts, each
//! acknowledges once, the regulator sees who has not; a retried request issues it once.

mod support;

use serde_json::json;
use support::Harness;

#[tokio::test]
async fn an_order_reaches_the_suppliers_of_its_districts_and_each_acknowledges_once() {
    let h = Harness::start().await;
    let order = json!({
        "districts": ["heping"],
        "from": "2026-12-11T00:00:00+08:00",
        "until": "2026-12-13T00:00:00+08:00",
        "instruction": "寒潮将至：11日零时起一级网供水温度提高到 95 °C",
    });
    let issued = h
        .api
        .post_with(
            "/api/v1/credit/cold-snap-orders",
            &h.regulator(),
            &order,
            &[("idempotency-key", "cold-wave-1")],
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let id = issued.body["order_id"].as_str().unwrap().to_owned();
    assert_eq!(issued.body["suppliers"][0]["supplier_id"], "north-heat");
    assert_eq!(issued.body["suppliers"].as_array().unwrap().len(), 1);
    assert_eq!(issued.body["unacknowledged"], 1);
    // The same request again (a retry): the same order, not a second one.
    let again = h
        .api
        .post_with(
            "/api/v1/credit/cold-snap-orders",
            &h.regulator(),
            &order,
            &[("idempotency-key", "cold-wave-1")],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["order_id"], id.as_str());

    // Bad orders say what is wrong.
    let bad = h
        .api
        .post(
            "/api/v1/credit/cold-snap-orders",
            &h.regulator(),
            &json!({"districts": [], "from": "tomorrow", "until": "2026-12-30T00:00:00Z",
                    "instruction": "热"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["districts", "from", "instruction"]);
    let unserved = h
        .api
        .post(
            "/api/v1/credit/cold-snap-orders",
            &h.regulator(),
            &json!({"districts": ["nowhere"], "from": "2026-12-11T00:00:00Z",
                    "until": "2026-12-12T00:00:00Z", "instruction": "raise the supply temperature"}),
        )
        .await;
    assert_eq!(unserved.status, 422, "{}", unserved.body);

    // Only the addressed supplier acknowledges, once; others do not even see it.
    let path = format!("/api/v1/credit/cold-snap-orders/{id}/acknowledgements");
    let east = h
        .api
        .post(&path, &h.supplier("east-heat"), &json!({}))
        .await;
    assert_eq!(east.status, 403, "{}", east.body);
    let east_list = h
        .api
        .get("/api/v1/credit/cold-snap-orders", &h.supplier("east-heat"))
        .await;
    assert_eq!(east_list.body, json!([]));
    let regulator_ack = h.api.post(&path, &h.regulator(), &json!({})).await;
    assert_eq!(regulator_ack.status, 403);
    let acked = h
        .api
        .post(&path, &h.supplier("north-heat"), &json!({"note": "已调整"}))
        .await;
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert_eq!(acked.body["unacknowledged"], 0);
    assert_eq!(acked.body["suppliers"][0]["note"], "已调整");
    let twice = h
        .api
        .post(&path, &h.supplier("north-heat"), &json!({}))
        .await;
    assert_eq!(twice.status, 409);
    let listed = h
        .api
        .get("/api/v1/credit/cold-snap-orders", &h.regulator())
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(listed.body[0]["suppliers"][0]["acknowledged_at"].is_string());
}
