//! `heatline user create`: staff accounts from the command line (the first admin above all).

use std::io::BufRead;

use anyhow::Context;
use identity::domain::account::Scope;
use identity::{CreateStaffError, NewStaff};
use platform::auth::Role;

use crate::database::Database;

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a staff account; the password is read from the first line of standard input.
    Create {
        /// Login name: 3 to 64 of a-z, 0-9, '.', '_', '-'.
        #[arg(long)]
        username: String,
        /// operator, dispatcher, crew, supplier_admin, regulator or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// District scope.
        #[arg(long)]
        district: Option<String>,
        /// Supplier scope.
        #[arg(long)]
        supplier: Option<String>,
        /// Crew scope.
        #[arg(long)]
        crew: Option<String>,
        /// A dispatcher for the whole city (a dispatcher needs this or --district).
        #[arg(long)]
        city_wide: bool,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| format!("unknown role {raw:?}"))
}

pub async fn run(database: &Database, command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create {
        username,
        role,
        district,
        supplier,
        crew,
        city_wide,
    } = command;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    database.migrate().await?;
    let identity = database.identity().await?;
    let staff = NewStaff {
        username,
        password,
        role,
        scope: Scope {
            district,
            supplier,
            crew,
        },
        city_wide,
    };
    match identity.create_staff(staff).await {
        Ok(account_id) => {
            println!("created account {account_id}");
            Ok(())
        }
        Err(CreateStaffError::Invalid { field, reason }) => anyhow::bail!("{field}: {reason}"),
        Err(CreateStaffError::Taken) => anyhow::bail!("this username is taken"),
        Err(CreateStaffError::Store(cause)) => anyhow::bail!("the database failed: {cause}"),
    }
}
