//! Who may call identity's operations (see `platform::policy`).

use platform::auth::Role::{self, *};
use platform::policy::Operation;
use platform::policy::Reach::{self, *};

const EVERY_ACCOUNT: &[(Role, Reach)] = &[
    (Resident, Itself),
    (Operator, Itself),
    (Dispatcher, Itself),
    (Crew, Itself),
    (SupplierAdmin, Itself),
    (Regulator, Itself),
    (Admin, Itself),
];

/// Every account but a resident's.
const STAFF: &[(Role, Reach)] = EVERY_ACCOUNT.split_at(1).1;

/// Identity's operations.
pub const POLICY: &[Operation] = &[
    Operation::public("GET", "/.well-known/jwks.json"),
    Operation::public("POST", "/api/v1/auth/login"),
    Operation::public("POST", "/api/v1/auth/refresh"),
    Operation::roles("POST", "/api/v1/auth/logout", EVERY_ACCOUNT),
    Operation::roles("POST", "/api/v1/auth/password", STAFF),
    Operation::public("POST", "/api/v1/auth/sms/code"),
    Operation::public("POST", "/api/v1/auth/sms/login"),
    Operation::public("POST", "/api/v1/auth/wechat"),
    Operation::roles("POST", "/api/v1/auth/wechat/phone", &[(Resident, Itself)]),
    Operation::roles("POST", "/api/v1/staff", &[(Admin, City)]),
    Operation::roles("GET", "/api/v1/me/notifications", &[(Resident, Itself)]),
    Operation::roles(
        "POST",
        "/api/v1/me/notifications/channels",
        &[(Resident, Itself)],
    ),
    Operation::roles(
        "POST",
        "/api/v1/me/notifications/subscriptions",
        &[(Resident, Itself)],
    ),
    Operation::roles(
        "GET",
        "/api/v1/staff",
        &[(SupplierAdmin, OwnSupplier), (Admin, City)],
    ),
];

/// The policy of a process that serves identity alone, holding every field to the size identity's
/// document declares.
pub fn alone() -> platform::policy::Policy {
    use utoipa::OpenApi;
    platform::policy::Policy::of(&[POLICY]).with_caps(platform::caps::Caps::of_api(
        &crate::openapi::IdentityApi::openapi(),
    ))
}
