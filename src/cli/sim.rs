//! `zonecast sim`: run a fleet of emulated Cisco phones until Ctrl-C (or `--duration`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;

use super::common::CliError;
use crate::phone_sim::config::{Addressing, DEFAULT_USER};
use crate::phone_sim::{Fleet, SimConfig};
use crate::push::Secret;

/// Environment variable the emulated phones take their password from when no other source is
/// given (unset: the emulator's built-in default).
pub const PASSWORD_ENV: &str = "ZONECAST_SIM_PASSWORD";

/// Arguments of `zonecast sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Number of phones (ignored with --config, which lists its own).
    #[arg(long, default_value_t = 10)]
    phones: usize,
    /// Model of the phones (CP-8851, CP-7841, CP-8851-3PCC ...; see --help of the config).
    #[arg(long, default_value = "CP-8851")]
    model: String,
    /// A fleet config (TOML: groups of models, faults, addressing); see config/sim.example.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address of every phone, or the first address with --addresses (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    host: Ipv4Addr,
    /// First HTTP port (phone i on port P+i; 0: any free ports). With --addresses: the one port.
    #[arg(long, default_value_t = 0)]
    base_port: u16,
    /// One address per phone (HOST, HOST+1 ...) instead of one port per phone.
    #[arg(long)]
    addresses: bool,
    /// User the phones accept.
    #[arg(long)]
    user: Option<String>,
    /// Environment variable holding the phones' password (default: $ZONECAST_SIM_PASSWORD).
    #[arg(long, conflicts_with = "password_file")]
    password_env: Option<String>,
    /// File whose first line is the phones' password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The phones' Authentication URL (e.g. zonecast serve's http://HOST:PORT/authenticate):
    /// push credentials are checked there (UserID, Password, devicename) instead of against
    /// the phones' own user and password.
    #[arg(long, value_name = "URL")]
    auth_url: Option<String>,
    /// Write a WAV of every stream each phone hears into this directory.
    #[arg(long)]
    record_dir: Option<PathBuf>,
    /// Seed for fault selection, latencies and dropped packets.
    #[arg(long)]
    seed: Option<u64>,
    /// Port of the /fleet report endpoint on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// Stop after this many seconds (default: run until Ctrl-C / SIGTERM).
    #[arg(long, value_parser = super::common::parse_seconds)]
    duration: Option<Duration>,
    /// Write the final fleet report (JSON) to this file on exit.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the phone list as JSON instead of a table and a zones snippet.
    #[arg(long)]
    json: bool,
}

fn config_from(a: &SimArgs) -> Result<SimConfig, CliError> {
    let mut cfg = match &a.config {
        Some(path) => SimConfig::from_file(path)?,
        None => {
            let mut c = SimConfig::uniform(a.phones, &a.model);
            c.host = a.host;
            c.addressing = if a.addresses {
                Addressing::Addresses { port: a.base_port }
            } else {
                Addressing::Ports {
                    base_port: a.base_port,
                }
            };
            c
        }
    };
    if let Some(u) = &a.user {
        cfg.user = u.clone();
    } else if a.config.is_none() {
        cfg.user = DEFAULT_USER.into();
    }
    if let Some(var) = &a.password_env {
        cfg.password = Secret::from_env(var)?;
        cfg.password_source = format!("env:{var}");
    } else if let Some(file) = &a.password_file {
        cfg.password = Secret::from_file(file)?;
        cfg.password_source = format!("file:{}", file.display());
    } else if cfg.password_source == "default"
        && let Ok(s) = Secret::from_env(PASSWORD_ENV)
    {
        cfg.password = s;
        cfg.password_source = format!("env:{PASSWORD_ENV}");
    }
    if a.auth_url.is_some() {
        cfg.auth_url = a.auth_url.clone();
    }
    if a.record_dir.is_some() {
        cfg.record_dir = a.record_dir.clone();
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// The config snippet that lets `zonecast page` reach these phones.
fn zones_snippet(fleet: &Fleet, cfg: &SimConfig) -> String {
    let password_env = cfg
        .password_source
        .strip_prefix("env:")
        .unwrap_or(PASSWORD_ENV);
    let mut s = format!(
        "# zonecast sim: {} emulated phones. They accept user {:?} with the password in ${password_env}\n\
         # (when it is unset: the emulator's built-in default).\n",
        fleet.len(),
        cfg.user
    );
    if let Some(url) = &cfg.auth_url {
        s.push_str(&format!(
            "# They ask {url} about push credentials: with zonecast serve there, \
             auth = \"minted\".\n"
        ));
    }
    for p in fleet.phones() {
        let auth = if cfg.auth_url.is_some() {
            format!("auth = \"minted\"\ndevice = {:?}", p.device)
        } else {
            format!("password_env = {password_env:?}")
        };
        s.push_str(&format!(
            "[[phone]]\nname = {:?}\nhost = \"{}\"\nmodel = {:?}\nuser = {:?}\n{auth}\n\n",
            p.name, p.addr, p.model, p.user
        ));
    }
    let members: Vec<String> = fleet
        .phones()
        .iter()
        .map(|p| format!("{:?}", p.name))
        .collect();
    s.push_str(&format!("[zone.sim]\nmembers = [{}]\n", members.join(", ")));
    s
}

pub(super) fn run(a: SimArgs) -> Result<i32, CliError> {
    let cfg = config_from(&a)?;
    let stop = super::common::interrupted_flag();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let started = Instant::now();
        let mut fleet = Fleet::start(cfg.clone()).await.map_err(|e| match e {
            crate::phone_sim::fleet::FleetError::Invalid(i) => CliError::from(i),
            other => CliError::Failed(other.into()),
        })?;
        let control = fleet
            .serve_control(SocketAddr::from((Ipv4Addr::LOCALHOST, a.control_port)))
            .await
            .context("serving /fleet")?;
        let took = started.elapsed();
        if a.json {
            let v = serde_json::json!({
                "phones": fleet.phones(),
                "control": format!("http://{control}/fleet"),
                "start_ms": took.as_secs_f64() * 1000.0,
            });
            println!("{v}");
        } else {
            println!("{:<12} {:<28} {:<14} faults", "NAME", "URL", "MODEL");
            for p in fleet.phones() {
                let faults = if p.faults.any() {
                    serde_json::to_string(&p.faults).unwrap_or_default()
                } else {
                    "-".into()
                };
                println!("{:<12} {:<28} {:<14} {faults}", p.name, p.url, p.model);
            }
            println!();
            println!("{}", zones_snippet(&fleet, &cfg));
        }
        eprintln!(
            "zonecast: {} phones up in {:.0} ms; report: http://{control}/fleet; Ctrl-C stops",
            fleet.len(),
            took.as_secs_f64() * 1000.0
        );
        let deadline = a.duration.map(|d| Instant::now() + d);
        loop {
            if stop.load(std::sync::atomic::Ordering::SeqCst)
                || deadline.is_some_and(|d| Instant::now() >= d)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let report = fleet.report();
        if let Some(path) = &a.report {
            let json = serde_json::to_vec_pretty(&report).context("encoding the report")?;
            std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        }
        eprintln!(
            "zonecast: stopping {} phones ({} pushes, {} streams heard)",
            report.totals.phones, report.totals.pushes, report.totals.streams_heard
        );
        fleet.shutdown().await;
        Ok(0)
    })
}
