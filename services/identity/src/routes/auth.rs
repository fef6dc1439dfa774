//! Staff login, token refresh, logout and password change.

use actix_web::{HttpRequest, HttpResponse, web};
use cqrs_es::AggregateError;
use eventstore::{Actor, Channel};
use platform::auth::Principal;
use platform::error::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{actor, metadata, store_failure};
use crate::domain::account::{AccountCommand, AccountError, LoginOutcome};
use crate::domain::session::{RefreshOutcome, RevokeReason, SessionCommand, SessionError};
use crate::tokens::{self, TokenPair};
use crate::{Identity, domain, passwords};

/// A staff login.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Login {
    /// The username.
    #[schema(max_length = 64)]
    username: String,
    /// The password.
    #[schema(max_length = 1024)]
    password: String,
}

/// A refresh.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Refresh {
    /// The refresh token of the last pair.
    #[schema(max_length = 4096)]
    refresh_token: String,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ChangePassword {
    /// The password now.
    #[schema(max_length = 1024)]
    current_password: String,
    /// The new password, at least 10 characters.
    #[schema(max_length = 1024)]
    new_password: String,
}

fn invalid_credentials() -> ApiError {
    // One answer for an unknown user, a wrong password and a locked account: nothing about
    // the account leaks.
    ApiError::unauthorized(
        "the username or password is wrong, or the account is locked for a while after repeated failures",
    )
    .with_code("invalid_credentials")
}

/// Logs a staff member in with a username and password.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "identity",
    request_body = Login,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "`invalid_credentials`: unknown user, wrong password or locked account"),
        (status = 400, description = "`malformed_json`"),
        (status = 422, description = "`invalid_body`"),
    )
)]
pub(crate) async fn login(
    request: HttpRequest,
    identity: web::Data<Identity>,
    body: web::Json<Login>,
) -> Result<HttpResponse, ApiError> {
    let Login { username, password } = body.into_inner();
    let Ok(username) = crate::parse_username(&username) else {
        passwords::verify(password, identity.decoy_hash.clone()).await;
        return Err(invalid_credentials());
    };
    let account_id = domain::account_id("staff", &username);
    let context = identity
        .store
        .load::<domain::account::Account>(&account_id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let account = context.state();
    let hash = match account.credential() {
        Some(credential) => passwords::stored(identity.store.pool(), credential)
            .await
            .map_err(|e| ApiError::internal(&e))?,
        None => None,
    };
    let Some(hash) = hash else {
        passwords::verify(password, identity.decoy_hash.clone()).await;
        return Err(invalid_credentials());
    };
    let matched = passwords::verify(password, hash).await;
    let now = identity.now();
    let outcome = account.login_outcome(matched, now);
    let role = account.role().expect("a staff account has a role");
    let scope = account.scope().clone();
    let actor = actor(&account_id, role);
    let command = AccountCommand::RecordPasswordLogin {
        password_matched: matched,
        at: now,
    };
    identity
        .accounts
        .execute(
            &account_id,
            command,
            &metadata(&request, actor.clone(), Channel::Console),
        )
        .await
        .map_err(store_failure)?;
    if outcome != LoginOutcome::Accepted {
        tracing::info!(account.id = %account_id, ?outcome, "staff login refused");
        return Err(invalid_credentials());
    }
    let pair = start_session(
        &identity,
        &request,
        &account_id,
        role,
        scope,
        actor,
        Channel::Console,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}

pub(crate) async fn start_session(
    identity: &Identity,
    request: &HttpRequest,
    account_id: &str,
    role: platform::auth::Role,
    scope: domain::account::Scope,
    actor: Actor,
    channel: Channel,
) -> Result<TokenPair, ApiError> {
    let now = identity.now();
    let key = identity.signing_key(now)?;
    let session_id = uuid::Uuid::now_v7().to_string();
    let refresh = tokens::refresh_token(&session_id);
    let command = SessionCommand::Start {
        account_id: account_id.to_owned(),
        role,
        scope: scope.clone(),
        refresh_hash: tokens::refresh_hash(&refresh),
        at: now,
    };
    identity
        .sessions
        .execute(&session_id, command, &metadata(request, actor, channel))
        .await
        .map_err(store_failure)?;
    Ok(tokens::pair(
        &key,
        account_id,
        &session_id,
        role,
        &scope,
        refresh,
        now,
    ))
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized("the refresh token is not valid; log in again")
        .with_code("invalid_refresh_token")
}

/// Exchanges a refresh token for a new pair. Each refresh token works once; using one twice
/// ends the session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "identity",
    request_body = Refresh,
    responses(
        (status = 200, description = "A new pair; the old refresh token is spent", body = TokenPair),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, spent (the session is then revoked) or logged out"),
    )
)]
pub(crate) async fn refresh(
    request: HttpRequest,
    identity: web::Data<Identity>,
    body: web::Json<Refresh>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    let session_id = tokens::session_of(&presented)
        .ok_or_else(invalid_refresh)?
        .to_owned();
    let context = identity
        .store
        .load::<domain::session::Session>(&session_id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let session = context.state();
    let (Some(account_id), Some(role)) = (session.account_id().map(str::to_owned), session.role())
    else {
        return Err(invalid_refresh());
    };
    let scope = session.scope().clone();
    let now = identity.now();
    let presented_hash = tokens::refresh_hash(&presented);
    let outcome = session.refresh_outcome(&presented_hash, now);
    let next = tokens::refresh_token(&session_id);
    let command = SessionCommand::Refresh {
        presented_hash,
        new_hash: tokens::refresh_hash(&next),
        at: now,
    };
    let actor = actor(&account_id, role);
    match identity
        .sessions
        .execute(
            &session_id,
            command,
            &metadata(&request, actor, Channel::App),
        )
        .await
    {
        Ok(_) if outcome == RefreshOutcome::Rotate => {}
        Ok(_) => {
            tracing::warn!(session.id = %session_id, "a spent refresh token came back; session revoked");
            return Err(invalid_refresh());
        }
        Err(AggregateError::UserError(SessionError::InvalidRefreshToken)) => {
            return Err(invalid_refresh());
        }
        // Two refreshes racing with one token: one wins, the other is a reuse.
        Err(AggregateError::AggregateConflict) => return Err(invalid_refresh()),
        Err(other) => return Err(store_failure(other)),
    }
    let key = identity.signing_key(now)?;
    Ok(HttpResponse::Ok().json(tokens::pair(
        &key,
        &account_id,
        &session_id,
        role,
        &scope,
        next,
        now,
    )))
}

/// Ends the caller's session: its refresh token stops working (access tokens run out within
/// 15 minutes).
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "`unauthorized`"),
    )
)]
pub(crate) async fn logout(
    request: HttpRequest,
    identity: web::Data<Identity>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let command = SessionCommand::Revoke {
        reason: RevokeReason::Logout,
        at: identity.now(),
    };
    let actor = actor(&principal.subject, principal.role);
    match identity
        .sessions
        .execute(
            &principal.session,
            command,
            &metadata(&request, actor, channel_of(&principal)),
        )
        .await
    {
        Ok(_) | Err(AggregateError::UserError(SessionError::NotFound)) => {
            Ok(HttpResponse::NoContent().finish())
        }
        Err(other) => Err(store_failure(other)),
    }
}

/// Changes the caller's password.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "identity",
    security(("bearer" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "`unauthorized`"),
        (status = 422, description = "`wrong_password` or `invalid_password`"),
    )
)]
pub(crate) async fn change_password(
    request: HttpRequest,
    identity: web::Data<Identity>,
    principal: Principal,
    body: web::Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.into_inner();
    if let Err(reason) = crate::check_password(&new_password) {
        return Err(ApiError::unprocessable(
            "invalid_password",
            format!("the new password {reason}"),
            serde_json::json!({ "fields": { "new_password": reason } }),
        ));
    }
    let context = identity
        .store
        .load::<domain::account::Account>(&principal.subject)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let hash = match context.state().credential() {
        Some(credential) => passwords::stored(identity.store.pool(), credential)
            .await
            .map_err(|e| ApiError::internal(&e))?,
        None => None,
    };
    let Some(hash) = hash else {
        return Err(ApiError::forbidden("this account has no password"));
    };
    let matched = passwords::verify(current_password, hash).await;
    let credential = if matched {
        passwords::store(
            identity.store.pool(),
            &principal.subject,
            passwords::hash(new_password).await,
        )
        .await
        .map_err(|e| ApiError::internal(&e))?
    } else {
        // Refused below; nothing is stored for a wrong current password.
        uuid::Uuid::nil()
    };
    let command = AccountCommand::ChangePassword {
        old_password_matched: matched,
        credential,
        at: identity.now(),
    };
    let actor = actor(&principal.subject, principal.role);
    match identity
        .accounts
        .execute(
            &principal.subject,
            command,
            &metadata(&request, actor, Channel::Console),
        )
        .await
    {
        Ok(_) => {
            passwords::forget_others(identity.store.pool(), &principal.subject, credential)
                .await
                .map_err(|e| ApiError::internal(&e))?;
            Ok(HttpResponse::NoContent().finish())
        }
        Err(AggregateError::UserError(AccountError::WrongPassword)) => {
            Err(ApiError::unprocessable(
                "wrong_password",
                "the current password is wrong",
                serde_json::json!({ "fields": { "current_password": "does not match" } }),
            ))
        }
        Err(other) => Err(store_failure(other)),
    }
}

fn channel_of(principal: &Principal) -> Channel {
    if principal.role == platform::auth::Role::Resident {
        Channel::App
    } else {
        Channel::Console
    }
}
