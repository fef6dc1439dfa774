//! Running stop-heating applications: decide, append and write `intake.stop_heating` in one
//! transaction, so a household's second open application of a kind and season is refused
//! before anything is stored; and reading a resident's applications back.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use deadpool_postgres::GenericClient;
use eventstore::{AppendError, EventMetadata, IntegrationEvent, PgEventStore, Publish};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::stop_heating::{
    Kind, StopHeatingApplication, StopHeatingCommand, StopHeatingError, StopHeatingEvent,
};

impl From<Kind> for proto::StopHeatingKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Stop => proto::StopHeatingKind::Stop,
            Kind::Restore => proto::StopHeatingKind::Restore,
        }
    }
}

impl Publish for StopHeatingApplication {
    fn publish(&self, aggregate_id: &str, event: &StopHeatingEvent) -> Vec<IntegrationEvent> {
        let StopHeatingEvent::Applied { application: a } = event;
        vec![IntegrationEvent::encode(&proto::StopHeatingApplied {
            application_id: aggregate_id.to_owned(),
            kind: proto::StopHeatingKind::from(a.kind).into(),
            season: a.season.clone(),
            household: a.household.clone(),
            route: Some((&a.route).into()),
            reason: a.reason.clone(),
            applied_at_ms: a.at.timestamp_millis(),
            filed_by: a.filed_by.clone(),
            source: proto::Source::from(a.source).into(),
        })]
    }
}

/// Why an application did not land.
#[derive(Debug, thiserror::Error)]
pub enum ApplyFailure {
    /// Refused.
    #[error(transparent)]
    Refused(#[from] StopHeatingError),
    /// The household has an open application of this kind for the season.
    #[error("this home has an open application of this kind for the season")]
    Open {
        /// That application.
        existing: Uuid,
    },
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

impl From<tokio_postgres::Error> for ApplyFailure {
    fn from(error: tokio_postgres::Error) -> Self {
        ApplyFailure::Store(error.into())
    }
}

/// Files application `id`.
pub async fn apply(
    store: &PgEventStore,
    id: Uuid,
    command: StopHeatingCommand,
    metadata: &EventMetadata,
) -> Result<(), ApplyFailure> {
    let StopHeatingCommand::Apply { application: a } = &command;
    let mut client = store
        .pool()
        .get()
        .await
        .map_err(eventstore::StoreError::from)?;
    let tx = client.transaction().await?;
    let context = store
        .load_in::<StopHeatingApplication>(&tx, &id.to_string())
        .await?;
    let events = context.state().decide(command.clone())?;
    store
        .append_in(&tx, &context, &events, metadata)
        .await
        .map_err(|e| match e {
            AppendError::Conflict => ApplyFailure::Contended,
            other => ApplyFailure::Append(other),
        })?;
    let inserted = tx
        .execute(
            "INSERT INTO intake.stop_heating (application_id, kind, season, household, reason, \
             building_id, supplier_id, filed_by, filed_at, deadline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (household, season, kind) WHERE status <> 'refused' DO NOTHING",
            &[
                &id,
                &a.kind.code(),
                &a.season,
                &a.household,
                &a.reason,
                &a.route.building_id.clone().unwrap_or_default(),
                &a.route.supplier_id.clone().unwrap_or_default(),
                &a.filed_by,
                &a.at,
                &a.deadline,
            ],
        )
        .await?;
    if inserted == 0 {
        // The transaction rolls back with the appended event.
        let existing = tx
            .query_one(
                "SELECT application_id FROM intake.stop_heating \
                 WHERE household = $1 AND season = $2 AND kind = $3 AND status <> 'refused'",
                &[&a.household, &a.season, &a.kind.code()],
            )
            .await?
            .get(0);
        return Err(ApplyFailure::Open { existing });
    }
    tx.commit().await?;
    store.notify_appended();
    Ok(())
}

/// An application as its resident follows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// Its id.
    pub application_id: Uuid,
    /// `stop` or `restore`.
    pub kind: String,
    /// The season.
    pub season: String,
    /// Why.
    pub reason: String,
    /// The building.
    pub building_id: String,
    /// The supplier that replies.
    pub supplier_id: String,
    /// When it was filed.
    pub filed_at: DateTime<Utc>,
    /// When applications for the season closed.
    pub deadline: DateTime<Utc>,
    /// `applied` (waiting for the supplier), `approved` (a crew will come), `refused`, or
    /// `done` (the valve was sealed, or opened for a restore).
    pub status: String,
    /// Why it was refused.
    pub refusal: Option<String>,
    /// The supplier's note.
    pub note: Option<String>,
    /// When the supplier replied.
    pub replied_at: Option<DateTime<Utc>>,
    /// When the crew did the valve work.
    pub done_at: Option<DateTime<Utc>>,
}

/// A resident's applications, newest first, or one of them.
pub async fn mine(
    client: &impl GenericClient,
    filed_by: &str,
    id: Option<Uuid>,
) -> Result<Vec<ApplicationView>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT application_id, kind, season, reason, building_id, supplier_id, filed_at, \
                    deadline, status, refusal, note, replied_at, done_at \
             FROM intake.stop_heating \
             WHERE filed_by = $1 AND ($2::uuid IS NULL OR application_id = $2) \
             ORDER BY filed_at DESC LIMIT 100",
            &[&filed_by, &id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ApplicationView {
            application_id: r.get(0),
            kind: r.get(1),
            season: r.get(2),
            reason: r.get(3),
            building_id: r.get(4),
            supplier_id: r.get(5),
            filed_at: r.get(6),
            deadline: r.get(7),
            status: r.get(8),
            refusal: r.get(9),
            note: r.get(10),
            replied_at: r.get(11),
            done_at: r.get(12),
        })
        .collect())
}
