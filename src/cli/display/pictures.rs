//! `zonecast display image | image-file | graphic-menu | graphic-file-menu | status-file`: the
//! picture objects. `--png FILE` is converted to the phones' packed greyscale bitmap (see
//! `bitmap`); the file objects take the URL of a PNG the phone fetches itself.

use std::path::PathBuf;

use clap::Args;

use super::bitmap::png_bitmap;
use super::menus::item;
use super::parts::{Built, Head, Location, check_link, name_value, render, split_suffix};
use crate::cli::common::CliError;
use crate::cli::phone::PhoneArgs;
use crate::error::Invalid;
use crate::xsi::object::{
    GraphicFileMenu, GraphicMenu, Image, ImageFile, MenuItem, StatusFile, TouchArea,
};

/// `--png` and `--depth`: a picture converted to a bitmap.
#[derive(Debug, Args)]
pub(super) struct Picture {
    /// The PNG to show (any colour type; at most 133 × 65 pixels, and at most 2200 hex
    /// digits of data: 133 × 65 fits at depth 1, about 1100 pixels at depth 2).
    #[arg(long, value_name = "FILE")]
    png: PathBuf,
    /// Bits per pixel: 1 black and white, 2 four greys.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    depth: u8,
}

/// `display image`.
#[derive(Debug, Args)]
pub(super) struct ImageArgs {
    #[command(flatten)]
    head: Head,
    #[command(flatten)]
    picture: Picture,
    #[command(flatten)]
    at: Location,
}

/// `display image-file`.
#[derive(Debug, Args)]
pub(super) struct ImageFileArgs {
    #[command(flatten)]
    head: Head,
    /// The URL of the PNG (served as image/png; size and colours per model).
    #[arg(long, value_name = "URL")]
    url: String,
    #[command(flatten)]
    at: Location,
}

/// `display graphic-menu`.
#[derive(Debug, Args)]
pub(super) struct GraphicMenuArgs {
    #[command(flatten)]
    head: Head,
    #[command(flatten)]
    picture: Picture,
    #[command(flatten)]
    at: Location,
    /// An item, chosen by its number on the keypad: name, `=`, the URL it opens (≤ 12).
    #[arg(long = "item", value_name = "NAME=URL", required = true)]
    items: Vec<String>,
}

/// `display graphic-file-menu`.
#[derive(Debug, Args)]
pub(super) struct GraphicFileMenuArgs {
    #[command(flatten)]
    head: Head,
    /// The URL of the PNG the menu is drawn on.
    #[arg(long, value_name = "URL")]
    url: String,
    #[command(flatten)]
    at: Location,
    /// An item: name, `=`, the URL it opens, `@`, the touch area X1,Y1,X2,Y2 (corners
    /// inclusive) that selects it (≤ 12).
    #[arg(long = "item", value_name = "NAME=URL@X1,Y1,X2,Y2", required = true)]
    items: Vec<String>,
}

/// `display status-file`.
#[derive(Debug, Args)]
pub(super) struct StatusFileArgs {
    /// The status text (≤ 32 characters).
    #[arg(long)]
    text: Option<String>,
    /// Show a timer starting at N seconds (0..=5939).
    #[arg(long, value_name = "N")]
    timer: Option<u16>,
    /// The URL of the PNG shown on the status line.
    #[arg(long, value_name = "URL")]
    url: String,
    #[command(flatten)]
    at: Location,
}

/// The URL of a PNG the phone fetches: http(s) only.
fn png_url(flag: &str, url: &str) -> Result<(), CliError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(Invalid::new(
            flag,
            url,
            "the phone fetches the PNG from an http:// or https:// URL",
        )
        .into())
    }
}

/// A `NAME=URL@X1,Y1,X2,Y2` item of a graphic file menu.
fn touch_item(phone: &PhoneArgs, value: &str) -> Result<MenuItem, CliError> {
    const SHAPE: &str = "NAME=URL@X1,Y1,X2,Y2";
    let (name, rest) = name_value("--item", value, SHAPE)?;
    let (url, area) = split_suffix(rest, '@', |s| s.split(',').count() == 4);
    let area = area.ok_or_else(|| Invalid::new("--item", value, format!("must be {SHAPE}")))?;
    let corners: Vec<i16> = area
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| Invalid::new("--item", area, "the touch area is four numbers X1,Y1,X2,Y2"))?;
    check_link(phone, "--item", url)?;
    let area = TouchArea::new(corners[0], corners[1], corners[2], corners[3])?;
    Ok(MenuItem::new(name, url)?.touch_area(area))
}

pub(super) fn image(phone: &PhoneArgs, a: &ImageArgs) -> Result<Built, CliError> {
    let bitmap = png_bitmap("--png", &a.picture.png, a.picture.depth)?;
    render(&a.head.apply(phone, Image::new(a.at.x, a.at.y, bitmap)?)?)
}

pub(super) fn image_file(phone: &PhoneArgs, a: &ImageFileArgs) -> Result<Built, CliError> {
    png_url("--url", &a.url)?;
    render(
        &a.head
            .apply(phone, ImageFile::new(a.at.x, a.at.y, &a.url)?)?,
    )
}

pub(super) fn graphic_menu(phone: &PhoneArgs, a: &GraphicMenuArgs) -> Result<Built, CliError> {
    let bitmap = png_bitmap("--png", &a.picture.png, a.picture.depth)?;
    let mut m = a
        .head
        .apply(phone, GraphicMenu::new(a.at.x, a.at.y, bitmap)?)?;
    for i in &a.items {
        m = m.item(item(phone, "--item", i)?)?;
    }
    render(&m)
}

pub(super) fn graphic_file_menu(
    phone: &PhoneArgs,
    a: &GraphicFileMenuArgs,
) -> Result<Built, CliError> {
    png_url("--url", &a.url)?;
    let mut m = a
        .head
        .apply(phone, GraphicFileMenu::new(&a.url, a.at.x, a.at.y)?)?;
    for i in &a.items {
        m = m.item(touch_item(phone, i)?)?;
    }
    render(&m)
}

pub(super) fn status_file(a: &StatusFileArgs) -> Result<Built, CliError> {
    png_url("--url", &a.url)?;
    let mut s = StatusFile::new(a.at.x, a.at.y, &a.url)?;
    if let Some(t) = &a.text {
        s = s.text(t)?;
    }
    if let Some(t) = a.timer {
        s = s.timer(t)?;
    }
    render(&s)
}
