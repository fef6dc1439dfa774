//! Who is signed in: the API's tokens kept in `HttpOnly`, `SameSite=Strict` cookies (`Secure`
//! behind TLS), refreshed silently before the access token runs out; the CSRF token every form
//! carries; the language.
//!
//! A refresh token works once and a spent one coming back revokes the session, so refreshes are
//! made one at a time and each answer is kept for two minutes: a page and its live update that
//! both find the access token expiring get the same new pair.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::Console;
use crate::i18n::{Lang, Tr};

/// The access token's cookie.
pub const ACCESS: &str = "hl_access";
/// The refresh token's cookie.
pub const REFRESH: &str = "hl_refresh";
/// The CSRF token's cookie (compared with the form's `csrf` field).
pub const CSRF: &str = "hl_csrf";
/// The language's cookie.
pub const LANG: &str = "hl_lang";
/// Where the cookies apply.
const PATH: &str = "/console";
/// An access token this close to its end is refreshed first.
const EARLY: i64 = 30;

/// What the console reads of an access token (the API verifies it; the console only decides
/// which pages to offer).
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The account.
    pub sub: String,
    /// The role (`dispatcher`, `crew`, ...).
    pub role: String,
    /// The district the account is limited to.
    #[serde(default)]
    pub district: Option<String>,
    /// The supplier the account belongs to.
    #[serde(default)]
    pub supplier: Option<String>,
    /// The crew the account belongs to.
    #[serde(default)]
    pub crew: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

impl Claims {
    /// The claims of a JWT, unverified.
    pub fn of(token: &str) -> Option<Claims> {
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A token pair as identity answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The refresh token.
    pub refresh_token: String,
}

/// Refreshes made recently, by the refresh token spent.
#[derive(Debug, Default)]
pub struct Refreshes(Mutex<HashMap<String, (TokenPair, Instant)>>);

const KEEP_REFRESHED: Duration = Duration::from_secs(120);

impl Refreshes {
    async fn renew(&self, console: &Console, refresh: &str) -> Option<TokenPair> {
        let mut done = self.0.lock().await;
        done.retain(|_, (_, at)| at.elapsed() < KEEP_REFRESHED);
        if let Some((pair, _)) = done.get(refresh) {
            return Some(pair.clone());
        }
        let pair: TokenPair = console
            .api
            .post(
                "/api/v1/auth/refresh",
                None,
                &json!({ "refresh_token": refresh }),
                None,
            )
            .await
            .ok()?;
        done.insert(refresh.to_owned(), (pair.clone(), Instant::now()));
        Some(pair)
    }
}

/// The browser's side of a request: language and CSRF token, signed in or not.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The language.
    pub lang: Lang,
    /// The CSRF token forms must carry.
    pub csrf: String,
    /// Whether the CSRF cookie is new (set it on the answer).
    fresh_csrf: bool,
    /// Whether the request came over TLS (directly or through the gateway).
    secure: bool,
}

impl Visit {
    /// Reads the language and CSRF cookies; makes a CSRF token when there is none.
    pub fn of(request: &HttpRequest) -> Visit {
        let lang = Lang::from_cookie(request.cookie(LANG).as_ref().map(|c| c.value()));
        let existing = request
            .cookie(CSRF)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() >= 32);
        let fresh_csrf = existing.is_none();
        let csrf = existing.unwrap_or_else(|| {
            let bytes: [u8; 32] = rand::random();
            URL_SAFE_NO_PAD.encode(bytes)
        });
        Visit {
            lang,
            csrf,
            fresh_csrf,
            secure: request.connection_info().scheme() == "https",
        }
    }

    /// The words of the page.
    pub fn tr(&self) -> Tr {
        Tr(self.lang)
    }

    /// Whether a form's token matches the cookie's (a form from another site has none).
    pub fn form_is_ours(&self, sent: Option<&str>) -> bool {
        !self.fresh_csrf && sent.is_some_and(|s| constant_eq(s.as_bytes(), self.csrf.as_bytes()))
    }

    /// A cookie of the console.
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        max_age: Option<i64>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::build(name, value)
            .path(PATH)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .finish();
        if let Some(seconds) = max_age {
            cookie.set_max_age(time::Duration::seconds(seconds));
        }
        cookie
    }

    /// Adds the CSRF cookie to an answer when it is new.
    pub fn finish(&self, mut response: HttpResponse) -> HttpResponse {
        if self.fresh_csrf {
            let _ = response.add_cookie(&self.cookie(CSRF, self.csrf.clone(), None));
        }
        response
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in user's request.
#[derive(Debug, Clone)]
pub struct Session {
    /// Language and CSRF.
    pub visit: Visit,
    /// The access token for the API.
    pub token: String,
    /// What the token says.
    pub claims: Claims,
    /// The name of the account's supplier, as the registry has it (its id when unknown).
    pub supplier_name: Option<String>,
    /// A pair refreshed for this request, to set in the cookies.
    renewed: Option<TokenPair>,
}

/// A page's signed-in user as a handler's argument: a request without one is answered with
/// the way to the login page ([`Session::load`]), and the handler does not run.
impl FromRequest for Session {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let Some(console) = request.app_data::<web::Data<Console>>().cloned() else {
                return Err(actix_web::error::ErrorInternalServerError(
                    "the console is not configured",
                ));
            };
            Session::load(&request, &console)
                .await
                .map_err(|to_login| InternalError::from_response("not signed in", to_login).into())
        })
    }
}

/// The name of the supplier `claims` belong to, if any.
async fn supplier_name(console: &Console, claims: &Claims) -> Option<String> {
    let id = claims.supplier.as_deref()?;
    Some(console.supplier_name(id).await)
}

impl Session {
    /// The signed-in user, refreshing the tokens when the access token is about to end; or
    /// the answer that sends the browser to the login page.
    pub async fn load(request: &HttpRequest, console: &Console) -> Result<Session, HttpResponse> {
        let visit = Visit::of(request);
        let now = chrono::Utc::now().timestamp();
        let current = request
            .cookie(ACCESS)
            .map(|c| c.value().to_owned())
            .and_then(|token| Some((Claims::of(&token)?, token)))
            .filter(|(claims, _)| claims.exp - EARLY > now);
        if let Some((claims, token)) = current {
            return Ok(Session {
                visit,
                token,
                supplier_name: supplier_name(console, &claims).await,
                claims,
                renewed: None,
            });
        }
        let refresh = request.cookie(REFRESH).map(|c| c.value().to_owned());
        let renewed = match refresh {
            Some(refresh) => console.refreshes.renew(console, &refresh).await,
            None => None,
        };
        let Some((pair, claims)) =
            renewed.and_then(|pair| Some((pair.clone(), Claims::of(&pair.access_token)?)))
        else {
            return Err(to_login(request, &visit, true));
        };
        Ok(Session {
            visit,
            token: pair.access_token.clone(),
            supplier_name: supplier_name(console, &claims).await,
            claims,
            renewed: Some(pair),
        })
    }

    /// The words of the page.
    pub fn tr(&self) -> Tr {
        self.visit.tr()
    }

    /// Adds the cookies this request changed to an answer.
    pub fn finish(&self, response: HttpResponse) -> HttpResponse {
        let mut response = self.visit.finish(response);
        if let Some(pair) = &self.renewed {
            for cookie in sign_in_cookies(&self.visit, pair) {
                let _ = response.add_cookie(&cookie);
            }
        }
        response
    }

    /// Whether the user acts in `role`.
    pub fn is(&self, role: &str) -> bool {
        self.claims.role == role
    }
}

/// The cookies that keep a token pair.
pub fn sign_in_cookies(visit: &Visit, pair: &TokenPair) -> [Cookie<'static>; 2] {
    [
        visit.cookie(ACCESS, pair.access_token.clone(), Some(pair.expires_in)),
        // A session cookie: it ends with the browser; the server ends it at logout.
        visit.cookie(REFRESH, pair.refresh_token.clone(), None),
    ]
}

/// The cookies that forget the tokens.
pub fn sign_out_cookies(visit: &Visit) -> [Cookie<'static>; 2] {
    [
        visit.cookie(ACCESS, String::new(), Some(0)),
        visit.cookie(REFRESH, String::new(), Some(0)),
    ]
}

/// Sends the browser to the login page, to come back to this page (a GET) afterwards.
pub fn to_login(request: &HttpRequest, visit: &Visit, expired: bool) -> HttpResponse {
    let back = if request.method() == actix_web::http::Method::GET {
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
    } else {
        None
    };
    let mut query = Vec::new();
    if let Some(back) = back {
        query.push(("next", back));
    }
    if expired && request.cookie(REFRESH).is_some() {
        query.push(("expired", "1".to_owned()));
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    let location = if query.is_empty() {
        "/console/login".to_owned()
    } else {
        format!("/console/login?{query}")
    };
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish();
    for cookie in sign_out_cookies(visit) {
        let _ = response.add_cookie(&cookie);
    }
    visit.finish(response)
}
