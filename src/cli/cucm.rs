//! `zonecast cucm discover --config F [--json]`: read every phone of the `[cucm]` cluster (AXL
//! and RisPort70), print the table (name, model, address, directory number, device pool,
//! registered, web access) and what changed since the last run, and keep it in the cache under
//! `[server] data_dir` (`cucm.sqlite`). With CUCM unreachable or refusing, the cached table is
//! printed instead, saying why and how old it is, and the exit code is 3 (a usable but old
//! table); with no cache either, 1. A progress bar shows on a terminal (not with `--json`).

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::common::{CliError, runtime};
use crate::config::Config;
use crate::cucm::{
    CachedTable, CucmCache, CucmClient, CucmError, CucmPhone, DiscoverySettings, TableChanges,
};

/// `zonecast cucm ...`.
#[derive(Debug, Subcommand)]
pub enum CucmCommand {
    /// Discover the cluster's phones and print the table and what changed since the last run.
    Discover(DiscoverArgs),
}

/// `zonecast cucm discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The configuration (its `[cucm]` table; `[server] data_dir` holds the cache).
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(c: CucmCommand) -> Result<i32, CliError> {
    match c {
        CucmCommand::Discover(a) => discover(a),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn discover(a: DiscoverArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let Some(cucm) = config.cucm.clone() else {
        return Err(CliError::Invalid(format!(
            "{}: no [cucm] table: nothing to discover",
            a.config.display()
        )));
    };
    let mut cache =
        CucmCache::open(&config.server.data_dir).map_err(|e| CliError::Failed(e.into()))?;
    let previous = cache.load().map_err(|e| CliError::Failed(e.into()))?;
    let client = match CucmClient::new(&cucm) {
        Ok(c) => c,
        Err(CucmError::Setup(why)) => return Err(CliError::Invalid(why)),
        Err(e) => return Err(CliError::Failed(e.into())),
    };
    let bar = (!a.json && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message("asking CUCM");
        b
    });
    let prev = previous
        .as_ref()
        .map(|p| (p.phones.as_slice(), p.ris_states.as_slice()));
    let rt = runtime()?;
    let result = rt.block_on(client.discover(
        DiscoverySettings::from_config(&cucm),
        cucm.filter.clone(),
        prev,
        |s| {
            if let Some(b) = &bar {
                b.set_message(format!(
                    "{} requests, {} phones listed",
                    s.requests, s.listed
                ));
                b.tick();
            }
        },
    ));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(found) => {
            let before = previous.as_ref().map_or(&[][..], |p| p.phones.as_slice());
            let changes = TableChanges::between(before, &found.phones);
            let table = CachedTable {
                at_ms: now_ms(),
                host: client.host().to_owned(),
                phones: found.phones,
                ris_states: found.ris_states,
            };
            cache.save(&table).map_err(|e| CliError::Failed(e.into()))?;
            let first = previous.is_none();
            if a.json {
                let stats = serde_json::to_value(&found.stats).unwrap_or_default();
                print_json(&table, Some(&changes), None, Some(stats));
            } else {
                print_table(&table.phones);
                print_changes(&changes, first);
                println!(
                    "{} phones from {} ({} requests, {} smaller pages, {} rate-limit waits)",
                    table.phones.len(),
                    table.host,
                    found.stats.requests,
                    found.stats.smaller_pages,
                    found.stats.rate_faults
                );
            }
            Ok(0)
        }
        Err(e) => {
            let why = e.to_string();
            let _ = cache.record_failure(now_ms(), &why);
            let Some(old) = previous else {
                return Err(CliError::Failed(anyhow::anyhow!(
                    "{why} (and no cached table)"
                )));
            };
            let age = age_words(now_ms() - old.at_ms);
            if a.json {
                print_json(&old, None, Some(&why), None);
            } else {
                print_table(&old.phones);
            }
            eprintln!(
                "zonecast: {why}\nzonecast: using the cached table of {} phones from {} ({age} old)",
                old.phones.len(),
                when(old.at_ms)
            );
            Ok(3)
        }
    }
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn age_words(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

fn print_table(phones: &[CucmPhone]) {
    println!(
        "{:<16} {:<14} {:<15} {:<10} {:<12} {:<14} web",
        "name", "model", "address", "number", "device pool", "registered"
    );
    for p in phones {
        let addr = p.address.map_or_else(|| "-".to_owned(), |a| a.to_string());
        let web = match p.web_access {
            Some(true) => "on",
            Some(false) => "off",
            None => "?",
        };
        println!(
            "{:<16} {:<14} {:<15} {:<10} {:<12} {:<14} {web}",
            p.name,
            p.model,
            addr,
            p.directory_number().unwrap_or("-"),
            p.device_pool,
            p.state.as_str()
        );
    }
}

fn print_changes(c: &TableChanges, first: bool) {
    if first {
        println!("first discovery: nothing to compare with");
        return;
    }
    if c.is_empty() {
        println!("no changes since the last run");
        return;
    }
    for n in &c.added {
        println!("added    {n}");
    }
    for n in &c.removed {
        println!("removed  {n}");
    }
    for (n, a, b) in &c.moved {
        let f =
            |x: &Option<std::net::Ipv4Addr>| x.map_or_else(|| "-".to_owned(), |a| a.to_string());
        println!("moved    {n} {} -> {}", f(a), f(b));
    }
    for (n, a, b) in &c.model_changed {
        println!("model    {n} {a} -> {b}");
    }
}

fn print_json(
    t: &CachedTable,
    changes: Option<&TableChanges>,
    error: Option<&str>,
    stats: Option<serde_json::Value>,
) {
    let v = json!({
        "source": if error.is_some() { "cache" } else { "cucm" },
        "host": t.host,
        "discovered_at": when(t.at_ms),
        "age_s": (now_ms() - t.at_ms).max(0) / 1000,
        "error": error,
        "phones": t.phones,
        "changes": changes,
        "stats": stats,
    });
    println!("{v}");
}
