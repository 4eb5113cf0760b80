//! `zonecast info` (a device page as `name: value` lines, or its HTML twin with `--html`) and
//! `zonecast screenshot` (the phone's display as an image file): plain GETs to one phone.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use crate::push::TransportError;
use crate::xsi::query::DeviceQuery;
use crate::xsi::response::parse_device_page;

/// Arguments of `zonecast info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// DeviceInformationX, NetworkConfigurationX, EthernetInformationX, or PortInformationX:N,
    /// StreamingStatisticsX:N, DeviceLogX:N.
    /// N is checked against the spec's range (port 1..=3, stream 1..=3, log 0..=2) before any
    /// request: outside it, exit 2.
    #[arg(long, value_name = "PAGE", default_value = "DeviceInformationX", value_parser = parse_page)]
    page: DeviceQuery,
    /// Print a JSON object of the fields instead of lines.
    #[arg(long)]
    json: bool,
    /// Fetch the page's HTML twin instead (DeviceInformation for DeviceInformationX,
    /// StreamingStatistics?N for StreamingStatisticsX:N ...) and print it as the phone sent it.
    #[arg(long, conflicts_with = "json")]
    html: bool,
}

/// The HTML twin of an `...X` page's path: `/PortInformationX?1` is `/PortInformation?1`.
fn html_path(xml_path: &str) -> String {
    let (name, query) = xml_path.split_once('?').unwrap_or((xml_path, ""));
    let name = name.strip_suffix('X').unwrap_or(name);
    if query.is_empty() {
        name.to_owned()
    } else {
        format!("{name}?{query}")
    }
}

/// `zonecast info --html`: GET the HTML page and print its body unchanged.
fn html(a: &InfoArgs) -> Result<i32, CliError> {
    let path = html_path(&a.page.path());
    if a.phone.dry_run() {
        for host in a.phone.hosts() {
            println!("# phone {host}");
            println!("GET {path}");
        }
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let p = &phones[0];
    let client = a.phone.client(a.phone.timeout())?;
    let reply = phone::runtime()?
        .block_on(client.get(p, &path))
        .map_err(|e| get_error(&p.host, &path, e))?;
    if !(200..300).contains(&reply.status) {
        return Err(status_error(&p.host, &path, reply.status));
    }
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, &reply.body).context("writing the page")?;
    Ok(0)
}

/// `--page`, checked (a page number outside the spec's range is refused: exit 2).
fn parse_page(s: &str) -> Result<DeviceQuery, String> {
    s.parse().map_err(|e: crate::error::Invalid| e.to_string())
}

/// A GET's failure as the command's error: 1 no answer, 3 an answer that is a failure.
fn get_error(host: &str, what: &str, e: TransportError) -> CliError {
    let msg = format!("phone {host}: {what}: {e}");
    match e {
        TransportError::TooLarge => CliError::Partial(msg),
        _ => CliError::Failed(anyhow::anyhow!(msg)),
    }
}

fn status_error(host: &str, what: &str, status: u16) -> CliError {
    if status == 401 {
        CliError::Partial(format!(
            "phone {host}: {what}: authentication failed (check --user and the password)"
        ))
    } else {
        CliError::Partial(format!("phone {host}: {what}: HTTP status {status}"))
    }
}

pub(super) fn run(a: InfoArgs) -> Result<i32, CliError> {
    a.phone.require_single("info")?;
    if a.html {
        return html(&a);
    }
    if a.phone.dry_run() {
        for host in a.phone.hosts() {
            println!("# phone {host}");
            println!("GET {}", a.page.path());
        }
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let p = &phones[0];
    let client = a.phone.client(a.phone.timeout())?;
    let path = a.page.path();
    let reply = phone::runtime()?
        .block_on(client.device_page(p, a.page))
        .map_err(|e| get_error(&p.host, &path, e))?;
    if !(200..300).contains(&reply.status) {
        return Err(status_error(&p.host, &path, reply.status));
    }
    let page = parse_device_page(&reply.body)
        .map_err(|e| CliError::Partial(format!("phone {}: {path}: {e}", p.host)))?;
    if a.json {
        let mut fields = serde_json::Map::new();
        for (name, value) in &page.fields {
            // Repeated names (log lines) become arrays.
            match fields.get_mut(name) {
                None => {
                    fields.insert(name.clone(), value.clone().into());
                }
                Some(serde_json::Value::Array(v)) => v.push(value.clone().into()),
                Some(prev) => {
                    let first = prev.take();
                    *prev = serde_json::Value::Array(vec![first, value.clone().into()]);
                }
            }
        }
        let doc = serde_json::json!({ "phone": p.host, "page": page.root, "fields": fields });
        println!("{}", serde_json::to_string(&doc).context("writing JSON")?);
    } else {
        for (name, value) in &page.fields {
            println!("{name}: {value}");
        }
    }
    Ok(0)
}

/// Arguments of `zonecast screenshot`.
#[derive(Debug, Args)]
pub struct ScreenshotArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// Where to write the image the phone sends.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

const SCREENSHOT: &str = "/CGI/Screenshot";

pub(super) fn screenshot(a: ScreenshotArgs) -> Result<i32, CliError> {
    a.phone.require_single("screenshot")?;
    if a.phone.dry_run() {
        for host in a.phone.hosts() {
            println!("# phone {host}");
            println!("GET {SCREENSHOT}");
        }
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let p = &phones[0];
    let client = a.phone.client(a.phone.timeout())?;
    let reply = phone::runtime()?
        .block_on(client.get(p, SCREENSHOT))
        .map_err(|e| get_error(&p.host, SCREENSHOT, e))?;
    if !(200..300).contains(&reply.status) {
        return Err(status_error(&p.host, SCREENSHOT, reply.status));
    }
    if reply.body.is_empty() {
        return Err(CliError::Partial(format!(
            "phone {}: {SCREENSHOT}: empty body, nothing written",
            p.host
        )));
    }
    std::fs::write(&a.out, &reply.body).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "phone {}: wrote {} bytes to {}",
        p.host,
        reply.body.len(),
        a.out.display()
    );
    Ok(0)
}
