//! The incident watcher: a subscription to intake's own published acceptances that declares
//! an incident when enough households of one building (or, failing that, one heat-exchange
//! station) report a cold home within a window, and adds later ones to it. A suspected leak in
//! a station's network (an urgent leak complaint the station's telemetry filed) is an incident
//! of the station at once: the households it feeds who call within the window join it.
//!
//! A batch is decided in memory first (reads only), then its appends are made, then its
//! bookkeeping rows written: an append must be its transaction's first write.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use contracts::intake::v1 as proto;
use eventstore::{
    Actor, Batch, Channel, EventMetadata, HandlerError, PgEventStore, PublishedEvent, StoreError,
    SubscriptionConfig, SubscriptionHandle, Writes, params,
};
use uuid::Uuid;

use crate::complaints::Complaints;
use crate::domain::complaint::{Complaint, ComplaintCommand};
use crate::domain::incident::{Incident, IncidentCommand, Member, Scope};
use crate::domain::values::{Category, Route};

/// When complaints become an incident.
#[derive(Debug, Clone, Copy)]
pub struct IncidentRules {
    /// Households needed (5 by default).
    pub households: u32,
    /// Within this window (2 hours by default); an incident takes new members while its last
    /// one joined within it.
    pub window: Duration,
}

#[derive(Debug, Clone)]
struct Candidate {
    complaint_id: Uuid,
    building: String,
    station: String,
    household: String,
    filed_at: DateTime<Utc>,
    incident: Option<Uuid>,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    incident: Uuid,
    last_at: DateTime<Utc>,
}

enum Action {
    Declare {
        incident: Uuid,
        scope: Scope,
        route: Route,
        members: Vec<Member>,
        threshold: u32,
        at: DateTime<Utc>,
        cause: Uuid,
    },
    Join {
        incident: Uuid,
        member: Member,
        at: DateTime<Utc>,
        cause: Uuid,
    },
}

#[derive(Default)]
struct Plan {
    fresh: Vec<Candidate>,
    /// Stored candidates that joined an incident in this batch.
    assigned: Vec<(Uuid, Uuid)>,
    open: HashMap<(Scope, String), Open>,
    opened: Vec<(Scope, String)>,
    actions: Vec<Action>,
}

struct Watcher {
    rules: IncidentRules,
}

fn key(scope: Scope, c: &Candidate) -> String {
    match scope {
        Scope::Building => c.building.clone(),
        Scope::Station => c.station.clone(),
    }
}

impl Watcher {
    async fn consider(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        plan: &mut Plan,
        event: &PublishedEvent,
        accepted: proto::ComplaintAccepted,
    ) -> Result<(), HandlerError> {
        let route = accepted.route.as_ref().map(Route::from).unwrap_or_default();
        let network = accepted.source() == proto::Source::Sensor
            && accepted.category() == proto::Category::Leak;
        if let (true, Some(station)) = (network, route.station.clone()) {
            return self
                .network_leak(tx, plan, event, &accepted, route, station)
                .await;
        }
        let heating = proto::Category::try_from(accepted.category)
            .ok()
            .and_then(|c| Category::try_from(c).ok())
            .is_some_and(Category::is_heating_failure);
        let (Some(building), Some(station), true) =
            (route.building_id.clone(), route.station.clone(), heating)
        else {
            return Ok(());
        };
        let mut candidate = Candidate {
            complaint_id: accepted.complaint_id.parse()?,
            building,
            station,
            household: accepted.household.clone(),
            filed_at: DateTime::from_timestamp_millis(accepted.filed_at_ms).unwrap_or_default(),
            incident: None,
        };
        let member = |c: &Candidate| Member {
            complaint_id: c.complaint_id.to_string(),
            household: c.household.clone(),
        };
        for scope in [Scope::Building, Scope::Station] {
            let k = key(scope, &candidate);
            let open = match plan.open.get(&(scope, k.clone())) {
                Some(open) => Some(*open),
                None => tx
                    .query_opt(
                        "SELECT incident_id, last_at FROM intake.open_incident \
                         WHERE scope = $1 AND key = $2",
                        &[&scope.as_str(), &k],
                    )
                    .await?
                    .map(|row| Open {
                        incident: row.get(0),
                        last_at: row.get(1),
                    }),
            };
            if let Some(open) = open.filter(|o| {
                candidate.filed_at.signed_duration_since(o.last_at) <= self.rules.window
            }) {
                candidate.incident = Some(open.incident);
                plan.open.insert(
                    (scope, k.clone()),
                    Open {
                        incident: open.incident,
                        last_at: candidate.filed_at,
                    },
                );
                plan.opened.push((scope, k));
                plan.actions.push(Action::Join {
                    incident: open.incident,
                    member: member(&candidate),
                    at: candidate.filed_at,
                    cause: event.event_id,
                });
                break;
            }
            let since = candidate.filed_at - self.rules.window;
            let column = match scope {
                Scope::Building => "building_id",
                Scope::Station => "station",
            };
            let rows = tx
                .query(
                    &format!(
                        "SELECT complaint_id, household, filed_at FROM intake.incident_candidate \
                         WHERE {column} = $1 AND filed_at > $2 AND incident_id IS NULL \
                         ORDER BY filed_at"
                    ),
                    &[&k, &since],
                )
                .await?;
            let mut stored: Vec<Candidate> = rows
                .iter()
                .filter(|row| {
                    !plan
                        .assigned
                        .iter()
                        .any(|(c, _)| *c == row.get::<_, Uuid>(0))
                })
                .map(|row| Candidate {
                    complaint_id: row.get(0),
                    building: candidate.building.clone(),
                    station: candidate.station.clone(),
                    household: row.get(1),
                    filed_at: row.get(2),
                    incident: None,
                })
                .collect();
            let pending: Vec<usize> = plan
                .fresh
                .iter()
                .enumerate()
                .filter(|(_, c)| c.incident.is_none() && key(scope, c) == k && c.filed_at > since)
                .map(|(i, _)| i)
                .collect();
            let mut households: Vec<&str> = stored.iter().map(|c| c.household.as_str()).collect();
            households.extend(pending.iter().map(|&i| plan.fresh[i].household.as_str()));
            households.push(&candidate.household);
            households.sort_unstable();
            households.dedup();
            if (households.len() as u32) < self.rules.households {
                continue;
            }
            let incident = Uuid::now_v7();
            let mut members: Vec<Member> = stored.iter().map(member).collect();
            for c in &mut stored {
                plan.assigned.push((c.complaint_id, incident));
            }
            for &i in &pending {
                members.push(member(&plan.fresh[i]));
                plan.fresh[i].incident = Some(incident);
            }
            members.push(member(&candidate));
            candidate.incident = Some(incident);
            plan.open.insert(
                (scope, k.clone()),
                Open {
                    incident,
                    last_at: candidate.filed_at,
                },
            );
            plan.opened.push((scope, k));
            plan.actions.push(Action::Declare {
                incident,
                scope,
                route: route.clone(),
                members,
                threshold: self.rules.households,
                at: candidate.filed_at,
                cause: event.event_id,
            });
            break;
        }
        plan.fresh.push(candidate);
        Ok(())
    }
}

impl Watcher {
    /// A suspected network leak: joins the station's open incident, or declares one over it
    /// alone.
    async fn network_leak(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        plan: &mut Plan,
        event: &PublishedEvent,
        accepted: &proto::ComplaintAccepted,
        route: Route,
        station: String,
    ) -> Result<(), HandlerError> {
        let at = DateTime::from_timestamp_millis(accepted.filed_at_ms).unwrap_or_default();
        let member = Member {
            complaint_id: accepted.complaint_id.clone(),
            household: accepted.household.clone(),
        };
        let key = (Scope::Station, station.clone());
        let open = match plan.open.get(&key) {
            Some(open) => Some(*open),
            None => tx
                .query_opt(
                    "SELECT incident_id, last_at FROM intake.open_incident \
                     WHERE scope = 'station' AND key = $1",
                    &[&station],
                )
                .await?
                .map(|row| Open {
                    incident: row.get(0),
                    last_at: row.get(1),
                }),
        };
        let action = match open.filter(|o| at.signed_duration_since(o.last_at) <= self.rules.window)
        {
            Some(open) => Action::Join {
                incident: open.incident,
                member,
                at,
                cause: event.event_id,
            },
            None => Action::Declare {
                incident: Uuid::now_v7(),
                scope: Scope::Station,
                route,
                members: vec![member],
                threshold: 1,
                at,
                cause: event.event_id,
            },
        };
        let incident = match &action {
            Action::Join { incident, .. } | Action::Declare { incident, .. } => *incident,
        };
        plan.open.insert(
            key.clone(),
            Open {
                incident,
                last_at: at,
            },
        );
        plan.opened.push(key);
        plan.actions.push(action);
        Ok(())
    }
}

fn system(cause: Uuid) -> EventMetadata {
    EventMetadata::new(Actor::system(), Channel::System).caused_by(cause)
}

#[async_trait]
impl eventstore::Handler for Watcher {
    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let mut plan = Plan::default();
        for event in events {
            if event.is::<proto::ComplaintAccepted>() {
                let accepted = event.decode::<proto::ComplaintAccepted>()?;
                self.consider(batch.tx(), &mut plan, event, accepted)
                    .await?;
            }
        }
        // Every incident and complaint the actions touch, read together.
        let mut incidents = Vec::new();
        let mut complaints = Vec::new();
        for action in &plan.actions {
            match action {
                Action::Declare {
                    incident, members, ..
                } => {
                    incidents.push(incident.to_string());
                    complaints.extend(members.iter().map(|m| m.complaint_id.clone()));
                }
                Action::Join {
                    incident, member, ..
                } => {
                    incidents.push(incident.to_string());
                    complaints.push(member.complaint_id.clone());
                }
            }
        }
        tokio::try_join!(
            batch.preload::<Incident>(&incidents),
            batch.preload::<Complaint>(&complaints),
        )?;
        for action in &plan.actions {
            let (incident, command, joining, at, cause) = match action {
                Action::Declare {
                    incident,
                    scope,
                    route,
                    members,
                    threshold,
                    at,
                    cause,
                } => (
                    incident,
                    IncidentCommand::Declare {
                        scope: *scope,
                        route: route.clone(),
                        members: members.clone(),
                        threshold: *threshold,
                        window: self.rules.window,
                        at: *at,
                    },
                    members.clone(),
                    *at,
                    *cause,
                ),
                Action::Join {
                    incident,
                    member,
                    at,
                    cause,
                } => (
                    incident,
                    IncidentCommand::Join {
                        member: member.clone(),
                        at: *at,
                    },
                    vec![member.clone()],
                    *at,
                    *cause,
                ),
            };
            let context = batch.load::<Incident>(&incident.to_string()).await?;
            let event = context.state().decide(command)?;
            batch.append(&context, &[event], &system(cause)).await?;
            for member in joining {
                Complaints::execute_in_batch(
                    batch,
                    member.complaint_id.parse()?,
                    ComplaintCommand::JoinIncident {
                        incident_id: incident.to_string(),
                        at,
                    },
                    &system(cause),
                )
                .await?;
            }
        }
        // Then the watcher's own rows, sent together.
        let mut writes = Writes::new();
        for c in &plan.fresh {
            writes.push(
                "INSERT INTO intake.incident_candidate \
                 (complaint_id, building_id, station, household, filed_at, incident_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (complaint_id) DO NOTHING",
                params![
                    c.complaint_id,
                    c.building.clone(),
                    c.station.clone(),
                    c.household.clone(),
                    c.filed_at,
                    c.incident,
                ],
            );
        }
        for (complaint, incident) in &plan.assigned {
            writes.push(
                "UPDATE intake.incident_candidate SET incident_id = $2 WHERE complaint_id = $1",
                params![*complaint, *incident],
            );
        }
        for (scope, k) in &plan.opened {
            let open = plan.open[&(*scope, k.clone())];
            writes.push(
                "INSERT INTO intake.open_incident (scope, key, incident_id, last_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO UPDATE \
                 SET incident_id = excluded.incident_id, last_at = excluded.last_at",
                params![scope.as_str(), k.clone(), open.incident, open.last_at],
            );
        }
        writes.send(batch.tx()).await?;
        Ok(())
    }
}

/// Starts the watcher.
pub fn spawn(store: &PgEventStore, rules: IncidentRules) -> Result<SubscriptionHandle, StoreError> {
    eventstore::subscription::spawn(
        store,
        SubscriptionConfig::new("intake", "incidents"),
        Watcher { rules },
    )
}
