//! Seals: an untouched log verifies, any edit, deletion or reordering in SQL is named, and a
//! proof of inclusion checks offline with the seal key's public half alone.

mod support;

use eventstore::Commands;
use eventstore::seal::keys::public_keys;
use eventstore::seal::sealer::{seal_all, seal_once};
use eventstore::seal::verify::verify;
use eventstore::seal::{Log, Proof, ProofError, Proving, SealKey, prove};
use eventstore::selftest::Probe;
use secrets::Keyring;
use support::{open_probe, store};
use testkit::TestDb;
use uuid::Uuid;

fn keyring() -> Keyring {
    Keyring::from_bytes([11; 32], &[])
}

/// `probes` probes of `ticks` ticks each: (1 + ticks) domain and as many published events each.
async fn fill(store: &eventstore::PgEventStore, probes: usize, ticks: usize) {
    let commands: Commands<Probe> = Commands::new(store.clone(), ());
    for _ in 0..probes {
        open_probe(&commands, &Uuid::new_v4().to_string(), ticks).await;
    }
}

/// Seals until every event written so far is sealed. The horizon is the cluster's: another
/// test's open transaction (in another database) may hold it back for a moment, so the newest
/// events settle, and are sealed, a little later; a single `seal_all` may stop short of them.
async fn seal_everything(
    store: &eventstore::PgEventStore,
    key: &SealKey,
    max_per_log: i64,
) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut made = 0;
    loop {
        made += seal_all(store, key, max_per_log).await.unwrap();
        let row = store
            .pool()
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT (SELECT count(*) FROM eventstore.event)
                      + (SELECT count(*) FROM eventstore.published_event)
                      - (SELECT coalesce(sum(events_count + published_count), 0)::bigint
                         FROM eventstore.seal)",
                &[],
            )
            .await
            .unwrap();
        let unsealed: i64 = row.get(0);
        if unsealed == 0 {
            return made;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{unsealed} events never sealed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn problem(store: &eventstore::PgEventStore) -> Option<(i64, Option<Uuid>, String)> {
    let report = verify(store, |_| {}).await.expect("verify runs");
    report
        .problem
        .map(|p| (p.seq, p.event.map(|e| e.event_id), p.message))
}

async fn nth_event(db: &TestDb, table: &str, n: i64) -> Uuid {
    db.connect()
        .await
        .query_one(
            &format!("SELECT event_id FROM eventstore.{table} ORDER BY tx_id, global_position OFFSET $1 LIMIT 1"),
            &[&n],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_untouched_log_of_100_000_events_verifies_across_many_seals() {
    let db = TestDb::new().await;
    let store = store(&db).await;
    // 250 probes of 199 ticks: 50,000 domain and 50,000 published events.
    fill(&store, 250, 199).await;
    let key = SealKey::load_or_create(&store, &keyring()).await.unwrap();
    let made = seal_everything(&store, &key, 20_000).await;
    assert!(made >= 3, "{made} seals");
    let report = verify(&store, |_| {}).await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.events, 100_000);
    assert_eq!(report.seals, made as u64);
    // Nothing new: no empty seal.
    assert!(seal_once(&store, &key, 20_000).await.unwrap().is_none());
}

#[tokio::test]
async fn an_edited_byte_a_deleted_event_and_two_reordered_events_are_each_named() {
    let db = TestDb::new().await;
    let store = store(&db).await;
    fill(&store, 30, 20).await;
    let key = SealKey::load_or_create(&store, &keyring()).await.unwrap();
    seal_everything(&store, &key, 200).await;
    fill(&store, 1, 0).await; // an event after the last seal: not a problem, just unsealed
    assert_eq!(problem(&store).await, None);
    let sql = db.connect().await;

    // One byte of one payload.
    let edited = nth_event(&db, "event", 300).await;
    sql.execute(
        "UPDATE eventstore.event SET payload = jsonb_set(payload, '{Ticked,amount}', '2') WHERE event_id = $1",
        &[&edited],
    )
    .await
    .unwrap();
    let (seq, named, message) = problem(&store).await.expect("the edit is found");
    assert_eq!(named, Some(edited), "{message}");
    assert!(
        message.contains("differs from what was sealed"),
        "{message}"
    );
    assert!(seq > 1, "the edit is in a later seal, not the first: {seq}");
    sql.execute(
        "UPDATE eventstore.event SET payload = jsonb_set(payload, '{Ticked,amount}', '1') WHERE event_id = $1",
        &[&edited],
    )
    .await
    .unwrap();
    assert_eq!(problem(&store).await, None, "restored, it verifies again");

    // A published event deleted.
    let deleted = nth_event(&db, "published_event", 100).await;
    sql.batch_execute("CREATE TABLE kept AS SELECT * FROM eventstore.published_event WHERE false")
        .await
        .unwrap();
    sql.execute(
        "WITH gone AS (DELETE FROM eventstore.published_event WHERE event_id = $1 RETURNING *)
         INSERT INTO kept SELECT * FROM gone",
        &[&deleted],
    )
    .await
    .unwrap();
    let (_, named, message) = problem(&store).await.expect("the deletion is found");
    assert_eq!(named, Some(deleted), "{message}");
    assert!(message.contains("no longer in the log"), "{message}");
    sql.batch_execute(
        "INSERT INTO eventstore.published_event OVERRIDING SYSTEM VALUE SELECT * FROM kept",
    )
    .await
    .unwrap();
    assert_eq!(problem(&store).await, None, "put back, it verifies again");

    // Two events of different transactions swap places in the readers' order.
    let first = nth_event(&db, "event", 50).await;
    let second = nth_event(&db, "event", 80).await;
    sql.execute(
        "UPDATE eventstore.event a SET tx_id = b.tx_id FROM eventstore.event b
         WHERE (a.event_id, b.event_id) IN (($1, $2), ($2, $1))",
        &[&first, &second],
    )
    .await
    .unwrap();
    let (_, named, message) = problem(&store).await.expect("the reordering is found");
    assert!(
        named == Some(first) || named == Some(second),
        "{named:?}: {message}"
    );

    // A forged seal (its text edited in SQL) fails its signature.
    let db2 = TestDb::new().await;
    let store2 = support::store(&db2).await;
    fill(&store2, 3, 3).await;
    seal_everything(&store2, &key_for(&store2).await, 100).await;
    db2.connect()
        .await
        .batch_execute("UPDATE eventstore.seal SET body = replace(body, 'seq: 1', 'seq: 1 ')")
        .await
        .unwrap();
    let (seq, _, message) = problem(&store2).await.expect("the forged seal is found");
    assert_eq!(seq, 1);
    assert!(message.contains("not a seal"), "{message}");
}

async fn key_for(store: &eventstore::PgEventStore) -> SealKey {
    SealKey::load_or_create(store, &keyring()).await.unwrap()
}

#[tokio::test]
async fn a_proof_checks_offline_against_the_seal_key_alone() {
    let db = TestDb::new().await;
    let store = store(&db).await;
    fill(&store, 10, 10).await;
    let key = key_for(&store).await;
    let event = nth_event(&db, "published_event", 42).await;
    assert!(matches!(
        prove(&store, event).await.unwrap(),
        Proving::NotSealedYet
    ));
    seal_everything(&store, &key, 1_000).await;
    assert!(matches!(
        prove(&store, Uuid::nil()).await.unwrap(),
        Proving::NoSuchEvent
    ));
    let Proving::Proof(proof) = prove(&store, event).await.unwrap() else {
        panic!("the event is sealed")
    };
    // What a supplier keeps: the JSON file, and the key it pinned from the API.
    let file = serde_json::to_string_pretty(&proof).unwrap();
    let pinned = public_keys(&store).await.unwrap()[0].public_key;
    drop(store);
    drop(db);

    let kept: Proof = serde_json::from_str(&file).unwrap();
    assert_eq!(kept.event.log, Log::Published);
    assert_eq!(kept.event.event_id, event);
    let body = kept.check(&pinned).expect("the proof holds");
    assert_eq!(body.seq, kept.seal.seq);

    let mut other_event = kept.clone();
    other_event.event.aggregate_id.push('x');
    assert_eq!(other_event.check(&pinned), Err(ProofError::NotIncluded));
    let mut other_place = kept.clone();
    other_place.index = (other_place.index + 1) % other_place.size;
    assert_eq!(other_place.check(&pinned), Err(ProofError::NotIncluded));
    let mut forged = kept.clone();
    forged.seal.body = forged.seal.body.replace(
        &format!("seq: {}", body.seq),
        &format!("seq: {}", body.seq + 1),
    );
    assert_eq!(forged.check(&pinned), Err(ProofError::BadSignature));
    let stranger = SealKey::generate().public();
    assert!(matches!(
        kept.check(&stranger),
        Err(ProofError::OtherKey { .. })
    ));
}

#[tokio::test]
async fn sealing_beside_concurrent_writers_skips_no_event() {
    let db = TestDb::new().await;
    let store = store(&db).await;
    let key = key_for(&store).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let commands: Commands<Probe> = Commands::new(store, ());
                for p in 0..40 {
                    open_probe(&commands, &format!("w{w}-{p}"), 3).await;
                }
            })
        })
        .collect();
    let mut seals = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        seals += seal_all(&store, &key, 50).await.unwrap();
    }
    for writer in writers {
        writer.await.unwrap();
    }
    seals += seal_everything(&store, &key, 50).await;
    let report = verify(&store, |_| {}).await.unwrap();
    assert!(seals > 2);
    assert_eq!(report.problem, None);
    assert_eq!(report.events, 4 * 40 * 4 * 2);
}
