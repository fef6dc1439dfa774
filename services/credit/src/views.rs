//! What credit shows: a supplier's score by dimension (now or as of a moment), its ledger with
//! the evidence behind each entry, a season's ranking, appeals, and the ledger as CSV.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use platform::pagination::Cursor;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::rulebook::Version;
use crate::domain::values::{
    Centipoints, Dimension, Grade, Season, points_number, points_text, total,
};

/// One dimension of a score.
#[derive(Debug, Serialize, ToSchema)]
pub struct DimensionView {
    /// `heating_quality`, ...
    pub dimension: String,
    /// Its weight.
    pub weight: f64,
    /// Its points now (weight plus its entries).
    pub points: f64,
}

/// A month closed, or the final grade.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosingView {
    /// `2026-12`, or the season.
    pub period: String,
    /// The final grade of the season.
    pub is_final: bool,
    /// The score at the period's end.
    pub score: f64,
    /// The grade then.
    pub grade: String,
    /// Whether a veto stood.
    pub vetoed: bool,
    /// When the period ended.
    pub at: DateTime<Utc>,
    /// When the regulator published it (absent: not public).
    pub published_at: Option<DateTime<Utc>>,
}

/// A supplier's score in a season.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    /// The supplier.
    pub supplier_id: String,
    /// The season.
    pub season: String,
    /// The moment it is computed for (absent: now).
    pub as_of: Option<DateTime<Utc>>,
    /// The rulebook version of the season.
    pub rulebook_version: String,
    /// 0–100.
    pub score: f64,
    /// `A` to `D`.
    pub grade: String,
    /// `provisional`, or `final` once the season is closed.
    pub status: String,
    /// Whether a veto stands (grade D).
    pub vetoed: bool,
    /// By dimension.
    pub dimensions: Vec<DimensionView>,
    /// Entries counted.
    pub entries: i64,
    /// Months closed so far (none for a past moment before them).
    pub closings: Vec<ClosingView>,
}

/// A ledger's entries summed up to a moment.
#[derive(Debug, Clone, Default)]
pub struct Sums {
    /// By scored dimension.
    pub by_dimension: [Centipoints; 6],
    /// Entries counted.
    pub entries: i64,
    /// Whether a veto stood.
    pub vetoed: bool,
}

impl Sums {
    /// The total score.
    pub fn score(&self) -> Centipoints {
        total(self.by_dimension.iter().sum())
    }
}

/// Sums a ledger's entries whose facts happened by `at`.
pub async fn sums_as_of(
    client: &impl GenericClient,
    supplier: &str,
    season: Season,
    at: DateTime<Utc>,
) -> Result<Sums, tokio_postgres::Error> {
    let rows = client
        .query(
            include_str!("sql/score_as_of.sql"),
            &[&season.to_string(), &supplier, &at],
        )
        .await?;
    let mut sums = Sums::default();
    for row in &rows {
        let dimension: String = row.get("dimension");
        sums.entries += row.get::<_, i64>("entries");
        if let Some(index) = Dimension::parse(&dimension).and_then(Dimension::index) {
            sums.by_dimension[index] = row.get("points");
        }
        sums.vetoed |= row.get::<_, bool>("veto_standing");
    }
    Ok(sums)
}

/// Computes a score from the sums of entries by dimension.
pub async fn score(
    client: &impl GenericClient,
    version: &Version,
    supplier: &str,
    season: Season,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<ScoreView>, tokio_postgres::Error> {
    let season_text = season.to_string();
    let at = as_of.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let known = client
        .query_opt(
            "SELECT 1 FROM credit.supplier WHERE supplier_id = $1 \
             UNION ALL SELECT 1 FROM credit.standing WHERE season = $2 AND supplier_id = $1 \
             LIMIT 1",
            &[&supplier, &season_text],
        )
        .await?;
    if known.is_none() {
        return Ok(None);
    }
    let Sums {
        by_dimension: sums,
        entries,
        vetoed,
    } = sums_as_of(client, supplier, season, at).await?;
    let score = total(sums.iter().sum());
    let closings: Vec<ClosingView> = client
        .query(
            "SELECT c.period, c.is_final, c.score, c.grade, c.vetoed, c.at, p.published_at \
             FROM credit.closing c LEFT JOIN credit.publication p \
               ON p.season = c.season AND p.supplier_id = c.supplier_id AND p.period = c.period \
             WHERE c.season = $1 AND c.supplier_id = $2 AND c.at <= $3 ORDER BY c.at, c.is_final",
            &[&season_text, &supplier, &at],
        )
        .await?
        .iter()
        .map(|r| ClosingView {
            period: r.get(0),
            is_final: r.get(1),
            score: points_number(r.get(2)),
            grade: r.get(3),
            vetoed: r.get(4),
            at: r.get(5),
            published_at: r.get(6),
        })
        .collect();
    let status = if closings.iter().any(|c| c.is_final) {
        "final"
    } else {
        "provisional"
    };
    Ok(Some(ScoreView {
        supplier_id: supplier.to_owned(),
        season: season_text,
        as_of,
        rulebook_version: version.version.clone(),
        score: points_number(score),
        grade: Grade::of(score, vetoed).as_str().into(),
        status: status.into(),
        vetoed,
        dimensions: Dimension::SCORED
            .iter()
            .zip(sums)
            .map(|(d, sum)| DimensionView {
                dimension: d.as_str().into(),
                weight: points_number(version.weight(*d)),
                points: points_number(version.weight(*d) + sum),
            })
            .collect(),
        entries,
        closings,
    }))
}

/// A link to something behind an entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    /// Its id.
    pub id: String,
    /// Where to read it.
    pub href: String,
}

/// A ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// Its id (what an appeal names).
    pub entry_id: Uuid,
    /// Its place in the ledger (1, 2, ...).
    pub sequence: i64,
    /// Its dimension (`veto` for a veto).
    pub dimension: String,
    /// Its rule.
    pub rule: String,
    /// The rulebook version (empty for a regulator's own entries).
    pub rulebook_version: String,
    /// The change, in points.
    pub points: f64,
    /// The same, exact, as text (`-2.50`).
    pub points_text: String,
    /// What the rule saw, or the regulator's justification.
    pub detail: String,
    /// When its fact happened.
    pub at: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The published events behind it.
    pub evidence: Vec<Link>,
    /// The tickets behind it.
    pub tickets: Vec<Link>,
    /// The entry it reverses, for a reversal.
    pub reverses: Option<Uuid>,
    /// Its appeal: `pending`, `upheld` or `rejected`.
    pub appeal: Option<String>,
}

/// The columns [`entry_view`] reads.
pub const ENTRY_COLUMNS: &str = "e.entry_id, e.sequence, e.dimension, e.rule, \
    e.rulebook_version, e.points, e.detail, e.at, e.recorded_at, e.evidence, e.tickets, \
    e.reverses, a.status AS appeal, e.supplier_id, e.season";

/// Reads an entry row.
pub fn entry_view(row: &Row) -> EntryView {
    let points: i64 = row.get("points");
    let evidence: Vec<Uuid> = row.get("evidence");
    let tickets: Vec<String> = row.get("tickets");
    EntryView {
        entry_id: row.get("entry_id"),
        sequence: row.get("sequence"),
        dimension: row.get("dimension"),
        rule: row.get("rule"),
        rulebook_version: row.get("rulebook_version"),
        points: points_number(points),
        points_text: points_text(points),
        detail: row.get("detail"),
        at: row.get("at"),
        recorded_at: row.get("recorded_at"),
        evidence: evidence
            .iter()
            .map(|id| Link {
                id: id.to_string(),
                href: format!("/api/v1/credit/evidence/{id}"),
            })
            .collect(),
        tickets: tickets
            .into_iter()
            .map(|id| Link {
                href: format!("/api/v1/tickets/{id}"),
                id,
            })
            .collect(),
        reverses: row.get("reverses"),
        appeal: row.get("appeal"),
    }
}

/// A page of a ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    /// Entries in ledger order.
    pub items: Vec<EntryView>,
    /// The next page, if any.
    pub next_cursor: Option<String>,
}

/// A page of a supplier's ledger in a season, after `cursor`.
pub async fn ledger(
    client: &impl GenericClient,
    supplier: &str,
    season: Season,
    after: Option<Uuid>,
    limit: i64,
) -> Result<LedgerPage, tokio_postgres::Error> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM credit.entry e \
         LEFT JOIN credit.appeal a ON a.entry_id = e.entry_id \
         WHERE e.season = $1 AND e.supplier_id = $2 AND e.sequence > coalesce( \
           (SELECT c.sequence FROM credit.entry c WHERE c.entry_id = $3), 0) \
         ORDER BY e.sequence LIMIT $4"
    );
    let rows = client
        .query(
            &sql,
            &[&season.to_string(), &supplier, &after, &(limit + 1)],
        )
        .await?;
    let mut items: Vec<EntryView> = rows.iter().map(entry_view).collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| {
            Cursor {
                at: last.recorded_at,
                id: last.entry_id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(LedgerPage { items, next_cursor })
}

/// One supplier in a season's ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankView {
    /// 1 for the best.
    pub rank: usize,
    /// The supplier.
    pub supplier_id: String,
    /// Its name, when registered.
    pub name: Option<String>,
    /// Its score now.
    pub score: f64,
    /// Its grade now.
    pub grade: String,
    /// Whether a veto stands.
    pub vetoed: bool,
}

/// Every supplier with a ledger in the season, best first (or only `only`).
pub async fn ranking(
    client: &impl GenericClient,
    season: Season,
    only: Option<&str>,
) -> Result<Vec<RankView>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT s.supplier_id, r.name, s.score, s.grade, s.vetoed FROM credit.standing s \
             LEFT JOIN credit.supplier r ON r.supplier_id = s.supplier_id \
             WHERE s.season = $1 ORDER BY s.vetoed, s.score DESC, s.supplier_id",
            &[&season.to_string()],
        )
        .await?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(n, r)| RankView {
            rank: n + 1,
            supplier_id: r.get(0),
            name: r.get(1),
            score: points_number(r.get(2)),
            grade: r.get(3),
            vetoed: r.get(4),
        })
        .filter(|r| only.is_none_or(|only| only == r.supplier_id))
        .collect())
}

/// An appeal.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealView {
    /// Its id.
    pub appeal_id: Uuid,
    /// The supplier.
    pub supplier_id: String,
    /// The season.
    pub season: String,
    /// The appealed entry.
    pub entry_id: Uuid,
    /// The supplier's statement.
    pub statement: String,
    /// Stored attachments.
    pub attachments: Vec<String>,
    /// When it was filed.
    pub filed_at: DateTime<Utc>,
    /// `pending`, `upheld` or `rejected`.
    pub status: String,
    /// The regulator's reason.
    pub reason: Option<String>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The entry that reversed the appealed one, once recorded.
    pub reversal_entry_id: Option<Uuid>,
    /// Who decided it (the regulator's account id).
    pub decided_by: Option<String>,
    /// The end of the regulator's time to decide it.
    pub decide_by: Option<DateTime<Utc>>,
    /// Working days left to decide it after today (0 on the last day, -1 once overdue; pending
    /// ones only).
    pub working_days_left: Option<i64>,
}

/// Appeals, newest first: of one supplier, or all, in a season; or pending ones only.
pub async fn appeals(
    client: &impl GenericClient,
    season: Season,
    supplier: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<AppealView>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT a.appeal_id, a.supplier_id, a.season, a.entry_id, a.statement, \
             a.attachments, a.filed_at, a.status, a.reason, a.decided_at, \
             (SELECT r.entry_id FROM credit.entry r WHERE r.season = a.season \
              AND r.supplier_id = a.supplier_id AND r.reverses = a.entry_id LIMIT 1), \
             (SELECT e.metadata->'actor'->>'id' FROM eventstore.event e \
              WHERE e.aggregate_type = 'supplier_credit' \
              AND e.aggregate_id = a.season || '/' || a.supplier_id \
              AND e.event_type = 'AppealDecided' \
              AND e.payload->>'appeal_id' = a.appeal_id::text LIMIT 1) \
             FROM credit.appeal a WHERE a.season = $1 \
             AND ($2::text IS NULL OR a.supplier_id = $2) \
             AND ($3::text IS NULL OR a.status = $3) \
             ORDER BY a.filed_at DESC LIMIT 500",
            &[&season.to_string(), &supplier, &status],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AppealView {
            appeal_id: r.get(0),
            supplier_id: r.get(1),
            season: r.get(2),
            entry_id: r.get(3),
            statement: r.get(4),
            attachments: r.get(5),
            filed_at: r.get(6),
            status: r.get(7),
            reason: r.get(8),
            decided_at: r.get(9),
            reversal_entry_id: r.get(10),
            decided_by: r.get(11),
            decide_by: None,
            working_days_left: None,
        })
        .collect())
}

/// The ledger of a season as CSV (one supplier, or all), in ledger order.
pub async fn ledger_csv(
    client: &impl GenericClient,
    season: Season,
    supplier: Option<&str>,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let rows = client
        .query(
            "SELECT supplier_id, sequence, entry_id, at, recorded_at, dimension, rule, \
             rulebook_version, points, detail, evidence, tickets, reverses \
             FROM credit.entry WHERE season = $1 AND ($2::text IS NULL OR supplier_id = $2) \
             ORDER BY supplier_id, sequence",
            &[&season.to_string(), &supplier],
        )
        .await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "supplier_id",
        "sequence",
        "entry_id",
        "at",
        "recorded_at",
        "dimension",
        "rule",
        "rulebook_version",
        "points",
        "detail",
        "evidence_event_ids",
        "ticket_ids",
        "reverses_entry_id",
    ])?;
    for r in &rows {
        let evidence: Vec<Uuid> = r.get(10);
        let tickets: Vec<String> = r.get(11);
        let reverses: Option<Uuid> = r.get(12);
        out.write_record([
            r.get::<_, String>(0),
            r.get::<_, i64>(1).to_string(),
            r.get::<_, Uuid>(2).to_string(),
            r.get::<_, DateTime<Utc>>(3).to_rfc3339(),
            r.get::<_, DateTime<Utc>>(4).to_rfc3339(),
            r.get(5),
            r.get(6),
            r.get(7),
            points_text(r.get(8)),
            r.get(9),
            evidence
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            tickets.join(" "),
            reverses.map(|r| r.to_string()).unwrap_or_default(),
        ])?;
    }
    Ok(out.into_inner()?)
}
