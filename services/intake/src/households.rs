//! The household registry file: each heating account's building, heated area and price, read
//! and checked whole, and turned into the household keys the published events carry. The
//! account numbers themselves are not kept: what the refunds need is the key and the fee.

use std::collections::HashMap;

use deadpool_postgres::Pool;
use eventstore::StoreError;
use serde::Deserialize;

use crate::domain::values::{Address, HeatingAccountNo, Household, Pseudonyms};
use crate::registry::ImportError;

/// The columns every household file has.
pub const COLUMNS: &[&str] = &["building_id", "heated_area_m2", "price_yuan_per_m2"];

/// The columns that name the home: at least one on each line.
pub const KEYS: &[&str] = &["account_no", "address"];

#[derive(Debug, Deserialize)]
struct Row {
    #[serde(default)]
    account_no: Option<String>,
    #[serde(default)]
    address: Option<String>,
    building_id: String,
    heated_area_m2: f64,
    price_yuan_per_m2: f64,
}

/// A household's fee basis, keyed as the published events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdFee {
    /// The household key (the pseudonym of its account).
    pub household: String,
    /// Its building.
    pub building_id: String,
    /// The building's district.
    pub district: String,
    /// The supplier that heats the building.
    pub supplier_id: String,
    /// Heated area in hundredths of a m².
    pub area_centi_m2: i64,
    /// The season's price per m², in fen.
    pub price_fen_per_m2: i64,
}

/// The household key a registry line names, as its complaints are keyed: by its heating
/// account when given, else by its full address; `None` when it names neither, the reason when
/// the one given is malformed.
pub fn household_key(
    pseudonyms: &Pseudonyms,
    account_no: &Option<String>,
    address: &Option<String>,
) -> Result<Option<Household>, &'static str> {
    let given = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_owned);
    Ok(Some(match (given(account_no), given(address)) {
        (Some(account), _) => pseudonyms.of_account(
            &HeatingAccountNo::parse(&account)
                .ok_or("account_no must be 6 to 20 letters and digits")?,
        ),
        (None, Some(address)) => pseudonyms
            .of_address(&Address::parse(&address).ok_or("address must be 4 to 200 characters")?),
        (None, None) => return Ok(None),
    }))
}

/// Reads a household file with the header `account_no,address,building_id,heated_area_m2,
/// price_yuan_per_m2` (the price of a m² for the whole season, in yuan). Each home is keyed as
/// its complaints are: by its heating account when the line gives one, else by its full
/// address. Every home must appear once, every building must be in the building registry, the
/// area 0 to 10,000 m² and the price 0 to 1,000 yuan. Nothing is returned unless every line
/// is right.
pub async fn read(
    pool: &Pool,
    pseudonyms: &Pseudonyms,
    csv_text: &[u8],
) -> Result<Vec<HouseholdFee>, ImportError> {
    let rows: Vec<(u64, Row)> = crate::registry::rows(csv_text, COLUMNS, KEYS, "households")?;
    let client = pool.get().await.map_err(StoreError::from)?;
    let buildings: HashMap<String, (String, String)> = client
        .query(
            "SELECT building_id, district, supplier_id FROM intake.building",
            &[],
        )
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let invalid = |reason: String| ImportError::Invalid { line, reason };
        let household = household_key(pseudonyms, &row.account_no, &row.address)
            .map_err(|reason| invalid(reason.into()))?
            .ok_or_else(|| invalid("each line needs an account_no or an address".into()))?;
        if let Some(first) = seen.insert(household.as_str().to_owned(), line) {
            return Err(invalid(format!(
                "this home appears twice (first on line {first})"
            )));
        }
        let (district, supplier_id) =
            buildings.get(&row.building_id).cloned().ok_or_else(|| {
                invalid(format!(
                    "building {} is not in the building registry (import buildings first)",
                    row.building_id
                ))
            })?;
        let area = row.heated_area_m2;
        if !(area.is_finite() && area > 0.0 && area <= 10_000.0) {
            return Err(invalid(
                "heated_area_m2 must be above 0 and at most 10000".into(),
            ));
        }
        let price = row.price_yuan_per_m2;
        if !(price.is_finite() && price > 0.0 && price <= 1_000.0) {
            return Err(invalid(
                "price_yuan_per_m2 must be above 0 and at most 1000".into(),
            ));
        }
        out.push(HouseholdFee {
            household: household.as_str().to_owned(),
            building_id: row.building_id,
            district,
            supplier_id,
            area_centi_m2: (area * 100.0).round() as i64,
            price_fen_per_m2: (price * 100.0).round() as i64,
        });
    }
    Ok(out)
}
