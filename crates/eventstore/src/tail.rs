//! The newest stretch of the public log, read once for every subscription of a process.
//!
//! Each subscription used to read the log for itself: with eight of them in one process, every
//! event was fetched (or at least passed over) eight times, and the log reads were a tenth of
//! PostgreSQL's work under load. The tail keeps the events its reads returned, in order, as
//! one unbroken stretch `(start, end]`: consecutive reads of the log below the horizon never
//! skip an event, so a subscription whose checkpoint lies in the stretch is handed exactly what
//! its own read would have returned. Only the subscription that reaches `end` reads the log,
//! and one at a time; the others are served from memory. A subscription behind the stretch
//! (catching up after a stop) reads for itself, as before.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use deadpool_postgres::ClientWrapper;

use crate::error::StoreError;
use crate::log::{PublishedEvent, Scanned, read_log_with};
use crate::position::LogPosition;

/// The most events the tail keeps; the oldest go first.
const KEPT: usize = 10_000;

/// The most events one read of the log fetches for the tail.
const FETCHED: i64 = 1_000;

#[derive(Debug, Default)]
pub(crate) struct Tail {
    stretch: Mutex<Stretch>,
    /// Held by the one read of the log in progress.
    fetching: tokio::sync::Mutex<()>,
}

/// Every event of the log after `start` up to `end`, in log order (none yet: `start == end`).
#[derive(Debug, Default)]
struct Stretch {
    start: Option<LogPosition>,
    end: LogPosition,
    events: VecDeque<Arc<PublishedEvent>>,
}

impl Stretch {
    /// The events after `after` (up to `limit`, of the types `wanted` names) when the stretch
    /// holds some; `None` when `after` is outside it or at its end.
    fn serve(
        &self,
        after: LogPosition,
        limit: usize,
        wanted: Option<&[String]>,
    ) -> Option<Scanned> {
        let start = self.start?;
        if after < start || after >= self.end {
            return None;
        }
        let first = self.events.partition_point(|e| e.position <= after);
        let passed = self.events.range(first..).take(limit);
        let mut scanned = Scanned {
            events: Vec::new(),
            last: None,
            count: 0,
        };
        for event in passed {
            scanned.count += 1;
            scanned.last = Some(event.position);
            if wanted.is_none_or(|types| types.contains(&event.message_type)) {
                scanned.events.push(PublishedEvent::clone(event));
            }
        }
        Some(scanned)
    }

    /// Adds what a read after `from` returned. A read that does not continue the stretch
    /// starts a new one there.
    fn extend(&mut self, from: LogPosition, read: Vec<PublishedEvent>) {
        if self.start.is_none() || from != self.end {
            self.start = Some(from);
            self.end = from;
            self.events.clear();
        }
        for event in read {
            self.end = event.position;
            self.events.push_back(Arc::new(event));
        }
        while self.events.len() > KEPT {
            if let Some(dropped) = self.events.pop_front() {
                self.start = Some(dropped.position);
            }
        }
    }
}

impl Tail {
    /// A subscription's read: up to `limit` events after `after`, of which those of the types
    /// `wanted` names (all when `None`) are returned whole, the same as
    /// [`read_log_with`] would return on `client`.
    pub(crate) async fn read(
        &self,
        client: &ClientWrapper,
        after: LogPosition,
        limit: i64,
        wanted: Option<&[String]>,
    ) -> Result<Scanned, StoreError> {
        let most = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        if let Some(scanned) = self.served(after, most, wanted) {
            return Ok(scanned);
        }
        if self.behind(after) {
            return read_log_with(client, after, limit, wanted, None).await;
        }
        let _reading = self.fetching.lock().await;
        // Another subscription's read may have brought the events meanwhile, or moved the
        // stretch past `after` (a read from there would start the stretch over behind others).
        if let Some(scanned) = self.served(after, most, wanted) {
            return Ok(scanned);
        }
        if self.behind(after) {
            return read_log_with(client, after, limit, wanted, None).await;
        }
        let read = read_log_with(client, after, FETCHED.max(limit), None, None).await?;
        let mut stretch = self.stretch.lock().expect("log tail");
        if !read.events.is_empty() {
            stretch.extend(after, read.events);
        }
        Ok(stretch.serve(after, most, wanted).unwrap_or(Scanned {
            events: Vec::new(),
            last: None,
            count: 0,
        }))
    }

    fn served(
        &self,
        after: LogPosition,
        limit: usize,
        wanted: Option<&[String]>,
    ) -> Option<Scanned> {
        self.stretch
            .lock()
            .expect("log tail")
            .serve(after, limit, wanted)
    }

    /// Whether `after` lies before the stretch: that subscription reads for itself.
    fn behind(&self, after: LogPosition) -> bool {
        let stretch = self.stretch.lock().expect("log tail");
        stretch.start.is_some_and(|start| after < start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{Actor, Channel, EventMetadata};

    fn event(tx_id: u64, global_position: i64, message_type: &str) -> PublishedEvent {
        PublishedEvent {
            position: LogPosition {
                tx_id,
                global_position,
            },
            event_id: uuid::Uuid::new_v4(),
            message_type: message_type.into(),
            payload: vec![1, 2, 3],
            aggregate_type: "complaint".into(),
            aggregate_id: format!("c-{global_position}"),
            sequence: 1,
            metadata: EventMetadata::new(Actor::system(), Channel::System),
            recorded_at: chrono::Utc::now(),
        }
    }

    fn at(tx_id: u64, global_position: i64) -> LogPosition {
        LogPosition {
            tx_id,
            global_position,
        }
    }

    #[test]
    fn a_checkpoint_inside_the_stretch_gets_what_follows_it_filtered_by_type() {
        let mut stretch = Stretch::default();
        stretch.extend(
            at(5, 0),
            vec![event(10, 3, "a"), event(10, 4, "b"), event(12, 2, "a")],
        );
        let wanted = vec!["a".to_owned()];
        let scanned = stretch.serve(at(10, 3), 10, Some(&wanted)).expect("inside");
        assert_eq!(scanned.count, 2);
        assert_eq!(scanned.last, Some(at(12, 2)));
        let positions: Vec<_> = scanned.events.iter().map(|e| e.position).collect();
        assert_eq!(positions, vec![at(12, 2)]);
        // From the stretch's start, with a limit: the first events, all types.
        let scanned = stretch.serve(at(5, 0), 2, None).expect("at the start");
        assert_eq!(scanned.count, 2);
        assert_eq!(scanned.last, Some(at(10, 4)));
        assert_eq!(scanned.events.len(), 2);
    }

    #[test]
    fn outside_or_at_the_end_of_the_stretch_nothing_is_served() {
        let mut stretch = Stretch::default();
        assert!(stretch.serve(at(0, 0), 10, None).is_none());
        stretch.extend(at(5, 0), vec![event(10, 3, "a")]);
        assert!(stretch.serve(at(4, 9), 10, None).is_none(), "before it");
        assert!(stretch.serve(at(10, 3), 10, None).is_none(), "at its end");
        assert!(stretch.serve(at(11, 0), 10, None).is_none(), "after it");
    }

    #[test]
    fn a_read_that_does_not_continue_the_stretch_starts_a_new_one() {
        let mut stretch = Stretch::default();
        stretch.extend(at(5, 0), vec![event(10, 3, "a")]);
        stretch.extend(at(10, 3), vec![event(11, 1, "a")]);
        assert_eq!(stretch.events.len(), 2);
        stretch.extend(at(20, 0), vec![event(21, 7, "a")]);
        assert_eq!(stretch.start, Some(at(20, 0)));
        assert_eq!(stretch.events.len(), 1);
        assert!(stretch.serve(at(10, 3), 10, None).is_none());
    }

    #[test]
    fn the_oldest_events_go_past_the_limit_and_the_start_moves_with_them() {
        let mut stretch = Stretch::default();
        let read: Vec<_> = (1..=KEPT as i64 + 2).map(|p| event(7, p, "a")).collect();
        stretch.extend(at(7, 0), read);
        assert_eq!(stretch.events.len(), KEPT);
        assert_eq!(stretch.start, Some(at(7, 2)));
        assert!(stretch.serve(at(7, 1), 10, None).is_none());
        let scanned = stretch.serve(at(7, 2), 1, None).expect("at the new start");
        assert_eq!(scanned.last, Some(at(7, 3)));
    }
}
