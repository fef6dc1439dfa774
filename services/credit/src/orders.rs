//! Running cold-snap orders: load the order's stream, decide, append and write its rows, in
//! one transaction; and reading them back with who acknowledged.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use eventstore::{AppendError, EventMetadata, IntegrationEvent, PgEventStore, Publish};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::order::{ColdSnapOrder, OrderCommand, OrderError, OrderEvent};

impl Publish for ColdSnapOrder {
    /// Orders are the regulator's own records, read through credit's API.
    fn publish(&self, _: &str, _: &OrderEvent) -> Vec<IntegrationEvent> {
        Vec::new()
    }
}

/// Why an order command did not land.
#[derive(Debug, thiserror::Error)]
pub enum OrderFailure {
    /// Refused.
    #[error(transparent)]
    Refused(#[from] OrderError),
    /// Another writer won the race.
    #[error("the order changed meanwhile; try again")]
    Contended,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] eventstore::StoreError),
    /// The append failed.
    #[error(transparent)]
    Append(AppendError),
}

impl From<tokio_postgres::Error> for OrderFailure {
    fn from(error: tokio_postgres::Error) -> Self {
        OrderFailure::Store(error.into())
    }
}

/// Runs `command` on order `id`, writing its rows in the same transaction.
pub async fn execute(
    store: &PgEventStore,
    id: Uuid,
    command: OrderCommand,
    metadata: &EventMetadata,
) -> Result<(), OrderFailure> {
    let stream = id.to_string();
    let mut client = store
        .pool()
        .get()
        .await
        .map_err(eventstore::StoreError::from)?;
    let tx = client.transaction().await?;
    let context = store.load_in::<ColdSnapOrder>(&tx, &stream).await?;
    let events = context.state().decide(command)?;
    store
        .append_in(&tx, &context, &events, metadata)
        .await
        .map_err(|e| match e {
            AppendError::Conflict => OrderFailure::Contended,
            other => OrderFailure::Append(other),
        })?;
    let by = metadata.actor.id.clone();
    for event in &events {
        match event {
            OrderEvent::OrderIssued { order, at } => {
                tx.execute(
                    "INSERT INTO credit.cold_snap_order (order_id, districts, suppliers, \
                     starts_at, ends_at, instruction, issued_at, issued_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &id,
                        &order.districts,
                        &order.suppliers,
                        &order.from,
                        &order.until,
                        &order.instruction,
                        at,
                        &by,
                    ],
                )
                .await?;
            }
            OrderEvent::OrderAcknowledged { supplier, note, at } => {
                tx.execute(
                    "INSERT INTO credit.cold_snap_ack (order_id, supplier_id, note, \
                     acknowledged_at, acknowledged_by) VALUES ($1, $2, $3, $4, $5)",
                    &[&id, supplier, note, at, &by],
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    store.notify_appended();
    Ok(())
}

/// A supplier's acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct AckView {
    /// The supplier.
    pub supplier_id: String,
    /// When (absent: not yet).
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// By which account.
    pub acknowledged_by: Option<String>,
    /// Its note.
    pub note: Option<String>,
}

/// An order with its acknowledgements.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    /// Its id.
    pub order_id: Uuid,
    /// The districts.
    pub districts: Vec<String>,
    /// In force from.
    pub from: DateTime<Utc>,
    /// Until.
    pub until: DateTime<Utc>,
    /// What to do.
    pub instruction: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// By which regulator account.
    pub issued_by: String,
    /// Each supplier addressed, acknowledged or not.
    pub suppliers: Vec<AckView>,
    /// How many have not acknowledged.
    pub unacknowledged: usize,
}

/// Orders in force at some moment in `[from, to)` (either open when absent), newest first; only those addressed to
/// `supplier` when given; one order when `id` is given.
pub async fn list(
    client: &impl GenericClient,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    supplier: Option<&str>,
    id: Option<Uuid>,
) -> Result<Vec<OrderView>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT o.order_id, o.districts, o.starts_at, o.ends_at, o.instruction, o.issued_at, \
                    o.issued_by, s.supplier_id, a.acknowledged_at, a.acknowledged_by, a.note \
             FROM credit.cold_snap_order o \
             CROSS JOIN LATERAL unnest(o.suppliers) AS s(supplier_id) \
             LEFT JOIN credit.cold_snap_ack a \
               ON a.order_id = o.order_id AND a.supplier_id = s.supplier_id \
             WHERE ($1::timestamptz IS NULL OR o.ends_at > $1) \
               AND ($2::timestamptz IS NULL OR o.starts_at < $2) \
               AND ($3::text IS NULL OR $3 = ANY(o.suppliers)) \
               AND ($4::uuid IS NULL OR o.order_id = $4) \
             ORDER BY o.starts_at DESC, o.order_id, s.supplier_id",
            &[&from, &to, &supplier, &id],
        )
        .await?;
    let mut out: Vec<OrderView> = Vec::new();
    for r in &rows {
        let order_id: Uuid = r.get(0);
        if out.last().is_none_or(|o| o.order_id != order_id) {
            out.push(OrderView {
                order_id,
                districts: r.get(1),
                from: r.get(2),
                until: r.get(3),
                instruction: r.get(4),
                issued_at: r.get(5),
                issued_by: r.get(6),
                suppliers: Vec::new(),
                unacknowledged: 0,
            });
        }
        if let Some(order) = out.last_mut() {
            let ack = AckView {
                supplier_id: r.get(7),
                acknowledged_at: r.get(8),
                acknowledged_by: r.get(9),
                note: r.get(10),
            };
            if ack.acknowledged_at.is_none() {
                order.unacknowledged += 1;
            }
            order.suppliers.push(ack);
        }
    }
    Ok(out)
}
