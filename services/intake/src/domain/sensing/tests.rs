//! The sensing aggregates' decisions, command by command.

use chrono::{DateTime, TimeZone, Utc};
use contracts::intake::v1 as proto;
use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;
use eventstore::Publish;

use super::*;
use crate::domain::values::Route;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
}

fn hour(h: u32, mean: f64) -> HourMean {
    HourMean {
        hour: at(h),
        mean,
        lowest: mean - 0.5,
        readings: 4,
    }
}

fn detected() -> EpisodeEvent {
    EpisodeEvent::Detected {
        household: "acct:H1".into(),
        route: Route::default(),
        sensors: vec!["T-1".into()],
        certified: true,
        standard: 18.0,
        hours: (1..=4).map(|h| hour(h, 15.0)).collect(),
        at: at(5),
    }
}

#[test]
fn an_episode_recovers_once_and_only_after_it_was_detected() {
    let recover = || EpisodeCommand::Recover {
        hour: hour(6, 18.5),
        at: at(7),
    };
    TestFramework::<Episode>::with(())
        .given(vec![detected()])
        .when(recover())
        .then_expect_events(vec![EpisodeEvent::Recovered {
            hour: hour(6, 18.5),
            at: at(7),
        }]);
    TestFramework::<Episode>::with(())
        .given_no_previous_events()
        .when(recover())
        .then_expect_error(SensingError::NotDetected);
    TestFramework::<Episode>::with(())
        .given(vec![
            detected(),
            EpisodeEvent::Recovered {
                hour: hour(6, 18.5),
                at: at(7),
            },
        ])
        .when(recover())
        .then_expect_error(SensingError::AlreadyRecovered);
}

#[test]
fn a_detected_episode_publishes_its_hours_in_tenths() {
    let mut episode = Episode::default();
    episode.apply(detected());
    let published = episode.publish("e-1", &detected());
    assert_eq!(
        published[0].message_type,
        "heatline.intake.v1.LowTemperatureDetected"
    );
    let message: proto::LowTemperatureDetected =
        prost::Message::decode(published[0].payload.as_slice()).unwrap();
    assert_eq!(message.standard_tenths_celsius, 180);
    assert_eq!(message.hours.len(), 4);
    assert_eq!(message.hours[0].mean_tenths_celsius, 150);
    assert_eq!(message.hours[0].lowest_tenths_celsius, 145);
    assert_eq!(message.since_ms, at(1).timestamp_millis());
}

#[test]
fn a_sensor_goes_silent_once_until_it_reports_again() {
    let silence = || WatchCommand::Silence {
        sensor: Watched {
            sensor_id: "T-1".into(),
            kind: "room".into(),
            household: Some("acct:H1".into()),
            route: Route::default(),
        },
        last_reading: Some(at(1)),
        hours: 6,
        at: at(8),
    };
    let silenced = SensorWatch::default().decide(silence()).unwrap();
    TestFramework::<SensorWatch>::with(())
        .given(vec![silenced.clone()])
        .when(silence())
        .then_expect_error(SensingError::AlreadySilent);
    TestFramework::<SensorWatch>::with(())
        .given_no_previous_events()
        .when(WatchCommand::Resume {
            reading_at: at(9),
            at: at(9),
        })
        .then_expect_error(SensingError::NotSilent);
    TestFramework::<SensorWatch>::with(())
        .given(vec![silenced])
        .when(WatchCommand::Resume {
            reading_at: at(9),
            at: at(9),
        })
        .then_expect_events(vec![WatchEvent::Resumed {
            reading_at: at(9),
            at: at(9),
        }]);
}

#[test]
fn a_further_drop_recurs_and_the_same_drop_is_refused() {
    let drop = |id: &str| Drop {
        drop_id: id.into(),
        sensor_id: "S-1".into(),
        baseline_pressure: 500.0,
        pressure: 400.0,
        baseline_flow: 100.0,
        flow: 120.0,
        from: at(1),
        to: at(2),
        readings: 5,
    };
    let record = |id: &str| AnomalyCommand::Record {
        station: "HP-S1".into(),
        route: Route::default(),
        drop: drop(id),
        at: at(2),
    };
    let first = NetworkAnomaly::default().decide(record("d-1")).unwrap();
    assert!(matches!(first, AnomalyEvent::Detected { .. }));
    TestFramework::<NetworkAnomaly>::with(())
        .given(vec![first.clone()])
        .when(record("d-2"))
        .then_expect_events(vec![AnomalyEvent::Recurred {
            drop: drop("d-2"),
            at: at(2),
        }]);
    TestFramework::<NetworkAnomaly>::with(())
        .given(vec![first])
        .when(record("d-1"))
        .then_expect_error(SensingError::DropRecorded);
}
