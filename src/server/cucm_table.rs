//! `zonecast serve`'s phones from CUCM: with `[cucm]`, the table pages are planned from is the
//! config's `[[phone]]`s and the discovered phones ([`crate::cucm::SiteTable`]), fetched at start
//! (the cache while younger than `[cucm] refresh`, else a discovery, else the cache again) and
//! rediscovered every `refresh`; a refresh that fails keeps the table it had and says why.
//! Without `[cucm]` the table is the config alone.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::cucm::{SiteTable, fetch_table};
use crate::page::{LiveTable, PhoneTable};

/// The server's phone table, and with `[cucm]` the task that keeps it fresh (until `quit`).
pub fn phone_table(
    config: &Arc<Config>,
    quit: tokio::sync::watch::Receiver<bool>,
) -> Arc<dyn PhoneTable> {
    let Some(cucm) = &config.cucm else {
        return config.clone();
    };
    let table = Arc::new(LiveTable::new(config.clone()));
    tokio::spawn(keep_fresh(
        config.clone(),
        table.clone(),
        cucm.refresh,
        quit,
    ));
    table
}

/// Fetch the table now (a young cache will do), then rediscover every `every`.
async fn keep_fresh(
    config: Arc<Config>,
    table: Arc<LiveTable>,
    every: Duration,
    mut quit: tokio::sync::watch::Receiver<bool>,
) {
    let mut fresh = every;
    loop {
        match fetch_table(&config, fresh, |_| {}).await {
            Ok(got) => {
                let site = SiteTable::new((*config).clone(), got.table.phones, got.origin);
                tracing::info!(
                    "{}: {} phones",
                    site.origin.describe(now_ms()),
                    site.discovered().len()
                );
                table.replace(Arc::new(site));
            }
            Err(e) => tracing::warn!("phones from CUCM: {e} (pages keep the table they had)"),
        }
        fresh = Duration::ZERO;
        tokio::select! {
            _ = tokio::time::sleep(every.max(Duration::from_secs(1))) => {}
            _ = quit.changed() => return,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
