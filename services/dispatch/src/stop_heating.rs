//! Running stop-heating cases: load, decide, append, and write `dispatch.stop_heating` (and
//! the crew's photo) in one transaction; what the cases publish; and reading them back.

use chrono::{DateTime, Utc};
use contracts::dispatch::v1 as proto;
use contracts::intake::v1 as intake;
use cqrs_es::Aggregate;
use deadpool_postgres::GenericClient;
use eventstore::{AppendError, EventMetadata, IntegrationEvent, PgEventStore, Publish};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::stop_heating::{
    BuildingShare, CaseCommand, CaseError, CaseEvent, Kind, StopHeatingCase,
};

fn kind(kind: Kind) -> intake::StopHeatingKind {
    match kind {
        Kind::Stop => intake::StopHeatingKind::Stop,
        Kind::Restore => intake::StopHeatingKind::Restore,
    }
}

impl Publish for StopHeatingCase {
    fn publish(&self, aggregate_id: &str, event: &CaseEvent) -> Vec<IntegrationEvent> {
        // Opening tells nobody: intake published the application itself.
        let Some(f) = &self.filed else {
            return Vec::new();
        };
        let id = aggregate_id.to_owned();
        let replied = |approved: bool, refusal: &str, note: &str, crew: &str, at: DateTime<Utc>| {
            IntegrationEvent::encode(&proto::StopHeatingReplied {
                application_id: id.clone(),
                supplier_id: f.supplier_id.clone(),
                household: f.household.clone(),
                building_id: f.building_id.clone(),
                season: f.season.clone(),
                kind: kind(f.kind).into(),
                approved,
                refusal: refusal.to_owned(),
                note: note.to_owned(),
                crew_id: crew.to_owned(),
                replied_at_ms: at.timestamp_millis(),
                reply_by_ms: f.reply_by.timestamp_millis(),
                late: at > f.reply_by,
            })
        };
        let message = match event {
            CaseEvent::CaseOpened { .. } => return Vec::new(),
            CaseEvent::CaseApproved { crew, note, at } => replied(true, "", note, crew, *at),
            CaseEvent::CaseRefused { refusal, note, at } => {
                replied(false, refusal.code(), note, "", *at)
            }
            CaseEvent::ReplyBreached { at } => IntegrationEvent::encode(&proto::SlaBreached {
                ticket_id: id,
                supplier_id: f.supplier_id.clone(),
                clock: proto::Clock::StopHeatingReply.into(),
                cycle: 1,
                target: f.reply_target.clone(),
                deadline_ms: f.reply_by.timestamp_millis(),
                recorded_at_ms: at.timestamp_millis(),
                late_by_ms: (*at - f.reply_by).num_milliseconds().max(0),
            }),
            CaseEvent::ValveWorkDone {
                crew,
                photo_sha256,
                base_fee_share_pct,
                at,
            } => match f.kind {
                Kind::Stop => IntegrationEvent::encode(&proto::HeatingStopped {
                    application_id: id,
                    supplier_id: f.supplier_id.clone(),
                    household: f.household.clone(),
                    building_id: f.building_id.clone(),
                    season: f.season.clone(),
                    base_fee_share_pct: *base_fee_share_pct,
                    crew_id: crew.clone(),
                    photo_sha256: photo_sha256.clone(),
                    done_at_ms: at.timestamp_millis(),
                }),
                Kind::Restore => IntegrationEvent::encode(&proto::HeatingRestored {
                    application_id: id,
                    supplier_id: f.supplier_id.clone(),
                    household: f.household.clone(),
                    building_id: f.building_id.clone(),
                    season: f.season.clone(),
                    crew_id: crew.clone(),
                    photo_sha256: photo_sha256.clone(),
                    done_at_ms: at.timestamp_millis(),
                }),
            },
        };
        vec![message]
    }
}

/// Why a case command did not land.
#[derive(Debug, thiserror::Error)]
pub enum CaseFailure {
    /// Refused.
    #[error(transparent)]
    Refused(#[from] CaseError),
    /// The caller may not act on this case.
    #[error("{0}")]
    Forbidden(String),
    /// Another writer won the race.
    #[error("the application changed meanwhile; try again")]
    Contended,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] eventstore::StoreError),
    /// The append failed.
    #[error(transparent)]
    Append(AppendError),
}

impl From<tokio_postgres::Error> for CaseFailure {
    fn from(error: tokio_postgres::Error) -> Self {
        CaseFailure::Store(error.into())
    }
}

/// A photo to keep with the valve work.
pub struct Photo {
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Who may act on a case, decided on the case as loaded.
pub type Check<'a> = &'a (dyn Fn(&StopHeatingCase) -> Result<(), String> + Send + Sync);

/// Runs `command` on case `id` in its own transaction (`photo` is stored with valve work).
pub async fn execute(
    store: &PgEventStore,
    id: Uuid,
    command: CaseCommand,
    check: Check<'_>,
    photo: Option<Photo>,
    metadata: &EventMetadata,
) -> Result<StopHeatingCase, CaseFailure> {
    let mut client = store
        .pool()
        .get()
        .await
        .map_err(eventstore::StoreError::from)?;
    let tx = client.transaction().await?;
    let case = run_in(store, &tx, id, command, check, metadata).await?;
    if let Some(photo) = photo {
        let sha = hex_sha256(&photo.bytes);
        tx.execute(
            "INSERT INTO dispatch.valve_photo (application_id, content_type, bytes, sha256) \
             VALUES ($1, $2, $3, $4)",
            &[&id, &photo.content_type, &photo.bytes, &sha],
        )
        .await?;
    }
    tx.commit().await?;
    store.notify_appended();
    Ok(case)
}

/// The SHA-256 of `bytes` in hex.
pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Runs `command` on case `id` inside `tx`: load, check, decide, append, project. A command
/// that changes nothing is refused by the case, so every success appended.
pub async fn run_in(
    store: &PgEventStore,
    tx: &deadpool_postgres::Transaction<'_>,
    id: Uuid,
    command: CaseCommand,
    check: Check<'_>,
    metadata: &EventMetadata,
) -> Result<StopHeatingCase, CaseFailure> {
    let context = store
        .load_in::<StopHeatingCase>(tx, &id.to_string())
        .await?;
    if context.current_sequence() > 0 {
        check(context.state()).map_err(CaseFailure::Forbidden)?;
    }
    let events = context.state().decide(command)?;
    let appended = store
        .append_in(tx, &context, &events, metadata)
        .await
        .map_err(|e| match e {
            AppendError::Conflict => CaseFailure::Contended,
            other => CaseFailure::Append(other),
        })?;
    let mut case = context.state().clone();
    for event in &events {
        case.apply(event.clone());
        project(tx, id, event, &case, appended.last_sequence as i64).await?;
    }
    Ok(case)
}

/// Writes what `event` changed of case `id` (now `case`, at `version`) into
/// `dispatch.stop_heating`.
pub(crate) async fn project(
    tx: &impl GenericClient,
    id: Uuid,
    event: &CaseEvent,
    case: &StopHeatingCase,
    version: i64,
) -> Result<(), tokio_postgres::Error> {
    let status = case.status.code();
    match event {
        CaseEvent::CaseOpened { filed: f } => {
            tx.execute(
                "INSERT INTO dispatch.stop_heating (application_id, kind, season, household, \
                 building_id, district, supplier_id, reason, applied_at, reply_by, status, \
                 version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &id,
                    &f.kind.code(),
                    &f.season,
                    &f.household,
                    &f.building_id,
                    &f.district,
                    &f.supplier_id,
                    &f.reason,
                    &f.applied_at,
                    &f.reply_by,
                    &status,
                    &version,
                ],
            )
            .await?;
        }
        CaseEvent::CaseApproved { crew, note, at } => {
            let crew: Option<Uuid> = crew.parse().ok();
            tx.execute(
                "UPDATE dispatch.stop_heating SET status = $2, crew_id = $3, note = $4, \
                 replied_at = $5, version = $6 WHERE application_id = $1",
                &[&id, &status, &crew, note, at, &version],
            )
            .await?;
        }
        CaseEvent::CaseRefused { refusal, note, at } => {
            tx.execute(
                "UPDATE dispatch.stop_heating SET status = $2, refusal = $3, note = $4, \
                 replied_at = $5, version = $6 WHERE application_id = $1",
                &[&id, &status, &refusal.code(), note, at, &version],
            )
            .await?;
        }
        CaseEvent::ReplyBreached { at } => {
            tx.execute(
                "UPDATE dispatch.stop_heating SET breached_at = $2, version = $3 \
                 WHERE application_id = $1",
                &[&id, at, &version],
            )
            .await?;
        }
        CaseEvent::ValveWorkDone {
            photo_sha256, at, ..
        } => {
            tx.execute(
                "UPDATE dispatch.stop_heating SET status = $2, done_at = $3, photo_sha256 = $4, \
                 version = $5 WHERE application_id = $1",
                &[&id, &status, at, photo_sha256, &version],
            )
            .await?;
        }
    }
    Ok(())
}

/// How many of `building`'s households stop in `season` (approved or sealed), against the
/// city's cap; `None` when the household registry does not give the building's households.
pub async fn building_share(
    client: &impl GenericClient,
    building: &str,
    season: &str,
    terms: &platform::stop_heating::StopHeatingTerms,
) -> Result<Option<BuildingShare>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT b.households, \
                    (SELECT count(*) FROM dispatch.stop_heating s \
                     WHERE s.building_id = $1 AND s.season = $2 AND s.kind = 'stop' \
                       AND s.status IN ('approved', 'done')) \
             FROM dispatch.building_households b WHERE b.building_id = $1",
            &[&building, &season],
        )
        .await?;
    Ok(row.map(|r| BuildingShare {
        stopping: r.get(1),
        cap: platform::stop_heating::cap_count(terms, r.get(0)),
    }))
}

/// Replaces the number of households of each building listed (the household registry's
/// import); answers how many buildings.
pub async fn set_building_households(
    pool: &deadpool_postgres::Pool,
    counts: &[(String, i64)],
) -> Result<usize, eventstore::StoreError> {
    let client = pool.get().await?;
    let (buildings, households): (Vec<&str>, Vec<i64>) =
        counts.iter().map(|(b, n)| (b.as_str(), *n)).unzip();
    client
        .execute(
            "INSERT INTO dispatch.building_households (building_id, households) \
             SELECT * FROM unnest($1::text[], $2::bigint[]) \
             ON CONFLICT (building_id) DO UPDATE SET households = EXCLUDED.households",
            &[&buildings, &households],
        )
        .await?;
    Ok(counts.len())
}

/// A case as suppliers, crews, dispatchers and regulators read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// The application's id.
    pub application_id: Uuid,
    /// `stop` or `restore`.
    pub kind: String,
    /// The season.
    pub season: String,
    /// The household key.
    pub household: String,
    /// Its building.
    pub building_id: String,
    /// Its district.
    pub district: String,
    /// The supplier that replies.
    pub supplier_id: String,
    /// The resident's reason.
    pub reason: String,
    /// When it was filed.
    pub applied_at: DateTime<Utc>,
    /// When the reply is due.
    pub reply_by: DateTime<Utc>,
    /// `applied`, `approved`, `refused` or `done`.
    pub status: String,
    /// Why it was refused.
    pub refusal: Option<String>,
    /// The supplier's note.
    pub note: String,
    /// The crew named on approval.
    pub crew_id: Option<Uuid>,
    /// When the supplier replied.
    pub replied_at: Option<DateTime<Utc>>,
    /// When the reply deadline was recorded as missed.
    pub breached_at: Option<DateTime<Utc>>,
    /// When the crew did the valve work.
    pub done_at: Option<DateTime<Utc>>,
    /// The SHA-256 of the crew's photo.
    pub photo_sha256: Option<String>,
    /// The case's version.
    pub version: i64,
}

/// Which cases to list.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    /// Only this supplier's.
    pub supplier: Option<&'a str>,
    /// Only this district's.
    pub district: Option<&'a str>,
    /// Only this crew's jobs.
    pub crew: Option<Uuid>,
    /// Only in this status.
    pub status: Option<&'a str>,
    /// Only this season's.
    pub season: Option<&'a str>,
    /// Only this one.
    pub id: Option<Uuid>,
}

/// Cases, oldest reply deadline first, at most `limit`.
pub async fn list(
    client: &impl GenericClient,
    filter: &Filter<'_>,
    limit: i64,
) -> Result<Vec<CaseView>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT application_id, kind, season, household, building_id, district, \
                    supplier_id, reason, applied_at, reply_by, status, refusal, note, crew_id, \
                    replied_at, breached_at, done_at, photo_sha256, version \
             FROM dispatch.stop_heating \
             WHERE ($1::text IS NULL OR supplier_id = $1) \
               AND ($2::text IS NULL OR district = $2) \
               AND ($3::uuid IS NULL OR crew_id = $3) \
               AND ($4::text IS NULL OR status = $4) \
               AND ($5::text IS NULL OR season = $5) \
               AND ($6::uuid IS NULL OR application_id = $6) \
             ORDER BY reply_by, application_id LIMIT $7",
            &[
                &filter.supplier,
                &filter.district,
                &filter.crew,
                &filter.status,
                &filter.season,
                &filter.id,
                &limit,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| CaseView {
            application_id: r.get(0),
            kind: r.get(1),
            season: r.get(2),
            household: r.get(3),
            building_id: r.get(4),
            district: r.get(5),
            supplier_id: r.get(6),
            reason: r.get(7),
            applied_at: r.get(8),
            reply_by: r.get(9),
            status: r.get(10),
            refusal: r.get(11),
            note: r.get(12),
            crew_id: r.get(13),
            replied_at: r.get(14),
            breached_at: r.get(15),
            done_at: r.get(16),
            photo_sha256: r.get(17),
            version: r.get(18),
        })
        .collect())
}

/// The crew's photo of a case's valve work: its type and bytes.
pub async fn photo(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<(String, Vec<u8>)>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT content_type, bytes FROM dispatch.valve_photo WHERE application_id = $1",
            &[&id],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// Cases whose reply is overdue at `now` and not yet recorded as breached.
pub async fn overdue(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    Ok(client
        .query(
            "SELECT application_id FROM dispatch.stop_heating \
             WHERE status = 'applied' AND breached_at IS NULL AND reply_by <= $1 \
             ORDER BY reply_by LIMIT $2",
            &[&now, &limit],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
