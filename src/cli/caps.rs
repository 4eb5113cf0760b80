//! `zonecast caps`: ask one phone what it is with the `<getDeviceCaps/>` query (POSTed to
//! `/CGI/Execute` as the `XML=` body, like any push) and print the model, screen and SDK
//! version it reports (`getDeviceCapsResponse`).

use anyhow::Context;
use clap::Args;

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use crate::push::TransportError;
use crate::xsi::object::{GetDeviceCaps, Target, XmlObject};
use crate::xsi::response::{
    DeviceCaps, ExecuteReply, PhoneError, parse_device_caps, parse_execute_reply,
};

/// Arguments of `zonecast caps`.
#[derive(Debug, Args)]
pub struct CapsArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// Print a JSON object {phone, model, display, sdk_version, services} instead of lines.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(a: CapsArgs) -> Result<i32, CliError> {
    a.phone.require_single("caps")?;
    let xml = GetDeviceCaps.to_xml_checked(Target::Phone)?;
    a.phone.check_object(GetDeviceCaps.root(), xml.len())?;
    if a.phone.dry_run() {
        a.phone.print_dry_run(&xml);
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let p = &phones[0];
    let host = p.host.as_str();
    let client = a.phone.client(a.phone.timeout())?;
    let reply = phone::runtime()?
        .block_on(client.post_execute(p, &xml, None))
        .map_err(|e| transport_error(host, e))?;
    match reply.status {
        200..=299 => {}
        401 => {
            return Err(CliError::Partial(format!(
                "phone {host}: getDeviceCaps: authentication failed (check --user and the password)"
            )));
        }
        s => {
            return Err(CliError::Partial(format!(
                "phone {host}: getDeviceCaps: HTTP status {s}"
            )));
        }
    }
    if let Ok(ExecuteReply::Error(e)) = parse_execute_reply(&reply.body) {
        return Err(CliError::Partial(format!(
            "phone {host}: getDeviceCaps refused: CiscoIPPhoneError {}",
            error_words(e)
        )));
    }
    let caps = parse_device_caps(&reply.body)
        .map_err(|e| CliError::Partial(format!("phone {host}: getDeviceCaps: {e}")))?;
    print_caps(host, &caps, a.json)?;
    Ok(0)
}

fn error_words(e: PhoneError) -> String {
    match e {
        PhoneError::Parse => "1 (the phone could not parse the query)".into(),
        PhoneError::Framing => "2 (the phone could not frame its answer)".into(),
        PhoneError::InternalFile => "3 (internal file error)".into(),
        PhoneError::Authentication => "4 (authentication failed)".into(),
        PhoneError::Other(n) => n.to_string(),
    }
}

/// No answer: exit 1 (an answer too large to read: 3).
fn transport_error(host: &str, e: TransportError) -> CliError {
    let msg = format!("phone {host}: getDeviceCaps: {e}");
    match e {
        TransportError::TooLarge => CliError::Partial(msg),
        _ => CliError::Failed(anyhow::anyhow!(msg)),
    }
}

fn print_caps(host: &str, caps: &DeviceCaps, json: bool) -> Result<(), CliError> {
    if json {
        let display = caps.display.map(|d| {
            serde_json::json!({
                "width": d.width, "height": d.height,
                "bit_depth": d.bit_depth, "color": d.is_color,
            })
        });
        let doc = serde_json::json!({
            "phone": host,
            "model": caps.model_number,
            "display": display,
            "sdk_version": caps.sdk_version,
            "services": caps.services,
        });
        println!("{}", serde_json::to_string(&doc).context("writing JSON")?);
        return Ok(());
    }
    println!("model: {}", caps.model_number);
    if let Some(d) = caps.display {
        let kind = if d.is_color { "colour" } else { "greyscale" };
        println!(
            "display: {}x{}, {} bits, {kind}",
            d.width, d.height, d.bit_depth
        );
    }
    if let Some(v) = &caps.sdk_version {
        println!("sdk: {v}");
    }
    if !caps.services.is_empty() {
        println!("services: {}", caps.services.join(", "));
    }
    Ok(())
}
