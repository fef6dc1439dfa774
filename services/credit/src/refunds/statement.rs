//! What the refund ledger answers: a household's statement, a what-if under another version,
//! totals by supplier, and the rows of the suppliers' billing export.

use chrono::NaiveDate;
use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::read::{self, Registered};
use crate::domain::refund_rules::RefundVersion;
use crate::domain::refunds::{RefundDay, refund_days};
use crate::domain::values::Season;

/// One refunded day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RefundDayView {
    /// The China date.
    #[schema(value_type = String, example = "2026-12-01")]
    pub day: NaiveDate,
    /// `refund.temperature`, `refund.outage` or `refund.late_start`.
    pub rule: String,
    /// The tier (`14.0–16.0 ℃`) or `whole day`.
    pub tier: String,
    /// The share of the day's fee refunded, in percent.
    pub share_pct: u32,
    /// The lowest certified temperature in force that day, for a temperature day.
    pub lowest_celsius: Option<f64>,
    /// The refund, in fen.
    pub amount_fen: i64,
    /// The refund rulebook version it was counted under.
    pub version: String,
    /// The published events behind it.
    pub evidence: Vec<Uuid>,
    /// The repair tickets behind it.
    pub tickets: Vec<String>,
}

impl RefundDayView {
    fn of(day: RefundDay, version: &str) -> Self {
        RefundDayView {
            day: day.day,
            rule: day.rule.as_str().into(),
            tier: day.tier,
            share_pct: day.share_pct,
            lowest_celsius: day.lowest_tenths.map(|t| f64::from(t) / 10.0),
            amount_fen: day.amount_fen,
            version: version.into(),
            evidence: day.evidence,
            tickets: day.tickets,
        }
    }
}

/// A household's refunds in a season.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RefundStatement {
    /// The household (the opaque key of its complaints).
    pub household: String,
    /// The season.
    pub season: String,
    /// Whether the household's fee basis is registered: without it nothing is accrued.
    pub registered: bool,
    /// The supplier that owes the refund.
    pub supplier_id: Option<String>,
    /// Its heated area in m².
    pub area_m2: Option<f64>,
    /// The season's fee, in fen.
    pub season_fee_fen: Option<i64>,
    /// The refunded days, in date order.
    pub days: Vec<RefundDayView>,
    /// The season's refund so far, in fen.
    pub total_fen: i64,
    /// Repairs of the household not resolved yet: their days count once they are.
    pub repairs_open: i64,
    /// Set when the household's heating is stopped for the season (停暖): it pays the base
    /// fee share of its fee instead of the whole.
    pub heating_stopped: Option<HeatingStoppedView>,
}

/// A household stopped for the season.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HeatingStoppedView {
    /// The approved application.
    pub application_id: Uuid,
    /// When the crew sealed the valve.
    pub since: chrono::DateTime<chrono::Utc>,
    /// The share of the season's fee still paid, in percent.
    pub base_fee_share_pct: u32,
    /// That base fee in fen, when the fee basis is registered.
    pub base_fee_fen: Option<i64>,
    /// The published event that stopped it.
    pub evidence: Uuid,
}

/// The base fee of a season fee at `share_pct`, in fen, rounded half up.
pub fn base_fee(season_fee_fen: i64, share_pct: u32) -> i64 {
    (season_fee_fen * i64::from(share_pct) + 50) / 100
}

/// A household's registration, if any.
pub async fn registration(
    client: &impl GenericClient,
    household: &str,
) -> Result<Option<Registered>, tokio_postgres::Error> {
    Ok(read::registered(client, &[household.to_owned()])
        .await?
        .into_iter()
        .next())
}

/// A household's statement: the days accrued in its ledger.
pub async fn statement(
    client: &impl GenericClient,
    season: Season,
    household: &str,
) -> Result<RefundStatement, tokio_postgres::Error> {
    let registered = registration(client, household).await?;
    let rows = client
        .query(
            "SELECT day, rule, tier, share_pct, lowest_tenths, amount_fen, version, evidence, \
             tickets, supplier_id FROM credit.refund_day WHERE season = $1 AND household = $2 \
             ORDER BY day",
            &[&season.to_string(), &household],
        )
        .await?;
    let days: Vec<RefundDayView> = rows
        .iter()
        .map(|r| RefundDayView {
            day: r.get(0),
            rule: r.get(1),
            tier: r.get(2),
            share_pct: r.get::<_, i32>(3) as u32,
            lowest_celsius: r.get::<_, Option<i32>>(4).map(|t| f64::from(t) / 10.0),
            amount_fen: r.get(5),
            version: r.get(6),
            evidence: r.get(7),
            tickets: r.get(8),
        })
        .collect();
    let open = client
        .query_one(
            "SELECT count(*) FROM credit.refund_ticket t \
             WHERE t.filed_at >= $1 AND t.filed_at < $2 \
             AND (EXISTS (SELECT 1 FROM credit.refund_ticket_household th \
                          WHERE th.ticket_id = t.ticket_id AND th.household = $3) \
                  OR (t.incident AND t.building_id = $4)) \
             AND NOT EXISTS (SELECT 1 FROM credit.refund_resolution r \
                             WHERE r.ticket_id = t.ticket_id \
                             AND r.cycle >= coalesce((SELECT max(cycle) FROM credit.refund_reopening o \
                                                      WHERE o.ticket_id = t.ticket_id), 1))",
            &[
                &season.starts_at(),
                &season.ends_at(),
                &household,
                &registered.as_ref().map(|r| r.building_id.clone()),
            ],
        )
        .await?;
    let supplier = registered
        .as_ref()
        .map(|r| r.supplier_id.clone())
        .or_else(|| rows.first().map(|r| r.get(9)));
    let season_fee_fen = registered.as_ref().map(|r| r.basis.season_fee_fen());
    let heating_stopped = client
        .query_opt(
            "SELECT application_id, at, base_fee_share_pct, event_id FROM credit.refund_stopped \
             WHERE household = $1 AND season = $2 AND stopped",
            &[&household, &season.to_string()],
        )
        .await?
        .map(|r| {
            let share = r.get::<_, i32>(2) as u32;
            HeatingStoppedView {
                application_id: r.get(0),
                since: r.get(1),
                base_fee_share_pct: share,
                base_fee_fen: season_fee_fen.map(|fee| base_fee(fee, share)),
                evidence: r.get(3),
            }
        });
    Ok(RefundStatement {
        household: household.into(),
        season: season.to_string(),
        registered: registered.is_some(),
        supplier_id: supplier,
        area_m2: registered
            .as_ref()
            .map(|r| r.basis.area_centi_m2 as f64 / 100.0),
        season_fee_fen,
        total_fen: days.iter().map(|d| d.amount_fen).sum(),
        days,
        repairs_open: open.get(0),
        heating_stopped,
    })
}

/// A household's season counted again under another version, beside what was accrued.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RefundWhatIf {
    /// What the ledger holds.
    pub accrued: RefundStatement,
    /// The version counted under.
    pub version: String,
    /// The days under it.
    pub days: Vec<RefundDayView>,
    /// Their sum, in fen.
    pub total_fen: i64,
    /// `total_fen` less the accrued total.
    pub difference_fen: i64,
}

/// Counts a registered household's season under `version` from the facts as they are now;
/// nothing is written.
pub async fn what_if(
    client: &impl GenericClient,
    season: Season,
    home: &Registered,
    version: &RefundVersion,
) -> Result<RefundWhatIf, tokio_postgres::Error> {
    let cycles = read::cycles(
        client,
        &home.household,
        Some(&home.building_id),
        season,
        read::NOW,
    )
    .await?;
    let days: Vec<RefundDayView> = refund_days(version, season, home.basis, &cycles)
        .into_iter()
        .map(|d| RefundDayView::of(d, &version.version))
        .collect();
    let accrued = statement(client, season, &home.household).await?;
    let total_fen: i64 = days.iter().map(|d| d.amount_fen).sum();
    Ok(RefundWhatIf {
        difference_fen: total_fen - accrued.total_fen,
        version: version.version.clone(),
        accrued,
        days,
        total_fen,
    })
}

/// A supplier's refunds owed in a season.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SupplierRefunds {
    /// The supplier.
    pub supplier_id: String,
    /// Households with a refund.
    pub households: i64,
    /// Refunded days.
    pub days: i64,
    /// The sum, in fen.
    pub amount_fen: i64,
}

/// What each supplier owes in `season` (only `supplier`'s when given).
pub async fn by_supplier(
    client: &impl GenericClient,
    season: Season,
    supplier: Option<&str>,
) -> Result<Vec<SupplierRefunds>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT supplier_id, count(DISTINCT household), count(*), sum(amount_fen)::bigint \
             FROM credit.refund_day WHERE season = $1 AND ($2::text IS NULL OR supplier_id = $2) \
             GROUP BY supplier_id ORDER BY supplier_id",
            &[&season.to_string(), &supplier],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| SupplierRefunds {
            supplier_id: r.get(0),
            households: r.get(1),
            days: r.get(2),
            amount_fen: r.get(3),
        })
        .collect())
}

/// The billing export: one line per refunded day, with a BOM so that spreadsheet programs
/// read it as UTF-8.
pub async fn csv(
    client: &impl GenericClient,
    season: Season,
    supplier: Option<&str>,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let rows = client
        .query(
            "SELECT supplier_id, household, day, rule, tier, share_pct, amount_fen, version, \
             tickets, evidence FROM credit.refund_day \
             WHERE season = $1 AND ($2::text IS NULL OR supplier_id = $2) \
             ORDER BY supplier_id, household, day",
            &[&season.to_string(), &supplier],
        )
        .await?;
    let mut out = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
    out.write_record([
        "supplier_id",
        "household",
        "day",
        "rule",
        "tier",
        "share_pct",
        "amount_fen",
        "refund_rulebook_version",
        "ticket_ids",
        "evidence_event_ids",
    ])?;
    for r in &rows {
        let tickets: Vec<String> = r.get(8);
        let evidence: Vec<Uuid> = r.get(9);
        out.write_record([
            r.get::<_, String>(0),
            r.get(1),
            r.get::<_, NaiveDate>(2).to_string(),
            r.get(3),
            r.get(4),
            r.get::<_, i32>(5).to_string(),
            r.get::<_, i64>(6).to_string(),
            r.get(7),
            tickets.join(" "),
            evidence
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ])?;
    }
    Ok(out.into_inner()?)
}

/// A household's refunds in a season, in short.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HouseholdRefunds {
    /// The household.
    pub household: String,
    /// The supplier that owes it.
    pub supplier_id: String,
    /// Its building, when registered.
    pub building_id: Option<String>,
    /// Its district, when registered.
    pub district: Option<String>,
    /// Refunded days.
    pub days: i64,
    /// Their sum, in fen.
    pub amount_fen: i64,
    /// The latest refunded day.
    #[schema(value_type = String, example = "2026-12-01")]
    pub last_day: NaiveDate,
}

/// The households with a refund in `season` (only `supplier`'s when given), the largest
/// refund first, at most `limit`.
pub async fn households(
    client: &impl GenericClient,
    season: Season,
    supplier: Option<&str>,
    limit: i64,
) -> Result<Vec<HouseholdRefunds>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT d.household, d.supplier_id, h.building_id, h.district, count(*), \
             sum(d.amount_fen)::bigint, max(d.day) \
             FROM credit.refund_day d LEFT JOIN credit.refund_household h USING (household) \
             WHERE d.season = $1 AND ($2::text IS NULL OR d.supplier_id = $2) \
             GROUP BY d.household, d.supplier_id, h.building_id, h.district \
             ORDER BY sum(d.amount_fen) DESC, d.household LIMIT $3",
            &[&season.to_string(), &supplier, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| HouseholdRefunds {
            household: r.get(0),
            supplier_id: r.get(1),
            building_id: r.get(2),
            district: r.get(3),
            days: r.get(4),
            amount_fen: r.get(5),
            last_day: r.get(6),
        })
        .collect())
}
