//! Who may call what: one access policy, as a table of operations, enforced in front of every
//! route.
//!
//! Each service lists its operations (`METHOD` and route pattern, exactly as mounted) with the
//! roles that may call each one and how far each role's grant reaches. The process mounts the
//! tables of the services it runs as one [`Policy`] and wraps the app in [`enforce`]: a request
//! whose route has no row is refused (403 `no_policy`), a public row lets anyone through, and
//! any other row needs a valid token (401) of one of its roles (403 `forbidden`). So a handler
//! that forgets a check cannot open an operation to a role; what a handler still decides is the
//! reach, on the resource it loads or in the SQL of a list (a district dispatcher's own
//! district, a supplier's own tickets, a resident's own filings).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, ResponseError, web};

use crate::auth::{Principal, Role};
use crate::error::ApiError;

/// How far a role's grant on an operation reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reach {
    /// The caller's own account or session.
    Itself,
    /// The resident's own filings (and the tickets and photos that carry them).
    OwnFilings,
    /// The crew's own jobs.
    OwnCrew,
    /// The supplier's own tickets, crews, ledger and appeals.
    OwnSupplier,
    /// The dispatcher's district (the whole city for an account made city-wide).
    OwnDistrict,
    /// The whole city.
    City,
}

impl Reach {
    /// How the README's table says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Itself => "itself",
            Reach::OwnFilings => "own filings",
            Reach::OwnCrew => "own jobs",
            Reach::OwnSupplier => "own supplier",
            Reach::OwnDistrict => "own district",
            Reach::City => "city",
        }
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A caller that proves itself otherwise than with a token, checked by the handler (the
    /// 12345 platform's signature, an Open311 client's api_key); named for the table.
    Signed(&'static str),
    /// Callers with a token of one of these roles, each reaching as far as it says.
    Roles(&'static [(Role, Reach)]),
}

/// One operation of the API and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The route pattern as mounted (`/api/v1/tickets/{id}/sign`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The largest body it takes, in bytes (413 `payload_too_large` past it).
    pub body_limit: usize,
}

/// The body an operation takes unless its row says otherwise: a JSON command.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

impl Operation {
    /// An operation for callers of `grants`.
    pub const fn roles(
        method: &'static str,
        path: &'static str,
        grants: &'static [(Role, Reach)],
    ) -> Self {
        Operation {
            method,
            path,
            access: Access::Roles(grants),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// An operation open to anyone.
    pub const fn public(method: &'static str, path: &'static str) -> Self {
        Operation {
            method,
            path,
            access: Access::Public,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// An operation whose caller proves itself with `proof` (checked by the handler).
    pub const fn signed(method: &'static str, path: &'static str, proof: &'static str) -> Self {
        Operation {
            method,
            path,
            access: Access::Signed(proof),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// The same operation taking bodies of up to `bytes`.
    pub const fn limit(self, bytes: usize) -> Self {
        Operation {
            body_limit: bytes,
            ..self
        }
    }

    /// How far `role` reaches on this operation; `None` when it may not call it.
    pub fn reach(&self, role: Role) -> Option<Reach> {
        match self.access {
            Access::Roles(grants) => grants.iter().find(|(r, _)| *r == role).map(|(_, w)| *w),
            Access::Public | Access::Signed(_) => None,
        }
    }
}

/// The endpoints every process serves whatever services it runs: health, metrics and the
/// API document with its viewer.
pub const PLATFORM: &[Operation] = &[
    Operation::public("GET", "/healthz"),
    Operation::public("GET", "/readyz"),
    Operation::public("GET", "/metrics"),
    Operation::public("GET", "/openapi.json"),
    Operation::public("GET", "/docs"),
    Operation::public("GET", "/docs/{_:.*}"),
];

/// The operations a process serves, found by route pattern, then method.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The rows of each route pattern (a handful of methods at most).
    by_pattern: Arc<HashMap<&'static str, Vec<Operation>>>,
    /// How large each field may be, from the API document.
    caps: Arc<crate::caps::Caps>,
}

impl Policy {
    /// The policy of these tables together (a later row for the same operation replaces an
    /// earlier one; the tables are checked by tests never to overlap).
    pub fn of(tables: &[&[Operation]]) -> Self {
        let mut by_pattern: HashMap<&'static str, Vec<Operation>> = HashMap::new();
        for op in tables.iter().flat_map(|t| t.iter()) {
            let rows = by_pattern.entry(op.path).or_default();
            rows.retain(|row| row.method != op.method);
            rows.push(*op);
        }
        Policy {
            by_pattern: Arc::new(by_pattern),
            caps: Arc::default(),
        }
    }

    /// Also holds every field to the size the API document declares for it.
    pub fn with_caps(self, caps: crate::caps::Caps) -> Self {
        Policy {
            caps: Arc::new(caps),
            ..self
        }
    }

    /// The row for `method` on the route `pattern`.
    pub fn operation(&self, method: &str, pattern: &str) -> Option<&Operation> {
        self.by_pattern
            .get(pattern)?
            .iter()
            .find(|op| op.method == method)
    }

    /// The methods with a row on `pattern`, sorted.
    pub fn methods(&self, pattern: &str) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = self
            .by_pattern
            .get(pattern)
            .map(|rows| rows.iter().map(|op| op.method).collect())
            .unwrap_or_default();
        methods.sort_unstable();
        methods
    }

    /// Every row, sorted by path then method.
    pub fn operations(&self) -> Vec<Operation> {
        let mut all: Vec<Operation> = self.by_pattern.values().flatten().copied().collect();
        all.sort_by_key(|op| (op.path, op.method));
        all
    }
}

/// What the policy granted the caller of this request: their principal and how far the grant
/// reaches. Handlers take it to narrow what they read and do.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The verified caller.
    pub principal: Principal,
    /// How far the operation reaches for their role.
    pub reach: Reach,
}

/// Middleware (`App::wrap(from_fn(policy::enforce))`, with a [`Policy`] in the app data):
/// refuses what the policy does not allow before any handler runs, and leaves the verified
/// [`Principal`] and the [`Grant`] in the request for the handler; then refuses control
/// characters, oversized bodies and fields over their documented size ([`crate::hygiene`],
/// [`crate::caps`]).
pub async fn enforce(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let Some(pattern) = request.match_pattern() else {
        // No such route: the router answers 404 (or 405) itself.
        return next.call(request).await.map(|r| r.map_into_left_body());
    };
    let Some(policy) = request.app_data::<web::Data<Policy>>().cloned() else {
        tracing::error!(route = %pattern, "no access policy is mounted: refusing");
        return Ok(refuse(request, no_policy()));
    };
    let method = request.method().as_str().to_owned();
    let Some(operation) = policy.operation(&method, &pattern).copied() else {
        let allowed = policy.methods(&pattern);
        if allowed.is_empty() {
            return Ok(refuse(request, no_policy()));
        }
        // Another method of a known operation: answered as the router would, without
        // reaching a handler that may exist for it but has no row.
        return Ok(refuse(
            request,
            ApiError::method_not_allowed(format!(
                "{method} is not allowed here; try {}",
                allowed.join(", ")
            )),
        ));
    };
    if let Access::Roles(_) = operation.access {
        let principal = match crate::auth::authenticate(request.request()).await {
            Ok(principal) => principal,
            Err(error) => return Ok(refuse(request, error)),
        };
        let Some(reach) = operation.reach(principal.role) else {
            return Ok(refuse(
                request,
                ApiError::forbidden("this action is not open to your role")
                    .with_code("role_not_allowed"),
            ));
        };
        request.extensions_mut().insert(principal.clone());
        request.extensions_mut().insert(Grant { principal, reach });
    }
    let caps = policy.caps.operation(&method, &pattern);
    if let Err(error) = crate::hygiene::check_parameters(&request, caps) {
        return Ok(refuse(request, error));
    }
    if matches!(method.as_str(), "POST" | "PUT" | "PATCH")
        && let Err(error) =
            crate::hygiene::check_body(&mut request, operation.body_limit, caps).await
    {
        return Ok(refuse(request, error));
    }
    next.call(request).await.map(|r| r.map_into_left_body())
}

fn no_policy() -> ApiError {
    ApiError::forbidden("this operation is not open to anyone").with_code("no_policy")
}

fn refuse<B>(request: ServiceRequest, error: ApiError) -> ServiceResponse<EitherBody<B>> {
    let response = error.error_response();
    request.into_response(response).map_into_right_body()
}

impl FromRequest for Grant {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Grant, ApiError>>;

    fn from_request(
        request: &actix_web::HttpRequest,
        _: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        std::future::ready(request.extensions().get::<Grant>().cloned().ok_or_else(|| {
            ApiError::internal(&std::io::Error::other(
                "no grant: the access policy is not enforced in front of this route",
            ))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Operation] = &[
        Operation::roles(
            "POST",
            "/t/{id}/sign",
            &[(Role::SupplierAdmin, Reach::OwnSupplier)],
        ),
        Operation::public("GET", "/open"),
    ];

    #[test]
    fn a_row_grants_only_its_roles_with_their_reach() {
        let policy = Policy::of(&[TABLE, PLATFORM]);
        let sign = policy.operation("POST", "/t/{id}/sign").unwrap();
        assert_eq!(sign.reach(Role::SupplierAdmin), Some(Reach::OwnSupplier));
        assert_eq!(sign.reach(Role::Admin), None);
        assert!(policy.operation("GET", "/t/{id}/sign").is_none());
        assert_eq!(
            policy.operation("GET", "/healthz").unwrap().access,
            Access::Public
        );
        assert_eq!(policy.operations().len(), TABLE.len() + PLATFORM.len());
    }
}
