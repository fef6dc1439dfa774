//! The account aggregate: staff accounts with passwords, resident accounts from WeChat or SMS,
//! and the audited history of logins, failures and lockouts.

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::personal::Personal;
use eventstore::{IntegrationEvent, Publish};
use platform::auth::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Failed logins counted towards a lockout are those of this window.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// This many failures within the window lock the account.
pub const FAILURES_BEFORE_LOCKOUT: usize = 5;
/// How long a lockout lasts.
pub const LOCKOUT: Duration = Duration::minutes(15);

/// What an account is limited to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// A district.
    pub district: Option<String>,
    /// A supplier.
    pub supplier: Option<String>,
    /// A crew.
    pub crew: Option<String>,
}

/// How a resident account was first reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidentVia {
    /// A WeChat mini-program login.
    Wechat {
        /// The user's openid for the mini-program (personal data, sealed with the account's
        /// data key).
        openid: Personal<String>,
    },
    /// An SMS one-time code.
    Phone {
        /// The phone number (personal data, sealed with the account's data key).
        phone: Personal<String>,
    },
}

/// Why a login attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The password did not match.
    WrongPassword,
    /// The account was locked after earlier failures.
    Locked,
}

/// What a login attempt comes to, decided from the account's state alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Let in.
    Accepted,
    /// Refused.
    Refused(FailureReason),
}

/// An account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    exists: bool,
    username: Option<String>,
    role: Option<Role>,
    scope: Scope,
    credential: Option<Uuid>,
    recent_failures: Vec<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

impl Account {
    /// Whether the account exists.
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// Its role (none before it exists).
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// Its scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The credential holding its password's hash (staff only), in `identity.credential`.
    pub fn credential(&self) -> Option<Uuid> {
        self.credential
    }

    /// What a login at `at` comes to, given whether the password matched.
    pub fn login_outcome(&self, password_matched: bool, at: DateTime<Utc>) -> LoginOutcome {
        if self.locked_until.is_some_and(|until| at < until) {
            LoginOutcome::Refused(FailureReason::Locked)
        } else if password_matched {
            LoginOutcome::Accepted
        } else {
            LoginOutcome::Refused(FailureReason::WrongPassword)
        }
    }

    /// A password action needs an existing account that has a password.
    fn require_password(&self) -> Result<(), AccountError> {
        if !self.exists {
            Err(AccountError::NotFound)
        } else if self.credential.is_none() {
            Err(AccountError::NoPassword)
        } else {
            Ok(())
        }
    }

    fn failures_in_window(&self, at: DateTime<Utc>) -> usize {
        self.recent_failures
            .iter()
            .filter(|failed| at - **failed < FAILURE_WINDOW)
            .count()
    }
}

/// What an account can be told.
#[derive(Debug, Clone)]
pub enum AccountCommand {
    /// Creates a staff account (by an admin, or the first admin from the command line).
    CreateStaff {
        /// The login name.
        username: String,
        /// The role.
        role: Role,
        /// The scope.
        scope: Scope,
        /// The stored credential of the initial password.
        credential: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
    /// Creates a resident account at first login.
    RegisterResident {
        /// How the resident was reached.
        via: ResidentVia,
        /// When.
        at: DateTime<Utc>,
    },
    /// Records a password login attempt; the handler checked the password beforehand.
    RecordPasswordLogin {
        /// Whether the password matched the stored hash.
        password_matched: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Records a resident's login through WeChat or SMS.
    RecordResidentLogin {
        /// When.
        at: DateTime<Utc>,
    },
    /// Records the phone number a resident shared through WeChat.
    BindPhone {
        /// The 11 digits, sealed with the account's data key.
        phone: Personal<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Replaces the password; the handler checked the old one beforehand.
    ChangePassword {
        /// Whether the old password matched.
        old_password_matched: bool,
        /// The stored credential of the new password.
        credential: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccountEvent {
    /// A staff account was created.
    StaffAccountCreated {
        /// The login name.
        username: String,
        /// The role.
        role: Role,
        /// The scope.
        scope: Scope,
        /// The credential (in identity's own table, never in the log) holding the password's
        /// hash.
        credential: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
    /// A resident account was created at first login.
    ResidentRegistered {
        /// How.
        via: ResidentVia,
        /// When.
        at: DateTime<Utc>,
    },
    /// A login succeeded.
    LoginSucceeded {
        /// When.
        at: DateTime<Utc>,
    },
    /// A login failed.
    LoginFailed {
        /// Why.
        reason: FailureReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Too many failures: logins are refused until `until`.
    LockedOut {
        /// When.
        at: DateTime<Utc>,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// A resident's phone number was bound.
    PhoneBound {
        /// The 11 digits, sealed with the account's data key.
        phone: Personal<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The password was changed.
    PasswordChanged {
        /// The credential holding the new password's hash.
        credential: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> String {
        match self {
            AccountEvent::StaffAccountCreated { .. } => "StaffAccountCreated",
            AccountEvent::ResidentRegistered { .. } => "ResidentRegistered",
            AccountEvent::LoginSucceeded { .. } => "LoginSucceeded",
            AccountEvent::LoginFailed { .. } => "LoginFailed",
            AccountEvent::LockedOut { .. } => "LockedOut",
            AccountEvent::PhoneBound { .. } => "PhoneBound",
            AccountEvent::PasswordChanged { .. } => "PasswordChanged",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command the account refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// Creating an account that exists.
    #[error("the account already exists")]
    AlreadyExists,
    /// Acting on an account that does not exist.
    #[error("no such account")]
    NotFound,
    /// A password action on an account without a password.
    #[error("the account has no password")]
    NoPassword,
    /// The old password did not match.
    #[error("the current password is wrong")]
    WrongPassword,
}

impl Aggregate for Account {
    const TYPE: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;
    type Services = ();

    async fn handle(
        &mut self,
        command: AccountCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        match command {
            AccountCommand::CreateStaff {
                username,
                role,
                scope,
                credential,
                at,
            } => {
                if self.exists {
                    return Err(AccountError::AlreadyExists);
                }
                let event = AccountEvent::StaffAccountCreated {
                    username,
                    role,
                    scope,
                    credential,
                    at,
                };
                sink.write(event, self).await;
            }
            AccountCommand::RegisterResident { via, at } => {
                if self.exists {
                    return Err(AccountError::AlreadyExists);
                }
                sink.write(AccountEvent::ResidentRegistered { via, at }, self)
                    .await;
            }
            AccountCommand::RecordPasswordLogin {
                password_matched,
                at,
            } => {
                self.require_password()?;
                match self.login_outcome(password_matched, at) {
                    LoginOutcome::Accepted => {
                        sink.write(AccountEvent::LoginSucceeded { at }, self).await
                    }
                    LoginOutcome::Refused(reason) => {
                        let failures = self.failures_in_window(at) + 1;
                        sink.write(AccountEvent::LoginFailed { reason, at }, self)
                            .await;
                        if reason == FailureReason::WrongPassword
                            && failures >= FAILURES_BEFORE_LOCKOUT
                        {
                            let until = at + LOCKOUT;
                            sink.write(AccountEvent::LockedOut { at, until }, self)
                                .await;
                        }
                    }
                }
            }
            AccountCommand::RecordResidentLogin { at } => {
                if !self.exists {
                    return Err(AccountError::NotFound);
                }
                sink.write(AccountEvent::LoginSucceeded { at }, self).await;
            }
            AccountCommand::BindPhone { phone, at } => {
                if !self.exists {
                    return Err(AccountError::NotFound);
                }
                // Recorded each time it is shared: sealed, two bindings of one number cannot be
                // told apart here.
                sink.write(AccountEvent::PhoneBound { phone, at }, self)
                    .await;
            }
            AccountCommand::ChangePassword {
                old_password_matched,
                credential,
                at,
            } => {
                self.require_password()?;
                if !old_password_matched {
                    return Err(AccountError::WrongPassword);
                }
                sink.write(AccountEvent::PasswordChanged { credential, at }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::StaffAccountCreated {
                username,
                role,
                scope,
                credential,
                ..
            } => {
                self.exists = true;
                self.username = Some(username);
                self.role = Some(role);
                self.scope = scope;
                self.credential = Some(credential);
            }
            AccountEvent::ResidentRegistered { .. } => {
                self.exists = true;
                self.role = Some(Role::Resident);
            }
            AccountEvent::LoginSucceeded { .. } => {
                self.recent_failures.clear();
                self.locked_until = None;
            }
            AccountEvent::LoginFailed { reason, at } => {
                if reason == FailureReason::WrongPassword {
                    self.recent_failures
                        .retain(|failed| at - *failed < FAILURE_WINDOW);
                    self.recent_failures.push(at);
                }
            }
            AccountEvent::LockedOut { until, .. } => {
                self.recent_failures.clear();
                self.locked_until = Some(until);
            }
            AccountEvent::PhoneBound { .. } => {}
            AccountEvent::PasswordChanged { credential, .. } => {
                self.credential = Some(credential);
            }
        }
    }
}

impl Publish for Account {
    fn publish(&self, _aggregate_id: &str, _event: &AccountEvent) -> Vec<IntegrationEvent> {
        // Accounts are identity's own business: other services learn who acts from tokens.
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

    fn created() -> AccountEvent {
        AccountEvent::StaffAccountCreated {
            username: "wang.dispatch".into(),
            role: Role::Dispatcher,
            scope: Scope::default(),
            credential: Uuid::from_u128(1),
            at: t(0),
        }
    }

    fn failed(minute: i64) -> AccountEvent {
        AccountEvent::LoginFailed {
            reason: FailureReason::WrongPassword,
            at: t(minute),
        }
    }

    #[test]
    fn the_fifth_failure_within_fifteen_minutes_locks_the_account() {
        TestFramework::<Account>::with(())
            .given(vec![created(), failed(1), failed(2), failed(3), failed(4)])
            .when(AccountCommand::RecordPasswordLogin {
                password_matched: false,
                at: t(5),
            })
            .then_expect_events(vec![
                failed(5),
                AccountEvent::LockedOut {
                    at: t(5),
                    until: t(20),
                },
            ]);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        TestFramework::<Account>::with(())
            .given(vec![created(), failed(0), failed(1), failed(2), failed(3)])
            .when(AccountCommand::RecordPasswordLogin {
                password_matched: false,
                at: t(16),
            })
            .then_expect_events(vec![failed(16)]);
    }

    #[test]
    fn the_right_password_is_refused_while_locked_and_accepted_after() {
        let locked = vec![
            created(),
            AccountEvent::LockedOut {
                at: t(5),
                until: t(20),
            },
        ];
        TestFramework::<Account>::with(())
            .given(locked.clone())
            .when(AccountCommand::RecordPasswordLogin {
                password_matched: true,
                at: t(19),
            })
            .then_expect_events(vec![AccountEvent::LoginFailed {
                reason: FailureReason::Locked,
                at: t(19),
            }]);
        TestFramework::<Account>::with(())
            .given(locked)
            .when(AccountCommand::RecordPasswordLogin {
                password_matched: true,
                at: t(20),
            })
            .then_expect_events(vec![AccountEvent::LoginSucceeded { at: t(20) }]);
    }

    #[test]
    fn a_username_cannot_be_created_twice() {
        TestFramework::<Account>::with(())
            .given(vec![created()])
            .when(AccountCommand::CreateStaff {
                username: "wang.dispatch".into(),
                role: Role::Admin,
                scope: Scope::default(),
                credential: Uuid::from_u128(2),
                at: t(1),
            })
            .then_expect_error(AccountError::AlreadyExists);
    }

    #[test]
    fn a_password_change_needs_the_old_password() {
        TestFramework::<Account>::with(())
            .given(vec![created()])
            .when(AccountCommand::ChangePassword {
                old_password_matched: false,
                credential: Uuid::from_u128(3),
                at: t(1),
            })
            .then_expect_error(AccountError::WrongPassword);
    }
}
