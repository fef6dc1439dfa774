//! Per-stream optimistic concurrency, atomic publishing and metadata, through `CqrsFramework`.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use contracts::selftest::v1::ProbeOpened;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, DomainEvent};
use eventstore::{Channel, Commands, IntegrationEvent, PgEventStore, Publish};
use serde::{Deserialize, Serialize};
use support::meta;
use testkit::TestDb;
use tokio::sync::Barrier;

/// An aggregate whose command waits at a barrier after loading, so that two commands are
/// certain to have read the same version before either appends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Gate {
    notes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum GateEvent {
    Noted { writer: String, n: usize },
}

impl DomainEvent for GateEvent {
    fn event_type(&self) -> String {
        "Noted".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Gate {
    const TYPE: &'static str = "gate";
    type Command = (String, usize);
    type Event = GateEvent;
    type Error = Never;
    type Services = Arc<Barrier>;

    async fn handle(
        &mut self,
        (writer, count): (String, usize),
        barrier: &Arc<Barrier>,
        sink: &EventSink<Self>,
    ) -> Result<(), Never> {
        barrier.wait().await;
        for n in 0..count {
            sink.write(
                GateEvent::Noted {
                    writer: writer.clone(),
                    n,
                },
                self,
            )
            .await;
        }
        Ok(())
    }

    fn apply(&mut self, _event: GateEvent) {
        self.notes += 1;
    }
}

impl Publish for Gate {
    fn publish(&self, aggregate_id: &str, event: &GateEvent) -> Vec<IntegrationEvent> {
        let GateEvent::Noted { writer, n } = event;
        vec![IntegrationEvent::encode(&ProbeOpened {
            probe_id: aggregate_id.into(),
            label: format!("{writer}:{n}"),
        })]
    }
}

async fn race(store: &PgEventStore, id: &str) -> (Result<(), String>, Result<(), String>) {
    let barrier = Arc::new(Barrier::new(2));
    let commands = Commands::<Gate>::new(store.clone(), barrier);
    let metadata = meta();
    let (a, b) = tokio::join!(
        commands.execute(id, ("a".into(), 2), &metadata),
        commands.execute(id, ("b".into(), 3), &metadata),
    );
    let outcome = |r: Result<_, AggregateError<Never>>| match r {
        Ok(_) => Ok(()),
        Err(AggregateError::AggregateConflict) => Err("conflict".to_owned()),
        Err(other) => Err(format!("unexpected: {other}")),
    };
    (outcome(a), outcome(b))
}

#[tokio::test]
async fn two_commands_racing_on_one_aggregate_one_wins_and_the_other_gets_a_conflict() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    for round in 0..5 {
        let id = format!("gate-{round}");
        let (a, b) = race(&store, &id).await;
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {a:?} {b:?}");
        assert!(
            [&a, &b]
                .iter()
                .any(|r| r.as_ref().err().map(String::as_str) == Some("conflict")),
            "round {round}: the loser must see a conflict: {a:?} {b:?}"
        );
        let stream = store.stream::<Gate>(&id).await.unwrap();
        let sequences: Vec<usize> = stream.iter().map(|e| e.sequence).collect();
        let expected: Vec<usize> = (1..=stream.len()).collect();
        assert_eq!(sequences, expected, "no gap and no duplicate sequence");
        let writers: Vec<&str> = stream
            .iter()
            .map(|e| match &e.payload {
                GateEvent::Noted { writer, .. } => writer.as_str(),
            })
            .collect();
        assert!(
            writers.windows(2).all(|w| w[0] == w[1]),
            "one writer's events only: {writers:?}"
        );
    }
}

#[tokio::test]
async fn when_the_domain_append_loses_a_race_no_integration_event_appears() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let (a, _b) = race(&store, "gate-x").await;
    let winner = if a.is_ok() { "a" } else { "b" };
    let expected = if winner == "a" { 2 } else { 3 };
    let published = support::settled_log(&db, &store).await;
    let labels: Vec<String> = published
        .iter()
        .map(|e| e.decode::<ProbeOpened>().unwrap().label)
        .collect();
    assert_eq!(labels.len(), expected, "{labels:?}");
    assert!(labels.iter().all(|l| l.starts_with(winner)), "{labels:?}");
}

#[tokio::test]
async fn every_event_keeps_its_metadata_and_published_events_name_their_cause() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let commands = Commands::<eventstore::selftest::Probe>::new(store.clone(), ());
    let metadata = meta().with_request_id("req-42");
    let receipt = commands
        .execute(
            "p-1",
            eventstore::selftest::ProbeCommand::Open { label: "x".into() },
            &metadata,
        )
        .await
        .unwrap();
    assert_eq!(receipt.events, 1);
    assert_eq!(receipt.last_sequence, Some(1));
    let stream = store
        .stream::<eventstore::selftest::Probe>("p-1")
        .await
        .unwrap();
    assert_eq!(stream.len(), 1);
    let event = &stream[0];
    assert_eq!(event.metadata, metadata);
    assert_eq!(event.metadata.channel, Channel::Console);
    assert_eq!(event.event_type, "ProbeOpened");
    assert!(event.recorded_at <= chrono::Utc::now());
    let published = support::settled_log(&db, &store).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].metadata.causation_id, Some(event.event_id));
    assert_eq!(
        published[0].metadata.correlation_id,
        metadata.correlation_id
    );
    assert_eq!(published[0].metadata.request_id.as_deref(), Some("req-42"));
    assert_eq!(Some(published[0].position), receipt.last_published);

    // The envelopes cqrs-es loads carry the same facts as strings.
    let envelopes = cqrs_es::EventStore::<eventstore::selftest::Probe>::load_events(&store, "p-1")
        .await
        .unwrap();
    assert_eq!(
        envelopes[0].metadata["event_id"],
        event.event_id.to_string()
    );
    assert_eq!(envelopes[0].metadata["request_id"], "req-42");
}

#[tokio::test]
async fn a_command_without_actor_and_channel_is_refused_and_writes_nothing() {
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let cqrs: CqrsFramework<eventstore::selftest::Probe, _> =
        CqrsFramework::new(store.clone(), Vec::new(), ());
    let refused = cqrs
        .execute_with_metadata(
            "p-2",
            eventstore::selftest::ProbeCommand::Open { label: "x".into() },
            HashMap::new(),
        )
        .await;
    assert!(
        matches!(&refused, Err(AggregateError::UnexpectedError(e)) if e.to_string().contains("actor_id")),
        "{refused:?}"
    );
    assert!(
        store
            .stream::<eventstore::selftest::Probe>("p-2")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(support::published_count(&db).await, 0);
}

#[tokio::test]
async fn a_cached_aggregate_made_stale_by_another_process_is_reloaded_and_the_command_applies_once()
{
    use eventstore::selftest::{Probe, ProbeCommand};
    let db = TestDb::new().await;
    // Two stores with their own caches stand for two processes writing one aggregate.
    let one = Commands::<Probe>::new(support::store(&db).await, ());
    let two = Commands::<Probe>::new(support::store(&db).await, ());
    let tick = ProbeCommand::Tick {
        amount: 10,
        times: 1,
    };
    one.execute("p", ProbeCommand::Open { label: "p".into() }, &meta())
        .await
        .unwrap();
    one.execute("p", tick.clone(), &meta()).await.unwrap(); // now cached by `one` at sequence 2
    two.execute("p", tick.clone(), &meta()).await.unwrap(); // sequence 3, unseen by `one`
    let receipt = one
        .execute("p", tick, &meta())
        .await
        .expect("retried on the fresh state");
    assert_eq!(receipt.last_sequence, Some(4));

    let store = support::store(&db).await;
    let stream = store.stream::<Probe>("p").await.unwrap();
    assert_eq!(
        stream.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let context = store.load::<Probe>("p").await.unwrap();
    assert_eq!(
        context.state().total(),
        30,
        "three ticks of 10, none lost or doubled"
    );
}

#[tokio::test]
async fn each_published_event_sees_the_state_right_after_its_own_domain_event() {
    use contracts::selftest::v1::ProbeTicked;
    use eventstore::selftest::{Probe, ProbeCommand};
    let db = TestDb::new().await;
    let store = support::store(&db).await;
    let commands = Commands::<Probe>::new(store.clone(), ());
    commands
        .execute("p", ProbeCommand::Open { label: "p".into() }, &meta())
        .await
        .unwrap();
    // cqrs-es applies each new event to the aggregate while the command runs; the published
    // totals must still count every tick once, also when the state comes from the cache.
    for _ in 0..2 {
        let tick = ProbeCommand::Tick {
            amount: 5,
            times: 2,
        };
        commands.execute("p", tick, &meta()).await.unwrap();
    }
    let totals: Vec<i64> = support::settled_log(&db, &store)
        .await
        .iter()
        .filter(|e| e.is::<ProbeTicked>())
        .map(|e| e.decode::<ProbeTicked>().unwrap().total)
        .collect();
    assert_eq!(totals, [5, 10, 15, 20]);
}
