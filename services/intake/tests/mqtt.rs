//! Readings over MQTT against a real Mosquitto: readings published at QoS 1 reach the table
//! and bad ones are dropped with their reason; a private broker (persistent, on its own port)
//! restarted mid-stream loses nothing that was acknowledged, and nothing is stored twice; a
//! burst of many batches at once is stored whole (the subscriber never stalls on its own
//! acknowledgements).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::SecondsFormat;
use intake::mqtt::MqttConfig;
use platform::clock::Clock;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;
use support::Harness;

const SENSORS: &str = "\
sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on
T-0001,room,HP-001,HL01-0001,,,卧室,true,2026-10-20
S-HP-S1,station,,,,HP-S1,,,2024-09-30
";

/// A topic prefix of this test's own, so tests sharing a broker do not see each other.
fn prefix() -> String {
    format!("heatline-test/{}", uuid::Uuid::new_v4().simple())
}

async fn start(url: &str, prefix: &str) -> Harness {
    let config = MqttConfig {
        url: url.into(),
        client_id: format!("intake-{}", uuid::Uuid::new_v4().simple()),
        prefix: prefix.into(),
        ca_file: None,
    };
    let h = Harness::start_with(move |c| c.mqtt = Some(config)).await;
    h.import_sensors(SENSORS).await;
    h
}

/// A sensor-side publisher whose event loop runs on its own task; it reconnects by itself.
fn publisher(port: u16) -> AsyncClient {
    let mut options = MqttOptions::new(
        format!("sensor-{}", uuid::Uuid::new_v4().simple()),
        "127.0.0.1",
        port,
    );
    options
        .set_keep_alive(Duration::from_secs(5))
        .set_clean_session(false);
    let (client, mut events) = AsyncClient::new(options, 1_000);
    tokio::spawn(async move {
        loop {
            if events.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    client
}

async fn stored(h: &Harness) -> i64 {
    let client = h.store.pool().get().await.unwrap();
    client
        .query_one("SELECT count(*) FROM intake.reading", &[])
        .await
        .unwrap()
        .get(0)
}

async fn wait_for(h: &Harness, wanted: i64, seconds: u64) {
    for _ in 0..seconds * 10 {
        if stored(h).await >= wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} of {wanted} readings stored", stored(h).await);
}

#[actix_web::test]
async fn readings_published_at_qos_1_reach_the_table_and_bad_ones_are_dropped() {
    let prefix = prefix();
    let h = start("mqtt://127.0.0.1:1883", &prefix).await;
    // The subscriber's session exists before the sensor publishes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sensor = publisher(1883);
    let now = h.clock.now();
    for minutes in [40, 25, 10] {
        let at =
            (now - chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true);
        let payload = json!({"at": at, "celsius": 16.5}).to_string();
        sensor
            .publish(format!("{prefix}/T-0001"), QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let station =
        json!({"at": at, "supply_c": 80.5, "return_c": 42, "pressure_kpa": 505, "flow_m3h": 96});
    sensor
        .publish(
            format!("{prefix}/S-HP-S1"),
            QoS::AtLeastOnce,
            false,
            station.to_string(),
        )
        .await
        .unwrap();
    let before = dropped("unknown_sensor") + dropped("malformed");
    sensor
        .publish(
            format!("{prefix}/T-9999"),
            QoS::AtLeastOnce,
            false,
            station.to_string(),
        )
        .await
        .unwrap();
    sensor
        .publish(format!("{prefix}/T-0001"), QoS::AtLeastOnce, false, "16.5")
        .await
        .unwrap();
    wait_for(&h, 4, 20).await;
    for _ in 0..100 {
        if dropped("unknown_sensor") + dropped("malformed") >= before + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dropped("unknown_sensor") + dropped("malformed") >= before + 2);
    assert_eq!(stored(&h).await, 4);
}

#[actix_web::test]
async fn a_burst_of_many_batches_at_once_is_stored_whole() {
    let broker = Broker::start();
    let prefix = prefix();
    let h = start(&format!("mqtt://127.0.0.1:{}", broker.port), &prefix).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut options = MqttOptions::new(
        format!("sensor-{}", uuid::Uuid::new_v4().simple()),
        "127.0.0.1",
        broker.port,
    );
    options.set_inflight(1_000);
    let (sensor, mut events) = AsyncClient::new(options, 10_000);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    // Forty thousand readings, a second apart, published as fast as they go: many batches'
    // worth, arriving while earlier batches are acknowledged.
    let now = h.clock.now();
    let burst = 40_000;
    for k in 0..burst {
        let at = (now - chrono::Duration::seconds(k)).to_rfc3339_opts(SecondsFormat::Secs, true);
        sensor
            .publish(
                format!("{prefix}/T-0001"),
                QoS::AtLeastOnce,
                false,
                json!({"at": at, "celsius": 19.5}).to_string(),
            )
            .await
            .unwrap();
    }
    wait_for(&h, burst, 60).await;
    assert_eq!(stored(&h).await, burst);
}

fn dropped(reason: &str) -> u64 {
    let wanted = format!("heatline_sensor_readings_total{{outcome=\"{reason}\"}} ");
    platform::metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix(&wanted).and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0)
}

/// A Mosquitto of the test's own: persistent, on a free port, configured as a deployment's
/// (no limit on the messages queued for a session, which Mosquitto otherwise caps at 1,000
/// and drops beyond, acknowledged or not).
struct Broker {
    dir: std::path::PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    fn start() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("heatline-mosquitto-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        // Mosquitto started as root drops to its own user, which must be able to save here.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(
            dir.join("mosquitto.conf"),
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 max_inflight_messages 1000\nmax_queued_messages 0\n\
                 persistence_location {}/\nautosave_interval 1\n",
                dir.display()
            ),
        )
        .unwrap();
        let mut broker = Broker {
            dir,
            port,
            child: None,
        };
        broker.run();
        broker
    }

    fn run(&mut self) {
        let child = Command::new(
            ["mosquitto", "/usr/sbin/mosquitto"]
                .into_iter()
                .find(|m| Command::new(m).arg("-h").output().is_ok())
                .expect("Mosquitto is installed (.ci/run installs it)"),
        )
        .arg("-c")
        .arg(self.dir.join("mosquitto.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        self.child = Some(child);
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the private Mosquitto did not start");
    }

    /// Stops it as an operator would (SIGTERM: it saves its sessions first).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[actix_web::test]
async fn a_broker_restart_mid_stream_loses_nothing_acknowledged() {
    let mut broker = Broker::start();
    let prefix = prefix();
    let h = start(&format!("mqtt://127.0.0.1:{}", broker.port), &prefix).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sensor = publisher(broker.port);
    let now = h.clock.now();
    let publish = |minute: i64| {
        let at =
            (now - chrono::Duration::minutes(minute)).to_rfc3339_opts(SecondsFormat::Secs, true);
        let payload = json!({"at": at, "celsius": 17.0}).to_string();
        let sensor = sensor.clone();
        let topic = format!("{prefix}/T-0001");
        async move {
            sensor
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .unwrap();
        }
    };
    for minute in 0..100 {
        publish(minute).await;
    }
    wait_for(&h, 1, 20).await;
    broker.stop();
    // While the broker is down the sensor keeps measuring; its client resends once it is back.
    for minute in 100..200 {
        publish(minute).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    broker.run();
    for minute in 200..300 {
        publish(minute).await;
    }
    wait_for(&h, 300, 60).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored(&h).await, 300, "each reading once");
}
