//! Statements sent together: in the order they were added, and the first failure is the one
//! reported.

mod support;

use eventstore::{PgEventStore, Writes, params};
use testkit::TestDb;

/// A fresh database, its store, and a connection on which `setup` has run.
async fn connected(setup: &str) -> (TestDb, PgEventStore, deadpool_postgres::Object) {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let client = store.pool().get().await.expect("client");
    client.batch_execute(setup).await.expect("setup");
    (db, store, client)
}

/// The one number `sql` answers.
async fn count(client: &deadpool_postgres::Object, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect("count").get(0)
}

#[tokio::test]
async fn statements_sent_together_run_in_the_order_they_were_added() {
    let (_db, _store, mut client) = connected(
        "CREATE TABLE journal (id int PRIMARY KEY, entries text NOT NULL);
         INSERT INTO journal VALUES (1, '')",
    )
    .await;
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
    let changed_after_insert = count(
        &client,
        "SELECT count(*) FROM journal WHERE entries = 'changed after insert'",
    )
    .await;
    assert_eq!(changed_after_insert, 6);
}

#[tokio::test]
async fn the_first_failure_is_reported_and_the_transaction_keeps_nothing() {
    let (_db, _store, mut client) = connected("CREATE TABLE once (id int PRIMARY KEY)").await;
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
    let rows = count(&client, "SELECT count(*) FROM once").await;
    assert_eq!(rows, 0);

    // Nothing to send answers at once.
    assert_eq!(Writes::new().send(&client).await.expect("empty"), 0);
}

/// Appends queued on three streams, with rows between them: one statement writes all three,
/// in the order they were queued, and the rows go out as queued.
#[tokio::test]
async fn queued_appends_go_out_as_one_statement_in_the_order_queued() {
    use eventstore::selftest::{Probe, ProbeEvent};
    let (_db, store, mut client) = connected("CREATE TABLE noted (n int PRIMARY KEY)").await;
    let tx = client.transaction().await.expect("tx");
    let mut writes = Writes::new();
    let streams = ["q-b", "q-a", "q-c"];
    for (n, id) in streams.iter().enumerate() {
        let context = store.load_in::<Probe>(&tx, id).await.expect("load");
        let events = [
            ProbeEvent::Opened {
                label: (*id).into(),
            },
            ProbeEvent::Ticked {
                amount: n as i64 + 1,
            },
        ];
        let queued = store.queue_append(&mut writes, &context, &events, &support::meta(), n > 0);
        assert_eq!(queued.last_sequence, 2);
        writes.push("INSERT INTO noted VALUES ($1)", params![n as i32]);
    }
    // Three rows and one append.
    assert_eq!(writes.len(), 4);
    writes.send(&tx).await.expect("sent");
    tx.commit().await.expect("commit");

    let rows = client
        .query(
            "SELECT aggregate_id, sequence, tx_id::text FROM eventstore.event \
             WHERE aggregate_id LIKE 'q-%' ORDER BY global_position",
            &[],
        )
        .await
        .expect("events");
    let order: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(String, i64)> = streams
        .iter()
        .flat_map(|id| [((*id).to_owned(), 1), ((*id).to_owned(), 2)])
        .collect();
    assert_eq!(
        order, expected,
        "each stream in sequence, the streams as queued"
    );
    let transactions: std::collections::HashSet<String> = rows.iter().map(|r| r.get(2)).collect();
    assert_eq!(transactions.len(), 1, "one transaction");
    let published: Vec<(String, i64)> = client
        .query(
            "SELECT aggregate_id, sequence FROM eventstore.published_event \
             WHERE aggregate_id LIKE 'q-%' ORDER BY global_position",
            &[],
        )
        .await
        .expect("published")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        published, expected,
        "each event published, caused by its own stream"
    );
    let noted = count(&client, "SELECT count(*) FROM noted").await;
    assert_eq!(noted, 3);
    for (n, id) in streams.iter().enumerate() {
        let context = store.load::<Probe>(id).await.expect("load");
        assert_eq!(context.current_sequence(), 2);
        assert_eq!(context.state().total(), n as i64 + 1, "{id}");
    }
}

/// A queued append that lost its race fails the merged statement: the send reports a
/// conflict, and nothing of the transaction is kept, the other streams' events included.
#[tokio::test]
async fn a_lost_race_among_queued_appends_keeps_none_of_them() {
    use eventstore::selftest::{Probe, ProbeEvent};
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let commands = eventstore::Commands::<Probe>::new(store.clone(), ());
    let mut client = store.pool().get().await.expect("client");
    let tx = client.transaction().await.expect("tx");
    let mut writes = Writes::new();
    let fresh = store.load_in::<Probe>(&tx, "r-fresh").await.expect("load");
    let raced = store.load_in::<Probe>(&tx, "r-raced").await.expect("load");
    // Another writer opens r-raced after it was read.
    support::open_probe(&commands, "r-raced", 0).await;
    for (context, first) in [(&fresh, true), (&raced, false)] {
        store.queue_append(
            &mut writes,
            context,
            &[ProbeEvent::Opened { label: "x".into() }],
            &support::meta(),
            !first,
        );
    }
    let error = writes.send(&tx).await.expect_err("a conflict");
    assert!(
        matches!(
            eventstore::AppendError::from(error),
            eventstore::AppendError::Conflict
        ),
        "read as a conflict"
    );
    drop(tx);
    let kept = count(
        &client,
        "SELECT count(*) FROM eventstore.event WHERE aggregate_id LIKE 'r-%'",
    )
    .await;
    assert_eq!(kept, 1, "only the other writer's event");
}

#[tokio::test]
async fn rows_of_one_insert_go_out_together_in_the_order_queued() {
    let (_db, _store, mut client) = connected(
        "CREATE TABLE filed (n bigserial, id int PRIMARY KEY, label text NOT NULL, \
         at timestamptz NOT NULL, again timestamptz NOT NULL, note text);
         CREATE TABLE other (id int PRIMARY KEY)",
    )
    .await;
    let tx = client.transaction().await.expect("tx");
    let mut writes = Writes::new();
    const ROW: &str = "INSERT INTO filed (id, label, at, again, note) \
                       VALUES ($1, upper($2), $3, $3, coalesce($4, '(none)')) ON CONFLICT DO NOTHING";
    let at = chrono::Utc::now();
    for id in 0..40 {
        // The note's parameter is the row's last: $4 of the first row, $160 of the fortieth.
        let note = (id % 3 == 0).then(|| format!("note {id}"));
        writes.push_row(ROW, params![id, format!("row {id}"), at, note]);
        writes.push("INSERT INTO other VALUES ($1)", params![id]);
    }
    // A row its own statement's conflict clause skips.
    writes.push_row(ROW, params![7, "again".to_owned(), at, None::<String>]);
    assert_eq!(
        writes.len(),
        41,
        "the rows are one statement, the others one each"
    );
    let changed = writes.send(&tx).await.expect("sent");
    assert_eq!(changed, 80);
    tx.commit().await.expect("commit");

    let rows = client
        .query(
            "SELECT id, label, at = again, note FROM filed ORDER BY n",
            &[],
        )
        .await
        .expect("rows");
    let read: Vec<(i32, String, bool, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let expected: Vec<(i32, String, bool, String)> = (0..40)
        .map(|id| {
            let note = if id % 3 == 0 {
                format!("note {id}")
            } else {
                "(none)".to_owned()
            };
            (id, format!("ROW {id}"), true, note)
        })
        .collect();
    assert_eq!(read, expected);
    assert_eq!(count(&client, "SELECT count(*) FROM other").await, 40);
    // Forty-one rows went out in runs of 32, 8 and 1: three texts prepared on the connection.
    let prepared = count(
        &client,
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO filed%'",
    )
    .await;
    assert_eq!(prepared, 3);
}
