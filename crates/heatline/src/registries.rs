//! `heatline import`: the registries (suppliers, buildings, households) read from CSV files,
//! each checked whole before anything is written.

use crate::database;

/// Gives credit the districts' heated areas from the building registry just imported.
pub(crate) async fn district_areas(pool: &deadpool_postgres::Pool) -> anyhow::Result<()> {
    let areas: Vec<(String, f64, i64)> = intake::registry::district_areas(pool)
        .await?
        .into_iter()
        .map(|d| (d.district, d.heated_area_m2, d.buildings))
        .collect();
    credit::registry::set_district_areas(pool, &areas).await?;
    Ok(())
}

/// Imports a household file: intake reads it whole and keys each home as its events do,
/// credit keeps the fee basis.
pub(crate) async fn households(
    database: &database::Database,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    database.migrate().await?;
    let count = import_households(database, &text)
        .await
        .with_context(|| format!("importing {}", file.display()))?;
    println!("{count} households imported");
    Ok(())
}

/// Imports a sensor file: intake checks it whole against the building registry and keys each
/// home as its events do.
pub(crate) async fn sensors(
    database: &database::Database,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    database.migrate().await?;
    let pool = database.config.pool();
    let pseudonyms = intake::privacy::pseudonyms(&pool, &database.keyring).await?;
    let now = chrono::Utc::now();
    let today = platform::calendar::Calendar::today(now);
    let sensors = intake::sensors::read(&pool, &pseudonyms, &text, today)
        .await
        .with_context(|| format!("importing {}", file.display()))?;
    let count = intake::sensors::import(&pool, &sensors, now).await?;
    println!("{count} sensors imported");
    Ok(())
}

/// Imports the households of a household file's text; answers how many.
pub(crate) async fn import_households(
    database: &database::Database,
    text: &[u8],
) -> anyhow::Result<usize> {
    let pool = database.config.pool();
    let pseudonyms = intake::privacy::pseudonyms(&pool, &database.keyring).await?;
    let fees = intake::households::read(&pool, &pseudonyms, text).await?;
    let rows: Vec<credit::refunds::households::Household> = fees
        .into_iter()
        .map(|f| credit::refunds::households::Household {
            household: f.household,
            building_id: f.building_id,
            district: f.district,
            supplier_id: f.supplier_id,
            area_centi_m2: f.area_centi_m2,
            price_fen_per_m2: f.price_fen_per_m2,
        })
        .collect();
    let count = credit::refunds::households::import(&pool, &rows, chrono::Utc::now()).await?;
    // Dispatch counts each building's registered households for the cap on stopping heating.
    let buildings = credit::refunds::households::per_building(&pool).await?;
    dispatch::stop_heating::set_building_households(&pool, &buildings).await?;
    Ok(count)
}

/// Reads a registry file, migrates, and imports it with `import`; prints how many `what` it
/// held.
/// Refuses a building file that names suppliers the supplier registry lacks (import them
/// first), or warns of them when `allowed`.
pub(crate) async fn suppliers_registered(
    database: &database::Database,
    file: &std::path::Path,
    allowed: bool,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let named = intake::registry::suppliers_named(&text)
        .with_context(|| format!("importing {}", file.display()))?;
    database.migrate().await?;
    let known = credit::registry::known_ids(&database.config.pool()).await?;
    let unknown: Vec<&str> = named
        .iter()
        .filter(|s| !known.contains(*s))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let list = unknown.join(", ");
    if allowed {
        tracing::warn!(
            "importing buildings of suppliers the supplier registry lacks: {list}; credit scores them once they are imported"
        );
        Ok(())
    } else {
        anyhow::bail!(
            "the buildings name suppliers the supplier registry lacks: {list}; import them first \
             (heatline import suppliers FILE), or pass --allow-unknown-suppliers"
        )
    }
}

pub(crate) async fn import_file<F, Fut, E>(
    database: &database::Database,
    file: &std::path::Path,
    what: &str,
    import: F,
) -> anyhow::Result<()>
where
    F: FnOnce(deadpool_postgres::Pool, Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = Result<usize, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    use anyhow::Context;
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    database.migrate().await?;
    let count = import(database.config.pool(), text)
        .await
        .with_context(|| format!("importing {}", file.display()))?;
    println!("{count} {what} imported");
    Ok(())
}
