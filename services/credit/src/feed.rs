//! The ledger's feed: a subscription to the public log that runs the scorer over dispatch's
//! events (and credit's own appeal decisions) and records its entries.
//!
//! The scorer keeps its state in memory. It is a function of the log up to the subscription's
//! checkpoint, so each batch checks that the scorer has applied exactly that prefix; when it
//! has not (a new process, a failed batch, a reset checkpoint), the scorer is rebuilt by
//! replaying the log up to the checkpoint without writing anything, then the batch goes on.
//! Entries are recorded through the ledger, which skips entries it already holds: an event
//! handled twice never counts twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use eventstore::{
    Actor, Batch, Channel, EventMetadata, HandlerError, LogPosition, PgEventStore, PublishedEvent,
    StoreError, StreamContext, SubscriptionConfig, SubscriptionHandle,
};
use platform::clock::Clock;
use tokio::sync::Mutex;

use crate::domain::credit::{CreditCommand, Entry, SupplierCredit};
use crate::domain::rulebook::Rulebook;
use crate::domain::scorer::{Draft, Scorer};
use crate::domain::stream_id;
use crate::domain::values::Season;
use crate::projection::project;
use crate::publish::fact;

/// The subscription's name in the `credit` schema.
pub const NAME: &str = "ledger_feed";

/// Events read per page when the scorer is rebuilt.
const REPLAY_PAGE: i64 = 5_000;

struct Live {
    scorer: Scorer,
    position: LogPosition,
    streams: HashMap<String, (usize, SupplierCredit)>,
}

struct Feed {
    store: PgEventStore,
    rulebook: Arc<Rulebook>,
    clock: Arc<dyn Clock>,
    live: Mutex<Option<Live>>,
}

/// Starts the feed.
pub fn spawn(
    store: &PgEventStore,
    rulebook: Arc<Rulebook>,
    clock: Arc<dyn Clock>,
) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("credit", NAME),
        Feed {
            store: store.clone(),
            rulebook,
            clock,
            live: Mutex::new(None),
        },
    )
}

/// The suppliers' heated areas, from the registry.
pub async fn areas(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<HashMap<String, f64>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT supplier_id, heated_area_m2 FROM credit.supplier",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Runs `scorer` over the public log from its start up to and including `until` (the whole
/// log when `None`), handing each entry to `sink`. Returns how many events were read. The
/// next page is read and decoded while the scorer works on the current one.
pub async fn replay(
    store: &PgEventStore,
    scorer: &mut Scorer,
    until: Option<LogPosition>,
    mut sink: impl FnMut(Draft),
) -> Result<u64, StoreError> {
    let (pages, mut received) = tokio::sync::mpsc::channel::<Result<(u64, Vec<_>), StoreError>>(2);
    let reader_store = store.clone();
    let reader = tokio::spawn(async move {
        let mut after = LogPosition::START;
        loop {
            if until.is_some_and(|until| after >= until) {
                return;
            }
            let events = match reader_store.read_published(after, REPLAY_PAGE).await {
                Ok(events) => events,
                Err(error) => {
                    let _ = pages.send(Err(error)).await;
                    return;
                }
            };
            let Some(last) = events.last() else { return };
            after = last.position;
            let within: Vec<&PublishedEvent> = events
                .iter()
                .take_while(|e| until.is_none_or(|until| e.position <= until))
                .collect();
            let read = within.len() as u64;
            let facts: Vec<_> = within.into_iter().filter_map(fact).collect();
            let done = read < events.len() as u64;
            if pages.send(Ok((read, facts))).await.is_err() || done {
                return;
            }
        }
    });
    let mut read = 0;
    while let Some(page) = received.recv().await {
        let (count, facts) = page?;
        read += count;
        for fact in &facts {
            scorer.apply(fact).into_iter().for_each(&mut sink);
        }
    }
    let _ = reader.await;
    Ok(read)
}

fn entry(draft: Draft) -> Entry {
    Entry {
        entry_id: draft.entry_id,
        dimension: draft.dimension,
        rule: draft.rule,
        version: draft.version,
        points: draft.points,
        evidence: draft.evidence,
        tickets: draft.tickets,
        detail: draft.detail,
        at: draft.at,
        reverses: draft.reverses,
    }
}

impl Feed {
    async fn rebuilt(&self, batch: &Batch<'_>) -> Result<Live, HandlerError> {
        let mut scorer = Scorer::new(self.rulebook.clone());
        scorer.set_areas(areas(batch.tx()).await?);
        let until = batch.after();
        let read = replay(&self.store, &mut scorer, Some(until), |_| {}).await?;
        tracing::info!(events = read, "credit scorer rebuilt from the log");
        Ok(Live {
            scorer,
            position: until,
            streams: HashMap::new(),
        })
    }

    async fn record(
        &self,
        batch: &mut Batch<'_>,
        live: &mut Live,
        stream: String,
        (supplier, season): (String, Season),
        drafts: Vec<Draft>,
        metadata: &EventMetadata,
    ) -> Result<(), HandlerError> {
        let version = batch.stream_version::<SupplierCredit>(&stream).await?;
        let context = match live.streams.remove(&stream) {
            Some((sequence, state)) if sequence == version => {
                StreamContext::resume(&stream, state, sequence)
            }
            _ => batch.load::<SupplierCredit>(&stream).await?,
        };
        let command = CreditCommand::Record(drafts.into_iter().map(entry).collect());
        let events = context.state().decide(command)?;
        let mut credit = context.state().clone();
        if events.is_empty() {
            live.streams
                .insert(stream, (context.current_sequence(), credit));
            return Ok(());
        }
        let appended = batch.append(&context, &events, metadata).await?;
        for event in &events {
            cqrs_es::Aggregate::apply(&mut credit, event.clone());
        }
        project(
            batch.tx(),
            &supplier,
            season,
            &credit,
            &events,
            context.current_sequence() + 1,
            self.clock.now(),
        )
        .await?;
        live.streams
            .insert(stream, (appended.last_sequence, credit));
        Ok(())
    }
}

#[async_trait]
impl eventstore::Handler for Feed {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let mut guard = self.live.lock().await;
        let mut live = match guard.take() {
            Some(live) if live.position == batch.after() => live,
            _ => self.rebuilt(batch).await?,
        };
        live.scorer.set_areas(areas(batch.tx()).await?);
        let mut by_stream: BTreeMap<String, ((String, Season), Vec<Draft>)> = BTreeMap::new();
        for event in events {
            let Some(fact) = fact(event) else { continue };
            for draft in live.scorer.apply(&fact) {
                let key = stream_id(&draft.supplier, draft.season);
                by_stream
                    .entry(key)
                    .or_insert_with(|| ((draft.supplier.clone(), draft.season), Vec::new()))
                    .1
                    .push(draft);
            }
        }
        let Some(last) = events.last() else {
            *guard = Some(live);
            return Ok(());
        };
        let metadata = EventMetadata::new(Actor::system(), Channel::System)
            .caused_by(last.event_id)
            .correlated_with(last.metadata.correlation_id);
        for (stream, (owner, drafts)) in by_stream {
            // On failure the scorer is dropped: the batch rolls back and the next one
            // rebuilds it from the checkpoint.
            self.record(batch, &mut live, stream, owner, drafts, &metadata)
                .await?;
        }
        live.position = last.position;
        *guard = Some(live);
        Ok(())
    }
}
