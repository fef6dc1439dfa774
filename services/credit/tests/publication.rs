//! Publishing grades: only a closed period's grade is published, by a regulator, once; the
//! public board shows published grades and nothing provisional, to anyone, without a token.

mod support;

use serde_json::{Value, json};
use support::Harness;
use testkit::api::eventually;

/// An anonymous read of `path`, which anyone may cache for a minute.
async fn anonymous(h: &Harness, path: &str) -> Value {
    let reply = h
        .api
        .send(reqwest::Method::GET, path, None, None, &[])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.headers["cache-control"], "public, max-age=60",
        "{path} may be cached"
    );
    reply.body
}

async fn public(h: &Harness) -> Value {
    anonymous(h, "/api/v1/credit/public/seasons/2026-2027").await
}

fn grades<'a>(board: &'a Value, supplier: &str) -> &'a Vec<Value> {
    board["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["supplier_id"] == supplier)
        .unwrap()["grades"]
        .as_array()
        .unwrap()
}

#[tokio::test]
async fn only_closed_periods_are_published_and_only_published_grades_are_public() {
    let h = Harness::start().await;
    let publish = |period: &str| {
        let h = &h;
        let body = json!({ "period": period });
        async move {
            h.api
                .post(
                    "/api/v1/credit/seasons/2026-2027/publications",
                    &h.regulator(),
                    &body,
                )
                .await
        }
    };
    // No ledger yet: nothing is closed, nothing can be published.
    let refused = publish("2026-11").await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.body["code"], "not_closed");

    // A deduction in December; November closes with the grade it had at its end.
    let adjusted = h
        .api
        .post(
            "/api/v1/credit/seasons/2026-2027/suppliers/north-heat/adjustments",
            &h.regulator(),
            &json!({"dimension": "satisfaction", "points": -12,
                    "justification": "residents' verdicts were collected by the supplier itself"}),
        )
        .await;
    assert_eq!(adjusted.status, 201, "{}", adjusted.body);
    eventually("November is closed", || async {
        h.score("north-heat", "").await["closings"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    })
    .await;
    let score = h.score("north-heat", "").await;
    assert_eq!(score["grade"], "B", "88 points now: {score}");
    assert_eq!(score["closings"][0]["grade"], "A");
    assert_eq!(score["closings"][0]["published_at"], Value::Null);

    // Closed is not public: the board shows no grade until the regulator publishes.
    let board = public(&h).await;
    assert!(grades(&board, "north-heat").is_empty(), "{board}");
    assert!(grades(&board, "east-heat").is_empty());

    // A supplier cannot publish; December is not closed.
    let theirs = h
        .api
        .post(
            "/api/v1/credit/seasons/2026-2027/publications",
            &h.supplier("north-heat"),
            &json!({"period": "2026-11"}),
        )
        .await;
    assert_eq!(theirs.status, 403);
    let december = publish("2026-12").await;
    assert_eq!(december.status, 409, "{}", december.body);
    let empty = publish("").await;
    assert_eq!(empty.status, 422, "{}", empty.body);

    let published = publish("2026-11").await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(published.body["published"], json!(["north-heat"]));
    let board = public(&h).await;
    let north = grades(&board, "north-heat");
    assert_eq!(north.len(), 1);
    assert_eq!(north[0]["period"], "2026-11");
    assert_eq!(
        north[0]["grade"], "A",
        "the grade at November's end, not today's B"
    );
    assert_eq!(north[0]["is_final"], false);
    assert!(grades(&board, "east-heat").is_empty());
    assert!(board["city"]["complaints"].is_number());
    let text = board.to_string();
    assert!(!text.contains("justification") && !text.contains("verdicts were collected"));

    // Publishing again is a no-op, said as such.
    let again = publish("2026-11").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["already"], json!(["north-heat"]));
    assert_eq!(grades(&public(&h).await, "north-heat").len(), 1);
    assert!(h.score("north-heat", "").await["closings"][0]["published_at"].is_string());

    // The decision is on the ledger's log, by the regulator.
    let client = h.store.pool().get().await.unwrap();
    let by: String = client
        .query_one(
            "SELECT metadata->'actor'->>'role' FROM eventstore.event \
             WHERE event_type = 'PeriodPublished'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, "regulator");
}

async fn names(h: &Harness) -> Value {
    anonymous(h, "/api/v1/credit/public/suppliers").await
}

#[tokio::test]
async fn anyone_reads_the_suppliers_names_and_nothing_else_of_the_registry() {
    let h = Harness::start().await;
    assert_eq!(
        names(&h).await,
        json!([
            {"supplier_id": "east-heat", "name": "East Heat Co."},
            {"supplier_id": "north-heat", "name": "North Heat Co."},
        ]),
        "ids and names only: no contact, districts or area"
    );

    // A renamed supplier is read by its new name.
    credit::registry::import(
        h.store.pool(),
        "supplier_id,name,districts,heated_area_m2,contact\n\
         east-heat,东部热力公司,dadong,500000,024-3333-0000\n"
            .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(names(&h).await[0]["name"], "东部热力公司");
}
