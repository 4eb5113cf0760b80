//! Converting any sound into a legal ring file. (Owned by the ringtone-core helper: fill in,
//! keep the signatures.)

use std::path::Path;

use super::rules::{CheckReport, Format, MIN_SAMPLES, STEP, check_bytes};
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
    /// Level the ring to this integrated loudness, LUFS (ITU-R BS.1770, as pages are levelled,
    /// with the true-peak limiter), instead of normalising its peak; `None`: the peak.
    pub loudness: Option<f64>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            format: Format::Narrowband,
            start: None,
            length: None,
            normalize_dbfs: -1.0,
            fade_ms: 5.0,
            loudness: None,
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

/// How far back from the end the converter looks for a zero crossing to end on, in seconds
/// (400 samples at 8 kHz, 800 at 16 kHz).
pub const ZERO_SEARCH_SECS: f64 = 0.05;

/// Input samples at or below this magnitude all round to 0 in 16 bits: the input is silent.
const SILENT_PEAK: f32 = 0.5 / 32768.0;

/// Convert mono samples at `rate` (−1.0..=1.0).
///
/// Steps: skip `start` seconds, keep `length` seconds; resample to the format's rate with the
/// media core's anti-aliased resampler ([`crate::audio::resample()`]); cut to the format's
/// maximum (with a warning giving the seconds cut); normalise the peak to `normalize_dbfs`
/// (silence stays silence, with a warning); choose the length: the nearest multiple of 240
/// samples (at least 240; short input is padded with silence), ending the sound at the nearest
/// zero crossing within the last [`ZERO_SEARCH_SECS`] when the end would fall mid-wave, padding
/// with silence to keep the multiple; fade in and out over `fade_ms` (a raised cosine) so the
/// first and last samples are exactly 0 (with `fade_ms` 0 only those two samples are zeroed);
/// encode µ-law or s16le. Non-finite input samples count as 0.
///
/// Errors: a rate of 0, an option out of range (negative or non-finite `start`, `length` ≤ 0,
/// `normalize_dbfs` above 0 or not finite, `fade_ms` negative, not finite or over 1000), empty
/// input, or a `start` past the end.
pub fn convert_samples(
    input: &[f32],
    rate: u32,
    opts: &ConvertOptions,
) -> Result<Converted, Invalid> {
    check_options(rate, opts)?;
    let format = opts.format;
    let out_rate = format.rate();
    let max = format.max_samples();
    let mut warnings = Vec::new();
    if input.is_empty() {
        return Err(Invalid::new(
            "input",
            "0 samples",
            "has no audio to convert",
        ));
    }
    let in_secs = |n: usize| n as f64 / f64::from(rate);

    // Skip and keep.
    let skip = opts.start.map_or(0, |s| secs_to_samples(s, rate));
    if skip >= input.len() {
        return Err(Invalid::new(
            "start",
            format!("{} s", opts.start.unwrap_or(0.0)),
            format!("is past the end of the {:.3} s input", in_secs(input.len())),
        ));
    }
    let mut x = &input[skip..];
    if let Some(len) = opts.length {
        let keep = secs_to_samples(len, rate).max(1);
        x = &x[..keep.min(x.len())];
    }

    // Cut long input to the maximum before resampling (plus a margin, so the resampler's
    // end-of-input transient falls outside what is kept).
    let kept_secs = in_secs(x.len());
    let max_secs = max as f64 / f64::from(out_rate);
    let max_in = secs_to_samples(max_secs, rate).saturating_add(rate as usize / 10 + 64);
    if x.len() > max_in {
        x = &x[..max_in];
    }
    let clean: Vec<f32> = x
        .iter()
        .map(|&s| if s.is_finite() { s } else { 0.0 })
        .collect();
    let mut y = crate::audio::resample(&clean, rate, out_rate)
        .map_err(|e| Invalid::new("input sample rate", rate, e.to_string()))?;
    if y.len() > max {
        y.truncate(max);
        warnings.push(format!(
            "input is {kept_secs:.3} s; cut to the {max_secs:.3} s maximum of a {} ring \
             ({:.3} s cut)",
            format.extension(),
            kept_secs - max_secs
        ));
    }

    // Normalise the peak, or level the loudness.
    let peak = y.iter().fold(0.0f32, |m, &s| m.max(s.abs()));
    if peak <= SILENT_PEAK {
        warnings.push("input is silent: the ring is silence".to_owned());
        y.iter_mut().for_each(|s| *s = 0.0);
    } else if let Some(lufs) = opts.loudness {
        warnings.extend(level(&mut y, format, lufs));
    } else {
        let gain = (10f64.powf(opts.normalize_dbfs / 20.0) / f64::from(peak)) as f32;
        y.iter_mut().for_each(|s| *s *= gain);
    }

    // Choose the length and the end of the sound.
    let n = y.len();
    let total = round_to_step(n).clamp(MIN_SAMPLES, max);
    let mut end = n.min(total);
    let search = secs_to_samples(ZERO_SEARCH_SECS, out_rate);
    if end > 1
        && to_i16(y[end - 1]) != 0
        && let Some(c) = zero_crossing_before(&y[..end], search)
    {
        end = c;
    }
    y.truncate(end);

    // Fades: first and last sample exactly 0.
    let fade = secs_to_samples(opts.fade_ms / 1000.0, out_rate)
        .min(end / 2)
        .max(1);
    for i in 0..fade.min(end) {
        // Raised cosine from 0 at the edge to (almost) 1 after `fade` samples.
        let g = (0.5 - 0.5 * (std::f64::consts::PI * i as f64 / fade as f64).cos()) as f32;
        y[i] *= g;
        y[end - 1 - i] *= g;
    }
    y.resize(total, 0.0);

    let bytes = encode(&y, format);
    let report = check_bytes(&bytes, format);
    debug_assert!(
        report.passes(),
        "converted ring fails the check: {report:?}"
    );
    if !report.passes() {
        return Err(Invalid::new(
            "converted ring",
            format!("{total} samples"),
            format!("fails the ring file rules (a bug): {:?}", report.problems),
        ));
    }
    Ok(Converted {
        bytes,
        samples: total,
        warnings,
        report,
    })
}

/// Read any file zonecast reads (WAV, MP3, FLAC, Ogg, raw µ-law) and convert it.
///
/// Decodes with [`crate::audio::load_mono`] (mixed down to mono, at the file's own rate) and
/// converts with [`convert_samples`]; every error names the file.
pub fn convert_file(path: &Path, opts: &ConvertOptions) -> Result<Converted, Invalid> {
    let (samples, rate) = crate::audio::load_mono(path)
        .map_err(|e| Invalid::new("ringtone input", path.display(), e.to_string()))?;
    convert_samples(&samples, rate, opts)
        .map_err(|e| Invalid::new(format!("{}: {}", path.display(), e.field), e.value, e.rule))
}

/// Level `y` (at the format's rate) to `lufs` as a page's sounds are levelled, judged after the
/// ring's encoding (µ-law for narrowband); the note of what was done, when it did something.
fn level(y: &mut [f32], format: Format, lufs: f64) -> Option<String> {
    use crate::audio::loudness::{LoudnessTarget, normalise_at, through_codec};
    let pcm: Vec<i16> = y.iter().map(|&s| to_i16(s)).collect();
    let through = |s: &[i16]| match format {
        Format::Narrowband => through_codec(s, crate::g711::Law::Ulaw),
        Format::Wideband => s.to_vec(),
    };
    let (out, what) = normalise_at(&pcm, format.rate(), LoudnessTarget { lufs }, &through);
    for (d, s) in y.iter_mut().zip(out) {
        *d = f32::from(s) / 32768.0;
    }
    let measured = what.measured.lufs?;
    Some(format!(
        "levelled from {measured:.1} to {lufs:.1} LUFS (gain {:+.1} dB{})",
        what.gain_db,
        if what.limited_db > 0.05 {
            format!(", peaks limited by {:.1} dB", what.limited_db)
        } else {
            String::new()
        }
    ))
}

fn check_options(rate: u32, opts: &ConvertOptions) -> Result<(), Invalid> {
    if rate == 0 {
        return Err(Invalid::new(
            "input sample rate",
            rate,
            "must be above 0 Hz",
        ));
    }
    if let Some(s) = opts.start
        && !(s.is_finite() && s >= 0.0)
    {
        return Err(Invalid::new("start", s, "must be 0 or more seconds"));
    }
    if let Some(l) = opts.length
        && !(l.is_finite() && l > 0.0)
    {
        return Err(Invalid::new("length", l, "must be more than 0 seconds"));
    }
    if !(opts.normalize_dbfs.is_finite() && opts.normalize_dbfs <= 0.0) {
        return Err(Invalid::new(
            "normalize",
            opts.normalize_dbfs,
            "must be a peak level of 0 dBFS or below",
        ));
    }
    if let Some(l) = opts.loudness
        && !crate::audio::loudness::LUFS_RANGE.contains(&l)
    {
        return Err(Invalid::new(
            "loudness",
            l,
            "must be -30..=-10 LUFS (the range [engine] loudness takes)",
        ));
    }
    if !(opts.fade_ms.is_finite() && (0.0..=1000.0).contains(&opts.fade_ms)) {
        return Err(Invalid::new("fade", opts.fade_ms, "must be 0 to 1000 ms"));
    }
    Ok(())
}

/// Seconds to samples, rounded, saturating for absurd values.
fn secs_to_samples(secs: f64, rate: u32) -> usize {
    // `as` saturates (and maps NaN to 0).
    (secs * f64::from(rate)).round() as usize
}

/// The nearest multiple of [`STEP`] (halves round up).
fn round_to_step(n: usize) -> usize {
    (n.saturating_add(STEP / 2)) / STEP * STEP
}

/// The index `c` nearest the end (within `window` samples of it) where the signal crosses or
/// touches zero between `x[c-1]` and `x[c]`: ending the sound at `c` cuts it between two
/// samples of opposite sign (or at a zero), not mid-wave.
fn zero_crossing_before(x: &[f32], window: usize) -> Option<usize> {
    let lo = x.len().saturating_sub(window).max(1);
    (lo..x.len()).rev().find(|&c| {
        let (a, b) = (to_i16(x[c - 1]), to_i16(x[c]));
        b == 0 || (a < 0) != (b < 0)
    })
}

/// A float sample to 16 bits, rounding and saturating.
fn to_i16(x: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (x * 32768.0).round() as i16
}

fn encode(y: &[f32], format: Format) -> Vec<u8> {
    match format {
        Format::Narrowband => y
            .iter()
            .map(|&s| crate::g711::encode_ulaw(to_i16(s)))
            .collect(),
        Format::Wideband => y.iter().flat_map(|&s| to_i16(s).to_le_bytes()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringtone::rules::decode;
    use std::f64::consts::PI;

    fn sine(f: f64, rate: u32, secs: f64, amp: f64) -> Vec<f32> {
        let n = (secs * f64::from(rate)) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * PI * f * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    fn nb() -> ConvertOptions {
        ConvertOptions::default()
    }

    fn wb() -> ConvertOptions {
        ConvertOptions {
            format: Format::Wideband,
            ..ConvertOptions::default()
        }
    }

    /// A converted ring is legal, clean (no problem at all), silent at both ends and its length
    /// a multiple of 240.
    fn assert_clean(c: &Converted, format: Format) {
        let r = check_bytes(&c.bytes, format);
        assert!(r.problems.is_empty(), "{r:?}");
        assert_eq!(r, c.report);
        assert_eq!(c.samples % STEP, 0);
        assert!((MIN_SAMPLES..=format.max_samples()).contains(&c.samples));
        assert_eq!(c.bytes.len(), c.samples * format.bytes_per_sample());
        let pcm = decode(&c.bytes, format);
        assert_eq!(pcm[0], 0);
        assert_eq!(*pcm.last().unwrap(), 0);
    }

    /// Frequency from zero crossings over the middle of the signal.
    fn crossing_freq(x: &[i16], rate: f64) -> f64 {
        let mid = &x[x.len() / 8..x.len() * 7 / 8];
        let idx: Vec<usize> = (1..mid.len())
            .filter(|&i| mid[i - 1] < 0 && mid[i] >= 0)
            .collect();
        let periods = (idx.len() - 1) as f64;
        periods * rate / (idx[idx.len() - 1] - idx[0]) as f64
    }

    /// Amplitude of `f` in `x` (Hann-windowed single-bin DFT).
    fn amplitude(x: &[i16], rate: f64, f: f64) -> f64 {
        let n = x.len() as f64;
        let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
        for (i, &s) in x.iter().enumerate() {
            let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n).cos();
            let ph = 2.0 * PI * f * i as f64 / rate;
            re += w * f64::from(s) * ph.cos();
            im += w * f64::from(s) * ph.sin();
            wsum += w;
        }
        2.0 * (re * re + im * im).sqrt() / wsum
    }

    #[test]
    fn stereo_44k1_mixdown_comes_out_clean_at_1_khz() {
        // Interleaved stereo at 44.1 kHz, mixed down here the way the decoder does.
        let l = sine(1000.0, 44100, 1.5, 0.6);
        let r = sine(1000.0, 44100, 1.5, 0.4);
        let stereo: Vec<f32> = l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]).collect();
        let mono: Vec<f32> = stereo.chunks(2).map(|c| (c[0] + c[1]) / 2.0).collect();
        let c = convert_samples(&mono, 44100, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        assert_eq!(c.samples, 12000);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let pcm = decode(&c.bytes, Format::Narrowband);
        let f = crossing_freq(&pcm, 8000.0);
        assert!((f - 1000.0).abs() < 10.0, "{f} Hz");
        // Peak normalised to -1 dBFS (µ-law steps are ~3 % up there).
        let peak = pcm.iter().map(|s| i32::from(*s).abs()).max().unwrap();
        assert!((27500..=30500).contains(&peak), "{peak}");
    }

    #[test]
    fn a_6_khz_component_is_60_db_down() {
        let a = sine(1000.0, 44100, 2.0, 0.45);
        let b = sine(6000.0, 44100, 2.0, 0.45);
        let x: Vec<f32> = a.iter().zip(&b).map(|(a, b)| a + b).collect();
        let c = convert_samples(&x, 44100, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        let pcm = decode(&c.bytes, Format::Narrowband);
        let wanted = amplitude(&pcm, 8000.0, 1000.0);
        // 6 kHz would fold to 2 kHz at 8 kHz.
        let alias = amplitude(&pcm, 8000.0, 2000.0);
        let db = 20.0 * (alias / wanted).log10();
        assert!(db <= -60.0, "alias at {db:.1} dB");
    }

    #[test]
    fn rates_48k_and_8k_and_a_long_file() {
        let c = convert_samples(&sine(440.0, 48000, 1.0, 0.3), 48000, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        // 8000 samples round to 33 × 240.
        assert_eq!(c.samples, 7920);
        let f = crossing_freq(&decode(&c.bytes, Format::Narrowband), 8000.0);
        assert!((f - 440.0).abs() < 4.4, "{f}");

        // 5 s at 8 kHz: cut to 16080 samples, saying by how much.
        let c = convert_samples(&sine(500.0, 8000, 5.0, 0.5), 8000, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        assert_eq!(c.samples, 16080);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("2.990 s cut"), "{:?}", c.warnings);
    }

    #[test]
    fn a_50_ms_blip_is_padded_to_a_legal_length() {
        let c = convert_samples(&sine(800.0, 44100, 0.05, 0.9), 44100, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        assert_eq!(c.samples, 480);
        let tiny = convert_samples(&[0.5; 10], 44100, &nb()).unwrap();
        assert_clean(&tiny, Format::Narrowband);
        assert_eq!(tiny.samples, 240);
    }

    #[test]
    fn silence_stays_silence_with_a_warning() {
        let c = convert_samples(&vec![0.0; 20000], 16000, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        assert!(c.bytes.iter().all(|&b| b == 0xFF));
        assert!(c.warnings.iter().any(|w| w.contains("input is silent")));
    }

    #[test]
    fn a_full_scale_square_wave_is_not_clipped() {
        let x: Vec<f32> = sine(500.0, 44100, 1.0, 1.0)
            .iter()
            .map(|s| if *s >= 0.0 { 1.0 } else { -1.0 })
            .collect();
        for opts in [nb(), wb()] {
            let c = convert_samples(&x, 44100, &opts).unwrap();
            assert_clean(&c, opts.format);
        }
    }

    #[test]
    fn wideband_is_s16le_at_16_khz() {
        let c = convert_samples(&sine(1000.0, 44100, 1.0, 0.5), 44100, &wb()).unwrap();
        assert_clean(&c, Format::Wideband);
        // 16000 samples round to 67 × 240.
        assert_eq!(c.samples, 16080);
        let pcm: Vec<i16> = c
            .bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let f = crossing_freq(&pcm, 16000.0);
        assert!((f - 1000.0).abs() < 10.0, "{f} Hz");
        let peak = pcm.iter().map(|s| i32::from(*s).abs()).max().unwrap();
        assert!((29000..=29300).contains(&peak), "{peak}");
        // Up from 8 kHz too.
        let c = convert_samples(&sine(440.0, 8000, 0.5, 0.5), 8000, &wb()).unwrap();
        assert_clean(&c, Format::Wideband);
    }

    #[test]
    fn start_length_and_the_zero_crossing_end() {
        // 1.03 s of 440 Hz from 0.5 s on: 8240 samples round to 8160, ending mid-wave unless
        // the end moves to a crossing.
        let x = sine(440.0, 8000, 3.0, 0.5);
        let opts = ConvertOptions {
            start: Some(0.5),
            length: Some(1.03),
            fade_ms: 0.0,
            ..nb()
        };
        let c = convert_samples(&x, 8000, &opts).unwrap();
        assert_clean(&c, Format::Narrowband);
        assert_eq!(c.samples, 8160);
        let pcm = decode(&c.bytes, Format::Narrowband);
        // The sound ends at a crossing: the last non-zero sample is small, then silence.
        let last = pcm.iter().rposition(|&s| s != 0).unwrap();
        assert!(last < 8159 && last > 8160 - 400, "{last}");
        // With fade 0 only the sample before the crossing is zeroed: the one before it is
        // within two steps of 440 Hz at 8 kHz of zero (|sin(2 · 0.346)| = 0.64 of the peak).
        assert!(i32::from(pcm[last]).abs() < 29204 * 7 / 10, "{}", pcm[last]);
    }

    #[test]
    fn bad_options_and_inputs_are_refused() {
        let x = sine(440.0, 8000, 1.0, 0.5);
        assert_eq!(
            convert_samples(&x, 0, &nb()).unwrap_err().field,
            "input sample rate"
        );
        assert_eq!(
            convert_samples(&[], 8000, &nb()).unwrap_err().field,
            "input"
        );
        let past = ConvertOptions {
            start: Some(2.0),
            ..nb()
        };
        let e = convert_samples(&x, 8000, &past).unwrap_err();
        assert!(e.rule.contains("past the end"), "{e}");
        for bad in [
            ConvertOptions {
                start: Some(-1.0),
                ..nb()
            },
            ConvertOptions {
                length: Some(0.0),
                ..nb()
            },
            ConvertOptions {
                normalize_dbfs: 3.0,
                ..nb()
            },
            ConvertOptions {
                fade_ms: f64::NAN,
                ..nb()
            },
        ] {
            assert!(convert_samples(&x, 8000, &bad).is_err(), "{bad:?}");
        }
        // NaN samples count as silence rather than poisoning the result.
        let mut y = x.clone();
        y[100] = f32::NAN;
        assert_clean(
            &convert_samples(&y, 8000, &nb()).unwrap(),
            Format::Narrowband,
        );
    }

    #[test]
    fn convert_file_reads_wav_and_names_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in sine(1000.0, 44100, 1.0, 0.5) {
            let v = (s * 32767.0) as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let c = convert_file(&path, &nb()).unwrap();
        assert_clean(&c, Format::Narrowband);
        assert_eq!(c.samples, 7920);

        let missing = dir.path().join("nope.wav");
        let e = convert_file(&missing, &nb()).unwrap_err();
        assert!(e.to_string().contains("nope.wav"), "{e}");
    }

    #[test]
    fn sox_reads_the_converted_ring() {
        if std::process::Command::new("sox")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("note: sox not installed; skipping the sox decode check");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let c = convert_samples(&sine(1000.0, 44100, 1.0, 0.5), 44100, &nb()).unwrap();
        let raw = dir.path().join("ring.raw");
        std::fs::write(&raw, &c.bytes).unwrap();
        let out = std::process::Command::new("sox")
            .args(["-t", "raw", "-r", "8000", "-e", "u-law", "-c", "1"])
            .arg(&raw)
            .args(["-n", "stat"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stat = String::from_utf8_lossy(&out.stderr);
        let samples = stat
            .lines()
            .find(|l| l.starts_with("Samples read:"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<usize>().ok());
        assert_eq!(samples, Some(c.samples), "{stat}");
        let secs = stat
            .lines()
            .find(|l| l.starts_with("Length (seconds):"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok());
        assert_eq!(secs, Some(c.samples as f64 / 8000.0), "{stat}");

        let w = convert_samples(&sine(1000.0, 44100, 1.0, 0.5), 44100, &wb()).unwrap();
        let rwb = dir.path().join("ring.rwb");
        std::fs::write(&rwb, &w.bytes).unwrap();
        let out = std::process::Command::new("sox")
            .args([
                "-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1",
            ])
            .arg(&rwb)
            .args(["-n", "stat"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stat = String::from_utf8_lossy(&out.stderr);
        assert!(stat.contains(&format!("{}", w.samples)), "{stat}");
    }
}
