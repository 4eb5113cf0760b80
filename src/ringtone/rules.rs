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

/// A sample this close to zero (16-bit scale, about −48 dBFS) counts as a zero crossing at the
/// ends of a ring: the step it makes when the ring loops is inaudible.
pub const ZERO_TOLERANCE: i32 = 128;
/// A sample at or above this magnitude (16-bit scale) counts as clipped.
pub const CLIP_LEVEL: i32 = 32000;
/// More than this share of clipped samples is reported (0.1 %).
pub const CLIP_SHARE: f64 = 0.001;

/// Check a ring file's bytes as `format`. Never panics, whatever the bytes.
///
/// Errors (phones refuse or misplay the file): `empty`, `length` (under [`MIN_SAMPLES`] or over
/// [`Format::max_samples`]), `multiple_of_240`, `header` (a WAV, AU, AIFF, Ogg, FLAC, ID3 or
/// MPEG header at the start) and, for `.rwb`, `format` for an odd byte count. Warnings:
/// `format` when the bytes read far more like the other format (see [`looks_like_other_format`]),
/// `start_zero_crossing` / `end_zero_crossing` when an end sample is further than
/// [`ZERO_TOLERANCE`] from zero, `clipping` when more than [`CLIP_SHARE`] of the samples are at
/// or above [`CLIP_LEVEL`]. When a header is found the audio rules are not applied (they would
/// be measuring the header).
pub fn check_bytes(bytes: &[u8], format: Format) -> CheckReport {
    let bps = format.bytes_per_sample();
    let samples = bytes.len() / bps;
    let mut report = CheckReport {
        format,
        samples,
        seconds: samples as f64 / f64::from(format.rate()),
        problems: Vec::new(),
    };
    let mut problem = |severity, rule, detail: String| {
        report.problems.push(Problem {
            severity,
            rule,
            detail,
        })
    };
    if bytes.is_empty() {
        problem(Severity::Error, "empty", "the file has no bytes".to_owned());
        return report;
    }
    if format == Format::Wideband && !bytes.len().is_multiple_of(2) {
        problem(
            Severity::Error,
            "format",
            format!(
                "{} bytes is an odd count: 16-bit samples take 2 bytes each (1 byte left over)",
                bytes.len()
            ),
        );
    }
    length_problems(samples, format, &mut problem);
    let header = container_header(bytes);
    if let Some(name) = header {
        problem(
            Severity::Error,
            "header",
            format!(
                "starts with a {name} header: ring files are headerless {}; \
                 audio rules not checked",
                describe(format)
            ),
        );
    }
    if header.is_some() || samples == 0 {
        return report;
    }
    let pcm = decode(bytes, format);

    if let Some(detail) = looks_like_other_format(bytes, format) {
        problem(Severity::Warning, "format", detail);
    }
    let (first, last) = (i32::from(pcm[0]), i32::from(pcm[pcm.len() - 1]));
    if first.abs() > ZERO_TOLERANCE {
        problem(
            Severity::Warning,
            "start_zero_crossing",
            format!(
                "first sample is {first} (more than ±{ZERO_TOLERANCE} from zero): the loop clicks"
            ),
        );
    }
    if last.abs() > ZERO_TOLERANCE {
        problem(
            Severity::Warning,
            "end_zero_crossing",
            format!(
                "last sample is {last} (more than ±{ZERO_TOLERANCE} from zero): the loop clicks"
            ),
        );
    }
    let clipped = pcm
        .iter()
        .filter(|&&s| i32::from(s).abs() >= CLIP_LEVEL)
        .count();
    let share = clipped as f64 / pcm.len() as f64;
    if share > CLIP_SHARE {
        problem(
            Severity::Warning,
            "clipping",
            format!(
                "{clipped} of {} samples ({:.2} %) at or above ±{CLIP_LEVEL} (limit {:.1} %)",
                pcm.len(),
                share * 100.0,
                CLIP_SHARE * 100.0
            ),
        );
    }
    report
}

fn describe(format: Format) -> &'static str {
    match format {
        Format::Narrowband => "8 kHz µ-law",
        Format::Wideband => "16 kHz signed 16-bit little-endian PCM",
    }
}

fn length_problems(
    samples: usize,
    format: Format,
    problem: &mut impl FnMut(Severity, &'static str, String),
) {
    let max = format.max_samples();
    let rate = f64::from(format.rate());
    let secs = |n: usize| n as f64 / rate;
    if samples < MIN_SAMPLES {
        problem(
            Severity::Error,
            "length",
            format!(
                "{samples} samples ({:.3} s) is under the {MIN_SAMPLES}-sample ({:.3} s) minimum",
                secs(samples),
                secs(MIN_SAMPLES)
            ),
        );
    } else if samples > max {
        problem(
            Severity::Error,
            "length",
            format!(
                "{samples} samples ({:.3} s) is over the {max}-sample ({:.3} s) maximum",
                secs(samples),
                secs(max)
            ),
        );
    }
    if !samples.is_multiple_of(STEP) {
        let down = (samples / STEP * STEP).clamp(MIN_SAMPLES, max);
        let up = samples
            .div_ceil(STEP)
            .saturating_mul(STEP)
            .clamp(MIN_SAMPLES, max);
        let nearest = if down == up {
            format!("{down}")
        } else {
            format!("{down} or {up}")
        };
        problem(
            Severity::Error,
            "multiple_of_240",
            format!(
                "{samples} samples is not a multiple of {STEP} ({} left over); \
                 nearest legal lengths: {nearest} samples",
                samples % STEP
            ),
        );
    }
}

/// The samples of a ring as 16-bit linear (a trailing odd byte of a `.rwb` is ignored).
pub fn decode(bytes: &[u8], format: Format) -> Vec<i16> {
    match format {
        Format::Narrowband => bytes.iter().map(|&b| crate::g711::decode_ulaw(b)).collect(),
        Format::Wideband => bytes
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
    }
}

/// The container whose header `bytes` start with, if any: RIFF (WAV), `.snd` (Sun/NeXT AU),
/// FORM (AIFF), OggS, fLaC, ID3 (tagged MP3) or an MPEG audio frame header.
///
/// A bare MPEG frame sync (11 set bits) is common in genuine µ-law (0xFF is silence), so it only
/// counts when the whole 4-byte frame header is valid *and* a second valid header follows where
/// the first frame ends. A file that ends inside its first frame is not taken for MPEG: quiet
/// µ-law starting with silence makes a valid-looking header often enough (a 240-byte ring of
/// quiet samples did, and the converter's own output failed its check), and no MP3 worth
/// playing is a single frame.
pub fn container_header(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 6] = [
        (b"RIFF", "RIFF (WAV)"),
        (b".snd", ".snd (Sun/NeXT AU)"),
        (b"FORM", "FORM (AIFF)"),
        (b"OggS", "OggS (Ogg)"),
        (b"fLaC", "fLaC (FLAC)"),
        (b"ID3", "ID3 (tagged MP3)"),
    ];
    for (magic, name) in MAGIC {
        if bytes.starts_with(magic) {
            return Some(name);
        }
    }
    let len = mpeg_frame_len(bytes)?;
    mpeg_frame_len(bytes.get(len..)?).map(|_| "MPEG audio frame")
}

/// The length in bytes of the MPEG audio frame whose header starts `b`, if it is a valid one.
fn mpeg_frame_len(b: &[u8]) -> Option<usize> {
    let h = b.get(..4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
    let layer = (h[1] >> 1) & 3; // 0: reserved, 1: III, 2: II, 3: I
    let bitrate_idx = usize::from(h[2] >> 4);
    let rate_idx = usize::from((h[2] >> 2) & 3);
    let padding = usize::from((h[2] >> 1) & 1);
    if version == 1 || layer == 0 || bitrate_idx == 0 || bitrate_idx == 15 || rate_idx == 3 {
        return None;
    }
    // Emphasis 2 is reserved.
    if h[3] & 3 == 2 {
        return None;
    }
    const V1: [[u32; 15]; 3] = [
        [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ],
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ],
        [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ],
    ];
    const V2: [[u32; 15]; 2] = [
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ];
    const RATES: [u32; 3] = [44100, 48000, 32000];
    let layer_i = layer == 3;
    let kbps = match (version, layer) {
        (3, l) => V1[usize::from(3 - l)][bitrate_idx],
        (_, 3) => V2[0][bitrate_idx],
        _ => V2[1][bitrate_idx],
    };
    let rate = RATES[rate_idx]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let bps = kbps * 1000;
    let len = if layer_i {
        (12 * bps / rate + padding as u32) * 4
    } else if layer == 1 && version != 3 {
        // Layer III in MPEG 2 / 2.5: 576 samples per frame.
        72 * bps / rate + padding as u32
    } else {
        144 * bps / rate + padding as u32
    };
    (len >= 4).then_some(len as usize)
}

/// The "wrong apparent format" statistic: `Some(explanation)` when the bytes read as audio far
/// better in the *other* ring format (s16le saved as `.raw`, µ-law saved as `.rwb`).
///
/// Real sound is predictable: each sample is close to what the previous two foretell (a pure
/// tone of any frequency is predicted exactly by `x[n] = 2·cos ω·x[n−1] − x[n−2]`). The
/// statistic is the *unpredictability* of a reading: the residual energy of the best 2-tap
/// linear predictor over the signal's variance, `(1 − k1²)(1 − k2²)` from the reflection
/// coefficients of its autocorrelation: 0 for tones and smooth sound, 1 for white noise.
/// Reading s16le as µ-law alternates a high byte (near 0x00 or 0xFF, which µ-law decodes to
/// about −32000 or 0) with an unrelated low byte; reading µ-law pairs as s16le jumps at every
/// zero crossing: both look like noise. The bytes are decoded both ways, and the file is
/// flagged when the declared reading is noise-like (over 0.3), the other reading predictable
/// (under 0.1) and at least 5 times more so. Periodic synthesized tones (a square wave) can be
/// predictable in both readings, so a byte-level check must agree too, on the even and the odd
/// bytes each read as signed 8-bit: s16le has one half smooth (the high bytes are the sound
/// divided by 256: under 0.1) and the other noise (the low bytes: over 0.8), while µ-law has two
/// alike halves (the same sound: within 0.1 of each other).
/// Genuine noise-like sound is noise-like both ways and is not flagged. Files under 64 samples, or whose readings are (nearly) constant, are not
/// judged.
pub fn looks_like_other_format(bytes: &[u8], format: Format) -> Option<String> {
    if bytes.len() < 128 {
        return None;
    }
    let as_ulaw = unpredictability(&decode(bytes, Format::Narrowband))?;
    let as_s16 = unpredictability(&decode(bytes, Format::Wideband))?;
    let (declared, other, other_format) = match format {
        Format::Narrowband => (as_ulaw, as_s16, "signed 16-bit little-endian PCM (a .rwb)"),
        Format::Wideband => (as_s16, as_ulaw, "µ-law (a .raw)"),
    };
    let (smooth_half, rough_half) = byte_halves(bytes)?;
    let parity_agrees = match format {
        // Claimed s16le: smooth high bytes, noisy low bytes.
        Format::Narrowband => smooth_half < 0.1 && rough_half > 0.8,
        // Claimed µ-law: even and odd bytes are alike.
        Format::Wideband => rough_half - smooth_half < 0.1,
    };
    (declared > 0.3 && other < 0.1 && declared > 5.0 * other && parity_agrees).then(|| {
        format!(
            "reads like {other_format}: unpredictability {declared:.3} as {}, {other:.3} as \
             the other format (0 = smooth sound, 1 = noise); byte halves {smooth_half:.3} and \
             {rough_half:.3}",
            describe(format)
        )
    })
}

/// The unpredictability of the even and the odd bytes, each read as signed 8-bit, as
/// (smoother, rougher) (see [`looks_like_other_format`]). A constant half counts as 0.
fn byte_halves(bytes: &[u8]) -> Option<(f64, f64)> {
    let half = |start: usize| -> Vec<i16> {
        bytes
            .iter()
            .skip(start)
            .step_by(2)
            .map(|&b| i16::from(b as i8) * 256)
            .collect()
    };
    let (even, odd) = (unpredictability(&half(0)), unpredictability(&half(1)));
    if even.is_none() && odd.is_none() {
        return None;
    }
    let (e, o) = (even.unwrap_or(0.0), odd.unwrap_or(0.0));
    Some((e.min(o), e.max(o)))
}

/// Residual energy of the best 2-tap linear predictor over the variance (0 = a tone,
/// 1 = white noise), or `None` for short or (nearly) constant input.
pub fn unpredictability(x: &[i16]) -> Option<f64> {
    if x.len() < 64 {
        return None;
    }
    let mean = x.iter().map(|&s| f64::from(s)).sum::<f64>() / x.len() as f64;
    let d: Vec<f64> = x.iter().map(|&s| f64::from(s) - mean).collect();
    let lag = |k: usize| d.iter().zip(&d[k..]).map(|(a, b)| a * b).sum::<f64>();
    let (r0, r1, r2) = (lag(0), lag(1), lag(2));
    // Below one LSB of spread per sample there is nothing to judge.
    if r0 <= x.len() as f64 {
        return None;
    }
    // Levinson–Durbin, order 2.
    let k1 = (r1 / r0).clamp(-1.0, 1.0);
    let e1 = r0 * (1.0 - k1 * k1);
    if e1 <= f64::EPSILON * r0 {
        return Some(0.0);
    }
    let k2 = ((r2 - k1 * r1) / e1).clamp(-1.0, 1.0);
    Some(((1.0 - k1 * k1) * (1.0 - k2 * k2)).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::encode_ulaw;

    /// Deterministic pseudo-random numbers in [-1, 1).
    pub(super) fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    /// Test signals at `rate`: (name, samples in [-1, 1]).
    pub(super) fn signals(rate: f64, n: usize) -> Vec<(String, Vec<f64>)> {
        let t = |i: usize| i as f64 / rate;
        let sine = |f: f64, a: f64| -> Vec<f64> {
            (0..n)
                .map(|i| a * (2.0 * std::f64::consts::PI * f * t(i)).sin())
                .collect()
        };
        let mut out = Vec::new();
        for f in [
            100.0, 300.0, 440.0, 1000.0, 2000.0, 3000.0, 3500.0, 3900.0, 3990.0, 6000.0, 7900.0,
            7990.0,
        ] {
            if f >= rate / 2.0 {
                continue;
            }
            for a in [0.003, 0.05, 0.5, 0.99] {
                out.push((format!("sine {f} Hz x{a}"), sine(f, a)));
            }
        }
        for a in [0.01, 0.3, 1.0] {
            out.push((
                format!("noise x{a}"),
                noise(n, 7).iter().map(|x| x * a).collect(),
            ));
            out.push((
                format!("square 1 kHz x{a}"),
                sine(1000.0, 1.0)
                    .iter()
                    .map(|x| if *x >= 0.0 { a } else { -a })
                    .collect(),
            ));
        }
        // A chime: three decaying partials.
        out.push((
            "chime".into(),
            (0..n)
                .map(|i| {
                    let (x, p) = (t(i), 2.0 * std::f64::consts::PI);
                    (-3.0 * x).exp()
                        * (0.5 * (p * 660.0 * x).sin()
                            + 0.3 * (p * 1320.0 * x).sin()
                            + 0.15 * (p * 2640.0 * x).sin())
                })
                .collect(),
        ));
        // A chirp 100 Hz → Nyquist.
        out.push((
            "chirp".into(),
            (0..n)
                .map(|i| {
                    let d = n as f64 / rate;
                    let k = (rate / 2.0 - 100.0) / d;
                    0.7 * (2.0 * std::f64::consts::PI * (100.0 * t(i) + 0.5 * k * t(i) * t(i)))
                        .sin()
                })
                .collect(),
        ));
        // Near-silence: ±1 LSB dither around zero.
        out.push((
            "dither".into(),
            noise(n, 3).iter().map(|x| x * 2.0 / 32768.0).collect(),
        ));
        out
    }

    pub(super) fn ulaw(x: &[f64]) -> Vec<u8> {
        x.iter()
            .map(|&v| encode_ulaw((v * 32767.0).round() as i16))
            .collect()
    }

    pub(super) fn s16le(x: &[f64]) -> Vec<u8> {
        x.iter()
            .flat_map(|&v| ((v * 32767.0).round() as i16).to_le_bytes())
            .collect()
    }

    #[test]
    fn format_statistic_never_flags_genuine_files() {
        for rate in [8000.0, 16000.0] {
            for (name, x) in signals(rate, 4800) {
                let raw = ulaw(&x);
                assert_eq!(
                    looks_like_other_format(&raw, Format::Narrowband),
                    None,
                    "µ-law {name} at {rate} flagged"
                );
                let rwb = s16le(&x);
                assert_eq!(
                    looks_like_other_format(&rwb, Format::Wideband),
                    None,
                    "s16le {name} at {rate} flagged"
                );
                // Short genuine files too.
                for n in [240, 480] {
                    assert_eq!(
                        looks_like_other_format(&raw[..n], Format::Narrowband),
                        None,
                        "µ-law {name} at {rate}, {n} samples"
                    );
                    assert_eq!(
                        looks_like_other_format(&rwb[..2 * n], Format::Wideband),
                        None,
                        "s16le {name} at {rate}, {n} samples"
                    );
                }
            }
        }
    }

    #[test]
    fn format_statistic_flags_misfiled_audio() {
        let all = signals(16000.0, 4800);
        let get = |name: &str| &all.iter().find(|(n, _)| n == name).unwrap().1;
        // s16le saved as .raw: a chime and ordinary tones.
        for name in [
            "chime",
            "sine 440 Hz x0.5",
            "sine 440 Hz x0.99",
            "sine 300 Hz x0.05",
        ] {
            let detail = looks_like_other_format(&s16le(get(name)), Format::Narrowband);
            assert!(detail.is_some(), "s16le {name} as .raw not flagged");
            assert!(detail.unwrap().contains("16-bit"));
        }
        // µ-law saved as .rwb.
        let all8 = signals(8000.0, 4800);
        for (n, x) in &all8 {
            eprintln!(
                "DET {n} {:?}",
                looks_like_other_format(&ulaw(x), Format::Wideband).is_some()
            );
        }
        for name in ["sine 440 Hz x0.99", "sine 300 Hz x0.5", "sine 300 Hz x0.05"] {
            let x = &all8.iter().find(|(n, _)| n == name).unwrap().1;
            let rep = check_bytes(&ulaw(x), Format::Wideband);
            let p = rep.problems.iter().find(|p| p.rule == "format");
            assert!(p.is_some(), "µ-law {name} as .rwb not flagged: {rep:?}");
            assert_eq!(p.unwrap().severity, Severity::Warning);
        }
    }

    /// A 440 Hz tone with a Hann envelope: starts and ends at 0, peak 0.8.
    fn good(n: usize, rate: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
                0.8 * w * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate).sin()
            })
            .collect()
    }

    fn rules(r: &CheckReport) -> Vec<(&'static str, Severity)> {
        r.problems.iter().map(|p| (p.rule, p.severity)).collect()
    }

    #[test]
    fn a_legal_file_passes_every_rule() {
        let raw = ulaw(&good(8160, 8000.0));
        let r = check_bytes(&raw, Format::Narrowband);
        assert!(r.problems.is_empty(), "{r:?}");
        assert!(r.passes());
        assert_eq!(r.samples, 8160);
        assert!((r.seconds - 1.02).abs() < 1e-9);
        let rwb = s16le(&good(32160, 16000.0));
        let r = check_bytes(&rwb, Format::Wideband);
        assert!(r.problems.is_empty(), "{r:?}");
        // The limits themselves are legal.
        for (n, f) in [
            (240, Format::Narrowband),
            (16080, Format::Narrowband),
            (160_800, Format::Wideband),
        ] {
            let rate = f64::from(f.rate());
            let bytes = match f {
                Format::Narrowband => ulaw(&good(n, rate)),
                Format::Wideband => s16le(&good(n, rate)),
            };
            let r = check_bytes(&bytes, f);
            assert!(r.problems.is_empty(), "{n} {f:?}: {r:?}");
        }
    }

    #[test]
    fn empty_file_is_an_error() {
        for f in [Format::Narrowband, Format::Wideband] {
            let r = check_bytes(&[], f);
            assert_eq!(rules(&r), vec![("empty", Severity::Error)]);
            assert!(!r.passes());
        }
    }

    #[test]
    fn too_short_too_long_and_not_a_multiple() {
        let r = check_bytes(&ulaw(&good(120, 8000.0)), Format::Narrowband);
        assert_eq!(
            rules(&r),
            vec![
                ("length", Severity::Error),
                ("multiple_of_240", Severity::Error)
            ]
        );
        assert!(r.problems[0].detail.contains("120 samples"), "{r:?}");
        assert!(
            r.problems[1]
                .detail
                .contains("nearest legal lengths: 240 samples"),
            "{r:?}"
        );

        let r = check_bytes(&ulaw(&good(16320, 8000.0)), Format::Narrowband);
        assert_eq!(rules(&r), vec![("length", Severity::Error)]);
        assert!(
            r.problems[0].detail.contains("16320 samples (2.040 s)"),
            "{r:?}"
        );
        assert!(r.problems[0].detail.contains("16080-sample"), "{r:?}");

        let r = check_bytes(&ulaw(&good(1000, 8000.0)), Format::Narrowband);
        assert_eq!(rules(&r), vec![("multiple_of_240", Severity::Error)]);
        assert!(r.problems[0].detail.contains("40 left over"), "{r:?}");
        assert!(r.problems[0].detail.contains("960 or 1200"), "{r:?}");

        // Wideband: 160800 is legal, 161040 is not.
        let r = check_bytes(&s16le(&good(161_040, 16000.0)), Format::Wideband);
        assert_eq!(rules(&r), vec![("length", Severity::Error)]);
    }

    #[test]
    fn cisco_standard_length_is_reported_not_fatal() {
        // CiscoStandard.raw is 21360 samples: a multiple of 240, but over the maximum.
        let r = check_bytes(&ulaw(&good(21360, 8000.0)), Format::Narrowband);
        assert_eq!(rules(&r), vec![("length", Severity::Error)]);
        assert_eq!(r.samples, 21360);
        assert!((r.seconds - 2.67).abs() < 1e-9);
    }

    #[test]
    fn wideband_odd_byte_count_is_a_format_error() {
        let mut b = s16le(&good(480, 16000.0));
        b.push(0);
        let r = check_bytes(&b, Format::Wideband);
        assert_eq!(rules(&r), vec![("format", Severity::Error)]);
        assert_eq!(r.samples, 480);
        assert!(r.problems[0].detail.contains("961 bytes"), "{r:?}");
    }

    #[test]
    fn container_headers_are_errors() {
        let body = ulaw(&good(2400, 8000.0));
        let mpeg = {
            // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
            let mut m = Vec::new();
            for _ in 0..6 {
                let mut f = vec![0xFF, 0xFB, 0x90, 0x64];
                f.resize(417, 0x55);
                m.extend(f);
            }
            m
        };
        for (head, name) in [
            (b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec(), "RIFF"),
            (b".snd\x00\x00\x00\x18".to_vec(), ".snd"),
            (b"FORM\x00\x00\x10\x00AIFF".to_vec(), "FORM"),
            (b"OggS\x00\x02".to_vec(), "OggS"),
            (b"fLaC\x00\x00\x00\x22".to_vec(), "fLaC"),
            (b"ID3\x04\x00\x00".to_vec(), "ID3"),
            (mpeg, "MPEG"),
        ] {
            let mut b = head;
            b.extend(&body[..2400 - b.len().min(2400)]);
            for f in [Format::Narrowband, Format::Wideband] {
                let r = check_bytes(&b, f);
                let p = r.problems.iter().find(|p| p.rule == "header");
                assert!(p.is_some(), "{name} {f:?}: {r:?}");
                assert!(p.unwrap().detail.contains(name));
                assert_eq!(p.unwrap().severity, Severity::Error);
            }
        }
    }

    #[test]
    fn quiet_mulaw_starting_with_ff_is_not_an_mpeg_header() {
        // µ-law silence is 0xFF and quiet samples are 0xF0..0xFE: a bare frame sync.
        let x: Vec<f64> = (0..4800)
            .map(|i| 0.002 * (i as f64 * 0.05).sin() * (1.0 - (i as f64 / 4800.0)))
            .collect();
        let b = ulaw(&x);
        assert_eq!(b[0], 0xFF);
        let r = check_bytes(&b, Format::Narrowband);
        assert!(r.problems.is_empty(), "{r:?}");
        for second in 0xE0..=0xFF {
            let mut b = b.clone();
            b[1] = second;
            let r = check_bytes(&b, Format::Narrowband);
            assert!(
                r.problems.iter().all(|p| p.rule != "header"),
                "{second:#x}: {r:?}"
            );
        }
    }

    #[test]
    fn ends_away_from_zero_are_warnings_with_values() {
        let mut x = good(2400, 8000.0);
        x[0] = 0.5;
        x[2399] = -0.25;
        let r = check_bytes(&s16le(&x), Format::Wideband);
        assert_eq!(
            rules(&r),
            vec![
                ("start_zero_crossing", Severity::Warning),
                ("end_zero_crossing", Severity::Warning)
            ]
        );
        assert!(r.passes());
        assert!(r.problems[0].detail.contains("16384"), "{r:?}");
        assert!(r.problems[1].detail.contains("-8192"), "{r:?}");
        // Within the tolerance: fine.
        let mut x = good(2400, 8000.0);
        x[0] = 100.0 / 32767.0;
        x[2399] = -100.0 / 32767.0;
        assert!(
            check_bytes(&s16le(&x), Format::Wideband)
                .problems
                .is_empty()
        );
        assert!(
            check_bytes(&ulaw(&x), Format::Narrowband)
                .problems
                .is_empty()
        );
    }

    #[test]
    fn clipping_share_is_a_warning() {
        // A 300 Hz tone driven 6 dB into clipping, with clean ends.
        let mut x: Vec<f64> = (0..4800)
            .map(|i| {
                (2.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin())
                    .clamp(-1.0, 1.0)
            })
            .collect();
        x[0] = 0.0;
        x[4799] = 0.0;
        for (bytes, f) in [
            (ulaw(&x), Format::Narrowband),
            (s16le(&x), Format::Wideband),
        ] {
            let r = check_bytes(&bytes, f);
            assert_eq!(rules(&r), vec![("clipping", Severity::Warning)], "{f:?}");
            assert!(r.problems[0].detail.contains('%'));
        }
        // Two clipped samples in 4800 (0.04 %) are under the limit.
        let mut y = good(4800, 8000.0);
        y[100] = 1.0;
        y[200] = -1.0;
        assert!(
            check_bytes(&s16le(&y), Format::Wideband)
                .problems
                .is_empty()
        );
    }

    #[test]
    fn format_from_path() {
        assert_eq!(
            Format::from_path(Path::new("a/Chime.RAW")),
            Some(Format::Narrowband)
        );
        assert_eq!(
            Format::from_path(Path::new("x.rwb")),
            Some(Format::Wideband)
        );
        assert_eq!(Format::from_path(Path::new("x.wav")), None);
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000)) {
            for f in [Format::Narrowband, Format::Wideband] {
                let r = check_bytes(&bytes, f);
                proptest::prop_assert_eq!(r.samples, bytes.len() / f.bytes_per_sample());
            }
        }

        #[test]
        fn random_headers_never_panic(head in proptest::collection::vec(0xE0u8..=0xFF, 0..8), tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut b = head;
            b.extend(tail);
            let _ = check_bytes(&b, Format::Narrowband);
            let _ = container_header(&b);
        }
    }
}
