//! What staff and residents read: complaints from `intake.complaint`, timelines from the
//! complaint's own events.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use eventstore::StoreError;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

/// A complaint as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintView {
    /// Its id.
    pub complaint_id: Uuid,
    /// `open`, `merged`, `signed`, `withdrawn` or `rejected`.
    pub status: String,
    /// The category code.
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// `app`, `wechat`, `hotline_operator`, `hotline_platform`, `open311` or `sensor`.
    pub source: String,
    /// Whether the registry (or a dispatcher) placed it.
    pub routed: bool,
    /// The building.
    pub building_id: Option<String>,
    /// The heat-exchange station.
    pub station: Option<String>,
    /// The district.
    pub district: Option<String>,
    /// The supplier.
    pub supplier_id: Option<String>,
    /// The heating account.
    pub heating_account: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// The resident's reading, ℃.
    pub room_temperature: Option<f64>,
    /// The resident's words.
    pub description: String,
    /// The phone to call back; masked (`138****8000`) for everyone but the filer.
    pub contact_phone: Option<String>,
    /// Whether the phone, the address (shown to the building) and the heating account are
    /// masked for this reader; staff reveal them with `POST /api/v1/complaints/{id}/contact`,
    /// which is recorded.
    pub masked: bool,
    /// Photo ids (`GET /api/v1/photos/{id}`).
    pub photos: Vec<String>,
    /// The 12345 work order.
    pub hotline_work_order: Option<String>,
    /// The complaint this one was merged into.
    pub merged_into: Option<Uuid>,
    /// The incident it belongs to.
    pub incident_id: Option<Uuid>,
    /// When it was filed.
    pub filed_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version (the number of its events).
    pub version: i64,
    /// When its personal data (heating account, address, phone, words, photos) was erased;
    /// those fields are empty from then on.
    pub personal_data_erased_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub(crate) filer: String,
    #[serde(skip)]
    building_address: Option<String>,
}

/// How much of a complaint's personal data a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// All of it: the filer.
    Whole,
    /// The exact address, to find the home; the phone and account masked: a crew on the job.
    Address,
    /// The building, a masked phone and account: staff who do not need more to do their job.
    Masked,
}

/// The masked form of an address: the building's address from the registry when the complaint
/// is placed, else its first half; never the unit or the room.
fn mask_address(address: &str, building: Option<&str>) -> String {
    match building {
        Some(building) => format!("{building} ***"),
        None => {
            let keep = address.chars().count() / 2;
            format!("{}***", address.chars().take(keep).collect::<String>())
        }
    }
}

/// The masked form of a heating account: its first two and last two characters.
fn mask_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let hidden = "*".repeat(chars.len() - 4);
    format!(
        "{}{hidden}{}",
        chars[..2].iter().collect::<String>(),
        chars[chars.len() - 2..].iter().collect::<String>()
    )
}

impl ComplaintView {
    fn from_row(row: &Row) -> ComplaintView {
        ComplaintView {
            complaint_id: row.get("complaint_id"),
            status: row.get("status"),
            category: row.get("category"),
            priority: row.get("priority"),
            source: row.get("source"),
            routed: row.get::<_, Option<String>>("building_id").is_some(),
            building_id: row.get("building_id"),
            station: row.get("station"),
            district: row.get("district"),
            supplier_id: row.get("supplier_id"),
            heating_account: row.get("account_no"),
            address: row.get("address"),
            room_temperature: row
                .get::<_, Option<i32>>("reading_tenths")
                .map(|t| f64::from(t) / 10.0),
            description: row.get("description"),
            contact_phone: row.get("contact_phone"),
            photos: row.get("photos"),
            hotline_work_order: row.get("hotline_work_order"),
            merged_into: row.get("merged_into"),
            incident_id: row.get("incident_id"),
            filed_at: row.get("filed_at"),
            updated_at: row.get("updated_at"),
            version: row.get("version"),
            personal_data_erased_at: row.get("personal_erased_at"),
            masked: false,
            filer: row.get("filer"),
            building_address: row.get("building_address"),
        }
    }

    /// Who filed it (an account id).
    pub fn filer(&self) -> &str {
        &self.filer
    }

    /// The complaint as a reader with `disclosure` sees it.
    pub fn disclosed(mut self, disclosure: Disclosure) -> Self {
        if disclosure == Disclosure::Whole {
            return self;
        }
        self.masked = true;
        self.contact_phone = self
            .contact_phone
            .as_deref()
            .and_then(platform::phone::PhoneNumber::parse_any)
            .map(|p| p.masked());
        self.heating_account = self.heating_account.as_deref().map(mask_account);
        if disclosure == Disclosure::Masked {
            self.address = self
                .address
                .as_deref()
                .map(|a| mask_address(a, self.building_address.as_deref()));
        }
        self
    }
}

/// A page of complaints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    /// The complaints, newest first.
    pub items: Vec<ComplaintView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

pub use platform::pagination::Cursor;

const COLUMNS: &str = "complaint_id, filer, source, category, priority, status, household, \
    account_no, address, contact_phone, building_id, station, district, supplier_id, \
    reading_tenths, description, photos, hotline_work_order, merged_into, incident_id, filed_at, \
    updated_at, version, personal_erased_at, (SELECT b.address FROM intake.building b \
    WHERE b.building_id = intake.complaint.building_id) AS building_address";

/// One complaint.
pub async fn complaint(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<ComplaintView>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM intake.complaint WHERE complaint_id = $1");
    let row = client.query_opt(&sql, &[&id]).await?;
    Ok(row.as_ref().map(ComplaintView::from_row))
}

/// The complaints that carry photo `photo_id` (a photo uploaded once and attached twice is
/// carried by both).
pub async fn carrying_photo(
    client: &impl GenericClient,
    photo_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let rows = client
        .query(
            "SELECT complaint_id FROM intake.complaint WHERE $1 = ANY (photos)",
            &[&photo_id],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A filer's complaints, newest first.
pub async fn filed_by(
    client: &impl GenericClient,
    filer: &str,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page, StoreError> {
    let (after_time, after_id) = cursor.map_or((None, None), |c| (Some(c.at), Some(c.id)));
    let sql = format!(
        "SELECT {COLUMNS} FROM intake.complaint WHERE filer = $1 \
         AND ($2::timestamptz IS NULL OR (filed_at, complaint_id) < ($2, $3)) \
         ORDER BY filed_at DESC, complaint_id DESC LIMIT $4"
    );
    let rows = client
        .query(&sql, &[&filer, &after_time, &after_id, &(limit + 1)])
        .await?;
    Ok(page(rows, limit))
}

fn page(rows: Vec<Row>, limit: i64) -> Page {
    let mut items: Vec<ComplaintView> = rows.iter().map(ComplaintView::from_row).collect();
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more.then(|| items.last()).flatten().map(|last| {
        Cursor {
            at: last.filed_at,
            id: last.complaint_id,
        }
        .encode()
    });
    Page { items, next_cursor }
}

/// What a hotline operator searches by to find a repeat caller.
#[derive(Debug, Default)]
pub struct Search {
    /// The caller's phone (digits).
    pub phone: Option<String>,
    /// A heating account.
    pub account: Option<String>,
    /// The start of an address (normal form).
    pub address: Option<String>,
    /// Only complaints placed in this district (a district dispatcher's reach).
    pub district: Option<String>,
}

/// Live complaints (open, merged or signed) matching every given criterion, newest first.
pub async fn search(
    client: &impl GenericClient,
    search: &Search,
    limit: i64,
) -> Result<Vec<ComplaintView>, StoreError> {
    let address_prefix = search.address.as_ref().map(|a| {
        let escaped = a
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}%")
    });
    let sql = format!(
        "SELECT {COLUMNS} FROM intake.complaint \
         WHERE status IN ('open', 'merged', 'signed') \
         AND ($1::text IS NULL OR contact_phone = $1) \
         AND ($2::text IS NULL OR account_no = $2) \
         AND ($3::text IS NULL OR address LIKE $3) \
         AND ($5::text IS NULL OR district = $5) \
         ORDER BY filed_at DESC, complaint_id DESC LIMIT $4"
    );
    let rows = client
        .query(
            &sql,
            &[
                &search.phone,
                &search.account,
                &address_prefix,
                &limit,
                &search.district,
            ],
        )
        .await?;
    Ok(rows.iter().map(ComplaintView::from_row).collect())
}

/// Open complaints the registry could not place, oldest first, for dispatchers.
pub async fn unrouted(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<ComplaintView>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM intake.complaint WHERE supplier_id IS NULL AND status = 'open' \
         ORDER BY filed_at LIMIT $1"
    );
    let rows = client.query(&sql, &[&limit]).await?;
    Ok(rows.iter().map(ComplaintView::from_row).collect())
}

/// Whether crew `crew` works a ticket (not closed) that carries complaint `complaint`.
pub async fn crew_works_on(
    client: &impl GenericClient,
    crew: &str,
    complaint: Uuid,
) -> Result<bool, StoreError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM intake.ticket_member m \
             JOIN intake.ticket_crew t ON t.ticket_id = m.ticket_id \
             WHERE m.complaint_id = $1 AND t.crew_id = $2)",
            &[&complaint, &crew],
        )
        .await?;
    Ok(row.get(0))
}

/// The id of the reveal recorded as event `version` of complaint `complaint`.
pub fn reveal_id(complaint: Uuid, version: i64) -> Uuid {
    Uuid::new_v5(&complaint, &version.to_be_bytes())
}

/// One reveal of a complaint's contact details.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealView {
    /// Its id.
    pub reveal_id: Uuid,
    /// The complaint.
    pub complaint_id: Uuid,
    /// The complaint's event that records it (its version).
    pub version: i64,
    /// When.
    pub revealed_at: DateTime<Utc>,
    /// The staff account.
    pub account: String,
    /// Its role.
    pub role: String,
    /// Its district, for a district dispatcher.
    pub district: Option<String>,
    /// Its supplier, for supplier staff.
    pub supplier_id: Option<String>,
    /// Why, in their words.
    pub reason: String,
    /// The request that revealed it (also in the logs).
    pub request_id: Option<String>,
}

/// A page of reveals.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealPage {
    /// Newest first.
    pub items: Vec<RevealView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// What the reveal log is filtered by.
#[derive(Debug, Default)]
pub struct RevealFilter {
    /// One complaint's.
    pub complaint: Option<Uuid>,
    /// One staff account's.
    pub account: Option<String>,
}

/// Reveals, newest first.
pub async fn reveals(
    client: &impl GenericClient,
    filter: &RevealFilter,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<RevealPage, StoreError> {
    let (after_time, after_id) = cursor.map_or((None, None), |c| (Some(c.at), Some(c.id)));
    let rows = client
        .query(
            "SELECT reveal_id, complaint_id, version, revealed_at, account, role, district, \
             supplier_id, reason, request_id FROM intake.contact_reveal \
             WHERE ($1::uuid IS NULL OR complaint_id = $1) AND ($2::text IS NULL OR account = $2) \
             AND ($3::timestamptz IS NULL OR (revealed_at, reveal_id) < ($3, $4)) \
             ORDER BY revealed_at DESC, reveal_id DESC LIMIT $5",
            &[
                &filter.complaint,
                &filter.account,
                &after_time,
                &after_id,
                &(limit + 1),
            ],
        )
        .await?;
    let mut items: Vec<RevealView> = rows
        .iter()
        .map(|row| RevealView {
            reveal_id: row.get("reveal_id"),
            complaint_id: row.get("complaint_id"),
            version: row.get("version"),
            revealed_at: row.get("revealed_at"),
            account: row.get("account"),
            role: row.get("role"),
            district: row.get("district"),
            supplier_id: row.get("supplier_id"),
            reason: row.get("reason"),
            request_id: row.get("request_id"),
        })
        .collect();
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more.then(|| items.last()).flatten().map(|last| {
        Cursor {
            at: last.revealed_at,
            id: last.reveal_id,
        }
        .encode()
    });
    Ok(RevealPage { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_address_keeps_the_building_and_never_the_flat() {
        assert_eq!(
            mask_address("和平区南京路100号1栋2单元101", Some("和平区南京路100号1栋")),
            "和平区南京路100号1栋 ***"
        );
        assert_eq!(mask_address("南京路100号2单元101", None), "南京路100***");
        assert_eq!(mask_account("HL0100000001"), "HL********01");
        assert_eq!(mask_account("AB12"), "****");
    }
}
