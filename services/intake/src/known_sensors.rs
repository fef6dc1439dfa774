//! The sensors a batch of readings may come from, remembered between batches: each registered
//! sensor's kind (a station's or not) once the database told it, so that a batch asks only
//! about sensors not seen before. An import (`heatline import sensors`, maybe from another
//! process) adds or replaces sensors; the registry's fingerprint (rows and latest import) is
//! checked every 10 seconds and a change forgets everything. A sensor re-imported as another
//! kind may so be taken for its old kind for up to 10 seconds; an unknown sensor is asked about
//! every time.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use eventstore::StoreError;

/// What the registry looked like when last checked: its rows and its latest import.
type Fingerprint = (i64, Option<DateTime<Utc>>);

#[derive(Default)]
struct Known {
    /// Whether each sensor seen is a station's.
    station: HashMap<String, bool>,
    fingerprint: Option<Fingerprint>,
}

/// Registered sensors' kinds, remembered.
#[derive(Default)]
pub struct KnownSensors {
    known: RwLock<Known>,
}

impl KnownSensors {
    /// Whether each of `ids` is a station's sensor; the unregistered are missing.
    pub async fn station_or_not(
        &self,
        pool: &Pool,
        ids: &[&str],
    ) -> Result<HashMap<String, bool>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut asking = Vec::new();
        {
            let known = self
                .known
                .read()
                .expect("the known sensors are never poisoned");
            for id in ids {
                match known.station.get(*id) {
                    Some(station) => {
                        found.insert((*id).to_owned(), *station);
                    }
                    None => asking.push(*id),
                }
            }
        }
        if asking.is_empty() {
            return Ok(found);
        }
        let client = pool.get().await?;
        let rows = client
            .query(
                "SELECT sensor_id, kind = 'station' FROM intake.sensor WHERE sensor_id = ANY($1)",
                &[&asking],
            )
            .await?;
        let mut known = self
            .known
            .write()
            .expect("the known sensors are never poisoned");
        for row in &rows {
            let (id, station): (String, bool) = (row.get(0), row.get(1));
            known.station.insert(id.clone(), station);
            found.insert(id, station);
        }
        Ok(found)
    }

    /// Forgets every sensor if the registry changed since the last check (or this is the
    /// first: an import may have come between a lookup and it); answers whether it forgot
    /// any.
    pub async fn refresh(&self, pool: &Pool) -> Result<bool, StoreError> {
        let client = pool.get().await?;
        let row = client
            .query_one("SELECT count(*), max(imported_at) FROM intake.sensor", &[])
            .await?;
        let now: Fingerprint = (row.get(0), row.get(1));
        let mut known = self
            .known
            .write()
            .expect("the known sensors are never poisoned");
        if known.fingerprint == Some(now) {
            return Ok(false);
        }
        let forgot = !known.station.is_empty();
        known.station.clear();
        known.fingerprint = Some(now);
        Ok(forgot)
    }
}
