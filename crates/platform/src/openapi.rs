//! What every service's OpenAPI document shares.

use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The endpoints every process serves whatever services it runs: health and metrics.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(crate::health::healthz, crate::health::readyz, crate::metrics::metrics),
    tags((name = "operations", description = "Probes and metrics for operators and their tools"))
)]
pub struct OperationsApi;

/// Declares the `bearer` scheme that secured operations name: identity's access tokens.
pub struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format(
                        "JWT (EdDSA), from /api/v1/auth/*; keys at /.well-known/jwks.json",
                    )
                    .build(),
            ),
        );
    }
}

/// The body of every refusal: a stable code, a message for people, and details where there
/// are some (the invalid fields, for instance).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code (`invalid_fields`, `role_not_allowed`, ...).
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
    /// More about it, where there is more (the invalid fields, as a list or by name).
    pub details: Option<serde_json::Value>,
}

/// Declares on every operation of `openapi` the refusals that come from in front of its
/// handler, as the access policy and the input checks give them: 400 for a control character
/// in the path or query, 401 and 403 where a role is needed, 413, 415 and 422 for bodies, and
/// 503 while the database cannot be reached; each with [`ErrorBody`]. What a handler declares
/// itself is kept.
pub fn declare_refusals(openapi: &mut utoipa::openapi::OpenApi, policy: &crate::policy::Policy) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let components = openapi.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "ErrorBody".into(),
        <ErrorBody as utoipa::PartialSchema>::schema(),
    );
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (method, operation) in [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ] {
            let Some(operation) = operation else {
                continue;
            };
            let row = policy.operation(method, path);
            let mut refusals = vec![
                (
                    "400",
                    "`invalid_parameter` (a control character in the path or query) or \
                     `invalid_query`",
                ),
                (
                    "503",
                    "`database_unavailable`: try again after `Retry-After` seconds",
                ),
            ];
            match row.map(|r| r.access) {
                Some(crate::policy::Access::Roles(_)) => refusals.extend([
                    ("401", "`unauthorized`: no valid bearer token"),
                    ("403", "`role_not_allowed`, or outside the caller's reach"),
                ]),
                Some(crate::policy::Access::Signed(_)) => {
                    refusals.push(("401", "the signature or key does not hold"));
                }
                _ => {}
            }
            if path.contains('{') {
                refusals.push(("404", "no such resource, or not the caller's to see"));
            }
            if method != "GET" {
                refusals.extend([
                    (
                        "413",
                        "`payload_too_large`: over the operation's body limit",
                    ),
                    (
                        "415",
                        "`unsupported_media_type`: not the body's content type",
                    ),
                    (
                        "422",
                        "`invalid_fields` (a control character in a string) or `invalid_body`",
                    ),
                ]);
            }
            for (status, description) in refusals {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
            }
        }
    }
}
