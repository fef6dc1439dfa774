//! The relay against a real NATS server with JetStream, a private one so that the test can
//! kill it and start it again on the same store: the relay killed mid-stream and the server
//! restarted under it, the stream still holds every event once, in log order.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream;
use contracts::dispatch::v1 as dispatch;
use eventstore::PgEventStore;
use relay::RelayConfig;
use testkit::nats::{Nats, free_port};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heatline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until the relay has handled `n` events.
async fn relayed(relay: &eventstore::SubscriptionHandle, n: u64) {
    let mut status = relay.watch();
    tokio::time::timeout(Duration::from_secs(60), status.wait_for(|s| s.handled >= n))
        .await
        .unwrap_or_else(|_| panic!("the relay handled {n} events within a minute"))
        .unwrap();
}

const EVENTS: usize = 3_000;
const TICKETS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_stream_and_with_nats_restarted_the_stream_holds_every_event_once_in_log_order()
{
    let db = testkit::TestDb::new().await;
    let store = PgEventStore::new(&db.config());
    let dir = scratch("jetstream");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let nats = Nats::start(port, &dir);

    // Dispatch keeps publishing while all this happens: the first half before NATS goes
    // away, the rest while it is away and after it is back.
    let writing = store.clone();
    let (nats_down, mut resume) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        for n in 0..EVENTS {
            if n == EVENTS / 2 {
                let _ = (&mut resume).await;
            }
            publish_breaches(&writing, n, n + 1).await;
            if n % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });

    let relay = relay::spawn(&store, RelayConfig::new(&url)).unwrap();
    relayed(&relay, 300).await;
    // Killed mid-stream: the batch in flight was published, not checkpointed.
    relay.abort();
    let relay = relay::spawn(&store, RelayConfig::new(&url)).unwrap();
    let written = store.published_head().await.unwrap();
    assert!(relay.wait_for(written, Duration::from_secs(60)).await);
    // The server crashes and comes back on the same store, while events are still coming.
    nats.kill();
    nats_down.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _nats = Nats::start(port, &dir);
    writer.await.unwrap();

    let head = store.published_head().await.unwrap();
    assert!(
        relay.wait_for(head, Duration::from_secs(60)).await,
        "the relay caught up with the log after the restart: {:?}",
        relay.status()
    );
    let logged = logged_ids(&store).await;
    assert_eq!(logged.len(), EVENTS);
    let (subjects, streamed) = streamed(&url).await;
    assert_eq!(streamed.len(), EVENTS);
    assert!(
        subjects
            .iter()
            .all(|s| s == "heatline.dispatch.v1.SlaBreached"),
        "{subjects:?}"
    );
    assert_eq!(streamed, logged, "every event once, in the log's order");
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The event ids of the public log, in log order.
async fn logged_ids(store: &PgEventStore) -> Vec<String> {
    let client = store.pool().get().await.unwrap();
    client
        .query(
            "SELECT event_id::text FROM eventstore.published_event \
             ORDER BY tx_id, global_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Every message of the stream, in the stream's order: the subjects and the message ids.
async fn streamed(url: &str) -> (Vec<String>, Vec<String>) {
    let jetstream = jetstream::new(async_nats::connect(url).await.unwrap());
    let mut stream = jetstream.get_stream("HEATLINE").await.unwrap();
    let state = stream.info().await.unwrap().state.clone();
    let (mut subjects, mut ids) = (Vec::new(), Vec::new());
    for sequence in state.first_sequence..=state.last_sequence {
        let message = stream.get_raw_message(sequence).await.unwrap();
        subjects.push(message.subject.to_string());
        ids.push(
            message
                .headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .unwrap()
                .to_string(),
        );
    }
    (subjects, ids)
}

/// Publishes breaches `from..to` of dispatch's sign-for clock, spread over the tickets.
async fn publish_breaches(store: &PgEventStore, from: usize, to: usize) {
    for n in from..to {
        let ticket = format!("t{:02}", n % TICKETS);
        let message = dispatch::SlaBreached {
            ticket_id: ticket.clone(),
            supplier_id: "north-heat".into(),
            clock: dispatch::Clock::Sign.into(),
            cycle: (n / TICKETS) as u32 + 1,
            ..Default::default()
        };
        testkit::log::publish(store, "ticket", &ticket, &message).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_back_after_the_duplicate_window_does_not_send_what_the_stream_holds() {
    let db = testkit::TestDb::new().await;
    let store = PgEventStore::new(&db.config());
    let dir = scratch("jetstream-window");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let _nats = Nats::start(port, &dir);
    let mut config = RelayConfig::new(&url);
    config.duplicate_window = Duration::from_secs(1);

    publish_breaches(&store, 0, 200).await;
    let relay = relay::spawn(&store, config.clone()).unwrap();
    let head = store.published_head().await.unwrap();
    assert!(relay.wait_for(head, Duration::from_secs(60)).await);
    relay.stop().await;

    // As if the relay had died after JetStream acknowledged the last 150 events and before
    // its checkpoint moved, and stayed down longer than the duplicate window.
    let client = store.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT tx_id::text, global_position FROM eventstore.published_event \
             ORDER BY tx_id, global_position OFFSET 49 LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let fiftieth = eventstore::LogPosition::from_parts(row.get(0), row.get(1)).unwrap();
    let (schema, name) = relay::SUBSCRIPTION.split_once('.').unwrap();
    eventstore::subscription::set_checkpoint(&store, schema, name, fiftieth)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    publish_breaches(&store, 200, 300).await;
    let relay = relay::spawn(&store, config).unwrap();
    let head = store.published_head().await.unwrap();
    assert!(
        relay.wait_for(head, Duration::from_secs(60)).await,
        "{:?}",
        relay.status()
    );
    let logged = logged_ids(&store).await;
    assert_eq!(logged.len(), 300);
    let (_, streamed) = streamed(&url).await;
    assert_eq!(streamed.len(), 300, "no event sent again after the window");
    assert_eq!(streamed, logged, "every event once, in the log's order");
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
}
