//! The seals of the event logs, their keys, and proofs that an event was sealed: what a
//! regulator audits and what a supplier keeps to prove, later and offline, that the events
//! behind its grade are the ones that were sealed.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use eventstore::seal::{self, Proving};
use platform::auth::Principal;
use platform::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{client, db, own_supplier};
use crate::Credit;

/// Which seals to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SealQuery {
    /// Seals numbered below this one (the `next_cursor` of the previous page).
    #[param(max_length = 20)]
    cursor: Option<String>,
    /// Only seals made at or before this moment (RFC 3339): the newest of them is the seal
    /// of a month that closed then.
    #[param(max_length = 40)]
    sealed_by: Option<DateTime<Utc>>,
    /// At most this many (1 to 500, default 100).
    limit: Option<i64>,
}

/// A page of seals, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SealPage {
    items: Vec<seal::SealSummary>,
    /// Pass as `cursor` for older seals; null on the last page.
    next_cursor: Option<String>,
}

/// A key that signs seals.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SealKeyView {
    key_id: String,
    /// The Ed25519 public key, base64: pin it to check seals and proofs offline.
    public_key: String,
    created_at: DateTime<Utc>,
}

fn store(credit: &Credit) -> &eventstore::PgEventStore {
    credit.ledger.store()
}

/// The seals, newest first.
#[utoipa::path(get, path = "/api/v1/audit/seals", tag = "audit", params(SealQuery),
    responses((status = 200, body = SealPage), (status = 400, description = "Bad cursor or limit")),
    security(("bearer" = [])))]
pub(crate) async fn seals(
    credit: web::Data<Credit>,
    query: web::Query<SealQuery>,
) -> Result<HttpResponse, ApiError> {
    let before = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|seq| *seq > 0)
                .ok_or_else(|| ApiError::bad_request("invalid_cursor", "not a cursor"))?,
        ),
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            "limit must be 1 to 500",
        ));
    }
    let items = seal::list_seals(store(&credit), before, query.sealed_by, limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|s| s.seq.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(SealPage { items, next_cursor }))
}

/// One seal as a document to keep: its signed text, signature and key.
#[utoipa::path(get, path = "/api/v1/audit/seals/{seq}", tag = "audit",
    params(("seq" = i64, Path, description = "The seal's number")),
    responses((status = 200, body = seal::SealDocument), (status = 404, description = "No such seal")),
    security(("bearer" = [])))]
pub(crate) async fn seal_document(
    credit: web::Data<Credit>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let seq: i64 = path
        .parse()
        .map_err(|_| ApiError::not_found("no such seal"))?;
    let document = seal::seal_document(store(&credit), seq)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("no such seal"))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"heatline-seal-{seq}.json\""),
        ))
        .json(document))
}

/// The keys that sign seals.
#[utoipa::path(get, path = "/api/v1/audit/seal-keys", tag = "audit",
    responses((status = 200, body = Vec<SealKeyView>)),
    security(("bearer" = [])))]
pub(crate) async fn seal_keys(credit: web::Data<Credit>) -> Result<HttpResponse, ApiError> {
    let keys = seal::keys::public_keys(store(&credit))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(
        keys.into_iter()
            .map(|k| SealKeyView {
                key_id: k.key_id,
                public_key: STANDARD.encode(k.public_key),
                created_at: k.created_at,
            })
            .collect::<Vec<_>>(),
    ))
}

/// The proof that an event is in the seal that covers it: the seal, the event as stored and
/// its audit path. `heatline verify --seal FILE --public-key KEY` checks it offline. A supplier
/// may prove the events behind its own ledger entries; a regulator any event.
#[utoipa::path(get, path = "/api/v1/audit/proofs/{event_id}", tag = "audit",
    params(("event_id" = Uuid, Path)),
    responses((status = 200, body = seal::Proof), (status = 404, description = "No such event (for a supplier: behind none of its entries)"),
        (status = 409, description = "Not sealed yet: sealing runs about every minute")),
    security(("bearer" = [])))]
pub(crate) async fn proof(
    credit: web::Data<Credit>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let event_id: Uuid = path
        .parse()
        .map_err(|_| ApiError::not_found("no such event"))?;
    if let Some(supplier) = own_supplier(&principal)? {
        let behind_own: bool = client(&credit)
            .await?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM credit.entry WHERE $1 = ANY(evidence) AND supplier_id = $2)",
                &[&event_id, &supplier],
            )
            .await
            .map_err(db)?
            .get(0);
        if !behind_own {
            return Err(ApiError::not_found("no such event behind your entries"));
        }
    }
    match seal::prove(store(&credit), event_id)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Proving::Proof(proof) => Ok(HttpResponse::Ok()
            .insert_header((
                "content-disposition",
                format!("attachment; filename=\"heatline-proof-{event_id}.json\""),
            ))
            .json(proof)),
        Proving::NotSealedYet => Err(ApiError::conflict(
            "not_sealed_yet",
            "no seal covers this event yet: sealing runs about every minute, ask again shortly",
        )),
        Proving::NoSuchEvent => Err(ApiError::not_found("no such event")),
    }
}
