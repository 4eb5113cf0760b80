//! `zonecast cucm discover --config F [--json]`: read every phone of the `[cucm]` cluster (AXL
//! and RisPort70), print the table (name, model, address, directory number, device pool,
//! registered, web access) and what changed since the last run, and keep it in the cache under
//! `[server] data_dir` (`cucm.sqlite`); `--zones` adds each rule zone's members, and discovered
//! phones also listed by hand are named (the hand-written entry wins). With CUCM unreachable or
//! refusing, the cached table is
//! printed instead, saying why and how old it is, and the exit code is 3 (a usable but old
//! table); with no cache either, 1. A progress bar shows on a terminal (not with `--json`).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::common::{CliError, runtime};
use crate::config::Config;
use crate::cucm::site::age_words;
use crate::cucm::{CachedTable, CucmPhone, FetchError, SiteTable, TableChanges, fetch_table};
use crate::page::PhoneTable;

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
    /// Also show each rule zone's (`from_cucm`) members, hand-listed ones included.
    #[arg(long)]
    zones: bool,
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
    if config.cucm.is_none() {
        return Err(CliError::Invalid(format!(
            "{}: no [cucm] table: nothing to discover",
            a.config.display()
        )));
    }
    let bar = (!a.json && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message("asking CUCM");
        b
    });
    let rt = runtime()?;
    let result = rt.block_on(fetch_table(&config, Duration::ZERO, |s| {
        if let Some(b) = &bar {
            b.set_message(format!(
                "{} requests, {} phones listed",
                s.requests, s.listed
            ));
            b.tick();
        }
    }));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let got = match result {
        Ok(got) => got,
        Err(FetchError::Setup(why)) => return Err(CliError::Invalid(why)),
        Err(e) => return Err(CliError::Failed(e.into())),
    };
    let site = SiteTable::new(config.clone(), got.table.phones.clone(), got.origin.clone());
    let zones = if a.zones {
        rule_zones(&config, &site)?
    } else {
        Vec::new()
    };
    let hand = site.hand_listed();
    if a.json {
        let stats = got
            .stats
            .as_ref()
            .map(|s| serde_json::to_value(s).unwrap_or_default());
        print_json(
            &got.table,
            got.changes.as_ref(),
            got.origin.refresh_failed.as_deref(),
            stats,
            &hand,
            &zones,
        );
    } else {
        print_table(&got.table.phones);
        if got.origin.refresh_failed.is_none() {
            print_changes(got.changes.as_ref(), !got.had_previous);
        }
        for h in &hand {
            println!("hand-listed: {h}");
        }
        for (zone, members) in &zones {
            println!(
                "zone {zone}: {} phones: {}",
                members.len(),
                members.join(" ")
            );
        }
        if let Some(s) = &got.stats {
            println!(
                "{} phones from {} ({} requests, {} smaller pages, {} rate-limit waits)",
                got.table.phones.len(),
                got.table.host,
                s.requests,
                s.smaller_pages,
                s.rate_faults
            );
        }
    }
    if let Some(why) = &got.origin.refresh_failed {
        eprintln!(
            "zonecast: {why}\nzonecast: using the cached table of {} phones from {} ({} old)",
            got.table.phones.len(),
            when(got.table.at_ms),
            age_words(now_ms() - got.table.at_ms)
        );
        return Ok(3);
    }
    Ok(0)
}

/// Each zone with a `from_cucm` rule and the phones it takes now (hand-listed members first).
fn rule_zones(config: &Config, site: &SiteTable) -> Result<Vec<(String, Vec<String>)>, CliError> {
    config
        .zones
        .iter()
        .filter(|z| z.from_cucm.is_some())
        .map(|z| {
            let phones =
                PhoneTable::zone(site, &z.name).map_err(|e| CliError::Invalid(e.to_string()))?;
            Ok((
                z.name.clone(),
                phones.targets.into_iter().map(|t| t.name).collect(),
            ))
        })
        .collect()
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
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

fn print_changes(c: Option<&TableChanges>, first: bool) {
    let Some(c) = c.filter(|_| !first) else {
        println!("first discovery: nothing to compare with");
        return;
    };
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
    hand_listed: &[String],
    zones: &[(String, Vec<String>)],
) {
    let zones: serde_json::Map<String, serde_json::Value> =
        zones.iter().map(|(z, m)| (z.clone(), json!(m))).collect();
    let v = json!({
        "source": if error.is_some() { "cache" } else { "cucm" },
        "host": t.host,
        "discovered_at": when(t.at_ms),
        "age_s": (now_ms() - t.at_ms).max(0) / 1000,
        "error": error,
        "phones": t.phones,
        "changes": changes,
        "stats": stats,
        "hand_listed": hand_listed,
        "zones": zones,
    });
    println!("{v}");
}

/// The phones a page is planned from: the config alone, or with `[cucm]` the config and the
/// discovered table (the cache while younger than `[cucm] refresh`, else a discovery, else the
/// cache again), and what to tell the user about that table (from when, why the cache).
pub(super) async fn page_table(
    config: &Config,
) -> Result<(std::sync::Arc<dyn PhoneTable>, Vec<String>), CliError> {
    let Some(cucm) = &config.cucm else {
        return Ok((std::sync::Arc::new(config.clone()), Vec::new()));
    };
    let got = match fetch_table(config, cucm.refresh, |_| {}).await {
        Ok(got) => got,
        Err(FetchError::Setup(why)) => return Err(CliError::Invalid(why)),
        Err(e) => return Err(CliError::Failed(e.into())),
    };
    let site = SiteTable::new(config.clone(), got.table.phones, got.origin);
    let mut notes = vec![format!(
        "{}: {} phones",
        site.origin.describe(now_ms()),
        site.discovered().len()
    )];
    let hand = site.hand_listed();
    if !hand.is_empty() {
        notes.push(format!(
            "{} discovered phones are listed by hand; their [[phone]] entries win",
            hand.len()
        ));
    }
    Ok((std::sync::Arc::new(site), notes))
}
