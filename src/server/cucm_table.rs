//! `zonecast serve`'s phones from CUCM: with `[cucm]`, the table pages are planned from is the
//! config's `[[phone]]`s and the discovered phones ([`crate::cucm::SiteTable`]), fetched at start
//! (the cache while younger than `[cucm] refresh`, else a discovery, else the cache again) and
//! rediscovered every `refresh` and whenever asked ([`CucmTable::refresh_now`], the API's
//! `POST /api/cucm/refresh`); a refresh that fails keeps the table it had and says why.
//! Without `[cucm]` the table is the config alone.
//!
//! [`CucmTable`] is the one place that refreshes: one refresh at a time (a second asked while
//! one runs waits for it and takes its result), and what the API shows of it ([`CucmFacts`]:
//! the table in use, from when and whether from the cache, the last refresh and its error, the
//! next one).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Config;
use crate::cucm::{FetchError, SiteTable, TableChanges, fetch_table};
use crate::page::{LiveTable, PhoneTable};

/// The server's phone table, and with `[cucm]` the handle of its refreshes.
pub struct ServerTable {
    /// What pages plan from.
    pub table: Arc<dyn PhoneTable>,
    /// The discovered part and its refreshes (`None`: no `[cucm]`).
    pub cucm: Option<Arc<CucmTable>>,
}

/// The server's phone table, and with `[cucm]` the task that keeps it fresh (until `quit`).
pub fn phone_table(config: &Arc<Config>, quit: tokio::sync::watch::Receiver<bool>) -> ServerTable {
    let Some(cucm) = &config.cucm else {
        return ServerTable {
            table: config.clone(),
            cucm: None,
        };
    };
    let live = Arc::new(LiveTable::new(config.clone()));
    let table = Arc::new(CucmTable {
        config: config.clone(),
        live: live.clone(),
        every: cucm.refresh.max(Duration::from_secs(1)),
        facts: Mutex::new(CucmFacts::default()),
        running: tokio::sync::Mutex::new(()),
        finished: AtomicU64::new(0),
    });
    tokio::spawn(keep_fresh(table.clone(), quit));
    ServerTable {
        table: live,
        cucm: Some(table),
    }
}

/// What one refresh did.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    /// When it started (ms since the Unix epoch).
    pub started_ms: i64,
    /// When it ended.
    pub finished_ms: i64,
    /// Why CUCM gave no new table (unreachable, refused, ...); `None`: the table is current.
    pub error: Option<String>,
    /// Phones in the table in use after it (the old table's when it failed; 0: no table).
    pub phones: usize,
    /// The table in use was read from the cache (young enough, or CUCM failed) rather than
    /// discovered by this refresh.
    pub from_cache: bool,
    /// When the table in use was discovered.
    pub discovered_ms: Option<i64>,
    /// What changed from the table before (`None`: no discovery ran, or no table before).
    pub changes: Option<TableChanges>,
    /// AXL and RIS requests the discovery sent (0 when none ran).
    pub requests: u32,
}

/// What the API shows of the table and its refreshes.
#[derive(Debug, Clone, Default)]
pub struct CucmFacts {
    /// The table pages plan from (`None` until the first refresh brought one).
    pub site: Option<Arc<SiteTable>>,
    /// The table in use was read from the cache.
    pub from_cache: bool,
    /// The last refresh that ended.
    pub last: Option<RefreshReport>,
    /// A refresh is running.
    pub refreshing: bool,
    /// When the interval's next refresh is due (ms since the Unix epoch).
    pub next_ms: Option<i64>,
}

/// Why a refresh could not even fall back to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFailure {
    /// CUCM could not be asked or refused, or `[cucm]` cannot be used (password source,
    /// certificate): the API says 503.
    Cucm,
    /// The cache could not be read or written: 500.
    Cache,
}

/// The discovered table: refreshed one at a time, its facts for the API.
pub struct CucmTable {
    config: Arc<Config>,
    live: Arc<LiveTable>,
    every: Duration,
    facts: Mutex<CucmFacts>,
    /// Held while a refresh runs.
    running: tokio::sync::Mutex<()>,
    /// Refreshes ended so far (a caller that waited sees whether one ended meanwhile).
    finished: AtomicU64,
}

impl CucmTable {
    /// What the API shows, now.
    pub fn facts(&self) -> CucmFacts {
        self.facts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The interval between refreshes.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// The `[cucm]` host (`host:port`), as the API names it.
    pub fn host(&self) -> String {
        self.config
            .cucm
            .as_ref()
            .map_or_else(String::new, |c| format!("{}:{}", c.host, c.port))
    }

    /// Refresh now, asking CUCM whatever the cache's age. A refresh already running is joined:
    /// this waits for it and returns its report with `true`. Runs in its own task, so a caller
    /// that goes away (a closed HTTP connection) does not cut a discovery short.
    pub async fn refresh_now(self: &Arc<Self>) -> (RefreshReport, Option<RefreshFailure>, bool) {
        let me = self.clone();
        let task = tokio::spawn(async move {
            let seen = me.finished.load(Ordering::SeqCst);
            let _one = me.running.lock().await;
            if me.finished.load(Ordering::SeqCst) != seen
                && let Some(last) = me.facts().last
            {
                let failure = last.error.as_ref().map(|_| RefreshFailure::Cucm);
                return (last, failure, true);
            }
            let (report, failure) = me.run(Duration::ZERO).await;
            (report, failure, false)
        });
        match task.await {
            Ok(r) => r,
            Err(e) => {
                let now = now_ms();
                let report = RefreshReport {
                    started_ms: now,
                    finished_ms: now,
                    error: Some(format!("the refresh failed: {e}")),
                    phones: 0,
                    from_cache: false,
                    discovered_ms: None,
                    changes: None,
                    requests: 0,
                };
                (report, Some(RefreshFailure::Cache), false)
            }
        }
    }

    /// One refresh (the caller holds `running`): the cache if younger than `fresh`, else a
    /// discovery, else the cache with the reason; the table in use replaced, the facts written.
    async fn run(&self, fresh: Duration) -> (RefreshReport, Option<RefreshFailure>) {
        let started_ms = now_ms();
        self.with_facts(|f| f.refreshing = true);
        let got = fetch_table(&self.config, fresh, |_| {}).await;
        let finished_ms = now_ms();
        let (report, failure) = match got {
            Ok(got) => {
                let site = SiteTable::new((*self.config).clone(), got.table.phones, got.origin);
                let from_cache = got.stats.is_none();
                let error = site.origin.refresh_failed.clone();
                match &error {
                    None => tracing::info!(
                        "{}: {} phones",
                        site.origin.describe(finished_ms),
                        site.discovered().len()
                    ),
                    Some(_) => tracing::warn!(
                        "phones from CUCM: {} (pages keep the table they had)",
                        site.origin.describe(finished_ms)
                    ),
                }
                let report = RefreshReport {
                    started_ms,
                    finished_ms,
                    phones: site.discovered().len(),
                    from_cache,
                    discovered_ms: Some(site.origin.at_ms),
                    changes: got.changes,
                    requests: got.stats.map_or(0, |s| s.requests),
                    error,
                };
                let site = Arc::new(site);
                self.live.replace(site.clone());
                let failure = report.error.as_ref().map(|_| RefreshFailure::Cucm);
                self.with_facts(|f| {
                    f.site = Some(site);
                    f.from_cache = from_cache;
                });
                (report, failure)
            }
            Err(e) => {
                tracing::warn!("phones from CUCM: {e} (pages keep the table they had)");
                let failure = match e {
                    FetchError::Cache(_) => RefreshFailure::Cache,
                    _ => RefreshFailure::Cucm,
                };
                // The table in use stays, whatever it is.
                let facts = self.facts();
                let report = RefreshReport {
                    started_ms,
                    finished_ms,
                    error: Some(e.to_string()),
                    phones: facts.site.as_ref().map_or(0, |s| s.discovered().len()),
                    from_cache: facts.from_cache,
                    discovered_ms: facts.site.as_ref().map(|s| s.origin.at_ms),
                    changes: None,
                    requests: 0,
                };
                (report, Some(failure))
            }
        };
        self.with_facts(|f| {
            f.refreshing = false;
            f.last = Some(report.clone());
            f.next_ms = Some(finished_ms + self.every.as_millis() as i64);
        });
        self.finished.fetch_add(1, Ordering::SeqCst);
        (report, failure)
    }

    fn with_facts(&self, f: impl FnOnce(&mut CucmFacts)) {
        f(&mut self.facts.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Fetch the table now (a young cache will do), then rediscover whenever the next refresh is
/// due (a refresh asked through the API puts the next one an interval after it).
async fn keep_fresh(table: Arc<CucmTable>, mut quit: tokio::sync::watch::Receiver<bool>) {
    {
        let _one = table.running.lock().await;
        table.run(table.every).await;
    }
    loop {
        let due = table.facts().next_ms.unwrap_or(0);
        let wait = Duration::from_millis(due.saturating_sub(now_ms()).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = quit.changed() => return,
        }
        let _one = table.running.lock().await;
        // A refresh asked meanwhile moved the next one on.
        if table.facts().next_ms.unwrap_or(0) <= now_ms() {
            table.run(Duration::ZERO).await;
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
