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

    /// The whole document merges the services' schemas by name: two services must not give one
    /// name to different schemas, or one of them would describe the other's operations.
    #[test]
    fn no_two_services_give_one_schema_name_to_different_schemas() {
        use utoipa::OpenApi;
        let documents = [
            ("identity", identity::openapi::IdentityApi::openapi()),
            ("intake", intake::openapi::IntakeApi::openapi()),
            ("dispatch", dispatch::openapi::DispatchApi::openapi()),
            ("credit", credit::openapi::CreditApi::openapi()),
            ("platform", platform::openapi::OperationsApi::openapi()),
        ];
        let mut seen: std::collections::BTreeMap<String, (&str, serde_json::Value)> =
            Default::default();
        let mut clashes = Vec::new();
        for (service, document) in &documents {
            let document = serde_json::to_value(document).unwrap();
            for (name, schema) in document["components"]["schemas"]
                .as_object()
                .into_iter()
                .flatten()
            {
                match seen.get(name) {
                    Some((other, earlier)) if earlier != schema => {
                        clashes.push(format!("{name}: {other} and {service}"));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(name.clone(), (service, schema.clone()));
                    }
                }
            }
        }
        assert!(clashes.is_empty(), "schema names used twice: {clashes:?}");
    }

    /// Every string and list a request carries (body fields, query parameters) is declared with
    /// its cap, which the gate holds it to (`platform::caps`).
    #[test]
    fn every_string_and_list_of_every_request_has_a_cap() {
        let document = serde_json::to_value(super::document()).unwrap();
        let schemas = &document["components"]["schemas"];
        let resolve = |schema: &serde_json::Value| match schema["$ref"].as_str() {
            Some(r) => schemas[r.rsplit('/').next().unwrap()].clone(),
            None => schema.clone(),
        };
        let is = |schema: &serde_json::Value, kind: &str| {
            schema["type"] == kind
                || schema["type"]
                    .as_array()
                    .is_some_and(|types| types.iter().any(|t| t == kind))
        };
        let uncapped = |schema: &serde_json::Value| {
            (is(schema, "string") && schema["enum"].is_null() && schema["maxLength"].is_null())
                || (is(schema, "array")
                    && (schema["maxItems"].is_null()
                        || (is(&resolve(&schema["items"]), "string")
                            && resolve(&schema["items"])["maxLength"].is_null())))
        };
        let mut missing = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for content in operation["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flat_map(|c| c.values())
                {
                    let schema = resolve(&content["schema"]);
                    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                        if uncapped(&resolve(property)) {
                            missing.push(format!("{method} {path}: body field {name}"));
                        }
                    }
                }
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "query" && uncapped(&parameter["schema"]) {
                        missing.push(format!(
                            "{method} {path}: query parameter {}",
                            parameter["name"]
                        ));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "declare a cap (max_length / max_items) for:\n{}",
            missing.join("\n")
        );
    }

    /// Behind the gateway (deploy/nginx), every documented operation reaches the service that
    /// serves it: a path routed nowhere, or to another service, answers 404 in split mode only.
    #[test]
    fn the_gateway_routes_every_documented_path_to_its_service() {
        use utoipa::OpenApi;
        let template = include_str!("../../../deploy/nginx/heatline.conf.template");
        // (exact, prefix, upstream variable) of every `location ... { proxy_pass ... }`.
        let mut locations = Vec::new();
        for line in template.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("location ") else {
                continue;
            };
            let (exact, rest) = match rest.strip_prefix("= ") {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            let prefix = rest.split_whitespace().next().unwrap().to_owned();
            // `proxy_pass http://heatline_intake...` names the upstream of HEATLINE_INTAKE.
            let upstream = line
                .split("proxy_pass http://heatline_")
                .nth(1)
                .map(|u| {
                    u.split(|c: char| !c.is_ascii_lowercase())
                        .next()
                        .unwrap_or("")
                })
                .map(|name| format!("HEATLINE_{}", name.to_ascii_uppercase()));
            locations.push((exact, prefix, upstream));
        }
        let services = [
            (
                "HEATLINE_IDENTITY",
                identity::openapi::IdentityApi::openapi(),
            ),
            ("HEATLINE_INTAKE", intake::openapi::IntakeApi::openapi()),
            (
                "HEATLINE_DISPATCH",
                dispatch::openapi::DispatchApi::openapi(),
            ),
            ("HEATLINE_CREDIT", credit::openapi::CreditApi::openapi()),
        ];
        let mut wrong = Vec::new();
        for (upstream, document) in &services {
            for path in document.paths.paths.keys() {
                // A concrete request path: each parameter filled in.
                let concrete: String = path
                    .split('{')
                    .enumerate()
                    .map(|(i, part)| match (i, part.split_once('}')) {
                        (0, _) | (_, None) => part.to_owned(),
                        (_, Some((name, rest))) => {
                            let value = if name == "format" { "json" } else { "x1" };
                            format!("{value}{rest}")
                        }
                    })
                    .collect();
                let exact = locations
                    .iter()
                    .find(|(is_exact, prefix, _)| *is_exact && *prefix == concrete);
                let chosen = exact.or_else(|| {
                    locations
                        .iter()
                        .filter(|(is_exact, prefix, _)| {
                            !is_exact && concrete.starts_with(prefix.as_str())
                        })
                        .max_by_key(|(_, prefix, _)| prefix.len())
                });
                let reached = chosen.and_then(|(_, _, upstream)| upstream.as_deref());
                if reached != Some(*upstream) {
                    wrong.push(format!(
                        "{path}: {upstream} expected, the gateway sends it to {reached:?}"
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
