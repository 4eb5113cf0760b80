//! Checked building blocks shared by several URI families: bounded numbers, DTMF strings,
//! file and menu names, unicast/multicast addresses. Each refuses bad input with an [`Invalid`]
//! naming the URI field, so a value of these types is always something a phone accepts.

use std::fmt;
use std::hash::Hash;
use std::net::Ipv4Addr;

use crate::error::Invalid;

/// A whole number in `LO..=HI` (key numbers, minutes, volume, idle timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ranged<const LO: u32, const HI: u32>(u32);

impl<const LO: u32, const HI: u32> Ranged<LO, HI> {
    /// Lowest allowed value.
    pub const MIN: u32 = LO;
    /// Highest allowed value.
    pub const MAX: u32 = HI;

    /// Check and wrap a number.
    pub fn new(n: u32) -> Result<Self, Invalid> {
        Self::in_field("number", n)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }

    fn rule() -> String {
        format!("must be a whole number in {LO}..={HI}")
    }

    /// Check a number, naming `field` in the error.
    pub(super) fn in_field(field: &str, n: u32) -> Result<Self, Invalid> {
        if (LO..=HI).contains(&n) {
            Ok(Ranged(n))
        } else {
            Err(Invalid::new(field, n, Self::rule()))
        }
    }

    /// Parse the decimal text of a URI field, naming `field` in the error.
    pub(super) fn parse_in(field: &str, s: &str) -> Result<Self, Invalid> {
        let n = parse_decimal(s).ok_or_else(|| Invalid::new(field, s, Self::rule()))?;
        Self::in_field(field, n)
    }
}

impl<const LO: u32, const HI: u32> fmt::Display for Ranged<LO, HI> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Strict decimal: ASCII digits only, no sign, no leading zero (so that parsing and rendering
/// are exact inverses), at most what fits a `u32`.
pub(super) fn parse_decimal(s: &str) -> Option<u32> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// `"0"`/`"1"` fields (useAppUI, audibleFeedback).
pub(super) fn parse_flag(field: &str, s: &str) -> Result<bool, Invalid> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(Invalid::new(field, s, "must be 0 or 1")),
    }
}

/// Renders a flag the way phones expect it.
pub(super) fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// Checks a text field: its length in characters is within `len`, and every character passes
/// `ok`. Control characters are always refused: they cannot survive an XML attribute.
pub(super) fn check_text(
    field: &str,
    s: &str,
    len: std::ops::RangeInclusive<usize>,
    ok: impl Fn(char) -> bool,
    rule: &str,
) -> Result<(), Invalid> {
    let n = s.chars().count();
    if len.contains(&n) && s.chars().all(|c| !c.is_control() && ok(c)) {
        Ok(())
    } else {
        Err(Invalid::new(field, s, rule))
    }
}

/// Optional text: the wire cannot tell an empty field from an absent one, so `Some("")` is
/// stored as `None`.
pub(super) fn optional(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Characters of a DTMF sequence: digits, `#`, `*`, `A`-`D`, and `,` (a one-second pause).
fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '#' | '*' | 'A' | 'B' | 'C' | 'D' | ',')
}

/// A non-empty DTMF sequence (`Dial`, `EditDial`, `SendDigits`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialString(String);

impl DialString {
    /// Check a sequence of `0-9 # * A B C D ,`, naming `field` in the error.
    pub fn new(field: &str, s: &str) -> Result<Self, Invalid> {
        check_text(
            field,
            s,
            1..=usize::MAX,
            is_dtmf,
            "must be non-empty, only 0-9 # * A B C D and , (pause)",
        )?;
        Ok(DialString(s.to_owned()))
    }

    /// The sequence as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DialString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a checked text newtype with `new`, `as_str` and `Display`.
macro_rules! text {
    ($(#[$meta:meta])* $ty:ident, $field:literal, $len:expr, $ok:expr, $rule:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $ty(String);

        impl $ty {
            /// Check and wrap the text.
            pub fn new(s: &str) -> Result<Self, Invalid> {
                check_text($field, s, $len, $ok, $rule)?;
                Ok($ty(s.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A raw audio file in the phone's TFTP path (`Classic2.raw`): non-empty, no colons, no
/// whitespace, and not `Stop` (that would read as `Play:Stop`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    /// Check and wrap a file name.
    pub fn new(s: &str) -> Result<Self, Invalid> {
        const FIELD: &str = "Play file name";
        if s == "Stop" {
            return Err(Invalid::new(FIELD, s, "Stop means Play:Stop, not a file"));
        }
        check_text(
            FIELD,
            s,
            1..=usize::MAX,
            |c| c != ':' && !c.is_whitespace(),
            "must be non-empty, without colons or whitespace",
        )?;
        Ok(FileName(s.to_owned()))
    }

    /// The file name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text! {
    /// A settings menu name for `SettingsMenu:` (`Networkconnection`, `About this device`):
    /// non-empty, no colons.
    MenuName, "SettingsMenu name", 1..=usize::MAX, |c| c != ':',
    "must be non-empty and without colons"
}

text! {
    /// The data of `QueryStringParam:`, appended to a URL as its query string: non-empty, no
    /// whitespace (it lands in a URL as is).
    QueryString, "QueryStringParam data", 1..=usize::MAX, |c: char| !c.is_whitespace(),
    "must be non-empty and without whitespace"
}

/// An IPv4 address fit for one kind of RTP URI. Sealed: [`Unicast`] and [`Multicast`] only.
pub trait StreamAddr: Copy + fmt::Debug + PartialEq + Eq + Hash + sealed::Sealed {
    /// Check an address, naming `field` in the error.
    fn checked(field: &str, ip: Ipv4Addr) -> Result<Self, Invalid>;
    /// The address.
    fn ip(self) -> Ipv4Addr;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Unicast {}
    impl Sealed for super::Multicast {}
}

/// An address for `RTPRx`/`RTPTx`: anything but multicast (224.0.0.0/4, which belongs to
/// `RTPMRx`/`RTPMTx`) and the limited broadcast address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unicast(Ipv4Addr);

impl StreamAddr for Unicast {
    fn checked(field: &str, ip: Ipv4Addr) -> Result<Self, Invalid> {
        if ip.is_multicast() || ip.is_broadcast() {
            Err(Invalid::new(
                field,
                ip,
                "must be a unicast address (use RTPMRx/RTPMTx for 224.0.0.0/4)",
            ))
        } else {
            Ok(Unicast(ip))
        }
    }

    fn ip(self) -> Ipv4Addr {
        self.0
    }
}

/// An address for `RTPMRx`/`RTPMTx`: multicast, 224.0.0.0/4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Multicast(Ipv4Addr);

impl StreamAddr for Multicast {
    fn checked(field: &str, ip: Ipv4Addr) -> Result<Self, Invalid> {
        if ip.is_multicast() {
            Ok(Multicast(ip))
        } else {
            Err(Invalid::new(
                field,
                ip,
                "must be a multicast address, 224.0.0.0/4",
            ))
        }
    }

    fn ip(self) -> Ipv4Addr {
        self.0
    }
}
