//! The phone aggregate, one per phone number: SMS login codes (rate, expiry, tries) and the
//! account the number is linked to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use eventstore::{IntegrationEvent, Publish};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a code is valid.
pub const CODE_LIFETIME: Duration = Duration::minutes(5);
/// The least time between two codes for one number.
pub const RESEND_AFTER: Duration = Duration::minutes(1);
/// Wrong tries after which a code is dead.
pub const MAX_TRIES: u32 = 5;

/// What presenting a code comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The right code, in time, within the tries.
    Accepted,
    /// A wrong code for a live one.
    Wrong,
    /// No live code: none sent, expired, used, or out of tries.
    NoLiveCode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingCode {
    salt: String,
    hash: String,
    expires_at: DateTime<Utc>,
    wrong_tries: u32,
}

/// A phone number's login codes and link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    linked_account: Option<String>,
    pending: Option<PendingCode>,
    last_sent_at: Option<DateTime<Utc>>,
}

fn code_hash(salt: &str, code: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{salt}:{code}").as_bytes()))
}

impl Phone {
    /// The account this number belongs to, once linked.
    pub fn linked_account(&self) -> Option<&str> {
        self.linked_account.as_deref()
    }

    /// Seconds to wait before another code may be sent at `at` (0: now).
    pub fn resend_wait(&self, at: DateTime<Utc>) -> i64 {
        self.last_sent_at
            .map_or(0, |sent| (sent + RESEND_AFTER - at).num_seconds().max(0))
    }

    /// What presenting `code` at `at` comes to.
    pub fn code_outcome(&self, code: &str, at: DateTime<Utc>) -> CodeOutcome {
        match &self.pending {
            Some(p) if at < p.expires_at && p.wrong_tries < MAX_TRIES => {
                if code_hash(&p.salt, code) == p.hash {
                    CodeOutcome::Accepted
                } else {
                    CodeOutcome::Wrong
                }
            }
            _ => CodeOutcome::NoLiveCode,
        }
    }
}

/// What a phone can be told.
#[derive(Debug, Clone)]
pub enum PhoneCommand {
    /// Records a new code about to be sent.
    IssueCode {
        /// The six digits.
        code: String,
        /// A random salt for the stored hash.
        salt: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The gateway did not take the code: forget it, and allow a new one at once.
    DeliveryFailed {
        /// When.
        at: DateTime<Utc>,
    },
    /// Presents a code at login.
    TryCode {
        /// The digits typed.
        code: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Links the number to an account (a WeChat user who shared their number).
    Link {
        /// The account.
        account_id: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to a phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PhoneEvent {
    /// A code was issued (only its salted hash is kept).
    CodeIssued {
        /// The salt.
        salt: String,
        /// SHA-256 of salt and code.
        hash: String,
        /// When.
        at: DateTime<Utc>,
        /// Until when it is valid.
        expires_at: DateTime<Utc>,
    },
    /// The gateway refused the code.
    CodeDeliveryFailed {
        /// When.
        at: DateTime<Utc>,
    },
    /// A wrong code was typed.
    CodeRejected {
        /// When.
        at: DateTime<Utc>,
    },
    /// The right code was typed; it is used up.
    CodeAccepted {
        /// When.
        at: DateTime<Utc>,
    },
    /// The number was linked to an account.
    Linked {
        /// The account.
        account_id: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for PhoneEvent {
    fn event_type(&self) -> String {
        match self {
            PhoneEvent::CodeIssued { .. } => "CodeIssued",
            PhoneEvent::CodeDeliveryFailed { .. } => "CodeDeliveryFailed",
            PhoneEvent::CodeRejected { .. } => "CodeRejected",
            PhoneEvent::CodeAccepted { .. } => "CodeAccepted",
            PhoneEvent::Linked { .. } => "Linked",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// A command the phone refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// A code was sent less than a minute ago.
    #[error("a code was sent less than a minute ago; wait {0} s")]
    TooSoon(i64),
    /// No live code to try.
    #[error("no code is waiting")]
    NoLiveCode,
}

impl Aggregate for Phone {
    const TYPE: &'static str = "phone";
    type Command = PhoneCommand;
    type Event = PhoneEvent;
    type Error = PhoneError;
    type Services = ();

    async fn handle(
        &mut self,
        command: PhoneCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), PhoneError> {
        match command {
            PhoneCommand::IssueCode { code, salt, at } => {
                let wait = self.resend_wait(at);
                if wait > 0 {
                    return Err(PhoneError::TooSoon(wait));
                }
                let hash = code_hash(&salt, &code);
                let expires_at = at + CODE_LIFETIME;
                sink.write(
                    PhoneEvent::CodeIssued {
                        salt,
                        hash,
                        at,
                        expires_at,
                    },
                    self,
                )
                .await;
            }
            PhoneCommand::DeliveryFailed { at } => {
                sink.write(PhoneEvent::CodeDeliveryFailed { at }, self)
                    .await;
            }
            PhoneCommand::TryCode { code, at } => match self.code_outcome(&code, at) {
                CodeOutcome::Accepted => sink.write(PhoneEvent::CodeAccepted { at }, self).await,
                CodeOutcome::Wrong => sink.write(PhoneEvent::CodeRejected { at }, self).await,
                CodeOutcome::NoLiveCode => return Err(PhoneError::NoLiveCode),
            },
            PhoneCommand::Link { account_id, at } => {
                if self.linked_account.as_deref() != Some(account_id.as_str()) {
                    sink.write(PhoneEvent::Linked { account_id, at }, self)
                        .await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: PhoneEvent) {
        match event {
            PhoneEvent::CodeIssued {
                salt,
                hash,
                at,
                expires_at,
            } => {
                self.pending = Some(PendingCode {
                    salt,
                    hash,
                    expires_at,
                    wrong_tries: 0,
                });
                self.last_sent_at = Some(at);
            }
            PhoneEvent::CodeDeliveryFailed { .. } => {
                self.pending = None;
                self.last_sent_at = None;
            }
            PhoneEvent::CodeRejected { .. } => {
                if let Some(pending) = &mut self.pending {
                    pending.wrong_tries += 1;
                }
            }
            PhoneEvent::CodeAccepted { .. } => self.pending = None,
            PhoneEvent::Linked { account_id, .. } => self.linked_account = Some(account_id),
        }
    }
}

impl Publish for Phone {
    fn publish(&self, _aggregate_id: &str, _event: &PhoneEvent) -> Vec<IntegrationEvent> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
            .unwrap()
            .to_utc()
            + Duration::seconds(seconds)
    }

    fn issued() -> Phone {
        let mut phone = Phone::default();
        phone.apply(PhoneEvent::CodeIssued {
            salt: "s".into(),
            hash: code_hash("s", "123456"),
            at: t(0),
            expires_at: t(0) + CODE_LIFETIME,
        });
        phone
    }

    #[test]
    fn a_code_works_within_five_minutes_only() {
        let phone = issued();
        assert_eq!(phone.code_outcome("123456", t(299)), CodeOutcome::Accepted);
        assert_eq!(
            phone.code_outcome("123456", t(300)),
            CodeOutcome::NoLiveCode
        );
        assert_eq!(phone.code_outcome("654321", t(10)), CodeOutcome::Wrong);
    }

    #[test]
    fn five_wrong_tries_kill_the_code() {
        let mut phone = issued();
        for second in 1..=5 {
            phone.apply(PhoneEvent::CodeRejected { at: t(second) });
        }
        assert_eq!(phone.code_outcome("123456", t(6)), CodeOutcome::NoLiveCode);
    }

    #[test]
    fn one_code_a_minute() {
        let phone = issued();
        assert_eq!(phone.resend_wait(t(20)), 40);
        assert_eq!(phone.resend_wait(t(60)), 0);
    }
}
