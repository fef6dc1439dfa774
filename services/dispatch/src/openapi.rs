//! Dispatch's OpenAPI document (checked in as `openapi/dispatch.json`).

use platform::fields::FieldError;
use platform::openapi::BearerScheme;
use utoipa::OpenApi;

use crate::domain::clock::ClockKind;
use crate::domain::values::{Cause, PauseReason, Rating};
use crate::routes;
use crate::views::{
    Bands, ClockView, CrewView, MeasurementView, MemberView, QueueItem, QueuePage, TicketView,
    TimelineEntry,
};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Heatline dispatch",
        description = "Repair tickets, crews and SLA clocks. Every ticket command accepts \
            If-Match with the version last seen (the ETag of the ticket or of the previous \
            command): a stale one is answered 412."
    ),
    paths(
        routes::queue,
        routes::bands,
        routes::one,
        routes::supplier_tickets,
        routes::crew_jobs,
        routes::dispatch,
        routes::sign,
        routes::return_ticket,
        routes::review_return,
        routes::assign,
        routes::check_in,
        routes::measure,
        routes::pause,
        routes::resume,
        routes::request_extension,
        routes::decide_extension,
        routes::supervise,
        routes::resolve,
        routes::feedback,
        routes::close,
        routes::register,
        routes::list,
        routes::stop_heating::list,
        routes::stop_heating::show,
        routes::stop_heating::reply,
        routes::stop_heating::valve_work,
        routes::stop_heating::photo,
    ),
    components(schemas(
        routes::CommandReply,
        routes::DispatchTo,
        routes::Reason,
        routes::ReviewDecision,
        routes::AssignTo,
        routes::Position,
        routes::Reading,
        routes::PauseFor,
        routes::ExtensionAsk,
        routes::Note,
        routes::Resolution,
        routes::Verdict,
        routes::NewCrew,
        QueuePage,
        Bands,
        QueueItem,
        TicketView,
        ClockView,
        MeasurementView,
        MemberView,
        TimelineEntry,
        CrewView,
        ClockKind,
        Cause,
        Rating,
        PauseReason,
        FieldError,
        routes::stop_heating::Reply,
        crate::stop_heating::CaseView,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "tickets", description = "Repair tickets: the queue, one ticket, its commands"),
        (name = "crews", description = "The crew register and crews' jobs"),
        (name = "stop-heating", description = "Stop-heating and restore applications: the supplier's reply and the crew's valve work"),
    )
)]
pub struct DispatchApi;

/// The document as pretty JSON, as checked in.
pub fn document() -> String {
    DispatchApi::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}
