//! Erasure from the outside: a resident's and a household's personal data is erased on a
//! regulator's request; after every read model is rebuilt from the log, no table and no byte of
//! the log holds it, the credit standings are what they were, and the log still verifies.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, data_dir, heatline, heatline_output, login};
use testkit::api::Reply;

const PHONE: &str = "13912345678";
const WORDS: &str = "PRIVATE-WORDS-7Q: my grandmother's bedroom is at 12 degrees";
const ADDRESS: &str = "道里区隐私街99号3单元701";

/// A PNG as far as the photo store checks (signature and header chunk), with a marker.
fn photo() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    png.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde,
    ]);
    png.extend_from_slice(b"PHOTO-MARKER-5K");
    png
}

/// Where in the database `needle` appears: every table of every schema, as text and in every
/// `bytea` column's raw bytes (the public log's protobuf payloads, the seals' leaves).
async fn traces(client: &tokio_postgres::Client, needle: &str) -> Vec<String> {
    let tables = client
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' \
               AND table_schema NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let (schema, name): (String, String) = (table.get(0), table.get(1));
        let byte_columns: Vec<String> = client
            .query(
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'",
                &[&schema, &name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut condition = "t::text LIKE '%' || $1 || '%'".to_owned();
        for column in byte_columns {
            condition.push_str(&format!(
                " OR position(convert_to($1, 'UTF8') in t.\"{column}\") > 0"
            ));
        }
        let sql = format!("SELECT count(*) FROM \"{schema}\".\"{name}\" t WHERE {condition}");
        let count: i64 = client.query_one(&sql, &[&needle]).await.unwrap().get(0);
        if count > 0 {
            found.push(format!("{schema}.{name} ({count})"));
        }
    }
    found
}

/// Every file under the data folder's photo store, with its bytes.
fn stored_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.join("photos")];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    found
}

async fn standings(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT concat_ws(' ', season, supplier_id, heating_quality, sla_performance, \
               complaint_rate, satisfaction, outages, data_integration, score, grade, vetoed) \
             FROM credit.standing ORDER BY season, supplier_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn an_erased_resident_and_household_leave_no_trace_and_the_scores_and_seals_hold() {
    let db = testkit::TestDb::new().await;
    let demo = heatline(db.url(), &["demo", "--complaints", "40"]);
    assert!(demo.contains("Credit ranking"), "{demo}");
    let dir = data_dir("privacy");
    let server = Server::start_with(
        Some(db.url()),
        &dir,
        &["--sandbox"],
        &[("HEATLINE_SEAL_EVERY_SECONDS", "1")],
    );
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let api = testkit::api::Api::new(base.clone());
    let regulator = login(&http, &base, "demo.regulator", "a cold morning").await;
    let sql = db.connect().await;

    // A resident logs in through WeChat, shares a phone number, and files with a photo.
    let session: Value = http
        .post(format!("{base}/api/v1/auth/wechat"))
        .json(&json!({"code": "sandbox-wang.fang"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resident = session["access_token"]
        .as_str()
        .expect("logged in")
        .to_owned();
    let Reply {
        status,
        body: bound,
        ..
    } = api
        .post(
            "/api/v1/auth/wechat/phone",
            &resident,
            &json!({"code": format!("sandbox-{PHONE}")}),
        )
        .await;
    assert_eq!(status, 200, "{bound}");
    let uploaded: Value = http
        .post(format!("{base}/api/v1/photos"))
        .bearer_auth(&resident)
        .header("content-type", "image/png")
        .body(photo())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photo_id = uploaded["photo_id"].as_str().expect("stored").to_owned();
    let Reply {
        status,
        body: filed,
        ..
    } = api
        .post(
            "/api/v1/complaints",
            &resident,
            &json!({
                "category": "low_temperature",
                "address": ADDRESS,
                "description": WORDS,
                "contact_phone": PHONE,
                "photos": [photo_id],
            }),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    let complaint = filed["complaint_id"].as_str().unwrap().to_owned();
    let complaint_id: uuid::Uuid = complaint.parse().unwrap();
    let resident_id: String = sql
        .query_one(
            "SELECT filer FROM intake.complaint WHERE complaint_id = $1",
            &[&complaint_id],
        )
        .await
        .unwrap()
        .get(0);

    // Before: the read model holds it for the staff who need it; the log never held it plain.
    for needle in [PHONE, WORDS, ADDRESS, "sandbox-wang.fang", &photo_id] {
        let found = traces(&sql, needle).await;
        assert!(
            found.iter().all(|t| t.starts_with("intake.complaint ")),
            "{needle} only in the complaints' read model: {found:?}"
        );
    }
    assert!(!traces(&sql, PHONE).await.is_empty(), "the test can fail");
    // The resident's ids are keyed: the ids anyone could compute from the openid or the number
    // are nowhere.
    for guessable in [
        identity::domain::account_id("wechat", "sandbox-wang.fang"),
        identity::domain::account_id("phone", PHONE),
        identity::domain::account_id("phone-codes", PHONE),
    ] {
        assert_eq!(traces(&sql, &guessable).await, Vec::<String>::new());
    }
    assert_ne!(
        resident_id,
        identity::domain::account_id("wechat", "sandbox-wang.fang")
    );
    // The photo file is sealed too.
    let files = stored_files(&dir);
    assert!(
        !files.is_empty(),
        "the photo is stored under the data folder"
    );
    for (path, bytes) in &files {
        assert!(
            !bytes.windows(15).any(|w| w == b"PHOTO-MARKER-5K"),
            "{} holds the photo in clear",
            path.display()
        );
    }
    // A demo household whose repair has credit entries behind it, by the address the hotline
    // filed it with.
    let household_address: String = sql
        .query_one(
            "SELECT c.address FROM intake.complaint c \
             WHERE c.address IS NOT NULL AND EXISTS (SELECT 1 FROM intake.ticket_member m \
               JOIN credit.entry e ON m.ticket_id::text = ANY(e.tickets) \
               WHERE m.complaint_id = c.complaint_id) \
             ORDER BY c.filed_at LIMIT 1",
            &[],
        )
        .await
        .expect("a demo home with credit entries")
        .get(0);
    assert!(!traces(&sql, &household_address).await.is_empty());
    let before = standings(&sql).await;
    assert!(!before.is_empty());

    // Refusals: only a regulator erases, and only with a reason, an approval and one subject.
    let Reply { status, .. } = api
        .post(
            "/api/v1/privacy/erasures",
            &resident,
            &json!({"resident": resident_id, "reason": "mine", "approval": "x"}),
        )
        .await;
    assert_eq!(status, 403);
    for body in [
        json!({"resident": resident_id, "reason": "", "approval": "PIPL-2026-17"}),
        json!({"resident": resident_id, "reason": "asked", "approval": " "}),
        json!({"resident": resident_id, "address": ADDRESS, "reason": "asked", "approval": "A"}),
        json!({"reason": "asked", "approval": "A"}),
    ] {
        let Reply {
            status,
            body: refused,
            ..
        } = api
            .post("/api/v1/privacy/erasures", &regulator, &body.clone())
            .await;
        assert_eq!(status, 422, "{body}: {refused}");
        assert_eq!(refused["code"], "invalid_fields", "{refused}");
    }

    // The resident, then a household, on the regulator's approval.
    let Reply { status, body: erased, .. } = api.post("/api/v1/privacy/erasures", &regulator, &json!({"resident": resident_id, "reason": "the resident asked (PIPL art. 47)", "approval": "PIPL-2026-17"})).await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["complaints"], json!([complaint]), "{erased}");
    assert_eq!(
        erased["keys_destroyed"], 2,
        "the account's and the complaint's: {erased}"
    );
    assert_eq!(erased["photos_deleted"], 1, "{erased}");
    let Reply { status, body: erased_home, .. } = api.post("/api/v1/privacy/erasures", &regulator, &json!({"address": household_address, "reason": "the household moved out and asked", "approval": "PIPL-2026-18"})).await;
    assert_eq!(status, 200, "{erased_home}");
    assert!(
        !erased_home["complaints"].as_array().unwrap().is_empty(),
        "{erased_home}"
    );

    // The API shows the complaint, with its personal data erased; the photo is gone.
    let Reply {
        status, body: view, ..
    } = api
        .get(&format!("/api/v1/complaints/{complaint}"), &regulator)
        .await;
    assert_eq!(status, 200, "{view}");
    let view = if view["complaint"].is_object() {
        view["complaint"].clone()
    } else {
        view
    };
    assert!(view["personal_data_erased_at"].is_string(), "{view}");
    assert_eq!(view["description"], "", "{view}");
    assert_eq!(view["contact_phone"], Value::Null, "{view}");
    assert_eq!(
        view["category"], "low_temperature",
        "the handling stays: {view}"
    );
    let Reply { status, .. } = api
        .get(&format!("/api/v1/photos/{photo_id}"), &regulator)
        .await;
    assert_eq!(status, 404);
    assert!(stored_files(&dir).is_empty(), "the photo file is deleted");
    // The audit log names who, why and on what approval, newest first; for regulators only.
    let Reply { status, .. } = api.get("/api/v1/privacy/erasures", &resident).await;
    assert_eq!(status, 403);
    let Reply {
        status, body: log, ..
    } = api
        .get("/api/v1/privacy/erasures?limit=1", &regulator)
        .await;
    assert_eq!(status, 200, "{log}");
    let newest = &log["items"][0];
    assert_eq!(newest["scope"], "household", "{log}");
    assert_eq!(newest["approval"], "PIPL-2026-18", "{log}");
    let cursor = log["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let Reply { body: older, .. } = api
        .get(
            &format!("/api/v1/privacy/erasures?limit=1&cursor={cursor}"),
            &regulator,
        )
        .await;
    let first = &older["items"][0];
    assert_eq!(first["scope"], "resident", "{older}");
    assert_eq!(first["subject"], resident_id.as_str(), "{older}");
    assert_eq!(first["approval"], "PIPL-2026-17", "{older}");
    assert_eq!(first["role"], "regulator", "{older}");
    assert_eq!(first["reason"], "the resident asked (PIPL art. 47)");
    assert_eq!(first["complaints"], json!([complaint]), "{older}");

    // Every read model rebuilt from the log: nothing comes back.
    // Let the sealer cover the erasures before stopping.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(server.terminate().success());
    for model in [
        "intake.complaints",
        "dispatch.queue",
        "credit.ledger",
        "credit.refunds",
    ] {
        let said = heatline(db.url(), &["projections", "rebuild", model]);
        assert!(said.contains("rebuilt"), "{said}");
    }
    for needle in [
        PHONE,
        WORDS,
        ADDRESS,
        "sandbox-wang.fang",
        &photo_id,
        &household_address,
    ] {
        assert_eq!(traces(&sql, needle).await, Vec::<String>::new(), "{needle}");
    }
    let rebuilt: i64 = sql
        .query_one(
            "SELECT count(*) FROM intake.complaint WHERE personal_erased_at IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(rebuilt >= 2, "the rebuild marks them erased: {rebuilt}");
    assert_eq!(
        standings(&sql).await,
        before,
        "the credit standings are unchanged"
    );

    // The log verifies: seals cover the ciphertext, which never changed.
    let output = heatline_output(db.url(), &["verify"]);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
