//! `zonecast display`: push a display object to phones as the `XML=` body, one subcommand per
//! object, every value checked by the object's builder (exit 2 naming the field), `--model`
//! refusing what the model cannot show, `--dry-run` printing the document.
//!
//! The files, by object family:
//! - `parts`: what the objects share: `--title`, `--prompt`, `--softkey`, `--x`/`--y`, the
//!   `NAME=URL[@SUFFIX]` values, the check of every link against the model.
//! - `bitmap`: a PNG file as the phones' packed 1- or 2-bit greyscale bitmap.
//! - `text`: CiscoIPPhoneText (with application event handlers), CiscoIPPhoneStatus, the
//!   status clear, CiscoIPPhoneError.
//! - `menus`: CiscoIPPhoneMenu, CiscoIPPhoneDirectory, CiscoIPPhoneIconMenu,
//!   CiscoIPPhoneIconFileMenu.
//! - `input`: CiscoIPPhoneInput.
//! - `pictures`: CiscoIPPhoneImage, CiscoIPPhoneImageFile, CiscoIPPhoneGraphicMenu,
//!   CiscoIPPhoneGraphicFileMenu, CiscoIPPhoneStatusFile.

mod bitmap;
mod input;
mod menus;
mod parts;
mod pictures;
mod text;

use clap::{Args, Subcommand};

use super::common::CliError;
use super::phone::{self, PhoneArgs};
use parts::Built;

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
    /// A CiscoIPPhoneText: a title and up to 4000 characters, soft keys, event handlers.
    Text(text::TextArgs),
    /// A CiscoIPPhoneStatus line (≤ 32 characters), optionally with a running timer.
    Status(text::StatusArgs),
    /// A CiscoIPPhoneStatusFile: status text and timer beside a PNG fetched from a URL.
    StatusFile(pictures::StatusFileArgs),
    /// A CiscoIPPhoneMenu of NAME=URL items.
    Menu(menus::MenuArgs),
    /// A CiscoIPPhoneDirectory of NAME=NUMBER entries the user can dial.
    Directory(menus::DirectoryArgs),
    /// A CiscoIPPhoneInput form submitted to a URL.
    Input(input::InputArgs),
    /// A CiscoIPPhoneIconMenu: menu items with icons converted from PNG files.
    IconMenu(menus::IconMenuArgs),
    /// A CiscoIPPhoneIconFileMenu: menu items with icons fetched from URLs or built in.
    IconFileMenu(menus::IconFileMenuArgs),
    /// A CiscoIPPhoneImage: a PNG file converted to the phone's greyscale bitmap.
    Image(pictures::ImageArgs),
    /// A CiscoIPPhoneImageFile: a PNG the phone fetches from a URL.
    ImageFile(pictures::ImageFileArgs),
    /// A CiscoIPPhoneGraphicMenu: a converted PNG with items chosen by number.
    GraphicMenu(pictures::GraphicMenuArgs),
    /// A CiscoIPPhoneGraphicFileMenu: a PNG from a URL with items chosen by touch area.
    GraphicFileMenu(pictures::GraphicFileMenuArgs),
    /// A CiscoIPPhoneError (what a service answers a phone with; phones refuse it as a push).
    Error(text::ErrorArgs),
    /// Clear the status line (CiscoIPPhoneExecute with Init:AppStatus).
    Clear,
}

pub(super) fn run(a: DisplayArgs) -> Result<i32, CliError> {
    let built = build(&a.phone, &a.what)?;
    a.phone.check_object(built.root, built.xml.len())?;
    if a.phone.dry_run() {
        a.phone.print_dry_run(&built.xml);
        return Ok(0);
    }
    let phones = a.phone.phones()?;
    let client = a.phone.client(a.phone.timeout())?;
    let expect_reply = a.phone.expect_reply();
    let outcomes = phone::runtime()?.block_on(client.fan_out(&phones, &built.xml, expect_reply));
    phone::report(a.phone.hosts(), &outcomes, &built.urls, a.json)
}

/// The document to push, its root element, and the URIs whose items to report.
fn build(p: &PhoneArgs, what: &DisplayWhat) -> Result<Built, CliError> {
    match what {
        DisplayWhat::Text(a) => text::text(p, a),
        DisplayWhat::Status(a) => text::status(p, a),
        DisplayWhat::StatusFile(a) => pictures::status_file(a),
        DisplayWhat::Menu(a) => menus::menu(p, a),
        DisplayWhat::Directory(a) => menus::directory(p, a),
        DisplayWhat::Input(a) => input::input(p, a),
        DisplayWhat::IconMenu(a) => menus::icon_menu(p, a),
        DisplayWhat::IconFileMenu(a) => menus::icon_file_menu(p, a),
        DisplayWhat::Image(a) => pictures::image(p, a),
        DisplayWhat::ImageFile(a) => pictures::image_file(p, a),
        DisplayWhat::GraphicMenu(a) => pictures::graphic_menu(p, a),
        DisplayWhat::GraphicFileMenu(a) => pictures::graphic_file_menu(p, a),
        DisplayWhat::Error(a) => text::error(a),
        DisplayWhat::Clear => text::clear(p),
    }
}
