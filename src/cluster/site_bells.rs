//! This node's part in its site's bells, what the server's bell loop holds: the store (once
//! reached: a node starts, and rings as the heartbeat allows, while its store is down, and joins
//! when it comes), the lease it keeps running, the pair's LAN heartbeat and this process's instance
//! number. [`SiteBells::ring_once`] rings an occurrence at most once across the pair: through the
//! claim while the store is reachable, else only on the preferred node and only when the peer
//! says the store is down there too (`docs/cluster.md`, "Fault table").

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::claim::{ClaimEnd, Occurrence};
use super::heartbeat::{BEAT_EVERY, Leading, lock, start_heartbeat};
use super::pair::PeerView;
use super::store::{ClusterError, LeaseHandle, SiteStore};
use crate::config::Cluster;

/// How often an unreachable store is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The store and the lease, once the store was reached.
struct Joined {
    store: SiteStore,
    lease: LeaseHandle,
}

/// This node's part in its site's bells.
pub struct SiteBells {
    joined: Arc<OnceLock<Joined>>,
    view: Arc<Mutex<PeerView>>,
    instance: u64,
    claim_wait: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SiteBells {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl SiteBells {
    /// Join as `[cluster]` says: credentials that cannot be read or a heartbeat address that
    /// cannot be bound stop the start; a store that cannot be reached does not (it is tried
    /// again every two seconds, and the lease starts when it answers).
    pub async fn start(c: &Cluster) -> Result<SiteBells, ClusterError> {
        let joined = Arc::new(OnceLock::new());
        let mut tasks = Vec::new();
        match SiteStore::connect(c).await {
            Ok(store) => {
                let lease = store.start_lease();
                let _ = joined.set(Joined { store, lease });
            }
            Err(e @ ClusterError::Credentials(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(
                    "cluster: {e}; until it answers, bells ring only as the pair's heartbeat allows"
                );
                tasks.push(tokio::spawn(join_later(c.clone(), joined.clone())));
            }
        }
        let fresh_for = BEAT_EVERY * 3 + BEAT_EVERY / 2;
        let view = Arc::new(Mutex::new(PeerView::new(
            &c.site, &c.node, &c.pair, fresh_for,
        )));
        let j = joined.clone();
        let leading: Leading = Arc::new(move || {
            let j: &OnceLock<Joined> = &j;
            j.get().and_then(|j| j.lease.token())
        });
        let j = joined.clone();
        let v = view.clone();
        tasks.push(tokio::spawn(async move {
            // The view's idea of the store, kept current for the beats.
            loop {
                let ok = j.get().is_some_and(|j| j.store.reaches_store());
                lock(&v).handle_store(ok);
                tokio::time::sleep(BEAT_EVERY / 4).await;
            }
        }));
        if let Some(t) = start_heartbeat(c, view.clone(), leading)
            .await
            .map_err(ClusterError::Lan)?
        {
            tasks.push(t);
        }
        Ok(SiteBells {
            joined,
            view,
            instance: rand::random::<u64>(),
            claim_wait: c.claim_wait,
            tasks,
        })
    }

    /// The fencing token if this node leads the site now.
    pub fn token(&self) -> Option<u64> {
        self.joined.get().and_then(|j| j.lease.token())
    }

    /// Ring bell `bell` due at `at` (now or past) at most once across the site: `ring` is
    /// awaited only if this node wins the occurrence. An occurrence not ringing a minute after
    /// its instant (or three claim waits, if longer) is missed rather than rung that late.
    pub async fn ring_once<F, Fut>(
        &self,
        bell: &str,
        at: chrono::DateTime<chrono::Utc>,
        ring: F,
    ) -> ClaimEnd
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        let late = (chrono::Utc::now() - at).to_std().unwrap_or_default();
        let now = Instant::now();
        let due = now.checked_sub(late).unwrap_or(now);
        let give_up = due + (self.claim_wait * 3).max(Duration::from_secs(60));
        let occ = Occurrence {
            bell: bell.to_owned(),
            due_unix: u64::try_from(at.timestamp()).unwrap_or(0),
        };
        let key = occ.key();
        let reached = |j: &Joined| j.store.reaches_store();
        if let Some(j) = self.joined.get().filter(|j| reached(j)) {
            if j.lease.token().is_none() {
                // A follower claims at due + W; by then the peer's beats say whether it rang
                // this occurrence without the store (its store down, ours just back).
                tokio::time::sleep_until((due + self.claim_wait).into()).await;
                if lock(&self.view).peer_rang_storeless(&key) {
                    return ClaimEnd::RungElsewhere;
                }
            }
            return self.through_claim(j, &occ, (due, give_up), ring).await;
        }
        // No store here. Decide at due + W: the store may be back by then, and the peer's beats
        // have had time to say how the store is on its side.
        tokio::time::sleep_until((due + self.claim_wait).into()).await;
        if let Some(j) = self.joined.get().filter(|j| reached(j)) {
            return self.through_claim(j, &occ, (due, give_up), ring).await;
        }
        let now = Instant::now();
        {
            let mut view = lock(&self.view);
            view.handle_store(false);
            if !view.rings_without_store(now) || now > give_up {
                return ClaimEnd::Missed;
            }
            view.handle_rang_storeless(&key);
        }
        ring().await;
        ClaimEnd::RungWithoutStore
    }
}

impl SiteBells {
    /// Ring through the occurrence's claim; a claim won only after the store came back is not
    /// rung if the peer rang the occurrence without the store meanwhile (its beats say so).
    async fn through_claim<F, Fut>(
        &self,
        j: &Joined,
        occ: &Occurrence,
        window: (Instant, Instant),
        ring: F,
    ) -> ClaimEnd
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        let key = occ.key();
        let skipped = std::sync::atomic::AtomicBool::new(false);
        let guarded = || async {
            if lock(&self.view).peer_rang_storeless(&key) {
                skipped.store(true, std::sync::atomic::Ordering::Relaxed);
            } else {
                ring().await;
            }
        };
        let end = j
            .store
            .ring_once(&j.lease, self.instance, occ, window, guarded)
            .await;
        if skipped.load(std::sync::atomic::Ordering::Relaxed) {
            return ClaimEnd::RungElsewhere;
        }
        end
    }
}

/// Try the store every [`RETRY_EVERY`] until it answers, then start the lease.
async fn join_later(c: Cluster, joined: Arc<OnceLock<Joined>>) {
    loop {
        tokio::time::sleep(RETRY_EVERY).await;
        match SiteStore::connect(&c).await {
            Ok(store) => {
                tracing::info!("cluster: the store answers; joining the site's lease");
                let lease = store.start_lease();
                let _ = joined.set(Joined { store, lease });
                return;
            }
            Err(e) => tracing::debug!("cluster: {e}"),
        }
    }
}
