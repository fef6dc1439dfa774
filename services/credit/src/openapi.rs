//! Credit's OpenAPI document (checked in as `openapi/credit.json`).

use platform::fields::FieldError;
use platform::openapi::BearerScheme;
use utoipa::OpenApi;

use crate::routes;
use crate::targets::board::{
    CauseCount, Figures, RetrofitBuilding, ScopeFigures, TargetsBoard, TicketBehind, TicketsBehind,
    TrendPoint,
};
use crate::targets::map::{DistrictMap, NetworkMap, StationFigures};
use crate::views::{
    AppealView, ClosingView, DimensionView, EntryView, LedgerPage, Link, RankView, ScoreView,
};
use crate::whatif::{ChangedEntry, SupplierWhatIf, WhatIf};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Heatline credit",
        description = "Supplier credit: scores by dimension under a versioned rulebook, a \
            ledger whose every entry names its rule, points and evidence events, grades A to D, \
            appeals, regulators' adjustments and vetoes, scores as of a past moment, what-if \
            replays and CSV exports. Points are out of 100. Also households' refunds for late \
            or insufficient heating, in fen, under a versioned refund rulebook."
    ),
    paths(
        routes::rulebook,
        routes::suppliers,
        routes::ranking,
        routes::score,
        routes::ledger,
        routes::export,
        routes::adjust,
        routes::veto,
        routes::what_if,
        routes::targets,
        routes::behind,
        routes::retrofit,
        routes::network_map,
        routes::publish,
        routes::board,
        routes::supplier_names,
        routes::issue,
        routes::list_orders,
        routes::acknowledge,
        routes::evidence,
        routes::list,
        routes::file,
        routes::decide,
        routes::refund_rulebook,
        routes::my_refunds,
        routes::household,
        routes::refund_what_if,
        routes::refund_totals,
        routes::refund_households,
        routes::refund_export,
        routes::seals,
        routes::seal_document,
        routes::seal_keys,
        routes::proof,
    ),
    components(schemas(
        routes::RulebookView,
        routes::SupplierView,
        routes::SupplierName,
        routes::NewAdjustment,
        routes::NewVeto,
        routes::EvidenceView,
        routes::EvidenceEntry,
        routes::SensorHour,
        routes::NewAppeal,
        routes::NewAttachment,
        routes::AppealDecision,
        ScoreView,
        DimensionView,
        ClosingView,
        LedgerPage,
        EntryView,
        Link,
        RankView,
        AppealView,
        WhatIf,
        SupplierWhatIf,
        ChangedEntry,
        TargetsBoard,
        routes::NewPublication,
        routes::NewOrder,
        routes::NewAcknowledgement,
        crate::orders::OrderView,
        crate::orders::AckView,
        routes::PublicationView,
        routes::PublicBoard,
        routes::PublicSupplier,
        routes::PublishedGrade,
        routes::DistrictCount,
        ScopeFigures,
        Figures,
        TrendPoint,
        TicketsBehind,
        TicketBehind,
        RetrofitBuilding,
        CauseCount,
        NetworkMap,
        DistrictMap,
        StationFigures,
        FieldError,
        routes::RefundRulebookView,
        routes::MyRefunds,
        crate::domain::refund_rules::RefundVersion,
        crate::domain::refund_rules::Tier,
        crate::refunds::statement::RefundStatement,
        crate::refunds::statement::HeatingStoppedView,
        crate::refunds::statement::RefundDayView,
        crate::refunds::statement::RefundWhatIf,
        crate::refunds::statement::SupplierRefunds,
        crate::refunds::statement::HouseholdRefunds,
        routes::SealPage,
        routes::SealKeyView,
        eventstore::seal::SealSummary,
        eventstore::seal::SealDocument,
        eventstore::seal::Proof,
        eventstore::seal::SealedEvent,
        eventstore::seal::Log,
    )),
    modifiers(&BearerScheme),
    tags((name = "credit", description = "Supplier credit evaluation"),
        (name = "refunds", description = "Fee refunds for late or insufficient heating"),
        (name = "audit", description = "Seals of the event logs and proofs of inclusion")),
)]
pub struct CreditApi;

/// The document as pretty JSON, as checked in.
pub fn document() -> String {
    CreditApi::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}
