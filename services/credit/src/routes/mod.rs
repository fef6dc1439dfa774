//! Credit's HTTP API; the route table is here.

mod appeals;
mod audit;
mod orders;
mod public;
mod refunds;
mod regulator;
mod scores;
mod targets;

use actix_web::web;
use platform::auth::{Principal, Role};
use platform::error::ApiError;

pub(crate) use appeals::*;
pub(crate) use audit::*;
pub(crate) use orders::*;
pub(crate) use public::*;
pub(crate) use refunds::*;
pub(crate) use regulator::*;
pub(crate) use scores::*;
pub(crate) use targets::*;

use crate::Credit;
use crate::domain::credit::CreditError;
use crate::domain::values::Season;
use crate::ledger::CommandError;

/// The largest JSON body: an appeal with its attachments, base64 (the access policy holds
/// every other operation to its own, smaller limit).
pub(crate) const APPEAL_LIMIT: usize = 36 * 1024 * 1024;

pub(crate) fn configure(cfg: &mut web::ServiceConfig, credit: web::Data<Credit>) {
    let season = |path: &str| format!("/api/v1/credit/seasons/{{season}}{path}");
    cfg.app_data(credit)
        .app_data(platform::error::json_config(APPEAL_LIMIT))
        .route("/api/v1/credit/rulebook", web::get().to(scores::rulebook))
        .route("/api/v1/credit/suppliers", web::get().to(scores::suppliers))
        .route(&season("/ranking"), web::get().to(scores::ranking))
        .route(&season("/ledger.csv"), web::get().to(scores::export))
        .route(&season("/suppliers/{id}"), web::get().to(scores::score))
        .route(
            &season("/suppliers/{id}/ledger"),
            web::get().to(scores::ledger),
        )
        .route(
            &season("/suppliers/{id}/adjustments"),
            web::post().to(regulator::adjust),
        )
        .route(
            &season("/suppliers/{id}/vetoes"),
            web::post().to(regulator::veto),
        )
        .route(&season("/what-if"), web::get().to(regulator::what_if))
        .route(&season("/targets"), web::get().to(targets::targets))
        .route(&season("/publications"), web::post().to(public::publish))
        .route(
            "/api/v1/credit/cold-snap-orders",
            web::post().to(orders::issue),
        )
        .route(
            "/api/v1/credit/cold-snap-orders",
            web::get().to(orders::list_orders),
        )
        .route(
            "/api/v1/credit/cold-snap-orders/{id}/acknowledgements",
            web::post().to(orders::acknowledge),
        )
        .route(
            "/api/v1/credit/public/seasons/{season}",
            web::get().to(public::board),
        )
        .route(
            "/api/v1/credit/public/suppliers",
            web::get().to(public::supplier_names),
        )
        .route(&season("/targets/tickets"), web::get().to(targets::behind))
        .route(&season("/retrofit"), web::get().to(targets::retrofit))
        .route(&season("/map"), web::get().to(targets::network_map))
        .route(&season("/appeals"), web::get().to(appeals::list))
        .route(
            "/api/v1/credit/entries/{id}/appeals",
            web::post().to(appeals::file),
        )
        .route(
            "/api/v1/credit/appeals/{id}/decision",
            web::post().to(appeals::decide),
        )
        .route(
            "/api/v1/credit/evidence/{id}",
            web::get().to(regulator::evidence),
        )
        .route(
            "/api/v1/refunds/rulebook",
            web::get().to(refunds::refund_rulebook),
        )
        .route("/api/v1/me/refunds", web::get().to(refunds::my_refunds))
        .route(
            "/api/v1/refunds/seasons/{season}/households/{household}",
            web::get().to(refunds::household),
        )
        .route(
            "/api/v1/refunds/seasons/{season}/households/{household}/what-if",
            web::get().to(refunds::refund_what_if),
        )
        .route(
            "/api/v1/refunds/seasons/{season}/households",
            web::get().to(refunds::refund_households),
        )
        .route(
            "/api/v1/refunds/seasons/{season}/suppliers",
            web::get().to(refunds::refund_totals),
        )
        .route(
            "/api/v1/refunds/seasons/{season}/refunds.csv",
            web::get().to(refunds::refund_export),
        )
        .route("/api/v1/audit/seals", web::get().to(audit::seals))
        .route(
            "/api/v1/audit/seals/{seq}",
            web::get().to(audit::seal_document),
        )
        .route("/api/v1/audit/seal-keys", web::get().to(audit::seal_keys))
        .route(
            "/api/v1/audit/proofs/{event_id}",
            web::get().to(audit::proof),
        );
}

/// Reads a season from the path.
fn season(raw: &str) -> Result<Season, ApiError> {
    Season::parse(raw).ok_or_else(|| {
        ApiError::not_found("no such season; seasons are named by their two years, e.g. 2026-2027")
    })
}

/// Who may read a supplier's credit: the regulator and admins all, a supplier admin only its
/// own.
fn may_read(principal: &Principal, supplier: &str) -> Result<(), ApiError> {
    if principal.role == Role::SupplierAdmin && principal.supplier.as_deref() != Some(supplier) {
        return Err(ApiError::forbidden("only your own supplier's credit"));
    }
    Ok(())
}

/// The one supplier a caller is limited to (a supplier admin), if any.
fn own_supplier(principal: &Principal) -> Result<Option<&str>, ApiError> {
    if principal.role == Role::SupplierAdmin {
        return principal
            .supplier
            .as_deref()
            .map(Some)
            .ok_or_else(|| ApiError::forbidden("your account names no supplier"));
    }
    Ok(None)
}

/// The supplier a read is narrowed to: a supplier admin's own (asking for another is refused),
/// else the one asked for, if any.
fn narrowed<'a>(
    principal: &'a Principal,
    asked: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    match (own_supplier(principal)?, asked) {
        (Some(own), Some(asked)) if own != asked => {
            Err(ApiError::forbidden("only your own supplier's records"))
        }
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

/// A CSV file to download as `name`.
fn csv_file(body: Vec<u8>, name: &str) -> actix_web::HttpResponse {
    use actix_web::http::header;
    actix_web::HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// A command's failure as the API answers it.
fn command_failure(error: CommandError) -> ApiError {
    match error {
        CommandError::Refused(refusal) => {
            let message = refusal.to_string();
            match refusal {
                CreditError::UnknownEntry => ApiError::not_found(message),
                CreditError::UnknownAppeal => ApiError::not_found(message),
                CreditError::NotADeduction => ApiError::conflict("not_a_deduction", message),
                CreditError::AlreadyAppealed => ApiError::conflict("already_appealed", message),
                CreditError::WindowClosed(_) => ApiError::conflict("appeal_window_closed", message),
                CreditError::AlreadyDecided => ApiError::conflict("already_decided", message),
                CreditError::AlreadyClosed(_) => ApiError::conflict("already_closed", message),
                CreditError::NotClosed(_) => ApiError::conflict("not_closed", message),
                CreditError::AlreadyPublished(_) => {
                    ApiError::conflict("already_published", message)
                }
            }
        }
        CommandError::Contended => {
            ApiError::conflict("conflict", "the ledger changed meanwhile; try again")
        }
        CommandError::Store(e) => ApiError::internal(&e),
        CommandError::Append(e) => ApiError::internal(&e),
    }
}

async fn client(credit: &Credit) -> Result<deadpool_postgres::Object, ApiError> {
    credit
        .ledger
        .store()
        .pool()
        .get()
        .await
        .map_err(|e| ApiError::internal(&e))
}

fn db(error: tokio_postgres::Error) -> ApiError {
    ApiError::internal(&error)
}
