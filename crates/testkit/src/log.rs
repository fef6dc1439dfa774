//! The public log as another service's commit leaves it: a test that runs one service appends
//! the messages the others would have published, and the service's subscriptions read them.

use eventstore::{Actor, Channel, EventMetadata, PgEventStore};
use uuid::Uuid;

/// Appends `message` to the public log as the next event of `aggregate_type` `aggregate_id`
/// (a system actor's), wakes the subscriptions, and answers its event id.
pub async fn publish<M: prost::Message + prost::Name>(
    store: &PgEventStore,
    aggregate_type: &str,
    aggregate_id: &str,
    message: &M,
) -> Uuid {
    let event_id = Uuid::now_v7();
    let metadata = serde_json::to_value(EventMetadata::new(Actor::system(), Channel::System))
        .expect("metadata serializes");
    let client = store.pool().get().await.expect("a database connection");
    client
        .execute(
            "INSERT INTO eventstore.published_event (event_id, message_type, payload, \
             aggregate_type, aggregate_id, sequence, metadata) \
             SELECT $1, $2, $3, $4, $5, count(*) + 1, $6 FROM eventstore.published_event \
             WHERE aggregate_type = $4 AND aggregate_id = $5",
            &[
                &event_id,
                &M::full_name(),
                &message.encode_to_vec(),
                &aggregate_type,
                &aggregate_id,
                &metadata,
            ],
        )
        .await
        .expect("the event is appended");
    store.notify_appended();
    event_id
}
