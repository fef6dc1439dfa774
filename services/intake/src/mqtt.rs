//! Readings in over MQTT. Intake subscribes to `{prefix}/+` at QoS 1 with a persistent session
//! (its client id fixed, the session kept by the broker), so what sensors publish while intake
//! is away waits at the broker. Each message is one reading of the sensor its topic names, its
//! payload the JSON of the HTTP push without `sensor_id`: `{"at": "…", "celsius": 17.5}` or
//! `{"at": "…", "supply_c": …, "return_c": …, "pressure_kpa": …, "flow_m3h": …}`. The messages
//! that have arrived (up to 2,000) are stored together, and only then acknowledged: a message
//! is acknowledged once its reading is stored or dropped with its reason, never before. Up to
//! three batches are stored at once, and acknowledged in the order they arrived. The
//! broker sends only so many unacknowledged messages at a time (Mosquitto's
//! `max_inflight_messages`, 20 by default), so batches grow with that setting; and it queues
//! only so many for a session beyond those (`max_queued_messages`, 1,000 by default), dropping
//! the rest although it acknowledged them to the sensors, so a deployment raises both. While
//! the broker or the database is away, intake retries with a backoff doubling to 30 s.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, TlsConfiguration, Transport};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::readings::{Dropped, Reading, Readings, parse};
use platform::background::BackgroundTask;
use platform::clock::Clock;

/// How many messages make a batch at most.
const BATCH: usize = 2_000;

/// How many batches are being stored at once: while one waits on the database, the next is
/// already on its way (measured with `heatline bench sensors`).
const STORING: usize = 3;

/// The longest wait between two attempts to reach the broker or to store a batch.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where and how intake reaches the broker.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// `mqtt://[user:password@]host[:port]` (1883), or `mqtts://…` (8883) for TLS.
    pub url: String,
    /// The client id; the broker keeps this session's subscription and unacknowledged
    /// messages while intake is away. Instances sharing one broker need distinct ids (and a
    /// shared subscription `$share/GROUP/…` as the prefix, with brokers that offer one).
    pub client_id: String,
    /// The topic prefix: readings arrive on `{prefix}/{sensor_id}`.
    pub prefix: String,
    /// A PEM file of the CA that signed the broker's certificate (`mqtts://`; the system's
    /// roots otherwise).
    pub ca_file: Option<std::path::PathBuf>,
}

/// The connection options `config` describes, or why it cannot be used.
pub fn options(config: &MqttConfig) -> Result<MqttOptions, String> {
    let url = url::Url::parse(&config.url).map_err(|e| format!("the MQTT URL: {e}"))?;
    let tls = match url.scheme() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        other => {
            return Err(format!(
                "the MQTT URL's scheme is mqtt or mqtts, not {other}"
            ));
        }
    };
    let host = url
        .host_str()
        .ok_or("the MQTT URL names no host")?
        .to_owned();
    let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
    if config.client_id.is_empty() || config.client_id.len() > 64 {
        return Err("the MQTT client id must be 1 to 64 characters".into());
    }
    let mut options = MqttOptions::new(config.client_id.clone(), host, port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(64 * 1024, 64 * 1024);
    if !url.username().is_empty() {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        options.set_credentials(
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        );
    }
    if tls {
        let transport = match &config.ca_file {
            Some(path) => Transport::Tls(TlsConfiguration::Simple {
                ca: std::fs::read(path)
                    .map_err(|e| format!("reading the MQTT CA file {}: {e}", path.display()))?,
                alpn: None,
                client_auth: None,
            }),
            None => Transport::tls_with_default_config(),
        };
        options.set_transport(transport);
    }
    Ok(options)
}

/// One message as a reading: the sensor from the topic, the rest from the payload.
pub fn reading(prefix: &str, message: &Publish) -> Result<Reading, Dropped> {
    let sensor = message
        .topic
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or(Dropped::Malformed)?;
    let mut payload: Value =
        serde_json::from_slice(&message.payload).map_err(|_| Dropped::Malformed)?;
    let object = payload.as_object_mut().ok_or(Dropped::Malformed)?;
    object.insert("sensor_id".into(), Value::String(sensor.to_owned()));
    parse(&payload)
}

/// Starts the subscriber to `{prefix}/+`; dropping the task disconnects it.
pub fn spawn(
    options: MqttOptions,
    prefix: String,
    readings: Arc<Readings>,
    clock: Arc<dyn Clock>,
) -> BackgroundTask {
    BackgroundTask::spawn(async move {
        let (client, mut events) = AsyncClient::new(options, 64);
        // Unbounded, so that this loop never waits on the storing task: that task's
        // acknowledgements go out only through this loop's polling, and a bounded queue that
        // filled while a batch was being acknowledged stopped both for good (a burst of 40,000
        // readings did it). What waits here is what the broker sent and is not stored yet.
        let (tx, rx) = mpsc::unbounded_channel::<Publish>();
        let topic = format!("{prefix}/+");
        let storing = tokio::spawn(store(client.clone(), rx, prefix, readings, clock));
        let mut backoff = Duration::from_millis(500);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(500);
                    tracing::info!(%topic, "connected to the MQTT broker");
                    // The session keeps the subscription; subscribing again is harmless and
                    // covers a broker that lost its sessions.
                    let client = client.clone();
                    let topic = topic.clone();
                    tokio::spawn(async move {
                        if let Err(error) = client.subscribe(topic, QoS::AtLeastOnce).await {
                            tracing::warn!(%error, "MQTT subscription not requested");
                        }
                    });
                }
                Ok(Event::Incoming(Packet::Publish(message))) => {
                    if tx.send(message).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "the MQTT broker is unreachable");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if storing.is_finished() {
                return;
            }
        }
    })
}

/// Takes the messages that have arrived as batches, stores up to [`STORING`] at once, and
/// acknowledges each batch once it is stored, in the order the batches were taken.
async fn store(
    client: AsyncClient,
    mut rx: mpsc::UnboundedReceiver<Publish>,
    prefix: String,
    readings: Arc<Readings>,
    clock: Arc<dyn Clock>,
) {
    let mut storing = FuturesOrdered::new();
    let mut open = true;
    while open || !storing.is_empty() {
        tokio::select! {
            first = rx.recv(), if open && storing.len() < STORING => {
                let Some(first) = first else {
                    open = false;
                    continue;
                };
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(message) => batch.push(message),
                        Err(_) => break,
                    }
                }
                storing.push_back(store_batch(batch, &prefix, &readings, &clock));
            }
            Some(batch) = storing.next(), if !storing.is_empty() => {
                for message in &batch {
                    if let Err(error) = client.ack(message).await {
                        tracing::warn!(%error, "an MQTT acknowledgement was not sent");
                    }
                }
            }
        }
    }
}

/// Stores one batch, retrying until the database takes it; answers the batch.
async fn store_batch(
    batch: Vec<Publish>,
    prefix: &str,
    readings: &Readings,
    clock: &Arc<dyn Clock>,
) -> Vec<Publish> {
    let items: Vec<_> = batch.iter().map(|m| reading(prefix, m)).collect();
    let mut backoff = Duration::from_millis(500);
    loop {
        match readings.ingest(items.clone(), clock.now()).await {
            Ok(_) => return batch,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "MQTT readings not stored");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MqttConfig, options};

    fn config(url: &str) -> MqttConfig {
        MqttConfig {
            url: url.into(),
            client_id: "heatline-intake".into(),
            prefix: "heatline/sensors".into(),
            ca_file: None,
        }
    }

    #[test]
    fn the_broker_url_gives_host_port_and_credentials() {
        let plain = options(&config("mqtt://127.0.0.1")).unwrap();
        assert_eq!(plain.broker_address(), ("127.0.0.1".to_owned(), 1883));
        let with_user = options(&config("mqtt://heatline:p%40ss@broker.local:1884")).unwrap();
        assert_eq!(
            with_user.broker_address(),
            ("broker.local".to_owned(), 1884)
        );
        let login = with_user.credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("heatline", "p@ss")
        );
        assert!(!with_user.clean_session());
        assert!(
            options(&config("http://broker.local"))
                .unwrap_err()
                .contains("mqtt or mqtts")
        );
        assert!(
            options(&config("not a url"))
                .unwrap_err()
                .contains("MQTT URL")
        );
        let missing_ca = MqttConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..config("mqtts://broker.local")
        };
        assert!(options(&missing_ca).unwrap_err().contains("CA file"));
    }
}
