//! The stops that failed, tried again while the server runs: a page whose stop could not reach a
//! phone (its link down, the phone rebooting) ends with that phone "unstopped" in the journal,
//! and the phone stays tuned to a stream that no longer comes, refusing every later page as
//! "already active". Until now only the next start (`zonecast recover` or `serve`) stopped it.
//! Here a task looks at the journal every second and stops such phones again, each on a backoff
//! of its own (1 s, doubling, at most 30 s), never a phone that a page of this server is paging
//! now. [`StopRetries`] is the schedule (pure, virtual time); [`run`] carries it out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::store::Store;
use crate::cluster::SiteBells;
use crate::config::Config;
use crate::page::SipDialer;
use crate::page::journal::JournalOp;
use crate::page::journal::{Journal, JournalPage};
use crate::push::PushClient;

/// The first retry after a failed stop.
const FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two retries of one phone.
const LONGEST: Duration = Duration::from_secs(30);
/// How often the journal is looked at.
const LOOK: Duration = Duration::from_secs(1);

/// A page's phone left unstopped: (page id, phone name).
pub type Unstopped = (String, String);

/// When each unstopped phone is tried next.
#[derive(Debug, Default)]
pub struct StopRetries {
    /// Tries made so far and when the next is due.
    book: BTreeMap<Unstopped, (u32, Instant)>,
}

impl StopRetries {
    /// The phones to try now, of those the journal lists as `pending`. A phone seen for the
    /// first time is tried [`FIRST`] after it is seen (its page has just tried); one no
    /// longer pending (stopped, or its page gone) is forgotten.
    pub fn due(&mut self, now: Instant, pending: &BTreeSet<Unstopped>) -> BTreeSet<Unstopped> {
        self.book.retain(|k, _| pending.contains(k));
        for k in pending {
            self.book.entry(k.clone()).or_insert((0, now + FIRST));
        }
        self.book
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A try failed: the next waits twice as long as the last, at most [`LONGEST`]. Returns
    /// the number of tries made.
    pub fn failed(&mut self, key: &Unstopped, now: Instant) -> u32 {
        let entry = self.book.entry(key.clone()).or_insert((0, now));
        entry.0 += 1;
        let wait = FIRST.saturating_mul(1 << entry.0.min(16)).min(LONGEST);
        entry.1 = now + wait;
        entry.0
    }

    /// Tries made for `key` so far.
    pub fn tries(&self, key: &Unstopped) -> u32 {
        self.book.get(key).map_or(0, |e| e.0)
    }
}

/// The unstopped phones of `pages` that nobody else will stop, leaving out every phone a
/// running page of this server holds (a stop now would end that page at the phone).
pub fn pending(pages: &[JournalPage]) -> BTreeSet<Unstopped> {
    let held: BTreeSet<&str> = pages
        .iter()
        .filter(|p| p.alive && !p.ended)
        .flat_map(|p| p.remaining.iter().map(String::as_str))
        .collect();
    pages
        .iter()
        .filter(|p| p.needs_recovery())
        .flat_map(|p| {
            p.remaining
                .iter()
                .filter(|name| !held.contains(name.as_str()))
                .map(|name| (p.record.page.clone(), name.clone()))
        })
        .collect()
}

/// What [`run`] needs.
pub struct StopRetrySetup {
    /// Phones by name (their push targets).
    pub config: Arc<Config>,
    /// Pushes the stops.
    pub client: PushClient,
    /// Hangs up SIP endpoints.
    pub sip: Arc<dyn SipDialer>,
    /// The journal and the recoveries table.
    pub store: Store,
    /// With a standby pair: a phone a bell page left tuned may have been stopped by the peer
    /// meanwhile (and be paged by it now), which this asks before each retry.
    pub pair: Option<Arc<SiteBells>>,
}

/// Retry failed stops until `quit`.
pub async fn run(s: StopRetrySetup, mut quit: watch::Receiver<bool>) {
    let journal: Journal = s.store.journal();
    let mut retries = StopRetries::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LOOK) => {}
            _ = quit.changed() => return,
        }
        let pages = match journal.pages() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("retrying stops: reading the journal: {e}");
                continue;
            }
        };
        let now = Instant::now();
        let mut due = retries.due(now, &pending(&pages));
        if let Some(site) = &s.pair {
            due = handed_over(site, &journal, due).await;
        }
        if due.is_empty() {
            continue;
        }
        let resolve = |name: &str| s.config.stop_target(name);
        let wanted = |page: &JournalPage, phone: &str| {
            due.contains(&(page.record.page.clone(), phone.to_owned()))
        };
        let done = crate::page::recover::recover_where(
            &journal,
            &s.client,
            resolve,
            Some(&*s.sip),
            wanted,
        )
        .await;
        let recovered = match done {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("retrying stops: {e}");
                continue;
            }
        };
        let now = Instant::now();
        let mut kept = Vec::new();
        for r in recovered {
            let key = (r.page.clone(), r.phone.clone());
            if r.stopped {
                if let Some(site) = &s.pair {
                    site.stopped_here(&r.phone).await;
                }
                tracing::info!(
                    "phone {} stopped (page {} could not stop it; try {})",
                    r.phone,
                    r.page,
                    retries.tries(&key) + 1
                );
                kept.push(r);
            } else if retries.failed(&key, now) == 1 {
                tracing::warn!(
                    "phone {} still not stopped (page {}): {}; trying again until it is",
                    r.phone,
                    r.page,
                    r.error.as_deref().unwrap_or("")
                );
                kept.push(r);
            }
        }
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        if let Err(e) = s.store.recovered(&kept, at_ms) {
            tracing::warn!("retrying stops: {e}");
        }
    }
}

/// `due` without the phones the pair's peer has stopped since (journaled stopped here).
async fn handed_over(
    site: &SiteBells,
    journal: &Journal,
    due: BTreeSet<Unstopped>,
) -> BTreeSet<Unstopped> {
    let mut left = BTreeSet::new();
    for (page, phone) in due {
        if site.still_to_stop(&phone).await {
            left.insert((page, phone));
            continue;
        }
        tracing::info!("phone {phone} (page {page}) was stopped by the pair's other node");
        let op = JournalOp::Stopped {
            phones: vec![phone.clone()],
        };
        if let Err(e) = journal.record(&page, &op) {
            tracing::warn!("journal: {e}");
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(page: &str, phone: &str) -> Unstopped {
        (page.to_owned(), phone.to_owned())
    }

    #[test]
    fn a_phone_is_tried_a_second_after_it_is_seen_then_on_a_doubling_backoff() {
        let t0 = Instant::now();
        let mut r = StopRetries::default();
        let k = key("pg-1", "p001");
        let pending = BTreeSet::from([k.clone()]);
        assert!(r.due(t0, &pending).is_empty());
        assert!(r.due(t0 + Duration::from_millis(999), &pending).is_empty());
        let mut at = t0 + FIRST;
        assert_eq!(r.due(at, &pending), pending);
        let mut waits = Vec::new();
        for _ in 0..8 {
            r.failed(&k, at);
            let mut t = at;
            while r.due(t, &pending).is_empty() {
                t += Duration::from_millis(100);
            }
            waits.push((t - at).as_secs());
            at = t;
        }
        assert_eq!(waits, [2, 4, 8, 16, 30, 30, 30, 30]);
        assert_eq!(r.tries(&k), 8);
    }

    #[test]
    fn a_phone_no_longer_pending_is_forgotten_and_starts_afresh() {
        let t0 = Instant::now();
        let mut r = StopRetries::default();
        let (a, b) = (key("pg-1", "p001"), key("pg-1", "p002"));
        let both = BTreeSet::from([a.clone(), b.clone()]);
        r.due(t0, &both);
        let at = t0 + FIRST;
        assert_eq!(r.due(at, &both).len(), 2);
        r.failed(&a, at);
        r.failed(&b, at);
        // b was stopped by someone (the journal no longer lists it).
        let only_a = BTreeSet::from([a.clone()]);
        r.due(at + Duration::from_secs(1), &only_a);
        assert_eq!(r.tries(&b), 0);
        assert_eq!(r.tries(&a), 1);
        // Seen again later (a new page left it): a fresh first wait.
        let later = at + Duration::from_secs(10);
        assert_eq!(r.due(later, &both), BTreeSet::from([a.clone()]));
        assert_eq!(r.due(later + FIRST, &both), both);
    }

    fn page(id: &str, remaining: &[&str], ended: bool, alive: bool) -> JournalPage {
        JournalPage {
            record: crate::page::journal::PageRecord {
                page: id.to_owned(),
                pid: 1,
                zone: "z".into(),
                priority: "normal".into(),
                rank: 0,
                started_ms: 0,
                phones: Vec::new(),
                group: None,
                port: None,
            },
            remaining: remaining.iter().map(|s| (*s).to_owned()).collect(),
            ended,
            alive,
        }
    }

    #[test]
    fn a_phone_a_running_page_holds_is_never_pending() {
        let pages = [
            page("old", &["p001", "p002"], true, false),
            page("dead", &["p003"], false, false),
            page("now", &["p002"], false, true),
        ];
        assert_eq!(
            pending(&pages),
            BTreeSet::from([key("old", "p001"), key("dead", "p003")])
        );
    }
}
