//! Statements sent together: in the order they were added, and the first failure is the one
//! reported.

mod support;

use eventstore::{Writes, params};
use testkit::TestDb;

#[tokio::test]
async fn statements_sent_together_run_in_the_order_they_were_added() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let mut client = store.pool().get().await.expect("client");
    client
        .batch_execute(
            "CREATE TABLE journal (id int PRIMARY KEY, entries text NOT NULL);
             INSERT INTO journal VALUES (1, '')",
        )
        .await
        .expect("table");
    let tx = client.transaction().await.expect("tx");
    let mut writes = Writes::new();
    for i in 0..300 {
        writes.push(
            "UPDATE journal SET entries = entries || $1 || ' ' WHERE id = 1",
            params![i.to_string()],
        );
        if i % 50 == 0 {
            // A row inserted, then changed by the statement right after it.
            writes.push("INSERT INTO journal VALUES ($1, 'new')", params![1000 + i]);
            writes.push(
                "UPDATE journal SET entries = 'changed after insert' WHERE id = $1",
                params![1000 + i],
            );
        }
    }
    assert_eq!(writes.len(), 312);
    let changed = writes.send(&tx).await.expect("sent");
    assert_eq!(changed, 312, "every statement changed one row");
    assert!(writes.is_empty(), "sent statements do not wait any more");
    tx.commit().await.expect("commit");

    let entries: String = client
        .query_one("SELECT entries FROM journal WHERE id = 1", &[])
        .await
        .expect("row")
        .get(0);
    let expected: String = (0..300).map(|i| format!("{i} ")).collect();
    assert_eq!(entries, expected);
    let changed_after_insert: i64 = client
        .query_one(
            "SELECT count(*) FROM journal WHERE entries = 'changed after insert'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(changed_after_insert, 6);
}

#[tokio::test]
async fn the_first_failure_is_reported_and_the_transaction_keeps_nothing() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let mut client = store.pool().get().await.expect("client");
    client
        .batch_execute("CREATE TABLE once (id int PRIMARY KEY)")
        .await
        .expect("table");
    let tx = client.transaction().await.expect("tx");
    let mut writes = Writes::new();
    for id in [1, 2, 2, 3] {
        writes.push("INSERT INTO once VALUES ($1)", params![id]);
    }
    let error = writes.send(&tx).await.expect_err("a duplicate key");
    // The duplicate itself, not the refusals of the statements after it.
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        "{error}"
    );
    drop(tx);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM once", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0);

    // Nothing to send answers at once.
    assert_eq!(Writes::new().send(&client).await.expect("empty"), 0);
}
