//! Who may call credit's operations (see `platform::policy`): the regulator reads and decides
//! for the city, a supplier reads its own and appeals, a resident reads their own refunds.

use platform::auth::Role::{self, *};
use platform::policy::Operation;
use platform::policy::Reach::{self, *};

const READERS: &[(Role, Reach)] = &[(Regulator, City), (SupplierAdmin, OwnSupplier)];
const REGULATORS: &[(Role, Reach)] = &[(Regulator, City)];

/// Credit's operations.
pub const POLICY: &[Operation] = &[
    Operation::roles("GET", "/api/v1/credit/rulebook", READERS),
    Operation::roles("GET", "/api/v1/credit/suppliers", READERS),
    Operation::roles("GET", "/api/v1/credit/seasons/{season}/ranking", READERS),
    Operation::roles(
        "GET",
        "/api/v1/credit/seasons/{season}/suppliers/{id}",
        READERS,
    ),
    Operation::roles(
        "GET",
        "/api/v1/credit/seasons/{season}/suppliers/{id}/ledger",
        READERS,
    ),
    Operation::roles("GET", "/api/v1/credit/seasons/{season}/ledger.csv", READERS),
    Operation::roles(
        "POST",
        "/api/v1/credit/seasons/{season}/suppliers/{id}/adjustments",
        REGULATORS,
    ),
    Operation::roles(
        "POST",
        "/api/v1/credit/seasons/{season}/suppliers/{id}/vetoes",
        REGULATORS,
    ),
    Operation::roles("GET", "/api/v1/credit/seasons/{season}/what-if", REGULATORS),
    Operation::roles("GET", "/api/v1/credit/seasons/{season}/targets", REGULATORS),
    Operation::roles(
        "GET",
        "/api/v1/credit/seasons/{season}/retrofit",
        REGULATORS,
    ),
    Operation::roles("GET", "/api/v1/credit/seasons/{season}/map", REGULATORS),
    Operation::roles(
        "POST",
        "/api/v1/credit/seasons/{season}/publications",
        REGULATORS,
    ),
    Operation::roles("POST", "/api/v1/credit/cold-snap-orders", REGULATORS),
    Operation::roles("GET", "/api/v1/credit/cold-snap-orders", READERS),
    Operation::roles(
        "POST",
        "/api/v1/credit/cold-snap-orders/{id}/acknowledgements",
        &[(SupplierAdmin, OwnSupplier)],
    ),
    // Published grades and counts only: no personal data.
    Operation::public("GET", "/api/v1/credit/public/seasons/{season}"),
    Operation::public("GET", "/api/v1/credit/public/suppliers"),
    Operation::roles(
        "GET",
        "/api/v1/credit/seasons/{season}/targets/tickets",
        REGULATORS,
    ),
    Operation::roles("GET", "/api/v1/credit/evidence/{id}", READERS),
    Operation::roles(
        "POST",
        "/api/v1/credit/entries/{id}/appeals",
        &[(SupplierAdmin, OwnSupplier)],
    )
    .limit(crate::routes::APPEAL_LIMIT),
    Operation::roles("POST", "/api/v1/credit/appeals/{id}/decision", REGULATORS),
    Operation::roles("GET", "/api/v1/credit/seasons/{season}/appeals", READERS),
    // The city's published refund rules.
    Operation::public("GET", "/api/v1/refunds/rulebook"),
    Operation::roles("GET", "/api/v1/me/refunds", &[(Resident, Itself)]),
    Operation::roles(
        "GET",
        "/api/v1/refunds/seasons/{season}/households/{household}",
        READERS,
    ),
    Operation::roles(
        "GET",
        "/api/v1/refunds/seasons/{season}/households/{household}/what-if",
        REGULATORS,
    ),
    Operation::roles("GET", "/api/v1/refunds/seasons/{season}/suppliers", READERS),
    Operation::roles(
        "GET",
        "/api/v1/refunds/seasons/{season}/households",
        READERS,
    ),
    Operation::roles(
        "GET",
        "/api/v1/refunds/seasons/{season}/refunds.csv",
        READERS,
    ),
    // Seals hold hashes, counts and signatures only; a supplier proves the events behind its
    // own entries.
    Operation::roles("GET", "/api/v1/audit/seals", READERS),
    Operation::roles("GET", "/api/v1/audit/seals/{seq}", READERS),
    Operation::roles("GET", "/api/v1/audit/seal-keys", READERS),
    Operation::roles("GET", "/api/v1/audit/proofs/{event_id}", READERS),
];

/// The policy of a process that serves credit alone, holding every field to the size credit's
/// document declares.
pub fn alone() -> platform::policy::Policy {
    use utoipa::OpenApi;
    platform::policy::Policy::of(&[POLICY]).with_caps(platform::caps::Caps::of_api(
        &crate::openapi::CreditApi::openapi(),
    ))
}
