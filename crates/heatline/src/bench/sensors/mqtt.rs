//! The MQTT side of the sensors bench: a private Mosquitto for the run, and the publishers
//! that send readings to it at a steady rate or as fast as they go.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use rumqttc::{AsyncClient, QoS};

/// A Mosquitto for the run, stopped when dropped.
pub(super) struct Broker {
    pub(super) child: Child,
    pub(super) port: u16,
    pub(super) dir: std::path::PathBuf,
}

impl Broker {
    pub(super) fn start(inflight: u32) -> anyhow::Result<Broker> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("heatline-bench-mosquitto-{port}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("mosquitto.conf"),
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 max_inflight_messages {inflight}\nmax_queued_messages 0\n"
            ),
        )?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting mosquitto (apt-get install mosquitto)")?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Broker { child, port, dir });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!("the private Mosquitto did not start")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(super) const PREFIX: &str = "bench/sensors";

pub(super) fn sensor_id(n: usize) -> String {
    format!("R{n:07}")
}

/// Publishes on `publishers` connections at `rate` a second for `seconds`, each message the
/// reading that `payload` makes of its sequence number; answers how many were published.
pub(super) async fn publish(
    clients: &[AsyncClient],
    rate: u64,
    seconds: u64,
    first: u64,
    payload: impl Fn(u64) -> (String, String) + Clone + Send + Sync + 'static,
) -> u64 {
    let per_client = rate as f64 / clients.len() as f64;
    let window = Duration::from_secs(seconds);
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(c, client)| {
            let (client, payload) = (client.clone(), payload.clone());
            let stride = clients.len() as u64;
            tokio::spawn(async move {
                let started = Instant::now();
                let mut sent = 0u64;
                while started.elapsed() < window {
                    let due = (per_client * started.elapsed().as_secs_f64()) as u64;
                    while sent < due {
                        let (topic, body) = payload(first + sent * stride + c as u64);
                        if client
                            .publish(topic, QoS::AtLeastOnce, false, body)
                            .await
                            .is_err()
                        {
                            return sent;
                        }
                        sent += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                sent
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or_default();
    }
    total
}

/// Publishes `total` messages on `publishers` connections as fast as they go.
pub(super) async fn flood(
    clients: &[AsyncClient],
    total: u64,
    first: u64,
    payload: impl Fn(u64) -> (String, String) + Clone + Send + Sync + 'static,
) -> u64 {
    let stride = clients.len() as u64;
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(c, client)| {
            let (client, payload) = (client.clone(), payload.clone());
            tokio::spawn(async move {
                let mut sent = 0u64;
                while sent * stride + (c as u64) < total {
                    let (topic, body) = payload(first + sent * stride + c as u64);
                    if client
                        .publish(topic, QoS::AtLeastOnce, false, body)
                        .await
                        .is_err()
                    {
                        break;
                    }
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await.unwrap_or_default();
    }
    sent
}

pub(super) fn reading(sensor: usize, at: DateTime<Utc>, celsius: f64) -> (String, String) {
    (
        format!("{PREFIX}/{}", sensor_id(sensor)),
        format!(
            "{{\"at\":\"{}\",\"celsius\":{celsius}}}",
            at.to_rfc3339_opts(SecondsFormat::Millis, true)
        ),
    )
}
