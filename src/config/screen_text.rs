//! The rules for text a page puts on a phone's screen, wherever the text comes from (the API,
//! the command line, the config, a phone's own Input screen): a banner ([`banner_rule`]) and a
//! message title ([`title_rule`]). Each edge checks its text with these before anything is
//! journaled or pushed, so a text the phones' XML objects cannot carry is refused where it
//! enters, naming the character, instead of failing every phone of the page later.

use crate::xsi::xml::is_xml_char;

/// Longest banner: the limit of a `CiscoIPPhoneStatus` text.
pub const MAX_BANNER_CHARS: usize = 32;

/// Longest message title: a `CiscoIPPhoneMenu` item's `Name`.
pub const MAX_TITLE_CHARS: usize = 64;

/// `Ok` when `text` can be a banner: 1..=[`MAX_BANNER_CHARS`] characters, none a control
/// character or one XML 1.0 cannot carry (U+FFFE, U+FFFF). The error is the rule it breaks.
pub fn banner_rule(text: &str) -> Result<(), String> {
    line_rule(text, MAX_BANNER_CHARS, "a banner (the phones' status line)")
}

/// `Ok` when `text` can be a message title: 1..=[`MAX_TITLE_CHARS`] characters, not only
/// spaces, none a control character or one XML 1.0 cannot carry.
pub fn title_rule(text: &str) -> Result<(), String> {
    line_rule(text, MAX_TITLE_CHARS, "a message title (a menu item)")
}

/// One line of screen text: not blank, at most `max` characters, every one printable in XML.
fn line_rule(text: &str, max: usize, what: &str) -> Result<(), String> {
    let n = text.chars().count();
    if n == 0 || n > max || text.trim().is_empty() {
        return Err(format!(
            "{what} is 1..={max} characters, not only spaces; this is {n}"
        ));
    }
    match text.chars().find(|&c| c.is_control() || !is_xml_char(c)) {
        Some(c) => Err(format!(
            "{what} cannot carry the character U+{:04X} (control characters and characters \
             XML 1.0 excludes are refused)",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_banner_is_one_printable_line_of_at_most_32_characters() {
        assert!(banner_rule("Fire drill").is_ok());
        assert!(banner_rule("Évacuation — 3ᵉ étage 🚒").is_ok());
        assert!(banner_rule(&"x".repeat(32)).is_ok());
        for bad in [
            "",
            "   ",
            "a\u{0}b",
            "a\u{7}c",
            "tab\there",
            "line\nbreak",
            "\u{FFFE}",
            "\u{FFFF}",
            "\u{85}",
        ] {
            let e = banner_rule(bad).unwrap_err();
            assert!(e.contains("banner"), "{bad:?}: {e}");
        }
        let e = banner_rule(&"x".repeat(33)).unwrap_err();
        assert!(e.contains("1..=32") && e.contains("33"), "{e}");
        let e = banner_rule("a\u{7}b").unwrap_err();
        assert!(e.contains("U+0007"), "{e}");
    }

    #[test]
    fn a_title_is_at_most_64_printable_characters() {
        assert!(title_rule(&"t".repeat(64)).is_ok());
        assert!(title_rule(&"t".repeat(65)).is_err());
        assert!(title_rule("Lunch\u{0}").unwrap_err().contains("U+0000"));
        assert!(title_rule(" ").is_err());
    }
}
