//! `WindowMode`, the root attribute of `CiscoIPPhoneGraphicMenu` and
//! `CiscoIPPhoneGraphicFileMenu` that sets the width of the application window.
//!
//! The XSI notes give two values, case-sensitive: `Normal` (the default, also what a phone
//! assumes when the attribute is absent) and `Wide` (the window takes the whole screen width).
//! A phone that supports the attribute rejects the whole object for any other value; one that
//! does not ignores it. Cisco's XSD predates the attribute and refuses it (the object is
//! XSD-valid once it is removed), so zonecast writes it only when asked.

use std::fmt;
use std::str::FromStr;

use crate::error::Invalid;

/// The width of a graphic menu's application window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WindowMode {
    /// `Normal`: the usual window width (the phones' default).
    #[default]
    Normal,
    /// `Wide`: the window spans the whole screen width.
    Wide,
}

impl WindowMode {
    /// The attribute's value as the phones spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowMode::Normal => "Normal",
            WindowMode::Wide => "Wide",
        }
    }
}

impl fmt::Display for WindowMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WindowMode {
    type Err = Invalid;
    /// Exactly `Normal` or `Wide` (case-sensitive, like the phones).
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s {
            "Normal" => Ok(WindowMode::Normal),
            "Wide" => Ok(WindowMode::Wide),
            _ => Err(Invalid::new(
                "WindowMode",
                s,
                "must be Normal or Wide (case-sensitive; a phone rejects the object otherwise)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_spellings_parse() {
        for m in [WindowMode::Normal, WindowMode::Wide] {
            assert_eq!(m.as_str().parse::<WindowMode>().unwrap(), m);
        }
        for bad in ["wide", "NORMAL", "", "Full", " Wide"] {
            let e = bad.parse::<WindowMode>().unwrap_err();
            assert_eq!(e.field, "WindowMode");
            assert!(e.rule.contains("Normal or Wide"), "{e}");
        }
    }
}
