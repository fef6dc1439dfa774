//! What dispatchers, suppliers, crews and residents read: the queue, one ticket with its
//! clocks and timeline, a crew's jobs.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use eventstore::{PgEventStore, StoreError};
use platform::pagination::Cursor;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::clock::{ClockKind, ClockRun};
use crate::domain::ticket::{Extension, Ticket};
use crate::domain::values::{Cause, PauseReason, Rating};

const QUEUE: &str = include_str!("sql/queue.sql");
const BANDS: &str = include_str!("sql/bands.sql");

/// The sort time of a ticket with no running deadline (it goes last).
fn never() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z")
        .expect("a valid time")
        .to_utc()
}

/// A ticket in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueItem {
    /// The ticket's id (the complaint's or incident's).
    pub ticket_id: Uuid,
    /// Its version, for `If-Match`.
    pub version: i64,
    /// `complaint` or `incident`.
    pub origin: String,
    /// Where it stands.
    pub status: String,
    /// The complaint category.
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// District.
    pub district: Option<String>,
    /// Heat-exchange station.
    pub station: Option<String>,
    /// Building.
    pub building_id: Option<String>,
    /// The supplier it is dispatched to.
    pub supplier_id: Option<String>,
    /// The crew assigned.
    pub crew_id: Option<String>,
    /// How many households it carries.
    pub households: i32,
    /// 1, then one more per reopening.
    pub cycle: i32,
    /// Work is paused.
    pub paused: bool,
    /// A clock of this cycle breached.
    pub breached: bool,
    /// The nearest deadline of a running clock, breached or not.
    pub next_deadline: Option<DateTime<Utc>>,
    /// The clock of the nearest deadline still to pass.
    pub next_clock: Option<String>,
    /// Seconds left before `next_deadline` (negative when late).
    pub seconds_left: Option<i64>,
    /// When the (first) complaint was filed.
    pub filed_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The channel of its first complaint (`app`, `wechat`, `hotline`, `12345`, `open311`,
    /// `sensor`); absent for incidents.
    pub channel: Option<String>,
    /// Its band now: `breached` (a deadline passed), `paused`, `at_risk` (a quarter of the
    /// nearest clock's target or less left) or `on_time`.
    pub band: String,
}

impl QueueItem {
    fn from_row(row: &Row, now: DateTime<Utc>) -> Self {
        let sort_at: DateTime<Utc> = row.get("sort_at");
        let next_deadline = (sort_at < never()).then_some(sort_at);
        QueueItem {
            ticket_id: row.get("ticket_id"),
            version: row.get("version"),
            origin: row.get("origin"),
            status: row.get("status"),
            category: row.get("category"),
            priority: row.get("priority"),
            district: row.get("district"),
            station: row.get("station"),
            building_id: row.get("building_id"),
            supplier_id: row.get("supplier_id"),
            crew_id: row.get("crew_id"),
            households: row.get("households"),
            cycle: row.get("cycle"),
            paused: row.get("paused"),
            breached: row.get("breached"),
            next_deadline,
            next_clock: row.get("next_clock"),
            seconds_left: next_deadline.map(|d| (d - now).num_seconds()),
            filed_at: row.get("filed_at"),
            updated_at: row.get("updated_at"),
            channel: row.get("channel"),
            band: row.get("band"),
        }
    }
}

/// A page of tickets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuePage {
    /// The tickets, nearest breach first.
    pub items: Vec<QueueItem>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// What the queue is filtered by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct QueueFilter {
    /// District.
    pub district: Option<String>,
    /// Supplier.
    pub supplier: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Crew.
    pub crew: Option<String>,
    /// Channel of the first complaint.
    pub channel: Option<String>,
    /// Band (`breached`, `at_risk`, `paused`, `on_time`).
    pub band: Option<String>,
}

/// How many open tickets are in each band, under the queue's filters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bands {
    /// A deadline passed.
    pub breached: i64,
    /// A quarter of the nearest clock's target or less left.
    pub at_risk: i64,
    /// Work is paused.
    pub paused: i64,
    /// The rest.
    pub on_time: i64,
    /// All of them.
    pub total: i64,
    /// When they were counted (the bands move with time).
    pub at: DateTime<Utc>,
}

/// Counts the open tickets of each band at `now`.
pub async fn bands(
    client: &impl GenericClient,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> Result<Bands, StoreError> {
    let statement = client.prepare_cached(BANDS).await?;
    let row = client
        .query_one(
            &statement,
            &[
                &filter.district,
                &filter.supplier,
                &filter.status,
                &filter.priority,
                &filter.crew,
                &filter.channel,
                &now,
            ],
        )
        .await?;
    let (breached, at_risk, paused, total): (i64, i64, i64, i64) = (
        row.get("breached"),
        row.get("at_risk"),
        row.get("paused"),
        row.get("total"),
    );
    Ok(Bands {
        breached,
        at_risk,
        paused,
        on_time: total - breached - at_risk - paused,
        total,
        at: now,
    })
}

/// Open tickets, sorted by time left before their nearest breach (overdue first).
pub async fn queue(
    client: &impl GenericClient,
    filter: &QueueFilter,
    cursor: Option<Cursor>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<QueuePage, StoreError> {
    let statement = client.prepare_cached(QUEUE).await?;
    let (after_at, after_id) = cursor.map_or((None, None), |c| (Some(c.at), Some(c.id)));
    let rows = client
        .query(
            &statement,
            &[
                &filter.district,
                &filter.supplier,
                &filter.status,
                &filter.priority,
                &filter.crew,
                &after_at,
                &after_id,
                &(limit + 1),
                &filter.channel,
                &filter.band,
                &now,
            ],
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = more.then(|| rows.last()).flatten().map(|row| {
        Cursor {
            at: row.get("sort_at"),
            id: row.get("ticket_id"),
        }
        .encode()
    });
    Ok(QueuePage {
        items: rows.iter().map(|r| QueueItem::from_row(r, now)).collect(),
        next_cursor,
    })
}

/// One clock run as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClockView {
    /// Which clock.
    pub clock: ClockKind,
    /// Its cycle.
    pub cycle: u32,
    /// The target in words.
    pub target: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it breaches (moved by pauses and the extension).
    pub deadline: Option<DateTime<Utc>>,
    /// When it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Running, paused or stopped.
    pub state: &'static str,
    /// Seconds counted, pauses excluded.
    pub used_seconds: i64,
    /// Seconds left (negative when late).
    pub left_seconds: Option<i64>,
    /// Past its deadline.
    pub breached: bool,
    /// When the breach was recorded.
    pub breach_recorded_at: Option<DateTime<Utc>>,
}

impl ClockView {
    fn of(run: &ClockRun, now: DateTime<Utc>) -> Self {
        ClockView {
            clock: run.kind,
            cycle: run.cycle,
            target: run.target.clone(),
            started_at: run.started_at,
            deadline: run.deadline,
            stopped_at: run.stopped_at,
            state: match (run.is_running(), run.paused_since.is_some()) {
                (false, _) => "stopped",
                (true, true) => "paused",
                (true, false) => "running",
            },
            used_seconds: run.used(now).num_seconds(),
            left_seconds: run.left(now).map(|d| d.num_seconds()),
            breached: run.late(now),
            breach_recorded_at: run.breached_at,
        }
    }
}

/// A measurement as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasurementView {
    /// ℃.
    pub celsius: f64,
    /// Which room.
    pub room: String,
    /// The certified device.
    pub device_id: String,
    /// When.
    pub measured_at: DateTime<Utc>,
    /// In which cycle.
    pub cycle: u32,
    /// At or above 18 ℃.
    pub standard_met: bool,
}

/// One entry of a ticket's timeline: an event with who did it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// The event's number in the ticket (its version after it).
    pub sequence: usize,
    /// Its id: the evidence regulators cite.
    pub event_id: Uuid,
    /// What happened (`TicketSigned`, ...).
    pub event: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The actor's role (`system` for the timer and intake's news).
    pub actor_role: String,
    /// The channel.
    pub channel: String,
    /// The event's fields.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A complaint the ticket carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    /// The complaint.
    pub complaint_id: String,
    /// The household (an opaque key).
    pub household: String,
    #[serde(skip)]
    filed_by: String,
}

/// One ticket, whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    /// The id.
    pub ticket_id: Uuid,
    /// The version, for `If-Match` (also the `ETag`).
    pub version: usize,
    /// Where it stands.
    pub status: String,
    /// `complaint` or `incident`.
    pub origin: String,
    /// The category.
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// District.
    pub district: Option<String>,
    /// Station.
    pub station: Option<String>,
    /// Building.
    pub building_id: Option<String>,
    /// The 12345 work order.
    pub hotline_work_order: Option<String>,
    /// The supplier.
    pub supplier_id: Option<String>,
    /// The crew.
    pub crew_id: Option<String>,
    /// The crew's name as the crew register has it now.
    pub crew_name: Option<String>,
    /// The cycle.
    pub cycle: u32,
    /// Why work is paused.
    pub paused: Option<PauseReason>,
    /// `none`, `requested`, `refused` or `granted`.
    pub extension: &'static str,
    /// The cause of the resolution.
    pub cause: Option<Cause>,
    /// The feedback of each cycle.
    pub feedback: Vec<Rating>,
    /// How it was closed.
    pub outcome: Option<String>,
    /// The incident's ticket it was merged into.
    pub merged_into: Option<String>,
    /// Its complaints.
    pub complaints: Vec<MemberView>,
    /// Its measurements.
    pub measurements: Vec<MeasurementView>,
    /// Every run of every clock.
    pub clocks: Vec<ClockView>,
    /// Every event, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// Events whose fields name the ticket's filers or carry their words: which complaints and
/// households it took on, and the verdicts.
const ABOUT_FILERS: [&str; 4] = [
    "TicketOpened",
    "ComplaintAttached",
    "FeedbackGiven",
    "MemberVerdictGiven",
];

impl TicketView {
    /// The ticket as resident `account`, one of its filers, may read it: the repair's progress,
    /// their own complaints, and nothing of the other filers (their complaints, households and
    /// verdicts; these events show only that they happened).
    pub fn for_filer(mut self, account: &str) -> TicketView {
        self.complaints.retain(|m| m.filed_by == account);
        for entry in &mut self.timeline {
            if ABOUT_FILERS.contains(&entry.event.as_str()) {
                entry.details = serde_json::Value::Object(serde_json::Map::new());
            }
        }
        self
    }
}

/// A ticket with its timeline; `None` when it does not exist.
pub async fn ticket(
    store: &PgEventStore,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(Ticket, TicketView)>, StoreError> {
    let events = store.stream::<Ticket>(&id.to_string()).await?;
    if events.is_empty() {
        return Ok(None);
    }
    let mut state = Ticket::default();
    let mut timeline = Vec::with_capacity(events.len());
    for recorded in events {
        let details = match serde_json::to_value(&recorded.payload) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().next().map(|(_, v)| v),
            _ => None,
        };
        timeline.push(TimelineEntry {
            sequence: recorded.sequence,
            event_id: recorded.event_id,
            event: recorded.event_type.clone(),
            at: recorded.payload.at(),
            actor_role: recorded.metadata.actor.role.clone(),
            channel: recorded.metadata.channel.as_str().to_owned(),
            details: details.unwrap_or_default(),
        });
        cqrs_es::Aggregate::apply(&mut state, recorded.payload);
    }
    let Some(subject) = state.subject.clone() else {
        return Ok(None);
    };
    let crew_name = match state.crew.as_deref().map(str::parse::<Uuid>) {
        Some(Ok(crew_id)) => {
            let client = store.pool().get().await.map_err(StoreError::from)?;
            crew(&client, crew_id).await?.map(|c| c.name)
        }
        _ => None,
    };
    let view = TicketView {
        ticket_id: id,
        version: timeline.len(),
        status: state.status.as_str().to_owned(),
        origin: subject.origin,
        category: subject.category,
        priority: subject.priority,
        district: subject.place.district,
        station: subject.place.station,
        building_id: subject.place.building_id,
        hotline_work_order: subject.hotline_work_order,
        supplier_id: state.supplier.clone(),
        crew_id: state.crew.clone(),
        crew_name,
        cycle: state.cycle,
        paused: state.paused.map(|(reason, _)| reason),
        extension: match state.extension {
            Extension::None => "none",
            Extension::Requested { .. } => "requested",
            Extension::Refused => "refused",
            Extension::Granted { .. } => "granted",
        },
        cause: state.cause,
        feedback: state.feedback.clone(),
        outcome: state.outcome.clone(),
        merged_into: state.merged_into.clone(),
        complaints: state
            .members
            .iter()
            .map(|m| MemberView {
                complaint_id: m.complaint_id.clone(),
                household: m.household.clone(),
                filed_by: m.filed_by.clone(),
            })
            .collect(),
        measurements: state
            .measurements
            .iter()
            .map(|m| MeasurementView {
                celsius: m.tenths.celsius(),
                room: m.room.clone(),
                device_id: m.device_id.clone(),
                measured_at: m.at,
                cycle: m.cycle,
                standard_met: m.tenths >= crate::domain::values::STANDARD,
            })
            .collect(),
        clocks: state.clocks.iter().map(|c| ClockView::of(c, now)).collect(),
        timeline,
    };
    Ok(Some((state, view)))
}

/// A crew in the register.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrewView {
    /// The id (the `crew` scope of its members' tokens).
    pub crew_id: Uuid,
    /// The supplier.
    pub supplier_id: String,
    /// Its name.
    pub name: String,
    /// The district it covers.
    pub district: Option<String>,
    /// Takes jobs.
    pub active: bool,
}

/// The crews of a supplier (all when `None`), by name.
pub async fn crews(
    client: &impl GenericClient,
    supplier: Option<&str>,
    district: Option<&str>,
) -> Result<Vec<CrewView>, StoreError> {
    // In a district: its own crews, and the district-less crews of suppliers with open tickets
    // there (the crews a dispatcher there could assign).
    let rows = client
        .query(
            "SELECT crew_id, supplier_id, name, district, active FROM dispatch.crew c \
             WHERE ($1::text IS NULL OR supplier_id = $1) \
             AND ($2::text IS NULL OR district = $2 OR (district IS NULL AND EXISTS ( \
                 SELECT 1 FROM dispatch.ticket t \
                 WHERE t.is_open AND t.district = $2 AND t.supplier_id = c.supplier_id))) \
             ORDER BY supplier_id, name LIMIT 1000",
            &[&supplier, &district],
        )
        .await?;
    Ok(rows.iter().map(crew_from_row).collect())
}

/// One crew.
pub async fn crew(client: &impl GenericClient, id: Uuid) -> Result<Option<CrewView>, StoreError> {
    let row = client
        .query_opt(
            "SELECT crew_id, supplier_id, name, district, active FROM dispatch.crew \
             WHERE crew_id = $1",
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(crew_from_row))
}

fn crew_from_row(row: &Row) -> CrewView {
    CrewView {
        crew_id: row.get(0),
        supplier_id: row.get(1),
        name: row.get(2),
        district: row.get(3),
        active: row.get(4),
    }
}
