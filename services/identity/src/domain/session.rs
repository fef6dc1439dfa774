//! The session aggregate: what one login grants, and the refresh tokens that extend it.
//!
//! A refresh token is used once: each use rotates it. A token that was already used coming back
//! means it was copied, so the whole session is revoked and both holders must log in again.

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::{IntegrationEvent, Publish};
use platform::auth::Role;
use serde::{Deserialize, Serialize};

use super::account::Scope;

/// How long a session lasts without a new login.
pub const SESSION_LIFETIME: Duration = Duration::days(30);

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The user logged out.
    Logout,
    /// A refresh token was used twice.
    RefreshTokenReused,
}

/// What presenting a refresh token comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The current token: rotate it.
    Rotate,
    /// An earlier token: revoke the session.
    Reuse,
    /// Unknown, expired, or the session has ended.
    Refuse,
}

/// A session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    account_id: Option<String>,
    role: Option<Role>,
    scope: Scope,
    current_hash: Option<String>,
    used_hashes: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
}

impl Session {
    /// The account the session belongs to.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// The role granted.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The scope granted.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether the session can still be used at `at`.
    pub fn is_live(&self, at: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at.is_some_and(|expires| at < expires)
    }

    /// What presenting a refresh token with hash `presented` at `at` comes to.
    pub fn refresh_outcome(&self, presented: &str, at: DateTime<Utc>) -> RefreshOutcome {
        if !self.is_live(at) {
            RefreshOutcome::Refuse
        } else if self.current_hash.as_deref() == Some(presented) {
            RefreshOutcome::Rotate
        } else if self.used_hashes.iter().any(|used| used == presented) {
            RefreshOutcome::Reuse
        } else {
            RefreshOutcome::Refuse
        }
    }
}

/// What a session can be told.
#[derive(Debug, Clone)]
pub enum SessionCommand {
    /// Starts a session after a successful login.
    Start {
        /// The account.
        account_id: String,
        /// The role granted.
        role: Role,
        /// The scope granted.
        scope: Scope,
        /// The SHA-256 of the first refresh token.
        refresh_hash: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Presents a refresh token; rotates it, or revokes the session on reuse.
    Refresh {
        /// The SHA-256 of the presented token.
        presented_hash: String,
        /// The SHA-256 of the token that replaces it.
        new_hash: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Ends the session.
    Revoke {
        /// Why.
        reason: RevokeReason,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionEvent {
    /// A login started the session.
    SessionStarted {
        /// The account.
        account_id: String,
        /// The role granted.
        role: Role,
        /// The scope granted.
        scope: Scope,
        /// The SHA-256 of the first refresh token.
        refresh_hash: String,
        /// When.
        at: DateTime<Utc>,
        /// Until when.
        expires_at: DateTime<Utc>,
    },
    /// The refresh token was used and replaced.
    RefreshTokenRotated {
        /// The SHA-256 of the new token.
        refresh_hash: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An already-used refresh token came back.
    RefreshTokenReused {
        /// When.
        at: DateTime<Utc>,
    },
    /// The session ended.
    SessionRevoked {
        /// Why.
        reason: RevokeReason,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for SessionEvent {
    fn event_type(&self) -> String {
        match self {
            SessionEvent::SessionStarted { .. } => "SessionStarted",
            SessionEvent::RefreshTokenRotated { .. } => "RefreshTokenRotated",
            SessionEvent::RefreshTokenReused { .. } => "RefreshTokenReused",
            SessionEvent::SessionRevoked { .. } => "SessionRevoked",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command the session refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Starting a session twice.
    #[error("the session already exists")]
    AlreadyStarted,
    /// The token is unknown, expired, or the session has ended.
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    /// Revoking a session that never started.
    #[error("no such session")]
    NotFound,
}

impl Aggregate for Session {
    const TYPE: &'static str = "session";
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: SessionCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), SessionError> {
        match command {
            SessionCommand::Start {
                account_id,
                role,
                scope,
                refresh_hash,
                at,
            } => {
                if self.account_id.is_some() {
                    return Err(SessionError::AlreadyStarted);
                }
                let event = SessionEvent::SessionStarted {
                    account_id,
                    role,
                    scope,
                    refresh_hash,
                    at,
                    expires_at: at + SESSION_LIFETIME,
                };
                sink.write(event, self).await;
            }
            SessionCommand::Refresh {
                presented_hash,
                new_hash,
                at,
            } => match self.refresh_outcome(&presented_hash, at) {
                RefreshOutcome::Rotate => {
                    let event = SessionEvent::RefreshTokenRotated {
                        refresh_hash: new_hash,
                        at,
                    };
                    sink.write(event, self).await;
                }
                RefreshOutcome::Reuse => {
                    sink.write(SessionEvent::RefreshTokenReused { at }, self)
                        .await;
                    let reason = RevokeReason::RefreshTokenReused;
                    sink.write(SessionEvent::SessionRevoked { reason, at }, self)
                        .await;
                }
                RefreshOutcome::Refuse => return Err(SessionError::InvalidRefreshToken),
            },
            SessionCommand::Revoke { reason, at } => {
                if self.account_id.is_none() {
                    return Err(SessionError::NotFound);
                }
                if !self.revoked {
                    sink.write(SessionEvent::SessionRevoked { reason, at }, self)
                        .await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::SessionStarted {
                account_id,
                role,
                scope,
                refresh_hash,
                expires_at,
                ..
            } => {
                self.account_id = Some(account_id);
                self.role = Some(role);
                self.scope = scope;
                self.current_hash = Some(refresh_hash);
                self.expires_at = Some(expires_at);
            }
            SessionEvent::RefreshTokenRotated { refresh_hash, .. } => {
                if let Some(used) = self.current_hash.replace(refresh_hash) {
                    self.used_hashes.push(used);
                }
            }
            SessionEvent::RefreshTokenReused { .. } => {}
            SessionEvent::SessionRevoked { .. } => self.revoked = true,
        }
    }
}

impl Publish for Session {
    fn publish(&self, _aggregate_id: &str, _event: &SessionEvent) -> Vec<IntegrationEvent> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
            .unwrap()
            .to_utc()
            + Duration::minutes(minutes)
    }

    fn started() -> SessionEvent {
        SessionEvent::SessionStarted {
            account_id: "a".into(),
            role: Role::Resident,
            scope: Scope::default(),
            refresh_hash: "h1".into(),
            at: t(0),
            expires_at: t(0) + SESSION_LIFETIME,
        }
    }

    fn refresh(presented: &str, new: &str, minute: i64) -> SessionCommand {
        SessionCommand::Refresh {
            presented_hash: presented.into(),
            new_hash: new.into(),
            at: t(minute),
        }
    }

    #[test]
    fn the_current_refresh_token_rotates() {
        TestFramework::<Session>::with(())
            .given(vec![started()])
            .when(refresh("h1", "h2", 10))
            .then_expect_events(vec![SessionEvent::RefreshTokenRotated {
                refresh_hash: "h2".into(),
                at: t(10),
            }]);
    }

    #[test]
    fn a_used_refresh_token_coming_back_revokes_the_whole_session() {
        TestFramework::<Session>::with(())
            .given(vec![
                started(),
                SessionEvent::RefreshTokenRotated {
                    refresh_hash: "h2".into(),
                    at: t(10),
                },
            ])
            .when(refresh("h1", "h3", 11))
            .then_expect_events(vec![
                SessionEvent::RefreshTokenReused { at: t(11) },
                SessionEvent::SessionRevoked {
                    reason: RevokeReason::RefreshTokenReused,
                    at: t(11),
                },
            ]);
    }

    #[test]
    fn an_unknown_or_expired_token_is_refused() {
        TestFramework::<Session>::with(())
            .given(vec![started()])
            .when(refresh("forged", "h2", 10))
            .then_expect_error(SessionError::InvalidRefreshToken);
        TestFramework::<Session>::with(())
            .given(vec![started()])
            .when(refresh("h1", "h2", SESSION_LIFETIME.num_minutes()))
            .then_expect_error(SessionError::InvalidRefreshToken);
    }
}
