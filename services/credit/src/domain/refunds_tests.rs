//! A household's season computed by hand under both shipped shapes.

use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::domain::refund_rules::RefundRulebook;

fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    let year = if month >= 7 { 2026 } else { 2027 };
    china()
        .with_ymd_and_hms(year, month, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn date(month: u32, day: u32) -> NaiveDate {
    at(month, day, 12).with_timezone(&china()).date_naive()
}

fn reading(month: u32, day: u32, hour: u32, tenths: i32) -> Reading {
    Reading {
        event_id: Uuid::new_v4(),
        at: at(month, day, hour),
        tenths,
    }
}

fn cycle(
    ticket: &str,
    number: u32,
    no_heat: bool,
    started: DateTime<Utc>,
    readings: Vec<Reading>,
    resolved: DateTime<Utc>,
    supplier_side: bool,
) -> RepairCycle {
    RepairCycle {
        ticket_id: ticket.into(),
        cycle: number,
        no_heat,
        started_at: started,
        started_by: Uuid::new_v4(),
        readings,
        sensed: Vec::new(),
        resolution: Some(Resolution {
            event_id: Uuid::new_v4(),
            at: resolved,
            supplier_side,
        }),
    }
}

/// The household's repairs this season:
/// - A, a low temperature: 15.2 ℃ on 1 Dec 10:00, 16.8 on 2 Dec 11:00, 18.3 on 3 Dec 15:00,
///   resolved (supplier) 3 Dec 16:00; reopened 5 Dec 08:00, 13.5 at 09:00, resolved 18:00.
/// - B, no heat from 10 Dec 20:00 to 11 Dec 09:00 (13 hours), supplier.
/// - C, no heat for 4 hours on 20 Dec, supplier.
/// - D, 12.0 ℃ on 25 Dec, resolved with a resident-side cause.
/// - E, no heat filed 16 Nov 10:00, resolved 17 Nov 14:00 (28 hours), supplier.
/// - F, 12.0 ℃ on 28 Dec, not resolved yet.
fn season_of_repairs() -> Vec<RepairCycle> {
    vec![
        cycle(
            "A",
            1,
            false,
            at(12, 1, 9),
            vec![
                reading(12, 1, 10, 152),
                reading(12, 2, 11, 168),
                reading(12, 3, 15, 183),
            ],
            at(12, 3, 16),
            true,
        ),
        cycle(
            "A",
            2,
            false,
            at(12, 5, 8),
            vec![reading(12, 5, 9, 135)],
            at(12, 5, 18),
            true,
        ),
        cycle("B", 1, true, at(12, 10, 20), vec![], at(12, 11, 9), true),
        cycle("C", 1, true, at(12, 20, 8), vec![], at(12, 20, 12), true),
        cycle(
            "D",
            1,
            false,
            at(12, 25, 8),
            vec![reading(12, 25, 10, 120)],
            at(12, 25, 18),
            false,
        ),
        cycle("E", 1, true, at(11, 16, 10), vec![], at(11, 17, 14), true),
        RepairCycle {
            resolution: None,
            ..cycle(
                "F",
                1,
                false,
                at(12, 28, 8),
                vec![reading(12, 28, 10, 120)],
                at(12, 28, 9),
                true,
            )
        },
    ]
}

fn summary(days: &[RefundDay]) -> Vec<(NaiveDate, RefundRule, u32, i64)> {
    days.iter()
        .map(|d| (d.day, d.rule, d.share_pct, d.amount_fen))
        .collect()
}

#[test]
fn xian_refunds_tiers_a_late_start_and_an_outage() {
    let book = RefundRulebook::shipped();
    let season = Season::parse("2026-2027").unwrap();
    let version = book.for_season("xian", season).unwrap();
    // 80 m² at 23.40 yuan: the season's fee is 1,872.00 yuan over 121 days, 1,547.107 fen a
    // day: 1,547 whole, 774 at 50 %, 309 at 20 %.
    let basis = FeeBasis {
        area_centi_m2: 8_000,
        price_fen_per_m2: 2_340,
    };
    assert_eq!(basis.season_fee_fen(), 187_200);
    let days = refund_days(version, season, basis, &season_of_repairs());
    use RefundRule::*;
    assert_eq!(
        summary(&days),
        vec![
            // E: filed on the second day of heating: a late start from 15 Nov to its repair
            // (the outage covers 16 and 17 Nov at the same share; the late start came first).
            (date(11, 15), LateStart, 100, 1_547),
            (date(11, 16), LateStart, 100, 1_547),
            (date(11, 17), LateStart, 100, 1_547),
            // A: 15.2 ℃ was in force on 1 and 2 Dec (14–16 ℃, 50 %), 16.8 on 3 Dec until 18.3
            // ended the spell (16–18 ℃, 20 %).
            (date(12, 1), Temperature, 50, 774),
            (date(12, 2), Temperature, 50, 774),
            (date(12, 3), Temperature, 20, 309),
            // A reopened: 13.5 ℃ (below 14 ℃, 100 %).
            (date(12, 5), Temperature, 100, 1_547),
            // B: 13 hours without heat over two days. C's 4 hours count for nothing, D was the
            // resident's side, F is not resolved yet.
            (date(12, 10), Outage, 100, 1_547),
            (date(12, 11), Outage, 100, 1_547),
        ]
    );
    assert_eq!(days.iter().map(|d| d.amount_fen).sum::<i64>(), 11_139);
    assert_eq!(days[3].tier, "14.0–16.0 ℃");
    assert_eq!(days[3].lowest_tenths, Some(152));
    assert_eq!(days[5].tier, "16.0–18.0 ℃");
    assert_eq!(days[0].tier, WHOLE_DAY);
    assert_eq!(days[0].tickets, vec!["E".to_owned()]);
    // The 2 Dec day names the reading in force from 1 Dec and the one of 2 Dec, and the
    // resolution.
    assert_eq!(days[4].evidence.len(), 3);
}

#[test]
fn harbin_counts_cold_only_after_48_hours_against_a_20_degree_standard() {
    let book = RefundRulebook::shipped();
    let season = Season::parse("2026-2027").unwrap();
    let version = book.for_season("harbin", season).unwrap();
    // 80 m² at 41.00 yuan over 183 days: 1,792.35 fen a day, 896 at 50 %.
    let basis = FeeBasis {
        area_centi_m2: 8_000,
        price_fen_per_m2: 4_100,
    };
    let days = refund_days(version, season, basis, &season_of_repairs());
    use RefundRule::*;
    assert_eq!(
        summary(&days),
        vec![
            // E: heating started on 20 Oct, so 16 Nov is no late start; 28 hours is an outage.
            (date(11, 16), Outage, 100, 1_792),
            (date(11, 17), Outage, 100, 1_792),
            // A: 18.3 ℃ is still below 20 ℃, so the spell ran from 1 Dec 10:00 to the
            // resolution on 3 Dec 16:00, 54 hours: it counts. 15.2 ℃ is below 16 ℃.
            (date(12, 1), Temperature, 100, 1_792),
            (date(12, 2), Temperature, 100, 1_792),
            (date(12, 3), Temperature, 50, 896),
            // A reopened was cold for 9 hours only: nothing.
            (date(12, 10), Outage, 100, 1_792),
            (date(12, 11), Outage, 100, 1_792),
        ]
    );
    assert_eq!(days.iter().map(|d| d.amount_fen).sum::<i64>(), 11_648);
}

#[test]
fn days_outside_the_official_season_and_repeated_cycles_count_once() {
    let book = RefundRulebook::shipped();
    let season = Season::parse("2026-2027").unwrap();
    let version = book.for_season("xian", season).unwrap();
    let basis = FeeBasis {
        area_centi_m2: 10_000,
        price_fen_per_m2: 1_210,
    };
    // No heat from 14 Nov 08:00 to 16 Nov 08:00: 14 Nov is before heating started.
    let early = cycle("G", 1, true, at(11, 14, 8), vec![], at(11, 16, 8), true);
    let twice = vec![early.clone(), early];
    let days = refund_days(version, season, basis, &twice);
    // 100 m² at 12.10 yuan over 121 days: exactly 10 yuan a day.
    assert_eq!(
        summary(&days),
        vec![
            (date(11, 15), RefundRule::Outage, 100, 1_000),
            (date(11, 16), RefundRule::Outage, 100, 1_000),
        ]
    );
}

#[test]
fn certified_sensor_hours_stand_in_for_a_crew_measurement_only_where_the_version_says() {
    let book = RefundRulebook::shipped();
    let season = Season::parse("2026-2027").unwrap();
    let before = book.for_season("xian", season).unwrap();
    let sensing = book.version("xian-2027.1").unwrap();
    assert!(!before.sensor_hours && sensing.sensor_hours);
    // 100 m² at 12.10 yuan over 121 days: exactly 10 yuan a day.
    let basis = FeeBasis {
        area_centi_m2: 10_000,
        price_fen_per_m2: 1_210,
    };
    let episode = Uuid::new_v4();
    let recovered = Uuid::new_v4();
    let hour = |event_id, day, hour, tenths| Reading {
        event_id,
        at: at(12, day, hour),
        tenths,
    };
    // S: the sensors read 15.0, 15.2, 13.9 and 15.0 ℃ from 1 Dec 20:00; the episode's
    // complaint opened the repair at midnight; a warm hour (19.5 ℃) at 09:00, resolved 10:00.
    let mut sensed = cycle("S", 1, false, at(12, 2, 0), vec![], at(12, 2, 10), true);
    sensed.sensed = vec![
        hour(episode, 1, 20, 150),
        hour(episode, 1, 21, 152),
        hour(episode, 1, 22, 139),
        hour(episode, 1, 23, 150),
        hour(recovered, 2, 9, 195),
    ];
    // T: the crew measured 17.0 ℃; the sensors' 12.0 ℃ the same morning is outranked.
    let mut measured = cycle(
        "T",
        1,
        false,
        at(12, 5, 8),
        vec![reading(12, 5, 10, 170)],
        at(12, 5, 12),
        true,
    );
    measured.sensed = vec![hour(Uuid::new_v4(), 5, 7, 120)];
    let repairs = vec![sensed, measured];

    let days = refund_days(sensing, season, basis, &repairs);
    use RefundRule::*;
    assert_eq!(
        summary(&days),
        vec![
            // 13.9 ℃ on 1 Dec: below 14 ℃, the whole day.
            (date(12, 1), Temperature, 100, 1_000),
            // 15.0 ℃ from 23:00 was in force until the warm hour: 14–16 ℃, half.
            (date(12, 2), Temperature, 50, 500),
            // The crew's 17.0 ℃: 16–18 ℃, a fifth.
            (date(12, 5), Temperature, 20, 200),
        ]
    );
    assert_eq!(
        days[0].evidence.len(),
        2,
        "the episode once, and the resolution"
    );
    assert!(days[0].evidence.contains(&episode));
    assert_eq!(days[0].lowest_tenths, Some(139));

    // Before the version, only the crew's measurement counts.
    let days = refund_days(before, season, basis, &repairs);
    assert_eq!(summary(&days), vec![(date(12, 5), Temperature, 20, 200)]);
}
