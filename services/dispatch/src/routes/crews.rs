//! The crew register.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{client, command_failure};
use crate::Dispatch;
use crate::domain::crew::CrewCommand;
use crate::views::{self, CrewView};

/// A crew to register.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewCrew {
    /// Its name (1 to 100 characters).
    #[schema(max_length = 100)]
    name: Option<String>,
    /// The supplier (a supplier admin registers for its own and may leave this out).
    #[schema(max_length = 100)]
    supplier_id: Option<String>,
    /// The district it covers.
    #[schema(max_length = 100)]
    district: Option<String>,
}

/// Registers a crew (a supplier admin for its supplier, or a dispatcher). Its members get
/// tokens scoped to the answered `crew_id` (`heatline user create --crew ID`).
#[utoipa::path(
    post, path = "/api/v1/crews", tag = "crews", request_body = NewCrew,
    responses((status = 201, body = CrewView), (status = 403, description = "Another supplier"), (status = 422, description = "Bad fields")),
    security(("bearer" = []))
)]
pub(crate) async fn register(
    dispatch: web::Data<Dispatch>,
    request: HttpRequest,
    principal: Principal,
    body: web::Json<NewCrew>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let name = body.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "invalid", "1 to 100 characters");
    }
    let supplier = match (
        &principal.supplier,
        body.supplier_id.as_deref().map(str::trim),
    ) {
        (Some(own), Some(wanted)) if own != wanted => {
            return Err(ApiError::forbidden("a crew of another supplier"));
        }
        (Some(own), _) => own.clone(),
        (None, Some(wanted)) if !wanted.is_empty() && wanted.len() <= 64 => wanted.to_owned(),
        (None, _) => {
            errors.add("supplier_id", "required", "supplier_id is required");
            String::new()
        }
    };
    let district = body
        .district
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    errors.into_result()?;
    let id = Uuid::now_v7();
    let command = CrewCommand::Register {
        supplier: supplier.clone(),
        name: name.to_owned(),
        district: district.clone(),
        at: dispatch.now(),
    };
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    dispatch
        .tickets
        .run_crew(id, command, &metadata)
        .await
        .map_err(command_failure)?;
    Ok(HttpResponse::Created().json(CrewView {
        crew_id: id,
        supplier_id: supplier,
        name: name.to_owned(),
        district,
        active: true,
    }))
}

/// Which crews.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct CrewQuery {
    /// Only this supplier's.
    #[param(max_length = 100)]
    supplier_id: Option<String>,
}

/// The crews (of one supplier, or of the caller's own).
#[utoipa::path(
    get, path = "/api/v1/crews", tag = "crews", params(CrewQuery),
    responses((status = 200, body = Vec<CrewView>)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    dispatch: web::Data<Dispatch>,
    principal: Principal,
    query: web::Query<CrewQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = principal
        .supplier
        .clone()
        .or_else(|| query.supplier_id.clone());
    let crews = views::crews(
        &client(&dispatch).await?,
        supplier.as_deref(),
        principal.district.as_deref(),
    )
    .await
    .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(crews))
}
