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
use contracts::Name;
use contracts::intake::v1 as proto;
use eventstore::{
    Actor, Batch, Channel, EventMetadata, HandlerError, PgEventStore, PublishedEvent, StoreError,
    SubscriptionConfig, SubscriptionHandle, Writes, params,
};
use tokio_postgres::types::ToSql;
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

/// What the database held before the batch, for the buildings and stations its complaints
/// name: read in two statements for the whole batch instead of per complaint. The batch's own
/// changes are in the [`Plan`], written when it ends.
#[derive(Default)]
struct Known {
    open: HashMap<(Scope, String), Open>,
    /// Candidates not in an incident, filed after the earliest window the batch looks at, in
    /// filing order.
    waiting: HashMap<(Scope, String), Vec<Candidate>>,
}

impl Known {
    async fn read(
        tx: &deadpool_postgres::Transaction<'_>,
        events: &[PublishedEvent],
        window: Duration,
    ) -> Result<Known, HandlerError> {
        let mut buildings = Vec::new();
        let mut stations = Vec::new();
        let mut earliest: Option<DateTime<Utc>> = None;
        for event in events {
            if !event.is::<proto::ComplaintAccepted>() {
                continue;
            }
            let accepted = event.decode::<proto::ComplaintAccepted>()?;
            let route = accepted.route.as_ref().map(Route::from).unwrap_or_default();
            buildings.extend(route.building_id);
            stations.extend(route.station);
            let filed = DateTime::from_timestamp_millis(accepted.filed_at_ms).unwrap_or_default();
            earliest = Some(earliest.map_or(filed, |e| e.min(filed)));
        }
        let Some(earliest) = earliest else {
            return Ok(Known::default());
        };
        buildings.sort_unstable();
        buildings.dedup();
        stations.sort_unstable();
        stations.dedup();
        let open = tx
            .prepare_cached(
                "SELECT scope, key, incident_id, last_at FROM intake.open_incident \
                 WHERE (scope = 'building' AND key = ANY($1)) \
                    OR (scope = 'station' AND key = ANY($2))",
            )
            .await?;
        let waiting = tx
            .prepare_cached(
                "SELECT complaint_id, household, filed_at, building_id, station \
                 FROM intake.incident_candidate \
                 WHERE (building_id = ANY($1) OR station = ANY($2)) \
                   AND filed_at > $3 AND incident_id IS NULL \
                 ORDER BY filed_at",
            )
            .await?;
        let since = earliest - window;
        let open_params: [&(dyn ToSql + Sync); 2] = [&buildings, &stations];
        let waiting_params: [&(dyn ToSql + Sync); 3] = [&buildings, &stations, &since];
        // Sent together: one round trip for both.
        let (open, waiting) = tokio::try_join!(
            tx.query(&open, &open_params),
            tx.query(&waiting, &waiting_params),
        )?;
        let mut known = Known::default();
        for row in open {
            let scope = match row.get::<_, &str>(0) {
                "building" => Scope::Building,
                _ => Scope::Station,
            };
            known.open.insert(
                (scope, row.get(1)),
                Open {
                    incident: row.get(2),
                    last_at: row.get(3),
                },
            );
        }
        for row in waiting {
            let candidate = Candidate {
                complaint_id: row.get(0),
                household: row.get(1),
                filed_at: row.get(2),
                building: row.get(3),
                station: row.get(4),
                incident: None,
            };
            for scope in [Scope::Building, Scope::Station] {
                let k = key(scope, &candidate);
                let listed = if scope == Scope::Building {
                    buildings.binary_search(&k).is_ok()
                } else {
                    stations.binary_search(&k).is_ok()
                };
                if listed {
                    known
                        .waiting
                        .entry((scope, k))
                        .or_default()
                        .push(candidate.clone());
                }
            }
        }
        Ok(known)
    }
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
    fn consider(
        &self,
        known: &Known,
        plan: &mut Plan,
        event: &PublishedEvent,
        accepted: proto::ComplaintAccepted,
    ) -> Result<(), HandlerError> {
        let route = accepted.route.as_ref().map(Route::from).unwrap_or_default();
        let network = accepted.source() == proto::Source::Sensor
            && accepted.category() == proto::Category::Leak;
        if let (true, Some(station)) = (network, route.station.clone()) {
            self.network_leak(known, plan, event, &accepted, route, station);
            return Ok(());
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
        if let Ok(incident) = accepted.joins_incident_id.parse::<Uuid>() {
            // Filed while the incident was open over its building or station: it is part of
            // that one from its acceptance (its own stream says so, and dispatch put it on the
            // incident's ticket). The watcher only moves the incident's last arrival.
            self.note_joined(known, plan, &candidate, incident);
            candidate.incident = Some(incident);
            plan.fresh.push(candidate);
            return Ok(());
        }
        for scope in [Scope::Building, Scope::Station] {
            let k = key(scope, &candidate);
            let open = plan
                .open
                .get(&(scope, k.clone()))
                .or_else(|| known.open.get(&(scope, k.clone())))
                .copied();
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
            let mut stored: Vec<Candidate> = known
                .waiting
                .get(&(scope, k.clone()))
                .into_iter()
                .flatten()
                .filter(|c| c.filed_at > since)
                .filter(|c| !plan.assigned.iter().any(|(a, _)| *a == c.complaint_id))
                .cloned()
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
    /// Moves the last arrival of the building's or station's open incident, whichever is
    /// `incident` (neither when a newer incident has replaced it there).
    fn note_joined(&self, known: &Known, plan: &mut Plan, candidate: &Candidate, incident: Uuid) {
        for scope in [Scope::Building, Scope::Station] {
            let k = key(scope, candidate);
            let open = plan
                .open
                .get(&(scope, k.clone()))
                .or_else(|| known.open.get(&(scope, k.clone())))
                .copied();
            if let Some(open) = open.filter(|o| o.incident == incident) {
                plan.open.insert(
                    (scope, k.clone()),
                    Open {
                        incident,
                        last_at: open.last_at.max(candidate.filed_at),
                    },
                );
                plan.opened.push((scope, k));
                return;
            }
        }
    }

    /// A suspected network leak: joins the station's open incident, or declares one over it
    /// alone.
    fn network_leak(
        &self,
        known: &Known,
        plan: &mut Plan,
        event: &PublishedEvent,
        accepted: &proto::ComplaintAccepted,
        route: Route,
        station: String,
    ) {
        let at = DateTime::from_timestamp_millis(accepted.filed_at_ms).unwrap_or_default();
        let member = Member {
            complaint_id: accepted.complaint_id.clone(),
            household: accepted.household.clone(),
        };
        let key = (Scope::Station, station.clone());
        let open = plan
            .open
            .get(&key)
            .or_else(|| known.open.get(&key))
            .copied();
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
    }
}

fn system(cause: Uuid) -> EventMetadata {
    EventMetadata::new(Actor::system(), Channel::System).caused_by(cause)
}

#[async_trait]
impl eventstore::Handler for Watcher {
    fn message_types(&self) -> Option<Vec<String>> {
        Some(vec![proto::ComplaintAccepted::full_name()])
    }

    async fn handle(
        &self,
        batch: &mut Batch<'_>,
        events: &[PublishedEvent],
    ) -> Result<(), HandlerError> {
        let known = Known::read(batch.tx(), events, self.rules.window).await?;
        let mut plan = Plan::default();
        for event in events {
            if event.is::<proto::ComplaintAccepted>() {
                let accepted = event.decode::<proto::ComplaintAccepted>()?;
                self.consider(&known, &mut plan, event, accepted)?;
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
            batch.append_queued(&context, &[event], &system(cause));
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
        // Then the watcher's own rows, one statement per kind for the whole batch: the
        // candidates still waiting (one in an incident is never read again), and each open
        // incident's last arrival once.
        let mut writes = Writes::new();
        let waiting: Vec<&Candidate> = plan.fresh.iter().filter(|c| c.incident.is_none()).collect();
        if !waiting.is_empty() {
            writes.push(
                "INSERT INTO intake.incident_candidate \
                 (complaint_id, building_id, station, household, filed_at, incident_id) \
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], \
                 $5::timestamptz[], $6::uuid[]) ON CONFLICT (complaint_id) DO NOTHING",
                params![
                    waiting
                        .iter()
                        .map(|c| c.complaint_id)
                        .collect::<Vec<Uuid>>(),
                    waiting
                        .iter()
                        .map(|c| c.building.clone())
                        .collect::<Vec<_>>(),
                    waiting
                        .iter()
                        .map(|c| c.station.clone())
                        .collect::<Vec<_>>(),
                    waiting
                        .iter()
                        .map(|c| c.household.clone())
                        .collect::<Vec<_>>(),
                    waiting.iter().map(|c| c.filed_at).collect::<Vec<_>>(),
                    waiting.iter().map(|c| c.incident).collect::<Vec<_>>(),
                ],
            );
        }
        // A complaint assigned twice keeps the later incident, as updates in turn would.
        let mut assigned: HashMap<Uuid, Uuid> = HashMap::new();
        for (complaint, incident) in &plan.assigned {
            assigned.insert(*complaint, *incident);
        }
        if !assigned.is_empty() {
            let (complaints, incidents): (Vec<Uuid>, Vec<Uuid>) = assigned.into_iter().unzip();
            writes.push(
                "UPDATE intake.incident_candidate c SET incident_id = a.incident_id \
                 FROM unnest($1::uuid[], $2::uuid[]) AS a(complaint_id, incident_id) \
                 WHERE c.complaint_id = a.complaint_id",
                params![complaints, incidents],
            );
        }
        let mut written = std::collections::HashSet::new();
        let (mut scopes, mut keys, mut incidents, mut lasts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (scope, k) in &plan.opened {
            if !written.insert((*scope, k)) {
                continue;
            }
            let open = plan.open[&(*scope, k.clone())];
            scopes.push(scope.as_str());
            keys.push(k.clone());
            incidents.push(open.incident);
            lasts.push(open.last_at);
        }
        if !scopes.is_empty() {
            writes.push(
                "INSERT INTO intake.open_incident (scope, key, incident_id, last_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[]) \
                 ON CONFLICT (scope, key) DO UPDATE \
                 SET incident_id = excluded.incident_id, last_at = excluded.last_at",
                params![scopes, keys, incidents, lasts],
            );
        }
        // After the batch's queued appends, with them.
        batch.queue_all(writes);
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
