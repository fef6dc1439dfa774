//! Who may call intake's operations (see `platform::policy`).

use platform::auth::Role::*;
use platform::policy::Operation;
use platform::policy::Reach::*;

use crate::photos::MAX_PHOTO_BYTES;
use crate::routes::JSON_LIMIT;

/// Intake's operations.
pub const POLICY: &[Operation] = &[
    Operation::roles("POST", "/api/v1/complaints", &[(Resident, OwnFilings)]).limit(JSON_LIMIT),
    Operation::roles("GET", "/api/v1/complaints", &[(Resident, OwnFilings)]),
    Operation::roles(
        "POST",
        "/api/v1/me/stop-heating-applications",
        &[(Resident, OwnFilings)],
    )
    .limit(JSON_LIMIT),
    Operation::roles(
        "GET",
        "/api/v1/me/stop-heating-applications",
        &[(Resident, OwnFilings)],
    ),
    Operation::roles(
        "GET",
        "/api/v1/complaints/search",
        &[
            (Operator, City),
            (Dispatcher, OwnDistrict),
            (Regulator, City),
        ],
    ),
    Operation::roles(
        "GET",
        "/api/v1/buildings",
        &[
            (Operator, City),
            (Dispatcher, OwnDistrict),
            (Regulator, City),
        ],
    ),
    Operation::roles(
        "GET",
        "/api/v1/complaints/unrouted",
        &[(Dispatcher, OwnDistrict)],
    ),
    Operation::roles(
        "GET",
        "/api/v1/complaints/{id}",
        &[
            (Resident, OwnFilings),
            (Operator, City),
            (Dispatcher, OwnDistrict),
            (SupplierAdmin, OwnSupplier),
            (Crew, OwnCrew),
            (Regulator, City),
        ],
    ),
    Operation::roles(
        "GET",
        "/api/v1/complaints/{id}/temperatures",
        &[
            (Resident, OwnFilings),
            (Operator, City),
            (Dispatcher, OwnDistrict),
            (SupplierAdmin, OwnSupplier),
            (Crew, OwnCrew),
            (Regulator, City),
        ],
    ),
    Operation::roles(
        "POST",
        "/api/v1/complaints/{id}/contact",
        &[
            (Operator, City),
            (Dispatcher, OwnDistrict),
            (SupplierAdmin, OwnSupplier),
            (Crew, OwnCrew),
            (Regulator, City),
        ],
    ),
    Operation::roles("GET", "/api/v1/contact-reveals", &[(Regulator, City)]),
    Operation::roles("POST", "/api/v1/privacy/erasures", &[(Regulator, City)]).limit(JSON_LIMIT),
    Operation::roles("GET", "/api/v1/privacy/erasures", &[(Regulator, City)]),
    Operation::roles(
        "POST",
        "/api/v1/complaints/{id}/withdraw",
        &[(Resident, OwnFilings)],
    ),
    Operation::roles(
        "POST",
        "/api/v1/complaints/{id}/reject",
        &[(Operator, City), (Dispatcher, OwnDistrict)],
    ),
    Operation::roles(
        "POST",
        "/api/v1/complaints/{id}/route",
        &[(Dispatcher, OwnDistrict)],
    ),
    Operation::roles("POST", "/api/v1/hotline/complaints", &[(Operator, City)]).limit(JSON_LIMIT),
    Operation::signed(
        "POST",
        "/api/v1/hotline/12345/work-orders",
        "the 12345 platform's HMAC signature",
    )
    .limit(JSON_LIMIT),
    Operation::signed(
        "POST",
        "/api/v1/sensors/readings",
        "a sensor platform's HMAC signature",
    )
    .limit(crate::routes::readings::READINGS_LIMIT),
    Operation::roles(
        "GET",
        "/api/v1/sensors/silent",
        &[
            (Dispatcher, OwnDistrict),
            (SupplierAdmin, OwnSupplier),
            (Regulator, City),
        ],
    ),
    Operation::roles("GET", "/api/v1/supply-alerts", &[(Regulator, City)]),
    Operation::roles(
        "POST",
        "/api/v1/supply-alerts/{id}/confirm",
        &[(Regulator, City)],
    )
    .limit(JSON_LIMIT),
    Operation::roles(
        "POST",
        "/api/v1/supply-alerts/{id}/dismiss",
        &[(Regulator, City)],
    )
    .limit(JSON_LIMIT),
    Operation::roles("POST", "/api/v1/photos", &[(Resident, OwnFilings)]).limit(MAX_PHOTO_BYTES),
    Operation::roles(
        "GET",
        "/api/v1/photos/{id}",
        &[
            (Resident, OwnFilings),
            (Operator, City),
            (Dispatcher, OwnDistrict),
            (Crew, OwnCrew),
            (SupplierAdmin, OwnSupplier),
            (Regulator, City),
        ],
    ),
    Operation::public("GET", "/open311/v2/services.{format}"),
    Operation::public("GET", "/open311/v2/services/{code}.{format}"),
    Operation::public("GET", "/open311/v2/requests.{format}"),
    Operation::signed(
        "POST",
        "/open311/v2/requests.{format}",
        "an Open311 client's api_key",
    )
    .limit(JSON_LIMIT),
    Operation::public("GET", "/open311/v2/requests/{id}.{format}"),
    Operation::public("GET", "/open311/v2/tokens/{id}.{format}"),
];

/// The policy of a process that serves intake alone, holding every field to the size intake's
/// document declares.
pub fn alone() -> platform::policy::Policy {
    use utoipa::OpenApi;
    platform::policy::Policy::of(&[POLICY]).with_caps(platform::caps::Caps::of_api(
        &crate::openapi::IntakeApi::openapi(),
    ))
}
