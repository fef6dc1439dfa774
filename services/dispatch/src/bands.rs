//! The queue's counts per band, kept for a second per filter: every dispatcher's screen asks
//! for them every few seconds, and counting all open tickets of a city (100,000 in a bad
//! week) takes tens of milliseconds. An answer up to a second old is served as it is; one up
//! to ten seconds old is served while one request counts again behind it; an older one, or
//! none, is counted before answering.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::views::{Bands, QueueFilter};

/// How long counts are served without counting again.
const FRESH: Duration = Duration::from_secs(1);
/// How long counts may be served while they are counted again.
const USABLE: Duration = Duration::from_secs(10);
/// Filters remembered at most (filters are free text: a bound keeps memory bounded).
const MOST: usize = 1000;

/// Counts per filter, with when they were taken.
#[derive(Debug, Default)]
pub struct BandCache(Mutex<HashMap<QueueFilter, Kept>>);

#[derive(Debug, Clone)]
struct Kept {
    bands: Bands,
    taken: Instant,
    recounting: bool,
}

/// What the cache holds for a filter.
pub enum Lookup {
    /// Counts to answer with.
    Found {
        /// The counts.
        bands: Bands,
        /// Whether this caller should count again for the next ones.
        recount: bool,
    },
    /// Nothing usable: count before answering.
    Missing,
}

impl BandCache {
    /// The counts kept for `filter`.
    pub fn lookup(&self, filter: &QueueFilter) -> Lookup {
        let mut kept = self.0.lock().expect("band cache lock");
        match kept.get_mut(filter) {
            Some(entry) if entry.taken.elapsed() < FRESH => Lookup::Found {
                bands: entry.bands.clone(),
                recount: false,
            },
            Some(entry) if entry.taken.elapsed() < USABLE => {
                let recount = !entry.recounting;
                entry.recounting = true;
                Lookup::Found {
                    bands: entry.bands.clone(),
                    recount,
                }
            }
            _ => Lookup::Missing,
        }
    }

    /// Keeps fresh counts for `filter`.
    pub fn keep(&self, filter: QueueFilter, bands: Bands) {
        let mut kept = self.0.lock().expect("band cache lock");
        if kept.len() >= MOST {
            kept.retain(|_, e| e.taken.elapsed() < USABLE);
            if kept.len() >= MOST {
                kept.clear();
            }
        }
        kept.insert(
            filter,
            Kept {
                bands,
                taken: Instant::now(),
                recounting: false,
            },
        );
    }

    /// A recount failed: the next caller tries again.
    pub fn recount_failed(&self, filter: &QueueFilter) {
        if let Some(entry) = self.0.lock().expect("band cache lock").get_mut(filter) {
            entry.recounting = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands(total: i64) -> Bands {
        Bands {
            breached: 0,
            at_risk: 0,
            paused: 0,
            on_time: total,
            total,
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn counts_are_kept_per_filter_and_one_caller_recounts_stale_ones() {
        let cache = BandCache::default();
        let city = QueueFilter::default();
        let district = QueueFilter {
            district: Some("nangang".into()),
            ..QueueFilter::default()
        };
        assert!(matches!(cache.lookup(&city), Lookup::Missing));
        cache.keep(city.clone(), bands(7));
        assert!(matches!(
            cache.lookup(&city),
            Lookup::Found { bands, recount: false } if bands.total == 7
        ));
        assert!(matches!(cache.lookup(&district), Lookup::Missing));
        // Stale: the first caller recounts, the others are answered meanwhile.
        cache.0.lock().unwrap().get_mut(&city).unwrap().taken -= FRESH;
        assert!(matches!(
            cache.lookup(&city),
            Lookup::Found { recount: true, .. }
        ));
        assert!(matches!(
            cache.lookup(&city),
            Lookup::Found { recount: false, .. }
        ));
        cache.recount_failed(&city);
        assert!(matches!(
            cache.lookup(&city),
            Lookup::Found { recount: true, .. }
        ));
        cache.0.lock().unwrap().get_mut(&city).unwrap().taken -= USABLE;
        assert!(matches!(cache.lookup(&city), Lookup::Missing));
    }
}
