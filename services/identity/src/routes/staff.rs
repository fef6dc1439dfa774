//! Staff accounts, created by an admin.

use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::Channel;
use platform::auth::{Principal, Role};
use platform::error::ApiError;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{actor, metadata};
use crate::domain::account::Scope;
use crate::{CreateStaffError, Identity, NewStaff};

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateStaff {
    /// Login name: 3 to 64 of a-z, 0-9, `.`, `_`, `-`.
    #[schema(max_length = 64)]
    username: String,
    /// At least 10 characters.
    #[schema(max_length = 1024)]
    password: String,
    /// operator, dispatcher, crew, supplier_admin, regulator or admin.
    #[schema(value_type = String, max_length = 32)]
    role: Role,
    /// District scope (a dispatcher's district).
    #[schema(max_length = 100)]
    district: Option<String>,
    /// Supplier scope (required for supplier_admin).
    #[schema(max_length = 100)]
    supplier: Option<String>,
    /// Crew scope (required for crew).
    #[schema(max_length = 100)]
    crew: Option<String>,
    /// `true` for a dispatcher of the whole city; a dispatcher needs this or a district.
    city_wide: Option<bool>,
}

/// Creates a staff account (admins only).
#[utoipa::path(
    post,
    path = "/api/v1/staff",
    tag = "identity",
    security(("bearer" = [])),
    request_body = CreateStaff,
    responses(
        (status = 201, description = "Created; the body has the account id"),
        (status = 401, description = "`unauthorized`"),
        (status = 403, description = "`forbidden`: not an admin"),
        (status = 409, description = "`username_taken`"),
        (status = 422, description = "`invalid_staff`: the field and the reason in `details`"),
    )
)]
pub(crate) async fn create(
    request: HttpRequest,
    identity: web::Data<Identity>,
    principal: Principal,
    body: web::Json<CreateStaff>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let staff = NewStaff {
        username: body.username,
        password: body.password,
        role: body.role,
        scope: Scope {
            district: body.district,
            supplier: body.supplier,
            crew: body.crew,
        },
        city_wide: body.city_wide.unwrap_or(false),
    };
    let by = actor(&principal.subject, principal.role);
    let meta = metadata(&request, by.clone(), Channel::Console);
    match identity.create_staff_with(staff, meta).await {
        Ok(account_id) => {
            Ok(HttpResponse::Created().json(serde_json::json!({ "account_id": account_id })))
        }
        Err(CreateStaffError::Invalid { field, reason }) => Err(invalid(field, reason)),
        Err(CreateStaffError::Taken) => Err(ApiError::conflict(
            "username_taken",
            "this username is taken",
        )),
        Err(CreateStaffError::Store(cause)) => Err(ApiError::internal(&*cause)),
    }
}

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::unprocessable(
        "invalid_staff",
        format!("{field}: {reason}"),
        serde_json::json!({ "fields": { field: reason } }),
    )
}

/// Which staff to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct StaffQuery {
    /// A supplier's staff (a supplier admin always sees its own).
    #[param(max_length = 100)]
    supplier_id: Option<String>,
    /// One crew's members.
    #[param(max_length = 100)]
    crew_id: Option<String>,
}

/// Staff accounts by supplier and crew, then username (a supplier admin lists its own: its
/// crews' members; an admin lists anyone's). At most 1,000.
#[utoipa::path(
    get,
    path = "/api/v1/staff",
    tag = "identity",
    security(("bearer" = [])),
    params(StaffQuery),
    responses(
        (status = 200, body = [crate::StaffView]),
        (status = 403, description = "`forbidden`: another supplier's staff"),
    )
)]
pub(crate) async fn list(
    identity: web::Data<Identity>,
    principal: Principal,
    query: web::Query<StaffQuery>,
) -> Result<HttpResponse, ApiError> {
    let supplier = match (&principal.supplier, &query.supplier_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden("these are another supplier's staff"));
        }
        (Some(own), _) => Some(own.clone()),
        (None, asked) if principal.role == Role::Admin => asked.clone(),
        (None, _) => {
            return Err(ApiError::forbidden(
                "this account is not attached to a supplier",
            ));
        }
    };
    let found = identity
        .staff(supplier.as_deref(), query.crew_id.as_deref())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(found))
}
