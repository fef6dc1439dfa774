//! The read model `intake.complaint`, kept in step with the complaint's events inside the
//! transaction that appends them.

use deadpool_postgres::Transaction;
use eventstore::params;
use eventstore::writes::Param;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use chrono::Utc;

use crate::domain::complaint::{ComplaintEvent, Contact, Status};

pub(crate) fn status_code(status: Status) -> &'static str {
    match status {
        Status::New => "new",
        Status::Open => "open",
        Status::Merged => "merged",
        Status::Signed => "signed",
        Status::Withdrawn => "withdrawn",
        Status::Rejected => "rejected",
    }
}

/// The one statement that keeps `intake.complaint` in step with an event that changes a few
/// columns of its row (version = its sequence); `None` for a filing or a reveal, whose rows
/// [`project`] writes.
pub(crate) fn row_update(
    id: Uuid,
    event: &ComplaintEvent,
    version: usize,
) -> Option<(&'static str, Vec<Param>)> {
    let version = version as i64;
    let at = event.at();
    Some(match event {
        ComplaintEvent::Routed { route, .. } => (
            "UPDATE intake.complaint SET building_id = $2, station = $3, district = $4, \
             supplier_id = $5, updated_at = $6, version = $7 WHERE complaint_id = $1",
            params![
                id,
                route.building_id.clone(),
                route.station.clone(),
                route.district.clone(),
                route.supplier_id.clone(),
                at,
                version
            ],
        ),
        ComplaintEvent::JoinedIncident { incident_id, .. } => (
            "UPDATE intake.complaint SET incident_id = $2, updated_at = $3, version = $4 \
             WHERE complaint_id = $1",
            params![id, incident_id.parse::<Uuid>().ok(), at, version],
        ),
        ComplaintEvent::RepeatRecorded { .. } => (
            "UPDATE intake.complaint SET updated_at = $2, version = $3 WHERE complaint_id = $1",
            params![id, at, version],
        ),
        ComplaintEvent::Withdrawn { .. }
        | ComplaintEvent::Rejected { .. }
        | ComplaintEvent::Signed { .. } => {
            let status = match event {
                ComplaintEvent::Withdrawn { .. } => Status::Withdrawn,
                ComplaintEvent::Rejected { .. } => Status::Rejected,
                _ => Status::Signed,
            };
            (
                "UPDATE intake.complaint SET status = $2, updated_at = $3, version = $4 \
                 WHERE complaint_id = $1",
                params![id, status_code(status), at, version],
            )
        }
        ComplaintEvent::Accepted { .. }
        | ComplaintEvent::Merged { .. }
        | ComplaintEvent::ContactRevealed { .. } => return None,
    })
}

/// Keeps `intake.complaint` (and the reveal log) in step with one event of complaint `id`
/// (version = its sequence), appended for the request `request_id`. Each statement is
/// prepared once per connection.
pub(crate) async fn project(
    tx: &Transaction<'_>,
    id: Uuid,
    event: &ComplaintEvent,
    version: usize,
    request_id: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    if let Some((sql, params)) = row_update(id, event, version) {
        let params: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        tx.execute(&tx.prepare_cached(sql).await?, &params).await?;
        return Ok(());
    }
    let version = version as i64;
    let at = event.at();
    match event {
        ComplaintEvent::Accepted { .. } | ComplaintEvent::Merged { .. } => {
            let statement = tx.prepare_cached(INSERT_COMPLAINT).await?;
            let contact = match event {
                ComplaintEvent::Accepted { details, .. }
                | ComplaintEvent::Merged { details, .. } => details.personal.sealed_here(),
                _ => None,
            };
            insert_row(tx, &statement, id, event, version as usize, contact).await?;
        }
        ComplaintEvent::ContactRevealed { by, reason, .. } => {
            let sql = "UPDATE intake.complaint SET version = $2 WHERE complaint_id = $1";
            tx.execute(&tx.prepare_cached(sql).await?, &[&id, &version])
                .await?;
            let sql = "INSERT INTO intake.contact_reveal (complaint_id, version, revealed_at, \
                       account, role, district, supplier_id, reason, request_id, reveal_id) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
            let reveal_id = crate::views::reveal_id(id, version);
            tx.execute(
                &tx.prepare_cached(sql).await?,
                &[
                    &id,
                    &version,
                    &at,
                    &by.account,
                    &by.role,
                    &by.district,
                    &by.supplier_id,
                    reason,
                    &request_id,
                    &reveal_id,
                ],
            )
            .await?;
            return Ok(());
        }
        _ => {}
    };
    Ok(())
}

/// Inserts the read model's row of a filing (an `Accepted` or `Merged` event), with its
/// personal data opened (`None`: erased).
pub(crate) async fn insert_row(
    tx: &Transaction<'_>,
    statement: &tokio_postgres::Statement,
    id: Uuid,
    event: &ComplaintEvent,
    version: usize,
    contact: Option<&Contact>,
) -> Result<(), tokio_postgres::Error> {
    let Some(params) = insert_params(id, event, version, contact) else {
        return Ok(());
    };
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    tx.execute(statement, &refs).await?;
    Ok(())
}

/// The read model's row of a filing, queued in [`eventstore::Writes`] as a row of one statement
/// with the other filings' rows queued there (no statement of a queue reads the complaints).
pub(crate) fn queue_insert(
    writes: &mut eventstore::Writes,
    id: Uuid,
    event: &ComplaintEvent,
    version: usize,
    contact: Option<&Contact>,
) {
    if let Some(params) = insert_params(id, event, version, contact) {
        writes.push_row(INSERT_COMPLAINT, params);
    }
}

/// Inserts a filing's row (`sql/insert_complaint.sql`).
pub(crate) const INSERT_COMPLAINT: &str = include_str!("sql/insert_complaint.sql");

/// The parameters of [`INSERT_COMPLAINT`] for an `Accepted` or `Merged` event; `None` for
/// any other.
fn insert_params(
    id: Uuid,
    event: &ComplaintEvent,
    version: usize,
    contact: Option<&Contact>,
) -> Option<Vec<Param>> {
    let (details, merged_into, status, incident) = match event {
        ComplaintEvent::Accepted {
            details,
            joins_incident,
            ..
        } => (
            details,
            None,
            Status::Open,
            joins_incident
                .as_deref()
                .and_then(|i| i.parse::<Uuid>().ok()),
        ),
        ComplaintEvent::Merged { details, into, .. } => {
            (details, into.parse::<Uuid>().ok(), Status::Merged, None)
        }
        _ => return None,
    };
    let version = version as i64;
    let at = event.at();
    let d = details.as_ref();
    let erased = Contact::default();
    let (c, erased_at) = match contact {
        Some(c) => (c, None),
        None => (&erased, Some(Utc::now())),
    };
    Some(params![
        id,
        d.filer.clone(),
        source_code(d.source),
        d.category.code(),
        priority_code(d.priority),
        status_code(status),
        d.household.as_str().to_owned(),
        c.account.as_ref().map(|a| a.as_str().to_owned()),
        c.address.as_ref().map(|a| a.as_str().to_owned()),
        c.position.map(|p| p.0),
        c.position.map(|p| p.1),
        c.contact_phone.clone(),
        d.route.building_id.clone(),
        d.route.station.clone(),
        d.route.district.clone(),
        d.route.supplier_id.clone(),
        d.reading.map(|r| r.tenths()),
        c.description.clone(),
        c.photos.clone(),
        d.hotline_work_order.clone(),
        merged_into,
        at,
        version,
        erased_at,
        incident,
    ])
}

/// The stable code of a source.
pub fn source_code(source: crate::domain::values::Source) -> &'static str {
    use crate::domain::values::Source;
    match source {
        Source::App => "app",
        Source::Wechat => "wechat",
        Source::HotlineOperator => "hotline_operator",
        Source::HotlinePlatform => "hotline_platform",
        Source::Open311 => "open311",
        Source::Sensor => "sensor",
    }
}

/// The stable code of a priority.
pub fn priority_code(priority: crate::domain::values::Priority) -> &'static str {
    match priority {
        crate::domain::values::Priority::Normal => "normal",
        crate::domain::values::Priority::Urgent => "urgent",
    }
}
