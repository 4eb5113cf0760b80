//! The bell loop: every quarter second, ask [`Scheduler::due`] what came due on the wall clock
//! and ring it (a page per zone, through [`super::bells::ring`]) or log it as missed. The
//! scheduler's last run is kept in the journal, so a restart resumes from it: a bell whose time
//! passed while the server was down rings if it is still within the grace, and is logged as
//! missed otherwise — never rung twice. With `[cluster]`, each occurrence goes through the site's
//! claim ([`crate::cluster::SiteBells`]), so of a standby pair one node rings it; a bell of a
//! district zone starts its district page from that node alone ([`DistrictPages`]). Each page
//! of such an occurrence asks, before its stops, whether the peer took its phones (this node
//! fell silent as it rang: paused, or cut off): then it sends none, which would cut the peer's
//! page.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::bells::{BellRinger, Ringing, ring};
use super::district_pages::DistrictPages;
use super::metrics::Metrics;
use super::pages::Pages;
use super::store::{BellEvent, Store};
use crate::schedule::{Decision, Scheduler};

/// Key of the scheduler's last run in the journal's state table.
pub const LAST_RUN_KEY: &str = "scheduler.last_run";

/// How often the loop looks at the clock.
const TICK: Duration = Duration::from_millis(250);

/// Whether the pair's other node took the phones of occurrence (`bell`, `at`) from this node
/// (found it silent as it rang, and stopped them): asked as each of its pages ends.
fn hand_over(
    site: &Arc<crate::cluster::SiteBells>,
    bell: &str,
    at: DateTime<Utc>,
) -> crate::page::HandOverCheck {
    let site = site.clone();
    let occ = crate::cluster::Occurrence::due(bell, at);
    crate::page::HandOverCheck(Arc::new(move || {
        let (site, occ) = (site.clone(), occ.clone());
        Box::pin(async move { site.taken_by_peer(&occ).await })
    }))
}

/// Run the bells until `quit` turns true.
pub async fn run(
    mut scheduler: Scheduler,
    pages: Pages,
    store: Store,
    metrics: Arc<Metrics>,
    mut quit: watch::Receiver<bool>,
    site: Option<Arc<crate::cluster::SiteBells>>,
    district: Option<DistrictPages>,
) {
    match store.get_state(LAST_RUN_KEY) {
        Ok(Some(text)) => match DateTime::parse_from_rfc3339(&text) {
            Ok(t) => scheduler.resume_from(t.with_timezone(&Utc)),
            Err(e) => tracing::warn!("journal: unreadable {LAST_RUN_KEY} {text:?}: {e}"),
        },
        Ok(None) => {}
        Err(e) => tracing::warn!("journal: {e}"),
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = quit.changed() => {}
        }
        if *quit.borrow() {
            return;
        }
        let now = Utc::now();
        let decisions = scheduler.due(now);
        if let Some(last) = scheduler.last_run()
            && let Err(e) = store.set_state(LAST_RUN_KEY, &last.to_rfc3339())
        {
            tracing::warn!("journal: {e}");
        }
        for d in decisions {
            match d {
                Decision::Ring { bell, at } => {
                    let Some(b) = scheduler.bell(&bell).cloned() else {
                        continue;
                    };
                    tracing::info!("bell {bell} due {} rings", scheduler.local(at));
                    let ringer = BellRinger {
                        pages: pages.clone(),
                        district: district.clone(),
                        store: store.clone(),
                        metrics: metrics.clone(),
                        hand_over: site.as_ref().map(|s| hand_over(s, &bell, at)),
                    };
                    if let Some(site) = site.clone() {
                        // A standby pair: the site's claim decides which node rings it (issue 24).
                        let fence = site.clone();
                        tokio::spawn(async move {
                            // The token journaled is the lease this node holds as it rings.
                            let ring_it = || async move {
                                let why = fence.token().map_or(Ringing::Due, Ringing::Fenced);
                                let event = ring(&ringer, &b, at, &why).await;
                                // The claim stays `ringing` until the pages end (a peer finding
                                // it so while this node is silent stops their phones), and the
                                // phones their stops missed are listed for the pair's next ring
                                // before it is `done`.
                                super::orphans::report_left_tuned(
                                    ringer.pages.clone(),
                                    fence,
                                    event.pages,
                                )
                                .await;
                            };
                            let end = site.ring_once(&bell, at, ring_it).await;
                            tracing::info!("bell {bell} due {at}: {end:?}");
                        });
                        continue;
                    }
                    ring(&ringer, &b, at, &Ringing::Due).await;
                }
                Decision::Missed { bell, at, late_by } => {
                    tracing::warn!(
                        "bell {bell} due {} missed: {:.0} s late, beyond the grace",
                        scheduler.local(at),
                        late_by.as_secs_f64()
                    );
                    metrics.bell(false);
                    let event = BellEvent {
                        bell,
                        due_ms: at.timestamp_millis(),
                        outcome: "missed".into(),
                        pages: Vec::new(),
                        detail: Some(format!(
                            "{:.0} s late (the server was not running)",
                            late_by.as_secs_f64()
                        )),
                        token: None,
                    };
                    if let Err(e) = store.bell(&event) {
                        tracing::warn!("journal: {e}");
                    }
                }
            }
        }
    }
}
