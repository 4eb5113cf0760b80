//! `Key:NAME`: a press of one of the phone's keys, named or numbered, including the `Key_`
//! keys of the 8875 settings screens.
//!
//! Some keys exist on one model only: `Vibrate`, `Offhook`, `Onhook`, `PTT` on the 8821, the
//! `Key_` settings keys on the 8875, `FixedFeature1`..`3` on the Desk 9800, `Soft3`..`Soft5`
//! not everywhere. The parser accepts every key the spec names; [`Key::model_rule`] says which
//! model rule a key falls under, and `xsi::plan` refuses it for a model that lacks it.

use std::fmt;
use std::str::FromStr;

use super::fields::Ranged;
use crate::error::Invalid;

/// A key a `Key:` URI presses. Numbered keys hold a checked number, so `Feature121` or
/// `Soft6` cannot be built; use the constructors ([`Key::feature`] ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Applications,
    AppMenu,
    Conference,
    Contacts,
    Directories,
    Headset,
    Hold,
    Info,
    /// `KEMPage` (also accepted as `KemPage`).
    KEMPage,
    KeyPadPound,
    KeyPadStar,
    Messages,
    Mute,
    NavBack,
    /// `NavDwn` (also accepted as `NavDown`).
    NavDwn,
    NavLeft,
    NavRight,
    NavSelect,
    NavUp,
    NavOffhook,
    NavOnhook,
    Offhook,
    Onhook,
    /// Push-to-talk; spelled as on the wire, hence the all-caps name.
    #[allow(clippy::upper_case_acronyms)]
    PTT,
    Release,
    Services,
    Settings,
    Speaker,
    Transfer,
    /// `VolDwn` (also accepted as `VolDown`).
    VolDwn,
    VolUp,
    /// The 8821's vibrate key (8821 only, see [`KeyRule::Wireless8821`]).
    Vibrate,
    /// `Feature1`..`Feature120`.
    Feature(Ranged<1, 120>),
    /// `FixedFeature1`..`FixedFeature3` (Desk 9800: 1 Transfer, 2 Conference, 3 Hold).
    FixedFeature(Ranged<1, 3>),
    /// `KeyPad0`..`KeyPad9`.
    KeyPad(Ranged<0, 9>),
    /// `Line1`..`Line120`.
    Line(Ranged<1, 120>),
    /// `Session1`..`Session6`.
    Session(Ranged<1, 6>),
    /// `Soft1`..`Soft5` (5 on the 8800 series, 4 on most phones, 2 on the 8821).
    Soft(Ranged<1, 5>),
    /// Settings keypad `Key_0`..`Key_9` (8875).
    Digit(Ranged<0, 9>),
    /// Settings key `Key_Asterisk` (8875).
    Asterisk,
    /// Settings key `Key_Period` (8875).
    Period,
    /// Settings key `Key_NumberSign` (8875).
    NumberSign,
}

/// Named keys and their canonical spelling, then the aliases the spec documents. Parsing
/// looks names up here; rendering uses the first spelling found, i.e. the canonical one.
const NAMES: &[(&str, Key)] = &[
    ("Applications", Key::Applications),
    ("AppMenu", Key::AppMenu),
    ("Conference", Key::Conference),
    ("Contacts", Key::Contacts),
    ("Directories", Key::Directories),
    ("Headset", Key::Headset),
    ("Hold", Key::Hold),
    ("Info", Key::Info),
    ("KEMPage", Key::KEMPage),
    ("KeyPadPound", Key::KeyPadPound),
    ("KeyPadStar", Key::KeyPadStar),
    ("Messages", Key::Messages),
    ("Mute", Key::Mute),
    ("NavBack", Key::NavBack),
    ("NavDwn", Key::NavDwn),
    ("NavLeft", Key::NavLeft),
    ("NavRight", Key::NavRight),
    ("NavSelect", Key::NavSelect),
    ("NavUp", Key::NavUp),
    ("NavOffhook", Key::NavOffhook),
    ("NavOnhook", Key::NavOnhook),
    ("Offhook", Key::Offhook),
    ("Onhook", Key::Onhook),
    ("PTT", Key::PTT),
    ("Release", Key::Release),
    ("Services", Key::Services),
    ("Settings", Key::Settings),
    ("Speaker", Key::Speaker),
    ("Transfer", Key::Transfer),
    ("VolDwn", Key::VolDwn),
    ("VolUp", Key::VolUp),
    ("Vibrate", Key::Vibrate),
    ("Key_Asterisk", Key::Asterisk),
    ("Key_Period", Key::Period),
    ("Key_NumberSign", Key::NumberSign),
    // Aliases: accepted, never rendered. ALIASES counts them.
    ("KemPage", Key::KEMPage),
    ("NavDown", Key::NavDwn),
    ("VolDown", Key::VolDwn),
];

/// How many entries at the end of [`NAMES`] are aliases.
const ALIASES: usize = 3;

/// The model rule a key falls under ([`Key::model_rule`]); `xsi::plan` holds which models
/// pass it, `xsi::model` the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRule {
    /// `Vibrate`, `Offhook`, `Onhook`, `PTT`: the 8821's own keys.
    Wireless8821,
    /// `Key_0`..`Key_9`, `Key_Asterisk`, `Key_Period`, `Key_NumberSign`: the 8875's settings
    /// screens.
    Settings8875,
    /// `FixedFeature1`..`3`: the Desk 9800's Transfer, Conference and Hold.
    FixedFeature9800,
    /// `SoftN`: exists on a model with at least N soft keys.
    SoftKey(u32),
}

/// Prefixes of the numbered keys. `FixedFeature` and `Feature` do not overlap, and the named
/// `KeyPadPound`/`KeyPadStar` are looked up before any prefix.
const NUMBERED: &[&str] = &[
    "Feature",
    "FixedFeature",
    "KeyPad",
    "Line",
    "Session",
    "Soft",
    "Key_",
];

impl Key {
    /// The unit (named) keys, in spec order; the numbered ones are left out.
    pub fn named() -> impl Iterator<Item = Key> {
        NAMES[..NAMES.len() - ALIASES].iter().map(|&(_, k)| k)
    }

    /// The model rule this key falls under, `None` for a key every model takes.
    pub fn model_rule(self) -> Option<KeyRule> {
        Some(match self {
            Key::Vibrate | Key::Offhook | Key::Onhook | Key::PTT => KeyRule::Wireless8821,
            Key::Digit(_) | Key::Asterisk | Key::Period | Key::NumberSign => KeyRule::Settings8875,
            Key::FixedFeature(_) => KeyRule::FixedFeature9800,
            Key::Soft(n) => KeyRule::SoftKey(n.get()),
            _ => return None,
        })
    }

    /// `Feature1`..`Feature120`.
    pub fn feature(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:Feature number", n).map(Key::Feature)
    }

    /// `FixedFeature1`..`FixedFeature3`.
    pub fn fixed_feature(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:FixedFeature number", n).map(Key::FixedFeature)
    }

    /// `KeyPad0`..`KeyPad9`.
    pub fn keypad(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:KeyPad number", n).map(Key::KeyPad)
    }

    /// `Line1`..`Line120`.
    pub fn line(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:Line number", n).map(Key::Line)
    }

    /// `Session1`..`Session6`.
    pub fn session(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:Session number", n).map(Key::Session)
    }

    /// `Soft1`..`Soft5`.
    pub fn soft(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:Soft number", n).map(Key::Soft)
    }

    /// Settings keypad `Key_0`..`Key_9`.
    pub fn digit(n: u32) -> Result<Key, Invalid> {
        Ranged::in_field("Key:Key_ digit", n).map(Key::Digit)
    }

    /// The prefix and number of a numbered key.
    fn numbered(self) -> Option<(&'static str, u32)> {
        Some(match self {
            Key::Feature(n) => ("Feature", n.get()),
            Key::FixedFeature(n) => ("FixedFeature", n.get()),
            Key::KeyPad(n) => ("KeyPad", n.get()),
            Key::Line(n) => ("Line", n.get()),
            Key::Session(n) => ("Session", n.get()),
            Key::Soft(n) => ("Soft", n.get()),
            Key::Digit(n) => ("Key_", n.get()),
            _ => return None,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((prefix, n)) = self.numbered() {
            return write!(f, "{prefix}{n}");
        }
        // Every unit variant is in NAMES; the fallback only keeps this total.
        let name = NAMES
            .iter()
            .find(|(_, k)| k == self)
            .map_or("?", |(name, _)| name);
        f.write_str(name)
    }
}

impl FromStr for Key {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if let Some(&(_, key)) = NAMES.iter().find(|(name, _)| *name == s) {
            return Ok(key);
        }
        for prefix in NUMBERED {
            if let Some(digits) = s.strip_prefix(prefix) {
                let field = format!("Key:{prefix} number");
                return match *prefix {
                    "Feature" => Ranged::parse_in(&field, digits).map(Key::Feature),
                    "FixedFeature" => Ranged::parse_in(&field, digits).map(Key::FixedFeature),
                    "KeyPad" => Ranged::parse_in(&field, digits).map(Key::KeyPad),
                    "Line" => Ranged::parse_in(&field, digits).map(Key::Line),
                    "Session" => Ranged::parse_in(&field, digits).map(Key::Session),
                    "Soft" => Ranged::parse_in(&field, digits).map(Key::Soft),
                    _ => Ranged::parse_in("Key:Key_ digit", digits).map(Key::Digit),
                };
            }
        }
        Err(Invalid::new(
            "Key name",
            s,
            "must be a key named in the XSI spec (NavUp, Feature1..Feature120, Key_0 ...)",
        ))
    }
}
