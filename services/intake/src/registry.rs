//! The building registry: import from CSV, and the lookup that routes a complaint.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use eventstore::StoreError;
use serde::Deserialize;

use crate::domain::values::{Address, HeatingAccountNo, Route};

/// One row of a registry file.
#[derive(Debug, Deserialize)]
struct Row {
    building_id: String,
    district: String,
    station: String,
    supplier_id: String,
    address: String,
    #[serde(default)]
    account_prefix: Option<String>,
    heated_area_m2: f64,
}

/// Why an import was refused (nothing of it was stored).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as the expected CSV.
    #[error("line {line}: {reason}")]
    Invalid {
        /// The 1-based line (the header is line 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file has no rows.
    #[error("the file has no buildings")]
    Empty,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rows of a registry file with the `required` and `optional` columns, each with its
/// line; a file without rows is refused as having no `what`.
pub(crate) fn rows<T: serde::de::DeserializeOwned>(
    csv_text: &[u8],
    required: &[&str],
    optional: &[&str],
    what: &str,
) -> Result<Vec<(u64, T)>, ImportError> {
    let rows =
        platform::table::read(csv_text, required, optional).map_err(|e| ImportError::Invalid {
            line: e.line,
            reason: e.reason,
        })?;
    if rows.is_empty() {
        return Err(ImportError::Invalid {
            line: 1,
            reason: format!("the file has no {what}"),
        });
    }
    Ok(rows)
}

struct Building {
    id: String,
    district: String,
    station: String,
    supplier_id: String,
    address: String,
    address_key: String,
    account_prefix: Option<String>,
    area: f64,
}

fn parse_rows(csv_text: &[u8]) -> Result<Vec<Building>, ImportError> {
    let rows: Vec<(u64, Row)> = platform::table::read(
        csv_text,
        &[
            "building_id",
            "district",
            "station",
            "supplier_id",
            "address",
            "heated_area_m2",
        ],
        &["account_prefix"],
    )
    .map_err(|e| ImportError::Invalid {
        line: e.line,
        reason: e.reason,
    })?;
    let mut buildings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (line, row) in rows {
        let invalid = |reason: String| ImportError::Invalid { line, reason };
        let required = [
            ("building_id", &row.building_id),
            ("district", &row.district),
            ("station", &row.station),
            ("supplier_id", &row.supplier_id),
        ];
        if let Some((field, _)) = required.iter().find(|(_, v)| v.is_empty() || v.len() > 100) {
            return Err(invalid(format!("{field} must be 1 to 100 characters")));
        }
        let address = Address::parse(&row.address)
            .ok_or_else(|| invalid("address must be 4 to 200 characters".into()))?;
        let account_prefix = match row.account_prefix.as_deref().filter(|p| !p.is_empty()) {
            None => None,
            Some(raw) => Some(prefix_key(raw).ok_or_else(|| {
                invalid("account_prefix must be 2 to 20 letters and digits".into())
            })?),
        };
        if !(row.heated_area_m2.is_finite() && row.heated_area_m2 > 0.0) {
            return Err(invalid("heated_area_m2 must be a positive number".into()));
        }
        if !seen.insert(row.building_id.clone()) {
            return Err(invalid(format!(
                "building {} appears twice",
                row.building_id
            )));
        }
        buildings.push(Building {
            id: row.building_id,
            district: row.district,
            station: row.station,
            supplier_id: row.supplier_id,
            address: row.address,
            address_key: address.as_str().to_owned(),
            account_prefix,
            area: row.heated_area_m2,
        });
    }
    if buildings.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(buildings)
}

fn prefix_key(raw: &str) -> Option<String> {
    let key: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    ((2..=20).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric())).then_some(key)
}

/// The suppliers a registry file's buildings name, the file checked whole first.
pub fn suppliers_named(csv_text: &[u8]) -> Result<std::collections::BTreeSet<String>, ImportError> {
    Ok(parse_rows(csv_text)?
        .into_iter()
        .map(|b| b.supplier_id)
        .collect())
}

/// Imports (adds or replaces) the buildings of a CSV file with the header
/// `building_id,district,station,supplier_id,address,account_prefix,heated_area_m2`, all in
/// one transaction: a bad line stores nothing. Returns how many buildings were written.
pub async fn import(pool: &Pool, csv_text: &[u8], at: DateTime<Utc>) -> Result<usize, ImportError> {
    let buildings = parse_rows(csv_text)?;
    let mut client = pool.get().await.map_err(StoreError::from)?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let statement = tx
        .prepare(include_str!("sql/upsert_building.sql"))
        .await
        .map_err(StoreError::from)?;
    for b in &buildings {
        tx.execute(
            &statement,
            &[
                &b.id,
                &b.district,
                &b.station,
                &b.supplier_id,
                &b.address,
                &b.address_key,
                &b.account_prefix,
                &b.area,
                &at,
            ],
        )
        .await
        .map_err(StoreError::from)?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    // Fresh statistics at once: until autovacuum gets to it, the planner would take a new
    // registry for a few rows and scan it whole on every routing.
    client
        .batch_execute("ANALYZE intake.building")
        .await
        .map_err(StoreError::from)?;
    Ok(buildings.len())
}

/// A district's heated area as the registry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictArea {
    /// The district.
    pub district: String,
    /// The heated area of its buildings, m².
    pub heated_area_m2: f64,
    /// How many buildings.
    pub buildings: i64,
}

/// Every district's heated area, summed over its buildings.
pub async fn district_areas(pool: &Pool) -> Result<Vec<DistrictArea>, StoreError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT district, sum(heated_area_m2), count(*) FROM intake.building \
             GROUP BY district ORDER BY district",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| DistrictArea {
            district: r.get(0),
            heated_area_m2: r.get(1),
            buildings: r.get(2),
        })
        .collect())
}

/// The registry as routing reads it: every building's account prefix and address, in memory,
/// re-read when an import changed the table.
pub struct Registry {
    index: RwLock<Arc<Index>>,
}

#[derive(Default)]
struct Index {
    accounts: HashMap<String, Route>,
    addresses: HashMap<String, Route>,
    buildings: HashMap<String, Route>,
    stamp: (i64, Option<DateTime<Utc>>),
}

async fn read_index(client: &impl GenericClient) -> Result<Index, StoreError> {
    let rows = client
        .query(
            "SELECT building_id, station, district, supplier_id, address_key, account_prefix,              imported_at FROM intake.building",
            &[],
        )
        .await?;
    let mut index = Index::default();
    for row in &rows {
        let route = Route {
            building_id: Some(row.get("building_id")),
            station: Some(row.get("station")),
            district: Some(row.get("district")),
            supplier_id: Some(row.get("supplier_id")),
        };
        if let Some(prefix) = row.get::<_, Option<String>>("account_prefix") {
            index.accounts.insert(prefix, route.clone());
        }
        index
            .addresses
            .insert(row.get("address_key"), route.clone());
        index.buildings.insert(row.get("building_id"), route);
        let imported: DateTime<Utc> = row.get("imported_at");
        index.stamp.1 = index.stamp.1.max(Some(imported));
    }
    index.stamp.0 = rows.len() as i64;
    Ok(index)
}

impl Registry {
    /// Reads the registry.
    pub async fn load(pool: &Pool) -> Result<Registry, StoreError> {
        let client = pool.get().await?;
        Ok(Registry {
            index: RwLock::new(Arc::new(read_index(&client).await?)),
        })
    }

    /// Re-reads the registry if an import changed it since. Returns whether it did.
    pub async fn refresh(&self, pool: &Pool) -> Result<bool, StoreError> {
        let client = pool.get().await?;
        let row = client
            .query_one(
                "SELECT count(*), max(imported_at) FROM intake.building",
                &[],
            )
            .await?;
        let stamp: (i64, Option<DateTime<Utc>>) = (row.get(0), row.get(1));
        if stamp == self.current().stamp {
            return Ok(false);
        }
        let index = read_index(&client).await?;
        *self.index.write().expect("registry lock") = Arc::new(index);
        Ok(true)
    }

    fn current(&self) -> Arc<Index> {
        self.index.read().expect("registry lock").clone()
    }

    /// The route of a registered building; unresolved (empty) for an unknown one.
    pub fn route_of_building(&self, building_id: &str) -> Route {
        self.current()
            .buildings
            .get(building_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The route of a heat-exchange station: its district and supplier as its buildings name
    /// them (the first by id), without a building; unresolved for a station no building names.
    pub fn route_of_station(&self, station: &str) -> Route {
        self.current()
            .buildings
            .iter()
            .filter(|(_, route)| route.station.as_deref() == Some(station))
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, route)| Route {
                building_id: None,
                ..route.clone()
            })
            .unwrap_or_default()
    }

    /// Routes by heating account (the longest registered prefix of it), else by address (the
    /// longest registered building address it starts with). Unresolved is an empty route.
    pub fn resolve(&self, account: Option<&HeatingAccountNo>, address: Option<&Address>) -> Route {
        let index = self.current();
        if let Some(account) = account {
            let account = account.as_str();
            let found = (2..=account.len())
                .rev()
                .find_map(|n| index.accounts.get(&account[..n]));
            if let Some(route) = found {
                return route.clone();
            }
        }
        if let Some(address) = address {
            let found = address
                .prefixes()
                .iter()
                .find_map(|prefix| index.addresses.get(prefix));
            if let Some(route) = found {
                return route.clone();
            }
        }
        Route::default()
    }
}

/// A building of the registry, as address completion shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BuildingView {
    /// Its id (what routing by hand names).
    pub building_id: String,
    /// Its address as registered.
    pub address: String,
    /// District.
    pub district: String,
    /// Heat-exchange station.
    pub station: String,
    /// The supplier that heats it.
    pub supplier_id: String,
}

/// Buildings whose address contains `text` (in the registry's normal form: half-width, no
/// spaces), in address order, at most `limit`, within `district` when given.
pub async fn search(
    client: &impl deadpool_postgres::GenericClient,
    text: &str,
    district: Option<&str>,
    limit: i64,
) -> Result<Vec<BuildingView>, StoreError> {
    let rows = client
        .query(
            "SELECT building_id, address, district, station, supplier_id FROM intake.building \
             WHERE strpos(address_key, $1) > 0 AND ($2::text IS NULL OR district = $2) \
             ORDER BY address_key LIMIT $3",
            &[&text, &district, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| BuildingView {
            building_id: row.get("building_id"),
            address: row.get("address"),
            district: row.get("district"),
            station: row.get("station"),
            supplier_id: row.get("supplier_id"),
        })
        .collect())
}

/// The route of a building by id (a dispatcher routing by hand).
pub async fn building(
    client: &impl deadpool_postgres::GenericClient,
    building_id: &str,
) -> Result<Option<Route>, StoreError> {
    let row = client
        .query_opt(
            "SELECT building_id, station, district, supplier_id FROM intake.building \
             WHERE building_id = $1",
            &[&building_id],
        )
        .await?;
    Ok(row.map(|row| Route {
        building_id: Some(row.get("building_id")),
        station: Some(row.get("station")),
        district: Some(row.get("district")),
        supplier_id: Some(row.get("supplier_id")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let csv = "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n\
                   B1,heping,S1,sup-1,和平区南京路100号1栋,HL01,5200\n\
                   B2,heping,S1,sup-1,和平区南京路100号2栋,,-3\n";
        match parse_rows(csv.as_bytes()) {
            Err(ImportError::Invalid { line, reason }) => {
                assert_eq!(line, 3);
                assert!(reason.contains("heated_area_m2"), "{reason}");
            }
            other => panic!("expected a refusal, got {:?}", other.map(|b| b.len())),
        }
        // A wrong header is the header's fault (line 1), naming the column.
        let missing_column = "building_id,district\nB1,heping\n";
        assert!(matches!(
            parse_rows(missing_column.as_bytes()),
            Err(ImportError::Invalid { line: 1, reason }) if reason.contains("lacks column station")
        ));
        // A value that does not parse names its column, not a field number.
        let not_a_number = "building_id,district,station,supplier_id,address,heated_area_m2\n\
                            B1,heping,S1,sup-1,和平区南京路100号1栋,lots\n";
        assert!(matches!(
            parse_rows(not_a_number.as_bytes()),
            Err(ImportError::Invalid { line: 2, reason }) if reason == "column heated_area_m2: not a number"
        ));
        assert!(matches!(
            parse_rows(
                b"building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n"
            ),
            Err(ImportError::Empty)
        ));
    }
}
