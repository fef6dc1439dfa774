//! SLA clocks. A clock runs from one event to another against a deadline; pauses move the
//! deadline by their length; it breaches at most once per run. A ticket keeps every run of
//! every clock, so its history can be shown and audited.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The clocks of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// Complaint filed → ticket closed; never paused, not reset by returns or reopening.
    Resident,
    /// Dispatched → signed.
    Sign,
    /// Signed → crew on site or first measurement.
    OnSite,
    /// Signed → resolved.
    Restore,
    /// Signed → resolved in working days (hotline complaints).
    HotlineFinish,
    /// Resolved → callback done.
    Callback,
}

impl ClockKind {
    /// Every clock.
    pub const ALL: [ClockKind; 6] = [
        ClockKind::Resident,
        ClockKind::Sign,
        ClockKind::OnSite,
        ClockKind::Restore,
        ClockKind::HotlineFinish,
        ClockKind::Callback,
    ];

    /// The stable name (`on_site`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Resident => "resident",
            ClockKind::Sign => "sign",
            ClockKind::OnSite => "on_site",
            ClockKind::Restore => "restore",
            ClockKind::HotlineFinish => "hotline_finish",
            ClockKind::Callback => "callback",
        }
    }

    /// The clock with this name.
    pub fn parse(name: &str) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether a pause of the work stops this clock for its length.
    pub fn pausable(self) -> bool {
        matches!(
            self,
            ClockKind::OnSite | ClockKind::Restore | ClockKind::HotlineFinish
        )
    }
}

/// A clock to start: its deadline (none for a clock that is only reported) and its target in
/// words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// Which clock.
    pub kind: ClockKind,
    /// When it breaches, if ever.
    pub deadline: Option<DateTime<Utc>>,
    /// The target, in words ("30 min", "5 working days").
    pub target: String,
}

/// One run of a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockRun {
    /// Which clock.
    pub kind: ClockKind,
    /// The ticket's cycle (1, then 2 after a reopen, ...).
    pub cycle: u32,
    /// The target, in words.
    pub target: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it breaches, moved by pauses and an extension; none for a reported-only clock.
    pub deadline: Option<DateTime<Utc>>,
    /// Since when it is paused.
    pub paused_since: Option<DateTime<Utc>>,
    /// Milliseconds spent paused before the current pause.
    pub paused_ms: i64,
    /// When it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// When its breach was recorded.
    pub breached_at: Option<DateTime<Utc>>,
}

impl ClockRun {
    /// A run starting at `at`.
    pub fn start(start: &Start, cycle: u32, at: DateTime<Utc>) -> Self {
        ClockRun {
            kind: start.kind,
            cycle,
            target: start.target.clone(),
            started_at: at,
            deadline: start.deadline,
            paused_since: None,
            paused_ms: 0,
            stopped_at: None,
            breached_at: None,
        }
    }

    /// Still counting (possibly paused).
    pub fn is_running(&self) -> bool {
        self.stopped_at.is_none()
    }

    /// The deadline that can pass now: running, not paused, not breached yet.
    pub fn pending_deadline(&self) -> Option<DateTime<Utc>> {
        (self.is_running() && self.paused_since.is_none() && self.breached_at.is_none())
            .then_some(self.deadline)
            .flatten()
    }

    /// Time counted so far at `now`, pauses excluded.
    pub fn used(&self, now: DateTime<Utc>) -> Duration {
        let end = self.stopped_at.or(self.paused_since).unwrap_or(now);
        end.signed_duration_since(self.started_at) - Duration::milliseconds(self.paused_ms)
    }

    /// Time left before the deadline at `now` (negative once late); frozen while paused.
    pub fn left(&self, now: DateTime<Utc>) -> Option<Duration> {
        let deadline = self.deadline?;
        let at = self.stopped_at.or(self.paused_since).unwrap_or(now);
        Some(deadline.signed_duration_since(at))
    }

    /// Whether it ran (or is running) past its deadline.
    pub fn late(&self, now: DateTime<Utc>) -> bool {
        self.breached_at.is_some() || self.left(now).is_some_and(|left| left < Duration::zero())
    }

    pub(crate) fn pause(&mut self, at: DateTime<Utc>) {
        if self.is_running() && self.kind.pausable() && self.paused_since.is_none() {
            self.paused_since = Some(at);
        }
    }

    pub(crate) fn resume(&mut self, at: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            let paused = at.signed_duration_since(since).max(Duration::zero());
            self.paused_ms += paused.num_milliseconds();
            self.deadline = self.deadline.map(|d| d + paused);
        }
    }

    pub(crate) fn stop(&mut self, at: DateTime<Utc>) {
        if self.is_running() {
            self.resume(at);
            self.stopped_at = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_pause_moves_the_deadline_by_its_length_and_freezes_the_time_left() {
        let start = Start {
            kind: ClockKind::Restore,
            deadline: Some(at(480)),
            target: "8 h".into(),
        };
        let mut run = ClockRun::start(&start, 1, at(0));
        run.pause(at(60));
        assert_eq!(run.pending_deadline(), None);
        assert_eq!(run.left(at(300)), Some(Duration::minutes(420)));
        run.resume(at(150));
        assert_eq!(run.deadline, Some(at(570)));
        assert_eq!(run.used(at(200)), Duration::minutes(110));
        run.stop(at(600));
        assert!(run.late(at(600)));
        assert_eq!(run.pending_deadline(), None);
    }

    #[test]
    fn the_sign_clock_does_not_pause() {
        let start = Start {
            kind: ClockKind::Sign,
            deadline: Some(at(30)),
            target: "30 min".into(),
        };
        let mut run = ClockRun::start(&start, 1, at(0));
        run.pause(at(10));
        assert_eq!(run.pending_deadline(), Some(at(30)));
    }
}
