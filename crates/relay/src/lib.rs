//! The public log relayed to NATS JetStream, for those who subscribe there instead of polling
//! the API (a provincial supervision platform, a city data hub).
//!
//! A subscription to the public log (`relay.jetstream`, one holder across processes) publishes
//! each event, in log order, to a JetStream stream on the subject of its message type, which
//! names its context and version (`heatline.dispatch.v1.TicketResolved`). The payload is the
//! event's protobuf message as `proto/` describes it; headers name the stream and sequence it
//! belongs to. `Nats-Msg-Id` is the event id, so JetStream drops a copy sent again within its
//! duplicate window. Each event waits for JetStream's acknowledgement before the next is sent,
//! and the checkpoint moves with the batch only after every acknowledgement: an event is never
//! skipped, and order per aggregate (and overall) is the log's. A relay killed mid-batch sends
//! the batch again from its checkpoint; the copies are dropped as duplicates. When it takes the
//! subscription it also looks at the stream's last message: the events up to it are already
//! there and are not sent again, so a relay that stays down past the duplicate window does not
//! leave copies in the stream either.

use std::time::Duration;

use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::jetstream::{self, Context, message::PublishMessage, stream};
use async_trait::async_trait;
use eventstore::{
    Batch, HandlerError, LogPosition, PgEventStore, PublishedEvent, StoreError, SubscriptionConfig,
    SubscriptionHandle,
};
use platform::metrics::Counter;
use tokio::sync::Mutex;

/// The subscription's schema and name, as `/metrics` names its lag.
pub const SUBSCRIPTION: &str = "relay.jetstream";

/// Events relayed, by whether JetStream already held them.
pub const RELAYED: Counter = Counter {
    name: "heatline_relay_events_total",
    help: "Published events JetStream acknowledged, by whether it already held them (outcome=\"stored\" or \"duplicate\"), and events not sent again because the stream's last message was past the checkpoint (outcome=\"held\").",
};

/// Where and how the log is relayed.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The NATS server (`nats://host:4222`).
    pub url: String,
    /// The JetStream stream, made when missing with the subjects `heatline.>`.
    pub stream: String,
    /// How long JetStream remembers a message id to drop its copies (for a stream it makes).
    pub duplicate_window: Duration,
    /// How long to wait for an acknowledgement before the batch is sent again.
    pub ack_timeout: Duration,
}

impl RelayConfig {
    /// The stream `HEATLINE`, copies dropped within 2 hours, acknowledgements awaited 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        RelayConfig {
            url: url.into(),
            stream: "HEATLINE".into(),
            duplicate_window: Duration::from_secs(2 * 3600),
            ack_timeout: Duration::from_secs(5),
        }
    }
}

/// The subject an event of `message_type` is published on: the type itself
/// (`heatline.{context}.v1.{Type}`), which must be one under `heatline.` with no wildcard
/// or empty token.
pub fn subject(message_type: &str) -> Option<&str> {
    let tokens: Vec<&str> = message_type.split('.').collect();
    let plain = |t: &&str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    (tokens.len() >= 4 && tokens[0] == "heatline" && tokens.iter().all(plain))
        .then_some(message_type)
}

struct Relay {
    config: RelayConfig,
    store: PgEventStore,
    jetstream: Mutex<Option<Context>>,
    /// Where the stream's last message stands in the log, when that is past the checkpoint
    /// this relay took the subscription at: the events up to it are not sent again.
    held_through: std::sync::Mutex<Option<LogPosition>>,
}

impl Relay {
    /// The JetStream context, connecting and making the stream on first use. The client
    /// reconnects by itself after that.
    async fn jetstream(&self) -> Result<Context, HandlerError> {
        let mut held = self.jetstream.lock().await;
        if let Some(context) = held.as_ref() {
            return Ok(context.clone());
        }
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(self.config.ack_timeout)
            .connect(self.config.url.as_str())
            .await?;
        let mut context = jetstream::new(client);
        context.set_timeout(self.config.ack_timeout);
        context
            .get_or_create_stream(stream::Config {
                name: self.config.stream.clone(),
                subjects: vec!["heatline.>".into()],
                duplicate_window: self.config.duplicate_window,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await?;
        tracing::info!(url = %self.config.url, stream = %self.config.stream, "relaying the public log to JetStream");
        *held = Some(context.clone());
        Ok(context)
    }
}

/// The event id of the stream's last message (`Nats-Msg-Id`), if it has one. A stream
/// that is empty, or whose last message was deleted, has none.
async fn last_message_id(context: &Context, stream: &str) -> Result<Option<String>, HandlerError> {
    let mut stream = context.get_stream(stream).await?;
    let last = stream.info().await?.state.last_sequence;
    if last == 0 {
        return Ok(None);
    }
    match stream.get_raw_message(last).await {
        Ok(message) => Ok(message
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|id| id.to_string())),
        Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn message(event: &PublishedEvent) -> PublishMessage {
    PublishMessage::build()
        .payload(event.payload.clone().into())
        .message_id(event.event_id.to_string())
        .header("Content-Type", "application/x-protobuf")
        .header("Heatline-Message-Type", event.message_type.as_str())
        .header("Heatline-Aggregate-Type", event.aggregate_type.as_str())
        .header("Heatline-Aggregate-Id", event.aggregate_id.as_str())
        .header("Heatline-Sequence", event.sequence.to_string().as_str())
        .header(
            "Heatline-Recorded-At",
            event.recorded_at.to_rfc3339().as_str(),
        )
}

#[async_trait]
impl eventstore::Handler for Relay {
    async fn handle(
        &self,
        _batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let jetstream = self.jetstream().await?;
        let held = *self.held_through.lock().expect("held position");
        for event in events {
            if held.is_some_and(|through| event.position <= through) {
                platform::metrics::count(RELAYED, &[("outcome", "held")]);
                continue;
            }
            let subject = subject(&event.message_type).ok_or_else(|| {
                format!(
                    "event {} has the message type {:?}, which is no subject under heatline.",
                    event.event_id, event.message_type
                )
            })?;
            let ack = jetstream
                .send_publish(subject.to_owned(), message(event))
                .await?
                .await?;
            let outcome = if ack.duplicate { "duplicate" } else { "stored" };
            platform::metrics::count(RELAYED, &[("outcome", outcome)]);
        }
        Ok(())
    }

    /// Finds where the stream already is: events relayed and acknowledged after the last
    /// committed checkpoint (a relay killed between the two) are in the stream, and sending
    /// them again after the duplicate window would store them twice.
    async fn resume(&self, checkpoint: LogPosition) -> Result<(), HandlerError> {
        let jetstream = self.jetstream().await?;
        let through = match last_message_id(&jetstream, &self.config.stream).await? {
            Some(id) => match id.parse() {
                Ok(id) => self.store.published_position(id).await?,
                // Not one of this log's events: nothing to go by.
                Err(_) => None,
            },
            None => None,
        };
        let through = through.filter(|through| *through > checkpoint);
        if let Some(through) = through {
            tracing::info!(
                %checkpoint,
                %through,
                stream = %self.config.stream,
                "the stream already holds the log past the checkpoint; those events are not sent again"
            );
        }
        *self.held_through.lock().expect("held position") = through;
        Ok(())
    }
}

/// Starts the relay on the current Tokio runtime: it connects on its first batch, and retries
/// a batch JetStream did not acknowledge within a few seconds.
pub fn spawn(store: &PgEventStore, config: RelayConfig) -> Result<SubscriptionHandle, StoreError> {
    platform::metrics::declare(RELAYED);
    let (schema, name) = SUBSCRIPTION.split_once('.').expect("schema.name");
    let mut subscription = SubscriptionConfig::new(schema, name);
    // A server back after an outage is written to again within seconds.
    subscription.max_backoff = Duration::from_secs(5);
    // Its batches wait for JetStream: a server that is down must not hold the others' turns.
    subscription.takes_batch_slot = false;
    eventstore::subscription::spawn(
        store,
        subscription,
        Relay {
            config,
            store: store.clone(),
            jetstream: Mutex::new(None),
            held_through: std::sync::Mutex::new(None),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::subject;

    #[test]
    fn an_events_subject_is_its_message_type_under_heatline() {
        assert_eq!(
            subject("heatline.dispatch.v1.TicketResolved"),
            Some("heatline.dispatch.v1.TicketResolved")
        );
        assert_eq!(subject("heatline.dispatch.v1.*"), None);
        assert_eq!(subject("heatline.dispatch.v1.>"), None);
        assert_eq!(subject("heatline..v1.X"), None);
        assert_eq!(subject("other.dispatch.v1.X"), None);
        assert_eq!(subject("heatline.dispatch X.v1.Y"), None);
        assert_eq!(subject("heatline.v1"), None);
    }
}
