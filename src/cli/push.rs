//! `zonecast push`: send up to three internal URIs to phones in one CiscoIPPhoneExecute and
//! report what each phone said about each of them.

use std::time::Duration;

use clap::Args;

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, Priority, Target, XmlObject};
use crate::xsi::uri::{Play, Uri};

/// A `Play:` push answers only when the file has played: allow this much on top of the timeout.
const PLAY_ALLOWANCE: Duration = Duration::from_secs(30);

/// Arguments of `zonecast push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// ExecuteItem Priority: 0 immediately, 1 when idle, 2 only if idle.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    priority: u8,
    /// Print a JSON array of {phone, outcome, items} instead of prose.
    #[arg(long)]
    json: bool,
    /// Internal URIs (Key:Services, RTPRx:10.0.0.5:20480, Init:AppStatus ...), at most 3.
    #[arg(value_name = "URI", required = true)]
    uris: Vec<String>,
}

pub(super) fn run(a: PushArgs) -> Result<i32, CliError> {
    if a.uris.len() > 3 {
        return Err(CliError::Invalid(format!(
            "{} URIs given: a CiscoIPPhoneExecute holds at most 3 items \
             (one HTTP URL plus two URIs, or three URIs)",
            a.uris.len()
        )));
    }
    let priority = Priority::new(a.priority)?;
    let mut uris = Vec::new();
    let mut items = Vec::new();
    for s in &a.uris {
        let uri: Uri = s
            .parse()
            .map_err(|e| CliError::Invalid(format!("URI {s:?}: {e}")))?;
        a.phone.check_uri(&uri)?;
        let url = ExecuteUrl::try_from(&uri)?;
        items.push(ExecuteItem { url, priority });
        uris.push(uri);
    }
    let execute = Execute::from_items(items)?;
    let xml = execute.to_xml_checked(Target::Phone)?;
    a.phone.check_object(execute.root(), xml.len())?;
    if a.phone.dry_run() {
        a.phone.print_dry_run(&xml);
        return Ok(0);
    }
    let plays = uris.iter().any(|u| matches!(u, Uri::Play(Play::File(_))));
    let timeout = a.phone.timeout()
        + if plays {
            PLAY_ALLOWANCE
        } else {
            Duration::ZERO
        };
    let phones = a.phone.phones()?;
    let client = a.phone.client(timeout)?;
    let expect_reply = a.phone.expect_reply();
    let outcomes = phone::runtime()?.block_on(client.fan_out(&phones, &xml, expect_reply));
    let urls: Vec<String> = uris.iter().map(ToString::to_string).collect();
    phone::report(a.phone.hosts(), &outcomes, &urls, a.json)
}
