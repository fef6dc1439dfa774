//! Open311 GeoReport v2 at `/open311/v2/`: services as intake's categories, service requests
//! as complaints, in JSON or XML as the path's extension asks, with the specification's field
//! names and error shape (`[{"code": 400, "description": "..."}]`). Descriptions of errors start
//! with a stable snake_case code (`api_key_invalid: ...`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Intake;
use crate::domain::values::{Category, Celsius};

pub(crate) mod filing;
mod published;
mod render;
pub(crate) mod schema;

use published::{by_id, request_rows, viewer};
use render::Format;
use render::{answer, error, format, unknown_format};
use schema::{Attribute, Service, ServiceDefinition, TokenAnswer};
use schema::{Open311Error, Open311Refusal, ServiceRequest};

/// An Open311 client allowed to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Key {
    /// Its name, recorded as the filer.
    pub name: String,
    /// Its api_key.
    pub key: String,
}

/// Reads `name:key,name:key`.
pub fn parse_keys(text: &str) -> Result<Vec<Open311Key>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once(':') {
            Some((name, key)) if !name.is_empty() && key.len() >= 16 => Ok(Open311Key {
                name: name.to_owned(),
                key: key.to_owned(),
            }),
            _ => Err(format!(
                "expected name:key pairs with keys of at least 16 characters, got {pair:?}"
            )),
        })
        .collect()
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/open311/v2/services.{format}", web::get().to(services))
        .route(
            "/open311/v2/services/{code}.{format}",
            web::get().to(definition),
        )
        .route("/open311/v2/requests.{format}", web::get().to(requests))
        .route(
            "/open311/v2/requests.{format}",
            web::post().to(filing::file),
        )
        .route("/open311/v2/requests/{id}.{format}", web::get().to(request))
        .route("/open311/v2/tokens/{id}.{format}", web::get().to(token));
}

fn service(category: Category) -> Service {
    Service {
        service_code: category.code(),
        service_name: category.name(),
        description: category.name(),
        metadata: true,
        kind: "realtime",
        keywords: "heating",
        group: "heating",
    }
}

/// Open311 GeoReport v2: the services (intake's complaint categories).
#[utoipa::path(
    get, path = "/open311/v2/services.{format}", tag = "open311", params(("format" = inline(Format), Path, description = "`json`, or `xml` for the same fields as elements")),
    responses(
        (status = 200, description = "OK", content((Vec<Service> = "application/json"), ("text/xml"))),
        (status = 400, content((Open311Refusal = "application/json"), ("text/xml")), description = "A parameter that does not hold"),
        (status = 404, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`format_unknown`"),
        (status = 503, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`unavailable`: try again shortly"),
    )
)]
pub(crate) async fn services(path: web::Path<String>) -> HttpResponse {
    let Some(format) = format(&path) else {
        return unknown_format();
    };
    let all: Vec<Service> = Category::ALL.into_iter().map(service).collect();
    answer(format, StatusCode::OK, "services", &all)
}

/// Open311 GeoReport v2: a service's definition (the attributes a request may carry).
#[utoipa::path(
    get, path = "/open311/v2/services/{code}.{format}", tag = "open311",
    params(("code" = String, Path, description = "A service code"), ("format" = inline(Format), Path, description = "`json`, or `xml` for the same fields as elements")),
    responses(
        (status = 200, description = "OK", content((ServiceDefinition = "application/json"), ("text/xml"))),
        (status = 400, content((Open311Refusal = "application/json"), ("text/xml")), description = "A parameter that does not hold"),
        (status = 404, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`format_unknown`"),
        (status = 503, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`unavailable`: try again shortly"),
    )
)]
pub(crate) async fn definition(path: web::Path<(String, String)>) -> HttpResponse {
    let (code, extension) = path.into_inner();
    let Some(format) = format(&extension) else {
        return unknown_format();
    };
    let Some(category) = Category::parse(&code) else {
        return error(
            format,
            StatusCode::NOT_FOUND,
            "service_code_unknown",
            "no such service_code",
        );
    };
    let body = ServiceDefinition {
        service_code: category.code(),
        attributes: vec![
            Attribute {
                variable: true,
                code: "room_temperature",
                datatype: "number",
                required: false,
                datatype_description: format!("℃, from {} to {}", Celsius::MIN, Celsius::MAX),
                order: 1,
                description: "The room temperature you measured",
            },
            Attribute {
                variable: true,
                code: "heating_account",
                datatype: "string",
                required: false,
                datatype_description: "6 to 20 letters and digits".to_owned(),
                order: 2,
                description: "Your heating account number (供热户号), if you know it",
            },
        ],
    };
    answer(format, StatusCode::OK, "service_definition", &body)
}

pub(super) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.to_utc())
}

/// Open311 GeoReport v2: requests filed within a window (the last 90 days by default), as the
/// public may read them: category, status and notes, dates, the agency and the building; the
/// description only for the client that filed a request (by its `api_key`).
#[utoipa::path(
    get, path = "/open311/v2/requests.{format}", tag = "open311",
    params(
        ("format" = inline(Format), Path, description = "`json`, or `xml` for the same fields as elements"),
        ("service_request_id" = Option<String>, Query, max_length = 4000, description = "Comma-separated request ids (the other filters are then ignored)"),
        ("service_code" = Option<String>, Query, max_length = 400, description = "Comma-separated service codes"),
        ("start_date" = Option<String>, Query, max_length = 40, description = "RFC 3339, with a time zone"),
        ("end_date" = Option<String>, Query, max_length = 40, description = "RFC 3339, with a time zone"),
        ("status" = Option<String>, Query, max_length = 20, description = "`open`, `closed`, or both comma-separated"),
        ("api_key" = Option<String>, Query, max_length = 256, description = "A client's key: its own requests' descriptions are shown"),
    ),
    responses(
        (status = 200, description = "OK", content((Vec<ServiceRequest> = "application/json"), ("text/xml"))),
        (status = 403, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`api_key_invalid`"),
        (status = 400, content((Open311Refusal = "application/json"), ("text/xml")), description = "A parameter that does not hold"),
        (status = 404, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`format_unknown`"),
        (status = 503, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`unavailable`: try again shortly"),
    )
)]
pub(crate) async fn requests(
    intake: web::Data<Intake>,
    path: web::Path<String>,
    query: web::Query<Map<String, Value>>,
) -> HttpResponse {
    let Some(format) = format(&path) else {
        return unknown_format();
    };
    let text = |name: &str| {
        query
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let viewer = match viewer(&intake, format, text("api_key")) {
        Ok(viewer) => viewer,
        Err(refused) => return *refused,
    };
    if let Some(ids) = text("service_request_id") {
        let ids: Result<Vec<Uuid>, _> =
            ids.split(',').map(|id| id.trim().parse::<Uuid>()).collect();
        let Ok(ids) = ids else {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "service_request_id_invalid",
                "comma-separated request ids",
            );
        };
        return match request_rows(
            &intake,
            format,
            viewer.as_deref(),
            "c.complaint_id = ANY($1)",
            &[&ids],
        )
        .await
        {
            Ok(rows) => answer(format, StatusCode::OK, "service_requests", &rows),
            Err(e) => e,
        };
    }
    let now = intake.now();
    let end = match text("end_date").map(parse_time) {
        None => now,
        Some(Some(t)) => t,
        Some(None) => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "end_date_invalid",
                "ISO 8601 with a time zone",
            );
        }
    };
    let start = match text("start_date").map(parse_time) {
        None => end - Duration::days(90),
        Some(Some(t)) => t,
        Some(None) => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "start_date_invalid",
                "ISO 8601 with a time zone",
            );
        }
    };
    let codes: Option<Vec<String>> =
        text("service_code").map(|c| c.split(',').map(|s| s.trim().to_owned()).collect());
    if let Some(codes) = &codes
        && let Some(unknown) = codes.iter().find(|c| Category::parse(c).is_none())
    {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "service_code_unknown",
            &format!("no service_code {unknown}"),
        );
    }
    // Filtered on the status as published (a resolved repair is `closed`), after reading.
    let mut wanted = Vec::new();
    for s in text("status").unwrap_or("open,closed").split(',') {
        match s.trim() {
            "open" => wanted.push("open"),
            "closed" => wanted.push("closed"),
            _ => {
                return error(
                    format,
                    StatusCode::BAD_REQUEST,
                    "status_invalid",
                    "open or closed",
                );
            }
        }
    }
    match request_rows(
        &intake,
        format,
        viewer.as_deref(),
        "c.filed_at >= $1 AND c.filed_at <= $2 AND ($3::text[] IS NULL OR c.category = ANY($3))",
        &[&start, &end, &codes],
    )
    .await
    {
        Ok(mut rows) => {
            rows.retain(|r| wanted.contains(&r.status));
            answer(format, StatusCode::OK, "service_requests", &rows)
        }
        Err(e) => e,
    }
}

/// Open311 GeoReport v2: one request, as the public may read it (its description only for the
/// client that filed it, by its `api_key`).
#[utoipa::path(
    get, path = "/open311/v2/requests/{id}.{format}", tag = "open311",
    params(
        ("id" = String, Path, description = "The request id"),
        ("format" = inline(Format), Path, description = "`json`, or `xml` for the same fields as elements"),
        ("api_key" = Option<String>, Query, max_length = 256, description = "A client's key"),
    ),
    responses(
        (status = 200, description = "OK", content((Vec<ServiceRequest> = "application/json"), ("text/xml"))),
        (status = 403, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`api_key_invalid`"),
        (status = 400, content((Open311Refusal = "application/json"), ("text/xml")), description = "A parameter that does not hold"),
        (status = 404, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`format_unknown`"),
        (status = 503, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`unavailable`: try again shortly"),
    )
)]
pub(crate) async fn request(
    intake: web::Data<Intake>,
    path: web::Path<(String, String)>,
    query: web::Query<Map<String, Value>>,
) -> HttpResponse {
    let (id, extension) = path.into_inner();
    let Some(format) = format(&extension) else {
        return unknown_format();
    };
    let api_key = query.get("api_key").and_then(Value::as_str);
    let viewer = match viewer(&intake, format, api_key) {
        Ok(viewer) => viewer,
        Err(refused) => return *refused,
    };
    match by_id(&intake, format, viewer.as_deref(), &id).await {
        Ok(Some(row)) => answer(format, StatusCode::OK, "service_requests", &[row]),
        Ok(None) => error(
            format,
            StatusCode::NOT_FOUND,
            "service_request_unknown",
            "no such request",
        ),
        Err(e) => e,
    }
}

/// Open311 GeoReport v2: the request a token stands for (a token is its request's id).
#[utoipa::path(
    get, path = "/open311/v2/tokens/{id}.{format}", tag = "open311",
    params(("id" = String, Path, description = "The token"), ("format" = inline(Format), Path, description = "`json`, or `xml` for the same fields as elements")),
    responses(
        (status = 200, description = "OK", content((Vec<TokenAnswer> = "application/json"), ("text/xml"))),
        (status = 400, content((Open311Refusal = "application/json"), ("text/xml")), description = "A parameter that does not hold"),
        (status = 404, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`format_unknown`"),
        (status = 503, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`unavailable`: try again shortly"),
    )
)]
pub(crate) async fn token(
    intake: web::Data<Intake>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, extension) = path.into_inner();
    let Some(format) = format(&extension) else {
        return unknown_format();
    };
    match by_id(&intake, format, None, &id).await {
        Ok(Some(found)) => answer(
            format,
            StatusCode::OK,
            "service_requests",
            &[TokenAnswer {
                service_request_id: found.service_request_id,
                token: id,
            }],
        ),
        Ok(None) => error(
            format,
            StatusCode::NOT_FOUND,
            "token_unknown",
            "no such token",
        ),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_named_pairs() {
        let keys = parse_keys("fixmystreet:0123456789abcdef, civic:fedcba9876543210").unwrap();
        assert_eq!(keys[1].name, "civic");
        assert!(parse_keys("short:abc").is_err());
        assert!(parse_keys("").unwrap().is_empty());
    }
}
