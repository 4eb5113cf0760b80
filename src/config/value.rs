//! Single values as the file writes them, checked where they stand: names, IPv4 addresses,
//! integers in a range, durations and paths relative to the config file. Every table's checks
//! share these, so a value breaks the same rule with the same words wherever it is written.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::source::Source;
use crate::error::Invalid;

/// A string value with its place in the file.
pub(super) type Text = Spanned<String>;
/// An integer value with its place in the file.
pub(super) type Int = Spanned<i64>;

/// `200ms`, `5s`, `1.5s`: a duration up to 10 minutes; the error is the rule it breaks.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::error::parse_duration("duration", s).map_err(|e| e.rule)
}

pub(super) fn ipv4(src: &Source, v: &Text, what: &str) -> Result<Ipv4Addr, Invalid> {
    v.get_ref().trim().parse().map_err(|_| {
        src.invalid(
            v.span(),
            what,
            v.get_ref(),
            "must be an IPv4 address such as 10.1.0.5",
        )
    })
}

pub(super) fn int<T: TryFrom<i64>>(
    src: &Source,
    v: &Int,
    what: &str,
    range: RangeInclusive<i64>,
) -> Result<T, Invalid> {
    let n = *v.get_ref();
    let bad = || {
        let rule = format!("must be {}..={}", range.start(), range.end());
        src.invalid(v.span(), what, n, rule)
    };
    if !range.contains(&n) {
        return Err(bad());
    }
    T::try_from(n).map_err(|_| bad())
}

pub(super) fn duration(
    src: &Source,
    v: &Text,
    what: &str,
    zero_ok: bool,
) -> Result<Duration, Invalid> {
    let d = parse_duration(v.get_ref())
        .map_err(|rule| src.invalid(v.span(), what, v.get_ref(), rule))?;
    if d.is_zero() && !zero_ok {
        return Err(src.invalid(v.span(), what, v.get_ref(), "must be more than 0"));
    }
    Ok(d)
}

pub(super) fn relative(base: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() { p } else { base.join(p) }
}

/// Names of phones, zones and levels: non-empty, no whitespace or control characters.
pub(super) fn check_name(src: &Source, v: &Text, what: &str) -> Result<(), Invalid> {
    let n = v.get_ref();
    if n.is_empty() || n.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(src.invalid(
            v.span(),
            what,
            n,
            "a name must be non-empty, without spaces or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_ms_and_s() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration(" 1.5s "), Ok(Duration::from_millis(1500)));
        for bad in ["5", "s", "5m", "-1s", "601s", "1.5 sec"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
