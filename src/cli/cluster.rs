//! `zonecast cluster status --config F [--json]`: connect as the config's `[cluster]` node and say
//! who leads its site (node, fencing token, how long ago the lease was written) and the site's
//! pair, then every node of the district as the hub's `zc_nodes` bucket has it: site, node,
//! leader and token, journal lag (records not yet acknowledged by its site's stream) and last
//! contact (how long ago it last wrote its status to the hub). Exit 0 with a leader, 3 with none
//! (the lease expired or was never taken: bells of a pair wait), 1 when NATS cannot be reached; a
//! hub that does not answer is said, and does not change the exit.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::common::{CliError, runtime};
use crate::cluster::{JournalLink, NodeStatus, SiteStore};
use crate::config::Config;

/// `zonecast cluster ...`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Who leads this node's site, and its pair.
    Status(StatusArgs),
}

/// `zonecast cluster status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The configuration (its `[cluster]` table).
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(c: ClusterCommand) -> Result<i32, CliError> {
    match c {
        ClusterCommand::Status(a) => status(a),
    }
}

fn status(a: StatusArgs) -> Result<i32, CliError> {
    let config = Config::load(&a.config)?;
    let Some(c) = &config.cluster else {
        return Err(CliError::Invalid(format!(
            "{}: no [cluster] table: this server runs alone",
            a.config.display()
        )));
    };
    let (leader, nodes) = runtime()?
        .block_on(async {
            let store = SiteStore::connect(c).await?;
            let leader = store.leader().await?;
            let link = JournalLink::connect(c).await?;
            Ok::<_, crate::cluster::ClusterError>((
                leader,
                link.district_status(Duration::from_secs(10)).await,
            ))
        })
        .map_err(|e| CliError::Failed(anyhow::anyhow!("{e}")))?;
    let now = chrono::Utc::now().timestamp_millis();
    if a.json {
        let l = leader
            .as_ref()
            .map(|(node, token, age)| json!({"node": node, "token": token, "written_ms_ago": age}));
        let mut out = json!({"site": c.site, "node": c.node, "pair": c.pair, "leader": l,
                         "lease_ms": c.lease.as_millis() as u64});
        match &nodes {
            Ok(n) => out["nodes"] = n.iter().map(|n| node_json(n, now)).collect(),
            Err(e) => {
                out["nodes"] = serde_json::Value::Null;
                out["district_error"] = json!(e.to_string());
            }
        }
        println!("{out}");
    } else {
        let pair = c.pair.join(", ");
        match &leader {
            Some((node, token, age)) => println!(
                "site {}: leader {node} (token {token}, lease written {:.1} s ago, lease {:.1} s); \
                 pair {pair}; this node {}",
                c.site,
                *age as f64 / 1000.0,
                c.lease.as_secs_f64(),
                c.node
            ),
            None => println!(
                "site {}: no leader (the lease key is absent: expired, released or never \
                 taken); pair {pair}; this node {}",
                c.site, c.node
            ),
        }
    }
    if !a.json {
        print_nodes(&nodes, now);
    }
    Ok(if leader.is_some() { 0 } else { 3 })
}

/// A node's entry with the age of its last contact.
fn node_json(n: &NodeStatus, now_ms: i64) -> serde_json::Value {
    let mut v = json!(n);
    v["last_contact_ms_ago"] = json!((now_ms - n.last_contact_ms).max(0));
    v
}

/// The district's nodes, one line each.
fn print_nodes(nodes: &Result<Vec<NodeStatus>, crate::cluster::ClusterError>, now_ms: i64) {
    match nodes {
        Err(e) => println!("district: the hub's node status cannot be read: {e}"),
        Ok(n) if n.is_empty() => println!("district: no node has written its status yet"),
        Ok(n) => {
            println!(
                "district ({} nodes, as the hub last heard from each):",
                n.len()
            );
            for s in n {
                let role = match s.token {
                    Some(t) if s.leader => format!("leader (token {t})"),
                    _ => "follower".to_owned(),
                };
                println!(
                    "  site {} node {}: {role}; lag {} records; last contact {:.1} s ago",
                    s.site,
                    s.node,
                    s.lag,
                    (now_ms - s.last_contact_ms).max(0) as f64 / 1000.0
                );
            }
        }
    }
}
