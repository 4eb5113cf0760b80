//! `zonecast user`: the console's users, kept in the server's database (`[server] data_dir`,
//! the same file `zonecast serve` opens): add one with a role and zone grants, list, remove,
//! set a password. A password is read from `ZONECAST_USER_PASSWORD` or the first line of
//! standard input, never from the command line (where `ps` shows it), and never printed.
//! Changes are written to the audit log as made by `cli`.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::CliError;
use crate::config::Config;
use crate::server::accounts::{Accounts, UserChange};
use crate::server::store::Store;
use crate::server::users::{self, Account, Role};

/// The environment variable a password is read from (else standard input).
pub const PASSWORD_ENV: &str = "ZONECAST_USER_PASSWORD";

/// Who the audit log names for these commands.
const ACTOR: &str = "cli";

/// `zonecast user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a console user; the password comes from ZONECAST_USER_PASSWORD or standard input.
    Add(UserAddArgs),
    /// List the console's users.
    List(UserListArgs),
    /// Remove a user (and end their sessions).
    Remove(UserNameArgs),
    /// Set a user's password (from ZONECAST_USER_PASSWORD or standard input); ends their
    /// sessions.
    Password(UserNameArgs),
}

/// `zonecast user add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// The sign-in name: letters, digits, '.', '_', '-'.
    name: String,
    /// admin (everything), operator (page and stop its zones), viewer (read only).
    #[arg(long)]
    role: String,
    /// An operator's zones, comma-separated (default: every zone).
    #[arg(long, value_delimiter = ',')]
    zones: Option<Vec<String>>,
    /// The configuration (its `[server] data_dir` holds the database).
    #[arg(long)]
    config: PathBuf,
}

/// `zonecast user list`.
#[derive(Debug, Args)]
pub struct UserListArgs {
    /// The configuration (its `[server] data_dir` holds the database).
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `zonecast user remove|password NAME`.
#[derive(Debug, Args)]
pub struct UserNameArgs {
    /// The user.
    name: String,
    /// The configuration (its `[server] data_dir` holds the database).
    #[arg(long)]
    config: PathBuf,
}

/// Run a `zonecast user` command.
pub(super) fn run(c: UserCommand) -> Result<i32, CliError> {
    match c {
        UserCommand::Add(a) => add(a),
        UserCommand::List(a) => list(a),
        UserCommand::Remove(a) => remove(a),
        UserCommand::Password(a) => password(a),
    }
}

fn open(config: &PathBuf) -> Result<(Config, Accounts), CliError> {
    let config = Config::load(config)?;
    let path = config.server.data_dir.join(crate::server::DB_FILE);
    let store = Store::open(&path).map_err(|e| CliError::Failed(e.into()))?;
    Ok((config, Accounts::new(store)))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The new password: `ZONECAST_USER_PASSWORD`, else standard input's first line; checked.
fn read_password() -> Result<String, CliError> {
    let pw = match std::env::var(PASSWORD_ENV) {
        Ok(p) => p,
        Err(_) => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!(
                    "password (it shows as you type; pipe it or set {PASSWORD_ENV} to avoid that): "
                );
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            stdin
                .lock()
                .take(users::MAX_PASSWORD as u64 + 2)
                .read_line(&mut line)
                .map_err(|e| CliError::Failed(anyhow::anyhow!("reading the password: {e}")))?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    if pw.is_empty() {
        return Err(CliError::Invalid(format!(
            "no password: set {PASSWORD_ENV} or give it on standard input (there is no default)"
        )));
    }
    users::check_password(&pw)?;
    Ok(pw)
}

fn hash(pw: &str) -> Result<String, CliError> {
    users::hash_password(pw).map_err(|e| CliError::Failed(anyhow::anyhow!(e)))
}

fn add(a: UserAddArgs) -> Result<i32, CliError> {
    users::check_name(&a.name)?;
    let role = Role::parse(&a.role)?;
    let (config, accounts) = open(&a.config)?;
    let known: Vec<String> = config.zones.iter().map(|z| z.name.clone()).collect();
    let zones = users::check_grants(role, a.zones, &known)?;
    let pw = read_password()?;
    let account = Account {
        name: a.name,
        role,
        zones,
    };
    let added = accounts
        .add(&account, &hash(&pw)?, ACTOR, now_ms())
        .map_err(|e| CliError::Failed(e.into()))?;
    if !added {
        return Err(CliError::Invalid(format!(
            "user {:?} exists (zonecast user password {} sets its password)",
            account.name, account.name
        )));
    }
    eprintln!("zonecast user: added {} ({})", account.name, role.as_str());
    Ok(0)
}

fn list(a: UserListArgs) -> Result<i32, CliError> {
    let (_, accounts) = open(&a.config)?;
    let list = accounts.list().map_err(|e| CliError::Failed(e.into()))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).map_err(|e| CliError::Failed(e.into()))?
        );
        return Ok(0);
    }
    for u in &list {
        let zones = match (&u.zones, u.role) {
            (Some(z), _) => z.join(","),
            (None, Role::Operator) => "(every zone)".to_owned(),
            (None, _) => String::new(),
        };
        println!("{:<24} {:<9} {zones}", u.name, u.role.as_str());
    }
    if list.is_empty() {
        eprintln!("zonecast user: no users (add one with zonecast user add NAME --role admin)");
    }
    Ok(0)
}

fn remove(a: UserNameArgs) -> Result<i32, CliError> {
    let (_, accounts) = open(&a.config)?;
    if accounts
        .remove(&a.name, ACTOR, now_ms())
        .map_err(|e| CliError::Failed(e.into()))?
    {
        eprintln!("zonecast user: removed {}", a.name);
        Ok(0)
    } else {
        Err(CliError::Invalid(format!("no user {:?}", a.name)))
    }
}

fn password(a: UserNameArgs) -> Result<i32, CliError> {
    let (_, accounts) = open(&a.config)?;
    if accounts
        .get(&a.name)
        .map_err(|e| CliError::Failed(e.into()))?
        .is_none()
    {
        return Err(CliError::Invalid(format!("no user {:?}", a.name)));
    }
    let pw = read_password()?;
    let change = UserChange {
        hash: Some(hash(&pw)?),
        ..UserChange::default()
    };
    accounts
        .update(&a.name, &change, ACTOR, "user.password", None, now_ms())
        .map_err(|e| CliError::Failed(e.into()))?;
    eprintln!("zonecast user: password of {} set", a.name);
    Ok(0)
}
