//! The supplier registry, imported from CSV: `supplier_id,name,districts,heated_area_m2,contact`
//! with districts separated by `;`. A file is checked whole before anything is stored; a
//! supplier already registered is updated.

use deadpool_postgres::Pool;
use eventstore::StoreError;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Row {
    supplier_id: String,
    name: String,
    districts: String,
    heated_area_m2: String,
    contact: String,
}

/// A registered supplier.
#[derive(Debug, Clone, PartialEq)]
pub struct Supplier {
    /// Its id, as dispatch names it.
    pub supplier_id: String,
    /// Its name.
    pub name: String,
    /// The districts it heats.
    pub districts: Vec<String>,
    /// Its heated area.
    pub heated_area_m2: f64,
    /// Whom to contact.
    pub contact: String,
}

/// Why an import was refused (nothing of it was stored).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line is not what the file must hold.
    #[error("line {line}: {reason}")]
    Invalid {
        /// The 1-based line (the header is line 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// No rows.
    #[error("the file has no suppliers")]
    Empty,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads a registry file.
pub fn parse(csv_text: &[u8]) -> Result<Vec<Supplier>, ImportError> {
    let rows: Vec<(u64, Row)> = platform::table::read(
        csv_text,
        &[
            "supplier_id",
            "name",
            "districts",
            "heated_area_m2",
            "contact",
        ],
        &[],
    )
    .map_err(|e| ImportError::Invalid {
        line: e.line,
        reason: e.reason,
    })?;
    let mut suppliers: Vec<Supplier> = Vec::new();
    for (line, row) in rows {
        let invalid = |reason: String| ImportError::Invalid { line, reason };
        if !is_id(&row.supplier_id) {
            return Err(invalid(format!(
                "supplier_id {:?} must be 1 to 64 letters, digits, '-', '_' or '.'",
                row.supplier_id
            )));
        }
        if row.name.is_empty() || row.name.chars().count() > 200 {
            return Err(invalid("name must be 1 to 200 characters".into()));
        }
        let districts: Vec<String> = row
            .districts
            .split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        if districts.is_empty() {
            return Err(invalid("districts must name at least one district".into()));
        }
        let area: f64 = row.heated_area_m2.parse().map_err(|_| {
            invalid(format!(
                "heated_area_m2 {:?} is not a number",
                row.heated_area_m2
            ))
        })?;
        if !area.is_finite() || area <= 0.0 || area > 1e9 {
            return Err(invalid(
                "heated_area_m2 must be above 0 and at most 1e9".into(),
            ));
        }
        if row.contact.chars().count() > 200 {
            return Err(invalid("contact must be at most 200 characters".into()));
        }
        if suppliers.iter().any(|s| s.supplier_id == row.supplier_id) {
            return Err(invalid(format!(
                "supplier {} is listed twice",
                row.supplier_id
            )));
        }
        suppliers.push(Supplier {
            supplier_id: row.supplier_id,
            name: row.name,
            districts,
            heated_area_m2: area,
            contact: row.contact,
        });
    }
    if suppliers.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(suppliers)
}

/// The ids of the registered suppliers.
pub async fn known_ids(pool: &Pool) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let client = pool.get().await?;
    let rows = client
        .query("SELECT supplier_id FROM credit.supplier", &[])
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Imports a registry file in one transaction; returns how many suppliers it holds.
pub async fn import(pool: &Pool, csv_text: &[u8]) -> Result<usize, ImportError> {
    let suppliers = parse(csv_text)?;
    let mut client = pool.get().await.map_err(StoreError::from)?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    for s in &suppliers {
        tx.execute(
            "INSERT INTO credit.supplier (supplier_id, name, districts, heated_area_m2, contact) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (supplier_id) DO UPDATE \
             SET name = excluded.name, districts = excluded.districts, \
             heated_area_m2 = excluded.heated_area_m2, contact = excluded.contact, \
             imported_at = now()",
            &[
                &s.supplier_id,
                &s.name,
                &s.districts,
                &s.heated_area_m2,
                &s.contact,
            ],
        )
        .await
        .map_err(StoreError::from)?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(suppliers.len())
}

/// Replaces the districts' heated areas (what complaints per 10,000 m² divide by), in one
/// transaction; answers how many districts there are.
pub async fn set_district_areas(
    pool: &Pool,
    areas: &[(String, f64, i64)],
) -> Result<usize, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("DELETE FROM credit.district", &[]).await?;
    for (district, area, buildings) in areas {
        tx.execute(
            "INSERT INTO credit.district (district, heated_area_m2, buildings) \
             VALUES ($1, $2, $3)",
            &[district, area, buildings],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(areas.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_file_is_read_or_refused_with_its_line() {
        let good = "supplier_id,name,districts,heated_area_m2,contact\n\
                    north-heat,North Heat Co.,nangang;daoli,2500000,0451-1234567\n";
        let suppliers = parse(good.as_bytes()).unwrap();
        assert_eq!(suppliers[0].districts, ["nangang", "daoli"]);
        let bad = format!("{good}south,South,,100,x\n");
        let error = parse(bad.as_bytes()).unwrap_err().to_string();
        assert!(error.starts_with("line 3: districts"), "{error}");
        let bad = format!("{good}south,South,daoli,-5,x\n");
        assert!(
            parse(bad.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("heated_area_m2")
        );
        assert!(matches!(
            parse(b"supplier_id,name,districts,heated_area_m2,contact\n"),
            Err(ImportError::Empty)
        ));
    }
}
