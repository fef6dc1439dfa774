//! Re-reading the logs against every seal: the first event that differs is named.

use std::collections::HashMap;
use std::fmt;

use deadpool_postgres::Object;
use futures_util::{TryStreamExt, pin_mut};

use super::keys::{public_keys, signature_holds};
use super::merkle;
use super::records::{Log, leaves_of_rows};
use super::{Leaf, Range, SealBody};
use crate::error::StoreError;
use crate::position::LogPosition;
use crate::store::PgEventStore;

/// What verification found wrong first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The seal whose check failed.
    pub seq: i64,
    /// The event that does not match, when one can be named.
    pub event: Option<Leaf>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seal {}: {}", self.seq, self.message)
    }
}

/// What a verification read and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Seals that checked out.
    pub seals: u64,
    /// Events (of both logs) that matched their seals.
    pub events: u64,
    /// The first thing that did not, if any.
    pub problem: Option<Problem>,
}

/// Where one log's sealed part ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    /// The domain log.
    pub events: LogPosition,
    /// The public log.
    pub published: LogPosition,
}

/// Reads every seal in order and re-reads the events each covers: the chain, the signature,
/// every event's leaf and the root must all hold. Stops at the first problem. `progress` is
/// told the events checked so far after each seal.
pub async fn verify(
    store: &PgEventStore,
    mut progress: impl FnMut(u64),
) -> Result<Report, StoreError> {
    let keys: HashMap<String, [u8; 32]> = public_keys(store)
        .await?
        .into_iter()
        .map(|k| (k.key_id, k.public_key))
        .collect();
    let seals = store.pool().get().await?;
    let reader = store.pool().get().await?;
    let rows = seals
        .query_raw(
            "SELECT seq, body, hash, signature, key_id, leaves FROM eventstore.seal ORDER BY seq",
            std::iter::empty::<i32>(),
        )
        .await?;
    pin_mut!(rows);
    let mut report = Report::default();
    let mut previous: merkle::Hash = [0; 32];
    let mut tip = Sealed {
        events: LogPosition::START,
        published: LogPosition::START,
    };
    while let Some(row) = rows.try_next().await? {
        let seq: i64 = row.get(0);
        let stored = StoredSeal {
            seq,
            body: row.get(1),
            hash: row.get(2),
            signature: row.get(3),
            key_id: row.get(4),
            leaves: row.get(5),
        };
        match check_seal(
            &reader,
            &keys,
            &stored,
            report.seals as i64 + 1,
            previous,
            tip,
        )
        .await?
        {
            Ok(body) => {
                previous = body.hash();
                tip = Sealed {
                    events: body.events.through,
                    published: body.published.through,
                };
                report.seals += 1;
                report.events += body.size();
                progress(report.events);
            }
            Err((event, message)) => {
                report.problem = Some(Problem {
                    seq,
                    event,
                    message,
                });
                return Ok(report);
            }
        }
    }
    Ok(report)
}

/// Checks the log as it is now against one seal kept elsewhere (a supplier's downloaded copy,
/// its signature already checked): the events in its ranges must still give its root. Names
/// the first event that differs when the database still keeps that seal's leaves.
pub async fn check_against(
    store: &PgEventStore,
    body: &SealBody,
) -> Result<Option<Problem>, StoreError> {
    let client = store.pool().get().await?;
    let found = read_seal(&client, body).await?;
    let hashes: Vec<merkle::Hash> = found.iter().map(|l| l.hash).collect();
    if found.len() as u64 == body.size() && merkle::root(&hashes) == body.root {
        return Ok(None);
    }
    let kept = client
        .query_opt(
            "SELECT leaves FROM eventstore.seal WHERE seq = $1",
            &[&body.seq],
        )
        .await?
        .and_then(|row| Leaf::unpack(&row.get::<_, Vec<u8>>(0)).ok())
        .filter(|kept| merkle::root(&kept.iter().map(|l| l.hash).collect::<Vec<_>>()) == body.root);
    let named = kept.and_then(|kept| first_difference(&kept, &found));
    Ok(Some(match named {
        Some((leaf, what)) => Problem {
            seq: body.seq,
            event: Some(leaf),
            message: format!("{leaf} {what}"),
        },
        None => Problem {
            seq: body.seq,
            event: None,
            message: format!(
                "the log no longer gives this seal's root: its {} events were altered, removed or added to",
                body.size()
            ),
        },
    }))
}

struct StoredSeal {
    seq: i64,
    body: String,
    hash: Vec<u8>,
    signature: Vec<u8>,
    key_id: String,
    leaves: Vec<u8>,
}

type Failure = (Option<Leaf>, String);

async fn check_seal(
    reader: &Object,
    keys: &HashMap<String, [u8; 32]>,
    stored: &StoredSeal,
    expected_seq: i64,
    previous: merkle::Hash,
    tip: Sealed,
) -> Result<Result<SealBody, Failure>, StoreError> {
    let fail = |message: String| Ok(Err((None, message)));
    let body = match SealBody::parse(&stored.body) {
        Ok(body) => body,
        Err(e) => return fail(format!("its body is not a seal ({e})")),
    };
    if stored.seq != expected_seq || body.seq != stored.seq {
        return fail(format!(
            "expected seal {expected_seq} here: a seal was removed or renumbered"
        ));
    }
    if body.previous != previous {
        return fail(format!(
            "it does not chain to seal {}: a seal before it was altered or removed",
            stored.seq - 1
        ));
    }
    if stored.hash != body.hash() {
        return fail("its stored hash is not the hash of its body".into());
    }
    if body.events.after != tip.events || body.published.after != tip.published {
        return fail("it does not start where the previous seal ended".into());
    }
    let Some(public) = keys
        .get(&body.key_id)
        .filter(|_| stored.key_id == body.key_id)
    else {
        return fail(format!("its key {} is not a known seal key", body.key_id));
    };
    if !signature_holds(public, stored.body.as_bytes(), &stored.signature) {
        return fail(format!(
            "its signature does not hold under key {}: the seal was altered",
            body.key_id
        ));
    }
    let kept = match Leaf::unpack(&stored.leaves) {
        Ok(kept) => kept,
        Err(e) => return fail(e),
    };
    let found = read_seal(reader, &body).await?;
    if let Some((leaf, what)) = first_difference(&kept, &found) {
        return Ok(Err((Some(leaf), format!("{leaf} {what}"))));
    }
    let hashes: Vec<merkle::Hash> = found.iter().map(|l| l.hash).collect();
    if found.len() as u64 != body.size() || merkle::root(&hashes) != body.root {
        return fail(
            "the leaves it keeps were altered: the events it covers do not give its signed root"
                .into(),
        );
    }
    Ok(Ok(body))
}

/// The leaves of the events a seal covers, as the logs hold them now, in its tree's order.
async fn read_seal(client: &Object, body: &SealBody) -> Result<Vec<Leaf>, StoreError> {
    let mut found = read_range(client, Log::Events, body.events).await?;
    found.extend(read_range(client, Log::Published, body.published).await?);
    Ok(found)
}

/// The leaves of the events of `log` in `range`, as the log holds them now.
pub(crate) async fn read_range(
    client: &Object,
    log: Log,
    range: Range,
) -> Result<Vec<Leaf>, StoreError> {
    if range.count == 0 && range.after == range.through {
        return Ok(Vec::new());
    }
    let statement = client.prepare_cached(log.read_range()).await?;
    let rows = client
        .query_raw(
            &statement,
            [
                &range.after.tx_id_text() as &(dyn tokio_postgres::types::ToSql + Sync),
                &range.after.global_position,
                &range.through.tx_id_text(),
                &range.through.global_position,
            ],
        )
        .await?;
    let rows: Vec<tokio_postgres::Row> = rows.try_collect().await?;
    leaves_of_rows(log, rows).await
}

/// The first leaf where what the seal kept and what the log holds part, and how.
fn first_difference(kept: &[Leaf], found: &[Leaf]) -> Option<(Leaf, &'static str)> {
    let key = |l: &Leaf| (l.log.tag(), l.position);
    for i in 0..kept.len().max(found.len()) {
        match (kept.get(i), found.get(i)) {
            (Some(k), Some(f)) if k == f => continue,
            (Some(k), Some(f)) if key(k) == key(f) => {
                return Some((*k, "differs from what was sealed"));
            }
            (Some(k), Some(f)) if key(f) > key(k) => {
                return Some((*k, "was sealed and is no longer in the log"));
            }
            (Some(_), Some(f)) => {
                return Some((*f, "is in the log where the seal has no event"));
            }
            (Some(k), None) => return Some((*k, "was sealed and is no longer in the log")),
            (None, Some(f)) => return Some((*f, "is in the log where the seal has no event")),
            (None, None) => unreachable!("i is below the longer length"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(position: i64, hash: u8) -> Leaf {
        Leaf {
            log: Log::Events,
            position: LogPosition {
                tx_id: 100,
                global_position: position,
            },
            event_id: uuid::Uuid::from_u128(position as u128),
            hash: [hash; 32],
        }
    }

    #[test]
    fn the_first_difference_names_a_changed_a_missing_or_an_added_event() {
        let kept = vec![leaf(1, 1), leaf(2, 2), leaf(3, 3)];
        assert_eq!(first_difference(&kept, &kept), None);
        let changed = vec![leaf(1, 1), leaf(2, 9), leaf(3, 3)];
        assert_eq!(
            first_difference(&kept, &changed),
            Some((leaf(2, 2), "differs from what was sealed"))
        );
        let deleted = vec![leaf(1, 1), leaf(3, 3)];
        assert_eq!(
            first_difference(&kept, &deleted),
            Some((leaf(2, 2), "was sealed and is no longer in the log"))
        );
        let added = vec![leaf(1, 1), leaf(2, 2), leaf(3, 3), leaf(4, 4)];
        assert_eq!(
            first_difference(&kept, &added),
            Some((leaf(4, 4), "is in the log where the seal has no event"))
        );
        let last_gone = vec![leaf(1, 1), leaf(2, 2)];
        assert_eq!(
            first_difference(&kept, &last_gone),
            Some((leaf(3, 3), "was sealed and is no longer in the log"))
        );
    }
}
