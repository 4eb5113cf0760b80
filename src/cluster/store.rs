//! The async shell of the lease and the claims: it connects to the site's NATS servers with the
//! configured credentials (read here, when connecting, and never logged) and TLS, opens the site's
//! two KV buckets (`zc_lease_<site>` with `max_age` = the lease time, `zc_claims_<site>` for a
//! day), and carries out what [`Lease`] and [`BellClaim`] return, each op bounded by a timeout
//! whose expiry is their `Failed`. It decides nothing itself. (What the server's bell loop holds
//! is `site_bells`' `SiteBells`.)

use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::claim::{BellClaim, ClaimEnd, ClaimOp, ClaimOutput, ClaimRecord, ClaimReply, ClaimStep};
use super::claim::{Occurrence, TunedPhones, tuned_key};
use super::lease::{Lease, LeaseEvent, LeaseOp, LeaseReply, LeaseTerms};
use crate::config::{Cluster, ClusterAuth, PasswordSource};
use crate::error::Invalid;
use crate::push::Secret;

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A credential could not be read (the error names its source, never its value).
    #[error("{0}")]
    Credentials(#[from] Invalid),
    /// No server answered, or it refused us.
    #[error("cannot connect to NATS {urls}: {reason}")]
    Connect {
        /// The URLs tried.
        urls: String,
        /// What went wrong.
        reason: String,
    },
    /// The LAN heartbeat's socket could not be bound.
    #[error("{0}")]
    Lan(std::io::Error),
    /// A bucket could not be opened or created.
    #[error("cannot open the JetStream bucket {bucket}: {reason}")]
    Bucket {
        /// The bucket's name.
        bucket: String,
        /// What went wrong.
        reason: String,
    },
}

/// One site's buckets, as this node reaches them.
#[derive(Clone)]
pub struct SiteStore {
    client: async_nats::Client,
    node: String,
    lease_ttl: Duration,
    claim_wait: Duration,
    lease_kv: kv::Store,
    claims_kv: kv::Store,
    /// When the store last answered a lease op (written or refused): the connection's own
    /// state is no witness, since the client's pings stop while requests flow.
    answered: std::sync::Arc<std::sync::Mutex<Option<Instant>>>,
}

/// The lease's loop as the rest of the node sees it: whether it leads now, with which token.
/// Dropping it stops the loop (renewals stop; the key expires).
pub struct LeaseHandle {
    held: watch::Receiver<Option<(u64, Instant)>>,
    task: JoinHandle<()>,
}

impl LeaseHandle {
    /// The fencing token if this node leads at this instant.
    pub fn token(&self) -> Option<u64> {
        let now = Instant::now();
        self.held
            .borrow()
            .filter(|&(_, until)| now < until)
            .map(|(t, _)| t)
    }

    /// Until when the lease held counts (`None`: not leading).
    pub fn until(&self) -> Option<Instant> {
        let now = Instant::now();
        self.held
            .borrow()
            .filter(|&(_, until)| now < until)
            .map(|(_, u)| u)
    }

    /// Wait until the lease's state changes.
    pub async fn changed(&mut self) {
        let _ = self.held.changed().await;
    }

    /// Wait until this node leads (true) or `deadline` passes (false, at the deadline).
    pub async fn leads_by(&self, deadline: Instant) -> bool {
        let mut held = self.held.clone();
        loop {
            if self.token().is_some() {
                return true;
            }
            tokio::select! {
                changed = held.changed() => if changed.is_err() {
                    tokio::time::sleep_until(deadline.into()).await;
                    return false;
                },
                () = tokio::time::sleep_until(deadline.into()) => return self.token().is_some(),
            }
        }
    }
}

impl Drop for LeaseHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SiteStore {
    /// Connect as `[cluster]` says and open (or create) the site's buckets.
    pub async fn connect(c: &Cluster) -> Result<SiteStore, ClusterError> {
        let client = connect_client(c, false).await?;
        let js = jetstream::new(client.clone());
        let lease_kv = bucket(&js, format!("zc_lease_{}", c.site), c.lease).await?;
        let day = Duration::from_secs(86_400);
        let claims_kv = bucket(&js, format!("zc_claims_{}", c.site), day).await?;
        Ok(SiteStore {
            client,
            node: c.node.clone(),
            lease_ttl: c.lease,
            claim_wait: c.claim_wait,
            lease_kv,
            claims_kv,
            answered: Default::default(),
        })
    }

    /// Whether the store answers now: connected, and a lease op answered within the lease time
    /// (the lease loop asks every quarter of it, leading or not).
    pub fn reaches_store(&self) -> bool {
        let answered = *self.answered.lock().unwrap_or_else(|p| p.into_inner());
        self.client.connection_state() == async_nats::connection::State::Connected
            && answered.is_some_and(|t| t.elapsed() <= self.lease_ttl)
    }

    /// How long the other node waits before claiming an occurrence.
    pub fn claim_wait(&self) -> Duration {
        self.claim_wait
    }

    /// Who holds the site's lease as the bucket says: `(node, token, ms since it was written)`;
    /// `None` when the key is absent (expired, released or never taken). For `cluster status`.
    pub async fn leader(&self) -> Result<Option<(String, u64, i64)>, ClusterError> {
        let entry = self
            .lease_kv
            .entry("leader")
            .await
            .map_err(|e| ClusterError::Bucket {
                bucket: "lease".into(),
                reason: e.to_string(),
            })?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .map(|e| {
                let node = serde_json::from_slice::<serde_json::Value>(&e.value)
                    .ok()
                    .and_then(|v| v["node"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "(unreadable)".into());
                let written_ms = (e.created.unix_timestamp_nanos() / 1_000_000) as i64;
                let age = chrono::Utc::now().timestamp_millis() - written_ms;
                (node, e.revision, age)
            }))
    }

    /// Start the lease's loop.
    pub fn start_lease(&self) -> LeaseHandle {
        self.start_lease_gated(None)
    }

    /// Start the lease's loop, seeking and keeping the lease only while `eligible` says this node
    /// sees its LAN (`None`: always).
    pub fn start_lease_gated(&self, eligible: Option<watch::Receiver<bool>>) -> LeaseHandle {
        let (tx, held) = watch::channel(None);
        let store = self.clone();
        let task = tokio::spawn(async move { store.lease_loop(tx, eligible).await });
        LeaseHandle { held, task }
    }

    /// Carry out the lease: the short loop of `lease.rs`'s call order.
    async fn lease_loop(
        self,
        tx: watch::Sender<Option<(u64, Instant)>>,
        mut eligible: Option<watch::Receiver<bool>>,
    ) {
        let mut lease = Lease::new(LeaseTerms::new(self.lease_ttl), Instant::now());
        loop {
            let now = Instant::now();
            if let Some(rx) = &eligible {
                lease.handle_eligible(now, *rx.borrow());
            }
            lease.handle_timeout(now);
            let held = lease.token(now).zip(lease.until());
            tx.send_if_modified(|v| std::mem::replace(v, held) != held);
            while let Some(e) = lease.poll_event() {
                match e {
                    LeaseEvent::Acquired { token } => {
                        tracing::info!(node = %self.node, token, "cluster: leading the site")
                    }
                    LeaseEvent::Lost { token } => {
                        tracing::warn!(node = %self.node, token, "cluster: no longer leading")
                    }
                }
            }
            if let Some(op) = lease.poll_op(now) {
                let reply = self.lease_op(op).await;
                lease.handle_reply(Instant::now(), reply);
                continue;
            }
            let sleep = tokio::time::sleep_until(lease.poll_timeout().into());
            match &mut eligible {
                Some(rx) => {
                    tokio::select! {
                        _ = sleep => {}
                        r = rx.changed() => if r.is_err() { eligible = None },
                    }
                }
                None => sleep.await,
            }
        }
    }

    /// One write to the lease key, bounded by half the lease time.
    async fn lease_op(&self, op: LeaseOp) -> LeaseReply {
        let value = Bytes::from(format!("{{\"node\":{:?}}}", self.node));
        let kv = &self.lease_kv;
        let limit = self.lease_ttl / 2;
        let done = tokio::time::timeout(limit, async {
            match op {
                LeaseOp::Create => match kv.create("leader", value).await {
                    Ok(revision) => LeaseReply::Written { revision },
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => LeaseReply::Refused,
                    Err(_) => LeaseReply::Failed,
                },
                LeaseOp::Renew { revision } => match kv.update("leader", value, revision).await {
                    Ok(revision) => LeaseReply::Written { revision },
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                        LeaseReply::Refused
                    }
                    Err(_) => LeaseReply::Failed,
                },
                // Stepping down: if the delete is refused, the key expires anyway.
                LeaseOp::Release { revision } => {
                    match kv.delete_expect_revision("leader", Some(revision)).await {
                        Ok(()) => LeaseReply::Written { revision },
                        Err(_) => LeaseReply::Refused,
                    }
                }
            }
        });
        let reply = done.await.unwrap_or(LeaseReply::Failed);
        if reply != LeaseReply::Failed {
            *self.answered.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        reply
    }

    /// Ring `occ` at most once across the site: `instance` is drawn at process start, `due` is
    /// now or past, and `ring` is awaited only if this node wins the occurrence. Past
    /// `give_up_at` an occurrence not yet ringing is missed rather than rung late.
    pub async fn ring_once<F, Fut>(
        &self,
        lease: &LeaseHandle,
        instance: u64,
        occ: &Occurrence,
        (due, give_up_at): (Instant, Instant),
        ring: F,
    ) -> ClaimEnd
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        let token = lease.token();
        let start = if token.is_some() {
            due
        } else {
            due + self.claim_wait
        };
        let me = (self.node.as_str(), instance);
        let mut claim = BellClaim::new(me, token.unwrap_or(0), start, self.claim_wait, give_up_at);
        let mut ring = Some(ring);
        loop {
            match claim.poll_output(Instant::now()) {
                Some(ClaimOutput::End(end)) => return end,
                Some(ClaimOutput::Op(op)) => {
                    let reply = self.claim_op(occ, &op).await;
                    claim.handle_reply(Instant::now(), reply);
                }
                Some(ClaimOutput::Ring) => {
                    if let Some(ring) = ring.take() {
                        ring().await;
                    }
                    claim.handle_rung(Instant::now());
                }
                None => {
                    let at = claim.poll_timeout().unwrap_or_else(Instant::now);
                    tokio::time::sleep_until(at.into()).await;
                }
            }
        }
    }

    /// Add `phones` to those this node's bell pages left tuned (their stops failed): the node
    /// that rings next stops them first ([`SiteStore::take_tuned`]). Bounded by the claim wait;
    /// `false` if it could not be written.
    pub async fn add_tuned(&self, phones: &[String]) -> bool {
        let key = tuned_key(&self.node);
        let write = async {
            for _ in 0..3 {
                let Some((mut known, rev)) = self.read_tuned(&key).await else {
                    return false;
                };
                for p in phones {
                    if !known.phones.contains(p) {
                        known.phones.push(p.clone());
                    }
                }
                if self.write_tuned(&key, &known, rev).await {
                    return true;
                }
            }
            false
        };
        tokio::time::timeout(self.claim_wait, write)
            .await
            .unwrap_or(false)
    }

    /// The phones this node's own list of phones left tuned holds now (`None`: the store did
    /// not answer within a quarter of the claim wait).
    pub async fn own_tuned(&self) -> Option<Vec<String>> {
        let key = tuned_key(&self.node);
        tokio::time::timeout(self.claim_wait / 4, self.read_tuned(&key))
            .await
            .ok()
            .flatten()
            .map(|(listed, _)| listed.phones)
    }

    /// Take `phone` off this node's own list of phones left tuned (it stopped it itself), by
    /// compare-and-set; `false` if it was not there or could not be written.
    pub async fn take_own_tuned(&self, phone: &str) -> bool {
        let key = tuned_key(&self.node);
        let take = async {
            let Some((mut listed, rev)) = self.read_tuned(&key).await else {
                return false;
            };
            let before = listed.phones.len();
            listed.phones.retain(|p| p != phone);
            listed.phones.len() != before && self.write_tuned(&key, &listed, rev).await
        };
        tokio::time::timeout(self.claim_wait / 4, take)
            .await
            .unwrap_or(false)
    }

    /// Take the phones node `node`'s bell pages left tuned: emptied by compare-and-set, so of
    /// two nodes taking them at once one gets them. Nothing when none are listed or the store
    /// does not answer within a quarter of the claim wait.
    pub async fn take_tuned(&self, node: &str) -> Vec<String> {
        let key = tuned_key(node);
        let take = async {
            let Some((listed, rev)) = self.read_tuned(&key).await else {
                return Vec::new();
            };
            if listed.phones.is_empty()
                || !self.write_tuned(&key, &TunedPhones::default(), rev).await
            {
                return Vec::new();
            }
            listed.phones
        };
        tokio::time::timeout(self.claim_wait / 4, take)
            .await
            .unwrap_or_default()
    }

    /// The phones listed under `key` and the revision they were read at (`None` for a key
    /// never written or deleted: nothing listed); `None` when the store did not answer.
    async fn read_tuned(&self, key: &str) -> Option<(TunedPhones, Option<u64>)> {
        match self.claims_kv.entry(key).await {
            Ok(Some(e)) if e.operation == kv::Operation::Put => Some((
                serde_json::from_slice(&e.value).unwrap_or_default(),
                Some(e.revision),
            )),
            Ok(_) => Some((TunedPhones::default(), None)),
            Err(_) => None,
        }
    }

    /// Write `listed` under `key` if it is still at `rev` (created if it never was); whether
    /// it was written.
    async fn write_tuned(&self, key: &str, listed: &TunedPhones, rev: Option<u64>) -> bool {
        let value = Bytes::from(serde_json::to_vec(listed).unwrap_or_default());
        match rev {
            Some(rev) => self.claims_kv.update(key, value, rev).await.is_ok(),
            None => self.claims_kv.create(key, value).await.is_ok(),
        }
    }

    /// One op on an occurrence's key, bounded by a quarter of the claim wait (public for the
    /// tests and for reading a claim's state).
    pub async fn claim_op(&self, occ: &Occurrence, op: &ClaimOp) -> ClaimReply {
        let kv = &self.claims_kv;
        let key = occ.key();
        let key = key.as_str();
        let encode = |r: &ClaimRecord| Bytes::from(serde_json::to_vec(r).unwrap_or_default());
        let done = tokio::time::timeout(self.claim_wait / 4, async {
            match op {
                ClaimOp::Create(r) => match kv.create(key, encode(r)).await {
                    Ok(rev) => ClaimReply::Written(rev),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => ClaimReply::Refused,
                    Err(_) => ClaimReply::Failed,
                },
                ClaimOp::Cas { revision, record } => {
                    match kv.update(key, encode(record), *revision).await {
                        Ok(rev) => ClaimReply::Written(rev),
                        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                            ClaimReply::Refused
                        }
                        Err(_) => ClaimReply::Failed,
                    }
                }
                ClaimOp::Read => match kv.entry(key).await {
                    Ok(Some(e)) if e.operation == kv::Operation::Put => {
                        ClaimReply::Found(Some((e.revision, decode(&e.value))))
                    }
                    Ok(_) => ClaimReply::Found(None),
                    Err(_) => ClaimReply::Failed,
                },
            }
        });
        done.await.unwrap_or(ClaimReply::Failed)
    }
}

impl SiteStore {
    /// The occurrences due since `since_unix` whose claim another process left `ringing`, with
    /// the claim's revision (the claims of a node that died or was cut off while ringing).
    pub async fn left_ringing(
        &self,
        instance: u64,
        since_unix: u64,
    ) -> Vec<(Occurrence, u64, ClaimRecord)> {
        let Ok(Ok(keys)) = tokio::time::timeout(self.claim_wait, self.claims_kv.keys()).await
        else {
            return Vec::new();
        };
        let mut keys = Box::pin(keys);
        let mut out = Vec::new();
        loop {
            let next =
                std::future::poll_fn(|cx| futures_core::Stream::poll_next(keys.as_mut(), cx));
            let Ok(Some(Ok(key))) = tokio::time::timeout(self.claim_wait, next).await else {
                break;
            };
            let Some(occ) = Occurrence::from_key(&key).filter(|o| o.due_unix >= since_unix) else {
                continue;
            };
            if let ClaimReply::Found(Some((rev, r))) = self.claim_op(&occ, &ClaimOp::Read).await
                && r.step == ClaimStep::Ringing
                && r.instance != instance
            {
                out.push((occ, rev, r));
            }
        }
        out
    }
}

/// A claim we cannot read counts as rung elsewhere: ringing twice is worse than not at all.
fn decode(value: &[u8]) -> ClaimRecord {
    serde_json::from_slice(value).unwrap_or(ClaimRecord {
        step: ClaimStep::Done,
        node: "(unreadable)".into(),
        instance: 0,
        token: 0,
    })
}

/// A client connected as `[cluster]` says (`retry`: one whose servers do not answer yet is
/// returned all the same and keeps trying); what failed names the URLs, never a credential.
pub(crate) async fn connect_client(
    c: &Cluster,
    retry: bool,
) -> Result<async_nats::Client, ClusterError> {
    let mut opts = connect_options(c)?;
    if retry {
        opts = opts.retry_on_initial_connect();
    }
    opts.connect(c.urls.clone())
        .await
        .map_err(|e| ClusterError::Connect {
            urls: c.urls.join(","),
            reason: e.to_string(),
        })
}

/// How this node connects to its store as `[cluster]` says: its name, TLS, the credentials read
/// now from their source (never logged). The journal's link connects with these too.
pub(crate) fn connect_options(c: &Cluster) -> Result<async_nats::ConnectOptions, ClusterError> {
    let mut opts = async_nats::ConnectOptions::new()
        .name(format!("zonecast {}/{}", c.site, c.node))
        .connection_timeout(Duration::from_secs(5))
        // A store that stops answering is noticed within about three pings.
        .ping_interval((c.lease / 2).max(Duration::from_secs(1)))
        .require_tls(c.tls);
    match &c.auth {
        ClusterAuth::None => {}
        ClusterAuth::Password(user, source) => {
            let secret = match source {
                PasswordSource::Env(var) => Secret::from_env(var)?,
                PasswordSource::File(path) => Secret::from_file(path)?,
                PasswordSource::Minted => {
                    return Err(Invalid::new(
                        "[cluster] password",
                        "minted",
                        "NATS needs a password from password_env or password_file",
                    )
                    .into());
                }
            };
            opts = opts.user_and_password(user.clone(), secret.expose().to_owned());
        }
        ClusterAuth::NKey(path) => {
            let seed = Secret::from_file(path)?;
            opts = opts.nkey(seed.expose().trim().to_owned());
        }
    }
    if let Some(ca) = &c.ca_file {
        opts = opts.add_root_certificates(ca.clone());
    }
    Ok(opts)
}

/// Open the bucket `name`, or create it (history 1, file storage, `max_age`).
async fn bucket(
    js: &jetstream::Context,
    name: String,
    max_age: Duration,
) -> Result<kv::Store, ClusterError> {
    if let Ok(kv) = js.get_key_value(&name).await {
        return Ok(kv);
    }
    let config = kv::Config {
        bucket: name.clone(),
        history: 1,
        max_age,
        ..Default::default()
    };
    match js.create_key_value(config).await {
        Ok(kv) => Ok(kv),
        // The other node of the pair created it at the same moment.
        Err(first) => js
            .get_key_value(&name)
            .await
            .map_err(|_| ClusterError::Bucket {
                bucket: name,
                reason: first.to_string(),
            }),
    }
}
