//! The outbox's async shell: the short loop of [`Outbox`]'s call order between a durable
//! [`OutboxStore`] (the server's SQLite: records not yet acknowledged, and their marks) and the
//! site's stream ([`JournalLink::publish`], each send its own task so a window of them is in
//! flight). It first makes sure the site's stream exists and, in the background, that the hub
//! sources it, each retried until the store and the hub answer. What it knows goes out on a
//! watch channel for the node's status ([`OutboxState`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::journal::JournalRecord;
use super::journal_stream::JournalLink;
use super::outbox::{OutRecord, Outbox, OutboxTerms};

/// Most records read from the store at once.
const BATCH: usize = 256;

/// The longest wait between tries to create the streams.
const SETUP_RETRY_MAX: Duration = Duration::from_secs(8);

/// Where the records wait until the site's stream acknowledges them (the server's journal).
pub trait OutboxStore: Send + Sync + 'static {
    /// Up to `limit` records not yet marked, oldest first (their `site` and `node` are set by
    /// the shell).
    fn unpublished(&self, limit: usize) -> Result<Vec<JournalRecord>, String>;
    /// Mark records (by id) as acknowledged.
    fn mark_published(&self, ids: &[String]) -> Result<(), String>;
    /// How many records are not yet marked.
    fn backlog(&self) -> Result<u64, String>;
}

/// The outbox as the node's status reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxState {
    /// Records not yet acknowledged (the store's backlog).
    pub lag: u64,
    /// When the site's stream last acknowledged a record (Unix ms).
    pub last_ack_ms: Option<i64>,
    /// Whether the last answer from the stream was an acknowledgement.
    pub link_up: bool,
}

/// Start the outbox's loop; it runs until the handle is aborted.
pub fn start_outbox(
    link: JournalLink,
    store: impl OutboxStore,
) -> (watch::Receiver<OutboxState>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(OutboxState::default());
    let task = tokio::spawn(outbox_loop(link, Arc::new(store), tx));
    (rx, task)
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Retry `f` with a doubling wait until it succeeds.
async fn until_done<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), super::store::ClusterError>>,
{
    let mut wait = Duration::from_millis(250);
    let mut told = false;
    loop {
        match f().await {
            Ok(()) => return,
            Err(e) if !told => {
                tracing::warn!("cluster: {what}: {e}; trying again");
                told = true;
            }
            Err(e) => tracing::debug!("cluster: {what}: {e}"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(SETUP_RETRY_MAX);
    }
}

async fn outbox_loop(
    link: JournalLink,
    store: Arc<dyn OutboxStore>,
    tx: watch::Sender<OutboxState>,
) {
    until_done("the site's journal stream", || link.ensure_site_stream()).await;
    let hub = link.clone();
    let _hub_task = AbortOnDrop(tokio::spawn(async move {
        until_done("the hub's journal sources", || hub.ensure_hub_source()).await;
    }));
    let mut outbox = Outbox::new(OutboxTerms::default(), Instant::now());
    let mut flying: JoinSet<(String, Result<(), String>)> = JoinSet::new();
    let mut last_ack_ms = None;
    loop {
        let acked = outbox.poll_acked();
        let mut changed = !acked.is_empty();
        if changed {
            last_ack_ms = Some(unix_ms());
            if let Err(e) = store.mark_published(&acked) {
                tracing::warn!("journal outbox: {e}");
            }
        }
        if outbox.wants_refill(Instant::now()) {
            refill(&link, store.as_ref(), &mut outbox);
            changed = true;
        }
        if changed {
            let lag = store.backlog().unwrap_or(outbox.lag() as u64);
            let state = OutboxState {
                lag,
                last_ack_ms,
                link_up: outbox.link_up(),
            };
            tx.send_if_modified(|v| std::mem::replace(v, state) != state);
        }
        while let Some(r) = outbox.poll_send(Instant::now()) {
            let link = link.clone();
            flying.spawn(async move {
                let sent = link.publish(&r).await;
                (r.id, sent)
            });
        }
        let at = outbox.poll_timeout();
        tokio::select! {
            Some(done) = flying.join_next(), if !flying.is_empty() => {
                let Ok((id, sent)) = done else { continue };
                match sent {
                    Ok(()) => outbox.handle_acked(Instant::now(), &id),
                    Err(e) => {
                        tracing::debug!("journal outbox: {id}: {e}");
                        outbox.handle_failed(Instant::now(), &id);
                    }
                }
            }
            _ = tokio::time::sleep_until(at.into()) => {}
        }
    }
}

/// Read the records not yet marked into the outbox; one that cannot be sent (too large, an
/// unsafe id) is marked at once, so it does not hold the others back, and said loudly.
fn refill(link: &JournalLink, store: &dyn OutboxStore, outbox: &mut Outbox) {
    let records = match store.unpublished(BATCH) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("journal outbox: {e}");
            return;
        }
    };
    let mut ready = Vec::with_capacity(records.len());
    let mut refused = Vec::new();
    for mut r in records {
        r.site = link.site().to_owned();
        r.node = link.node().to_owned();
        match r.encode() {
            Ok(bytes) => ready.push(OutRecord { id: r.id, bytes }),
            Err(e) => {
                tracing::error!("journal outbox: record {:?} never sent: {e}", r.id);
                refused.push(r.id);
            }
        }
    }
    if !refused.is_empty()
        && let Err(e) = store.mark_published(&refused)
    {
        tracing::warn!("journal outbox: {e}");
    }
    outbox.offer(ready);
}

/// Aborts its task when dropped (the loop's helper ends with the loop).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
