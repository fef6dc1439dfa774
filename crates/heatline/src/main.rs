//! `heatline`: serve the system, administer it, measure it.

mod bench;
mod database;
mod keys;
mod serve;
mod user;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "heatline",
    version,
    about = "Heatline: winter heating complaints, dispatch and supplier credit"
)]
struct Cli {
    /// PostgreSQL URL. Without it, a private cluster is started under --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Folder for the private PostgreSQL cluster used when no DATABASE_URL is given.
    #[arg(
        long,
        env = "HEATLINE_DATA_DIR",
        global = true,
        default_value = ".heatline"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

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
    /// The SMS gateway's URL (SMS login is off without it).
    #[arg(long, env = "HEATLINE_SMS_URL")]
    sms_url: Option<String>,
}

impl Outside {
    fn identity_config(self) -> identity::IdentityConfig {
        let wechat = match (self.wechat_appid, self.wechat_secret) {
            (Some(appid), Some(secret)) => Some(identity::wechat::WechatConfig {
                base_url: self.wechat_base_url.trim_end_matches('/').to_owned(),
                appid,
                secret,
            }),
            _ => None,
        };
        identity::IdentityConfig {
            wechat,
            sms_url: self.sms_url,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, env = "HEATLINE_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        outside: Outside,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Manage the keys that sign access tokens.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Measure a component and print its figures.
    Bench {
        #[command(subcommand)]
        target: bench::Target,
    },
}

fn main() -> std::process::ExitCode {
    platform::telemetry::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("heatline: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let database = database::Database::open(cli.database_url.as_deref(), &cli.data_dir).await?;
        let result = match cli.command {
            Command::Serve { addr, outside } => {
                serve::run(&database, addr, outside.identity_config()).await
            }
            Command::Migrate => {
                database.migrate().await?;
                println!("migrations applied");
                Ok(())
            }
            Command::User { command } => user::run(&database, command).await,
            Command::Keys { command } => keys::run(&database, command).await,
            Command::Bench { target } => bench::run(&database, target).await,
        };
        database.close();
        result
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("heatline: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
