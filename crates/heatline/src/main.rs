//! `heatline`: serve the system, administer it, measure it.

mod bench;
mod database;
mod demo;
mod docs;
mod keys;
mod masterkey;
mod policy;
mod progress;
mod projections;
mod registries;
mod sandbox;
mod serve;
mod serve_args;
mod settings;
mod user;
mod verify;

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Every service, subscription and benchmark of the binary allocates through mimalloc: under
/// load glibc's allocator spent a quarter of the server's CPU in `malloc` and `free`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// A settings file of `NAME=value` lines named as the environment variables; the
    /// environment and flags override it.
    #[arg(long, env = "HEATLINE_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// The master key that wraps signing keys and personal-data keys: 32 bytes in base64 or
    /// hex; during a rotation the new key, a comma, then the previous ones.
    #[arg(
        long,
        env = "HEATLINE_MASTER_KEY",
        global = true,
        hide_env_values = true
    )]
    master_key: Option<String>,
    /// A file holding the master key (one per line, current first). Without it or
    /// --master-key: `master.key` under --data-dir, made on first use.
    #[arg(long, env = "HEATLINE_MASTER_KEY_FILE", global = true)]
    master_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<serve_args::ServeArgs>),
    /// Import reference data.
    Import {
        #[command(subcommand)]
        what: Import,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Fill a fresh database with a cold morning through the real API: districts, suppliers,
    /// buildings, hundreds of hotline calls, tickets in every state, a credit ranking.
    Demo(demo::Options),
    /// Rebuild read models from the event streams.
    Projections {
        #[command(subcommand)]
        command: projections::ProjectionsCommand,
    },
    /// Manage the keys that sign access tokens.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Check the event logs against their seals and name the first event that differs; or
    /// check a downloaded seal against the log, or a downloaded proof offline.
    Verify(verify::VerifyArgs),
    /// Print every setting: its environment variable, its value and where that comes from
    /// (flag, environment, settings file or default), secrets hidden.
    Config,
    /// Print the access policy: every operation with the roles that may call it and how far
    /// each reaches (the table the README shows).
    Policy,
    /// Measure a component and print its figures.
    Bench {
        #[command(subcommand)]
        target: bench::Target,
    },
}

#[derive(Subcommand)]
enum Import {
    /// Add or replace buildings from a CSV file with the header
    /// `building_id,district,station,supplier_id,address,account_prefix,heated_area_m2`.
    Buildings {
        /// The CSV file.
        file: PathBuf,
        /// Import buildings whose supplier the supplier registry lacks (with a warning): their
        /// complaints route, but credit cannot score that supplier until it is imported.
        #[arg(long)]
        allow_unknown_suppliers: bool,
    },
    /// Add or replace households' fee basis (for refunds) from a CSV file with the header
    /// `account_no,address,building_id,heated_area_m2,price_yuan_per_m2` (the price of a m²
    /// for the whole season; a home is keyed by its account, else its address, as its
    /// complaints are). Buildings must be imported first; accounts and addresses are not
    /// kept, only the household keys.
    Households {
        /// The CSV file.
        file: PathBuf,
    },
    /// Add or replace sensors from a CSV file with the header
    /// `sensor_id,kind,building_id,account_no,address,station,room,certified,installed_on`:
    /// kind `room` (a thermometer in a home: its account or address, and its building),
    /// `building` (one standing for its building) or `station` (a heat-exchange station's
    /// telemetry: its station only). Buildings must be imported first; accounts and addresses
    /// are not kept, only the household keys.
    Sensors {
        /// The CSV file.
        file: PathBuf,
    },
    /// Add or update suppliers from a CSV file with the header
    /// `supplier_id,name,districts,heated_area_m2,contact` (districts separated by `;`).
    Suppliers {
        /// The CSV file.
        file: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let file = match settings::file_named(&args).map(|path| settings::read(&path)) {
        None => settings::FileSettings::new(),
        Some(Ok(file)) => file,
        Some(Err(error)) => {
            eprintln!("heatline: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (command, unknown) = settings::apply(Cli::command(), &file);
    if !unknown.is_empty() {
        eprintln!(
            "heatline: the settings file names what no setting is: {}",
            unknown.join(", ")
        );
        return std::process::ExitCode::FAILURE;
    }
    let cli = match Cli::from_arg_matches(&command.clone().get_matches_from(&args)) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // A server tells what it does; a command speaks only when something is worth saying.
    platform::telemetry::init(match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    });
    if let Command::Config = cli.command {
        print!("{}", settings::describe(&command, &file));
        return std::process::ExitCode::SUCCESS;
    }
    if let Command::Policy = cli.command {
        print!("{}", policy::markdown(&policy::whole()));
        return std::process::ExitCode::SUCCESS;
    }
    if let Command::Keys {
        command: keys::KeysCommand::NewMasterKey,
    } = &cli.command
    {
        println!("{}", secrets::new_key_text());
        return std::process::ExitCode::SUCCESS;
    }
    // A proof is checked with its seal key alone, without a database.
    if let Command::Verify(args) = &cli.command
        && let Some(outcome) = verify::offline(args)
    {
        return match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("heatline: {error:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("heatline: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let keyring = masterkey::keyring(
            cli.master_key.as_deref(),
            cli.master_key_file.as_deref(),
            &cli.data_dir,
        )?;
        let database =
            database::Database::open(cli.database_url.as_deref(), &cli.data_dir, keyring).await?;
        let result = match cli.command {
            Command::Serve(args) => {
                let (plan, sandbox) = args.plan(&cli.data_dir)?;
                let served = serve::run(&database, plan).await;
                if let Some(sandbox) = sandbox {
                    sandbox.handle.stop(true).await;
                }
                served
            }
            Command::Import {
                what:
                    Import::Buildings {
                        file,
                        allow_unknown_suppliers,
                    },
            } => {
                registries::suppliers_registered(&database, &file, allow_unknown_suppliers).await?;
                registries::import_file(&database, &file, "buildings", |pool, text| async move {
                    intake::registry::import(&pool, &text, chrono::Utc::now()).await
                })
                .await?;
                registries::district_areas(&database.config.pool()).await
            }
            Command::Import {
                what: Import::Suppliers { file },
            } => {
                registries::import_file(&database, &file, "suppliers", |pool, text| async move {
                    credit::registry::import(&pool, &text).await
                })
                .await
            }
            Command::Import {
                what: Import::Households { file },
            } => registries::households(&database, &file).await,
            Command::Import {
                what: Import::Sensors { file },
            } => registries::sensors(&database, &file).await,
            Command::Migrate => {
                database.migrate().await?;
                println!("migrations applied");
                Ok(())
            }
            Command::User { command } => user::run(&database, command).await,
            Command::Keys { command } => keys::run(&database, command).await,
            Command::Projections { command } => projections::run(&database, command).await,
            Command::Demo(options) => demo::run(&database, options).await,
            Command::Bench { target } => bench::run(&database, target).await,
            Command::Verify(args) => verify::run(&database, args).await,
            // Answered above, before any database is opened.
            Command::Config | Command::Policy => Ok(()),
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
