//! The time, injected: domain rules take `now` from a [`Clock`], so tests move time forward
//! instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, and replaying a scenario).
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn at(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock") += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().expect("clock lock") = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }
}

/// The system's clock set back by an amount that can be changed while it runs: a scenario
/// played as if it happened hours ago, then brought up to now so that what fell due since
/// falls due.
#[derive(Debug, Clone)]
pub struct ShiftedClock {
    behind: Arc<Mutex<Duration>>,
}

impl ShiftedClock {
    /// The system's clock, `behind` in the past.
    pub fn behind(behind: Duration) -> Self {
        ShiftedClock {
            behind: Arc::new(Mutex::new(behind)),
        }
    }

    /// Sets how far behind the system's clock it runs.
    pub fn set_behind(&self, behind: Duration) {
        *self.behind.lock().expect("clock lock") = behind;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() - *self.behind.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = DateTime::parse_from_rfc3339("2026-11-15T06:00:00Z")
            .unwrap()
            .to_utc();
        let clock = ManualClock::at(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::minutes(31));
        assert_eq!(clock.now(), start + Duration::minutes(31));
    }

    #[test]
    fn a_shifted_clock_runs_behind_until_brought_up_to_now() {
        let clock = ShiftedClock::behind(Duration::hours(4));
        let shifted = clock.now();
        let lag = Utc::now() - shifted;
        assert!(lag >= Duration::hours(4) && lag < Duration::hours(4) + Duration::seconds(5));
        clock.clone().set_behind(Duration::zero());
        assert!((Utc::now() - clock.now()).abs() < Duration::seconds(5));
    }
}
