//! Two instances of every service behind the gateway act as one: filings spread over both
//! intakes, one idempotency key sent to both at once makes one complaint, and killing the
//! instance that holds a subscription hands it to the other.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::support::{self, Gateway, Server, data_dir, free_port};

/// Whether some process holds the subscription `schema.name` (its session advisory lock).
async fn held(client: &tokio_postgres::Client, subscription: &str) -> bool {
    client
        .query_one(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND classid = hashtext('heatline.subscription')::oid \
             AND objid = hashtext($1)::oid AND objsubid = 2",
            &[&subscription],
        )
        .await
        .unwrap()
        .get(0)
}

async fn until_held(client: &tokio_postgres::Client, subscription: &str) -> Duration {
    let started = Instant::now();
    while !held(client, subscription).await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nobody took {subscription}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// How many hotline filings an instance answered 201, from its `/metrics`.
async fn filings(server: &Server) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find(|l| {
            l.starts_with("heatline_http_request_duration_seconds_count{")
                && l.contains(r#"method="POST",route="/api/v1/hotline/complaints",status="201""#)
        })
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

fn complaint(unit: usize) -> serde_json::Value {
    serde_json::json!({
        "category": "no_heat",
        "address": format!("南岗区学府路100号1栋2单元{unit}"),
        "caller_phone": "13800138000",
    })
}

#[tokio::test]
async fn two_instances_of_every_service_behind_the_gateway_act_as_one() {
    let db = testkit::TestDb::new().await;
    let client = db.connect().await;
    let dir = data_dir("instances");
    support::registries_and_admin(
        db.url(),
        &dir,
        support::BUILDINGS_CSV,
        support::SUPPLIERS_CSV,
        "a long first password",
    );

    let url = db.url();
    let start = |only: &str, env: &[(&str, &str)]| {
        Server::start_with(Some(url), &dir, &["--only", only], env)
    };
    let identity = [start("identity", &[]), start("identity", &[])];
    let jwks = format!("{}/.well-known/jwks.json", identity[0].base);
    let env = [("HEATLINE_JWKS_URL", jwks.as_str())];
    // The first of each pair takes its service's subscriptions; the second stands by.
    let intake_first = start("intake", &env);
    until_held(&client, "intake.dispatch_news").await;
    let intake = [intake_first, start("intake", &env)];
    let dispatch_first = start("dispatch", &env);
    until_held(&client, "dispatch.intake_feed").await;
    let dispatch_second = start("dispatch", &env);
    // Both credit instances are given the NATS server: one relays the log, one stands by.
    let nats_port = free_port();
    let _nats = testkit::nats::Nats::start(nats_port, &dir.join("nats"));
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let credit_env = [env[0], ("HEATLINE_NATS_URL", nats_url.as_str())];
    let credit_first = start("credit", &credit_env);
    until_held(&client, "credit.ledger_feed").await;
    let credit = [credit_first, start("credit", &credit_env)];
    let port = free_port();
    let gateway = Gateway::start_instances(
        port,
        &dir,
        [
            &[&identity[0].base, &identity[1].base],
            &[&intake[0].base, &intake[1].base],
            &[&dispatch_first.base, &dispatch_second.base],
            &[&credit[0].base, &credit[1].base],
            &["http://127.0.0.1:9"],
        ],
    );
    let public = gateway.base.as_str();
    let http = reqwest::Client::new();
    let operator = support::hotline_operator(&http, public).await;

    // Ten calls through the gateway: both intakes take some.
    let mut filed = BTreeSet::new();
    for unit in 301..311 {
        let answer = http
            .post(format!("{public}/api/v1/hotline/complaints"))
            .bearer_auth(&operator)
            .json(&complaint(unit))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 201);
        let body: serde_json::Value = answer.json().await.unwrap();
        filed.insert(body["complaint_id"].as_str().unwrap().to_owned());
    }
    let (first, second) = (filings(&intake[0]).await, filings(&intake[1]).await);
    assert_eq!(first + second, 10);
    assert!(first > 0 && second > 0, "{first} and {second}");

    // One key, sent to both intakes at once (a client retrying on another route): one
    // complaint, and both answers name it.
    let send = |base: &str| {
        http.post(format!("{base}/api/v1/hotline/complaints"))
            .bearer_auth(&operator)
            .header("idempotency-key", "call-7781")
            .json(&complaint(401))
            .send()
    };
    let (one, other) = tokio::join!(send(&intake[0].base), send(&intake[1].base));
    let (one, other) = (one.unwrap(), other.unwrap());
    assert!(one.status().is_success() && other.status().is_success());
    let one: serde_json::Value = one.json().await.unwrap();
    let other: serde_json::Value = other.json().await.unwrap();
    assert_eq!(one["complaint_id"], other["complaint_id"], "{one} {other}");
    filed.insert(one["complaint_id"].as_str().unwrap().to_owned());
    let accepted: i64 = client
        .query_one(
            "SELECT count(*) FROM eventstore.published_event \
             WHERE message_type = 'heatline.intake.v1.ComplaintAccepted'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(accepted, 11);

    // The dispatch instance holding the feed that opens tickets is killed: the other takes
    // the feed within seconds, and a call after it is a ticket like every one before.
    drop(dispatch_first);
    let handover = until_held(&client, "dispatch.intake_feed").await;
    assert!(handover < Duration::from_secs(5), "{handover:?}");
    let answer = http
        .post(format!("{public}/api/v1/hotline/complaints"))
        .bearer_auth(&operator)
        .json(&complaint(501))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    let body: serde_json::Value = answer.json().await.unwrap();
    filed.insert(body["complaint_id"].as_str().unwrap().to_owned());
    // Every call is on a ticket, as one instance would have it: its own, or (filed while the
    // building's incident was open) the incident's. No ticket was opened twice, and every
    // ticket of a complaint's own is one of the calls.
    let started = Instant::now();
    let filed_ids: Vec<String> = filed.iter().cloned().collect();
    loop {
        let carried: i64 = client
            .query_one(
                "SELECT count(*) FROM dispatch.ticket_complaint \
                 WHERE complaint_id = ANY($1::text[]::uuid[])",
                &[&filed_ids],
            )
            .await
            .unwrap()
            .get(0);
        if carried == filed.len() as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{carried} of {} calls on a ticket",
            filed.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &filed {
        let ticket: String = client
            .query_one(
                "SELECT ticket_id::text FROM dispatch.ticket_complaint WHERE complaint_id = $1::text::uuid",
                &[id],
            )
            .await
            .unwrap()
            .get(0);
        let answer = http
            .get(format!("{public}/api/v1/tickets/{ticket}"))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{id} on {ticket}");
    }
    let opened: Vec<(String, i64)> = client
        .query(
            "SELECT aggregate_id, count(*) FROM eventstore.published_event \
             WHERE message_type = 'heatline.dispatch.v1.TicketOpened' GROUP BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(opened.iter().all(|(_, n)| *n == 1), "{opened:?}");
    let own: BTreeSet<String> = client
        .query(
            "SELECT ticket_id::text FROM dispatch.ticket WHERE origin = 'complaint'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(own.is_subset(&filed), "{own:?} in {filed:?}");

    // The log as it is now reaches JetStream, each event once; the relay's lag is in the
    // credit instances' metrics.
    let jetstream =
        async_nats::jetstream::new(async_nats::connect(nats_url.as_str()).await.unwrap());
    let started = Instant::now();
    loop {
        // The stream first: what it holds was published before it was read.
        let messages = match jetstream.get_stream("HEATLINE").await {
            Ok(mut stream) => stream.info().await.unwrap().state.messages,
            Err(_) => 0,
        };
        let published: i64 = client
            .query_one("SELECT count(*) FROM eventstore.published_event", &[])
            .await
            .unwrap()
            .get(0);
        if messages == published as u64 {
            break;
        }
        assert!(
            messages <= published as u64 && started.elapsed() < Duration::from_secs(20),
            "{messages} messages in JetStream for {published} published events"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = reqwest::get(format!("{public}/services/credit/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"heatline_subscription_lag_events{subscription="relay.jetstream"}"#),
        "{metrics}"
    );

    drop(gateway);
    for server in [dispatch_second]
        .into_iter()
        .chain(credit)
        .chain(intake)
        .chain(identity)
    {
        assert!(server.terminate().success());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
