//! A season replayed under another rulebook version, answered without writing anything: the
//! whole public log goes through a fresh scorer held to that version, and its entries are
//! compared with the ledger's, entry by entry (an entry's id depends on its event and
//! dimension, not on the rules).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::rulebook::Rulebook;
use crate::domain::scorer::{Draft, REVERSAL_RULE, Scorer, rule_of};
use crate::domain::values::{Centipoints, Dimension, Grade, Season, points_number, total};
use crate::feed::{areas, replay};

/// An entry whose points differ under the other version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangedEntry {
    /// The entry (absent from the ledger when `actual` is null).
    pub entry_id: Uuid,
    /// Its dimension.
    pub dimension: String,
    /// The ledger's points (null: the ledger has no such entry).
    pub actual: Option<f64>,
    /// The points under the other version (null: it would make no entry).
    pub what_if: Option<f64>,
}

/// One supplier under the other version.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplierWhatIf {
    /// The supplier.
    pub supplier_id: String,
    /// Its score now.
    pub actual_score: f64,
    /// Its grade now.
    pub actual_grade: String,
    /// Its score under the other version.
    pub what_if_score: f64,
    /// Its grade under the other version.
    pub what_if_grade: String,
    /// The entries that would change.
    pub changed: Vec<ChangedEntry>,
}

/// A season under another version.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatIf {
    /// The season.
    pub season: String,
    /// The version it was replayed under.
    pub rulebook_version: String,
    /// Published events read.
    pub events_replayed: u64,
    /// Suppliers, by supplier id.
    pub suppliers: Vec<SupplierWhatIf>,
}

struct Actual {
    rows: HashMap<Uuid, (String, Dimension, Centipoints)>,
    own: HashMap<String, Centipoints>,
    scores: BTreeMap<String, (Centipoints, bool)>,
}

async fn actual(
    client: &deadpool_postgres::Object,
    season: Season,
) -> Result<Actual, tokio_postgres::Error> {
    let season = season.to_string();
    let rows = client
        .query(
            "SELECT entry_id, supplier_id, dimension, rule, points FROM credit.entry \
             WHERE season = $1",
            &[&season],
        )
        .await?;
    let mut actual = Actual {
        rows: HashMap::new(),
        own: HashMap::new(),
        scores: BTreeMap::new(),
    };
    for row in &rows {
        let supplier: String = row.get(1);
        let dimension = Dimension::parse(row.get(2)).unwrap_or(Dimension::Veto);
        let rule: String = row.get(3);
        let points: i64 = row.get(4);
        let scored =
            rule == rule_of(dimension) || rule == REVERSAL_RULE && dimension.index().is_some();
        if scored {
            actual
                .rows
                .insert(row.get(0), (supplier, dimension, points));
        } else {
            // The regulator's own entries (adjustments, vetoes and their reversals) stand
            // under any rulebook.
            *actual.own.entry(supplier).or_default() += points;
        }
    }
    for row in client
        .query(
            "SELECT supplier_id, score, vetoed FROM credit.standing WHERE season = $1",
            &[&season],
        )
        .await?
    {
        let supplier: String = row.get(0);
        actual.scores.insert(supplier, (row.get(1), row.get(2)));
    }
    Ok(actual)
}

/// Replays the whole log under `version` and compares the season's entries.
pub async fn what_if(
    store: &eventstore::PgEventStore,
    rulebook: Arc<Rulebook>,
    version: &str,
    season: Season,
) -> Result<Option<WhatIf>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(mut scorer) = Scorer::under(rulebook, version) else {
        return Ok(None);
    };
    let client = store.pool().get().await?;
    scorer.set_areas(areas(&client).await?);
    let actual = actual(&client, season).await?;
    drop(client);
    let mut drafts: Vec<Draft> = Vec::new();
    let events = replay(store, &mut scorer, None, |d| {
        if d.season == season {
            drafts.push(d);
        }
    })
    .await?;
    let mut per_supplier: BTreeMap<String, Vec<ChangedEntry>> = BTreeMap::new();
    let mut sums: HashMap<String, Centipoints> = HashMap::new();
    let mut seen = HashMap::new();
    for draft in &drafts {
        *sums.entry(draft.supplier.clone()).or_default() += draft.points;
        seen.insert(draft.entry_id, ());
        let actual_points = actual.rows.get(&draft.entry_id).map(|(_, _, p)| *p);
        if actual_points != Some(draft.points) {
            per_supplier
                .entry(draft.supplier.clone())
                .or_default()
                .push(ChangedEntry {
                    entry_id: draft.entry_id,
                    dimension: draft.dimension.as_str().into(),
                    actual: actual_points.map(points_number),
                    what_if: Some(points_number(draft.points)),
                });
        }
    }
    for (entry_id, (supplier, dimension, points)) in &actual.rows {
        if !seen.contains_key(entry_id) {
            per_supplier
                .entry(supplier.clone())
                .or_default()
                .push(ChangedEntry {
                    entry_id: *entry_id,
                    dimension: dimension.as_str().into(),
                    actual: Some(points_number(*points)),
                    what_if: None,
                });
        }
    }
    let mut suppliers: Vec<String> = actual.scores.keys().cloned().collect();
    suppliers.extend(sums.keys().cloned());
    suppliers.sort();
    suppliers.dedup();
    let mut out = Vec::new();
    for supplier in suppliers {
        let (actual_score, vetoed) = actual
            .scores
            .get(&supplier)
            .copied()
            .unwrap_or((10_000, false));
        let what_if_score = total(
            sums.get(&supplier).copied().unwrap_or_default()
                + actual.own.get(&supplier).copied().unwrap_or_default(),
        );
        let mut changed = per_supplier.remove(&supplier).unwrap_or_default();
        changed.sort_by_key(|c| c.entry_id);
        out.push(SupplierWhatIf {
            actual_score: points_number(actual_score),
            actual_grade: Grade::of(actual_score, vetoed).as_str().into(),
            what_if_score: points_number(what_if_score),
            what_if_grade: Grade::of(what_if_score, vetoed).as_str().into(),
            changed,
            supplier_id: supplier,
        });
    }
    Ok(Some(WhatIf {
        season: season.to_string(),
        rulebook_version: version.to_owned(),
        events_replayed: events,
        suppliers: out,
    }))
}
