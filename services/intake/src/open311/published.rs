//! What Open311 publishes of a request, and to whom: the public sees category, status and
//! notes, dates, the agency and the building; the client that filed a request also sees its
//! own description.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::constant_eq;
use super::render::{Format, error};
use super::schema::ServiceRequest;
use crate::Intake;
use crate::domain::values::Category;
use crate::news::{CLOSED_WITHOUT_REPAIR, REPAIR_CLOSED};

/// What a city publishes of a request: its category, status and notes, dates, the agency, and
/// the building (never the flat, never free text, names or phones, whatever the channel). The
/// description is shown only to the Open311 client that filed the request (`viewer`, from its
/// api_key); coordinates are rounded to about 100 m.
pub(super) async fn request_rows(
    intake: &Intake,
    format: Format,
    viewer: Option<&str>,
    where_sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<ServiceRequest>, HttpResponse> {
    let client = intake.store.pool().get().await.map_err(|_| {
        error(
            format,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "try again shortly",
        )
    })?;
    let sql = format!(
        "SELECT c.complaint_id, c.filer, c.status, c.category, c.supplier_id, c.description, c.filed_at, \
         c.updated_at, c.lat, c.long, c.merged_into, b.address AS building_address, \
         repair.event AS repair_event, repair.note AS repair_note, \
         (SELECT max(p.at) FROM intake.complaint_progress p \
          WHERE p.complaint_id = c.complaint_id) AS progressed_at \
         FROM intake.complaint c LEFT JOIN intake.building b ON b.building_id = c.building_id \
         LEFT JOIN LATERAL (SELECT p.event, p.note FROM intake.complaint_progress p \
          WHERE p.complaint_id = c.complaint_id AND p.event IN ('resolved', 'closed', 'reopened') \
          ORDER BY p.at DESC, p.event_id DESC LIMIT 1) repair ON true \
         WHERE {where_sql} ORDER BY c.filed_at DESC LIMIT 1000"
    );
    let rows = client.query(&sql, params).await.map_err(|e| {
        if platform::error::database_unreachable(&e) {
            return error(
                format,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
            );
        }
        tracing::error!(error = %e, "open311 query failed");
        error(
            format,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "try again later",
        )
    })?;
    Ok(rows
        .iter()
        .map(|row| {
            let status: String = row.get("status");
            let category = Category::parse(row.get::<_, &str>("category"));
            let (open, notes) = match status.as_str() {
                "open" | "signed" | "merged" => repair_status(
                    row.get("repair_event"),
                    row.get("repair_note"),
                    &status,
                    row.get("merged_into"),
                ),
                "withdrawn" => (false, "withdrawn by the reporter".to_owned()),
                _ => (false, "closed: not a heating matter".to_owned()),
            };
            let filed: DateTime<Utc> = row.get("filed_at");
            let own = viewer.is_some_and(|v| row.get::<_, &str>("filer") == format!("open311:{v}"));
            let description = own.then(|| row.get::<_, String>("description"));
            let coarse = |c: Option<f64>| c.map(|c| (c * 1000.0).round() / 1000.0);
            // The repair's steps move it too.
            let updated: DateTime<Utc> = row
                .get::<_, Option<DateTime<Utc>>>("progressed_at")
                .map_or(row.get("updated_at"), |at| at.max(row.get("updated_at")));
            let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            ServiceRequest {
                service_request_id: row.get::<_, Uuid>("complaint_id").to_string(),
                status: if open { "open" } else { "closed" },
                status_notes: notes,
                service_name: category.map(Category::name).unwrap_or_default(),
                service_code: category.map(Category::code).unwrap_or_default(),
                description,
                agency_responsible: row.get("supplier_id"),
                service_notice: None,
                requested_datetime: time(filed),
                updated_datetime: time(updated),
                expected_datetime: None,
                // Only the building, never the flat: these lists are public.
                address: row.get("building_address"),
                address_id: None,
                zipcode: None,
                lat: coarse(row.get("lat")),
                long: coarse(row.get("long")),
                media_url: None,
            }
        })
        .collect())
}

/// Where a live request stands, from the last step of its repair that opens or closes it:
/// resolved or closed is `closed` (saying which), reopened is `open` again.
fn repair_status(
    step: Option<&str>,
    note: Option<&str>,
    status: &str,
    merged_into: Option<Uuid>,
) -> (bool, String) {
    match (step, note) {
        (Some("resolved"), _) => (
            false,
            "repaired; the resident is asked to confirm".to_owned(),
        ),
        (Some("closed"), Some(REPAIR_CLOSED)) => (false, "repair finished".to_owned()),
        (Some("closed"), Some(CLOSED_WITHOUT_REPAIR)) => {
            (false, "closed without a repair".to_owned())
        }
        (Some("reopened"), _) => (true, "reopened for another repair".to_owned()),
        // Not begun, or its ticket was merged into an area repair that goes on.
        _ => match status {
            "signed" => (true, "a repair crew is on it".to_owned()),
            "merged" => (
                true,
                format!(
                    "handled with request {}",
                    merged_into.map(|u| u.to_string()).unwrap_or_default()
                ),
            ),
            _ => (true, "received".to_owned()),
        },
    }
}

/// The Open311 client a GET names with its `api_key`, if any; a key that is not valid is
/// refused rather than ignored (403 `api_key_invalid`).
pub(super) fn viewer(
    intake: &Intake,
    format: Format,
    api_key: Option<&str>,
) -> Result<Option<String>, Box<HttpResponse>> {
    let Some(api_key) = api_key else {
        return Ok(None);
    };
    intake
        .config
        .open311_keys
        .iter()
        .find(|k| k.key.len() == api_key.len() && constant_eq(k.key.as_bytes(), api_key.as_bytes()))
        .map(|k| Some(k.name.clone()))
        .ok_or_else(|| {
            Box::new(error(
                format,
                StatusCode::FORBIDDEN,
                "api_key_invalid",
                "the api_key is not valid",
            ))
        })
}

/// The request with this id (a token is its id), if any.
pub(super) async fn by_id(
    intake: &Intake,
    format: Format,
    viewer: Option<&str>,
    raw: &str,
) -> Result<Option<ServiceRequest>, HttpResponse> {
    let Ok(id) = raw.parse::<Uuid>() else {
        return Ok(None);
    };
    let rows = request_rows(intake, format, viewer, "c.complaint_id = $1", &[&id]).await?;
    Ok(rows.into_iter().next())
}
