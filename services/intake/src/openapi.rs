//! Intake's OpenAPI document (checked in as `openapi/intake.json`).

use platform::openapi::BearerScheme;
use utoipa::OpenApi;

use crate::input::FieldError;
use crate::open311;
use crate::routes::{
    complaints, contact, erasure, filing, photos, platform12345, readings, stop_heating, supply,
};
use crate::views::{ComplaintView, Page, RevealPage, RevealView};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Heatline intake",
        description = "Complaints from the resident app, the WeChat mini-program, hotline \
            operators and the 12345 platform; photos; Open311 GeoReport v2 at /open311/v2/ as its \
            specification describes."
    ),
    paths(
        filing::file,
        complaints::mine,
        complaints::one,
        complaints::withdraw,
        complaints::reject,
        complaints::route,
        complaints::search,
        complaints::unrouted,
        complaints::buildings,
        contact::reveal,
        contact::reveals,
        erasure::erase,
        erasure::list,
        filing::file_for_caller,
        platform12345::push,
        photos::upload,
        photos::download,
        stop_heating::apply,
        stop_heating::mine,
        readings::push,
        readings::silent,
        complaints::temperatures,
        supply::list,
        supply::confirm,
        supply::dismiss,
        open311::services,
        open311::definition,
        open311::requests,
        open311::filing::file,
        open311::request,
        open311::token,
    ),
    components(schemas(
        filing::FileComplaint,
        filing::FileForCaller,
        complaints::ComplaintReason,
        complaints::RouteTo,
        complaints::ComplaintDetail,
        complaints::ComplaintTimelineEntry,
        filing::FilingResponse,
        platform12345::WorkOrder,
        photos::PhotoStored,
        contact::ContactDetails,
        erasure::EraseRequest,
        erasure::ErasureDone,
        erasure::ErasureRecord,
        erasure::ErasurePage,
        ComplaintView,
        crate::registry::BuildingView,
        Page,
        RevealPage,
        RevealView,
        FieldError,
        stop_heating::NewApplication,
        crate::stop_heating::ApplicationView,
        readings::Push,
        crate::readings::Outcome,
        crate::silence::SilentSensor,
        crate::temperatures::Temperatures,
        crate::temperatures::TemperatureHour,
        crate::supply::AlertView,
        supply::Confirmation,
        supply::Dismissal,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "complaints", description = "Filing and following complaints"),
        (name = "12345", description = "The city hotline platform's pushes"),
        (name = "photos", description = "Complaint photos"),
        (name = "privacy", description = "Erasure of personal data"),
        (name = "stop-heating", description = "Applying online to stop heating a home for a season, or to restore it"),
        (name = "sensors", description = "Readings pushed in bulk by sensor platforms (HMAC-signed)"),
        (name = "open311", description = "Open311 GeoReport v2 for civic-reporting apps (JSON or XML by the path's extension)"),
    )
)]
pub struct IntakeApi;

/// The document as pretty JSON, as checked in.
pub fn document() -> String {
    IntakeApi::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}
