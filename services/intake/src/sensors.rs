//! The sensor registry: `heatline import sensors FILE.csv`, checked whole before anything is
//! written. Each sensor is a room thermometer in a home (`room`), a sensor that stands for its
//! whole building (`building`), a heat-exchange station's network telemetry (`station`), or an
//! outdoor thermometer that stands for its district's weather (`outdoor`); readings from a
//! sensor the registry lacks are refused.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use eventstore::StoreError;
use serde::Deserialize;

use crate::domain::values::Pseudonyms;
use crate::households::household_key;
use crate::registry::ImportError;

/// The columns every sensor file has.
pub const COLUMNS: &[&str] = &["sensor_id", "kind", "installed_on"];

/// The columns a line fills as its kind needs.
pub const OPTIONAL: &[&str] = &[
    "building_id",
    "account_no",
    "address",
    "station",
    "district",
    "room",
    "certified",
];

#[derive(Debug, Deserialize)]
struct Row {
    sensor_id: String,
    kind: String,
    installed_on: String,
    #[serde(default)]
    building_id: Option<String>,
    #[serde(default)]
    account_no: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    station: Option<String>,
    #[serde(default)]
    district: Option<String>,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    certified: Option<String>,
}

/// What a sensor measures, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A room's temperature in one home.
    Room,
    /// A temperature standing for a whole building (a stairwell, a return pipe).
    Building,
    /// A station's supply and return temperatures, pressure and flow.
    Station,
    /// The outdoor temperature of a district.
    Outdoor,
}

impl Kind {
    fn parse(raw: &str) -> Option<Kind> {
        match raw {
            "room" => Some(Kind::Room),
            "building" => Some(Kind::Building),
            "station" => Some(Kind::Station),
            "outdoor" => Some(Kind::Outdoor),
            _ => None,
        }
    }

    /// The name the file and the table use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Room => "room",
            Kind::Building => "building",
            Kind::Station => "station",
            Kind::Outdoor => "outdoor",
        }
    }
}

/// One registered sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sensor {
    /// Its id, as its readings name it.
    pub id: String,
    /// What it measures.
    pub kind: Kind,
    /// Its building (all but station sensors).
    pub building_id: Option<String>,
    /// Its home's household key (room sensors).
    pub household: Option<String>,
    /// The station that feeds it (or that it is); none for an outdoor sensor.
    pub station: Option<String>,
    /// The district whose weather it reads (outdoor sensors).
    pub district: Option<String>,
    /// The room it hangs in, when named.
    pub room: Option<String>,
    /// Whether its readings are certified measurements.
    pub certified: bool,
    /// When it was installed.
    pub installed_on: NaiveDate,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn certified(raw: Option<&str>) -> Option<bool> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "no" | "0") => Some(false),
        Some("true" | "yes" | "1") => Some(true),
        Some(_) => None,
    }
}

/// Reads a sensor file with the header
/// `sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on` (and
/// `district` for outdoor sensors): a `room` sensor names its home (an account, else an
/// address) and the home's building; a `building` sensor its building; a `station` sensor a
/// station the building registry knows, and no building; an `outdoor` sensor a district the
/// building registry knows, and nothing else. Sensor ids (1 to 64 of letters, digits, `.`, `_`, `:`, `-`) appear once,
/// buildings are in the registry, `certified` is true/false (yes/no, 1/0; false when empty)
/// and `installed_on` a date (YYYY-MM-DD) not after `today`. Nothing is returned unless every
/// line is right.
pub async fn read(
    pool: &Pool,
    pseudonyms: &Pseudonyms,
    csv_text: &[u8],
    today: NaiveDate,
) -> Result<Vec<Sensor>, ImportError> {
    let rows: Vec<(u64, Row)> = crate::registry::rows(csv_text, COLUMNS, OPTIONAL, "sensors")?;
    let client = pool.get().await.map_err(StoreError::from)?;
    let buildings: HashMap<String, String> = client
        .query("SELECT building_id, station FROM intake.building", &[])
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let stations: HashSet<&str> = buildings.values().map(String::as_str).collect();
    let districts: HashSet<String> = client
        .query("SELECT DISTINCT district FROM intake.building", &[])
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut seen = HashMap::new();
    let mut sensors = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let invalid = |reason: String| ImportError::Invalid { line, reason };
        let id = row.sensor_id.trim();
        if !valid_id(id) {
            return Err(invalid(
                "sensor_id must be 1 to 64 letters, digits, '.', '_', ':' or '-'".into(),
            ));
        }
        if let Some(first) = seen.insert(id.to_owned(), line) {
            return Err(invalid(format!(
                "sensor {id} appears twice (first on line {first})"
            )));
        }
        let kind = Kind::parse(row.kind.trim())
            .ok_or_else(|| invalid("kind must be room, building, station or outdoor".into()))?;
        let installed_on = NaiveDate::parse_from_str(row.installed_on.trim(), "%Y-%m-%d")
            .map_err(|_| invalid("installed_on must be a date, YYYY-MM-DD".into()))?;
        if installed_on > today {
            return Err(invalid(format!(
                "installed_on {installed_on} is after today ({today})"
            )));
        }
        let certified = certified(given(&row.certified))
            .ok_or_else(|| invalid("certified must be true or false".into()))?;
        let room = given(&row.room).map(str::to_owned);
        if room.as_ref().is_some_and(|r| r.chars().count() > 50) {
            return Err(invalid("room must be at most 50 characters".into()));
        }
        let names_home = given(&row.account_no).is_some() || given(&row.address).is_some();
        if kind != Kind::Outdoor && given(&row.district).is_some() {
            return Err(invalid(
                "only an outdoor sensor names a district (the others have it from the registry)"
                    .into(),
            ));
        }
        let (building_id, household, station) = match kind {
            Kind::Outdoor => {
                if given(&row.building_id).is_some() || names_home || given(&row.station).is_some()
                {
                    return Err(invalid(
                        "an outdoor sensor names its district, not a building, home or station"
                            .into(),
                    ));
                }
                let district = given(&row.district)
                    .ok_or_else(|| invalid("an outdoor sensor needs its district".into()))?;
                if !districts.contains(district) {
                    return Err(invalid(format!(
                        "district {district} has no building in the building registry \
                         (import buildings first)"
                    )));
                }
                (None, None, None)
            }
            Kind::Station => {
                if given(&row.building_id).is_some() || names_home {
                    return Err(invalid(
                        "a station sensor names its station, not a building or a home".into(),
                    ));
                }
                let station = given(&row.station)
                    .ok_or_else(|| invalid("a station sensor needs its station".into()))?;
                if !stations.contains(station) {
                    return Err(invalid(format!(
                        "station {station} feeds no building in the building registry \
                         (import buildings first)"
                    )));
                }
                (None, None, Some(station.to_owned()))
            }
            Kind::Room | Kind::Building => {
                let building = given(&row.building_id).ok_or_else(|| {
                    invalid(format!("a {} sensor needs its building_id", kind.as_str()))
                })?;
                let station = buildings.get(building).ok_or_else(|| {
                    invalid(format!(
                        "building {building} is not in the building registry (import \
                         buildings first)"
                    ))
                })?;
                if let Some(named) = given(&row.station).filter(|s| s != station) {
                    return Err(invalid(format!(
                        "building {building} is fed by station {station}, not {named}"
                    )));
                }
                let household = household_key(pseudonyms, &row.account_no, &row.address)
                    .map_err(|reason| invalid(reason.into()))?;
                match (kind, &household) {
                    (Kind::Room, None) => {
                        return Err(invalid(
                            "a room sensor needs its home's account_no or address".into(),
                        ));
                    }
                    (Kind::Building, Some(_)) => {
                        return Err(invalid(
                            "a building sensor names no home (a room sensor does)".into(),
                        ));
                    }
                    _ => {}
                }
                (
                    Some(building.to_owned()),
                    household.map(|h| h.as_str().to_owned()),
                    Some(station.clone()),
                )
            }
        };
        sensors.push(Sensor {
            id: id.to_owned(),
            kind,
            building_id,
            household,
            station,
            district: (kind == Kind::Outdoor)
                .then(|| given(&row.district).map(str::to_owned))
                .flatten(),
            room,
            certified,
            installed_on,
        });
    }
    Ok(sensors)
}

/// How many rows one INSERT carries.
const CHUNK: usize = 5_000;

/// Adds or replaces `sensors` in one transaction; answers how many were written.
pub async fn import(
    pool: &Pool,
    sensors: &[Sensor],
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare(
            "INSERT INTO intake.sensor (sensor_id, kind, building_id, household, station, room, \
             certified, installed_on, district, imported_at) \
             SELECT *, $10::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::text[], $6::text[], $7::bool[], $8::date[], $9::text[]) \
             ON CONFLICT (sensor_id) DO UPDATE SET kind = EXCLUDED.kind, \
             building_id = EXCLUDED.building_id, household = EXCLUDED.household, \
             station = EXCLUDED.station, room = EXCLUDED.room, certified = EXCLUDED.certified, \
             district = EXCLUDED.district, \
             installed_on = EXCLUDED.installed_on, imported_at = EXCLUDED.imported_at",
        )
        .await?;
    for chunk in sensors.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|s| s.id.as_str()).collect();
        let kinds: Vec<&str> = chunk.iter().map(|s| s.kind.as_str()).collect();
        let buildings: Vec<Option<&str>> = chunk.iter().map(|s| s.building_id.as_deref()).collect();
        let households: Vec<Option<&str>> = chunk.iter().map(|s| s.household.as_deref()).collect();
        let stations: Vec<Option<&str>> = chunk.iter().map(|s| s.station.as_deref()).collect();
        let districts: Vec<Option<&str>> = chunk.iter().map(|s| s.district.as_deref()).collect();
        let rooms: Vec<Option<&str>> = chunk.iter().map(|s| s.room.as_deref()).collect();
        let certified: Vec<bool> = chunk.iter().map(|s| s.certified).collect();
        let installed: Vec<NaiveDate> = chunk.iter().map(|s| s.installed_on).collect();
        tx.execute(
            &statement,
            &[
                &ids,
                &kinds,
                &buildings,
                &households,
                &stations,
                &rooms,
                &certified,
                &installed,
                &districts,
                &at,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    client.batch_execute("ANALYZE intake.sensor").await?;
    Ok(sensors.len())
}
