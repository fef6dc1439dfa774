//! Appeals: a supplier admin objects to an entry within the window, with a statement and
//! attachments; a regulator upholds or rejects it with a reason.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{client, command_failure, db, own_supplier, season};
use crate::Credit;
use crate::attachments::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, kind};
use crate::domain::credit::{Appealed, CreditCommand};
use crate::domain::values::{Dimension, Season};
use crate::views::{self, AppealView};

/// A file sent with an appeal.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewAttachment {
    /// Its name, for the reader.
    #[schema(max_length = 200)]
    file_name: Option<String>,
    /// The bytes, base64: JPEG, PNG or PDF, at most 5 MB.
    #[schema(max_length = 7_000_000)]
    content_base64: Option<String>,
}

/// An appeal against an entry.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewAppeal {
    /// Why the entry is wrong (10 to 4,000 characters).
    #[schema(max_length = 4000)]
    statement: Option<String>,
    /// Up to 5 files.
    #[serde(default)]
    #[schema(max_items = 5)]
    attachments: Vec<NewAttachment>,
}

/// Appeals an entry of the caller's own ledger, within the appeal window (10 working days
/// after the entry was recorded).
#[utoipa::path(post, path = "/api/v1/credit/entries/{id}/appeals", tag = "credit",
    params(("id" = Uuid, Path)), request_body = NewAppeal,
    responses((status = 201, body = AppealView), (status = 403, description = "Not the supplier's entry"),
        (status = 404, description = "Unknown entry"), (status = 409, description = "Not appealable"),
        (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn file(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<NewAppeal>,
) -> Result<HttpResponse, ApiError> {
    let entry_id: Uuid = path
        .parse()
        .map_err(|_| ApiError::not_found("no such entry"))?;
    let mut errors = FieldErrors::default();
    let statement = body.statement.as_deref().map(str::trim).unwrap_or_default();
    if !(10..=4000).contains(&statement.chars().count()) {
        errors.add("statement", "invalid", "10 to 4,000 characters");
    }
    if body.attachments.len() > MAX_ATTACHMENTS {
        errors.add("attachments", "too_many", "at most 5 attachments");
    }
    let mut files = Vec::new();
    for (n, file) in body.attachments.iter().enumerate() {
        let field = format!("attachments[{n}]");
        let name_ok = file
            .file_name
            .as_deref()
            .is_none_or(|name| name.chars().count() <= 200);
        let decoded = file
            .content_base64
            .as_deref()
            .map(|text| base64::engine::general_purpose::STANDARD.decode(text.trim()));
        match decoded {
            _ if !name_ok => errors.add(&field, "invalid", "file_name: at most 200 characters"),
            None => errors.add(&field, "required", "content_base64 is required"),
            Some(Err(_)) => errors.add(&field, "invalid_base64", "content_base64 is not base64"),
            Some(Ok(bytes)) if bytes.len() > MAX_ATTACHMENT_BYTES => {
                errors.add(&field, "too_large", "at most 5 MB")
            }
            Some(Ok(bytes)) => match kind(&bytes) {
                Some(ext) => files.push((bytes, ext)),
                None => errors.add(&field, "unsupported_type", "JPEG, PNG or PDF only"),
            },
        }
    }
    errors.into_result()?;
    let client = client(&credit).await?;
    let row = client
        .query_opt(
            "SELECT supplier_id, season, dimension, rule, points, evidence, recorded_at \
             FROM credit.entry WHERE entry_id = $1",
            &[&entry_id],
        )
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found("no such entry"))?;
    drop(client);
    let supplier: String = row.get(0);
    if principal.supplier.as_deref() != Some(supplier.as_str()) {
        return Err(ApiError::forbidden("only your own supplier's entries"));
    }
    let season = Season::parse(row.get(1)).ok_or_else(|| ApiError::not_found("no such entry"))?;
    let entry = Appealed {
        entry_id,
        dimension: Dimension::parse(row.get(2)).unwrap_or(Dimension::Veto),
        rule: row.get(3),
        points: row.get(4),
        evidence: row.get(5),
    };
    let recorded_at = row.get(6);
    let mut attachments = Vec::new();
    for (bytes, ext) in files {
        let id = credit
            .attachments
            .put(bytes.into(), ext)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        attachments.push(id);
    }
    let appeal_id = Uuid::now_v7();
    let command = CreditCommand::Appeal {
        appeal_id,
        entry,
        statement: statement.to_owned(),
        attachments,
        at: credit.ledger.now(),
        deadline: credit
            .config
            .calendar
            .after_working_days(recorded_at, credit.config.appeal_working_days),
    };
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    credit
        .ledger
        .execute(&supplier, season, command, &metadata)
        .await
        .map_err(command_failure)?;
    let view = one(&credit, season, &supplier, appeal_id).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Adds to each pending appeal the end of the regulator's time to decide it and the working
/// days left.
fn with_deadlines(credit: &Credit, mut list: Vec<AppealView>) -> Vec<AppealView> {
    let now = credit.clock.now();
    for appeal in list.iter_mut().filter(|a| a.status == "pending") {
        let by = credit
            .config
            .calendar
            .after_working_days(appeal.filed_at, credit.config.decide_working_days);
        appeal.decide_by = Some(by);
        appeal.working_days_left = Some(credit.config.calendar.working_days_left(now, by));
    }
    list
}

async fn one(
    credit: &Credit,
    season: Season,
    supplier: &str,
    appeal_id: Uuid,
) -> Result<AppealView, ApiError> {
    let client = client(credit).await?;
    let list = views::appeals(&client, season, Some(supplier), None)
        .await
        .map_err(db)?;
    with_deadlines(credit, list)
        .into_iter()
        .find(|a| a.appeal_id == appeal_id)
        .ok_or_else(|| ApiError::not_found("no such appeal"))
}

/// A regulator's decision.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AppealDecision {
    /// Upheld (the entry stops counting and is reversed by a new entry) or rejected.
    upheld: Option<bool>,
    /// Why (5 to 4,000 characters).
    #[schema(max_length = 4000)]
    reason: Option<String>,
}

/// Decides an appeal (regulators only).
#[utoipa::path(post, path = "/api/v1/credit/appeals/{id}/decision", tag = "credit",
    params(("id" = Uuid, Path)), request_body = AppealDecision,
    responses((status = 200, body = AppealView), (status = 404, description = "Unknown appeal"),
        (status = 409, description = "Already decided"), (status = 422, description = "Bad fields")),
    security(("bearer" = [])))]
pub(crate) async fn decide(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<AppealDecision>,
) -> Result<HttpResponse, ApiError> {
    let appeal_id: Uuid = path
        .parse()
        .map_err(|_| ApiError::not_found("no such appeal"))?;
    let mut errors = FieldErrors::default();
    if body.upheld.is_none() {
        errors.add("upheld", "required", "true (uphold) or false (reject)");
    }
    let reason = body.reason.as_deref().map(str::trim).unwrap_or_default();
    if !(5..=4000).contains(&reason.chars().count()) {
        errors.add("reason", "invalid", "5 to 4,000 characters");
    }
    errors.into_result()?;
    let client = client(&credit).await?;
    let row = client
        .query_opt(
            "SELECT supplier_id, season FROM credit.appeal WHERE appeal_id = $1",
            &[&appeal_id],
        )
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found("no such appeal"))?;
    drop(client);
    let supplier: String = row.get(0);
    let season = Season::parse(row.get(1)).ok_or_else(|| ApiError::not_found("no such appeal"))?;
    let command = CreditCommand::Decide {
        appeal_id,
        upheld: body.upheld.unwrap_or_default(),
        reason: reason.to_owned(),
        at: credit.ledger.now(),
    };
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    credit
        .ledger
        .execute(&supplier, season, command, &metadata)
        .await
        .map_err(command_failure)?;
    Ok(HttpResponse::Ok().json(one(&credit, season, &supplier, appeal_id).await?))
}

/// Which appeals to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct AppealQuery {
    /// One supplier (a supplier admin always sees its own).
    #[param(max_length = 100)]
    supplier_id: Option<String>,
    /// `pending`, `upheld` or `rejected`.
    #[param(max_length = 20)]
    status: Option<String>,
}

/// A season's appeals, newest first.
#[utoipa::path(get, path = "/api/v1/credit/seasons/{season}/appeals", tag = "credit",
    params(("season" = String, Path), AppealQuery),
    responses((status = 200, body = Vec<AppealView>), (status = 400, description = "Bad status")),
    security(("bearer" = [])))]
pub(crate) async fn list(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<AppealQuery>,
) -> Result<HttpResponse, ApiError> {
    let only = own_supplier(&principal)?;
    let season = season(&path)?;
    let status = query.status.as_deref();
    if status.is_some_and(|s| !matches!(s, "pending" | "upheld" | "rejected")) {
        return Err(ApiError::bad_request(
            "invalid_status",
            "status must be pending, upheld or rejected",
        ));
    }
    let supplier = only.or(query.supplier_id.as_deref());
    let client = client(&credit).await?;
    let list = views::appeals(&client, season, supplier, status)
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok().json(with_deadlines(&credit, list)))
}
