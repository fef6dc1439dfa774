//! Retention: a closed complaint's personal data is erased once the retention period after its
//! closing has passed, not before, and an open one keeps it; the erasure is recorded.

mod support;

use chrono::Duration;
use serde_json::json;
use support::{Harness, cold};

#[actix_web::test]
async fn personal_data_is_erased_the_retention_period_after_closing_and_not_before() {
    let h = Harness::start_with(|config| config.retention = Duration::days(30)).await;
    let token = h.resident(1);
    let mut withdrawn = cold("HL01-0031");
    withdrawn["description"] = json!("RETAINED-WORDS call me after six");
    withdrawn["contact_phone"] = json!("13712345678");
    let closed = h.post("/api/v1/complaints", &token, &withdrawn).await;
    let closed_id = closed.body["complaint_id"].as_str().unwrap().to_owned();
    let open = h
        .post("/api/v1/complaints", &token, &cold("HL01-0032"))
        .await;
    let open_id = open.body["complaint_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/complaints/{closed_id}/withdraw");
    let done = h
        .post(&path, &token, &json!({"reason": "warm again"}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);

    // 29 days later: kept.
    h.clock.advance(Duration::days(29));
    assert_eq!(h.intake.erase_expired().await.unwrap(), 0);
    let kept = h
        .get(&format!("/api/v1/complaints/{closed_id}"), &token)
        .await;
    assert_eq!(
        kept.body["complaint"]["description"],
        "RETAINED-WORDS call me after six"
    );

    // 31 days later: erased, and recorded; the open complaint keeps its data.
    h.clock.advance(Duration::days(2));
    assert_eq!(h.intake.erase_expired().await.unwrap(), 1);
    assert_eq!(h.intake.erase_expired().await.unwrap(), 0, "once");
    let erased = h
        .get(&format!("/api/v1/complaints/{closed_id}"), &token)
        .await;
    let view = &erased.body["complaint"];
    assert!(view["personal_data_erased_at"].is_string(), "{view}");
    assert_eq!(view["description"], "");
    assert_eq!(view["contact_phone"], serde_json::Value::Null);
    assert_eq!(view["heating_account"], serde_json::Value::Null);
    assert_eq!(view["status"], "withdrawn", "the handling stays");
    let still = h
        .get(&format!("/api/v1/complaints/{open_id}"), &token)
        .await;
    assert!(still.body["complaint"]["personal_data_erased_at"].is_null());
    assert!(still.body["complaint"]["heating_account"].is_string());

    let client = h.store.pool().get().await.unwrap();
    let record: serde_json::Value = client
        .query_one(
            "SELECT payload FROM eventstore.event WHERE aggregate_type = 'erasure'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, tokio_postgres::types::Json<serde_json::Value>>(0)
        .0;
    let erasure = &record["PersonalDataErased"];
    assert_eq!(erasure["scope"]["kind"], "retention", "{record}");
    assert_eq!(erasure["complaints"], json!([closed_id]), "{record}");
    assert_eq!(erasure["reason"], "kept 30 days after the complaint closed");
    // Nothing of it is left readable anywhere: its key is gone.
    let readable: i64 = client
        .query_one(
            "SELECT count(*) FROM intake.complaint WHERE description LIKE '%RETAINED-WORDS%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(readable, 0);
    let keys: i64 = client
        .query_one(
            "SELECT count(*) FROM eventstore.data_key WHERE subject = $1 AND wrapped IS NOT NULL",
            &[&format!("complaint:{closed_id}")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 0);
}
