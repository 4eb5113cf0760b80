//! What every `zonecast display` object shares: the Title, Prompt and soft keys
//! (`--title`, `--prompt`, `--softkey LABEL=URL[@POS]`), the location (`--x`, `--y`), the
//! `NAME=URL[@SUFFIX]` values menus take, the check of every link against `--model`, and the
//! rendered document a command pushes.

use clap::Args;

use crate::cli::common::CliError;
use crate::cli::phone::PhoneArgs;
use crate::error::Invalid;
use crate::xsi::object::{
    Directory, GraphicFileMenu, GraphicMenu, IconFileMenu, IconMenu, Image, ImageFile, Input, Menu,
    SoftKeyItem, Target, Text, XmlObject,
};
use crate::xsi::uri::Uri;

/// A rendered object: its root element, the document, and the URIs whose items to report.
pub(super) struct Built {
    pub(super) root: &'static str,
    pub(super) xml: String,
    pub(super) urls: Vec<String>,
}

/// Render `object` for a push (checked against the 40 KB budget).
pub(super) fn render(object: &dyn XmlObject) -> Result<Built, CliError> {
    Ok(Built {
        root: object.root(),
        xml: object.to_xml_checked(Target::Phone)?,
        urls: Vec::new(),
    })
}

/// `--title`, `--prompt` and `--softkey`: the header and keys of most display objects.
#[derive(Debug, Args)]
pub(super) struct Head {
    /// Title (≤ 32 characters).
    #[arg(long)]
    title: Option<String>,
    /// Prompt line (≤ 32 characters).
    #[arg(long)]
    prompt: Option<String>,
    /// A soft key: its label, `=`, the URL or URI it runs (`SoftKey:Exit`,
    /// `Notify:http:host:80:path`, `QueryStringParam:x=1` ...), and optionally `@` and its
    /// position 1..=8 (default: the order given). At most 8.
    #[arg(long = "softkey", value_name = "LABEL=URL[@POS]")]
    softkeys: Vec<String>,
}

/// The objects with a Title, a Prompt and soft keys.
pub(super) trait Headed: Sized {
    fn set_title(self, title: &str) -> Result<Self, Invalid>;
    fn set_prompt(self, prompt: &str) -> Result<Self, Invalid>;
    fn add_softkey(self, key: SoftKeyItem) -> Result<Self, Invalid>;
}

macro_rules! headed {
    ($($ty:ty),*) => {$(
        impl Headed for $ty {
            fn set_title(self, title: &str) -> Result<Self, Invalid> {
                self.title(title)
            }
            fn set_prompt(self, prompt: &str) -> Result<Self, Invalid> {
                self.prompt(prompt)
            }
            fn add_softkey(self, key: SoftKeyItem) -> Result<Self, Invalid> {
                self.softkey(key)
            }
        }
    )*};
}

headed!(
    Text,
    Menu,
    Directory,
    Input,
    IconMenu,
    IconFileMenu,
    Image,
    ImageFile,
    GraphicMenu,
    GraphicFileMenu
);

impl Head {
    /// Set the title, prompt and soft keys on `object`, each link checked against `--model`.
    pub(super) fn apply<T: Headed>(&self, phone: &PhoneArgs, mut object: T) -> Result<T, CliError> {
        if let Some(t) = &self.title {
            object = object.set_title(t)?;
        }
        if let Some(p) = &self.prompt {
            object = object.set_prompt(p)?;
        }
        for (i, key) in self.softkeys.iter().enumerate() {
            let (label, rest) = name_value("--softkey", key, "LABEL=URL[@POS]")?;
            let (url, position) = match split_suffix(rest, '@', |s| {
                s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit())
            }) {
                (url, Some(p)) => (url, p.parse::<u8>().unwrap_or(u8::MAX)),
                (url, None) => (url, u8::try_from(i + 1).unwrap_or(u8::MAX)),
            };
            check_link(phone, "--softkey", url)?;
            object = object.add_softkey(SoftKeyItem::new(label, url, position)?)?;
        }
        Ok(object)
    }
}

/// `--x` and `--y`: where the picture's top-left corner goes; -1 centres it.
#[derive(Debug, Args)]
pub(super) struct Location {
    /// LocationX in pixels (-1: centred).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub(super) x: i16,
    /// LocationY in pixels (-1: centred).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub(super) y: i16,
}

/// `value` split at its first `=` into a non-empty name and the rest, else an error naming
/// `flag` and the expected `shape`.
pub(super) fn name_value<'a>(
    flag: &str,
    value: &'a str,
    shape: &str,
) -> Result<(&'a str, &'a str), CliError> {
    match value.split_once('=') {
        Some((name, rest)) if !name.is_empty() && !rest.is_empty() => Ok((name, rest)),
        _ => Err(Invalid::new(flag, value, format!("must be {shape}")).into()),
    }
}

/// `s` split at its last `sep` when what follows is all digits, commas and minus signs and
/// passes `accept` (an icon index, a position, a touch area); otherwise `s` whole.
pub(super) fn split_suffix(
    s: &str,
    sep: char,
    accept: impl Fn(&str) -> bool,
) -> (&str, Option<&str>) {
    match s.rsplit_once(sep) {
        Some((head, tail))
            if !head.is_empty()
                && !tail.is_empty()
                && tail
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ',' || c == '-')
                && accept(tail) =>
        {
            (head, Some(tail))
        }
        _ => (s, None),
    }
}

/// A link an object carries (menu item, soft key, event handler, form target): an HTTP(S) URL,
/// or an internal URI that parses and that `--model` can run. Notify and QueryStringParam are
/// fine here: the spec forbids them only inside a CiscoIPPhoneExecute.
pub(super) fn check_link(phone: &PhoneArgs, flag: &str, url: &str) -> Result<(), CliError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(());
    }
    let uri: Uri = url.parse().map_err(|e: Invalid| {
        Invalid::new(
            flag,
            url,
            format!("must be an http(s):// URL or an internal URI ({})", e.rule),
        )
    })?;
    phone.check_uri(&uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_split_only_when_they_look_like_one() {
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        assert_eq!(
            split_suffix("http://h/x@3", '@', digits),
            ("http://h/x", Some("3"))
        );
        assert_eq!(
            split_suffix("http://u@h/x", '@', digits),
            ("http://u@h/x", None)
        );
        assert_eq!(
            split_suffix("http://h/@0,0,10,10", '@', |_| true),
            ("http://h/", Some("0,0,10,10"))
        );
        assert_eq!(split_suffix("@3", '@', digits), ("@3", None));
    }

    #[test]
    fn name_value_needs_both_sides() {
        assert!(name_value("--entry", "Bob=100", "NAME=NUMBER").is_ok());
        for bad in ["Bob", "=100", "Bob="] {
            let e = name_value("--entry", bad, "NAME=NUMBER").unwrap_err();
            assert!(e.to_string().contains("--entry"), "{e}");
        }
    }
}
