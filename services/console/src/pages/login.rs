//! Logging in and out, the language, and each role's first page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::{Chrome, Form, field, form_visit, html, see_other};
use crate::Console;
use crate::session::{self, Session, TokenPair, Visit};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    failed: bool,
    username: String,
    next: String,
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    out: Option<String>,
}

/// Where a role starts.
fn home_of(role: &str) -> Option<&'static str> {
    match role {
        "dispatcher" | "supplier_admin" => Some("/console/queue"),
        "regulator" => Some("/console/targets"),
        "operator" => Some("/console/hotline"),
        "crew" => Some("/console/jobs"),
        _ => None,
    }
}

/// A page to come back to after login: only the console's own (never another site).
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\'))
        .map(str::to_owned)
}

/// `/console`: the signed-in user's first page, or the login page.
pub(crate) async fn home(request: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    match Session::load(&request, &console).await {
        Ok(session) => {
            let to = home_of(&session.claims.role).unwrap_or("/console/login?role=1");
            session.finish(see_other(to))
        }
        Err(to_login) => to_login,
    }
}

/// The login page.
pub(crate) async fn page(request: HttpRequest, query: web::Query<LoginQuery>) -> HttpResponse {
    let visit = Visit::of(&request);
    let t = visit.tr();
    let notice = if query.expired.is_some() {
        Some(t.s("login.expired"))
    } else if query.out.is_some() {
        Some(t.s("login.out"))
    } else {
        None
    };
    let page = LoginPage {
        chrome: Chrome::anonymous(&visit, "login.title", "/console/login"),
        notice,
        failed: false,
        username: String::new(),
        next: safe_next(query.next.as_deref()).unwrap_or_default(),
    };
    visit.finish(html(StatusCode::OK, &page))
}

/// Logs in through the API; keeps the tokens in cookies.
pub(crate) async fn submit(
    request: HttpRequest,
    console: web::Data<Console>,
    form: Form,
) -> HttpResponse {
    let visit = match form_visit(&request, &form) {
        Ok(visit) => visit,
        Err(refusal) => return *refusal,
    };
    let username = field(&form, "username").unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let answer: Result<TokenPair, _> = console
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "username": username, "password": password }),
            None,
        )
        .await;
    let next = safe_next(form.get("next").map(String::as_str));
    let role = answer
        .as_ref()
        .ok()
        .and_then(|pair| session::Claims::of(&pair.access_token))
        .map(|c| c.role);
    match (answer, role.as_deref().and_then(home_of)) {
        (Ok(pair), Some(home)) => {
            let mut response = see_other(&next.unwrap_or_else(|| home.to_owned()));
            for cookie in session::sign_in_cookies(&visit, &pair) {
                let _ = response.add_cookie(&cookie);
            }
            visit.finish(response)
        }
        (answer, _) => {
            let t = visit.tr();
            // A resident, or an admin: the console has no pages for them.
            let notice = answer.is_ok().then(|| t.s("login.resident"));
            let status = if answer.is_ok() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page = LoginPage {
                chrome: Chrome::anonymous(&visit, "login.title", "/console/login"),
                notice,
                failed: notice.is_none(),
                username,
                next: next.unwrap_or_default(),
            };
            visit.finish(html(status, &page))
        }
    }
}

/// Logs out: the API ends the session (its refresh token stops working), the cookies go.
pub(crate) async fn logout(
    request: HttpRequest,
    console: web::Data<Console>,
    form: Form,
) -> HttpResponse {
    let visit = match form_visit(&request, &form) {
        Ok(visit) => visit,
        Err(refusal) => return *refusal,
    };
    if let Ok(session) = Session::load(&request, &console).await {
        let ended: Result<serde_json::Value, _> = console
            .api
            .post(
                "/api/v1/auth/logout",
                Some(&session.token),
                &json!({}),
                None,
            )
            .await;
        if let Err(failure) = ended {
            tracing::warn!(code = %failure.code, "the API did not end a console session");
        }
    }
    let mut response = see_other("/console/login?out=1");
    for cookie in session::sign_out_cookies(&visit) {
        let _ = response.add_cookie(&cookie);
    }
    visit.finish(response)
}

/// Switches the language, back to the page it was switched on.
pub(crate) async fn language(request: HttpRequest, form: Form) -> HttpResponse {
    let visit = match form_visit(&request, &form) {
        Ok(visit) => visit,
        Err(refusal) => return *refusal,
    };
    let lang = if field(&form, "lang").as_deref() == Some("en") {
        "en"
    } else {
        "zh-CN"
    };
    let back = safe_next(form.get("back").map(String::as_str))
        .or_else(|| {
            (form.get("back").map(String::as_str) == Some("/console")).then(|| "/console".into())
        })
        .unwrap_or_else(|| "/console".to_owned());
    let mut response = see_other(&back);
    let _ = response.add_cookie(&visit.cookie(session::LANG, lang.to_owned(), Some(365 * 86_400)));
    visit.finish(response)
}
