//! The scorer: facts in log order in, ledger entries out. Pure and deterministic, so the live
//! ledger, a replay, a past moment and a what-if under another rulebook are the same code.
//!
//! Facts of a ticket wait until its cycle is resolved: with a supplier-side cause they count
//! against the supplier that resolved it, otherwise they are dropped. A sensor episode is on
//! the ticket of the complaint it filed (or merged into) and waits for the ticket's next
//! resolution; it counts only under a version that admits it, and only when that cycle has no
//! crew measurement. One counted event makes at most one entry per dimension, whose id is derived from the event and the dimension, so a
//! replay names the same entries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::facts::{Fact, FactKind};
use crate::domain::rulebook::{Rulebook, Tally, Version};
use crate::domain::values::{Centipoints, Dimension, Season};

mod draft;
mod tracks;

pub use draft::{Draft, ENTRY_NAMESPACE, REVERSAL_RULE, entry_id, rule_of};
use tracks::{Contribution, Episode, Outcome, Pending, TicketTrack, Waiting};

/// What has been counted for one supplier in one season, and the points it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    /// The counts.
    pub tally: Tally,
    /// Each scored dimension's points, in [`Dimension::SCORED`] order.
    pub points: [Centipoints; 6],
    /// The rulebook version.
    pub version: String,
}

/// The scorer's whole state.
#[derive(Debug, Clone)]
pub struct Scorer {
    rulebook: Arc<Rulebook>,
    only_version: Option<String>,
    areas: HashMap<String, f64>,
    seen: HashSet<Uuid>,
    tickets: HashMap<String, TicketTrack>,
    /// The ticket of each complaint on an open ticket.
    complaint_tickets: HashMap<String, String>,
    /// Sensor episodes whose complaint is on no ticket yet, by that complaint.
    unlinked: HashMap<String, Vec<Episode>>,
    /// Sensor complaints merged into another complaint, whichever the log told first.
    merged: HashMap<String, String>,
    standings: BTreeMap<(String, Season), Standing>,
    counted: HashMap<(Uuid, Dimension), (String, Season, Contribution)>,
}

/// What [`Scorer::save`] writes (the fields of [`Saved`], borrowed).
#[derive(Serialize)]
struct SavedRef<'a> {
    seen: &'a HashSet<Uuid>,
    tickets: &'a HashMap<String, TicketTrack>,
    complaint_tickets: &'a HashMap<String, String>,
    unlinked: &'a HashMap<String, Vec<Episode>>,
    merged: &'a HashMap<String, String>,
    standings: &'a BTreeMap<(String, Season), Standing>,
    counted: &'a HashMap<(Uuid, Dimension), (String, Season, Contribution)>,
}

/// What [`Scorer::restore`] reads.
#[derive(Deserialize)]
struct Saved {
    seen: HashSet<Uuid>,
    tickets: HashMap<String, TicketTrack>,
    complaint_tickets: HashMap<String, String>,
    unlinked: HashMap<String, Vec<Episode>>,
    merged: HashMap<String, String>,
    standings: BTreeMap<(String, Season), Standing>,
    counted: HashMap<(Uuid, Dimension), (String, Season, Contribution)>,
}

struct Counting<'a> {
    trigger: Uuid,
    at: DateTime<Utc>,
    supplier: &'a str,
    season: Season,
    ticket: &'a str,
    items: Vec<(Uuid, Contribution)>,
    also: Vec<Uuid>,
}

impl Scorer {
    /// A scorer that scores each season under the rulebook's version for it.
    pub fn new(rulebook: Arc<Rulebook>) -> Scorer {
        Scorer {
            rulebook,
            only_version: None,
            areas: HashMap::new(),
            seen: HashSet::new(),
            tickets: HashMap::new(),
            complaint_tickets: HashMap::new(),
            unlinked: HashMap::new(),
            merged: HashMap::new(),
            standings: BTreeMap::new(),
            counted: HashMap::new(),
        }
    }

    /// A scorer that scores every season under one version (a what-if).
    pub fn under(rulebook: Arc<Rulebook>, version: &str) -> Option<Scorer> {
        rulebook.version(version)?;
        let mut scorer = Scorer::new(rulebook);
        scorer.only_version = Some(version.to_owned());
        Some(scorer)
    }

    /// Sets the suppliers' heated areas (m²), which the complaint rate needs.
    pub fn set_areas(&mut self, areas: HashMap<String, f64>) {
        self.areas = areas;
    }

    fn version(&self, season: Season) -> &Version {
        match &self.only_version {
            Some(name) => self
                .rulebook
                .version(name)
                .unwrap_or_else(|| self.rulebook.for_season(season)),
            None => self.rulebook.for_season(season),
        }
    }

    /// Every standing, by supplier and season.
    pub fn standings(&self) -> &BTreeMap<(String, Season), Standing> {
        &self.standings
    }

    /// The state the log made, for a snapshot: everything but the rulebook, the version a
    /// what-if is held to and the areas (given again after a restore). Compact binary, not
    /// meant to be read by anything but [`Scorer::restore`] of the same build's format.
    pub fn save(&self) -> Result<Vec<u8>, String> {
        postcard::to_stdvec(&SavedRef {
            seen: &self.seen,
            tickets: &self.tickets,
            complaint_tickets: &self.complaint_tickets,
            unlinked: &self.unlinked,
            merged: &self.merged,
            standings: &self.standings,
            counted: &self.counted,
        })
        .map_err(|e| format!("scorer snapshot not encoded: {e}"))
    }

    /// A scorer under `rulebook` in the state [`Scorer::save`] wrote.
    pub fn restore(rulebook: Arc<Rulebook>, saved: &[u8]) -> Result<Scorer, String> {
        let saved: Saved =
            postcard::from_bytes(saved).map_err(|e| format!("scorer snapshot not decoded: {e}"))?;
        Ok(Scorer {
            rulebook,
            only_version: None,
            areas: HashMap::new(),
            seen: saved.seen,
            tickets: saved.tickets,
            complaint_tickets: saved.complaint_tickets,
            unlinked: saved.unlinked,
            merged: saved.merged,
            standings: saved.standings,
            counted: saved.counted,
        })
    }

    /// Applies one fact; returns the entries it makes (often none). A fact seen before
    /// makes nothing.
    pub fn apply(&mut self, fact: &Fact) -> Vec<Draft> {
        if !self.seen.insert(fact.event_id) {
            return Vec::new();
        }
        match &fact.kind {
            FactKind::TicketOpened {
                ticket,
                incident,
                complaint_ids,
                households,
            } => {
                let track = self.tickets.entry(ticket.clone()).or_default();
                track.incident = *incident;
                track.complaints = track.complaints.max(complaint_ids.len() as u32);
                track.households = track.households.max(*households);
                track.opened_at.get_or_insert(fact.at);
                for complaint in complaint_ids {
                    self.link(complaint, ticket);
                }
                Vec::new()
            }
            FactKind::ComplaintAttached { ticket, complaint } => {
                let track = self.tickets.entry(ticket.clone()).or_default();
                track.complaints += 1;
                track.households += 1;
                self.link(complaint, ticket);
                Vec::new()
            }
            FactKind::ComplaintMerged { complaint, into } => {
                self.merged.insert(complaint.clone(), into.clone());
                if let Some(episodes) = self.unlinked.remove(complaint) {
                    match self.complaint_tickets.get(into) {
                        Some(ticket) => self
                            .tickets
                            .entry(ticket.clone())
                            .or_default()
                            .episodes
                            .extend(episodes),
                        None => self
                            .unlinked
                            .entry(into.clone())
                            .or_default()
                            .extend(episodes),
                    }
                }
                Vec::new()
            }
            FactKind::SensorEpisode {
                episode,
                certified,
                mean_tenths,
            } => {
                let waiting = Episode {
                    event_id: fact.event_id,
                    certified: *certified,
                    mean_tenths: *mean_tenths,
                };
                let complaint = self.merged.get(episode).unwrap_or(episode);
                match self.complaint_tickets.get(complaint) {
                    Some(ticket) => self
                        .tickets
                        .entry(ticket.clone())
                        .or_default()
                        .episodes
                        .push(waiting),
                    None => self
                        .unlinked
                        .entry(complaint.clone())
                        .or_default()
                        .push(waiting),
                }
                Vec::new()
            }
            FactKind::Measured {
                ticket,
                supplier,
                cycle,
                tenths,
            } => {
                let track = self.tickets.entry(ticket.clone()).or_default();
                track
                    .cycles
                    .entry(*cycle)
                    .or_default()
                    .measured_by
                    .insert(supplier.clone());
                self.late_or_pending(fact, ticket, supplier, *cycle, Waiting::Measured(*tenths))
            }
            FactKind::Breached {
                ticket,
                supplier,
                clock,
                ..
            } if clock.counts_at_once() => {
                let season = Season::of(fact.at);
                self.count(Counting {
                    trigger: fact.event_id,
                    at: fact.at,
                    supplier,
                    season,
                    ticket,
                    items: vec![(fact.event_id, Contribution::Breach(*clock))],
                    also: Vec::new(),
                })
            }
            FactKind::Breached {
                ticket,
                supplier,
                cycle,
                clock,
            } => self.late_or_pending(fact, ticket, supplier, *cycle, Waiting::Breached(*clock)),
            FactKind::Feedback {
                ticket,
                supplier,
                cycle,
                verdict,
            } => self.late_or_pending(fact, ticket, supplier, *cycle, Waiting::Verdict(*verdict)),
            FactKind::Resolved {
                ticket,
                supplier,
                cycle,
                supplier_side,
            } => self.resolved(fact, ticket, supplier, *cycle, *supplier_side),
            FactKind::Closed { ticket } => {
                if let Some(track) = self.tickets.remove(ticket) {
                    for complaint in &track.complaint_ids {
                        self.complaint_tickets.remove(complaint);
                    }
                }
                Vec::new()
            }
            FactKind::AppealUpheld {
                entry_id,
                supplier,
                season,
                dimension,
                rule,
                evidence,
            } => self.upheld(
                fact, *entry_id, supplier, season, *dimension, rule, evidence,
            ),
        }
    }

    /// Puts a complaint on its ticket, with the sensor episodes that wait for it.
    fn link(&mut self, complaint: &str, ticket: &str) {
        let track = self.tickets.entry(ticket.to_owned()).or_default();
        track.complaint_ids.push(complaint.to_owned());
        if let Some(episodes) = self.unlinked.remove(complaint) {
            track.episodes.extend(episodes);
        }
        self.complaint_tickets
            .insert(complaint.to_owned(), ticket.to_owned());
    }

    fn contribution(&self, season: Season, waiting: &Waiting) -> Contribution {
        match waiting {
            Waiting::Measured(tenths) => Contribution::Measurement {
                met: *tenths >= self.version(season).standard_tenths(),
            },
            Waiting::Breached(clock) => Contribution::Breach(*clock),
            Waiting::Verdict(verdict) => Contribution::Verdict(*verdict),
        }
    }

    fn late_or_pending(
        &mut self,
        fact: &Fact,
        ticket: &str,
        supplier: &str,
        cycle: u32,
        what: Waiting,
    ) -> Vec<Draft> {
        let track = self.tickets.entry(ticket.to_owned()).or_default();
        let cycle = track.cycles.entry(cycle).or_default();
        match &cycle.outcome {
            Outcome::Open => {
                cycle.pending.push(Pending {
                    event_id: fact.event_id,
                    supplier: supplier.to_owned(),
                    what,
                });
                Vec::new()
            }
            Outcome::NotCounted => Vec::new(),
            Outcome::Supplier {
                supplier: resolver,
                resolution,
                season,
            } => {
                if resolver != supplier {
                    return Vec::new();
                }
                let (resolution, season) = (*resolution, *season);
                let contribution = self.contribution(season, &what);
                self.count(Counting {
                    trigger: fact.event_id,
                    at: fact.at,
                    supplier,
                    season,
                    ticket,
                    items: vec![(fact.event_id, contribution)],
                    also: vec![resolution],
                })
            }
        }
    }

    fn resolved(
        &mut self,
        fact: &Fact,
        ticket: &str,
        supplier: &str,
        cycle: u32,
        supplier_side: bool,
    ) -> Vec<Draft> {
        let season = Season::of(fact.at);
        let track = self.tickets.entry(ticket.to_owned()).or_default();
        let episodes = std::mem::take(&mut track.episodes);
        let state = track.cycles.entry(cycle).or_default();
        let pending = std::mem::take(&mut state.pending);
        if !supplier_side {
            state.outcome = Outcome::NotCounted;
            return Vec::new();
        }
        state.outcome = Outcome::Supplier {
            supplier: supplier.to_owned(),
            resolution: fact.event_id,
            season,
        };
        let measured = state.measured_by.contains(supplier);
        let first = !track.counted;
        track.counted = true;
        let (incident, complaints, households, opened_at) = (
            track.incident,
            track.complaints.max(1),
            track.households.max(1),
            track.opened_at,
        );
        let mut items: Vec<(Uuid, Contribution)> = pending
            .iter()
            .filter(|p| p.supplier == supplier)
            .map(|p| (p.event_id, self.contribution(season, &p.what)))
            .collect();
        if !measured {
            let version = self.version(season);
            let policy = version.heating_quality.sensor_episodes;
            let standard = version.standard_tenths();
            items.extend(
                episodes
                    .iter()
                    .filter(|e| policy.counts(e.certified))
                    .map(|e| {
                        let met = e.mean_tenths >= standard;
                        (e.event_id, Contribution::Episode { met })
                    }),
            );
        }
        if first {
            items.push((fact.event_id, Contribution::Complaints(complaints)));
            if incident {
                let minutes = opened_at.map_or(0, |opened| (fact.at - opened).num_minutes());
                items.push((
                    fact.event_id,
                    Contribution::Outage {
                        household_minutes: u64::from(households) * minutes.max(0) as u64,
                    },
                ));
            }
        }
        items.push((fact.event_id, Contribution::Resolution { measured }));
        self.count(Counting {
            trigger: fact.event_id,
            at: fact.at,
            supplier,
            season,
            ticket,
            items,
            also: vec![fact.event_id],
        })
    }

    #[expect(clippy::too_many_arguments, reason = "the fields of one fact")]
    fn upheld(
        &mut self,
        fact: &Fact,
        entry: Uuid,
        supplier: &str,
        season: &str,
        dimension: Dimension,
        rule: &str,
        evidence: &[Uuid],
    ) -> Vec<Draft> {
        let Some(season) = Season::parse(season) else {
            return Vec::new();
        };
        if rule != rule_of(dimension) || dimension.index().is_none() {
            // The regulator's own entries are reversed by the decision itself.
            return Vec::new();
        }
        let key = (supplier.to_owned(), season);
        let mut removed = false;
        for event in evidence {
            if let Some((_, _, contribution)) = self.counted.remove(&(*event, dimension))
                && let Some(standing) = self.standings.get_mut(&key)
            {
                contribution.apply(&mut standing.tally, false);
                removed = true;
            }
        }
        let mut drafts = Vec::new();
        if removed || self.standings.contains_key(&key) {
            let (points, detail) = self.rescore(&key, dimension);
            let mut all = vec![fact.event_id];
            all.extend(evidence.iter().copied());
            drafts.push(Draft {
                entry_id: entry_id(fact.event_id, dimension),
                supplier: supplier.to_owned(),
                season,
                dimension,
                rule: REVERSAL_RULE.to_owned(),
                version: self.version(season).version.clone(),
                points,
                evidence: all,
                tickets: Vec::new(),
                detail: format!("appeal upheld against entry {entry}; now {detail}"),
                at: fact.at,
                reverses: Some(entry),
            });
        }
        drafts
    }

    /// Recomputes a dimension after its tally changed; returns the change and the detail.
    fn rescore(&mut self, key: &(String, Season), dimension: Dimension) -> (Centipoints, String) {
        let Some(index) = dimension.index() else {
            return (0, String::new());
        };
        let area = self.areas.get(&key.0).copied();
        let version = self.version(key.1).clone();
        let standing = self
            .standings
            .entry(key.clone())
            .or_insert_with(|| Standing {
                tally: Tally::default(),
                points: Dimension::SCORED.map(|d| version.weight(d)),
                version: version.version.clone(),
            });
        let now = version.points(dimension, &standing.tally, area);
        let change = now - standing.points[index];
        standing.points[index] = now;
        (change, version.detail(dimension, &standing.tally, area))
    }

    fn count(&mut self, counting: Counting<'_>) -> Vec<Draft> {
        let key = (counting.supplier.to_owned(), counting.season);
        let version = self.version(counting.season).clone();
        let mut drafts = Vec::new();
        for dimension in Dimension::SCORED {
            let items: Vec<_> = counting
                .items
                .iter()
                .filter(|(_, c)| c.dimension() == dimension)
                .collect();
            if items.is_empty() {
                continue;
            }
            {
                let standing = self
                    .standings
                    .entry(key.clone())
                    .or_insert_with(|| Standing {
                        tally: Tally::default(),
                        points: Dimension::SCORED.map(|d| version.weight(d)),
                        version: version.version.clone(),
                    });
                for (event, contribution) in &items {
                    contribution.apply(&mut standing.tally, true);
                    self.counted
                        .insert((*event, dimension), (key.0.clone(), key.1, *contribution));
                }
            }
            let (points, detail) = self.rescore(&key, dimension);
            if points == 0 {
                continue;
            }
            let mut evidence: Vec<Uuid> = Vec::new();
            for id in items
                .iter()
                .map(|(e, _)| *e)
                .chain(counting.also.iter().copied())
            {
                if !evidence.contains(&id) {
                    evidence.push(id);
                }
            }
            drafts.push(Draft {
                entry_id: entry_id(counting.trigger, dimension),
                supplier: key.0.clone(),
                season: key.1,
                dimension,
                rule: rule_of(dimension).to_owned(),
                version: version.version.clone(),
                points,
                evidence,
                tickets: vec![counting.ticket.to_owned()],
                detail,
                at: counting.at,
                reverses: None,
            });
        }
        drafts
    }
}
