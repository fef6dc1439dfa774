//! The console's pages; the route table is here.

mod board;
mod entries;
mod exports;
mod hotline;
mod login;
mod map;
mod orders;
mod oversight;
mod queue;
mod refunds;
mod supplier;
mod targets;
mod ticket;
mod ticket_members;

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::Console;
use crate::api::Failure;
use crate::i18n::Tr;
use crate::session::{Session, Visit};

pub(crate) fn configure(cfg: &mut web::ServiceConfig, console: web::Data<Console>) {
    cfg.app_data(console)
        .app_data(web::FormConfig::default().limit(8 * 1024 * 1024))
        .route("/console", web::get().to(login::home))
        .route("/console/static/{file}", web::get().to(asset))
        .route("/console/login", web::get().to(login::page))
        .route("/console/login", web::post().to(login::submit))
        .route("/console/logout", web::post().to(login::logout))
        .route("/console/language", web::post().to(login::language))
        .route("/console/queue", web::get().to(queue::page))
        .route("/console/queue/live", web::get().to(queue::live))
        .route("/console/unrouted", web::get().to(queue::unrouted))
        .route(
            "/console/complaints/{id}/route",
            web::post().to(queue::route),
        )
        .route("/console/tickets/{id}", web::get().to(ticket::page))
        .route(
            "/console/tickets/{id}/{action}",
            web::post().to(ticket::act),
        )
        .route("/console/hotline", web::get().to(hotline::page))
        .route("/console/hotline", web::post().to(hotline::file))
        .route("/console/crews", web::get().to(supplier::crews))
        .route("/console/crews", web::post().to(supplier::new_crew))
        .route("/console/ledger", web::get().to(supplier::ledger))
        .route(
            "/console/entries/{id}/appeal",
            web::post().to(supplier::appeal),
        )
        .route("/console/appeals", web::get().to(supplier::appeals))
        .route("/console/jobs", web::get().to(queue::jobs))
        .route("/console/targets", web::get().to(targets::page))
        .route("/console/targets/tickets", web::get().to(targets::behind))
        .route("/console/ranking", web::get().to(oversight::ranking))
        .route(
            "/console/suppliers/{id}",
            web::get().to(oversight::supplier),
        )
        .route(
            "/console/suppliers/{id}/{kind}",
            web::post().to(oversight::own_entry),
        )
        .route("/console/evidence/{id}", web::get().to(oversight::evidence))
        .route("/console/decisions", web::get().to(oversight::decisions))
        .route(
            "/console/appeals/{id}/decide",
            web::post().to(oversight::decide),
        )
        .route("/console/what-if", web::get().to(oversight::what_if))
        .route("/console/publications", web::post().to(oversight::publish))
        .route("/console/retrofit", web::get().to(targets::retrofit))
        .route("/console/map", web::get().to(map::page))
        .route("/console/exports/{file}", web::get().to(exports::export))
        .route("/console/orders", web::get().to(orders::page))
        .route("/console/orders", web::post().to(orders::issue))
        .route(
            "/console/orders/{id}/acknowledge",
            web::post().to(orders::acknowledge),
        )
        .route("/console/refunds", web::get().to(refunds::page))
        .route(
            "/console/refunds/{household}",
            web::get().to(refunds::household),
        )
        .route("/board", web::get().to(board::page));
}

/// The stylesheet and the script, built into the binary.
async fn asset(file: web::Path<String>) -> HttpResponse {
    let (body, kind) = match file.as_str() {
        "console.css" => (include_str!("../../static/console.css"), "text/css"),
        "console.js" => (include_str!("../../static/console.js"), "text/javascript"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, format!("{kind}; charset=utf-8")))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// A link of the page's navigation.
pub(crate) struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every page around its content shows: the language, the CSRF token its forms carry,
/// the navigation of the user's role, who is signed in.
pub(crate) struct Chrome {
    pub t: Tr,
    pub csrf: String,
    pub title: String,
    pub nav: Vec<NavLink>,
    pub who: String,
    pub signed_in: bool,
    /// The crew's pages: laid out for a phone.
    pub narrow: bool,
    /// The page's path, to come back to after switching the language.
    pub here: String,
}

impl Chrome {
    /// The frame of a signed-in user's page at `here`.
    pub fn of(session: &Session, title_key: &str, here: &str) -> Chrome {
        let t = session.tr();
        let links: &[(&str, &str)] = match session.claims.role.as_str() {
            "dispatcher" => &[
                ("/console/queue", "nav.queue"),
                ("/console/unrouted", "nav.unrouted"),
            ],
            "operator" => &[
                ("/console/hotline", "nav.hotline"),
                ("/console/queue", "nav.queue"),
            ],
            "regulator" => &[
                ("/console/targets", "nav.targets"),
                ("/console/ranking", "nav.ranking"),
                ("/console/decisions", "nav.decisions"),
                ("/console/what-if", "nav.whatif"),
                ("/console/map", "nav.map"),
                ("/console/retrofit", "nav.retrofit"),
                ("/console/orders", "nav.orders"),
                ("/console/refunds", "nav.refunds"),
                ("/console/queue", "nav.queue"),
            ],
            "supplier_admin" => &[
                ("/console/queue", "nav.tickets"),
                ("/console/crews", "nav.crews"),
                ("/console/ledger", "nav.ledger"),
                ("/console/appeals", "nav.appeals"),
                ("/console/orders", "nav.orders"),
                ("/console/refunds", "nav.refunds"),
            ],
            "crew" => &[("/console/jobs", "nav.jobs")],
            _ => &[],
        };
        let nav = links
            .iter()
            .map(|(href, key)| NavLink {
                href,
                label: t.s(key),
                current: here.starts_with(href),
            })
            .collect();
        let claims = &session.claims;
        let scope = [&claims.district, &session.supplier_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" · ");
        let role = t.code("role", &claims.role);
        Chrome {
            t,
            csrf: session.visit.csrf.clone(),
            title: t.s(title_key).to_owned(),
            nav,
            who: if scope.is_empty() {
                role
            } else {
                format!("{role} · {scope}")
            },
            signed_in: true,
            narrow: claims.role == "crew",
            here: here.to_owned(),
        }
    }

    /// The frame of a page nobody is signed in to.
    pub fn anonymous(visit: &Visit, title_key: &str, here: &str) -> Chrome {
        let t = visit.tr();
        Chrome {
            t,
            csrf: visit.csrf.clone(),
            title: t.s(title_key).to_owned(),
            nav: Vec::new(),
            who: String::new(),
            signed_in: false,
            narrow: false,
            here: here.to_owned(),
        }
    }
}

/// A rendered page with `status`; never cached (it shows one user's data).
pub(crate) fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(error) => {
            tracing::error!(%error, "a console page did not render");
            HttpResponse::InternalServerError().body("the page could not be shown")
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    message: String,
    back: String,
}

/// The page that says what the API refused, with its status.
pub(crate) fn refused(session: &Session, failure: &Failure, back: &str) -> HttpResponse {
    if failure.status == 401 {
        // The session ended elsewhere (logged out, revoked): log in again.
        let mut response = see_other("/console/login?expired=1");
        for cookie in crate::session::sign_out_cookies(&session.visit) {
            let _ = response.add_cookie(&cookie);
        }
        return session.visit.finish(response);
    }
    let t = session.tr();
    let message = match failure.status {
        403 => t.s("error.forbidden").to_owned(),
        404 => t.s("error.not_found").to_owned(),
        503 => t.s("error.unavailable").to_owned(),
        _ => failure.explained(),
    };
    let status = failure.status_code();
    let page = ErrorPage {
        chrome: Chrome::of(session, "error.title", back),
        message,
        back: back.to_owned(),
    };
    session.finish(html(status, &page))
}

/// The page that refuses a form without the session's CSRF token.
pub(crate) fn forged(visit: &Visit, signed_in: Option<&Session>) -> HttpResponse {
    let chrome = match signed_in {
        Some(session) => Chrome::of(session, "error.title", "/console"),
        None => Chrome::anonymous(visit, "error.title", "/console"),
    };
    let page = ErrorPage {
        chrome,
        message: visit.tr().s("csrf.refused").to_owned(),
        back: "/console".to_owned(),
    };
    visit.finish(html(StatusCode::FORBIDDEN, &page))
}

/// A form's fields by name.
pub(crate) type Form = web::Form<HashMap<String, String>>;

/// A form field, trimmed; none when empty.
pub(crate) fn field(form: &HashMap<String, String>, name: &str) -> Option<String> {
    form.get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The browser of a form's request that needs no session (login, language, logout), with
/// its CSRF token checked.
pub(crate) fn form_visit(
    request: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<Visit, Box<HttpResponse>> {
    let visit = Visit::of(request);
    if !visit.form_is_ours(form.get("csrf").map(String::as_str)) {
        return Err(Box::new(forged(&visit, None)));
    }
    Ok(visit)
}

/// `GET path` from the API as the signed-in user; a refusal is the page that says so, with
/// a link `back`.
pub(crate) async fn read<T: serde::de::DeserializeOwned>(
    console: &Console,
    session: &Session,
    path: &str,
    back: &str,
) -> Result<T, HttpResponse> {
    console
        .api
        .get(path, Some(&session.token))
        .await
        .map_err(|failure| refused(session, &failure, back))
}

/// The signed-in user of a form's request, with its CSRF token checked.
pub(crate) async fn form_session(
    request: &HttpRequest,
    console: &Console,
    form: &HashMap<String, String>,
) -> Result<Session, HttpResponse> {
    let session = Session::load(request, console).await?;
    if !session
        .visit
        .form_is_ours(form.get("csrf").map(String::as_str))
    {
        return Err(forged(&session.visit, Some(&session)));
    }
    Ok(session)
}

/// Sends the browser to `location` (after a form: 303, so a reload does not send it again).
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// A page's season, from its query.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SeasonQuery {
    season: Option<String>,
}

impl SeasonQuery {
    pub(crate) fn season(&self) -> String {
        season_or_now(self.season.clone())
    }
}

/// A season as a form or query names it (`2026-2027`), or the season now.
pub(crate) fn season_or_now(named: Option<String>) -> String {
    named
        .filter(|s| s.len() == 9 && s.chars().all(|c| c.is_ascii_digit() || c == '-'))
        .unwrap_or_else(season_now)
}

/// The heating season now (`2026-2027`, July to June, China time).
pub(crate) fn season_now() -> String {
    use chrono::Datelike;
    let local = chrono::Utc::now().with_timezone(&crate::format::china());
    let first = if local.month() >= 7 {
        local.year()
    } else {
        local.year() - 1
    };
    format!("{first}-{}", first + 1)
}
