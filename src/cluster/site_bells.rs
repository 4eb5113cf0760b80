//! This node's part in its site's bells, what the server's bell loop holds: the store (once
//! reached: a node starts, and rings as the heartbeat allows, while its store is down, and joins
//! when it comes), the lease it keeps running, the pair's LAN heartbeat and this process's instance
//! number, and the probe of a few phones that tells whether this node sees its LAN.
//! [`SiteBells::ring_once`] rings an occurrence at most once across the pair: through the claim
//! while the store is reachable, else only on the preferred node and only when the peer says the
//! store is down there too (`docs/cluster.md`, "Fault table"); a node of a pair that reaches no
//! phone neither leads nor claims, so the other node, which does, rings. A claim stays `ringing`
//! until its bell's pages end, and the node's beats list it meanwhile. Before it rings, a node
//! closes the claims its peer left `ringing` and no longer rings (silent: it died, paused or was
//! cut off mid-page; a peer still heard is asked by its next beat) and has the server stop those
//! bells' phones, which would otherwise stay tuned to a stream that no longer comes and refuse
//! the next page as "already active".

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::claim::{ClaimEnd, ClaimOp, ClaimRecord, ClaimReply, ClaimStep, Occurrence};
use super::heartbeat::{BEAT_EVERY, Leading, lock, start_heartbeat};
use super::pair::{PeerRinging, PeerView};
use super::store::{ClusterError, LeaseHandle, SiteStore};
use crate::config::Cluster;

/// How often an unreachable store is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// How long a phone has to accept the probe's TCP connection.
const PROBE_WAIT: Duration = Duration::from_millis(500);

/// How many phones the probe tries (the first that answers is enough).
pub const PROBE_PHONES: usize = 3;

/// Stops the phones of the bells named (their zones'), which a silent peer left ringing.
pub type OrphanStop =
    Arc<dyn Fn(Orphans) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What a node of a pair stops before it rings, that the other node left playing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orphans {
    /// The zones of these bells: left `ringing` by a peer that fell silent.
    Bells(Vec<String>),
    /// These phones: a bell page's stop failed at them (its node's LAN went).
    Phones(Vec<String>),
}

/// What the claim of an occurrence this node's last process left ringing (killed mid-page) says
/// when this node starts again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftClaim {
    /// The peer closed it, finding that process silent, and stopped the bell's phones before it
    /// rang: they are left to it (a stop from here could cut the page it plays now).
    TakenByPeer,
    /// Still this node's (with its revision and record), or not to be read (`None`: no store,
    /// no key): this node stops the phones, then closes it.
    Ours(Option<(u64, ClaimRecord)>),
}

/// How far back a claim left ringing is looked for.
const ORPHANS_SINCE: Duration = Duration::from_secs(3600);

/// How often the peer's beats are looked at again while a claim it left ringing is unsettled.
const ORPHAN_LOOK_EVERY: Duration = Duration::from_millis(200);

/// The store and the lease, once the store was reached.
struct Joined {
    store: SiteStore,
    lease: LeaseHandle,
}

/// This node's part in its site's bells.
pub struct SiteBells {
    joined: Arc<OnceLock<Joined>>,
    view: Arc<Mutex<PeerView>>,
    /// Phones' web addresses the probe connects to (a pair only).
    probe: Vec<SocketAddr>,
    pair: bool,
    /// This node's name.
    node: String,
    /// The pair's nodes (whose lists of phones left tuned are taken before a ring).
    nodes: Vec<String>,
    /// Phones this node listed as left tuned by its bell pages (until its own retry or the
    /// peer's next ring stops them).
    listed: Mutex<std::collections::BTreeSet<String>>,
    heartbeat: bool,
    orphans: Option<OrphanStop>,
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
    /// again every two seconds, and the lease starts when it answers). `probe`: the web
    /// addresses of a few of the site's phones (up to [`PROBE_PHONES`] are used), which a node of
    /// a pair connects to, to know it sees its LAN.
    /// `orphans` stops the phones of bells a silent peer left ringing. `holding`: occurrences
    /// whose pages this node's last process left playing (it was killed mid-page), listed as
    /// ringing in this node's beats from the first until [`SiteBells::settle_left`], so that the
    /// peer does not take them for a silent node's meanwhile.
    pub async fn start(
        c: &Cluster,
        probe: Vec<SocketAddr>,
        orphans: Option<OrphanStop>,
        holding: &[Occurrence],
    ) -> Result<SiteBells, ClusterError> {
        let pair = c.pair.len() > 1;
        let probe: Vec<SocketAddr> = probe.into_iter().take(PROBE_PHONES).collect();
        let fresh_for = BEAT_EVERY * 3 + BEAT_EVERY / 2;
        let mut peer_view = PeerView::new(&c.site, &c.node, &c.pair, fresh_for);
        for occ in holding {
            peer_view.handle_ringing(&occ.key(), true);
        }
        let view = Arc::new(Mutex::new(peer_view));
        let (eligible_tx, eligible_rx) = watch::channel(!pair);
        let gate = pair.then_some(eligible_rx);
        let joined = Arc::new(OnceLock::new());
        let mut tasks = Vec::new();
        match SiteStore::connect(c).await {
            Ok(store) => {
                let lease = store.start_lease_gated(gate);
                let _ = joined.set(Joined { store, lease });
            }
            Err(e @ ClusterError::Credentials(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(
                    "cluster: {e}; until it answers, bells ring only as the pair's heartbeat allows"
                );
                tasks.push(tokio::spawn(join_later(c.clone(), joined.clone(), gate)));
            }
        }
        let j = joined.clone();
        let leading: Leading = Arc::new(move || {
            let j: &OnceLock<Joined> = &j;
            j.get().and_then(|j| j.lease.token())
        });
        tasks.push(tokio::spawn(watch_lan(
            joined.clone(),
            view.clone(),
            probe.clone(),
            eligible_tx,
        )));
        if let Some(t) = start_heartbeat(c, view.clone(), leading)
            .await
            .map_err(ClusterError::Lan)?
        {
            tasks.push(t);
        }
        Ok(SiteBells {
            joined,
            view,
            probe,
            pair,
            node: c.node.clone(),
            nodes: c.pair.clone(),
            listed: Mutex::new(std::collections::BTreeSet::new()),
            heartbeat: c.heartbeat.is_some(),
            orphans,
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
        let occ = Occurrence::due(bell, at);
        let key = occ.key();
        let reached = |j: &Joined| j.store.reaches_store();
        if !self.sees_lan().await {
            return ClaimEnd::Ineligible;
        }
        if let Some(j) = self.joined.get().filter(|j| reached(j)) {
            if j.lease.token().is_none() {
                // A follower claims at due + W; by then the peer's beats say whether it rang
                // this occurrence without the store (its store down, ours just back). One that
                // comes to lead meanwhile claims then, if the peer cannot be ringing without
                // the store (every beat of ours it may still count said the store answers).
                let wait_until = due + self.claim_wait;
                let leads = j.lease.leads_by(wait_until).await;
                if !leads || !lock(&self.view).claims_early(Instant::now()) {
                    tokio::time::sleep_until(wait_until.into()).await;
                }
                if lock(&self.view).peer_rang_storeless(&key) {
                    return ClaimEnd::RungElsewhere;
                }
                if !self.sees_lan().await {
                    return ClaimEnd::Ineligible;
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
            view.handle_store(now, false);
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
    /// A bell page of this node ended with `phones` unstopped (its LAN went as it rang): with
    /// a pair, listed in the store for whichever node rings next, which stops them first (this
    /// node may not reach them, and they would refuse every page meanwhile).
    pub async fn left_tuned(&self, phones: &[String]) {
        if !self.pair || phones.is_empty() {
            return;
        }
        let written = match self.joined.get() {
            Some(j) => j.store.add_tuned(phones).await,
            None => false,
        };
        if written {
            self.listed().extend(phones.iter().cloned());
            tracing::warn!("cluster: a bell page left {phones:?} tuned; the next ring stops them");
        } else {
            tracing::warn!(
                "cluster: a bell page left {phones:?} tuned and the store could not be told"
            );
        }
    }

    fn listed(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.listed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this node is still to stop `phone`, which one of its pages could not stop: not
    /// when it listed the phone for the pair and the peer has taken it since (the peer stopped
    /// it before ringing, and may be paging it now: a stop from here would cut that page).
    pub async fn still_to_stop(&self, phone: &str) -> bool {
        if !self.listed().contains(phone) {
            return true;
        }
        let Some(j) = self.joined.get() else {
            return true;
        };
        match j.store.own_tuned().await {
            Some(listed) if !listed.iter().any(|p| p == phone) => {
                self.listed().remove(phone);
                false
            }
            _ => true,
        }
    }

    /// Of an occurrence whose pages this node's last process left playing: whether the peer
    /// took it since (closed its claim, still in this node's name, from another process).
    pub async fn left_claim(&self, occ: &Occurrence) -> LeftClaim {
        let Some(j) = self.joined.get() else {
            return LeftClaim::Ours(None);
        };
        match j.store.claim_op(occ, &ClaimOp::Read).await {
            ClaimReply::Found(Some((_, r)))
                if r.step == ClaimStep::Done
                    && r.node == self.node
                    && r.instance != self.instance =>
            {
                LeftClaim::TakenByPeer
            }
            ClaimReply::Found(Some((rev, r)))
                if r.step != ClaimStep::Done && r.node == self.node =>
            {
                LeftClaim::Ours(Some((rev, r)))
            }
            _ => LeftClaim::Ours(None),
        }
    }

    /// Whether the peer took occurrence `occ` from this node as it rang (its claim closed while
    /// this node's pages still play: only a peer finding this node silent does that, and it
    /// stopped the bell's phones first, and may be paging them now). Asked before the pages'
    /// stops; `false` when it cannot be known (no store: the stops go out, as always).
    pub async fn taken_by_peer(&self, occ: &Occurrence) -> bool {
        let Some(j) = self.joined.get().filter(|_| self.pair && self.heartbeat) else {
            return false;
        };
        let taken = matches!(
            j.store.claim_op(occ, &ClaimOp::Read).await,
            ClaimReply::Found(Some((_, r))) if r.step == ClaimStep::Done
        );
        if taken {
            tracing::warn!(
                "cluster: bell {} due {} was taken over by the pair's other node as this node \
                 was silent: its phones are left to it, with no stop from here",
                occ.bell,
                occ.due_unix
            );
        }
        taken
    }

    /// An occurrence from `start`'s `holding` is settled: its phones stopped here (its claim,
    /// still this node's, is closed) or left to the peer; off this node's beats.
    pub async fn settle_left(&self, occ: &Occurrence, claim: LeftClaim) {
        if let (LeftClaim::Ours(Some((revision, mut record))), Some(j)) = (claim, self.joined.get())
        {
            record.step = ClaimStep::Done;
            record.instance = self.instance;
            let op = ClaimOp::Cas { revision, record };
            if !matches!(j.store.claim_op(occ, &op).await, ClaimReply::Written(_)) {
                tracing::warn!(
                    "cluster: bell {} due {}: its claim could not be closed",
                    occ.bell,
                    occ.due_unix
                );
            }
        }
        lock(&self.view).handle_ringing(&occ.key(), false);
    }

    /// This node stopped `phone` itself: off its list, so that the peer does not stop it again.
    pub async fn stopped_here(&self, phone: &str) {
        if !self.listed().remove(phone) {
            return;
        }
        if let Some(j) = self.joined.get() {
            j.store.take_own_tuned(phone).await;
        }
    }

    /// Whether this node sees its LAN now: a node alone always; a node of a pair if one of the
    /// probed phones accepts a connection now (or, with none to probe, the peer is heard).
    async fn sees_lan(&self) -> bool {
        if !self.pair {
            return true;
        }
        if self.probe.is_empty() {
            return lock(&self.view).eligible(Instant::now());
        }
        let ok = any_answers(&self.probe).await;
        lock(&self.view).handle_probe(Instant::now(), ok);
        ok
    }

    /// With a heartbeat: close the claims the peer left `ringing` that it no longer rings (done,
    /// by compare-and-set, so one node does it once) and, where it fell silent (killed, paused or
    /// cut off mid-page), stop those bells' phones. A claim whose holder is still heard waits for
    /// a beat sent since this node looked (at most a beat's period while the peer lives, as long
    /// as its last beat counts when it died), which tells whether it still rings it: a peer just
    /// killed keeps counting as heard that long, and its phones would refuse this ring.
    async fn stop_orphans(&self, j: &Joined) {
        let Some(stop) = &self.orphans else { return };
        if !self.pair || !self.heartbeat {
            return;
        }
        let since = chrono::Utc::now().timestamp() as u64 - ORPHANS_SINCE.as_secs();
        let mut left = j.store.left_ringing(self.instance, since).await;
        let looked = Instant::now();
        let until = looked + lock(&self.view).fresh_for() + BEAT_EVERY / 2;
        let mut bells = Vec::new();
        while !left.is_empty() {
            let now = Instant::now();
            let mut unknown = Vec::new();
            for (occ, revision, mut record) in left {
                let said = lock(&self.view).peer_ringing(&occ.key(), looked, now);
                match said {
                    PeerRinging::Ringing => continue,
                    PeerRinging::Unknown => {
                        unknown.push((occ, revision, record));
                        continue;
                    }
                    PeerRinging::Ended | PeerRinging::Orphaned => {}
                }
                let left_by = record.node.clone();
                record.step = super::claim::ClaimStep::Done;
                let op = super::claim::ClaimOp::Cas { revision, record };
                let closed = matches!(
                    j.store.claim_op(&occ, &op).await,
                    super::claim::ClaimReply::Written(_)
                );
                // One the peer says it no longer plays is only closed, so that it is not asked
                // again (its `done` was lost, or it is a restarted process's).
                if closed && said == PeerRinging::Orphaned {
                    tracing::warn!(
                        "cluster: bell {} due {} was left ringing by {left_by}, which is silent: \
                         stopping its phones",
                        occ.bell,
                        occ.due_unix
                    );
                    if !bells.contains(&occ.bell) {
                        bells.push(occ.bell);
                    }
                }
            }
            left = unknown;
            if left.is_empty() || Instant::now() >= until {
                break;
            }
            tokio::time::sleep(ORPHAN_LOOK_EVERY).await;
        }
        if !bells.is_empty() {
            stop(Orphans::Bells(bells)).await;
        }
    }

    /// Stop the phones either node's bell pages left tuned (their stops failed), taking them
    /// from the store so that one node does it once.
    async fn stop_tuned(&self, j: &Joined) {
        let Some(stop) = &self.orphans else { return };
        if !self.pair {
            return;
        }
        let mut phones: Vec<String> = Vec::new();
        for node in &self.nodes {
            for p in j.store.take_tuned(node).await {
                if !phones.contains(&p) {
                    phones.push(p);
                }
            }
        }
        if !phones.is_empty() {
            tracing::warn!("cluster: stopping phones a bell page left tuned: {phones:?}");
            stop(Orphans::Phones(phones)).await;
        }
    }

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
            // `ringing` in the store now: said in this node's beats until the bell's pages end
            // (`ring` follows them), so that the peer never takes this claim for an orphan.
            lock(&self.view).handle_ringing(&key, true);
            self.stop_orphans(j).await;
            self.stop_tuned(j).await;
            if lock(&self.view).peer_rang_storeless(&key) {
                skipped.store(true, std::sync::atomic::Ordering::Relaxed);
            } else {
                ring().await;
            }
            lock(&self.view).handle_ringing(&key, false);
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

/// Keep the view current twice a second: whether the store answers, whether a phone does, and
/// from both and the peer's beats, whether this node may lead.
async fn watch_lan(
    joined: Arc<OnceLock<Joined>>,
    view: Arc<Mutex<PeerView>>,
    probe: Vec<SocketAddr>,
    eligible: watch::Sender<bool>,
) {
    loop {
        let store_ok = joined.get().is_some_and(|j| j.store.reaches_store());
        let phone_ok = !probe.is_empty() && any_answers(&probe).await;
        let now = Instant::now();
        let may_lead = {
            let mut v = lock(&view);
            v.handle_store(now, store_ok);
            v.handle_probe(now, phone_ok);
            v.eligible(now)
        };
        eligible.send_if_modified(|e| std::mem::replace(e, may_lead) != may_lead);
        tokio::time::sleep(BEAT_EVERY / 2).await;
    }
}

/// Whether one of `phones` answers an HTTP `HEAD /` (any bytes back) within [`PROBE_WAIT`]: a
/// connection alone is no proof, a proxy or a firewall may accept and drop it.
async fn any_answers(phones: &[SocketAddr]) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for p in phones {
        let ask = async {
            let mut s = tokio::net::TcpStream::connect(p).await?;
            s.write_all(b"HEAD / HTTP/1.0\r\n\r\n").await?;
            let mut byte = [0u8; 1];
            s.read(&mut byte).await
        };
        if let Ok(Ok(1)) = tokio::time::timeout(PROBE_WAIT, ask).await {
            return true;
        }
    }
    false
}

/// Try the store every [`RETRY_EVERY`] until it answers, then start the lease.
async fn join_later(
    c: Cluster,
    joined: Arc<OnceLock<Joined>>,
    gate: Option<watch::Receiver<bool>>,
) {
    loop {
        tokio::time::sleep(RETRY_EVERY).await;
        match SiteStore::connect(&c).await {
            Ok(store) => {
                tracing::info!("cluster: the store answers; joining the site's lease");
                let lease = store.start_lease_gated(gate);
                let _ = joined.set(Joined { store, lease });
                return;
            }
            Err(e) => tracing::debug!("cluster: {e}"),
        }
    }
}
