//! Secrets out of the log: no password hash in any event, old hashes gone after a change, token
//! signing keys stored wrapped by the master key, and accounts from before the credentials
//! table moved over by the migration.

mod support;

use std::sync::Arc;

use eventstore::PgEventStore;
use identity::Identity;
use serde_json::json;
use support::Harness;
use testkit::TestDb;

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

#[actix_web::test]
async fn no_password_hash_is_in_the_log_and_a_changed_passwords_old_hash_is_gone() {
    let h = Harness::start().await;
    let admin = h.admin_token().await;
    h.create_dispatcher("li.dispatch", "winter is coming").await;
    let (status, _) = h
        .post(
            "/api/v1/auth/password",
            Some(&admin),
            json!({ "current_password": "first admin password", "new_password": "a brand new secret" }),
        )
        .await;
    assert_eq!(status, 204);
    let db = h._db.connect().await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM eventstore.event WHERE payload::text LIKE '%argon2%'"
        )
        .await,
        0,
        "no hash in any event"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM eventstore.event WHERE event_type = 'PasswordChanged' AND payload -> 'PasswordChanged' ? 'credential'").await,
        1,
        "the change is recorded, naming its credential"
    );
    // One credential per account: the admin's first password's hash is deleted.
    assert_eq!(
        count(&db, "SELECT count(*) FROM identity.credential").await,
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT account_id) FROM identity.credential"
        )
        .await,
        2
    );
    assert_eq!(h.login("root.admin", "a brand new secret").await.0, 200);
    assert_eq!(h.login("li.dispatch", "winter is coming").await.0, 200);
    // Signing keys are wrapped, never plain PKCS#8.
    assert_eq!(
        count(&db, "SELECT count(*) FROM identity.signing_key WHERE substring(private_key from 1 for 4) <> 'HLW1'::bytea").await,
        0
    );
}

#[tokio::test]
async fn accounts_and_keys_stored_before_move_their_secrets_out_when_migrated_and_opened() {
    let db = TestDb::new().await;
    let sql = db.connect().await;
    // An account as the log held it before: the hash in the event.
    let hash = identity::passwords::hash("an older password".into()).await;
    let account_id = identity::domain::account_id("staff", "old.admin");
    sql.execute(
        "INSERT INTO eventstore.event (aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload, metadata)
         VALUES ('account', $2, 1, gen_random_uuid(), 'StaffAccountCreated', '1',
                 jsonb_build_object('StaffAccountCreated', jsonb_build_object(
                     'username', 'old.admin', 'role', 'admin', 'scope', '{}'::jsonb,
                     'password_hash', $1::text, 'at', '2026-11-01T00:00:00Z')),
                 '{\"actor\":{\"id\":\"cli\",\"role\":\"admin\"},\"channel\":\"console\"}')",
        &[&hash, &account_id],
    )
    .await
    .unwrap();
    identity::migrate(&mut db.connect().await).await.unwrap();
    assert_eq!(
        count(
            &sql,
            "SELECT count(*) FROM eventstore.event WHERE payload::text LIKE '%argon2%'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&sql, "SELECT count(*) FROM identity.credential").await,
        1
    );
    let store = PgEventStore::new(&db.config());
    let account = store
        .load::<identity::domain::account::Account>(&account_id)
        .await
        .unwrap();
    let credential = account
        .state()
        .credential()
        .expect("the event names its credential");
    let kept = identity::passwords::stored(store.pool(), credential)
        .await
        .unwrap()
        .expect("the credential holds the hash");
    assert!(identity::passwords::verify("an older password".into(), kept).await);
    // A signing key stored plain, as before.
    let (plain, _) = {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        (key.to_pkcs8_der().unwrap().as_bytes().to_vec(), ())
    };
    sql.execute(
        "INSERT INTO identity.signing_key (kid, private_key, public_x, created_at, signing_from)
         VALUES ('old-key', $1, 'x', now() - interval '1 day', now() - interval '1 day')",
        &[&plain],
    )
    .await
    .unwrap();
    let opened = Identity::open(
        store.clone(),
        Arc::new(platform::clock::SystemClock),
        Default::default(),
        testkit::master_key(),
    )
    .await
    .unwrap();
    let wrapped: Vec<u8> = sql
        .query_one(
            "SELECT private_key FROM identity.signing_key WHERE kid = 'old-key'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(wrapped.starts_with(b"HLW1"));
    drop(opened);
    // Another master key cannot open them, and says which key it needs.
    let other = Identity::open(
        store,
        Arc::new(platform::clock::SystemClock),
        Default::default(),
        secrets::Keyring::from_bytes([9; 32], &[]),
    )
    .await;
    let error = other.err().expect("refused").to_string();
    assert!(
        error.contains(&testkit::master_key().current_id()),
        "{error}"
    );
}
