//! `zonecast display menu | directory | icon-menu | icon-file-menu`: the list objects.
//!
//! Items are `NAME=URL`; in the icon menus `NAME=URL@ICON` shows icon ICON (0..=9) beside the
//! item. Icons are `INDEX=FILE.png` (converted to a bitmap of at most 16 × 10 pixels) for an
//! icon menu, `INDEX=URL` (a PNG of at most 18 × 18, or `Resource:Icon.Name`) for an icon file
//! menu.

use std::path::Path;

use clap::Args;

use super::bitmap::png_bitmap;
use super::parts::{Built, Head, check_link, name_value, render, split_suffix};
use crate::cli::common::CliError;
use crate::cli::phone::PhoneArgs;
use crate::error::Invalid;
use crate::xsi::object::{
    Directory, DirectoryEntry, IconFileItem, IconFileMenu, IconItem, IconMenu, Menu, MenuItem,
};

/// `display menu`.
#[derive(Debug, Args)]
pub(super) struct MenuArgs {
    #[command(flatten)]
    head: Head,
    /// An item: its name, `=`, the URL it opens (≤ 100 items).
    #[arg(long = "item", value_name = "NAME=URL", required = true)]
    items: Vec<String>,
}

/// `display directory`.
#[derive(Debug, Args)]
pub(super) struct DirectoryArgs {
    #[command(flatten)]
    head: Head,
    /// An entry: the name shown, `=`, the number dialled (each ≤ 32 characters; ≤ 32 entries).
    #[arg(long = "entry", value_name = "NAME=NUMBER", required = true)]
    entries: Vec<String>,
}

/// `display icon-menu`.
#[derive(Debug, Args)]
pub(super) struct IconMenuArgs {
    #[command(flatten)]
    head: Head,
    /// An item: name, `=`, URL, and optionally `@` and the index of its icon (≤ 32 items).
    #[arg(long = "item", value_name = "NAME=URL[@ICON]", required = true)]
    items: Vec<String>,
    /// An icon: its index 0..=9, `=`, a PNG file (≤ 16 × 10 pixels, converted).
    #[arg(long = "icon", value_name = "INDEX=FILE.png")]
    icons: Vec<String>,
    /// Bits per icon pixel: 1 black and white, 2 four greys (16 × 10 fits only at depth 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    depth: u8,
}

/// `display icon-file-menu`.
#[derive(Debug, Args)]
pub(super) struct IconFileMenuArgs {
    #[command(flatten)]
    head: Head,
    /// An item: name, `=`, URL, and optionally `@` and the index of its icon (≤ 32 items).
    #[arg(long = "item", value_name = "NAME=URL[@ICON]", required = true)]
    items: Vec<String>,
    /// An icon: its index 0..=9, `=`, the URL of a PNG (≤ 18 × 18) or `Resource:Icon.Name`.
    #[arg(long = "icon", value_name = "INDEX=URL")]
    icons: Vec<String>,
}

/// A `NAME=URL` item, its URL checked.
pub(super) fn item(phone: &PhoneArgs, flag: &str, value: &str) -> Result<MenuItem, CliError> {
    let (name, url) = name_value(flag, value, "NAME=URL")?;
    check_link(phone, flag, url)?;
    Ok(MenuItem::new(name, url)?)
}

/// A `NAME=URL[@ICON]` item of an icon menu.
fn icon_item(phone: &PhoneArgs, value: &str) -> Result<MenuItem, CliError> {
    let (name, rest) = name_value("--item", value, "NAME=URL[@ICON]")?;
    let (url, icon) = split_suffix(rest, '@', |s| s.bytes().all(|b| b.is_ascii_digit()));
    check_link(phone, "--item", url)?;
    let item = MenuItem::new(name, url)?;
    match icon {
        Some(i) => Ok(item.icon_index(index("--item", i)?)?),
        None => Ok(item),
    }
}

/// An icon index as given (0..=9 is the object's check).
fn index(flag: &str, s: &str) -> Result<u8, CliError> {
    s.parse()
        .map_err(|_| Invalid::new(flag, s, "the icon index must be a number 0..=9").into())
}

pub(super) fn menu(phone: &PhoneArgs, a: &MenuArgs) -> Result<Built, CliError> {
    let mut m = a.head.apply(phone, Menu::new())?;
    for i in &a.items {
        m = m.item(item(phone, "--item", i)?)?;
    }
    render(&m)
}

pub(super) fn directory(phone: &PhoneArgs, a: &DirectoryArgs) -> Result<Built, CliError> {
    let mut d = a.head.apply(phone, Directory::new())?;
    for e in &a.entries {
        let (name, number) = name_value("--entry", e, "NAME=NUMBER")?;
        d = d.entry(DirectoryEntry::new(name, number)?)?;
    }
    render(&d)
}

pub(super) fn icon_menu(phone: &PhoneArgs, a: &IconMenuArgs) -> Result<Built, CliError> {
    let mut m = a.head.apply(phone, IconMenu::new())?;
    for i in &a.items {
        m = m.item(icon_item(phone, i)?)?;
    }
    for icon in &a.icons {
        let (i, file) = name_value("--icon", icon, "INDEX=FILE.png")?;
        let bitmap = png_bitmap("--icon", Path::new(file), a.depth)?;
        m = m.icon(IconItem::new(index("--icon", i)?, bitmap)?)?;
    }
    render(&m)
}

pub(super) fn icon_file_menu(phone: &PhoneArgs, a: &IconFileMenuArgs) -> Result<Built, CliError> {
    let mut m = a.head.apply(phone, IconFileMenu::new())?;
    for i in &a.items {
        m = m.item(icon_item(phone, i)?)?;
    }
    for icon in &a.icons {
        let (i, url) = name_value("--icon", icon, "INDEX=URL")?;
        check_link(phone, "--icon", url)?;
        m = m.icon(IconFileItem::new(index("--icon", i)?, url)?)?;
    }
    render(&m)
}
