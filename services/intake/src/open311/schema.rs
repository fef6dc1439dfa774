//! What Open311 answers, as types: the handlers build these, and the OpenAPI document describes
//! them (the JSON form; the XML form has the same fields as elements).

use serde::Serialize;
use utoipa::ToSchema;

/// A service: one of intake's complaint categories.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Service {
    /// The category code (`no_heat`, `low_temperature`, ...).
    pub service_code: &'static str,
    /// Its name, in English and Chinese.
    pub service_name: &'static str,
    /// The same name.
    pub description: &'static str,
    /// Always true: each service has attributes (`services/{code}.json`).
    pub metadata: bool,
    /// Always `realtime`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `heating`.
    pub keywords: &'static str,
    /// `heating`.
    pub group: &'static str,
}

/// One attribute a request may carry (`attribute[code]` when filing).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Attribute {
    /// Always true.
    pub variable: bool,
    /// `room_temperature` or `heating_account`.
    pub code: &'static str,
    /// `number` or `string`.
    pub datatype: &'static str,
    /// Always false.
    pub required: bool,
    /// What a valid value looks like.
    pub datatype_description: String,
    /// Its place in a form.
    pub order: u32,
    /// What to ask for.
    pub description: &'static str,
}

/// A service's definition: its attributes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceDefinition {
    /// The category code.
    pub service_code: &'static str,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// A service request as the public reads it: never free text, names or phones, and the building
/// rather than the flat.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceRequest {
    /// The complaint id.
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Where it stands, in words.
    pub status_notes: String,
    /// The category's name.
    pub service_name: &'static str,
    /// The category code.
    pub service_code: &'static str,
    /// The description, only for the client that filed it (by its `api_key`); else null.
    pub description: Option<String>,
    /// The heating supplier.
    pub agency_responsible: Option<String>,
    /// Always null.
    pub service_notice: Option<String>,
    /// When it was filed (RFC 3339).
    pub requested_datetime: String,
    /// When it last changed (RFC 3339).
    pub updated_datetime: String,
    /// Always null.
    pub expected_datetime: Option<String>,
    /// The building's address from the registry, when the request is placed.
    pub address: Option<String>,
    /// Always null.
    pub address_id: Option<String>,
    /// Always null.
    pub zipcode: Option<String>,
    /// Latitude, rounded to about 100 m.
    pub lat: Option<f64>,
    /// Longitude, rounded to about 100 m.
    pub long: Option<f64>,
    /// Always null.
    pub media_url: Option<String>,
}

/// What filing a request answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Receipt {
    /// The request's id (the household's open request when it was added to one).
    pub service_request_id: String,
    /// The same id.
    pub token: String,
    /// `accepted`, or that it was added to the home's open request.
    pub service_notice: &'static str,
    /// Always null.
    pub account_id: Option<String>,
}

/// A token's request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenAnswer {
    /// The request.
    pub service_request_id: String,
    /// The token asked about.
    pub token: String,
}

/// An error in the specification's shape.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Open311Error {
    /// The HTTP status.
    pub code: u16,
    /// A stable snake_case code, a colon, and words (`api_key_invalid: ...`).
    pub description: String,
}

/// A refusal of an Open311 operation: the specification's error list from the handler, or the
/// platform's error body from the checks in front of every handler (a control character in the
/// query or a form field, an unreadable query).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "describes answers that are built as its variants' own types"
)]
pub(crate) enum Open311Refusal {
    /// From the handler.
    Open311(Vec<Open311Error>),
    /// From the checks in front of it.
    Checks(platform::openapi::ErrorBody),
}

/// The form that files a request (`application/x-www-form-urlencoded`): an `api_key`, a
/// `service_code`, and a place (`lat` and `long`, `address_string`, or the heating account).
#[derive(Debug, Serialize, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the form, which the handler reads field by field"
)]
pub(crate) struct FilingForm {
    /// The client's key (required).
    #[schema(max_length = 256)]
    pub api_key: String,
    /// A service code from `services.json` (required).
    #[schema(max_length = 32)]
    pub service_code: String,
    /// Latitude, -90 to 90 (with `long`).
    pub lat: Option<f64>,
    /// Longitude, -180 to 180 (with `lat`).
    pub long: Option<f64>,
    /// The address, 4 to 200 characters.
    #[schema(max_length = 200)]
    pub address_string: Option<String>,
    /// At most 2,000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// A mainland mobile or landline number to call back.
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    /// The room temperature, ℃ (-40 to 45).
    #[serde(rename = "attribute[room_temperature]")]
    #[schema(minimum = -40.0, maximum = 45.0)]
    pub room_temperature: Option<f64>,
    /// The heating account number.
    #[serde(rename = "attribute[heating_account]")]
    #[schema(max_length = 40)]
    pub heating_account: Option<String>,
}
