//! Filing: the batches in which filings that arrive together are decided, one transaction
//! for many, and a filing decided alone when its batch failed.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Transaction;
use eventstore::{AppendError, EventMetadata, StoreError, StreamContext};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{ATTEMPTS, CommandError, Complaints, FilingReceipt, NewFiling};
use crate::domain::complaint::{Complaint, ComplaintCommand, Status};
use crate::projection::project;

/// The most filings decided in one transaction.
pub(super) const BATCH: usize = 16;
/// How many transactions of filings run at once.
pub(super) const FILING_WORKERS: usize = 6;

/// A filing waiting for a batch.
pub(super) struct Job {
    filing: NewFiling,
    metadata: EventMetadata,
    reply: oneshot::Sender<Result<FilingReceipt, CommandError>>,
    /// When it was queued.
    queued: std::time::Instant,
}

impl Complaints {
    pub(super) async fn work(self, jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
        loop {
            let mut batch = Vec::with_capacity(BATCH);
            {
                let mut jobs = jobs.lock().await;
                // Wait for one, then take whatever else is already waiting: no added delay
                // when it is quiet, bigger batches when it is busy.
                if jobs.recv_many(&mut batch, 1).await == 0 {
                    return;
                }
                while batch.len() < BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
            }
            let started = std::time::Instant::now();
            let outcome = self.file_batch(&batch).await;
            tracing::debug!(
                filings = batch.len(),
                waited_ms = batch
                    .iter()
                    .map(|j| started.duration_since(j.queued).as_secs_f64() * 1000.0)
                    .fold(0.0, f64::max),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "filing batch decided"
            );
            match outcome {
                Ok(outcomes) => {
                    for (job, outcome) in batch.into_iter().zip(outcomes) {
                        let _gone = job.reply.send(outcome);
                    }
                }
                Err(error) => {
                    if !matches!(error, CommandError::Contended) {
                        tracing::warn!(%error, filings = batch.len(), "a batch of filings failed; filing them one by one");
                    }
                    for job in batch {
                        let outcome = self.file_alone(&job.filing, &job.metadata).await;
                        let _gone = job.reply.send(outcome);
                    }
                }
            }
        }
    }

    /// Files a complaint: a retry of an earlier filing answers as it did; a household with an
    /// open complaint in the window gets it merged; a resident over the hourly limit is refused.
    ///
    /// Filings that arrive together are decided in one transaction (one commit for many, in
    /// arrival order, each seeing the ones before it); if that transaction fails as a whole,
    /// each of its filings is run again on its own.
    /// A filing that landed (not a retry) is logged and counted in
    /// `heatline_complaints_total{channel,outcome}`.
    #[tracing::instrument(skip_all, fields(complaint.id = %filing.id))]
    pub async fn file(
        &self,
        filing: &NewFiling,
        metadata: &EventMetadata,
    ) -> Result<FilingReceipt, CommandError> {
        let receipt = self.decide(filing, metadata).await?;
        if !receipt.replayed {
            let channel = crate::projection::source_code(filing.details.source);
            tracing::info!(
                complaint.id = %receipt.complaint_id,
                filed.id = %receipt.filed_id,
                merged = receipt.merged,
                routed = receipt.routed,
                source = channel,
                "complaint filed"
            );
            let outcome = if receipt.merged { "merged" } else { "accepted" };
            platform::metrics::count(
                crate::COMPLAINTS,
                &[("channel", channel), ("outcome", outcome)],
            );
        }
        Ok(receipt)
    }

    /// Decides a filing in a batch with others when the workers run, else on its own.
    async fn decide(
        &self,
        filing: &NewFiling,
        metadata: &EventMetadata,
    ) -> Result<FilingReceipt, CommandError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            filing: filing.clone(),
            metadata: metadata.clone(),
            reply,
            queued: std::time::Instant::now(),
        };
        let Some(queue) = &self.queue else {
            return self.file_alone(filing, metadata).await;
        };
        if queue.send(job).await.is_err() {
            return self.file_alone(filing, metadata).await;
        }
        match answer.await {
            Ok(outcome) => outcome,
            Err(_) => self.file_alone(filing, metadata).await,
        }
    }

    /// Files one complaint in a transaction of its own, retrying lost races.
    async fn file_alone(
        &self,
        filing: &NewFiling,
        metadata: &EventMetadata,
    ) -> Result<FilingReceipt, CommandError> {
        let mut outcome = Err(CommandError::Contended);
        for _ in 0..ATTEMPTS {
            outcome = self.try_file(filing, metadata).await;
            if !matches!(outcome, Err(CommandError::Contended)) {
                break;
            }
        }
        outcome
    }

    async fn try_file(
        &self,
        filing: &NewFiling,
        metadata: &EventMetadata,
    ) -> Result<FilingReceipt, CommandError> {
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let locking = lock_statement(&tx).await?;
        // The locks first, the reads behind them: one round trip.
        let (locked, read) = futures_util::future::join(
            lock(&tx, &locking, &[filing]),
            self.read_filing(&tx, filing),
        )
        .await;
        locked?;
        let read = read?;
        let mut writes = eventstore::Writes::new();
        let outcome = self
            .decide_filing(&tx, filing, metadata, read, &mut writes, false)
            .await;
        if outcome.is_ok() {
            send(&tx, &mut writes).await?;
            tx.commit().await?;
            self.store.notify_appended();
        }
        outcome.map(|(receipt, _)| receipt)
    }

    /// Files a batch in one transaction. `Err` when the transaction failed as a whole (nothing
    /// of it stored); otherwise each filing's own outcome.
    ///
    /// Round trips, not statements, are what a batch waits for: the reads of every filing
    /// that does not depend on an earlier one of the batch (another household, and for a
    /// limited filer another filer) go out together, and the writes of the filings that merge
    /// nothing go out together at the end. A filing that depends on an earlier one, or that
    /// merges, sends what is queued first and reads after it, exactly as if each had been
    /// decided alone in turn.
    async fn file_batch(
        &self,
        jobs: &[Job],
    ) -> Result<Vec<Result<FilingReceipt, CommandError>>, CommandError> {
        let t0 = std::time::Instant::now();
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let t1 = std::time::Instant::now();
        let tx = client.transaction().await?;
        let t2 = std::time::Instant::now();
        let filings: Vec<&NewFiling> = jobs.iter().map(|j| &j.filing).collect();
        let locking = lock_statement(&tx).await?;
        let independent = independent(&filings);
        // The locks first, the reads behind them: one round trip.
        let (locked, reads) = futures_util::future::join(
            lock(&tx, &locking, &filings),
            futures_util::future::join_all(filings.iter().zip(&independent).map(
                |(filing, independent)| {
                    let tx = &tx;
                    async move {
                        if *independent {
                            Some(self.read_filing(tx, filing).await)
                        } else {
                            None
                        }
                    }
                },
            )),
        )
        .await;
        locked?;
        let t3 = std::time::Instant::now();
        let mut reads: Vec<Option<Result<Read, CommandError>>> = reads;
        let mut writes = eventstore::Writes::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut wrote = false;
        for (job, read) in jobs.iter().zip(reads.iter_mut()) {
            let read = match read.take() {
                Some(read) => read?,
                None => {
                    // It depends on what the filings before it wrote.
                    send(&tx, &mut writes).await?;
                    self.read_filing(&tx, &job.filing).await?
                }
            };
            match self
                .decide_filing(&tx, &job.filing, &job.metadata, read, &mut writes, wrote)
                .await
            {
                Ok((receipt, written)) => {
                    wrote |= written;
                    outcomes.push(Ok(receipt));
                }
                // A refusal writes nothing: the others go on.
                Err(
                    refusal @ (CommandError::Refused(_)
                    | CommandError::KeyReused
                    | CommandError::TooMany { .. }),
                ) => outcomes.push(Err(refusal)),
                Err(failure) => return Err(failure),
            }
        }
        let t4 = std::time::Instant::now();
        send(&tx, &mut writes).await?;
        let t5 = std::time::Instant::now();
        tx.commit().await?;
        let t6 = std::time::Instant::now();
        let ms = |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64() * 1000.0;
        tracing::debug!(
            pool = ms(t0, t1),
            begin = ms(t1, t2),
            reads = ms(t2, t3),
            decide = ms(t3, t4),
            writes = ms(t4, t5),
            commit = ms(t5, t6),
            "filing batch phases"
        );
        if wrote {
            self.store.notify_appended();
        }
        Ok(outcomes)
    }

    /// What a filing's decision reads: its stream (none for a fresh id), its household's open
    /// complaint, its filer's recent filings and its area's open incident, in one round trip.
    async fn read_filing(
        &self,
        tx: &Transaction<'_>,
        filing: &NewFiling,
    ) -> Result<Read, CommandError> {
        let id = filing.id.to_string();
        let filing_context = tx
            .prepare_cached(include_str!("../sql/filing_context.sql"))
            .await?;
        let since_merge = filing.at - self.limits.merge_window;
        let since_hour = filing.at - Duration::hours(1);
        let since_incident = filing.at - self.incident_window;
        // A filer the hourly limit does not hold (an operator, a sensor episode) has its recent
        // filings counted up to none: an operator files all day, and counting ten of them for
        // each filing was most of what filings read from `intake.complaint`.
        let count_up_to = if filing.rate_limited {
            self.limits.per_hour
        } else {
            0
        };
        let route = &filing.details.route;
        let (context, row) = tokio::try_join!(
            async {
                if filing.fresh {
                    return Ok(StreamContext::new_stream(&id));
                }
                self.store
                    .load_in::<Complaint>(tx, &id)
                    .await
                    .map_err(CommandError::from)
            },
            async {
                tx.query_one(
                    &filing_context,
                    &[
                        &filing.details.household.as_str(),
                        &since_merge,
                        &filing.details.filer,
                        &since_hour,
                        &count_up_to,
                        &route.building_id,
                        &route.station,
                        &since_incident,
                    ],
                )
                .await
                .map_err(CommandError::from)
            },
        )?;
        Ok(Read {
            context,
            open: row.get("open_complaint"),
            recent: row.get("recent"),
            nth_recent: row.get("nth_recent"),
            incident: row.get("open_incident"),
        })
    }

    /// Decides one filing inside `tx`, whose locks are held, from what [`Self::read_filing`]
    /// read. A new complaint's writes are queued in `writes`; a merge sends them first and
    /// writes at once (it reads the complaint it merges into). `wrote` says whether anything
    /// was written or queued in `tx` before. Returns the receipt and whether anything was
    /// written or queued.
    async fn decide_filing(
        &self,
        tx: &Transaction<'_>,
        filing: &NewFiling,
        metadata: &EventMetadata,
        read: Read,
        writes: &mut eventstore::Writes,
        wrote: bool,
    ) -> Result<(FilingReceipt, bool), CommandError> {
        let id = filing.id.to_string();
        let Read {
            context,
            open,
            recent,
            nth_recent,
            incident,
        } = read;
        if context.state().status() != Status::New {
            return replay(context.state(), filing).map(|receipt| (receipt, false));
        }
        if filing.rate_limited && recent >= self.limits.per_hour {
            let free_at = nth_recent.unwrap_or(filing.at) + Duration::hours(1);
            let retry_after = (free_at - filing.at).num_seconds().max(1) as u64;
            return Err(CommandError::TooMany { retry_after });
        }
        let event = context.state().decide(ComplaintCommand::File {
            details: Box::new(filing.details.clone()),
            fingerprint: filing.fingerprint.clone(),
            merge_into: open.map(|o| o.to_string()),
            open_incident: incident.map(|i| i.to_string()),
            at: filing.at,
        })?;
        let contact = filing.details.personal.sealed_here();
        let queued = self.store.queue_append(
            writes,
            &context,
            std::slice::from_ref(&event),
            metadata,
            wrote,
        );
        crate::projection::queue_insert(writes, filing.id, &event, queued.last_sequence, contact);
        filing.key.queue(writes);
        if let Some(into) = open {
            // The merge reads the complaint it goes into: after what is queued is written.
            send(tx, writes).await?;
            let cause = metadata.clone().caused_by(queued.event_ids[0]);
            let target = self
                .store
                .load_in::<Complaint>(tx, &into.to_string())
                .await?;
            let repeat = target.state().decide(ComplaintCommand::RecordRepeat {
                complaint_id: id.clone(),
                at: filing.at,
            })?;
            let also = self
                .store
                .append_also_in(tx, &target, std::slice::from_ref(&repeat), &cause)
                .await?;
            project(tx, into, &repeat, also.last_sequence, None).await?;
        }
        let receipt = FilingReceipt {
            filed_id: filing.id,
            complaint_id: open.unwrap_or(filing.id),
            merged: open.is_some(),
            routed: filing.details.route.is_routed(),
            replayed: false,
        };
        Ok((receipt, true))
    }
}

/// What a filing's decision reads before it is decided ([`Complaints::read_filing`]).
struct Read {
    context: StreamContext<Complaint>,
    /// The household's open complaint within the merge window.
    open: Option<Uuid>,
    /// The filer's filings in the last hour (at most the limit; none counted for a filer the
    /// limit does not hold).
    recent: i64,
    /// When the oldest of those was filed.
    nth_recent: Option<DateTime<Utc>>,
    /// The open incident of its building or station.
    incident: Option<Uuid>,
}

/// For each filing of a batch, whether what it reads is untouched by the filings before it:
/// another id, another household, and, when the hourly limit applies to it, another filer.
/// Such a filing can be read before the earlier ones are written.
fn independent(filings: &[&NewFiling]) -> Vec<bool> {
    let mut ids = std::collections::HashSet::new();
    let mut households = std::collections::HashSet::new();
    let mut filers = std::collections::HashSet::new();
    filings
        .iter()
        .map(|f| {
            let seen = ids.contains(&f.id)
                || households.contains(f.details.household.as_str())
                || (f.rate_limited && filers.contains(f.details.filer.as_str()));
            ids.insert(f.id);
            households.insert(f.details.household.as_str());
            filers.insert(f.details.filer.as_str());
            !seen
        })
        .collect()
}

/// Sends what is queued in `tx`, in order; a lost race is [`CommandError::Contended`].
async fn send(tx: &Transaction<'_>, writes: &mut eventstore::Writes) -> Result<(), CommandError> {
    writes.send(tx).await.map_err(AppendError::from)?;
    Ok(())
}

/// Takes the locks of `filings` (each one's household, so a repeat sees the complaint it
/// merges into, and, for a filing under the hourly limit, its filer, so the limit is exact) in
/// the order of their lock ids: two transactions never wait for each other in a cycle. A filer
/// without a limit (a hotline operator, a sensor episode) is not locked: an operator's filings
/// for different households go on at once. Advisory locks are not writes: an append after them
/// is still the transaction's first write.
///
/// `statement` is [`lock_statement`]'s. The locks are asked for when this is first polled:
/// reads polled after it on the same connection are sent behind it, and PostgreSQL runs them
/// once the locks are held, in the same round trip.
async fn lock(
    tx: &Transaction<'_>,
    statement: &tokio_postgres::Statement,
    filings: &[&NewFiling],
) -> Result<(), CommandError> {
    let keys: Vec<String> = filings
        .iter()
        .flat_map(|f| {
            let household = format!("intake.household:{}", f.details.household.as_str());
            let filer = f
                .rate_limited
                .then(|| format!("intake.filer:{}", f.details.filer));
            std::iter::once(household).chain(filer)
        })
        .collect();
    tx.execute(statement, &[&keys]).await?;
    Ok(())
}

/// The statement [`lock`] runs (prepared once per connection).
async fn lock_statement(tx: &Transaction<'_>) -> Result<tokio_postgres::Statement, CommandError> {
    Ok(tx
        .prepare_cached(include_str!("../sql/lock_filing.sql"))
        .await?)
}

fn replay(state: &Complaint, filing: &NewFiling) -> Result<FilingReceipt, CommandError> {
    if state.fingerprint() != filing.fingerprint {
        return Err(CommandError::KeyReused);
    }
    let merged_into = state.merged_into().and_then(|m| m.parse::<Uuid>().ok());
    Ok(FilingReceipt {
        filed_id: filing.id,
        complaint_id: merged_into.unwrap_or(filing.id),
        merged: merged_into.is_some(),
        routed: state.details().is_some_and(|d| d.route.is_routed()),
        replayed: true,
    })
}
