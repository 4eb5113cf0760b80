//! The ring file rules and the checker. (Owned by the ringtone-core helper: fill in, keep the
//! signatures.)

use std::path::Path;

/// Smallest legal ring, in samples.
pub const MIN_SAMPLES: usize = 240;
/// Ring lengths are a multiple of this many samples.
pub const STEP: usize = 240;

/// A ring file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `.raw`: headerless µ-law, 8000 samples/s, 240..=16080 samples.
    Narrowband,
    /// `.rwb`: headerless signed 16-bit little-endian PCM, 16000 samples/s, 240..=160800 samples.
    Wideband,
}

impl Format {
    /// Samples per second.
    pub fn rate(self) -> u32 {
        match self {
            Format::Narrowband => 8000,
            Format::Wideband => 16000,
        }
    }

    /// Most samples a ring may have.
    pub fn max_samples(self) -> usize {
        match self {
            Format::Narrowband => 16080,
            Format::Wideband => 160_800,
        }
    }

    /// Bytes per sample.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Format::Narrowband => 1,
            Format::Wideband => 2,
        }
    }

    /// File extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Narrowband => "raw",
            Format::Wideband => "rwb",
        }
    }

    /// The format a file name says (`.raw`, `.rwb`, case-insensitive).
    pub fn from_path(p: &Path) -> Option<Format> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "raw" => Some(Format::Narrowband),
            "rwb" => Some(Format::Wideband),
            _ => None,
        }
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Phones play it, but it is not what the rules say (a click, clipping).
    Warning,
    /// Phones refuse or misplay it (length, header, format).
    Error,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Warning or error.
    pub severity: Severity,
    /// Which rule: `length`, `multiple_of_240`, `start_zero_crossing`, `end_zero_crossing`,
    /// `header`, `format`, `clipping`, `empty`.
    pub rule: &'static str,
    /// What was found, in numbers.
    pub detail: String,
}

/// What the checker found in one file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    /// The format it was checked as.
    pub format: Format,
    /// Samples in it (whole samples; a trailing odd byte of a `.rwb` is a problem).
    pub samples: usize,
    /// Its length in seconds.
    pub seconds: f64,
    /// Every rule it breaks.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// No errors (warnings allowed).
    pub fn passes(&self) -> bool {
        self.problems.iter().all(|p| p.severity != Severity::Error)
    }
}

/// Check a ring file's bytes as `format`. Never panics, whatever the bytes.
pub fn check_bytes(bytes: &[u8], format: Format) -> CheckReport {
    let _ = (bytes, format);
    todo!()
}
