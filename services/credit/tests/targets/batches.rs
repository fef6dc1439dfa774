//! What the feed reads in one batch: the rows one statement per kind writes for many events
//! hold exactly what one event at a time would have left.

use super::*;

/// A transaction that holds the log's readers back at its place: everything published while it
/// is open reaches the feed in one read once it commits.
async fn hold_readers(
    holder: &mut deadpool_postgres::Object,
) -> deadpool_postgres::Transaction<'_> {
    let hold = holder.transaction().await.unwrap();
    hold.query_one("SELECT pg_current_xact_id()::text", &[])
        .await
        .unwrap();
    hold
}

/// Complaints the feed reads together are inserted in one statement and counted per day and
/// scope by the table's statement trigger: with a replayed acceptance, a merge, a route found
/// and a rejection among them, the daily counts still hold exactly what the rows do.
#[tokio::test]
async fn complaints_read_in_one_batch_count_as_their_rows() {
    let h = Harness::start().await;
    let mut holder = h.store.pool().get().await.unwrap();
    let hold = hold_readers(&mut holder).await;
    let (evening, morning) = ("2026-12-08T13:30:00Z", "2026-12-08T18:00:00Z");
    for n in 0..24 {
        let district = ["north", "south", "east"][n % 3];
        // 13:30 UTC is 21:30 on the 8th in China, 18:00 UTC already 02:00 on the 9th.
        let filed = if n % 2 == 0 { evening } else { morning };
        complaint(&h, &format!("c{n}"), district, "east-heat", filed).await;
        match n {
            7 => {
                h.publish(
                    "c-merged",
                    &intake::ComplaintMerged {
                        complaint_id: "c-merged".into(),
                        into_complaint_id: "c2".into(),
                        category: intake::Category::LowTemperature.into(),
                        source: intake::Source::HotlineOperator.into(),
                        household: "household-c2".into(),
                        filed_at_ms: at(morning),
                        ..Default::default()
                    },
                )
                .await;
            }
            11 => {
                // The same acceptance again, as a redelivery would bring it.
                complaint(&h, "c4", "south", "east-heat", evening).await;
                h.publish(
                    "c-unrouted",
                    &intake::ComplaintAccepted {
                        complaint_id: "c-unrouted".into(),
                        category: intake::Category::NoHeat.into(),
                        source: intake::Source::App.into(),
                        household: "household-unrouted".into(),
                        filed_at_ms: at(evening),
                        ..Default::default()
                    },
                )
                .await;
            }
            17 => {
                h.publish(
                    "c5",
                    &intake::ComplaintRejected {
                        complaint_id: "c5".into(),
                        reason: "not a heating matter".into(),
                        rejected_at_ms: at(morning),
                        ..Default::default()
                    },
                )
                .await;
                h.publish(
                    "c-unrouted",
                    &intake::ComplaintRouted {
                        complaint_id: "c-unrouted".into(),
                        route: route("south", "east-heat"),
                        routed_at_ms: at(morning),
                    },
                )
                .await;
            }
            _ => {}
        }
    }
    hold.commit().await.unwrap();
    h.targets_caught_up().await;

    let daily = daily_counts(&h).await;
    let complaints = |day: &str, district: &str| {
        daily
            .iter()
            .find(|(d, place, _, _)| d == day && place == district)
            .map_or(0, |(_, _, _, counts)| counts[0])
    };
    // c0..c23 (c4 once), the merged one and the one routed later, less c5 rejected. Districts
    // go north, south, east by n; even n were filed on China's evening of the 8th, odd n in
    // the small hours of the 9th.
    assert_eq!(daily.iter().map(|(_, _, _, c)| c[0]).sum::<i64>(), 25);
    assert_eq!(complaints("2026-12-08", "north"), 4);
    assert_eq!(complaints("2026-12-09", "north"), 4);
    // c4, c10, c16, c22, and the complaint routed here after it was counted without a place.
    assert_eq!(complaints("2026-12-08", "south"), 5);
    assert_eq!(complaints("2026-12-09", "south"), 4);
    assert_eq!(complaints("2026-12-08", "east"), 4);
    // c11, c17, c23 (c5 rejected), and the merged one on c2's route, filed on the 9th.
    assert_eq!(complaints("2026-12-09", "east"), 4);
    assert_eq!(complaints("2026-12-08", ""), 0);
}

/// Tickets the feed reads together are opened, dispatched and closed in one statement per
/// kind: a ticket dispatched again keeps its first dispatch's time and takes the later
/// supplier, a second closing keeps the first time, and a measurement after its ticket's
/// signature still finds the ticket's district, exactly as one event at a time would leave
/// them.
#[tokio::test]
async fn tickets_read_in_one_batch_keep_each_events_effect() {
    let h = Harness::start().await;
    let mut holder = h.store.pool().get().await.unwrap();
    let hold = hold_readers(&mut holder).await;
    ticket(&h, "t1", "north", "a-heat", "2026-12-08T01:00:00Z", false).await;
    ticket(&h, "t2", "south", "b-heat", "2026-12-08T01:30:00Z", false).await;
    h.publish(
        "t1",
        &dispatch::TicketDispatched {
            ticket_id: "t1".into(),
            supplier_id: "b-heat".into(),
            cycle: 2,
            dispatched_at_ms: at("2026-12-08T02:00:00Z"),
            sign_deadline_ms: at("2026-12-08T02:30:00Z"),
        },
    )
    .await;
    signed(&h, "t2", "b-heat", "2026-12-08T03:00:00Z").await;
    measured(&h, "t2", "b-heat", "2026-12-08T03:30:00Z", 190).await;
    for (id, when) in [
        ("t1", "2026-12-08T05:00:00Z"),
        ("t2", "2026-12-08T04:00:00Z"),
        ("t1", "2026-12-08T06:00:00Z"),
    ] {
        h.publish(
            id,
            &dispatch::TicketClosed {
                ticket_id: id.into(),
                supplier_id: "b-heat".into(),
                outcome: "completed".into(),
                closed_at_ms: at(when),
                ..Default::default()
            },
        )
        .await;
    }
    ticket(&h, "t3", "east", "c-heat", "2026-12-08T07:00:00Z", true).await;
    hold.commit().await.unwrap();
    h.targets_caught_up().await;

    let client = h.store.pool().get().await.unwrap();
    let rows = client
        .query(
            "SELECT ticket_id, incident, district, supplier_id, dispatched_at, signed_at, \
             closed_at FROM credit.target_ticket ORDER BY ticket_id",
            &[],
        )
        .await
        .unwrap();
    let time = |text: &str| {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    };
    let read: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, bool>(1),
                r.get::<_, Option<String>>(2),
                r.get::<_, Option<String>>(3),
                r.get::<_, Option<DateTime<Utc>>>(4),
                r.get::<_, Option<DateTime<Utc>>>(5),
                r.get::<_, Option<DateTime<Utc>>>(6),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        read,
        vec![
            (
                "t1".to_owned(),
                false,
                some("north"),
                some("b-heat"),
                time("2026-12-08T01:00:00Z"),
                None,
                time("2026-12-08T05:00:00Z"),
            ),
            (
                "t2".to_owned(),
                false,
                some("south"),
                some("b-heat"),
                time("2026-12-08T01:30:00Z"),
                time("2026-12-08T03:00:00Z"),
                time("2026-12-08T04:00:00Z"),
            ),
            (
                "t3".to_owned(),
                true,
                some("east"),
                some("c-heat"),
                time("2026-12-08T07:00:00Z"),
                None,
                None,
            ),
        ]
    );
    let district: Option<String> = client
        .query_one(
            "SELECT district FROM credit.target_measurement WHERE ticket_id = 't2'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(district.as_deref(), Some("south"));
}
