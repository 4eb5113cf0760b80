//! `zonecast serve`: the paging server (bells, HTTP API, journal, callbacks, Authentication
//! URL, metrics) and the web console beside it, until SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::common::{CliError, runtime};
use crate::config::Config;

/// Arguments of `zonecast serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration (phones, zones, bells, `[server]`).
    #[arg(long)]
    config: PathBuf,
    /// Listen here instead of `[server] listen` (e.g. 127.0.0.1:0 for any free port).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
}

pub(super) fn run(a: ServeArgs) -> Result<i32, CliError> {
    let mut config = Config::load(&a.config)?;
    if let Some(l) = a.listen {
        config.server.listen = l;
    }
    // The console is composed here: the server does not import the web layer.
    let console = crate::web::router(crate::web::ConsoleOptions {
        config_path: Some(std::path::absolute(&a.config).unwrap_or(a.config.clone())),
        cucm: config.cucm.is_some(),
        cluster: config.cluster.is_some(),
    });
    runtime()?.block_on(async {
        crate::server::serve_with(
            config,
            console,
            crate::server::terminated(),
            |l| {
                eprintln!(
                    "zonecast serve: listening on http://{} (phones use {})",
                    l.http, l.public
                );
                if let Some((addr, fingerprint)) = l.https {
                    eprintln!(
                        "zonecast serve: console over HTTPS on https://{addr} (certificate SHA-256 {fingerprint})"
                    );
                }
            },
        )
        .await
        .map_err(CliError::Failed)?;
        Ok(0)
    })
}
