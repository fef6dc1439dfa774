//! Readers of the public log never skip an event that commits late.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use eventstore::selftest::{Probe, ProbeEvent};
use eventstore::{LogPosition, PgEventStore, StreamContext, subscription};
use rand::{Rng, SeedableRng};
use support::{Recorder, meta};
use testkit::TestDb;

const WRITERS: usize = 8;
const STREAMS_PER_WRITER: usize = 6;
const COMMITTED_EVENTS_PER_WRITER: usize = 2_600;

/// One writer: transactions of 1–4 events on its own streams, some held open for a few
/// milliseconds, about one in ten rolled back. Returns the (stream, sequence) pairs committed.
async fn writer(store: PgEventStore, w: usize) -> (HashSet<(String, i64)>, usize) {
    let mut committed = HashSet::new();
    let mut rolled_back = 0;
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let streams: Vec<String> = (0..STREAMS_PER_WRITER)
        .map(|s| format!("w{w}-s{s}"))
        .collect();
    while committed.len() < COMMITTED_EVENTS_PER_WRITER {
        let stream = &streams[rng.random_range(0..streams.len())];
        let context: StreamContext<Probe> = store.load(stream).await.unwrap();
        let events: Vec<ProbeEvent> = (0..rng.random_range(1..=4))
            .map(|_| ProbeEvent::Ticked { amount: 1 })
            .collect();
        let hold = rng.random_bool(0.2).then(|| rng.random_range(1..6));
        let roll_back = rng.random_bool(0.1);
        let mut client = store.pool().get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let appended = store
            .append_in(&tx, &context, &events, &meta())
            .await
            .unwrap();
        if let Some(ms) = hold {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if roll_back {
            tx.rollback().await.unwrap();
            rolled_back += events.len();
        } else {
            tx.commit().await.unwrap();
            store.notify_appended();
            let first = appended.last_sequence - events.len() + 1;
            for sequence in first..=appended.last_sequence {
                committed.insert((stream.clone(), sequence as i64));
            }
        }
    }
    (committed, rolled_back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscriptions_see_every_committed_event_once_and_no_rolled_back_one_under_concurrent_writers()
 {
    let db = TestDb::new().await;
    support::create_seen_table(&db).await;
    let store = PgEventStore::new(&db.config().pool_size(WRITERS + 4));
    // Three subscriptions of one store share its reads of the log's newest events: one with
    // the usual batches, one with small batches (served from the middle of what another
    // read), and one started late, which first reads behind the shared stretch for itself.
    let mut small = support::fast_config("small");
    small.batch_size = 7;
    let mut running = vec![
        subscription::spawn(&store, support::fast_config("all"), Recorder::new("one")).unwrap(),
        subscription::spawn(&store, small, Recorder::new("small")).unwrap(),
    ];

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(store.clone(), w)))
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    running.push(
        subscription::spawn(&store, support::fast_config("late"), Recorder::new("late")).unwrap(),
    );
    let mut committed = HashSet::new();
    let mut rolled_back = 0;
    for handle in writers {
        let (events, rolled) = handle.await.unwrap();
        committed.extend(events);
        rolled_back += rolled;
    }
    assert!(committed.len() >= 20_000, "{} committed", committed.len());
    assert!(
        rolled_back > 1_000,
        "about a tenth rolled back: {rolled_back}"
    );

    let head = support::head(&db).await;
    for subscription in &running {
        assert!(
            subscription.wait_for(head, Duration::from_secs(60)).await,
            "caught up"
        );
    }

    let client = db.connect().await;
    for runner in ["one", "small", "late"] {
        let twice = client
            .query(
                "SELECT s.event_id::text, array_agg(s.delivery ORDER BY s.delivery)::text, min(p.tx_id::text), min(p.global_position)
                 FROM selftest.seen s LEFT JOIN eventstore.published_event p USING (event_id)
                 WHERE s.runner = $1
                 GROUP BY s.event_id HAVING count(*) > 1 LIMIT 5",
                &[&runner],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| format!("{} at {} (tx {:?}, position {:?})", r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, Option<String>>(2), r.get::<_, Option<i64>>(3)))
            .collect::<Vec<_>>();
        assert!(
            twice.is_empty(),
            "{runner}: no event delivered twice: {twice:#?}"
        );
        let rows = client
            .query(
                "SELECT aggregate_id, sequence FROM selftest.seen WHERE runner = $1",
                &[&runner],
            )
            .await
            .unwrap();
        assert_eq!(
            rows.len(),
            committed.len(),
            "{runner}: every committed event, nothing else"
        );
        let delivered: HashSet<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(delivered, committed, "{runner}");
        let out_of_order: i64 = client
            .query_one(
                "SELECT count(*) FROM (
                     SELECT sequence, lag(sequence) OVER (PARTITION BY aggregate_id ORDER BY delivery) AS previous
                     FROM selftest.seen WHERE runner = $1
                 ) d WHERE previous IS NOT NULL AND sequence <= previous",
                &[&runner],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(out_of_order, 0, "{runner}: every stream in its order");
    }
    for subscription in running {
        subscription.stop().await;
    }
}

#[tokio::test]
async fn an_event_that_took_its_position_first_but_committed_last_is_still_delivered() {
    let db = TestDb::new().await;
    support::create_seen_table(&db).await;
    let store = support::store(&db).await;
    let naive = db.connect().await;
    let naive_read = |after: i64| {
        let naive = &naive;
        async move {
            naive
                .query(
                    "SELECT global_position, aggregate_id FROM eventstore.published_event
                     WHERE global_position > $1 ORDER BY global_position",
                    &[&after],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
                .collect::<Vec<_>>()
        }
    };
    let open = |label: &str| {
        vec![ProbeEvent::Opened {
            label: label.into(),
        }]
    };

    // Transaction A takes the first position and stays open.
    let mut client_a = store.pool().get().await.unwrap();
    let tx_a = client_a.transaction().await.unwrap();
    let new_a: StreamContext<Probe> = store.load("first").await.unwrap();
    let a = store
        .append_in(&tx_a, &new_a, &open("first"), &meta())
        .await
        .unwrap();
    // B takes a later position and commits at once.
    let mut client_b = store.pool().get().await.unwrap();
    let tx_b = client_b.transaction().await.unwrap();
    let new_b: StreamContext<Probe> = store.load("second").await.unwrap();
    let b = store
        .append_in(&tx_b, &new_b, &open("second"), &meta())
        .await
        .unwrap();
    tx_b.commit().await.unwrap();
    assert!(a.last_event.global_position < b.last_event.global_position);

    // A naive reader sees B and moves its checkpoint past A's position...
    let naive_first = naive_read(0).await;
    assert_eq!(
        naive_first
            .iter()
            .map(|(_, id)| id.as_str())
            .collect::<Vec<_>>(),
        ["second"]
    );
    // ...while the horizon reader waits for A to finish.
    assert!(
        store
            .read_published(LogPosition::START, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let running =
        subscription::spawn(&store, support::fast_config("late"), Recorder::new("one")).unwrap();
    tx_a.commit().await.unwrap();
    store.notify_appended();

    // The naive reader never sees A: that is the bug this store avoids.
    let naive_checkpoint = naive_first.last().unwrap().0;
    assert!(naive_read(naive_checkpoint).await.is_empty());

    // The horizon is cluster-wide: a transaction of another database on the same server may
    // still hold B back for a moment, never A.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let read = loop {
        let read: Vec<String> = store
            .read_published(LogPosition::START, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.aggregate_id)
            .collect();
        if let Some(first) = read.first() {
            assert_eq!(first, "first", "A comes first: {read:?}");
        }
        if read.len() == 2 || tokio::time::Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(read, ["first", "second"]);
    let head = support::head(&db).await;
    assert!(running.wait_for(head, Duration::from_secs(10)).await);
    let delivered: Vec<String> = db
        .connect()
        .await
        .query(
            "SELECT aggregate_id FROM selftest.seen ORDER BY delivery",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(delivered, ["first", "second"]);
}

#[tokio::test]
async fn an_append_after_another_write_in_the_same_transaction_is_refused() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let mut client = store.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1)")
        .await
        .unwrap();
    let context: StreamContext<Probe> = store.load("p").await.unwrap();
    let refused = store
        .append_in(
            &tx,
            &context,
            &[ProbeEvent::Opened { label: "p".into() }],
            &meta(),
        )
        .await;
    assert!(
        matches!(refused, Err(eventstore::AppendError::NotFirstWrite)),
        "{refused:?}"
    );
    // Nothing was appended, even before the transaction is rolled back.
    tx.commit().await.unwrap();
    drop(client);
    assert!(store.stream::<Probe>("p").await.unwrap().is_empty());
}

#[tokio::test]
async fn the_log_is_ordered_by_transaction_id_as_a_number_not_as_text() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    // Transaction ids of different digit counts sort differently as text ("1000" < "999"): a
    // reader that got this wrong would page past events and deliver others twice.
    let client = db.connect().await;
    // Only ids below every running transaction are read: on a fresh server, use up ids first.
    while client
        .query_one("SELECT pg_current_xact_id()::text::bigint", &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
        <= 1001
    {}
    for tx_id in ["999", "1000", "10", "99", "100"] {
        client
            .execute(
                "INSERT INTO eventstore.published_event
                     (tx_id, event_id, message_type, payload, aggregate_type, aggregate_id, sequence, metadata)
                 VALUES ($1::text::xid8, gen_random_uuid(), 'm', '\\x00', 'probe', $1, 1, $2)",
                &[&tx_id, &serde_json::to_value(meta()).unwrap()],
            )
            .await
            .unwrap();
    }
    let mut after = LogPosition::START;
    let mut order = Vec::new();
    loop {
        let page = store.read_published(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        order.extend(page.into_iter().map(|e| e.aggregate_id));
    }
    assert_eq!(order, ["10", "99", "100", "999", "1000"]);
    assert_eq!(store.published_head().await.unwrap().tx_id, 1000);
}
