//! Converting any sound into a legal ring file. (Owned by the ringtone-core helper: fill in,
//! keep the signatures.)

use std::path::Path;

use super::rules::{CheckReport, Format};
use crate::error::Invalid;

/// How to convert.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertOptions {
    /// Output format.
    pub format: Format,
    /// Skip this many seconds of the input.
    pub start: Option<f64>,
    /// Keep at most this many seconds (before rounding to the rules).
    pub length: Option<f64>,
    /// Peak level after normalisation, dBFS (default −1).
    pub normalize_dbfs: f64,
    /// Fade at both ends, ms (default 5), so the loop point is silent.
    pub fade_ms: f64,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            format: Format::Narrowband,
            start: None,
            length: None,
            normalize_dbfs: -1.0,
            fade_ms: 5.0,
        }
    }
}

/// A converted ring.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Samples in it.
    pub samples: usize,
    /// What the user should know (input cut to the maximum: by how much; silence ...).
    pub warnings: Vec<String>,
    /// The checker's verdict on the result (always passes).
    pub report: CheckReport,
}

/// Convert mono samples at `rate` (−1.0..=1.0).
pub fn convert_samples(input: &[f32], rate: u32, opts: &ConvertOptions) -> Result<Converted, Invalid> {
    let _ = (input, rate, opts);
    todo!()
}

/// Read any file zonecast reads (WAV, MP3, FLAC, Ogg, raw µ-law) and convert it.
pub fn convert_file(path: &Path, opts: &ConvertOptions) -> Result<Converted, Invalid> {
    let _ = (path, opts);
    todo!()
}
