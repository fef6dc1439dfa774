//! The whole API in one OpenAPI document (checked in as `openapi/heatline.json`), served by
//! every process at `/openapi.json` with Swagger UI at `/docs/`, whichever services it runs:
//! the gateway sends both to any one of them.

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::InfoBuilder;
use utoipa_swagger_ui::SwaggerUi;

/// Identity's, intake's, dispatch's and credit's documents merged.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut api = identity::openapi::IdentityApi::openapi();
    api.merge(intake::openapi::IntakeApi::openapi());
    api.merge(dispatch::openapi::DispatchApi::openapi());
    api.merge(credit::openapi::CreditApi::openapi());
    api.merge(platform::openapi::OperationsApi::openapi());
    api.info = InfoBuilder::new()
        .title("Heatline")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The whole Heatline API: logins and tokens (identity), complaints from the app, \
             WeChat, the 12345 hotline and Open311 (intake), repair tickets, crews and SLA \
             clocks (dispatch), and supplier credit (credit). Each service's own document is \
             in openapi/.",
        ))
        .build();
    platform::openapi::declare_refusals(&mut api, &crate::policy::whole());
    api
}

/// Mounts `/openapi.json` and Swagger UI at `/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("location", "/docs/"))
                .finish()
        }),
    )
    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document()));
}

#[cfg(test)]
mod tests {
    /// The document as pretty JSON, as checked in.
    fn document_json() -> String {
        super::document()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
            + "\n"
    }

    #[test]
    fn the_checked_in_whole_api_document_is_current() {
        let generated = document_json();
        testkit::assert_openapi_current("heatline", &generated);
        let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
        for path in [
            "/api/v1/auth/login",
            "/api/v1/complaints",
            "/api/v1/tickets/{id}/resolve",
            "/api/v1/credit/seasons/{season}/suppliers/{id}/ledger",
        ] {
            assert!(document["paths"][path].is_object(), "{path} is documented");
        }
        assert_eq!(document["info"]["title"], "Heatline");
    }
}
