//! `zonecast macro`: the multi-step sequences of the spec's Macros section, one push per step.
//!
//! - `prt`: `Device:GeneratePRT`, then `Device:PRTStatus` polled until the phone names the
//!   report's URL (8821).
//! - `tftp`: walk the 8875's settings screens to TFTP server 1, type the address, Apply.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::common::{CliError, parse_seconds};
use super::phone::{self, PhoneArgs};
use crate::push::{Phone, PushClient, PushOutcome};
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, Target, XmlObject};
use crate::xsi::uri::Uri;

/// `zonecast macro` subcommands.
#[derive(Debug, Subcommand)]
pub enum MacroCommand {
    /// Generate a problem report (8821) and print the URL of the archive.
    Prt(PrtArgs),
    /// Set TFTP server 1 (alternate TFTP) on an 8875 through its settings screens.
    Tftp(TftpArgs),
}

/// Arguments of `zonecast macro prt`.
#[derive(Debug, Args)]
pub struct PrtArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// Give up when no report is ready after this many seconds.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_seconds)]
    poll_timeout: Duration,
    /// Seconds between two Device:PRTStatus polls.
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_seconds)]
    poll_interval: Duration,
}

/// Arguments of `zonecast macro tftp`.
#[derive(Debug, Args)]
pub struct TftpArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// The TFTP server's IPv4 address, A.B.C.D.
    #[arg(long, value_name = "A.B.C.D")]
    server: String,
}

pub(super) fn run(c: MacroCommand) -> Result<i32, CliError> {
    match c {
        MacroCommand::Prt(a) => prt(a),
        MacroCommand::Tftp(a) => tftp(a),
    }
}

/// What `Device:PRTStatus` says once the report exists.
const PRT_READY: &str = "Generated PRT at ";
/// `Device:GeneratePRT` status meaning "a report is already pending": proceed to polling.
const PRT_PENDING: u32 = 6;

/// The one-item Execute for `uri`, checked against `--model`.
fn execute_doc(args: &PhoneArgs, uri: &str) -> Result<(Uri, String), CliError> {
    let uri: Uri = uri
        .parse()
        .map_err(|e| CliError::Invalid(format!("URI {uri:?}: {e}")))?;
    args.check_uri(&uri)?;
    let x = Execute::new(ExecuteItem::new(ExecuteUrl::try_from(&uri)?));
    let xml = x.to_xml_checked(Target::Phone)?;
    args.check_object(x.root(), xml.len())?;
    Ok((uri, xml))
}

/// The error for a push that did not succeed.
fn step_failed(host: &str, step: &str, o: &PushOutcome) -> CliError {
    let msg = format!("phone {host}: {step}: {}", phone::describe(o));
    match phone::outcome_code(o) {
        3 => CliError::Partial(msg),
        _ => CliError::Failed(anyhow::anyhow!(msg)),
    }
}

fn connect(args: &PhoneArgs) -> Result<(Phone, PushClient), CliError> {
    let p = args.phones()?.remove(0);
    let client = args.client(args.timeout())?;
    Ok((p, client))
}

fn prt(a: PrtArgs) -> Result<i32, CliError> {
    a.phone.require_single("macro prt")?;
    let (generate, generate_xml) = execute_doc(&a.phone, "Device:GeneratePRT")?;
    let (status, status_xml) = execute_doc(&a.phone, "Device:PRTStatus")?;
    if a.phone.dry_run() {
        for host in a.phone.hosts() {
            println!("# phone {host}");
            println!("# step 1: {generate}");
            println!("{generate_xml}");
            println!(
                "# step 2: {status}, every {} s until \"{PRT_READY}...\"",
                a.poll_interval.as_secs_f64()
            );
            println!("{status_xml}");
        }
        return Ok(0);
    }
    let (p, client) = connect(&a.phone)?;
    let expect_reply = a.phone.expect_reply();
    let rt = phone::runtime()?;
    let generate_url = generate.to_string();
    let started = rt.block_on(client.execute(&p, &generate_xml, None, expect_reply));
    match &started {
        PushOutcome::Ok { .. } => println!("phone {}: {generate_url}: ok", p.host),
        PushOutcome::Rejected { status, data, .. } if *status == PRT_PENDING => {
            println!(
                "phone {}: {generate_url}: a report is pending ({data})",
                p.host
            )
        }
        other => return Err(step_failed(&p.host, &generate_url, other)),
    }
    let status_url = status.to_string();
    let deadline = Instant::now() + a.poll_timeout;
    let last = loop {
        let o = rt.block_on(client.execute(&p, &status_xml, None, expect_reply));
        let Some((_, data)) = phone::item_status(&o, &status_url) else {
            if !o.is_ok() {
                return Err(step_failed(&p.host, &status_url, &o));
            }
            return Err(CliError::Partial(format!(
                "phone {}: {status_url}: the phone reported no item for it",
                p.host
            )));
        };
        if !o.is_ok() {
            return Err(step_failed(&p.host, &status_url, &o));
        }
        if let Some(url) = data.strip_prefix(PRT_READY) {
            println!("{}", url.trim());
            return Ok(0);
        }
        if Instant::now() + a.poll_interval > deadline {
            break data;
        }
        std::thread::sleep(a.poll_interval);
    };
    Err(CliError::Failed(anyhow::anyhow!(
        "phone {}: no problem report after {:.0} s (last {status_url}: {last:?})",
        p.host,
        a.poll_timeout.as_secs_f64()
    )))
}

/// The 8875 settings screens leading to TFTP server 1, in order.
const TFTP_SCREENS: [&str; 5] = [
    "Key:Applications",
    "SettingsMenu:Networkconnection",
    "SettingsMenu:Networksettings",
    "SettingsMenu:AlternateTFTP",
    "SettingsMenu:TFTPserver1",
];

/// Every URI of the TFTP macro for `server`, in order.
fn tftp_steps(server: Ipv4Addr) -> Vec<String> {
    let mut steps: Vec<String> = TFTP_SCREENS.iter().map(|s| s.to_string()).collect();
    for c in server.to_string().chars() {
        steps.push(match c {
            '.' => "Key:Key_Period".to_string(),
            d => format!("Key:Key_{d}"),
        });
    }
    steps.push("Button:Apply".into());
    steps
}

fn tftp(a: TftpArgs) -> Result<i32, CliError> {
    a.phone.require_single("macro tftp")?;
    let server: Ipv4Addr = a.server.parse().map_err(|_| {
        CliError::Invalid(format!(
            "server {:?}: must be an IPv4 address A.B.C.D",
            a.server
        ))
    })?;
    let steps = tftp_steps(server)
        .iter()
        .map(|s| execute_doc(&a.phone, s))
        .collect::<Result<Vec<_>, _>>()?;
    crate::xsi::plan::check_order(steps.iter().map(|(uri, _)| uri))?;
    let n = steps.len();
    if a.phone.dry_run() {
        for host in a.phone.hosts() {
            println!("# phone {host}");
            for (i, (uri, xml)) in steps.iter().enumerate() {
                println!("# step {}/{n}: {uri}", i + 1);
                println!("{xml}");
            }
        }
        return Ok(0);
    }
    let (p, client) = connect(&a.phone)?;
    let expect_reply = a.phone.expect_reply();
    let rt = phone::runtime()?;
    for (i, (uri, xml)) in steps.iter().enumerate() {
        let step = format!("step {}/{n} {uri}", i + 1);
        let o = rt.block_on(client.execute(&p, xml, None, expect_reply));
        if !o.is_ok() {
            return Err(step_failed(&p.host, &step, &o));
        }
        println!("phone {}: {step}: ok", p.host);
    }
    println!("phone {}: TFTP server 1 set to {server}", p.host);
    Ok(0)
}
