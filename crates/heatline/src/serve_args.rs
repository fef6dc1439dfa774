//! What `heatline serve` takes: its flags (each with an environment variable and a settings-file
//! name), and the plan the server runs from them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::{sandbox, serve};

/// The outside parties identity talks to.
#[derive(clap::Args)]
struct Outside {
    /// WeChat's API base URL.
    #[arg(
        long,
        env = "HEATLINE_WECHAT_BASE_URL",
        default_value = "https://api.weixin.qq.com"
    )]
    wechat_base_url: String,
    /// The mini-program's app id (WeChat login is off without it).
    #[arg(long, env = "HEATLINE_WECHAT_APPID")]
    wechat_appid: Option<String>,
    /// The mini-program's app secret.
    #[arg(long, env = "HEATLINE_WECHAT_SECRET", hide_env_values = true)]
    wechat_secret: Option<String>,
    /// The SMS gateway's URL (SMS login and SMS notices are off without it).
    #[arg(long, env = "HEATLINE_SMS_URL")]
    sms_url: Option<String>,
    /// The mini-program's subscribe-message templates for notices, as `family=template_id`
    /// pairs separated by commas (families: repair, refund, stop_heating); notices of a family
    /// without one go by SMS.
    #[arg(long, env = "HEATLINE_WECHAT_TEMPLATES")]
    wechat_templates: Option<String>,
}

/// Intake's settings.
#[derive(clap::Args)]
struct IntakeSettings {
    /// Where complaint photos are kept: `s3://bucket/prefix` (credentials from `AWS_*`) or a
    /// folder. Default: `photos` under --data-dir.
    #[arg(long, env = "HEATLINE_PHOTO_STORE")]
    photo_store: Option<String>,
    /// The secret shared with the 12345 platform (its push endpoint is off without it).
    #[arg(long, env = "HEATLINE_HOTLINE_SECRET", hide_env_values = true)]
    hotline_secret: Option<String>,
    /// The 12345 platform's base URL for status updates.
    #[arg(long, env = "HEATLINE_HOTLINE_URL")]
    hotline_url: Option<String>,
    /// Open311 clients allowed to file, as `name:key` pairs separated by commas.
    #[arg(long, env = "HEATLINE_OPEN311_KEYS", hide_env_values = true)]
    open311_keys: Option<String>,
    /// Households of one building or station that make an incident.
    #[arg(long, env = "HEATLINE_INCIDENT_HOUSEHOLDS", default_value_t = 5)]
    incident_households: u32,
    /// The window, in minutes, within which they must report.
    #[arg(long, env = "HEATLINE_INCIDENT_WINDOW_MINUTES", default_value_t = 120)]
    incident_window_minutes: i64,
    /// Hours within which a household's new report merges into its open complaint.
    #[arg(long, env = "HEATLINE_MERGE_WINDOW_HOURS", default_value_t = 24)]
    merge_window_hours: i64,
    /// The most complaints a resident may file in an hour.
    #[arg(long, env = "HEATLINE_COMPLAINTS_PER_HOUR", default_value_t = 10)]
    complaints_per_hour: i64,
    /// Days a complaint's personal data (phone, address, account, words, photos) is kept
    /// after it closed; then it is erased (README: Personal data).
    #[arg(long, env = "HEATLINE_RETENTION_DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(i64).range(1..=3650))]
    retention_days: i64,
    /// The secret shared with sensor platforms that push readings in bulk
    /// (`POST /api/v1/sensors/readings`; off without it).
    #[arg(long, env = "HEATLINE_SENSOR_SECRET", hide_env_values = true)]
    sensor_secret: Option<String>,
    /// Days raw sensor readings are kept (their hourly roll-ups stay).
    #[arg(long, env = "HEATLINE_READING_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(2..=3650))]
    reading_retention_days: u32,
    /// The MQTT broker sensors publish readings to: `mqtt://[user:password@]host[:port]`, or
    /// `mqtts://…` for TLS (no subscriber without it).
    #[arg(long, env = "HEATLINE_MQTT_URL", hide_env_values = true)]
    mqtt_url: Option<String>,
    /// The MQTT client id; the broker keeps its session (and what arrives meanwhile) while
    /// intake is away. Each instance needs its own.
    #[arg(
        long,
        env = "HEATLINE_MQTT_CLIENT_ID",
        default_value = "heatline-intake"
    )]
    mqtt_client_id: String,
    /// Readings arrive on `PREFIX/SENSOR_ID`.
    #[arg(
        long,
        env = "HEATLINE_MQTT_TOPIC_PREFIX",
        default_value = "heatline/sensors"
    )]
    mqtt_topic_prefix: String,
    /// A PEM file of the CA that signed the broker's certificate, for `mqtts://` (the
    /// system's roots without it).
    #[arg(long, env = "HEATLINE_MQTT_CA_FILE")]
    mqtt_ca_file: Option<PathBuf>,
    /// The room standard in ℃: a home's hour below it, by its room sensors' mean, is cold.
    #[arg(long, env = "HEATLINE_ROOM_STANDARD_CELSIUS", default_value_t = 18.0,
          value_parser = standard_celsius)]
    room_standard_celsius: f64,
    /// Whole cold hours in a row that open a low-temperature episode (and its complaint).
    #[arg(long, env = "HEATLINE_LOW_TEMPERATURE_HOURS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=72))]
    low_temperature_hours: u32,
    /// Hours without a reading that make a registered sensor silent.
    #[arg(long, env = "HEATLINE_SENSOR_SILENT_HOURS", default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..=168))]
    sensor_silent_hours: u32,
    /// The least fall of a station's mean pressure over its last minutes against the hour
    /// before that, with the flow's rise, suggests a leak in its network (%).
    #[arg(long, env = "HEATLINE_LEAK_PRESSURE_DROP_PERCENT", default_value_t = 10.0,
          value_parser = percent)]
    leak_pressure_drop_percent: f64,
    /// The least rise of the station's mean flow that goes with the pressure's fall (%).
    #[arg(long, env = "HEATLINE_LEAK_FLOW_RISE_PERCENT", default_value_t = 10.0,
          value_parser = percent)]
    leak_flow_rise_percent: f64,
}

/// A share: above 0 and at most 100 %.
fn percent(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| *p > 0.0 && *p <= 100.0)
        .ok_or_else(|| "a percentage above 0 and at most 100".to_owned())
}

/// A room standard: 10 to 26 ℃.
fn standard_celsius(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|c| (10.0..=26.0).contains(c))
        .ok_or_else(|| "a temperature from 10 to 26 (℃)".to_owned())
}

impl IntakeSettings {
    fn config(self, data_dir: &std::path::Path) -> anyhow::Result<intake::IntakeConfig> {
        let photos = self
            .photo_store
            .unwrap_or_else(|| data_dir.join("photos").display().to_string());
        let mut config = intake::IntakeConfig::new(photos);
        config.incidents.households = self.incident_households.max(2);
        config.incidents.window = chrono::Duration::minutes(self.incident_window_minutes.max(1));
        config.limits.merge_window = chrono::Duration::hours(self.merge_window_hours.max(0));
        config.limits.per_hour = self.complaints_per_hour.max(1);
        config.retention = chrono::Duration::days(self.retention_days);
        config.hotline = self.hotline_secret.map(|secret| {
            intake::hotline::HotlineConfig::new(
                secret,
                self.hotline_url.map(|u| u.trim_end_matches('/').to_owned()),
            )
        });
        config.readings.secret = self.sensor_secret;
        config.readings.retention_days = self.reading_retention_days;
        config.episodes = intake::episodes::EpisodeRules {
            standard: self.room_standard_celsius,
            hours: self.low_temperature_hours,
            silent_hours: self.sensor_silent_hours,
        };
        config.network.pressure_drop_percent = self.leak_pressure_drop_percent;
        config.network.flow_rise_percent = self.leak_flow_rise_percent;
        config.mqtt = self.mqtt_url.map(|url| intake::mqtt::MqttConfig {
            url,
            client_id: self.mqtt_client_id,
            prefix: self.mqtt_topic_prefix.trim_end_matches('/').to_owned(),
            ca_file: self.mqtt_ca_file,
        });
        config.open311_keys =
            intake::open311::parse_keys(self.open311_keys.as_deref().unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("HEATLINE_OPEN311_KEYS: {e}"))?;
        Ok(config)
    }
}

/// Dispatch's settings.
#[derive(clap::Args)]
struct DispatchSettings {
    /// A JSON file of SLA targets per category, priority and origin (default: the shipped
    /// `services/dispatch/sla-policy.json`).
    #[arg(long, env = "HEATLINE_SLA_POLICY")]
    sla_policy: Option<PathBuf>,
    /// A CSV working-day calendar for the hotline clock (default: the shipped
    /// `crates/platform/calendar/cn-working-days.csv`, 2024 to 2026).
    #[arg(long, env = "HEATLINE_WORKDAY_CALENDAR")]
    workday_calendar: Option<PathBuf>,
}

impl DispatchSettings {
    fn config(self) -> anyhow::Result<dispatch::DispatchConfig> {
        let read = |path: &Option<PathBuf>, shipped: &str| -> anyhow::Result<String> {
            match path {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display())),
                None => Ok(shipped.to_owned()),
            }
        };
        let policy = read(&self.sla_policy, dispatch::domain::sla::SHIPPED)?;
        let calendar = read(&self.workday_calendar, dispatch::domain::calendar::SHIPPED)?;
        let sla = dispatch::domain::sla::Sla::parse(&policy, &calendar)
            .map_err(|e| anyhow::anyhow!("the SLA settings are invalid: {e}"))?;
        Ok(dispatch::DispatchConfig {
            sla,
            ..dispatch::DispatchConfig::default()
        })
    }
}

/// Credit's settings.
#[derive(clap::Args)]
struct CreditSettings {
    /// A JSON rulebook of versions with effective dates (default: the shipped
    /// `services/credit/rulebook.json`).
    #[arg(long, env = "HEATLINE_RULEBOOK")]
    rulebook: Option<PathBuf>,
    /// Working days a supplier has to appeal a ledger entry.
    #[arg(long, env = "HEATLINE_APPEAL_WORKING_DAYS", default_value_t = 10)]
    appeal_working_days: u32,
    /// A JSON refund rulebook of versions per city with effective dates (default: the shipped
    /// `services/credit/refunds.json`).
    #[arg(long, env = "HEATLINE_REFUND_RULEBOOK")]
    refund_rulebook: Option<PathBuf>,
    /// The city whose refund rules and stop-heating terms apply (a city of the refund
    /// rulebook: `xian`, `harbin`).
    #[arg(long, env = "HEATLINE_REFUND_CITY", default_value = "xian")]
    refund_city: String,
}

impl CreditSettings {
    fn config(
        self,
        file_store: String,
        calendar: &platform::calendar::Calendar,
    ) -> anyhow::Result<credit::CreditConfig> {
        let mut config = credit::CreditConfig::new(file_store);
        if let Some(path) = &self.rulebook {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            config.rulebook = credit::domain::rulebook::Rulebook::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        if !(1..=60).contains(&self.appeal_working_days) {
            anyhow::bail!("HEATLINE_APPEAL_WORKING_DAYS must be 1 to 60");
        }
        config.appeal_working_days = self.appeal_working_days;
        if let Some(path) = &self.refund_rulebook {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            config.refunds = credit::domain::refund_rules::RefundRulebook::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        if !config.refunds.has_city(&self.refund_city) {
            anyhow::bail!(
                "HEATLINE_REFUND_CITY: the refund rulebook has no versions for {}",
                self.refund_city
            );
        }
        config.refund_city = self.refund_city;
        config.calendar = calendar.clone();
        Ok(config)
    }
}

impl Outside {
    fn identity_config(self) -> anyhow::Result<identity::IdentityConfig> {
        let templates = identity::notify::NotifyConfig::parse_templates(
            self.wechat_templates.as_deref().unwrap_or(""),
        )
        .map_err(|e| anyhow::anyhow!("HEATLINE_WECHAT_TEMPLATES: {e}"))?;
        let wechat = match (self.wechat_appid, self.wechat_secret) {
            (Some(appid), Some(secret)) => Some(identity::wechat::WechatConfig {
                base_url: self.wechat_base_url.trim_end_matches('/').to_owned(),
                appid,
                secret,
            }),
            _ => None,
        };
        Ok(identity::IdentityConfig {
            wechat,
            sms_url: self.sms_url,
            notify: identity::notify::NotifyConfig {
                templates,
                ..Default::default()
            },
        })
    }
}

/// Reads `--addr`: an IP address and port, or a host name and port (`localhost:8081`), which
/// is resolved, preferring IPv4.
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let resolved: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("{text:?} is not a host (or IP address) and port: {e}"))?
        .collect();
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

/// What `heatline serve` takes.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on: an IP address or a host name, and a port (0 picks a free one).
    #[arg(long, env = "HEATLINE_ADDR", default_value = "127.0.0.1:8080", value_parser = listen_address)]
    addr: SocketAddr,
    /// Run one service only (identity, intake, dispatch, credit or console); all of them by
    /// default.
    #[arg(long, env = "HEATLINE_ONLY", value_enum)]
    only: Option<serve::Service>,
    /// Where the console finds the API (`http://GATEWAY`): needed by `--only console`; a
    /// process that runs every service calls itself.
    #[arg(long, env = "HEATLINE_API_URL")]
    api_url: Option<String>,
    /// Identity's key set (`http://IDENTITY/.well-known/jwks.json`), needed by a process
    /// that does not run identity itself.
    #[arg(long, env = "HEATLINE_JWKS_URL")]
    jwks_url: Option<String>,
    /// Resident logins to try on this machine: stand-ins for WeChat (a code `sandbox-NAME`
    /// logs in resident sandbox-NAME; subscribe messages go to the log) and the SMS gateway
    /// (codes and notices go to the log). Only on a
    /// loopback address, and not with WeChat or SMS settings.
    #[arg(long, env = "HEATLINE_SANDBOX")]
    sandbox: bool,
    /// A NATS server with JetStream (`nats://HOST:4222`) to relay every published event to;
    /// none by default. Every process given it runs the relay as a standby; one relays.
    #[arg(long, env = "HEATLINE_NATS_URL")]
    nats_url: Option<String>,
    /// The JetStream stream the log is relayed to (made with the subjects `heatline.>` when
    /// missing).
    #[arg(long, env = "HEATLINE_NATS_STREAM", default_value = "HEATLINE")]
    nats_stream: String,
    /// Seconds between seals of the event logs (a process running credit seals them).
    #[arg(long, env = "HEATLINE_SEAL_EVERY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    seal_every_seconds: u64,
    /// How many subscription batches run at once; the others wait their turn, so that they
    /// cannot crowd out requests (the relay to NATS is not counted). Two for each core this
    /// process may use by default.
    #[arg(long, env = "HEATLINE_SUBSCRIPTION_BATCHES", value_parser = clap::value_parser!(u64).range(1..=1_000))]
    subscription_batches: Option<u64>,
    #[command(flatten)]
    outside: Outside,
    #[command(flatten)]
    intake: IntakeSettings,
    #[command(flatten)]
    dispatch: DispatchSettings,
    #[command(flatten)]
    credit: CreditSettings,
}

impl ServeArgs {
    /// The services' plan, and the stand-ins for WeChat and SMS when `--sandbox` asks for them.
    pub(crate) fn plan(
        self,
        data_dir: &Path,
    ) -> anyhow::Result<(serve::Plan, Option<sandbox::Sandbox>)> {
        let ServeArgs {
            addr,
            only,
            jwks_url,
            api_url,
            sandbox,
            nats_url,
            nats_stream,
            seal_every_seconds,
            subscription_batches,
            outside,
            intake,
            dispatch,
            credit,
        } = self;
        let mut intake = intake.config(data_dir)?;
        let mut dispatch = dispatch.config()?;
        let credit = credit.config(intake.photo_store.clone(), dispatch.sla.calendar())?;
        // The city's stop-heating terms come with its refund rules.
        if let Some(terms) = credit.refunds.city_terms(&credit.refund_city) {
            intake.stop_heating = terms;
            dispatch.stop_heating = terms;
        }
        let mut identity = outside.identity_config()?;
        let sandbox = if sandbox {
            if !addr.ip().is_loopback() {
                anyhow::bail!(
                    "--sandbox serves only on a loopback address (127.0.0.1 or ::1), not {addr}"
                );
            }
            if identity.wechat.is_some() || identity.sms_url.is_some() {
                anyhow::bail!(
                    "--sandbox stands in for WeChat and SMS: leave the WeChat and SMS settings unset"
                );
            }
            let sandbox = sandbox::start()?;
            tracing::warn!(
                "sandbox: WeChat code sandbox-NAME logs in resident sandbox-NAME; SMS codes and notices to residents are logged, not sent"
            );
            identity = sandbox::identity_config(&sandbox.url);
            Some(sandbox)
        } else {
            None
        };
        let plan = serve::Plan {
            addr,
            only,
            jwks_url,
            api_url,
            identity,
            intake,
            dispatch,
            credit,
            seal_every: std::time::Duration::from_secs(seal_every_seconds),
            relay: nats_url.map(|url| relay::RelayConfig {
                stream: nats_stream,
                ..relay::RelayConfig::new(url)
            }),
            subscription_batches: subscription_batches
                .map_or_else(serve::default_subscription_batches, |n| n as usize),
            clock: std::sync::Arc::new(platform::clock::SystemClock),
        };
        Ok((plan, sandbox))
    }
}

#[cfg(test)]
mod tests {
    use super::listen_address;

    #[test]
    fn a_listen_address_may_name_a_host() {
        assert_eq!(
            listen_address("localhost:8081").unwrap().to_string(),
            "127.0.0.1:8081"
        );
        assert_eq!(
            listen_address("0.0.0.0:0").unwrap().to_string(),
            "0.0.0.0:0"
        );
        assert!(listen_address("localhost").is_err(), "a port is needed");
    }
}
