//! `ColdSnapOrder`: the city orders suppliers to raise the supply temperature ahead of a cold
//! wave (about ten times a season in a large city); each supplier serving the ordered
//! districts acknowledges it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// What an order says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The districts it covers.
    pub districts: Vec<String>,
    /// The suppliers serving them, each of which must acknowledge.
    pub suppliers: Vec<String>,
    /// From when it is in force.
    pub from: DateTime<Utc>,
    /// Until when.
    pub until: DateTime<Utc>,
    /// What to do (raise the supply temperature to ..., by ...).
    pub instruction: String,
}

/// An order's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    /// The regulator issued the order.
    OrderIssued {
        /// The order.
        order: Order,
        /// When.
        at: DateTime<Utc>,
    },
    /// A supplier acknowledged it.
    OrderAcknowledged {
        /// The supplier.
        supplier: String,
        /// What it says it does.
        note: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        match self {
            OrderEvent::OrderIssued { .. } => "OrderIssued",
            OrderEvent::OrderAcknowledged { .. } => "OrderAcknowledged",
        }
        .into()
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// What an order can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderCommand {
    /// Issue it.
    Issue {
        /// What it says.
        order: Order,
        /// Now.
        at: DateTime<Utc>,
    },
    /// A supplier acknowledges it.
    Acknowledge {
        /// The supplier.
        supplier: String,
        /// Its note.
        note: String,
        /// Now.
        at: DateTime<Utc>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// Issued before (the same request again).
    #[error("this order has already been issued")]
    AlreadyIssued,
    /// No such order.
    #[error("no such order")]
    Unknown,
    /// The supplier serves none of the order's districts.
    #[error("this order is not addressed to your supplier")]
    NotAddressed,
    /// Acknowledged before.
    #[error("your supplier has already acknowledged this order")]
    AlreadyAcknowledged,
}

/// One cold-snap order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdSnapOrder {
    /// What it says, once issued.
    pub order: Option<Order>,
    /// Acknowledgements by supplier.
    pub acknowledged: BTreeMap<String, DateTime<Utc>>,
}

impl ColdSnapOrder {
    /// Decides a command.
    pub fn decide(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        match command {
            OrderCommand::Issue { order, at } => {
                if self.order.is_some() {
                    return Err(OrderError::AlreadyIssued);
                }
                Ok(vec![OrderEvent::OrderIssued { order, at }])
            }
            OrderCommand::Acknowledge { supplier, note, at } => {
                let order = self.order.as_ref().ok_or(OrderError::Unknown)?;
                if !order.suppliers.contains(&supplier) {
                    return Err(OrderError::NotAddressed);
                }
                if self.acknowledged.contains_key(&supplier) {
                    return Err(OrderError::AlreadyAcknowledged);
                }
                Ok(vec![OrderEvent::OrderAcknowledged { supplier, note, at }])
            }
        }
    }
}

impl Aggregate for ColdSnapOrder {
    const TYPE: &'static str = "cold_snap_order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            OrderEvent::OrderIssued { order, .. } => self.order = Some(order),
            OrderEvent::OrderAcknowledged { supplier, at, .. } => {
                self.acknowledged.insert(supplier, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued() -> ColdSnapOrder {
        let mut order = ColdSnapOrder::default();
        let at = Utc::now();
        order.apply(OrderEvent::OrderIssued {
            order: Order {
                districts: vec!["nangang".into()],
                suppliers: vec!["harbin-heat".into()],
                from: at,
                until: at + chrono::Duration::days(2),
                instruction: "供水温度提高到 65 °C".into(),
            },
            at,
        });
        order
    }

    #[test]
    fn an_order_is_acknowledged_once_by_each_supplier_it_addresses() {
        let order = issued();
        let ack = |supplier: &str| OrderCommand::Acknowledge {
            supplier: supplier.into(),
            note: String::new(),
            at: Utc::now(),
        };
        assert_eq!(
            order.decide(ack("songbei-thermal")),
            Err(OrderError::NotAddressed)
        );
        let events = order.decide(ack("harbin-heat")).unwrap();
        let mut acknowledged = order.clone();
        events.into_iter().for_each(|e| acknowledged.apply(e));
        assert_eq!(
            acknowledged.decide(ack("harbin-heat")),
            Err(OrderError::AlreadyAcknowledged)
        );
        assert_eq!(
            ColdSnapOrder::default().decide(ack("harbin-heat")),
            Err(OrderError::Unknown)
        );
        let again = OrderCommand::Issue {
            order: order.order.clone().unwrap(),
            at: Utc::now(),
        };
        assert_eq!(order.decide(again), Err(OrderError::AlreadyIssued));
    }
}
