//! A season computed by hand, checked against the scorer.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::domain::facts::{Clock, Fact, FactKind, Verdict};
use crate::domain::rulebook::Rulebook;
use crate::domain::scorer::{Draft, REVERSAL_RULE, Scorer, rule_of};
use crate::domain::values::{Dimension, Grade, Season, total};

const NORTH: &str = "north-heat";

struct Story {
    facts: Vec<Fact>,
    start: DateTime<Utc>,
    n: u128,
}

impl Story {
    fn new() -> Story {
        Story {
            facts: Vec::new(),
            // 08:00 on 10 December 2026, China time.
            start: Utc.with_ymd_and_hms(2026, 12, 10, 0, 0, 0).unwrap(),
            n: 0,
        }
    }

    fn add(&mut self, hours: i64, kind: FactKind) -> Uuid {
        self.n += 1;
        let event_id = Uuid::from_u128(self.n);
        self.facts.push(Fact {
            event_id,
            at: self.start + Duration::hours(hours),
            kind,
        });
        event_id
    }

    fn opened(&mut self, ticket: &str, incident: bool, households: u32) -> Uuid {
        self.add(
            0,
            FactKind::TicketOpened {
                ticket: ticket.into(),
                incident,
                complaint_ids: (1..=households).map(|n| format!("{ticket}/{n}")).collect(),
                households,
            },
        )
    }

    fn measured(&mut self, ticket: &str, hours: i64, tenths: i32) -> Uuid {
        self.add(
            hours,
            FactKind::Measured {
                ticket: ticket.into(),
                supplier: NORTH.into(),
                cycle: 1,
                tenths,
            },
        )
    }

    fn breached(&mut self, ticket: &str, hours: i64, clock: Clock) -> Uuid {
        self.add(
            hours,
            FactKind::Breached {
                ticket: ticket.into(),
                supplier: NORTH.into(),
                cycle: 1,
                clock,
            },
        )
    }

    fn resolved(&mut self, ticket: &str, hours: i64, supplier_side: bool) -> Uuid {
        self.add(
            hours,
            FactKind::Resolved {
                ticket: ticket.into(),
                supplier: NORTH.into(),
                cycle: 1,
                supplier_side,
            },
        )
    }

    /// A sensor episode whose complaint is `complaint`.
    fn episode(&mut self, complaint: &str, hours: i64, certified: bool, mean_tenths: i32) -> Uuid {
        self.add(
            hours,
            FactKind::SensorEpisode {
                episode: complaint.into(),
                certified,
                mean_tenths,
            },
        )
    }

    fn rated(&mut self, ticket: &str, hours: i64, verdict: Verdict) -> Uuid {
        self.add(
            hours,
            FactKind::Feedback {
                ticket: ticket.into(),
                supplier: NORTH.into(),
                cycle: 1,
                verdict,
            },
        )
    }
}

struct Season1 {
    story: Story,
    not_counted: Vec<Uuid>,
    sign_breach: Uuid,
    restore_breach: Uuid,
    t1: [Uuid; 3],
}

/// T1: 16.0 ℃ then 19.0 ℃, a sign breach, resolved by the supplier, satisfied.
/// T2: 15.0 ℃ and a restore breach, resolved as the resident's side: nothing counts.
/// T3: an incident of 5 households, 10 hours, no measurement, basically satisfied.
/// T4: resolved as the developer's handover: nothing counts.
/// T5: 18.0 ℃, a restore breach, resolved by the supplier, unsatisfied.
fn season() -> Season1 {
    let mut s = Story::new();
    let mut not_counted = Vec::new();
    s.opened("t1", false, 1);
    let cold = s.measured("t1", 1, 160);
    let sign_breach = s.breached("t1", 1, Clock::Sign);
    let warm = s.measured("t1", 3, 190);
    let r1 = s.resolved("t1", 4, true);
    s.rated("t1", 5, Verdict::Satisfied);

    s.opened("t2", false, 1);
    not_counted.push(s.measured("t2", 1, 150));
    not_counted.push(s.breached("t2", 9, Clock::Restore));
    not_counted.push(s.resolved("t2", 10, false));
    not_counted.push(s.rated("t2", 11, Verdict::Unsatisfied));

    s.opened("t3", true, 5);
    s.resolved("t3", 10, true);
    s.rated("t3", 12, Verdict::BasicallySatisfied);

    s.opened("t4", false, 1);
    not_counted.push(s.resolved("t4", 2, false));

    s.opened("t5", false, 1);
    s.measured("t5", 2, 180);
    let restore_breach = s.breached("t5", 9, Clock::Restore);
    s.resolved("t5", 10, true);
    s.rated("t5", 11, Verdict::Unsatisfied);
    Season1 {
        story: s,
        not_counted,
        sign_breach,
        restore_breach,
        t1: [cold, warm, r1],
    }
}

fn scorer(version: Option<&str>) -> Scorer {
    let book = Arc::new(Rulebook::shipped());
    let mut scorer = match version {
        Some(v) => Scorer::under(book, v).unwrap(),
        None => Scorer::new(book),
    };
    scorer.set_areas(HashMap::from([(NORTH.to_owned(), 200_000.0)]));
    scorer
}

fn run(scorer: &mut Scorer, facts: &[Fact]) -> Vec<Draft> {
    facts.iter().flat_map(|f| scorer.apply(f)).collect()
}

fn by_dimension(drafts: &[Draft]) -> HashMap<Dimension, i64> {
    let mut sums = HashMap::new();
    for d in drafts {
        *sums.entry(d.dimension).or_default() += d.points;
    }
    sums
}

#[test]
fn a_season_scores_as_computed_by_hand() {
    let season = season();
    let drafts = run(&mut scorer(None), &season.story.facts);
    let sums = by_dimension(&drafts);
    // 2 of 3 measurements at 18 ℃: 30 × 2/3 = 20.00.
    assert_eq!(sums[&Dimension::HeatingQuality], -1000);
    // A sign breach (0.5) and a restore breach (2).
    assert_eq!(sums[&Dimension::SlaPerformance], -250);
    // 7 complaints on 200,000 m²: 0.35 per 10,000 m², 15 × (1 − 0.35/5) = 13.95.
    assert_eq!(sums[&Dimension::ComplaintRate], -105);
    // Satisfied, basically satisfied, unsatisfied: 15 × 1.8/3 = 9.00.
    assert_eq!(sums[&Dimension::Satisfaction], -600);
    // 5 households × 10 hours × 0.02.
    assert_eq!(sums[&Dimension::Outages], -100);
    // 2 of 3 resolutions measured: 5 × 2/3 = 3.33.
    assert_eq!(sums[&Dimension::DataIntegration], -167);
    let score = total(drafts.iter().map(|d| d.points).sum());
    assert_eq!(score, 7778);
    assert_eq!(Grade::of(score, false), Grade::B);
    assert!(
        drafts
            .iter()
            .all(|d| d.season == Season::parse("2026-2027").unwrap())
    );
    assert!(drafts.iter().all(|d| d.version == "2024.1"));

    // The heating-quality entry of T1 names both measurements and the resolution.
    let [cold, warm, r1] = season.t1;
    let t1_quality = drafts
        .iter()
        .find(|d| d.dimension == Dimension::HeatingQuality && d.tickets == ["t1"])
        .unwrap();
    assert_eq!(t1_quality.evidence, vec![cold, warm, r1]);
    assert_eq!(t1_quality.points, -1500);
    assert_eq!(t1_quality.detail, "1 of 2 measurements at or above 18.0 ℃");
    assert_eq!(t1_quality.rule, rule_of(Dimension::HeatingQuality));
}

#[test]
fn resident_side_and_developer_handover_causes_are_not_counted() {
    let season = season();
    let drafts = run(&mut scorer(None), &season.story.facts);
    for id in &season.not_counted {
        assert!(
            drafts.iter().all(|d| !d.evidence.contains(id)),
            "event {id} counted"
        );
    }
    assert!(
        drafts
            .iter()
            .all(|d| d.tickets != ["t2"] && d.tickets != ["t4"])
    );
}

#[test]
fn the_same_event_delivered_twice_counts_once() {
    let season = season();
    let mut scorer = scorer(None);
    let mut facts = season.story.facts.clone();
    let breach = facts
        .iter()
        .position(|f| f.event_id == season.sign_breach)
        .unwrap();
    facts.insert(breach + 1, facts[breach].clone());
    let drafts = run(&mut scorer, &facts);
    assert_eq!(by_dimension(&drafts)[&Dimension::SlaPerformance], -250);
    assert!(run(&mut scorer, &season.story.facts).is_empty());
}

#[test]
fn a_scorer_saved_anywhere_in_a_season_and_restored_goes_on_as_if_never_stopped() {
    let season = season();
    let facts = &season.story.facts;
    let whole = run(&mut scorer(None), facts);
    for cut in 0..=facts.len() {
        let mut first = scorer(None);
        let mut drafts = run(&mut first, &facts[..cut]);
        let saved = first.save().unwrap();
        let mut restored = Scorer::restore(Arc::new(Rulebook::shipped()), &saved).unwrap();
        restored.set_areas(HashMap::from([(NORTH.to_owned(), 200_000.0)]));
        assert_eq!(restored.standings(), first.standings(), "cut at {cut}");
        drafts.extend(run(&mut restored, &facts[cut..]));
        assert_eq!(drafts, whole, "cut at {cut}");
        // What it had seen before the cut stays seen.
        assert!(run(&mut restored, &facts[..cut]).is_empty(), "cut at {cut}");
    }
    assert!(Scorer::restore(Arc::new(Rulebook::shipped()), b"not a scorer").is_err());
}

#[test]
fn a_stricter_rulebook_changes_exactly_the_entries_its_rules_change() {
    let season = season();
    let actual = run(&mut scorer(None), &season.story.facts);
    let stricter = run(&mut scorer(Some("2027.1")), &season.story.facts);
    assert_eq!(actual.len(), stricter.len());
    let mut changed = Vec::new();
    for (a, s) in actual.iter().zip(&stricter) {
        assert_eq!(a.entry_id, s.entry_id);
        assert_eq!(a.evidence, s.evidence);
        if a.points != s.points {
            changed.push(a.dimension);
        }
    }
    assert_eq!(changed, [Dimension::SlaPerformance; 2]);
    assert_eq!(by_dimension(&stricter)[&Dimension::SlaPerformance], -500);
}

#[test]
fn an_upheld_appeal_leaves_the_evidence_out_and_records_the_difference() {
    let season = season();
    let mut scorer = scorer(None);
    let drafts = run(&mut scorer, &season.story.facts);
    let appealed = drafts
        .iter()
        .find(|d| d.evidence.contains(&season.restore_breach))
        .unwrap()
        .clone();
    assert_eq!(appealed.points, -200);
    let decision = Fact {
        event_id: Uuid::from_u128(999),
        at: season.story.start + Duration::days(3),
        kind: FactKind::AppealUpheld {
            entry_id: appealed.entry_id,
            supplier: NORTH.into(),
            season: "2026-2027".into(),
            dimension: appealed.dimension,
            rule: appealed.rule.clone(),
            evidence: appealed.evidence.clone(),
        },
    };
    let reversal = scorer.apply(&decision);
    assert_eq!(reversal.len(), 1);
    assert_eq!(reversal[0].rule, REVERSAL_RULE);
    assert_eq!(reversal[0].points, 200);
    assert_eq!(reversal[0].reverses, Some(appealed.entry_id));
    assert!(reversal[0].evidence.contains(&season.restore_breach));
    assert!(scorer.apply(&decision).is_empty());
}

#[test]
fn a_missed_stop_heating_reply_counts_at_once_where_the_rules_price_it() {
    let mut s = Story::new();
    let breach = s.breached("application-1", 120, Clock::StopHeatingReply);
    // The 2024.1 rules do not price it: nothing is drafted.
    assert!(run(&mut scorer(None), &s.facts).is_empty());
    // 2027.1 costs a point, with no repair to wait for.
    let drafts = run(&mut scorer(Some("2027.1")), &s.facts);
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].dimension, Dimension::SlaPerformance);
    assert_eq!(drafts[0].points, -100);
    assert_eq!(drafts[0].evidence, vec![breach]);
    assert_eq!(drafts[0].tickets, ["application-1"]);
    assert_eq!(drafts[0].detail, "breaches: stop-heating reply 1");
}

/// Sensor episodes on repairs: `s1` opened its own ticket, `s2` merged into a resident's open
/// complaint, `s3` was read by uncertified sensors, `s4` sat on a repair a crew measured.
struct Sensed {
    story: Story,
    s1: Uuid,
    s2: Uuid,
    s4: Uuid,
    r1: Uuid,
    r2: Uuid,
}

fn sensed() -> Sensed {
    let mut s = Story::new();
    // t1: the episode files complaint t1/1, whose ticket opens after it.
    let s1 = s.episode("t1/1", 0, true, 150);
    s.opened("t1", false, 1);
    let r1 = s.resolved("t1", 6, true);
    // t2: a resident's complaint is on t2; the episode's complaint merges into it.
    s.opened("t2", false, 1);
    let s2 = s.episode("e2", 1, true, 185);
    s.add(
        1,
        FactKind::ComplaintMerged {
            complaint: "e2".into(),
            into: "t2/1".into(),
        },
    );
    let r2 = s.resolved("t2", 5, true);
    // t3: uncertified sensors.
    s.episode("t3/1", 0, false, 140);
    s.opened("t3", false, 1);
    s.resolved("t3", 4, true);
    // t4: the crew measured 17.0 ℃: the sensors' 12.0 ℃ is outranked.
    let s4 = s.episode("t4/1", 0, true, 120);
    s.opened("t4", false, 1);
    s.measured("t4", 2, 170);
    s.resolved("t4", 3, true);
    Sensed {
        story: s,
        s1,
        s2,
        s4,
        r1,
        r2,
    }
}

#[test]
fn sensor_episodes_count_only_under_a_version_that_admits_them() {
    let story = sensed();
    for version in [None, Some("2027.1")] {
        let drafts = run(&mut scorer(version), &story.story.facts);
        let quality: Vec<_> = drafts
            .iter()
            .filter(|d| d.dimension == Dimension::HeatingQuality)
            .collect();
        // Only t4's crew measurement counts: 0 of 1 at 18 ℃.
        assert_eq!(quality.len(), 1, "{version:?}: {quality:?}");
        assert_eq!(quality[0].tickets, ["t4"]);
        assert_eq!(quality[0].points, -3000);
    }
}

#[test]
fn a_certified_episode_counts_as_its_mean_and_a_crew_measurement_outranks_it() {
    let story = sensed();
    let drafts = run(&mut scorer(Some("2028.1")), &story.story.facts);
    let quality: Vec<_> = drafts
        .iter()
        .filter(|d| d.dimension == Dimension::HeatingQuality)
        .collect();
    // t1: 15.0 ℃, below: 0 of 1.
    assert_eq!(quality[0].tickets, ["t1"]);
    assert_eq!(quality[0].evidence, vec![story.s1, story.r1]);
    assert_eq!(quality[0].points, -3000);
    assert_eq!(
        quality[0].detail,
        "0 of 0 measurements and 0 of 1 sensor episodes at or above 18.0 ℃"
    );
    // t2: the merged episode at 18.5 ℃ is on the resident's ticket: 1 of 2.
    assert_eq!(quality[1].tickets, ["t2"]);
    assert_eq!(quality[1].evidence, vec![story.s2, story.r2]);
    assert_eq!(quality[1].points, 1500);
    // t3's uncertified episode makes no entry; t4 counts its crew measurement, not the
    // sensors: 1 of 3.
    assert_eq!(quality.len(), 3, "{quality:?}");
    assert_eq!(quality[2].tickets, ["t4"]);
    assert!(!quality[2].evidence.contains(&story.s4));
    assert_eq!(
        quality[2].detail,
        "0 of 1 measurements and 1 of 2 sensor episodes at or above 18.0 ℃"
    );
    assert_eq!(
        by_dimension(&drafts)[&Dimension::HeatingQuality],
        -3000 + 1000
    );
}

#[test]
fn an_episode_on_a_repair_resolved_on_the_residents_side_is_dropped() {
    let mut s = Story::new();
    let episode = s.episode("t1/1", 0, true, 150);
    s.opened("t1", false, 1);
    s.resolved("t1", 6, false);
    let drafts = run(&mut scorer(Some("2028.1")), &s.facts);
    assert!(drafts.iter().all(|d| !d.evidence.contains(&episode)));
}

#[test]
fn an_episode_told_after_its_complaint_merged_still_reaches_the_ticket() {
    let mut s = Story::new();
    s.opened("t1", false, 1);
    s.add(
        0,
        FactKind::ComplaintMerged {
            complaint: "e1".into(),
            into: "t1/1".into(),
        },
    );
    let episode = s.episode("e1", 1, true, 150);
    s.resolved("t1", 3, true);
    let drafts = run(&mut scorer(Some("2028.1")), &s.facts);
    let quality = drafts
        .iter()
        .find(|d| d.dimension == Dimension::HeatingQuality)
        .unwrap();
    assert!(quality.evidence.contains(&episode), "{quality:?}");
    assert_eq!(quality.points, -3000);
}
