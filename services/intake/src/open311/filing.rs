//! Filing through Open311: `POST requests.{format}` with a client's `api_key`, read field by
//! field into a complaint and submitted like any other channel's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use eventstore::{Actor, Channel};

use super::constant_eq;
use super::render::{Format, answer, error, format, unknown_format};
use super::schema::{FilingForm, Open311Error, Open311Refusal, Receipt};
use crate::Intake;
use crate::domain::values::{Address, Category, Celsius, HeatingAccountNo, Source};
use crate::input::{ComplaintInput, MAX_DESCRIPTION};
use crate::routes::filing::{Submission, idempotency_key};

struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Reads a POST: what goes wrong is `(status, code, message)`.
/// A POST read: the client's name, the complaint, the position.
type Post = (String, ComplaintInput, Option<(f64, f64)>);
/// Why a POST was refused: status, stable code, message.
type Refusal = (StatusCode, &'static str, String);

fn read_post(intake: &Intake, form: &Form) -> Result<Post, Refusal> {
    let bad = |code, message: &str| (StatusCode::BAD_REQUEST, code, message.to_owned());
    let api_key = form.get("api_key").ok_or_else(|| {
        (
            StatusCode::FORBIDDEN,
            "api_key_missing",
            "an api_key is required to file".to_owned(),
        )
    })?;
    let client = intake
        .config
        .open311_keys
        .iter()
        .find(|k| k.key.len() == api_key.len() && constant_eq(k.key.as_bytes(), api_key.as_bytes()))
        .ok_or_else(|| {
            (
                StatusCode::FORBIDDEN,
                "api_key_invalid",
                "the api_key is not valid".to_owned(),
            )
        })?;
    let code = form
        .get("service_code")
        .ok_or_else(|| bad("service_code_missing", "service_code is required"))?;
    let category = Category::parse(code).ok_or_else(|| {
        bad(
            "service_code_unknown",
            "no such service_code; see services.json",
        )
    })?;
    let position = match (form.get("lat"), form.get("long")) {
        (None, None) => None,
        (Some(lat), Some(long)) => {
            let lat: f64 = lat
                .parse()
                .map_err(|_| bad("lat_invalid", "lat must be a number"))?;
            let long: f64 = long
                .parse()
                .map_err(|_| bad("long_invalid", "long must be a number"))?;
            if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long)) {
                return Err(bad("location_invalid", "lat/long out of range"));
            }
            Some((lat, long))
        }
        _ => return Err(bad("location_invalid", "give both lat and long")),
    };
    let address = match form.get("address_string") {
        None => None,
        Some(raw) => Some(
            Address::parse(raw)
                .ok_or_else(|| bad("address_string_invalid", "4 to 200 characters"))?,
        ),
    };
    let account = match form.get("attribute[heating_account]") {
        None => None,
        Some(raw) => Some(HeatingAccountNo::parse(raw).ok_or_else(|| {
            bad(
                "attribute_invalid",
                "heating_account: 6 to 20 letters and digits",
            )
        })?),
    };
    if position.is_none() && address.is_none() && account.is_none() {
        return Err(bad(
            "location_required",
            "give lat and long, or address_string",
        ));
    }
    let reading = match form.get("attribute[room_temperature]") {
        None => None,
        Some(raw) => Some(
            raw.parse::<f64>()
                .ok()
                .and_then(Celsius::parse)
                .ok_or_else(|| {
                    bad(
                        "attribute_invalid",
                        "room_temperature: a number from -40 to 45",
                    )
                })?,
        ),
    };
    let description = form.get("description").unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(bad("description_too_long", "at most 2000 characters"));
    }
    let contact_phone = match form.get("phone") {
        None => None,
        Some(raw) => Some(
            platform::phone::PhoneNumber::parse_any(raw)
                .ok_or_else(|| bad("phone_invalid", "a mainland mobile or landline number"))?,
        ),
    };
    Ok((
        client.name.clone(),
        ComplaintInput {
            category,
            account,
            address,
            reading,
            description: description.to_owned(),
            contact_phone,
            photos: Vec::new(),
        },
        position,
    ))
}

/// Open311 GeoReport v2: files a request (a complaint from a civic-reporting app), with the
/// client's `api_key`; an `Idempotency-Key` header makes a retry answer as the first time.
#[utoipa::path(
    post, path = "/open311/v2/requests.{format}", tag = "open311", params(("format" = inline(Format), Path, description = "`json`, or `xml` for the same fields as elements")),
    request_body(content = FilingForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Filed", content((Vec<Receipt> = "application/json"), ("text/xml"))),
        (status = 400, content((Open311Refusal = "application/json"), ("text/xml")), description = "A field that does not hold (`service_code_unknown`, `location_required`, ...)"),
        (status = 403, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`api_key_missing` or `api_key_invalid`"),
        (status = 404, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`format_unknown`"),
        (status = 409, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "Filed at the same moment by another request: try again"),
        (status = 422, content((Open311Refusal = "application/json"), ("text/xml")), description = "The `Idempotency-Key` was used for another request, or a control character in a field"),
        (status = 503, content((Vec<Open311Error> = "application/json"), ("text/xml")), description = "`unavailable`: try again shortly"),
    )
)]
pub(crate) async fn file(
    intake: web::Data<Intake>,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(format) = format(&path) else {
        return unknown_format();
    };
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "body_invalid",
            "send application/x-www-form-urlencoded UTF-8",
        );
    };
    let form = Form(pairs);
    let (client, input, position) = match read_post(&intake, &form) {
        Ok(read) => read,
        Err((status, code, message)) => return error(format, status, code, &message),
    };
    let key = match idempotency_key(&request) {
        Ok(key) => key,
        Err(_) => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "idempotency_key_invalid",
                "1 to 128 visible ASCII characters",
            );
        }
    };
    let mut canonical: Vec<(String, String)> = form
        .0
        .iter()
        .filter(|(k, _)| k != "api_key")
        .cloned()
        .collect();
    canonical.sort();
    let actor = Actor {
        id: client.clone(),
        role: "open311_client".into(),
    };
    let submitted = intake
        .submit(Submission {
            input,
            source: Source::Open311,
            filer: format!("open311:{client}"),
            idempotency: key.map(|k| (format!("open311:{client}"), k)),
            request: serde_urlencoded::to_string(&canonical)
                .unwrap_or_default()
                .into_bytes(),
            rate_limited: false,
            work_order: None,
            position,
            metadata: platform::request::metadata(&request, actor, Channel::Open311),
        })
        .await;
    match submitted {
        Ok(receipt) => {
            let notice = if receipt.merged {
                "this home already has an open request; yours was added to it"
            } else {
                "accepted"
            };
            let body = [Receipt {
                service_request_id: receipt.complaint_id.to_string(),
                token: receipt.complaint_id.to_string(),
                service_notice: notice,
                account_id: None,
            }];
            answer(format, StatusCode::CREATED, "service_requests", &body)
        }
        Err(api) => {
            let status = api.status_code();
            error(format, status, api.code(), "the request could not be filed")
        }
    }
}
