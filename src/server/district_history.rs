//! This node's part in the district's journal (issue 24, `docs/cluster.md`) and what the API
//! shows of it. With `[cluster]`, `zonecast serve` starts a [`DistrictJournal`]: the outbox
//! publishing the server's history ([`super::history_outbox`]) to the site's stream, and the
//! node's status written to the hub every two seconds. It answers
//! `GET /api/history?scope=district` (every site's pages and bell events, as the hub's
//! `ZC_JOURNAL` holds them, each with its site and node, newest first) and `GET /api/cluster`
//! (this node, and every node's status as the hub has it). Without `[cluster]` both answer 409:
//! the history of a server alone is `GET /api/history`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::history_outbox::HistoryOutbox;
use super::refusal::{Answered, Refusal, refuse};
use super::store::Store;
use crate::cluster::{
    ClusterError, JournalLink, JournalRecord, LeadingNow, NodeStatus, OutboxState, RecordKind,
    STATUS_EVERY, start_outbox, start_status,
};
use crate::config::Cluster;

/// How many of the hub's latest messages a district history reads per page asked for (the
/// stream holds bells too, and records arrive out of order after a WAN cut).
const SCAN_PER_PAGE: usize = 4;

/// How long `GET /api/cluster` waits for the hub's node status (the console polls it).
const STATUS_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// This node's journal link, outbox and status writer (stopped when dropped).
pub struct DistrictJournal {
    link: JournalLink,
    outbox: watch::Receiver<OutboxState>,
    leading: LeadingNow,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DistrictJournal {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl DistrictJournal {
    /// Connect as `[cluster]` says (a store that does not answer yet is waited for in the
    /// background) and start the outbox over `store` and the status writer; `leading` says
    /// whether this node leads its site now.
    pub async fn start(
        c: &Cluster,
        store: &Store,
        leading: LeadingNow,
    ) -> Result<DistrictJournal, ClusterError> {
        let link = JournalLink::connect(c).await?;
        let (outbox, task) = start_outbox(link.clone(), HistoryOutbox::new(store.clone()));
        let status = start_status(link.clone(), leading.clone(), outbox.clone());
        Ok(DistrictJournal {
            link,
            outbox,
            leading,
            tasks: vec![task, status],
        })
    }

    /// [`DistrictJournal::start`] when the config has `[cluster]`, leading as `bells` (the
    /// site's lease, when this node rings bells) says.
    pub async fn from_config(
        config: &crate::config::Config,
        store: &Store,
        bells: Option<Arc<crate::cluster::SiteBells>>,
    ) -> anyhow::Result<Option<Arc<DistrictJournal>>> {
        let Some(c) = &config.cluster else {
            return Ok(None);
        };
        let leading: LeadingNow = Arc::new(move || bells.as_ref().and_then(|b| b.token()));
        let j = DistrictJournal::start(c, store, leading)
            .await
            .map_err(|e| anyhow::anyhow!("the district journal: {e}"))?;
        Ok(Some(Arc::new(j)))
    }

    /// This node's status now, as it writes it to the hub.
    pub fn here(&self) -> NodeStatus {
        let o = *self.outbox.borrow();
        let token = (self.leading)();
        NodeStatus {
            site: self.link.site().to_owned(),
            node: self.link.node().to_owned(),
            leader: token.is_some(),
            token,
            lag: o.lag,
            last_ack_ms: o.last_ack_ms,
            last_contact_ms: unix_ms(),
        }
    }

    /// The district's latest `limit` pages and bell events from the hub, newest first, each with
    /// its site and node (and its fencing token, if it had one).
    pub async fn pages(&self, limit: usize) -> Result<Value, ClusterError> {
        let read = self
            .link
            .district(limit.saturating_mul(SCAN_PER_PAGE))
            .await?;
        let latest = |kind: RecordKind| {
            let mut of: Vec<&JournalRecord> =
                read.records.iter().filter(|r| r.kind == kind).collect();
            of.sort_by_key(|r| std::cmp::Reverse(r.at_ms));
            of.into_iter()
                .take(limit)
                .map(entry)
                .collect::<Vec<Value>>()
        };
        Ok(json!({
            "scope": "district",
            "pages": latest(RecordKind::Page),
            "bells": latest(RecordKind::Bell),
            "held": read.held,
            "refused": read.refused,
        }))
    }

    /// This node, and every node's status at the hub (`null` with `district_error` when the hub
    /// cannot be reached).
    pub async fn status(&self) -> Value {
        let here = self.here();
        let now = unix_ms();
        match self.link.district_status(STATUS_READ_LIMIT).await {
            Ok(nodes) => {
                let nodes: Vec<Value> = nodes.iter().map(|n| shown(n, now)).collect();
                json!({"here": shown(&here, now), "nodes": nodes,
                       "status_every_ms": STATUS_EVERY.as_millis() as u64})
            }
            Err(e) => json!({"here": shown(&here, now), "nodes": null,
                             "district_error": e.to_string(),
                             "status_every_ms": STATUS_EVERY.as_millis() as u64}),
        }
    }
}

/// A record's history entry with its site, node and token beside the node's own fields.
fn entry(r: &JournalRecord) -> Value {
    let mut v = match &r.body {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    v["site"] = json!(r.site);
    v["node"] = json!(r.node);
    v["token"] = json!(r.token);
    v
}

/// A node's status with the age of its last contact.
fn shown(n: &NodeStatus, now_ms: i64) -> Value {
    let mut v = json!(n);
    v["last_contact_ms_ago"] = json!((now_ms - n.last_contact_ms).max(0));
    v
}

/// `GET /api/history?scope=district`.
pub async fn answer_history(d: Option<&DistrictJournal>, limit: usize) -> Answered {
    let Some(d) = d else {
        return Err(not_clustered());
    };
    match d.pages(limit).await {
        Ok(v) => Ok((StatusCode::OK, axum::Json(v)).into_response()),
        Err(e) => Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the district's history is at the hub, which does not answer: {e}"),
        )),
    }
}

fn not_clustered() -> Refusal {
    refuse(
        StatusCode::CONFLICT,
        "this server has no [cluster]: it is not part of a district (its own history is \
         GET /api/history)",
    )
}

/// The route `GET /api/cluster`.
pub fn router<S: Clone + Send + Sync + 'static>(d: Option<Arc<DistrictJournal>>) -> Router<S> {
    Router::new()
        .route("/api/cluster", get(cluster_status))
        .with_state(d)
}

async fn cluster_status(State(d): State<Option<Arc<DistrictJournal>>>) -> Answered {
    let Some(d) = d else {
        return Err(not_clustered());
    };
    Ok((StatusCode::OK, axum::Json(d.status().await)).into_response())
}
