//! Stopping heating online: a resident applies for their home before the season's deadline,
//! and follows the supplier's reply and the crew's visit.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Datelike;
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Intake;
use crate::domain::stop_heating::{
    Application, Kind, REASONS, StopHeatingCommand, StopHeatingError,
};
use crate::domain::values::{Address, HeatingAccountNo, Source};
use crate::stop_heating::{self, ApplicationView, ApplyFailure};

/// The namespace of application ids derived from idempotency keys.
const NAMESPACE: Uuid = Uuid::from_u128(0x2b7e_91c4_05d8_4f6a_b3e1_7c90_d4a2_5e18);

/// An application as a resident files it.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "documents the body; it is read field by field to list every bad one"
)]
pub(crate) struct NewApplication {
    /// `stop` (停暖) or `restore` (恢复供暖).
    #[schema(max_length = 16)]
    kind: String,
    /// The season, named by its two years: `2027-2028`.
    #[schema(max_length = 9)]
    season: String,
    /// `vacant` (房屋空置), `away` (长期外出), `own_heating` (自采暖) or `other`.
    #[schema(max_length = 16)]
    reason: String,
    /// The heating account number (供热户号); this or `address` is required.
    #[schema(max_length = 40)]
    heating_account: Option<String>,
    /// The address; this or `heating_account` is required.
    #[schema(max_length = 200)]
    address: Option<String>,
}

/// The first year of a season named `YYYY-YYYY` (consecutive years).
fn season_year(text: &str) -> Option<i32> {
    let (first, second) = text.split_once('-')?;
    let (first, second): (i32, i32) = (first.parse().ok()?, second.parse().ok()?);
    (first.to_string().len() == 4 && second == first + 1).then_some(first)
}

fn failure(error: ApplyFailure) -> ApiError {
    match error {
        ApplyFailure::Refused(StopHeatingError::PastDeadline { season, deadline }) => {
            ApiError::unprocessable(
                "past_deadline",
                format!("applications for season {season} closed at {deadline}"),
                serde_json::json!({ "season": season, "deadline": deadline }),
            )
        }
        ApplyFailure::Refused(StopHeatingError::AlreadyApplied) => {
            ApiError::conflict("already_applied", "this application was filed already")
        }
        ApplyFailure::Open { existing } => ApiError::conflict(
            "application_open",
            "this home has an application of this kind for the season that was not refused",
        )
        .with_details(serde_json::json!({ "application_id": existing })),
        ApplyFailure::Contended => {
            ApiError::conflict("conflict", "the application changed meanwhile; try again")
        }
        ApplyFailure::Store(e) => ApiError::internal(&e),
        ApplyFailure::Append(e) => ApiError::internal(&e),
    }
}

async fn one(intake: &Intake, filed_by: &str, id: Uuid) -> Result<ApplicationView, ApiError> {
    let client = intake
        .store
        .pool()
        .get()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    stop_heating::mine(&client, filed_by, Some(id))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .pop()
        .ok_or_else(|| ApiError::not_found("no such application"))
}

/// Applies to stop heating a home for a season, or to heat it again, before the city's
/// deadline (days before the season's official start). The supplier replies within the
/// city's number of working days. With an `Idempotency-Key`, a retry answers the application
/// filed the first time.
#[utoipa::path(post, path = "/api/v1/me/stop-heating-applications", tag = "stop-heating",
    request_body = NewApplication,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely")),
    responses((status = 201, body = ApplicationView),
        (status = 200, body = ApplicationView, description = "Filed before with this key"),
        (status = 409, description = "The home has an open application of this kind for the season"),
        (status = 422, description = "Bad fields, an account or address the registry does not know, or past the deadline")),
    security(("bearer" = [])))]
pub(crate) async fn apply(
    intake: web::Data<Intake>,
    request: HttpRequest,
    principal: Principal,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let kind = errors
        .one_of(&body, "kind", &["stop", "restore"], true)
        .and_then(Kind::parse);
    let season = errors.required_text(&body, "season", 9);
    let first_year = season.as_deref().and_then(|s| {
        let year = season_year(s);
        if year.is_none() {
            errors.add("season", "invalid", "two consecutive years, e.g. 2027-2028");
        }
        year
    });
    let reason = errors.one_of(&body, "reason", REASONS, true);
    let account = errors.text(&body, "heating_account", 40);
    let address = errors.text(&body, "address", 200);
    let account = account.and_then(|raw| {
        let parsed = HeatingAccountNo::parse(&raw);
        if parsed.is_none() {
            errors.add("heating_account", "invalid", "6 to 20 letters and digits");
        }
        parsed
    });
    let address = address.and_then(|raw| {
        let parsed = Address::parse(&raw);
        if parsed.is_none() {
            errors.add("address", "invalid", "4 to 200 characters");
        }
        parsed
    });
    let given = |field: &str| body.get(field).is_some_and(|v| !v.is_null());
    if !given("heating_account") && !given("address") {
        errors.add(
            "heating_account",
            "address_or_account_required",
            "give the heating account number or the address",
        );
    }
    errors.into_result()?;
    let (Some(kind), Some(season), Some(first_year), Some(reason)) =
        (kind, season, first_year, reason)
    else {
        return Err(ApiError::internal(&std::fmt::Error));
    };
    let route = intake.registry.resolve(account.as_ref(), address.as_ref());
    if !route.is_routed() {
        let mut errors = FieldErrors::default();
        errors.add(
            if account.is_some() {
                "heating_account"
            } else {
                "address"
            },
            "unknown_home",
            "the building registry does not know this home; call the hotline",
        );
        errors.into_result()?;
    }
    let household = match (&account, &address) {
        (Some(account), _) => intake.pseudonyms.of_account(account),
        (None, Some(address)) => intake.pseudonyms.of_address(address),
        (None, None) => return Err(ApiError::internal(&std::fmt::Error)),
    };
    let now = intake.now();
    if first_year > now.year() + 1 {
        let mut errors = FieldErrors::default();
        errors.add("season", "too_far", "this season or the next");
        errors.into_result()?;
    }
    let wechat = request
        .headers()
        .get("x-heatline-client")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"wechat"));
    let (source, channel) = if wechat {
        (Source::Wechat, Channel::Wechat)
    } else {
        (Source::App, Channel::App)
    };
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 200);
    let id = match key {
        Some(key) => Uuid::new_v5(
            &NAMESPACE,
            format!("{}:{key}", principal.subject).as_bytes(),
        ),
        None => Uuid::now_v7(),
    };
    let command = StopHeatingCommand::Apply {
        application: Application {
            kind,
            season,
            household: household.as_str().to_owned(),
            route,
            reason: reason.to_owned(),
            filed_by: principal.subject.clone(),
            source,
            deadline: intake.config.stop_heating.deadline(first_year),
            at: now,
        },
    };
    let metadata = metadata(&request, actor(&principal), channel);
    match stop_heating::apply(&intake.store, id, command, &metadata).await {
        Ok(()) => {
            tracing::info!(application.id = %id, kind = kind.code(), "stop-heating application filed");
            Ok(HttpResponse::Created().json(one(&intake, &principal.subject, id).await?))
        }
        Err(ApplyFailure::Refused(StopHeatingError::AlreadyApplied)) if key.is_some() => {
            Ok(HttpResponse::Ok().json(one(&intake, &principal.subject, id).await?))
        }
        Err(error) => Err(failure(error)),
    }
}

/// The resident's stop-heating and restore applications, newest first, with the supplier's
/// reply and the crew's visit.
#[utoipa::path(get, path = "/api/v1/me/stop-heating-applications", tag = "stop-heating",
    responses((status = 200, body = Vec<ApplicationView>)),
    security(("bearer" = [])))]
pub(crate) async fn mine(
    intake: web::Data<Intake>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let client = intake
        .store
        .pool()
        .get()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let list = stop_heating::mine(&client, &principal.subject, None)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(list))
}

#[cfg(test)]
mod tests {
    use super::season_year;

    #[test]
    fn a_season_is_two_consecutive_years() {
        assert_eq!(season_year("2027-2028"), Some(2027));
        for bad in ["2027-2029", "2027", "27-28", "2027-2028x", "-1-0"] {
            assert_eq!(season_year(bad), None, "{bad}");
        }
    }
}
