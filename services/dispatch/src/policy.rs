//! Who may call dispatch's operations (see `platform::policy`). Scope is decided on the ticket
//! as loaded in the command's transaction (`routes::may_touch`) and in the SQL of the lists.

use platform::auth::Role::{self, *};
use platform::policy::Operation;
use platform::policy::Reach::{self, *};

const DISPATCHERS: &[(Role, Reach)] = &[(Dispatcher, OwnDistrict)];
const SUPPLIERS: &[(Role, Reach)] = &[(SupplierAdmin, OwnSupplier)];
const FIELD: &[(Role, Reach)] = &[(Crew, OwnCrew), (SupplierAdmin, OwnSupplier)];
const CREWS: &[(Role, Reach)] = &[(Crew, OwnCrew)];

const QUEUE_READERS: &[(Role, Reach)] = &[
    (Dispatcher, OwnDistrict),
    (Operator, City),
    (Regulator, City),
    (SupplierAdmin, OwnSupplier),
    (Crew, OwnCrew),
];

const CASE_READERS: &[(Role, Reach)] = &[
    (SupplierAdmin, OwnSupplier),
    (Crew, OwnCrew),
    (Dispatcher, OwnDistrict),
    (Regulator, City),
];

/// Dispatch's operations.
pub const POLICY: &[Operation] = &[
    Operation::roles("GET", "/api/v1/tickets", QUEUE_READERS),
    Operation::roles("GET", "/api/v1/tickets/bands", QUEUE_READERS),
    Operation::roles(
        "GET",
        "/api/v1/tickets/{id}",
        &[
            (Resident, OwnFilings),
            (Dispatcher, OwnDistrict),
            (Operator, City),
            (Regulator, City),
            (SupplierAdmin, OwnSupplier),
            (Crew, OwnCrew),
        ],
    ),
    Operation::roles(
        "GET",
        "/api/v1/crews",
        &[
            (SupplierAdmin, OwnSupplier),
            (Dispatcher, OwnDistrict),
            (Regulator, City),
        ],
    ),
    Operation::roles("POST", "/api/v1/crews", &[(SupplierAdmin, OwnSupplier)]),
    Operation::roles(
        "GET",
        "/api/v1/crews/{id}/jobs",
        &[
            (Crew, OwnCrew),
            (SupplierAdmin, OwnSupplier),
            (Dispatcher, OwnDistrict),
        ],
    ),
    Operation::roles(
        "GET",
        "/api/v1/suppliers/{id}/tickets",
        &[
            (SupplierAdmin, OwnSupplier),
            (Dispatcher, OwnDistrict),
            (Regulator, City),
        ],
    ),
    Operation::roles("POST", "/api/v1/tickets/{id}/dispatch", DISPATCHERS),
    Operation::roles("POST", "/api/v1/tickets/{id}/sign", SUPPLIERS),
    Operation::roles("POST", "/api/v1/tickets/{id}/return", SUPPLIERS),
    Operation::roles("POST", "/api/v1/tickets/{id}/return-review", DISPATCHERS),
    Operation::roles(
        "POST",
        "/api/v1/tickets/{id}/assign",
        &[(SupplierAdmin, OwnSupplier), (Dispatcher, OwnDistrict)],
    ),
    Operation::roles("POST", "/api/v1/tickets/{id}/check-in", CREWS),
    Operation::roles("POST", "/api/v1/tickets/{id}/measurements", CREWS),
    Operation::roles("POST", "/api/v1/tickets/{id}/pause", FIELD),
    Operation::roles("POST", "/api/v1/tickets/{id}/resume", FIELD),
    Operation::roles("POST", "/api/v1/tickets/{id}/extension", SUPPLIERS),
    Operation::roles(
        "POST",
        "/api/v1/tickets/{id}/extension-decision",
        DISPATCHERS,
    ),
    Operation::roles(
        "POST",
        "/api/v1/tickets/{id}/supervise",
        &[(Dispatcher, OwnDistrict), (Regulator, City)],
    ),
    Operation::roles("POST", "/api/v1/tickets/{id}/resolve", FIELD),
    Operation::roles(
        "POST",
        "/api/v1/tickets/{id}/feedback",
        &[
            (Resident, OwnFilings),
            (Operator, City),
            (Dispatcher, OwnDistrict),
        ],
    ),
    Operation::roles("POST", "/api/v1/tickets/{id}/close", DISPATCHERS),
    Operation::roles("GET", "/api/v1/stop-heating/applications", CASE_READERS),
    Operation::roles(
        "GET",
        "/api/v1/stop-heating/applications/{id}",
        CASE_READERS,
    ),
    Operation::roles(
        "POST",
        "/api/v1/stop-heating/applications/{id}/reply",
        SUPPLIERS,
    ),
    Operation::roles(
        "POST",
        "/api/v1/stop-heating/applications/{id}/valve-work",
        CREWS,
    )
    .limit(crate::routes::stop_heating::MAX_PHOTO_BYTES),
    Operation::roles(
        "GET",
        "/api/v1/stop-heating/applications/{id}/photo",
        CASE_READERS,
    ),
];

/// The policy of a process that serves dispatch alone, holding every field to the size dispatch's
/// document declares.
pub fn alone() -> platform::policy::Policy {
    use utoipa::OpenApi;
    platform::policy::Policy::of(&[POLICY]).with_caps(platform::caps::Caps::of_api(
        &crate::openapi::DispatchApi::openapi(),
    ))
}
