//! Where a flood's rate is bounded: what the broker relays alone, and intake's ingest without
//! the broker (batches handed to its store, signed pushes over HTTP).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{SecondsFormat, Utc};
use futures_util::StreamExt;
use intake::Intake;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::{flood, reading, sensor_id};

/// What [`store_directly`] measured.
pub(super) struct Direct {
    pub(super) stored: usize,
    pub(super) rate: f64,
}

/// Hands `total` warm readings of the homes not sent cold straight to intake's store, in
/// batches of 1,000, three at a time; answers how many it stored and how fast.
pub(super) async fn store_directly(
    intake: &Arc<Intake>,
    sensors: usize,
    cold: usize,
    total: usize,
) -> anyhow::Result<Direct> {
    let warm = sensors - cold - 1;
    let base = Utc::now();
    let batches: Vec<Vec<Result<intake::readings::Reading, intake::readings::Dropped>>> = (0
        ..total)
        .map(|k| {
            Ok(intake::readings::Reading {
                sensor_id: sensor_id(cold + k % warm),
                // Microseconds apart, so that none repeats a stored reading.
                at: base + chrono::Duration::microseconds(k as i64 + 1),
                values: intake::readings::Values::Temperature { celsius: 20.5 },
            })
        })
        .collect::<Vec<_>>()
        .chunks(1_000)
        .map(<[_]>::to_vec)
        .collect();
    three_at_once(batches, |batch| {
        let intake = intake.clone();
        async move { Ok(intake.ingest_readings(batch).await?.accepted) }
    })
    .await
}

/// Runs `store` over `batches`, three at a time; answers how many they stored and how fast.
async fn three_at_once<B, F>(batches: Vec<B>, store: impl Fn(B) -> F) -> anyhow::Result<Direct>
where
    F: std::future::Future<Output = anyhow::Result<usize>>,
{
    let started = Instant::now();
    let stored: Vec<usize> = futures_util::stream::iter(batches)
        .map(store)
        .buffer_unordered(3)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let took = started.elapsed().as_secs_f64();
    let stored: usize = stored.iter().sum();
    Ok(Direct {
        stored,
        rate: stored as f64 / took,
    })
}

/// What [`broker_alone`] measured.
pub(super) struct Echo {
    pub(super) received: u64,
    pub(super) rate: f64,
}

/// Publishes `total` readings as fast as the publishers go to a topic intake does not read,
/// which a subscriber of its own receives at QoS 1; answers how many arrived and how fast.
pub(super) async fn broker_alone(
    clients: &[AsyncClient],
    port: u16,
    total: u64,
    sensors: usize,
) -> anyhow::Result<Echo> {
    let mut mqtt = MqttOptions::new("heatline-bench-echo", "127.0.0.1", port);
    mqtt.set_keep_alive(Duration::from_secs(30));
    let (subscriber, mut events) = AsyncClient::new(mqtt, 10_000);
    subscriber
        .subscribe("bench/echo/#", QoS::AtLeastOnce)
        .await?;
    let received = Arc::new(AtomicU64::new(0));
    let (subscribed, ready) = tokio::sync::oneshot::channel();
    let counter = received.clone();
    let listening = tokio::spawn(async move {
        let mut subscribed = Some(subscribed);
        while let Ok(event) = events.poll().await {
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(tell) = subscribed.take() {
                        let _ = tell.send(());
                    }
                }
                Event::Incoming(Packet::Publish(_)) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .context("the echo subscriber was never subscribed")??;
    let started = Instant::now();
    flood(clients, total, 0, move |k| {
        let (_, body) = reading(k as usize % sensors, Utc::now(), 20.5);
        (
            format!("bench/echo/{}", sensor_id(k as usize % sensors)),
            body,
        )
    })
    .await;
    let mut last = (0, Instant::now());
    loop {
        let now = received.load(Ordering::Relaxed);
        if now >= total {
            last = (now, Instant::now());
            break;
        }
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    listening.abort();
    let _ = subscriber.disconnect().await;
    Ok(Echo {
        received: last.0,
        rate: last.0 as f64 / (last.1 - started).as_secs_f64(),
    })
}

/// POSTs `total` warm readings of the homes not sent cold to intake's bulk push, 10,000 a
/// request, signed, on three connections; answers how many it stored and how fast.
pub(super) async fn push_over_http(
    address: std::net::SocketAddr,
    secret: &str,
    sensors: usize,
    cold: usize,
    total: usize,
) -> anyhow::Result<Direct> {
    let url = format!("http://{address}/api/v1/sensors/readings");
    let warm = sensors - cold - 1;
    let base = Utc::now();
    let bodies: Vec<Vec<u8>> = (0..total)
        .map(|k| {
            serde_json::json!({
                "sensor_id": sensor_id(cold + k % warm),
                "at": (base + chrono::Duration::microseconds(k as i64 + 1))
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
                "celsius": 20.5,
            })
        })
        .collect::<Vec<_>>()
        .chunks(10_000)
        .map(|batch| serde_json::to_vec(&serde_json::json!({ "readings": batch })))
        .collect::<Result<_, _>>()?;
    let http = reqwest::Client::new();
    three_at_once(bodies, |body| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let now = Utc::now().timestamp();
            let signature = intake::hotline::sign(secret, now, &body);
            let reply: serde_json::Value = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-heatline-timestamp", now.to_string())
                .header("x-heatline-signature", signature)
                .body(body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok(reply["accepted"].as_u64().unwrap_or_default() as usize)
        }
    })
    .await
}
