//! `zonecast cluster status --config F [--json]`: connect as the config's `[cluster]` node and say
//! who leads its site (node, fencing token, how long ago the lease was written) and the site's
//! pair. Exit 0 with a leader, 3 with none (the lease expired or was never taken: bells of a pair
//! wait), 1 when NATS cannot be reached.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::common::{CliError, runtime};
use crate::cluster::SiteStore;
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
    let leader = runtime()?.block_on(async {
        let store = SiteStore::connect(c).await?;
        store.leader().await
    });
    let leader = leader.map_err(|e| CliError::Failed(anyhow::anyhow!("{e}")))?;
    if a.json {
        let l = leader
            .as_ref()
            .map(|(node, token, age)| json!({"node": node, "token": token, "written_ms_ago": age}));
        let out = json!({"site": c.site, "node": c.node, "pair": c.pair, "leader": l,
                         "lease_ms": c.lease.as_millis() as u64});
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
    Ok(if leader.is_some() { 0 } else { 3 })
}
