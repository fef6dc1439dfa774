//! Seals from the outside: a served system seals its logs, a supplier downloads the proof of an
//! event behind a deduction and checks it offline, and `heatline verify` names an edit made in
//! SQL, also against a seal the supplier kept.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{MASTER_KEY, Server, data_dir, heatline_output, login};

fn verify(database_url: &str, args: &[&str]) -> (bool, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let output = heatline_output(database_url, &all);
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test]
async fn a_supplier_proves_an_event_offline_and_verify_names_an_edit_made_in_sql() {
    let db = testkit::TestDb::new().await;
    let demo = support::heatline(db.url(), &["demo", "--complaints", "40"]);
    assert!(demo.contains("Credit ranking"), "{demo}");
    let dir = data_dir("audit");
    let server = Server::start_with(
        Some(db.url()),
        &dir,
        &[],
        &[("HEATLINE_SEAL_EVERY_SECONDS", "1")],
    );
    let http = reqwest::Client::new();
    let regulator = login(&http, &server.base, "demo.regulator", "a cold morning").await;
    let supplier = login(&http, &server.base, "demo.harbin-heat", "a cold morning").await;
    let get = |path: String, token: String| {
        let http = http.clone();
        async move {
            let response = http.get(path).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };

    // The sealer catches up with the demo's events within a few seconds.
    let mut seals = serde_json::Value::Null;
    for _ in 0..100 {
        let (status, page) = get(
            format!("{}/api/v1/audit/seals", server.base),
            regulator.clone(),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        if page["items"].as_array().is_some_and(|s| !s.is_empty()) {
            seals = page;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let newest = &seals["items"][0];
    assert!(newest["events"].as_i64().unwrap() > 0, "{seals}");
    let (status, keys) = get(
        format!("{}/api/v1/audit/seal-keys", server.base),
        supplier.clone(),
    )
    .await;
    assert_eq!(status, 200, "{keys}");
    let pinned = keys[0]["public_key"].as_str().unwrap().to_owned();

    // An event behind one of the supplier's entries, and one that is not.
    let client = db.connect().await;
    let evidence: uuid::Uuid = client
        .query_one(
            "SELECT evidence[1] FROM credit.entry WHERE supplier_id = 'harbin-heat' AND cardinality(evidence) > 0 ORDER BY recorded_at LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let foreign: uuid::Uuid = client
        .query_one(
            "SELECT event_id FROM eventstore.published_event p WHERE NOT EXISTS
               (SELECT 1 FROM credit.entry e WHERE p.event_id = ANY(e.evidence) AND e.supplier_id = 'harbin-heat')
             ORDER BY global_position LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mut proof = (0, serde_json::Value::Null);
    for _ in 0..100 {
        proof = get(
            format!("{}/api/v1/audit/proofs/{evidence}", server.base),
            supplier.clone(),
        )
        .await;
        if proof.0 != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(proof.0, 200, "{}", proof.1);
    let (status, refused) = get(
        format!("{}/api/v1/audit/proofs/{foreign}", server.base),
        supplier.clone(),
    )
    .await;
    assert_eq!(status, 404, "{refused}");
    let (status, _) = get(
        format!("{}/api/v1/audit/proofs/{foreign}", server.base),
        regulator.clone(),
    )
    .await;
    assert_eq!(status, 200, "a regulator proves any event");
    let seq = proof.1["seal"]["seq"].as_i64().unwrap();
    let (status, seal) = get(
        format!("{}/api/v1/audit/seals/{seq}", server.base),
        supplier.clone(),
    )
    .await;
    assert_eq!(status, 200, "{seal}");
    // The process that seals says how current its seals are.
    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("heatline_seal_age_seconds "), "{metrics}");
    assert!(
        metrics.contains("heatline_unsealed_events{log=\"published\"}"),
        "{metrics}"
    );
    assert!(server.terminate().success());

    // Offline: no database at all (an unreachable URL), the pinned key only.
    let proof_file = dir.join("proof.json");
    let seal_file = dir.join("seal.json");
    std::fs::write(&proof_file, proof.1.to_string()).unwrap();
    std::fs::write(&seal_file, seal.to_string()).unwrap();
    let offline = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["verify", "--seal"])
        .arg(&proof_file)
        .args(["--public-key", &pinned])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env("HEATLINE_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&offline.stdout);
    assert!(
        offline.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert!(
        said.contains(&format!("proof holds: published event {evidence}")),
        "{said}"
    );
    let mut forged = proof.1.clone();
    forged["event"]["aggregate_id"] = serde_json::json!("another-ticket");
    std::fs::write(&proof_file, forged.to_string()).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_heatline"))
        .args(["verify", "--seal"])
        .arg(&proof_file)
        .args(["--public-key", &pinned])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not the one sealed"));

    // The whole log, then the same after one byte of the evidence is changed in SQL.
    let (ok, said) = verify(db.url(), &[]);
    assert!(ok, "{said}");
    assert!(said.contains("seals hold"), "{said}");
    assert!(said.contains("newer events are not sealed yet"), "{said}");
    let seal_path = seal_file.to_str().unwrap();
    let (ok, said) = verify(db.url(), &["--seal", seal_path, "--public-key", &pinned]);
    assert!(ok, "{said}");
    client
        .execute(
            "UPDATE eventstore.published_event SET payload = set_byte(payload, 1, get_byte(payload, 1) # 1) WHERE event_id = $1",
            &[&evidence],
        )
        .await
        .unwrap();
    let (ok, said) = verify(db.url(), &[]);
    assert!(!ok, "{said}");
    assert!(
        said.contains(&format!("published event {evidence}")),
        "{said}"
    );
    assert!(said.contains("differs from what was sealed"), "{said}");
    let (ok, said) = verify(db.url(), &["--seal", seal_path, "--public-key", &pinned]);
    assert!(!ok, "{said}");
    assert!(said.contains("does not match the seal you kept"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
