//! The words every ringtone command prints a verdict with: a format ([`describe_format`]) and a
//! problem's severity ([`severity_word`]).

use crate::ringtone::{Format, Severity};

/// A ring-file format in words, as the verdicts print it.
pub(super) fn describe_format(f: Format) -> &'static str {
    match f {
        Format::Narrowband => "narrowband µ-law 8 kHz",
        Format::Wideband => "wideband 16-bit 16 kHz",
    }
}

/// The word a problem of this severity is printed with.
pub(super) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}
