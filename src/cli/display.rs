//! `zonecast display`: push a display object (CiscoIPPhoneText, CiscoIPPhoneStatus,
//! CiscoIPPhoneMenu) to phones as the `XML=` body, or clear the status line.

use clap::{Args, Subcommand};

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use crate::xsi::object::{
    Bitmap, Execute, ExecuteItem, ExecuteUrl, Menu, MenuItem, Status, Target, Text, XmlObject,
};
use crate::xsi::uri::{Init, Uri};

/// Arguments of `zonecast display`.
#[derive(Debug, Args)]
pub struct DisplayArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    /// Print a JSON array of {phone, outcome, items} instead of prose.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    what: DisplayWhat,
}

/// What to show.
#[derive(Debug, Subcommand)]
enum DisplayWhat {
    /// A CiscoIPPhoneText: a title and up to 4000 characters.
    Text {
        /// Title (≤ 32 characters).
        #[arg(long)]
        title: Option<String>,
        /// The text.
        #[arg(long)]
        text: String,
    },
    /// A CiscoIPPhoneStatus line (≤ 32 characters), optionally with a running timer.
    Status {
        /// The status text.
        #[arg(long)]
        text: String,
        /// Show a timer starting at N seconds (0..=5939).
        #[arg(long, value_name = "N")]
        timer: Option<u16>,
    },
    /// A CiscoIPPhoneMenu of NAME=URL items.
    Menu {
        /// Title (≤ 32 characters).
        #[arg(long)]
        title: Option<String>,
        /// An item: its name, `=`, the URL it opens.
        #[arg(long = "item", value_name = "NAME=URL", required = true)]
        items: Vec<String>,
    },
    /// Clear the status line (CiscoIPPhoneExecute with Init:AppStatus).
    Clear,
}

pub(super) fn run(a: DisplayArgs) -> Result<i32, CliError> {
    let (root, xml, urls) = build(&a)?;
    a.phone.check_object(root, xml.len())?;
    if a.phone.dry_run() {
        a.phone.print_dry_run(&xml);
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let client = a.phone.client(a.phone.timeout())?;
    let expect_reply = a.phone.expect_reply();
    let outcomes = phone::runtime()?.block_on(client.fan_out(&phones, &xml, expect_reply));
    phone::report(a.phone.hosts(), &outcomes, &urls, a.json)
}

/// The document to push, its root element, and the URIs whose items to report.
fn build(a: &DisplayArgs) -> Result<(&'static str, String, Vec<String>), CliError> {
    let doc = |o: &dyn XmlObject| -> Result<(&'static str, String), CliError> {
        Ok((o.root(), o.to_xml_checked(Target::Phone)?))
    };
    let (root, xml) = match &a.what {
        DisplayWhat::Text { title, text } => doc(&text_object(title.as_deref(), text)?)?,
        DisplayWhat::Status { text, timer } => {
            let lacks_status = a.phone.caps().is_some_and(|c| !c.status_object);
            if lacks_status {
                eprintln!(
                    "zonecast: this model has no CiscoIPPhoneStatus: sending a CiscoIPPhoneText instead"
                );
                doc(&text_object(None, text)?)?
            } else {
                // A status needs a bitmap: one blank pixel, centred (-1, -1).
                let mut s = Status::new(-1, -1, Bitmap::new(1, 1, 1, "00")?)?.text(text)?;
                if let Some(t) = timer {
                    s = s.timer(*t)?;
                }
                doc(&s)?
            }
        }
        DisplayWhat::Menu { title, items } => {
            let mut m = Menu::new();
            if let Some(t) = title {
                m = m.title(t)?;
            }
            for item in items {
                let (name, url) = item.split_once('=').ok_or_else(|| {
                    CliError::Invalid(format!("menu item {item:?}: must be NAME=URL"))
                })?;
                m = m.item(MenuItem::new(name, url)?)?;
            }
            doc(&m)?
        }
        DisplayWhat::Clear => {
            let uri = Uri::Init(Init::AppStatus);
            a.phone.check_uri(&uri)?;
            let x = Execute::new(ExecuteItem::new(ExecuteUrl::try_from(&uri)?));
            let (root, xml) = doc(&x)?;
            return Ok((root, xml, vec![uri.to_string()]));
        }
    };
    Ok((root, xml, Vec::new()))
}

fn text_object(title: Option<&str>, text: &str) -> Result<Text, CliError> {
    let mut t = Text::new();
    if let Some(title) = title {
        t = t.title(title)?;
    }
    Ok(t.text(text)?)
}
