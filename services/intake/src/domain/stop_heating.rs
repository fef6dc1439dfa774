//! `StopHeatingApplication`: a resident's online application to stop heating their home for a
//! season (停暖申请), or to have it heated again (恢复供暖). Intake checks and keys it; the
//! supplier's reply and the crew's valve work happen in dispatch.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::domain::values::{Route, Source};

/// What an application asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Stop heating for the season.
    Stop,
    /// Heat the home again from the season on.
    Restore,
}

impl Kind {
    /// Its code in the API.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Stop => "stop",
            Kind::Restore => "restore",
        }
    }

    /// Reads a code.
    pub fn parse(code: &str) -> Option<Kind> {
        [Kind::Stop, Kind::Restore]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// Why a household stops: codes only, so an application carries no personal data.
pub const REASONS: &[&str] = &["vacant", "away", "own_heating", "other"];

/// An application as filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// Stop or restore.
    pub kind: Kind,
    /// The season, `2027-2028`.
    pub season: String,
    /// The household key.
    pub household: String,
    /// Its building, station, district and supplier.
    pub route: Route,
    /// One of [`REASONS`].
    pub reason: String,
    /// The resident's account.
    pub filed_by: String,
    /// App or mini-program.
    pub source: Source,
    /// When applications for the season close.
    pub deadline: DateTime<Utc>,
    /// When it was filed.
    pub at: DateTime<Utc>,
}

/// The application's one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StopHeatingEvent {
    /// The resident applied.
    Applied {
        /// What they applied for.
        application: Application,
    },
}

impl DomainEvent for StopHeatingEvent {
    fn event_type(&self) -> String {
        match self {
            StopHeatingEvent::Applied { .. } => "StopHeatingApplied".into(),
        }
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// What an application can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum StopHeatingCommand {
    /// File it.
    Apply {
        /// What it says.
        application: Application,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopHeatingError {
    /// The application exists already (a retry with the same idempotency key).
    #[error("this application was filed already")]
    AlreadyApplied,
    /// It came after the season's deadline.
    #[error("applications for season {season} closed at {deadline}")]
    PastDeadline {
        /// The season.
        season: String,
        /// When they closed.
        deadline: DateTime<Utc>,
    },
}

/// The application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StopHeatingApplication {
    /// What was filed, once it was.
    pub application: Option<Application>,
}

impl StopHeatingApplication {
    /// Decides a command.
    pub fn decide(
        &self,
        command: StopHeatingCommand,
    ) -> Result<Vec<StopHeatingEvent>, StopHeatingError> {
        match command {
            StopHeatingCommand::Apply { application } => {
                if self.application.is_some() {
                    return Err(StopHeatingError::AlreadyApplied);
                }
                if application.at >= application.deadline {
                    return Err(StopHeatingError::PastDeadline {
                        season: application.season,
                        deadline: application.deadline,
                    });
                }
                Ok(vec![StopHeatingEvent::Applied { application }])
            }
        }
    }
}

impl Aggregate for StopHeatingApplication {
    const TYPE: &'static str = "stop_heating_application";
    type Command = StopHeatingCommand;
    type Event = StopHeatingEvent;
    type Error = StopHeatingError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            StopHeatingEvent::Applied { application } => self.application = Some(application),
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn application(at: &str) -> Application {
        Application {
            kind: Kind::Stop,
            season: "2027-2028".into(),
            household: "hh-acct-1".into(),
            route: Route::default(),
            reason: "vacant".into(),
            filed_by: "resident-1".into(),
            source: Source::App,
            deadline: "2027-10-30T16:00:00Z".parse().unwrap(),
            at: at.parse().unwrap(),
        }
    }

    #[test]
    fn an_application_before_the_deadline_is_filed_once() {
        let filed = application("2027-10-30T15:59:59Z");
        TestFramework::<StopHeatingApplication>::with(())
            .given_no_previous_events()
            .when(StopHeatingCommand::Apply {
                application: filed.clone(),
            })
            .then_expect_events(vec![StopHeatingEvent::Applied {
                application: filed.clone(),
            }]);
        TestFramework::<StopHeatingApplication>::with(())
            .given(vec![StopHeatingEvent::Applied {
                application: filed.clone(),
            }])
            .when(StopHeatingCommand::Apply { application: filed })
            .then_expect_error(StopHeatingError::AlreadyApplied);
    }

    #[test]
    fn an_application_at_the_deadline_is_refused_naming_it() {
        TestFramework::<StopHeatingApplication>::with(())
            .given_no_previous_events()
            .when(StopHeatingCommand::Apply {
                application: application("2027-10-30T16:00:00Z"),
            })
            .then_expect_error(StopHeatingError::PastDeadline {
                season: "2027-2028".into(),
                deadline: "2027-10-30T16:00:00Z".parse().unwrap(),
            });
    }
}
