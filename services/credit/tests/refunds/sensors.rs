//! Certified room sensors' cold hours standing in for a crew's measurement under Xi'an's 2027
//! rules.

use super::*;

/// A low-temperature episode of `household` whose complaint is `episode`, read by certified
/// (or uncertified) sensors: 15.0, 15.2, 13.9 and 15.0 ℃ from 1 Dec 20:00.
async fn cold_hours(h: &Harness, episode: &str, household: &str, certified: bool) {
    let hours = [150, 152, 139, 150]
        .iter()
        .enumerate()
        .map(|(n, tenths)| intake::HourlyTemperature {
            hour_ms: dec(1, 20) + n as i64 * 3_600_000,
            mean_tenths_celsius: *tenths,
            lowest_tenths_celsius: *tenths,
            readings: 4,
        })
        .collect();
    h.publish(
        episode,
        &intake::LowTemperatureDetected {
            episode_id: episode.into(),
            household: household.into(),
            route: route("b3"),
            sensor_ids: vec![format!("T-{household}")],
            certified,
            standard_tenths_celsius: 180,
            hours,
            since_ms: dec(1, 20),
            detected_at_ms: dec(2, 0),
        },
    )
    .await;
}

/// Ticket `ticket` of building b3 opened at `filed` for complaint `complaint` of `household`.
async fn opened_by(h: &Harness, ticket: &str, complaint: &str, household: &str, filed: i64) {
    h.publish(
        ticket,
        &dispatch::TicketOpened {
            ticket_id: ticket.into(),
            origin: "complaint".into(),
            complaint_ids: vec![complaint.into()],
            households: vec![household.into()],
            category: intake::Category::LowTemperature.into(),
            route: route("b3"),
            filed_at_ms: filed,
            opened_at_ms: filed,
            ..Default::default()
        },
    )
    .await;
}

#[tokio::test]
async fn certified_sensor_hours_stand_in_for_a_crew_measurement_under_xians_2027_rules() {
    let h = Harness::start().await;
    credit::refunds::households::import(
        h.store.pool(),
        &[home("hh-6", "b3"), home("hh-7", "b3"), home("hh-8", "b3")],
        Utc::now(),
    )
    .await
    .unwrap();
    swept(&h).await;
    // hh-6's certified sensors open t6 by their complaint (the episode's id); a warm hour at
    // 09:00 ends the spell; the supplier resolves t6 at 10:00 without measuring.
    cold_hours(&h, "e6", "hh-6", true).await;
    opened_by(&h, "t6", "e6", "hh-6", dec(2, 0)).await;
    h.publish(
        "e6",
        &intake::TemperatureRecovered {
            episode_id: "e6".into(),
            household: "hh-6".into(),
            route: route("b3"),
            hour: Some(intake::HourlyTemperature {
                hour_ms: dec(2, 9),
                mean_tenths_celsius: 195,
                lowest_tenths_celsius: 190,
                readings: 4,
            }),
            recovered_at_ms: dec(2, 10),
        },
    )
    .await;
    resolved(
        &h,
        "t6",
        1,
        dec(2, 10),
        dispatch::Cause::Supplier,
        &["hh-6"],
    )
    .await;
    // hh-7's episode merged into the resident's complaint c7, which opened t7.
    cold_hours(&h, "e7", "hh-7", true).await;
    opened_by(&h, "t7", "c7", "hh-7", dec(1, 23)).await;
    h.publish(
        "e7",
        &intake::ComplaintMerged {
            complaint_id: "e7".into(),
            into_complaint_id: "c7".into(),
            household: "hh-7".into(),
            source: intake::Source::Sensor.into(),
            filed_at_ms: dec(2, 0),
            ..Default::default()
        },
    )
    .await;
    resolved(
        &h,
        "t7",
        1,
        dec(2, 10),
        dispatch::Cause::Supplier,
        &["hh-7"],
    )
    .await;
    // hh-8's sensors are not certified.
    cold_hours(&h, "e8", "hh-8", false).await;
    opened_by(&h, "t8", "e8", "hh-8", dec(2, 0)).await;
    resolved(
        &h,
        "t8",
        1,
        dec(2, 10),
        dispatch::Cause::Supplier,
        &["hh-8"],
    )
    .await;
    accrued(&h).await;

    // The season's rules (xian-2024.1) count crews' measurements only: nothing.
    let path =
        |household: &str| format!("/api/v1/refunds/seasons/2026-2027/households/{household}");
    let statement = h.api.get(&path("hh-6"), &h.regulator()).await;
    assert_eq!(statement.status, 200, "{}", statement.body);
    assert_eq!(days(&statement.body), vec![]);

    // Under xian-2027.1 the sensors' 13.9 ℃ makes 1 Dec a whole day, and the 15.0 ℃ in force
    // from 23:00 until the warm hour (or the resolution, for hh-7) half of 2 Dec.
    let sensed: Vec<_> = [
        ("2026-12-01", "refund.temperature", 100, 1_547),
        ("2026-12-02", "refund.temperature", 50, 774),
    ]
    .into_iter()
    .map(|(d, r, s, a)| (d.to_owned(), r.to_owned(), s, a))
    .collect();
    let what_if_of = |household: &'static str| {
        let h = &h;
        let path = path(household);
        async move {
            let reply = h
                .api
                .get(
                    &format!("{path}/what-if?version=xian-2027.1"),
                    &h.regulator(),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body
        }
    };
    assert_eq!(days(&what_if_of("hh-7").await), sensed);
    let what_if = what_if_of("hh-6").await;
    assert_eq!(days(&what_if), sensed);
    let first = &what_if["days"][0];
    assert_eq!(first["lowest_celsius"], 13.9, "{first}");
    let evidence: Vec<&str> = first["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        evidence.len(),
        2,
        "the episode once and the resolution: {first}"
    );

    // Uncertified sensors never count.
    assert_eq!(days(&what_if_of("hh-8").await), vec![]);
}
