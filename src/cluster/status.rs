//! Each node's status in the hub's KV bucket `zc_nodes`, key `<site>.<node>` (`docs/cluster.md`):
//! whether it leads its site and with which fencing token, its journal's lag (records in its
//! outbox not yet acknowledged) and when it wrote the entry, which is its last contact with the
//! hub: a node cut from the hub keeps the entry it last wrote, growing old. Written every
//! [`STATUS_EVERY`]; read back whole for `zonecast cluster status` and `GET /api/cluster`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::journal_stream::{JournalLink, next};
use super::outbox_shell::OutboxState;
use super::store::ClusterError;

/// The hub's bucket of node status.
pub const STATUS_BUCKET: &str = "zc_nodes";

/// How often a node writes its status.
pub const STATUS_EVERY: Duration = Duration::from_secs(2);

/// An entry nobody rewrote for a day is dropped (a node taken out of the district).
const STATUS_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Largest entry read back (outside input).
const STATUS_LIMIT: usize = 1024;

/// Most entries read back.
const NODES_LIMIT: usize = 1000;

/// One node's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Its site.
    pub site: String,
    /// Its name.
    pub node: String,
    /// Whether it held its site's lease when it wrote this.
    pub leader: bool,
    /// The lease revision it held (the fencing token), if it led.
    pub token: Option<u64>,
    /// Journal records in its outbox not yet acknowledged by its site's stream.
    pub lag: u64,
    /// When its site's stream last acknowledged a record (Unix ms), if ever since it started.
    pub last_ack_ms: Option<i64>,
    /// When it wrote this entry (Unix ms, its clock): its last contact with the hub.
    pub last_contact_ms: i64,
}

/// Whether this node leads its site now, and with which token.
pub type LeadingNow = Arc<dyn Fn() -> Option<u64> + Send + Sync>;

impl JournalLink {
    /// The hub's status bucket; created if absent when `create` (a writer), else `None`.
    async fn status_bucket(&self, create: bool) -> Result<Option<kv::Store>, ClusterError> {
        let err = |e: &dyn std::fmt::Display| ClusterError::Bucket {
            bucket: STATUS_BUCKET.into(),
            reason: e.to_string(),
        };
        let hub = self.hub();
        match hub.get_key_value(STATUS_BUCKET).await {
            Ok(kv) => return Ok(Some(kv)),
            Err(e) if e.kind() == jetstream::context::KeyValueErrorKind::GetBucket && !create => {
                // No such bucket, or no hub answering: the stream's info tells which.
                return match hub.get_stream(format!("KV_{STATUS_BUCKET}")).await {
                    Err(e)
                        if matches!(
                            e.kind(),
                            jetstream::context::GetStreamErrorKind::JetStream(_)
                        ) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(err(&e)),
                    Ok(_) => Err(err(&"the bucket is not a key-value bucket")),
                };
            }
            Err(_) => {}
        }
        let config = kv::Config {
            bucket: STATUS_BUCKET.into(),
            history: 1,
            max_age: STATUS_MAX_AGE,
            ..Default::default()
        };
        match hub.create_key_value(config).await {
            Ok(kv) => Ok(Some(kv)),
            // Another node made it at the same moment.
            Err(first) => hub
                .get_key_value(STATUS_BUCKET)
                .await
                .map(Some)
                .map_err(|_| err(&first)),
        }
    }

    /// Write this node's entry.
    pub async fn write_status(&self, s: &NodeStatus) -> Result<(), ClusterError> {
        let write = async {
            let Some(kv) = self.status_bucket(true).await? else {
                return Ok(());
            };
            let key = format!("{}.{}", s.site, s.node);
            let value = serde_json::to_vec(s).unwrap_or_default();
            kv.put(key, value.into())
                .await
                .map(drop)
                .map_err(|e| ClusterError::Bucket {
                    bucket: STATUS_BUCKET.into(),
                    reason: e.to_string(),
                })
        };
        tokio::time::timeout(STATUS_EVERY, write)
            .await
            .unwrap_or_else(|_| {
                Err(ClusterError::Bucket {
                    bucket: STATUS_BUCKET.into(),
                    reason: "the hub does not answer".into(),
                })
            })
    }

    /// Every node's entry, by site and node, read within `limit`; unreadable entries are left
    /// out.
    pub async fn district_status(&self, limit: Duration) -> Result<Vec<NodeStatus>, ClusterError> {
        let read = async {
            let Some(kv) = self.status_bucket(false).await? else {
                return Ok(Vec::new());
            };
            let mut keys = kv.keys().await.map_err(|e| ClusterError::Bucket {
                bucket: STATUS_BUCKET.into(),
                reason: e.to_string(),
            })?;
            let mut out = Vec::new();
            while let Some(k) = next(&mut keys).await {
                let Ok(k) = k else { break };
                if out.len() >= NODES_LIMIT {
                    break;
                }
                if let Ok(Some(v)) = kv.get(&k).await
                    && v.len() <= STATUS_LIMIT
                    && let Ok(s) = serde_json::from_slice::<NodeStatus>(&v)
                {
                    out.push(s);
                }
            }
            out.sort_by(|a, b| (&a.site, &a.node).cmp(&(&b.site, &b.node)));
            Ok(out)
        };
        tokio::time::timeout(limit, read).await.unwrap_or_else(|_| {
            Err(ClusterError::Bucket {
                bucket: STATUS_BUCKET.into(),
                reason: "the hub does not answer".into(),
            })
        })
    }
}

/// Write this node's status every [`STATUS_EVERY`] until aborted: `leading` says whether it
/// leads, `outbox` its journal's lag. A write that fails (the hub cut off) is tried again at
/// the next tick; the entry at the hub keeps its older contact time meanwhile.
pub fn start_status(
    link: JournalLink,
    leading: LeadingNow,
    outbox: watch::Receiver<OutboxState>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STATUS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut told = false;
        loop {
            tick.tick().await;
            let token = leading();
            let o = *outbox.borrow();
            let s = NodeStatus {
                site: link.site().to_owned(),
                node: link.node().to_owned(),
                leader: token.is_some(),
                token,
                lag: o.lag,
                last_ack_ms: o.last_ack_ms,
                last_contact_ms: chrono::Utc::now().timestamp_millis(),
            };
            match link.write_status(&s).await {
                Ok(()) => told = false,
                Err(e) if !told => {
                    tracing::warn!("cluster: status: {e}");
                    told = true;
                }
                Err(e) => tracing::debug!("cluster: status: {e}"),
            }
        }
    })
}
