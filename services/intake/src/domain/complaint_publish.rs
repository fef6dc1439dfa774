//! A complaint's events as the public log carries them (`heatline.intake.v1`): the domain's
//! values converted to and from the protobuf contracts.

use chrono::{DateTime, Utc};
use contracts::intake::v1 as proto;
use eventstore::{IntegrationEvent, Publish};

use super::{Complaint, ComplaintEvent};
use crate::domain::values::{Category, Celsius, Priority, Route, Source};

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl From<Category> for proto::Category {
    fn from(c: Category) -> Self {
        match c {
            Category::NoHeat => proto::Category::NoHeat,
            Category::LowTemperature => proto::Category::LowTemperature,
            Category::Leak => proto::Category::Leak,
            Category::Noise => proto::Category::Noise,
            Category::Billing => proto::Category::Billing,
            Category::ServiceAttitude => proto::Category::ServiceAttitude,
            Category::StopHeating => proto::Category::StopHeating,
            Category::Refund => proto::Category::Refund,
        }
    }
}

impl TryFrom<proto::Category> for Category {
    type Error = ();
    fn try_from(c: proto::Category) -> Result<Self, ()> {
        Category::ALL
            .into_iter()
            .find(|&ours| proto::Category::from(ours) == c)
            .ok_or(())
    }
}

impl From<Source> for proto::Source {
    fn from(s: Source) -> Self {
        match s {
            Source::App => proto::Source::App,
            Source::Wechat => proto::Source::Wechat,
            Source::HotlineOperator => proto::Source::HotlineOperator,
            Source::HotlinePlatform => proto::Source::HotlinePlatform,
            Source::Sensor => proto::Source::Sensor,
            Source::Open311 => proto::Source::Open311,
        }
    }
}

impl From<Priority> for proto::Priority {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Normal => proto::Priority::Normal,
            Priority::Urgent => proto::Priority::Urgent,
        }
    }
}

impl From<&Route> for proto::Route {
    fn from(r: &Route) -> Self {
        proto::Route {
            routed: r.is_routed(),
            building_id: r.building_id.clone().unwrap_or_default(),
            station: r.station.clone().unwrap_or_default(),
            district: r.district.clone().unwrap_or_default(),
            supplier_id: r.supplier_id.clone().unwrap_or_default(),
        }
    }
}

impl From<&proto::Route> for Route {
    fn from(r: &proto::Route) -> Self {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Route {
            building_id: some(&r.building_id),
            station: some(&r.station),
            district: some(&r.district),
            supplier_id: some(&r.supplier_id),
        }
    }
}

impl Publish for Complaint {
    fn publish(&self, aggregate_id: &str, event: &ComplaintEvent) -> Vec<IntegrationEvent> {
        let complaint_id = aggregate_id.to_owned();
        let message = match event {
            ComplaintEvent::Accepted {
                details,
                joins_incident,
                at,
                ..
            } => IntegrationEvent::encode(&proto::ComplaintAccepted {
                complaint_id,
                category: proto::Category::from(details.category).into(),
                priority: proto::Priority::from(details.priority).into(),
                source: proto::Source::from(details.source).into(),
                household: details.household.as_str().to_owned(),
                route: Some((&details.route).into()),
                reported_tenths_celsius: details.reading.map(Celsius::tenths),
                filed_at_ms: millis(*at),
                hotline_work_order: details.hotline_work_order.clone().unwrap_or_default(),
                filed_by: details.filer.clone(),
                joins_incident_id: joins_incident.clone().unwrap_or_default(),
            }),
            ComplaintEvent::Merged {
                into, details, at, ..
            } => IntegrationEvent::encode(&proto::ComplaintMerged {
                complaint_id,
                into_complaint_id: into.clone(),
                category: proto::Category::from(details.category).into(),
                source: proto::Source::from(details.source).into(),
                household: details.household.as_str().to_owned(),
                filed_at_ms: millis(*at),
                hotline_work_order: details.hotline_work_order.clone().unwrap_or_default(),
                filed_by: details.filer.clone(),
            }),
            ComplaintEvent::Routed { route, at } => {
                IntegrationEvent::encode(&proto::ComplaintRouted {
                    complaint_id,
                    route: Some(route.into()),
                    routed_at_ms: millis(*at),
                })
            }
            ComplaintEvent::Withdrawn { reason, at } => {
                IntegrationEvent::encode(&proto::ComplaintWithdrawn {
                    complaint_id,
                    reason: reason.clone(),
                    withdrawn_at_ms: millis(*at),
                    hotline_work_order: self.work_order(),
                })
            }
            ComplaintEvent::Rejected { reason, at } => {
                IntegrationEvent::encode(&proto::ComplaintRejected {
                    complaint_id,
                    reason: reason.clone(),
                    rejected_at_ms: millis(*at),
                    hotline_work_order: self.work_order(),
                })
            }
            // Incidents publish their own events; repeats, signing and reveals are intake's own
            // notes (a reveal names staff and a reason: an audit record, not news).
            ComplaintEvent::RepeatRecorded { .. }
            | ComplaintEvent::JoinedIncident { .. }
            | ComplaintEvent::Signed { .. }
            | ComplaintEvent::ContactRevealed { .. } => return Vec::new(),
        };
        vec![message]
    }
}
