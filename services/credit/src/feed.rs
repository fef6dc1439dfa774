//! The ledger's feed: a subscription to the public log that runs the scorer over dispatch's
//! events (and credit's own appeal decisions) and records its entries.
//!
//! The scorer keeps its state in memory. It is a function of the log up to the subscription's
//! checkpoint, so each batch checks that the scorer has applied exactly that prefix; when it
//! has not (a failed batch, a reset checkpoint), the scorer is rebuilt by replaying the log up
//! to the checkpoint without writing anything, then the batch goes on. A process that takes
//! the feed rebuilds the scorer at once, before the first batch. Every so many events the
//! scorer is saved (`credit.scorer_snapshot`, tied to the log position it had read to), so a
//! rebuild starts from the newest snapshot at or before the checkpoint and reads only the log
//! after it.
//! Entries are recorded through the ledger, which skips entries it already holds: an event
//! handled twice never counts twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

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

/// The encoding of a saved scorer ([`Scorer::save`]): a change to what the scorer keeps makes
/// a new one, and snapshots of another are not used.
const SNAPSHOT_FORMAT: i32 = 1;

/// Published events the feed reads between two snapshots of its scorer, by default: a start
/// replays at most about this many.
pub const SNAPSHOT_EVERY: u64 = 50_000;

struct Live {
    scorer: Scorer,
    position: LogPosition,
    streams: HashMap<String, (usize, SupplierCredit)>,
    /// Published events the scorer has read, from the start of the log.
    events: u64,
    /// Of which since the last snapshot (or the rebuild).
    unsaved: u64,
}

struct Feed {
    store: PgEventStore,
    rulebook: Arc<Rulebook>,
    fingerprint: String,
    clock: Arc<dyn Clock>,
    snapshot_every: u64,
    live: Mutex<Option<Live>>,
}

/// Starts the feed, saving its scorer every `snapshot_every` events.
pub fn spawn(
    store: &PgEventStore,
    rulebook: Arc<Rulebook>,
    clock: Arc<dyn Clock>,
    snapshot_every: u64,
) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("credit", NAME),
        Feed {
            store: store.clone(),
            fingerprint: rulebook.fingerprint(),
            rulebook,
            clock,
            snapshot_every: snapshot_every.max(1),
            live: Mutex::new(None),
        },
    )
}

/// The newest snapshot of the feed's scorer: the position it had read to and how many
/// published events that was.
pub async fn snapshot(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<Option<(LogPosition, u64)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT tx_id::text, global_position, events FROM credit.scorer_snapshot \
             WHERE name = $1",
            &[&NAME],
        )
        .await?;
    row.map(|row| {
        let position = LogPosition::from_parts(row.get(0), row.get(1))
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        Ok((position, row.get::<_, i64>(2) as u64))
    })
    .transpose()
}

/// Saves a scorer's `state` ([`Scorer::save`]) under `rulebook`'s fingerprint, having read the
/// log up to `position` (`events` events), unless a newer snapshot of the same rulebook and
/// encoding is there.
pub async fn save_snapshot(
    client: &impl deadpool_postgres::GenericClient,
    state: &[u8],
    rulebook: &str,
    position: LogPosition,
    events: u64,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO credit.scorer_snapshot \
               (name, tx_id, global_position, rulebook, format, events, state) \
             VALUES ($1, $2::text::xid8, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, \
               global_position = excluded.global_position, rulebook = excluded.rulebook, \
               format = excluded.format, events = excluded.events, state = excluded.state, \
               taken_at = now() \
             WHERE (scorer_snapshot.tx_id, scorer_snapshot.global_position) \
                   < (excluded.tx_id, excluded.global_position) \
                OR scorer_snapshot.rulebook <> excluded.rulebook \
                OR scorer_snapshot.format <> excluded.format",
            &[
                &NAME,
                &position.tx_id_text(),
                &position.global_position,
                &rulebook,
                &SNAPSHOT_FORMAT,
                &(events as i64),
                &state,
            ],
        )
        .await?;
    Ok(())
}

/// The newest usable snapshot at or before `until`: the scorer, its position and events.
async fn load_snapshot(
    client: &impl deadpool_postgres::GenericClient,
    rulebook: &Arc<Rulebook>,
    fingerprint: &str,
    until: LogPosition,
) -> Result<Option<(Scorer, LogPosition, u64)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT tx_id::text, global_position, events, state FROM credit.scorer_snapshot \
             WHERE name = $1 AND rulebook = $2 AND format = $3 \
               AND (tx_id, global_position) <= ($4::text::xid8, $5)",
            &[
                &NAME,
                &fingerprint,
                &SNAPSHOT_FORMAT,
                &until.tx_id_text(),
                &until.global_position,
            ],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let position = LogPosition::from_parts(row.get(0), row.get(1))
        .map_err(|e| StoreError::Decode(e.to_string()))?;
    let state: Vec<u8> = row.get(3);
    let rulebook = rulebook.clone();
    let restored = tokio::task::spawn_blocking(move || Scorer::restore(rulebook, &state))
        .await
        .map_err(|e| StoreError::Decode(e.to_string()))?;
    match restored {
        Ok(scorer) => Ok(Some((scorer, position, row.get::<_, i64>(2) as u64))),
        Err(error) => {
            tracing::warn!(%error, "credit scorer snapshot not used; replaying the whole log");
            Ok(None)
        }
    }
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
    sink: impl FnMut(Draft),
) -> Result<u64, StoreError> {
    replay_after(store, scorer, LogPosition::START, until, sink).await
}

/// [`replay`] of the log after `from` (where a restored scorer had read to).
pub async fn replay_after(
    store: &PgEventStore,
    scorer: &mut Scorer,
    from: LogPosition,
    until: Option<LogPosition>,
    mut sink: impl FnMut(Draft),
) -> Result<u64, StoreError> {
    let (pages, mut received) = tokio::sync::mpsc::channel::<Result<(u64, Vec<_>), StoreError>>(2);
    let reader_store = store.clone();
    let reader = tokio::spawn(async move {
        let mut after = from;
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
    /// The scorer as of `until`: the newest snapshot at or before it, then the log after it.
    async fn rebuilt(&self, until: LogPosition) -> Result<Live, HandlerError> {
        let started = Instant::now();
        let client = self.store.pool().get().await?;
        let (mut scorer, from, before) =
            match load_snapshot(&client, &self.rulebook, &self.fingerprint, until).await? {
                Some(snapshot) => snapshot,
                None => (Scorer::new(self.rulebook.clone()), LogPosition::START, 0),
            };
        scorer.set_areas(areas(&client).await?);
        drop(client);
        let read = replay_after(&self.store, &mut scorer, from, Some(until), |_| {}).await?;
        tracing::info!(
            snapshot_events = before,
            events_after = read,
            seconds = started.elapsed().as_secs_f64(),
            "credit scorer rebuilt from its snapshot and the log after it"
        );
        Ok(Live {
            scorer,
            position: until,
            streams: HashMap::new(),
            events: before + read,
            unsaved: read,
        })
    }

    /// Saves the scorer when enough events came since the last snapshot. It is encoded here
    /// and written beside the batch, on a connection of its own: a snapshot depends only on
    /// the log it read, not on the batch committing.
    fn maybe_save(&self, live: &mut Live) {
        if live.unsaved < self.snapshot_every {
            return;
        }
        live.unsaved = 0;
        let state = match live.scorer.save() {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%error, "credit scorer snapshot not saved");
                return;
            }
        };
        let (store, fingerprint) = (self.store.clone(), self.fingerprint.clone());
        let (position, events) = (live.position, live.events);
        tokio::spawn(async move {
            let saved = async {
                let client = store.pool().get().await?;
                save_snapshot(&client, &state, &fingerprint, position, events).await
            };
            if let Err(error) = saved.await {
                tracing::warn!(%error, "credit scorer snapshot not saved");
            }
        });
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
            _ => self.rebuilt(batch.after()).await?,
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
        live.events += events.len() as u64;
        live.unsaved += events.len() as u64;
        self.maybe_save(&mut live);
        *guard = Some(live);
        Ok(())
    }

    async fn resume(&self, checkpoint: LogPosition) -> Result<(), HandlerError> {
        let mut guard = self.live.lock().await;
        if guard
            .as_ref()
            .is_none_or(|live| live.position != checkpoint)
        {
            *guard = None;
            *guard = Some(self.rebuilt(checkpoint).await?);
        }
        Ok(())
    }
}
