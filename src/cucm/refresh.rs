//! A discovered table for whoever needs one (`zonecast cucm discover`, a page): the cached
//! table while it is younger than asked, else a discovery (saved to the cache, compared with the
//! one before), else, with CUCM unreachable or refusing, the cached table again with the reason
//! and its time ([`TableOrigin`]). Only no cache and no CUCM is an error.

use std::time::Duration;

use super::cache::{CacheError, CachedTable, CucmCache};
use super::client::{CucmClient, CucmError};
use super::discovery::{DiscoverySettings, DiscoveryStats};
use super::site::TableOrigin;
use super::table::TableChanges;
use crate::config::Config;

/// A table, and how it was had.
#[derive(Debug)]
pub struct TableFetch {
    /// The table.
    pub table: CachedTable,
    /// Where it came from (the failure when it is the cache because CUCM failed).
    pub origin: TableOrigin,
    /// What changed since the table before (`None`: nothing asked of CUCM, or no table before).
    pub changes: Option<TableChanges>,
    /// The discovery's counters, when one ran.
    pub stats: Option<DiscoveryStats>,
    /// Whether there was a table before this one.
    pub had_previous: bool,
}

/// Why no table could be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The config has no `[cucm]`.
    #[error("the config has no [cucm] table")]
    NoCucm,
    /// `[cucm]` cannot be used (password source, certificate file).
    #[error("{0}")]
    Setup(String),
    /// The cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// CUCM failed and nothing is cached.
    #[error("{0} (and no cached table)")]
    NoTable(CucmError),
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The table: the cache if younger than `fresh` (`Duration::ZERO`: always ask CUCM), else a
/// discovery, else the cache with the reason. `progress` sees each request's counters.
pub async fn fetch_table(
    config: &Config,
    fresh: Duration,
    progress: impl FnMut(&DiscoveryStats),
) -> Result<TableFetch, FetchError> {
    let cucm = config.cucm.as_ref().ok_or(FetchError::NoCucm)?;
    let mut cache = CucmCache::open(&config.server.data_dir)?;
    let previous = cache.load()?;
    if let Some(p) = &previous {
        let age = now_ms().saturating_sub(p.at_ms);
        if !fresh.is_zero() && age >= 0 && (age as u128) < fresh.as_millis() {
            return Ok(TableFetch {
                origin: TableOrigin {
                    at_ms: p.at_ms,
                    refresh_failed: None,
                },
                table: p.clone(),
                changes: None,
                stats: None,
                had_previous: true,
            });
        }
    }
    let client = match CucmClient::new(cucm) {
        Ok(c) => c,
        Err(CucmError::Setup(why)) => return Err(FetchError::Setup(why)),
        Err(e) => return fall_back(&cache, previous, e),
    };
    let prev = previous
        .as_ref()
        .map(|p| (p.phones.as_slice(), p.ris_states.as_slice()));
    let found = match client
        .discover(
            DiscoverySettings::from_config(cucm),
            cucm.filter.clone(),
            prev,
            progress,
        )
        .await
    {
        Ok(f) => f,
        Err(e) => return fall_back(&cache, previous, e),
    };
    let table = CachedTable {
        at_ms: now_ms(),
        host: client.host().to_owned(),
        phones: found.phones,
        ris_states: found.ris_states,
    };
    cache.save(&table)?;
    let changes = previous
        .as_ref()
        .map(|p| TableChanges::between(&p.phones, &table.phones));
    Ok(TableFetch {
        origin: TableOrigin {
            at_ms: table.at_ms,
            refresh_failed: None,
        },
        table,
        changes,
        stats: Some(found.stats),
        had_previous: previous.is_some(),
    })
}

/// CUCM failed: the cached table with the reason, or the failure when nothing is cached.
fn fall_back(
    cache: &CucmCache,
    previous: Option<CachedTable>,
    e: CucmError,
) -> Result<TableFetch, FetchError> {
    let why = e.to_string();
    // Best effort: the failure is also reported to the caller, who matters more.
    let _ = cache.record_failure(now_ms(), &why);
    let Some(old) = previous else {
        return Err(FetchError::NoTable(e));
    };
    Ok(TableFetch {
        origin: TableOrigin {
            at_ms: old.at_ms,
            refresh_failed: Some(why),
        },
        table: old,
        changes: None,
        stats: None,
        had_previous: true,
    })
}
