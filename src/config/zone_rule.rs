//! A zone's rule over the phones discovered from CUCM (`from_cucm = { ... }` in a
//! `[zone.NAME]`): device pool, description (a regular expression), directory number (CUCM's
//! pattern syntax: digits, `X` for any digit, `*` and `#`) and location, any of them, all that
//! are given must hold. Checked here at load; matched against each discovered phone by
//! `crate::cucm` at every refresh and at page time (this room knows no discovered phone).
//!
//! ```toml
//! [zone.lobbies]
//! members = ["desk-1"]                 # hand-listed members, optional beside a rule
//! from_cucm = { device_pool = "DP-HQ", description = "(?i)lobby", directory_number = "1XXX" }
//! ```

use serde::Deserialize;

use super::source::Source;
use super::value::Text;
use crate::error::Invalid;

/// A description regular expression, compared by its text.
#[derive(Debug, Clone)]
pub struct DescriptionRegex(regex::Regex);

impl PartialEq for DescriptionRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for DescriptionRegex {}

impl DescriptionRegex {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it matches somewhere in `text` (anchor with `^...$` for the whole text).
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

/// A directory number pattern in CUCM's syntax: digits, `X` (any one digit), `*` and `#`; it
/// matches a number of the same length, character by character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnPattern(String);

impl DnPattern {
    /// The rule a pattern is checked against.
    pub const RULE: &'static str = "must be a CUCM directory number pattern of 1..=24 characters: digits, X (any digit), * and #";

    /// Check `s` as a pattern.
    pub fn new(s: &str) -> Result<DnPattern, &'static str> {
        let ok = |c: char| c.is_ascii_digit() || matches!(c, 'X' | 'x' | '*' | '#');
        if s.is_empty() || s.len() > 24 || !s.chars().all(ok) {
            return Err(Self::RULE);
        }
        Ok(DnPattern(s.to_ascii_uppercase()))
    }

    /// The pattern as written (X upper case).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether directory number `dn` matches (same length; `X` takes any digit).
    pub fn matches(&self, dn: &str) -> bool {
        dn.len() == self.0.len()
            && self
                .0
                .bytes()
                .zip(dn.bytes())
                .all(|(p, d)| p == d || (p == b'X' && d.is_ascii_digit()))
    }
}

/// `from_cucm = { ... }`: which discovered phones a zone takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneRule {
    /// The device pool, exactly.
    pub device_pool: Option<String>,
    /// A regular expression found in the description.
    pub description: Option<DescriptionRegex>,
    /// A pattern one of the phone's directory numbers matches.
    pub directory_number: Option<DnPattern>,
    /// The location, exactly.
    pub location: Option<String>,
}

impl ZoneRule {
    /// Whether a phone with these attributes is taken (every condition given holds).
    pub fn matches(
        &self,
        device_pool: &str,
        description: &str,
        lines: &[String],
        location: &str,
    ) -> bool {
        self.device_pool.as_deref().is_none_or(|d| d == device_pool)
            && self
                .description
                .as_ref()
                .is_none_or(|r| r.is_match(description))
            && self
                .directory_number
                .as_ref()
                .is_none_or(|p| lines.iter().any(|l| p.matches(l)))
            && self.location.as_deref().is_none_or(|l| l == location)
    }
}

/// `from_cucm` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCucmRule {
    device_pool: Option<Text>,
    description: Option<Text>,
    directory_number: Option<Text>,
    location: Option<Text>,
}

/// Check one zone's rule; `what` names a key of the zone.
pub(super) fn check(
    src: &Source,
    r: &toml::Spanned<RawCucmRule>,
    what: &dyn Fn(&str) -> String,
    has_cucm: bool,
) -> Result<ZoneRule, Invalid> {
    let raw = r.get_ref();
    if !has_cucm {
        return Err(src.invalid(
            r.span(),
            what("from_cucm"),
            "{ ... }",
            "a rule over CUCM's phones needs a [cucm] table to discover them from",
        ));
    }
    if raw.device_pool.is_none()
        && raw.description.is_none()
        && raw.directory_number.is_none()
        && raw.location.is_none()
    {
        return Err(src.invalid(
            r.span(),
            what("from_cucm"),
            "{}",
            "give at least one of device_pool, description, directory_number, location",
        ));
    }
    let plain = |v: &Option<Text>, key: &str| -> Result<Option<String>, Invalid> {
        match v {
            None => Ok(None),
            Some(t) if t.get_ref().is_empty() || t.get_ref().len() > 128 => Err(src.invalid(
                t.span(),
                what(&format!("from_cucm.{key}")),
                t.get_ref(),
                "must be 1..=128 characters",
            )),
            Some(t) => Ok(Some(t.get_ref().clone())),
        }
    };
    let description = match &raw.description {
        None => None,
        Some(t) => Some(DescriptionRegex(
            regex::RegexBuilder::new(t.get_ref())
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    let why = e.to_string().lines().last().unwrap_or("").to_owned();
                    src.invalid(
                        t.span(),
                        what("from_cucm.description"),
                        t.get_ref(),
                        format!("must be a regular expression ({why})"),
                    )
                })?,
        )),
    };
    let directory_number = match &raw.directory_number {
        None => None,
        Some(t) => Some(DnPattern::new(t.get_ref()).map_err(|rule| {
            src.invalid(
                t.span(),
                what("from_cucm.directory_number"),
                t.get_ref(),
                rule,
            )
        })?),
    };
    Ok(ZoneRule {
        device_pool: plain(&raw.device_pool, "device_pool")?,
        description,
        directory_number,
        location: plain(&raw.location, "location")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const CUCM: &str = "[cucm]\nhost = \"10.0.0.10\"\nuser = \"axl\"\npassword_env = \"AXL_PW\"\n\
                        accept_any_certificate = true\n";

    #[test]
    fn dn_patterns_match_digit_by_digit() {
        let p = DnPattern::new("1XX*").unwrap();
        assert!(p.matches("123*") && !p.matches("1234") && !p.matches("12*"));
        assert!(DnPattern::new("1x2#").unwrap().matches("192#"));
        assert!(DnPattern::new("1-2").is_err() && DnPattern::new("").is_err());
    }

    #[test]
    fn a_rule_zone_loads_and_matches() {
        let c = Config::from_toml(
            &format!(
                "{CUCM}[zone.lobby]\nfrom_cucm = {{ device_pool = \"DP-HQ\", description = \
                 \"(?i)lobby\", directory_number = \"1XXX\" }}\n"
            ),
            "/etc/zonecast/zonecast.toml",
        )
        .unwrap();
        let z = c.zone("lobby").unwrap();
        assert!(z.members.is_empty());
        let r = z.from_cucm.as_ref().unwrap();
        let lines = vec!["2000".to_owned(), "1001".to_owned()];
        assert!(r.matches("DP-HQ", "Main LOBBY", &lines, ""));
        assert!(!r.matches("DP-BR", "Main LOBBY", &lines, ""));
        assert!(!r.matches("DP-HQ", "Kitchen", &lines, ""));
        assert!(!r.matches("DP-HQ", "Lobby", &["2000".to_owned()], ""));
    }

    #[test]
    fn bad_rules_are_refused_at_their_line() {
        for (text, says) in [
            (
                "[zone.a]\nfrom_cucm = { device_pool = \"DP\" }\n".to_owned(),
                "needs a [cucm] table",
            ),
            (
                format!("{CUCM}[zone.a]\nfrom_cucm = {{}}\n"),
                "at least one",
            ),
            (
                format!("{CUCM}[zone.a]\nfrom_cucm = {{ description = \"(\" }}\n"),
                "regular expression",
            ),
            (
                format!("{CUCM}[zone.a]\nfrom_cucm = {{ directory_number = \"1-2\" }}\n"),
                "digits, X",
            ),
            (format!("{CUCM}[zone.a]\n"), "at least one member"),
        ] {
            let e = Config::from_toml(&text, "/etc/zonecast/zonecast.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{text}: {e}");
            assert!(e.contains("zonecast.toml:"), "{e}");
        }
    }
}
