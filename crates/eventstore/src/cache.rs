//! Aggregates kept in memory after a successful commit, so that the next command on the same
//! aggregate skips reading its stream: one round trip per command instead of two.
//!
//! A cached state can be stale only if another process appended to the stream meanwhile; the
//! append then fails on the stream's primary key, the entry is evicted, and
//! [`crate::Commands::execute`] runs the command once more on the state read from the database.
//! A race between two commands that both read the database still ends in a conflict.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;

struct Entry {
    sequence: usize,
    state: Box<dyn Any + Send + Sync>,
}

/// A bounded map from `(aggregate type, id)` to the aggregate's state and sequence.
pub(crate) struct AggregateCache {
    capacity: usize,
    entries: Mutex<HashMap<(&'static str, String), Entry>>,
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.lock().map_or(0, |entries| entries.len());
        f.debug_struct("AggregateCache")
            .field("capacity", &self.capacity)
            .field("len", &len)
            .finish()
    }
}

impl AggregateCache {
    pub(crate) fn new(capacity: usize) -> Self {
        AggregateCache {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get<A: Clone + Send + Sync + 'static>(
        &self,
        kind: &'static str,
        id: &str,
    ) -> Option<(A, usize)> {
        let entries = self.entries.lock().expect("cache lock");
        let entry = entries.get(&(kind, id.to_owned()))?;
        let state = entry.state.downcast_ref::<A>()?;
        Some((state.clone(), entry.sequence))
    }

    pub(crate) fn put<A: Send + Sync + 'static>(
        &self,
        kind: &'static str,
        id: &str,
        state: A,
        sequence: usize,
    ) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= self.capacity && !entries.contains_key(&(kind, id.to_owned())) {
            // Drop a tenth, whichever the map yields first: cheap, and a miss only costs a read.
            let victims: Vec<_> = entries
                .keys()
                .take(self.capacity / 10 + 1)
                .cloned()
                .collect();
            for victim in victims {
                entries.remove(&victim);
            }
        }
        let state = Box::new(state);
        entries.insert((kind, id.to_owned()), Entry { sequence, state });
    }

    pub(crate) fn evict(&self, kind: &'static str, id: &str) {
        self.entries
            .lock()
            .expect("cache lock")
            .remove(&(kind, id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::AggregateCache;

    #[test]
    fn entries_come_back_by_type_and_id_and_the_cache_stays_bounded() {
        let cache = AggregateCache::new(20);
        cache.put("probe", "a", 7i64, 3);
        assert_eq!(cache.get::<i64>("probe", "a"), Some((7, 3)));
        assert_eq!(cache.get::<i64>("gate", "a"), None);
        assert_eq!(
            cache.get::<String>("probe", "a"),
            None,
            "another type never comes back"
        );
        cache.evict("probe", "a");
        assert_eq!(cache.get::<i64>("probe", "a"), None);
        for n in 0..100 {
            cache.put("probe", &n.to_string(), n, 1);
        }
        assert!(cache.entries.lock().unwrap().len() <= 20);
        assert_eq!(cache.get::<i32>("probe", "99"), Some((99, 1)));
    }
}
