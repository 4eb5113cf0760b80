//! `zonecast media`: open or close an RTP stream on one phone with the RTP Streaming API
//! (`startMedia` / `stopMedia` pushed to `/CGI/Execute`).

use std::net::{Ipv4Addr, SocketAddrV4};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use crate::push::{HttpReply, TransportError};
use crate::xsi::object::{Codec, MediaMode, MediaType, StartMedia, StopMedia, Target, XmlObject};
use crate::xsi::response::{MediaErrorType, MediaReply, PhoneError, parse_media_reply};
use crate::xsi::uri::Notify;

/// Arguments of `zonecast media`.
#[derive(Debug, Args)]
pub struct MediaArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// Print a JSON object instead of prose.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    what: MediaWhat,
}

#[derive(Debug, Subcommand)]
enum MediaWhat {
    /// startMedia: the phone opens an RTP stream with ADDR:PORT.
    Start {
        /// The far end (or multicast group): IPv4 address and even port 20480..=32768.
        #[arg(long = "to", value_name = "ADDR:PORT")]
        to: SocketAddrV4,
        /// G.711, G.722 or G.729.
        #[arg(long, default_value = "G.711", value_parser = parse_codec)]
        codec: Codec,
        /// receive (the phone plays), send (its microphone) or sendReceive.
        #[arg(long, default_value = "receive", value_parser = parse_mode)]
        mode: MediaMode,
        /// Notify URI the phone calls when the stream stops (e.g. Notify:http:host:80:path);
        /// anything else is refused (exit 2).
        #[arg(long, value_name = "URI", value_parser = parse_notify)]
        notify: Option<Notify>,
        /// Playback volume, 0..=100 percent.
        #[arg(long, value_name = "N")]
        volume: Option<u8>,
    },
    /// stopMedia: end the stream with this id (or the phone's only one).
    Stop {
        /// The id startMedia returned.
        #[arg(long)]
        id: Option<String>,
    },
}

fn parse_codec(s: &str) -> Result<Codec, String> {
    match s.to_ascii_uppercase().as_str() {
        "G.711" | "G711" => Ok(Codec::G711),
        "G.722" | "G722" => Ok(Codec::G722),
        "G.729" | "G729" => Ok(Codec::G729),
        _ => Err(format!("{s:?}: codec must be G.711, G.722 or G.729")),
    }
}

fn parse_notify(s: &str) -> Result<Notify, String> {
    Notify::handler("--notify", s).map_err(|e| e.to_string())
}

fn parse_mode(s: &str) -> Result<MediaMode, String> {
    match s {
        "receive" => Ok(MediaMode::Receive),
        "send" => Ok(MediaMode::Send),
        "sendReceive" => Ok(MediaMode::SendReceive),
        _ => Err(format!("{s:?}: mode must be receive, send or sendReceive")),
    }
}

#[derive(serde::Serialize)]
struct Report<'a> {
    phone: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
}

/// The object to push and its root element: a `startMedia` or `stopMedia` built from the
/// arguments and checked for the phone.
fn media_object(what: &MediaWhat) -> Result<(&'static str, String), CliError> {
    Ok(match what {
        MediaWhat::Start {
            to,
            codec,
            mode,
            notify,
            volume,
        } => {
            let addr: Ipv4Addr = *to.ip();
            let mut s =
                StartMedia::new(MediaType::Audio, *codec, *mode, addr).port_number(to.port())?;
            if let Some(n) = notify {
                s = s.on_stopped_notify(n)?;
            }
            if let Some(v) = volume {
                s = s.receive_volume(*v)?;
            }
            (s.root(), s.to_xml_checked(Target::Phone)?)
        }
        MediaWhat::Stop { id } => {
            let s = match id {
                Some(id) => StopMedia::id(id)?,
                None => StopMedia::new(),
            };
            (s.root(), s.to_xml_checked(Target::Phone)?)
        }
    })
}

/// What the phone `host` answered to the push, and the exit code it means. `stopping`: the push
/// was a `stopMedia`, which a phone may answer with an empty body.
fn outcome_of(
    host: &str,
    stopping: bool,
    reply: Result<HttpReply, TransportError>,
) -> (i32, Report<'_>) {
    let report = |outcome, id, error_type, data| Report {
        phone: host,
        outcome,
        id,
        error_type,
        data,
    };
    match reply {
        Err(e) => (1, report("failed", None, None, Some(e.to_string()))),
        Ok(HttpReply { status: 401, .. }) => (
            3,
            report(
                "auth_failed",
                None,
                None,
                Some("authentication failed (check --user and the password)".into()),
            ),
        ),
        Ok(HttpReply { status, .. }) if !(200..300).contains(&status) => (
            3,
            report(
                "bad_response",
                None,
                None,
                Some(format!("HTTP status {status}")),
            ),
        ),
        Ok(HttpReply { body, .. }) if stopping && body.iter().all(u8::is_ascii_whitespace) => {
            (0, report("ok", None, None, None))
        }
        Ok(HttpReply { body, .. }) => match parse_media_reply(&body) {
            Ok(MediaReply::Started(s)) => (0, report("ok", Some(s.id), None, None)),
            Ok(MediaReply::Error(e)) => (
                3,
                report("error", None, Some(error_name(&e.kind)), Some(e.data)),
            ),
            Ok(MediaReply::PhoneError(PhoneError::Authentication)) => (
                3,
                report(
                    "auth_failed",
                    None,
                    None,
                    Some("authentication failed (CiscoIPPhoneError 4)".into()),
                ),
            ),
            Ok(MediaReply::PhoneError(e)) => (
                3,
                report(
                    "rejected",
                    None,
                    None,
                    Some(format!("CiscoIPPhoneError {}", e.number())),
                ),
            ),
            Err(e) => (3, report("bad_response", None, None, Some(e.to_string()))),
        },
    }
}

/// Print the outcome on stdout: as JSON with `--json`, else a line for a stream id, an
/// errorResponse or success (any other failure is only the command's error).
fn print_outcome(json: bool, code: i32, rep: &Report<'_>) -> Result<(), CliError> {
    let host = rep.phone;
    if json {
        println!("{}", serde_json::to_string(rep).context("writing JSON")?);
    } else {
        match (&rep.id, &rep.error_type) {
            (Some(id), _) => println!("phone {host}: stream {id}"),
            (None, Some(t)) => println!(
                "phone {host}: error {t}: {}",
                rep.data.as_deref().unwrap_or("")
            ),
            (None, None) if code == 0 => println!("phone {host}: ok"),
            _ => {}
        }
    }
    Ok(())
}

/// The message of a failed outcome: the errorResponse, else what went wrong.
fn failure_message(rep: &Report<'_>) -> String {
    let host = rep.phone;
    match (&rep.error_type, &rep.data) {
        (Some(t), d) => format!(
            "phone {host}: errorResponse {t}: {}",
            d.as_deref().unwrap_or("")
        ),
        (None, Some(d)) => format!("phone {host}: {d}"),
        (None, None) => format!("phone {host}: failed"),
    }
}

/// `zonecast media`: push a `startMedia` or `stopMedia` to one phone and report its answer.
pub(super) fn run(a: MediaArgs) -> Result<i32, CliError> {
    a.phone.require_single("media")?;
    if a.phone.caps().is_some_and(|c| !c.rtp_uris) {
        return Err(CliError::Invalid(
            "--model: this model does not support the RTP Streaming API (startMedia/stopMedia)"
                .into(),
        ));
    }
    let (root, xml) = media_object(&a.what)?;
    a.phone.check_object(root, xml.len())?;
    if a.phone.dry_run() {
        a.phone.print_dry_run(&xml);
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let p = &phones[0];
    let client = a.phone.client(a.phone.timeout())?;
    let reply = phone::runtime()?.block_on(client.post_execute(p, &xml, None));
    let stopping = matches!(a.what, MediaWhat::Stop { .. });
    let (code, rep) = outcome_of(p.host.as_str(), stopping, reply);
    print_outcome(a.json, code, &rep)?;
    phone::fail_with(code, failure_message(&rep))
}

fn error_name(t: &MediaErrorType) -> String {
    match t {
        MediaErrorType::InvalidXml => "InvalidXML".into(),
        MediaErrorType::UnavailableResource => "UnavailableResource".into(),
        MediaErrorType::InvalidResourceId => "InvalidResourceID".into(),
        MediaErrorType::InvalidUrl => "InvalidURL".into(),
        MediaErrorType::InvalidResource => "InvalidResource".into(),
        MediaErrorType::Other(s) => s.clone(),
    }
}
