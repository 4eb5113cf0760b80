//! `zonecast push`: send up to three internal URIs, or one HTTP URL and two URIs, to phones in
//! one CiscoIPPhoneExecute and report what each phone said about each of them. `--priority`
//! applies to the HTTP URL only: the spec has internal URIs always execute at once.

use std::time::Duration;

use clap::Args;

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use crate::error::Invalid;
use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, Priority, Target, XmlObject};
use crate::xsi::uri::{Play, Uri};

/// A `Play:` push answers only when the file has played: allow this much on top of the timeout.
const PLAY_ALLOWANCE: Duration = Duration::from_secs(30);

/// Arguments of `zonecast push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// ExecuteItem Priority of the HTTP URL item: 0 immediately, 1 when idle, 2 only if idle.
    /// Internal URIs always run at once (Priority 0), so 1 and 2 need an HTTP URL.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    priority: Option<u8>,
    /// Print a JSON array of {phone, outcome, items} instead of prose.
    #[arg(long)]
    json: bool,
    /// Internal URIs (Key:Services, RTPRx:10.0.0.5:20480, Init:AppStatus ...) and at most one
    /// http:// or https:// URL the phone fetches and shows; 3 items at most.
    #[arg(value_name = "URI|URL", required = true)]
    uris: Vec<String>,
}

/// Whether `s` is an HTTP(S) URL rather than an internal URI.
fn is_http(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The Execute items for `a.uris`, in order, and the internal URIs among them.
fn items(a: &PushArgs) -> Result<(Vec<ExecuteItem>, Vec<Uri>), CliError> {
    let http_priority = Priority::new(a.priority.unwrap_or(0))?;
    let mut uris = Vec::new();
    let mut items = Vec::new();
    let mut http_seen: Option<&str> = None;
    for s in &a.uris {
        if is_http(s) {
            if let Some(first) = http_seen {
                return Err(Invalid::new(
                    "URL",
                    s,
                    format!(
                        "a CiscoIPPhoneExecute holds at most one HTTP URL ({first} is the first)"
                    ),
                )
                .into());
            }
            http_seen = Some(s);
            let url = ExecuteUrl::http(s)?;
            items.push(ExecuteItem {
                url,
                priority: http_priority,
            });
            continue;
        }
        let uri: Uri = s
            .parse()
            .map_err(|e| CliError::Invalid(format!("URI {s:?}: {e}")))?;
        a.phone.check_uri(&uri)?;
        let url = ExecuteUrl::try_from(&uri)?;
        items.push(ExecuteItem::new(url));
        uris.push(uri);
    }
    if http_seen.is_none() && a.priority.is_some_and(|p| p > 0) {
        return Err(Invalid::new(
            "--priority",
            a.priority.unwrap_or(0),
            "applies to an HTTP URL item only: internal URIs always execute immediately",
        )
        .into());
    }
    crate::xsi::plan::check_order(&uris)?;
    Ok((items, uris))
}

pub(super) fn run(a: PushArgs) -> Result<i32, CliError> {
    if a.uris.len() > 3 {
        return Err(CliError::Invalid(format!(
            "{} URIs given: a CiscoIPPhoneExecute holds at most 3 items \
             (one HTTP URL plus two URIs, or three URIs)",
            a.uris.len()
        )));
    }
    let (items, uris) = items(&a)?;
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
    let urls: Vec<String> = execute.items().iter().map(|i| i.url.to_string()).collect();
    phone::report(a.phone.hosts(), &outcomes, &urls, a.json)
}
