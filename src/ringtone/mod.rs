//! Cisco ring files: the rules, checking files against them, converting any sound into a file
//! that passes, and the ring lists that name them.
//!
//! Pure code over bytes and samples (files are read by the caller or by [`convert_file`]):
//! - [`rules`]: the two formats (narrowband `.raw` µ-law 8 kHz, wideband `.rwb` s16le 16 kHz),
//!   their limits, and [`check_bytes`], which reports every rule a file breaks.
//! - [`convert`]: resample (the media core's anti-aliased resampler), mix down, normalise, trim
//!   or pad to a legal length ending on a zero crossing with a short fade.
//! - [`ringlist`]: `CiscoIPPhoneRingList` (RingList.xml, DistinctiveRingList.xml,
//!   Ringlist-wb.xml): parse, and render with escaping and the 50-ring / 25-character limits.

pub mod convert;
pub mod ringlist;
pub mod rules;

pub use convert::{ConvertOptions, Converted, convert_file, convert_samples};
pub use ringlist::{Ring, RingList, parse_ring_list, render_ring_list};
pub use rules::{CheckReport, Format, Problem, Severity, check_bytes};
