//! `zonecast display text | status | clear | error`: a CiscoIPPhoneText (with application
//! event handlers), a CiscoIPPhoneStatus line (a CiscoIPPhoneText on models without one), the
//! Execute that clears the status line, and a CiscoIPPhoneError.

use clap::Args;

use super::parts::{Built, Head, check_link, name_value, render};
use crate::cli::common::CliError;
use crate::cli::phone::PhoneArgs;
use crate::error::Invalid;
use crate::xsi::object::{
    AppEvents, Bitmap, Error, Execute, ExecuteItem, ExecuteUrl, Status, Text,
};
use crate::xsi::uri::{Init, Uri};

/// `display text`.
#[derive(Debug, Args)]
pub(super) struct TextArgs {
    #[command(flatten)]
    head: Head,
    /// The text (≤ 4000 characters).
    #[arg(long)]
    text: String,
    /// Application id for event handlers (`appId`, 1..=64 characters, no `:`).
    #[arg(long, value_name = "ID")]
    app_id: Option<String>,
    /// An application event handler: focus-lost, focus-gained, minimized, closed or all, `=`,
    /// the Notify URI the phone calls (needs --app-id).
    #[arg(long = "on", value_name = "EVENT=NOTIFY-URI", requires = "app_id")]
    on: Vec<String>,
}

/// `display status`.
#[derive(Debug, Args)]
pub(super) struct StatusArgs {
    /// The status text (≤ 32 characters).
    #[arg(long)]
    text: String,
    /// Show a timer starting at N seconds (0..=5939).
    #[arg(long, value_name = "N")]
    timer: Option<u16>,
}

/// `display error`.
#[derive(Debug, Args)]
pub(super) struct ErrorArgs {
    /// 1 parse error, 2 framing error, 3 internal file error, 4 authentication error.
    #[arg(long, value_name = "N")]
    number: u8,
}

pub(super) fn text(phone: &PhoneArgs, a: &TextArgs) -> Result<Built, CliError> {
    let mut t = a.head.apply(phone, Text::new())?.text(&a.text)?;
    if let Some(id) = &a.app_id {
        let mut events = AppEvents::new(id)?;
        for handler in &a.on {
            let (event, uri) = name_value("--on", handler, "EVENT=NOTIFY-URI")?;
            check_link(phone, "--on", uri)?;
            events = match event {
                "focus-lost" => events.on_focus_lost(uri)?,
                "focus-gained" => events.on_focus_gained(uri)?,
                "minimized" => events.on_minimized(uri)?,
                "closed" => events.on_closed(uri)?,
                "all" => events.all(uri)?,
                other => {
                    return Err(Invalid::new(
                        "--on",
                        other,
                        "the event must be focus-lost, focus-gained, minimized, closed or all",
                    )
                    .into());
                }
            };
        }
        if phone.caps().is_some_and(|c| !c.app_uri) {
            return Err(CliError::Invalid(
                "--app-id: this model has no application events".into(),
            ));
        }
        t = t.app_events(events);
    }
    render(&t)
}

pub(super) fn status(phone: &PhoneArgs, a: &StatusArgs) -> Result<Built, CliError> {
    if phone.caps().is_some_and(|c| !c.status_object) {
        eprintln!(
            "zonecast: this model has no CiscoIPPhoneStatus: sending a CiscoIPPhoneText instead"
        );
        return render(&Text::new().text(&a.text)?);
    }
    // A status needs a bitmap: one blank pixel, centred (-1, -1).
    let mut s = Status::new(-1, -1, Bitmap::new(1, 1, 1, "00")?)?.text(&a.text)?;
    if let Some(t) = a.timer {
        s = s.timer(t)?;
    }
    render(&s)
}

pub(super) fn clear(phone: &PhoneArgs) -> Result<Built, CliError> {
    let uri = Uri::Init(Init::AppStatus);
    phone.check_uri(&uri)?;
    let x = Execute::new(ExecuteItem::new(ExecuteUrl::try_from(&uri)?));
    let mut built = render(&x)?;
    built.urls.push(uri.to_string());
    Ok(built)
}

pub(super) fn error(a: &ErrorArgs) -> Result<Built, CliError> {
    render(&Error::new(a.number)?)
}
