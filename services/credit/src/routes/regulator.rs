//! What only regulators do: adjust a score by hand with a justification, veto, replay a season
//! under another rulebook version (what-if), and read the events behind an entry.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{client, command_failure, db, season};
use crate::Credit;
use crate::domain::credit::{ADJUSTMENT_RULE, CreditCommand, Entry, VetoRule};
use crate::domain::values::{Dimension, points_text};
use crate::views::EntryView;
use crate::whatif::{self, WhatIf};

/// An adjustment by hand.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewAdjustment {
    /// The dimension adjusted (`heating_quality`, ...).
    #[schema(max_length = 40)]
    dimension: Option<String>,
    /// Points, -100 to 100, at most two decimals.
    points: Option<f64>,
    /// Why (20 to 4,000 characters): required.
    #[schema(max_length = 4000)]
    justification: Option<String>,
    /// Tickets it concerns.
    #[serde(default)]
    #[schema(max_items = 50, max_length = 36)]
    ticket_ids: Vec<String>,
}

/// Adjusts a supplier's score by hand (regulators only, with a written justification).
#[utoipa::path(post, path = "/api/v1/credit/seasons/{season}/suppliers/{id}/adjustments", tag = "credit",
    params(("season" = String, Path), ("id" = String, Path)), request_body = NewAdjustment,
    responses((status = 201, body = EntryView), (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn adjust(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<NewAdjustment>,
) -> Result<HttpResponse, ApiError> {
    let (season_text, supplier) = path.into_inner();
    let season = season(&season_text)?;
    let mut errors = FieldErrors::default();
    let dimension = body
        .dimension
        .as_deref()
        .and_then(Dimension::parse)
        .filter(|d| d.index().is_some());
    if dimension.is_none() {
        errors.add("dimension", "invalid", "one of the six scored dimensions");
    }
    let points = body.points.map(|p| (p * 100.0).round());
    match (body.points, points) {
        (Some(raw), Some(cp))
            if raw.is_finite()
                && (-10_000.0..=10_000.0).contains(&cp)
                && cp != 0.0
                && (raw * 100.0 - cp).abs() < 1e-6 => {}
        _ => errors.add(
            "points",
            "invalid",
            "a non-zero number from -100 to 100, two decimals at most",
        ),
    }
    let justification = justification(body.justification.as_deref(), &mut errors);
    errors.into_result()?;
    let entry = Entry {
        entry_id: Uuid::now_v7(),
        dimension: dimension.unwrap_or(Dimension::HeatingQuality),
        rule: ADJUSTMENT_RULE.into(),
        version: String::new(),
        points: points.unwrap_or_default() as i64,
        evidence: Vec::new(),
        tickets: body.ticket_ids.clone(),
        detail: justification.to_owned(),
        at: credit.ledger.now(),
        reverses: None,
    };
    record(&credit, &request, &principal, &supplier, season, entry).await
}

async fn record(
    credit: &Credit,
    request: &HttpRequest,
    principal: &Principal,
    supplier: &str,
    season: crate::domain::values::Season,
    entry: Entry,
) -> Result<HttpResponse, ApiError> {
    let known = client(credit)
        .await?
        .query_opt(
            "SELECT 1 FROM credit.supplier WHERE supplier_id = $1",
            &[&supplier],
        )
        .await
        .map_err(db)?;
    if known.is_none() {
        return Err(ApiError::not_found("no such supplier in the registry"));
    }
    let entry_id = entry.entry_id;
    let metadata = metadata(request, actor(principal), Channel::Console);
    credit
        .ledger
        .execute(supplier, season, CreditCommand::RecordOwn(entry), &metadata)
        .await
        .map_err(command_failure)?;
    let client = client(credit).await?;
    let sql = format!(
        "SELECT {} FROM credit.entry e LEFT JOIN credit.appeal a ON a.entry_id = e.entry_id \
         WHERE e.entry_id = $1",
        crate::views::ENTRY_COLUMNS
    );
    let row = client.query_one(&sql, &[&entry_id]).await.map_err(db)?;
    Ok(HttpResponse::Created().json(crate::views::entry_view(&row)))
}

/// A veto.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewVeto {
    /// `supply_reduction`, `unauthorised_stoppage` or `falsified_data`.
    #[schema(max_length = 40)]
    rule: Option<String>,
    /// What was found (20 to 4,000 characters): required.
    #[schema(max_length = 4000)]
    justification: Option<String>,
    /// Tickets it concerns.
    #[serde(default)]
    #[schema(max_items = 50, max_length = 36)]
    ticket_ids: Vec<String>,
}

/// Records a veto finding, which forces grade D while it stands (regulators only).
#[utoipa::path(post, path = "/api/v1/credit/seasons/{season}/suppliers/{id}/vetoes", tag = "credit",
    params(("season" = String, Path), ("id" = String, Path)), request_body = NewVeto,
    responses((status = 201, body = EntryView), (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn veto(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<NewVeto>,
) -> Result<HttpResponse, ApiError> {
    let (season_text, supplier) = path.into_inner();
    let season = season(&season_text)?;
    let mut errors = FieldErrors::default();
    let rule = body
        .rule
        .as_deref()
        .and_then(|r| serde_json::from_value::<VetoRule>(Value::String(r.into())).ok());
    if rule.is_none() {
        errors.add(
            "rule",
            "invalid",
            "supply_reduction, unauthorised_stoppage or falsified_data",
        );
    }
    let justification = justification(body.justification.as_deref(), &mut errors);
    errors.into_result()?;
    let entry = Entry {
        entry_id: Uuid::now_v7(),
        dimension: Dimension::Veto,
        rule: rule.map(VetoRule::rule).unwrap_or_default().into(),
        version: String::new(),
        points: 0,
        evidence: Vec::new(),
        tickets: body.ticket_ids.clone(),
        detail: justification.to_owned(),
        at: credit.ledger.now(),
        reverses: None,
    };
    record(&credit, &request, &principal, &supplier, season, entry).await
}

/// A regulator's written justification (20 to 4,000 characters), or a field error.
fn justification<'a>(text: Option<&'a str>, errors: &mut FieldErrors) -> &'a str {
    let text = text.map(str::trim).unwrap_or_default();
    if !(20..=4000).contains(&text.chars().count()) {
        errors.add(
            "justification",
            "required",
            "a written justification of 20 to 4,000 characters",
        );
    }
    text
}

/// The version to replay under.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct WhatIfQuery {
    /// A version of the rulebook.
    #[param(max_length = 40)]
    rulebook_version: Option<String>,
}

/// A season replayed from the log under another rulebook version, written nowhere: each
/// supplier's score and grade both ways, and the entries that would change.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/what-if", tag = "credit",
    params(("season" = String, Path), WhatIfQuery),
    responses((status = 200, body = WhatIf), (status = 422, description = "Unknown version")),
    security(("bearer" = [])))]
pub(crate) async fn what_if(
    credit: web::Data<Credit>,
    _: Principal,
    path: web::Path<String>,
    query: web::Query<WhatIfQuery>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let version = query.rulebook_version.as_deref().unwrap_or_default();
    let answer = whatif::what_if(
        credit.ledger.store(),
        credit.rulebook.clone(),
        version,
        season,
    )
    .await
    .map_err(|e| ApiError::internal(&*e))?;
    match answer {
        Some(answer) => Ok(HttpResponse::Ok().json(answer)),
        None => {
            let mut errors = FieldErrors::default();
            errors.add(
                "rulebook_version",
                "unknown",
                "not a version of the rulebook",
            );
            Err(errors.into_result().expect_err("an error was added"))
        }
    }
}

/// A published event behind an entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceView {
    event_id: Uuid,
    /// The protobuf message (`heatline.dispatch.v1.TicketResolved`, ...).
    message_type: String,
    /// The stream that published it.
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    recorded_at: DateTime<Utc>,
    /// Who, through what, and why.
    #[schema(value_type = Object)]
    metadata: Value,
    /// What credit read from it.
    fact: Option<String>,
    /// For a sensor episode (`heatline.intake.v1.LowTemperatureDetected`): the rolled-up cold
    /// hours behind it, oldest first.
    sensor_hours: Vec<SensorHour>,
    /// For a sensor episode: where the home's hourly readings beside the outdoor temperature
    /// are (the episode's complaint).
    temperatures: Option<String>,
    /// The entries that name it.
    entries: Vec<EvidenceEntry>,
}

/// One rolled-up hour of a home's room sensors.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SensorHour {
    hour: DateTime<Utc>,
    mean_celsius: f64,
    lowest_celsius: f64,
    readings: u32,
}

/// An entry naming an event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceEntry {
    entry_id: Uuid,
    supplier_id: String,
    season: String,
    rule: String,
    points: String,
}

/// A published event behind entries: regulators read any; a supplier admin those behind its
/// own entries.
#[utoipa::path(get, path = "/api/v1/credit/evidence/{id}", tag = "credit",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EvidenceView), (status = 404, description = "Unknown or not yours")),
    security(("bearer" = [])))]
pub(crate) async fn evidence(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let only = super::own_supplier(&principal)?;
    let event_id: Uuid = path
        .parse()
        .map_err(|_| ApiError::not_found("no such event"))?;
    let client = client(&credit).await?;
    let entries: Vec<EvidenceEntry> = client
        .query(
            "SELECT entry_id, supplier_id, season, rule, points FROM credit.entry \
             WHERE $1 = ANY(evidence) AND ($2::text IS NULL OR supplier_id = $2) \
             ORDER BY season, supplier_id, sequence LIMIT 100",
            &[&event_id, &only],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| EvidenceEntry {
            entry_id: r.get(0),
            supplier_id: r.get(1),
            season: r.get(2),
            rule: r.get(3),
            points: points_text(r.get(4)),
        })
        .collect();
    if only.is_some() && entries.is_empty() {
        return Err(ApiError::not_found("no such event behind your entries"));
    }
    let row = client
        .query_opt(
            "SELECT message_type, aggregate_type, aggregate_id, sequence, recorded_at, \
             metadata, payload, global_position, tx_id::text \
             FROM eventstore.published_event WHERE event_id = $1",
            &[&event_id],
        )
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found("no such event"))?;
    let published = eventstore::PublishedEvent {
        position: eventstore::LogPosition::from_parts(row.get(8), row.get(7)).unwrap_or_default(),
        event_id,
        message_type: row.get(0),
        payload: row.get(6),
        aggregate_type: row.get(1),
        aggregate_id: row.get(2),
        sequence: row.get(3),
        metadata: serde_json::from_value(row.get::<_, Value>(5))
            .map_err(|e| ApiError::internal(&e))?,
        recorded_at: row.get(4),
    };
    let fact = crate::publish::fact(&published).map(|f| format!("{:?}", f.kind));
    let episode = crate::publish::episode(&published);
    let temperatures = episode
        .as_ref()
        .map(|e| format!("/api/v1/complaints/{}/temperatures", e.episode_id));
    let sensor_hours = episode
        .map(|e| e.hours)
        .unwrap_or_default()
        .iter()
        .map(|h| SensorHour {
            hour: crate::publish::at(h.hour_ms),
            mean_celsius: f64::from(h.mean_tenths_celsius) / 10.0,
            lowest_celsius: f64::from(h.lowest_tenths_celsius) / 10.0,
            readings: h.readings,
        })
        .collect();
    Ok(HttpResponse::Ok().json(EvidenceView {
        event_id,
        message_type: published.message_type,
        aggregate_type: published.aggregate_type,
        aggregate_id: published.aggregate_id,
        sequence: published.sequence,
        recorded_at: published.recorded_at,
        metadata: row.get(5),
        fact,
        sensor_hours,
        temperatures,
        entries,
    }))
}
