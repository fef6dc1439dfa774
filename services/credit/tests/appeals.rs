//! Appeals, regulators' own entries, and who may see and decide what.

mod support;

use base64::Engine;
use serde_json::{Value, json};
use support::{Harness, season};
use testkit::api::eventually;

async fn entry(h: &Harness, evidence_of: uuid::Uuid) -> Value {
    h.ledger("north-heat")
        .await
        .into_iter()
        .find(|e| e["evidence"].to_string().contains(&evidence_of.to_string()))
        .unwrap()
}

async fn appeal(h: &Harness, entry_id: &Value, token: &str, body: Value) -> testkit::api::Reply {
    let path = format!(
        "/api/v1/credit/entries/{}/appeals",
        entry_id.as_str().unwrap()
    );
    h.api.post(&path, token, &body).await
}

async fn decide(h: &Harness, appeal_id: &Value, token: &str, body: Value) -> testkit::api::Reply {
    let path = format!(
        "/api/v1/credit/appeals/{}/decision",
        appeal_id.as_str().unwrap()
    );
    h.api.post(&path, token, &body).await
}

fn pdf() -> String {
    base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7\n% the crew's duty log\n")
}

#[tokio::test]
async fn an_upheld_appeal_reverses_its_entry_by_a_new_one_and_a_rejected_one_changes_nothing() {
    let h = Harness::start().await;
    let story = season(&h).await;
    h.caught_up().await;
    let supplier = h.supplier("north-heat");
    let breach = entry(&h, story.id("t5.restore_breach")).await;
    assert_eq!(breach["points"], -2.0);
    let filed = appeal(
        &h,
        &breach["entry_id"],
        &supplier,
        json!({
            "statement": "The restore clock ran while the resident kept the crew out.",
            "attachments": [{"file_name": "duty-log.pdf", "content_base64": pdf()}],
        }),
    )
    .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert_eq!(filed.body["status"], "pending");
    assert!(
        filed.body["attachments"][0]
            .as_str()
            .unwrap()
            .ends_with(".pdf")
    );
    let again = appeal(
        &h,
        &breach["entry_id"],
        &supplier,
        json!({"statement": "A second objection to the same entry."}),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "already_appealed");

    let by_supplier = decide(
        &h,
        &filed.body["appeal_id"],
        &supplier,
        json!({"upheld": true, "reason": "we say so"}),
    )
    .await;
    assert_eq!(by_supplier.status, 403);
    let upheld = decide(
        &h,
        &filed.body["appeal_id"],
        &h.regulator(),
        json!({"upheld": true, "reason": "The access refusal is on the resident's record."}),
    )
    .await;
    assert_eq!(upheld.status, 200, "{}", upheld.body);
    assert_eq!(upheld.body["status"], "upheld");
    let twice = decide(
        &h,
        &filed.body["appeal_id"],
        &h.regulator(),
        json!({"upheld": false, "reason": "changed mind"}),
    )
    .await;
    assert_eq!(twice.body["code"], "already_decided");

    // The scorer sees the decision in the log and records the reversal; nothing is edited.
    eventually("the reversal is recorded", || async {
        h.ledger("north-heat")
            .await
            .iter()
            .any(|e| e["reverses"] == breach["entry_id"])
    })
    .await;
    let ledger = h.ledger("north-heat").await;
    let reversal = ledger
        .iter()
        .find(|e| e["reverses"] == breach["entry_id"])
        .unwrap();
    assert_eq!(reversal["rule"], "appeal_reversal");
    assert_eq!(reversal["points"], 2.0);
    assert!(ledger.iter().any(|e| e
        == &{
            let mut original = breach.clone();
            original["appeal"] = json!("upheld");
            original
        }));
    let score = h.score("north-heat", "").await;
    assert_eq!(score["score"], 79.78);

    // A rejected appeal leaves the score as it was.
    let sign = entry(&h, story.id("t1.sign_breach")).await;
    let filed = appeal(
        &h,
        &sign["entry_id"],
        &supplier,
        json!({"statement": "The ticket reached us late through no fault of ours."}),
    )
    .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let rejected = decide(
        &h,
        &filed.body["appeal_id"],
        &h.regulator(),
        json!({"upheld": false, "reason": "The dispatch record shows it on time."}),
    )
    .await;
    assert_eq!(rejected.body["status"], "rejected");
    h.caught_up().await;
    assert_eq!(h.score("north-heat", "").await["score"], 79.78);
    let appeals = h
        .api
        .get("/api/v1/credit/seasons/2026-2027/appeals", &supplier)
        .await;
    assert_eq!(appeals.body.as_array().unwrap().len(), 2);
    assert!(appeals.body[1]["reversal_entry_id"].is_string());
}

#[tokio::test]
async fn an_appeal_is_refused_after_the_window_for_another_supplier_and_with_bad_files() {
    let h = Harness::start().await;
    let story = season(&h).await;
    h.caught_up().await;
    let breach = entry(&h, story.id("t5.restore_breach")).await;
    let path = format!(
        "/api/v1/credit/entries/{}/appeals",
        breach["entry_id"].as_str().unwrap()
    );
    let statement = "The restore clock ran while the resident kept the crew out.";
    let other = h
        .api
        .post(
            &path,
            &h.supplier("east-heat"),
            &json!({"statement": statement}),
        )
        .await;
    assert_eq!(other.status, 403);
    let text_as_png = base64::engine::general_purpose::STANDARD.encode(b"not an image at all");
    let bad = h
        .api
        .post(
            &path,
            &h.supplier("north-heat"),
            &json!({"statement": "short", "attachments": [{"content_base64": text_as_png}, {"content_base64": "%%%"}]}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let fields: Vec<&str> = bad.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["statement", "attachments[0]", "attachments[1]"]);
    // Ten working days after 10 December 2026 is 24 December; on the 28th it is too late.
    h.clock.advance(chrono::Duration::days(18));
    let late = h
        .api
        .post(
            &path,
            &h.supplier("north-heat"),
            &json!({"statement": statement}),
        )
        .await;
    assert_eq!(late.status, 409);
    assert_eq!(late.body["code"], "appeal_window_closed");
    let unknown = h
        .api
        .post(
            &format!("/api/v1/credit/entries/{}/appeals", uuid::Uuid::now_v7()),
            &h.supplier("north-heat"),
            &json!({"statement": statement}),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_veto_forces_grade_d_until_an_upheld_appeal_lifts_it() {
    let h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    let path = "/api/v1/credit/seasons/2026-2027/suppliers/north-heat/vetoes";
    let missing = h
        .api
        .post(path, &h.regulator(), &json!({"rule": "supply_reduction"}))
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.body["details"][0]["field"], "justification");
    let by_supplier = h
        .api
        .post(
            path,
            &h.supplier("north-heat"),
            &json!({"rule": "supply_reduction", "justification": "x".repeat(30)}),
        )
        .await;
    assert_eq!(by_supplier.status, 403);
    let veto = h
        .api
        .post(
            path,
            &h.regulator(),
            &json!({
                "rule": "supply_reduction",
                "justification": "Station HP-S1 ran 8 ℃ below its curve for three nights (inspection 2026-12-09).",
                "ticket_ids": ["t1"],
            }),
        )
        .await;
    assert_eq!(veto.status, 201, "{}", veto.body);
    assert_eq!(veto.body["rule"], "veto.supply_reduction");
    let score = h.score("north-heat", "").await;
    assert_eq!(score["grade"], "D");
    assert_eq!(score["vetoed"], true);
    assert_eq!(score["score"], 77.78);

    let appeal = appeal(
        &h,
        &veto.body["entry_id"],
        &h.supplier("north-heat"),
        json!({"statement": "The station was throttled on the heat source's order, attached."}),
    )
    .await;
    assert_eq!(appeal.status, 201, "{}", appeal.body);
    let decided = decide(
        &h,
        &appeal.body["appeal_id"],
        &h.regulator(),
        json!({"upheld": true, "reason": "The heat source's dispatch order is genuine."}),
    )
    .await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert!(decided.body["reversal_entry_id"].is_string());
    let score = h.score("north-heat", "").await;
    assert_eq!(score["grade"], "B");
    assert_eq!(score["vetoed"], false);
}

#[tokio::test]
async fn a_regulator_adjusts_only_with_a_justification_and_suppliers_see_only_themselves() {
    let h = Harness::start().await;
    season(&h).await;
    h.caught_up().await;
    let path = "/api/v1/credit/seasons/2026-2027/suppliers/north-heat/adjustments";
    let unjustified = h
        .api
        .post(
            path,
            &h.regulator(),
            &json!({"dimension": "satisfaction", "points": 2}),
        )
        .await;
    assert_eq!(unjustified.status, 422);
    assert_eq!(unjustified.body["details"][0]["field"], "justification");
    let bad = h
        .api
        .post(
            path,
            &h.regulator(),
            &json!({"dimension": "veto", "points": 0.001, "justification": "x".repeat(25)}),
        )
        .await;
    let fields: Vec<&str> = bad.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["dimension", "points"]);
    let adjusted = h
        .api
        .post(
            path,
            &h.regulator(),
            &json!({
                "dimension": "satisfaction",
                "points": 2.5,
                "justification": "Callback survey of 40 households found the complaint records incomplete.",
            }),
        )
        .await;
    assert_eq!(adjusted.status, 201, "{}", adjusted.body);
    assert_eq!(adjusted.body["rule"], "manual_adjustment");
    assert_eq!(h.score("north-heat", "").await["score"], 80.28);

    let east = h.supplier("east-heat");
    let other = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/suppliers/north-heat",
            &east,
        )
        .await;
    assert_eq!(other.status, 403);
    let ledger = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/suppliers/north-heat/ledger",
            &east,
        )
        .await;
    assert_eq!(ledger.status, 403);
    let ranking = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/ranking",
            &h.supplier("north-heat"),
        )
        .await;
    assert_eq!(ranking.body.as_array().unwrap().len(), 1);
    let what_if = h
        .api
        .get(
            "/api/v1/credit/seasons/2026-2027/what-if?rulebook_version=2027.1",
            &east,
        )
        .await;
    assert_eq!(what_if.status, 403);
    let bad_season = h
        .api
        .get("/api/v1/credit/seasons/2026/ranking", &h.regulator())
        .await;
    assert_eq!(bad_season.status, 404);
}
