//! Equal loudness of prepared sounds: measure a clip with ITU-R BS.1770 / EBU R128 (integrated
//! loudness, LUFS, and true peak, dBTP, by the `ebur128` crate) and gain it to one target.
//!
//! [`normalise`] runs once, when a sound is prepared for a page (a file, an upload, a bundled
//! sound, speech), on the 8 kHz mono samples that will be encoded: gain = target − measured,
//! then the look-ahead limiter ([`super::limiter`]) wherever that gain would lift a true peak
//! over [`CEILING_DBTP`]. The ceiling is checked *after* G.711: the limited clip is encoded and
//! decoded with the page's law and measured again, and if the codec's quantisation pushed a
//! true peak over, the limiter runs again a little lower (the result never clips the codec).
//!
//! What is exempt: tones and silence (a `tone:` segment is a test signal at its stated dBFS;
//! levelling it would defeat its purpose), and clips with no gated loudness at all (below the
//! BS.1770 absolute gate of -70 LUFS: silence is not amplified). A quiet clip is raised at most
//! [`MAX_BOOST_DB`], so a near-silent recording is not turned into amplified hiss.
//!
//! Normalisation sets the source's level. The phones' speaker volume (the zone's `volume`,
//! the loudest-priority rule) is set separately and is not touched here.

use ebur128::{EbuR128, Mode};

use super::frame::SAMPLE_RATE;
use super::limiter::limit_true_peak;
use crate::g711::Law;

/// The engine's default target, LUFS (`[engine] loudness`).
pub const DEFAULT_LUFS: f64 = -18.0;
/// The targets a config may choose, LUFS.
pub const LUFS_RANGE: std::ops::RangeInclusive<f64> = -30.0..=-10.0;
/// No true peak above this after encoding, dBTP.
pub const CEILING_DBTP: f64 = -1.0;
/// The most a quiet clip is raised, dB.
pub const MAX_BOOST_DB: f64 = 24.0;
/// Where the limiter first aims, dBTP: half a dB under the ceiling leaves room for G.711's
/// quantisation (the top µ-law step is 1024 of 32768).
const FIRST_AIM_DBTP: f64 = -1.5;

/// The loudness sounds are levelled to. A plain number the config hands down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoudnessTarget {
    /// Integrated loudness, LUFS, within [`LUFS_RANGE`].
    pub lufs: f64,
}

impl Default for LoudnessTarget {
    fn default() -> Self {
        LoudnessTarget { lufs: DEFAULT_LUFS }
    }
}

/// One measurement of a clip.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Loudness {
    /// Integrated loudness, LUFS; None when nothing is above the -70 LUFS gate (silence).
    pub lufs: Option<f64>,
    /// True peak, dBTP (-inf for digital silence is reported as None).
    pub true_peak_dbtp: Option<f64>,
}

/// What [`normalise`] found and did, for reports (`--json`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Levelled {
    /// The clip as it came.
    pub measured: Loudness,
    /// The gain applied to reach the target, dB (0 when exempt).
    pub gain_db: f64,
    /// The limiter's deepest gain reduction on top of that, dB (0 when no peak was over).
    pub limited_db: f64,
    /// The clip as it is played, after G.711 encoding and decoding.
    pub result: Loudness,
}

fn to_db(linear: f64) -> Option<f64> {
    (linear > 0.0).then(|| 20.0 * linear.log10())
}

/// Integrated loudness and true peak of 8 kHz mono samples.
pub fn measure(samples: &[i16]) -> Loudness {
    measure_at(samples, SAMPLE_RATE)
}

/// Integrated loudness and true peak of mono samples at `rate` Hz.
pub fn measure_at(samples: &[i16], rate: u32) -> Loudness {
    let Ok(mut m) = EbuR128::new(1, rate, Mode::I | Mode::TRUE_PEAK) else {
        return Loudness {
            lufs: None,
            true_peak_dbtp: None,
        };
    };
    let _ = m.add_frames_i16(samples);
    Loudness {
        lufs: m.loudness_global().ok().filter(|l| l.is_finite()),
        true_peak_dbtp: m.true_peak(0).ok().and_then(to_db),
    }
}

/// The samples after G.711 encoding and decoding with `law`: what a phone plays.
pub fn through_codec(samples: &[i16], law: Law) -> Vec<i16> {
    samples.iter().map(|&s| law.decode(law.encode(s))).collect()
}

/// The gain that brings `measured` to `target`, dB: 0 for silence, at most [`MAX_BOOST_DB`].
pub fn gain_to(measured: &Loudness, target: LoudnessTarget) -> f64 {
    match measured.lufs {
        Some(l) => (target.lufs - l).min(MAX_BOOST_DB),
        None => 0.0,
    }
}

/// `samples` gained to `target`, limited so that no true peak exceeds [`CEILING_DBTP`] once
/// encoded with `law`, and what was done.
pub fn normalise(samples: &[i16], target: LoudnessTarget, law: Law) -> (Vec<i16>, Levelled) {
    normalise_at(samples, SAMPLE_RATE, target, &|s| through_codec(s, law))
}

/// [`normalise`] for samples at `rate` Hz whose codec turns a clip into `through(clip)` (what
/// a phone plays: G.711 of 8 kHz audio, G.722 of 16 kHz audio).
pub fn normalise_at(
    samples: &[i16],
    rate: u32,
    target: LoudnessTarget,
    through: &dyn Fn(&[i16]) -> Vec<i16>,
) -> (Vec<i16>, Levelled) {
    let measured = measure_at(samples, rate);
    let gain_db = gain_to(&measured, target);
    let factor = 10f64.powf(gain_db / 20.0) as f32;
    let gained: Vec<f32> = samples
        .iter()
        .map(|&s| f32::from(s) / 32768.0 * factor)
        .collect();
    let mut aim = FIRST_AIM_DBTP;
    let mut best = None;
    for _ in 0..6 {
        let mut x = gained.clone();
        let limited_db = f64::from(limit_true_peak(&mut x, 10f64.powf(aim / 20.0) as f32));
        let out: Vec<i16> = x
            .iter()
            .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        let result = measure_at(&through(&out), rate);
        let over = result.true_peak_dbtp.map_or(0.0, |p| p - CEILING_DBTP);
        best = Some((out, limited_db, result));
        if over <= 0.0 {
            break;
        }
        aim -= over + 0.1;
    }
    let (out, limited_db, result) = best.expect("at least one pass");
    (
        out,
        Levelled {
            measured,
            gain_db,
            limited_db,
            result,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `secs` of a `hz` sine at `dbfs` peak.
    fn sine(hz: f64, dbfs: f64, secs: f64) -> Vec<i16> {
        let amp = 32767.0 * 10f64.powf(dbfs / 20.0);
        (0..(secs * 8000.0) as usize)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
            .collect()
    }

    /// A sine whose loudness is `lufs` (found by measuring, not assumed).
    fn sine_at(hz: f64, lufs: f64) -> Vec<i16> {
        let probe = measure(&sine(hz, -20.0, 3.0)).lufs.unwrap();
        sine(hz, -20.0 + lufs - probe, 3.0)
    }

    #[test]
    fn a_quiet_and_a_loud_sine_both_come_out_at_the_target() {
        for law in [Law::Ulaw, Law::Alaw] {
            for (hz, lufs) in [(1000.0, -30.0), (440.0, -6.0), (2500.0, -24.0)] {
                let x = sine_at(hz, lufs);
                assert!((measure(&x).lufs.unwrap() - lufs).abs() < 0.2);
                let (y, what) = normalise(&x, LoudnessTarget::default(), law);
                let out = measure(&through_codec(&y, law)).lufs.unwrap();
                assert!(
                    (out + 18.0).abs() <= 0.5,
                    "{hz} Hz at {lufs} LUFS came out {out}"
                );
                assert!((what.gain_db - (-18.0 - lufs)).abs() < 0.2, "{what:?}");
                assert_eq!(what.limited_db, 0.0, "a sine at -18 LUFS has room");
                assert_eq!(what.result.lufs, Some(out));
            }
        }
    }

    #[test]
    fn peaks_stay_under_the_ceiling_after_the_codec_and_nothing_clips() {
        // A quiet crest-heavy clip: clicks of full scale on a quiet bed. Raising the bed to
        // -18 LUFS would push the clicks far past full scale without the limiter.
        let mut x = sine(300.0, -40.0, 4.0);
        for i in (0..x.len()).step_by(1600) {
            for (k, v) in x.iter_mut().skip(i).take(4).enumerate() {
                *v = if k % 2 == 0 { 12000 } else { -12000 };
            }
        }
        for law in [Law::Ulaw, Law::Alaw] {
            let (y, what) = normalise(&x, LoudnessTarget { lufs: -10.0 }, law);
            assert!(what.limited_db > 6.0, "{what:?}");
            let heard = through_codec(&y, law);
            let tp = measure(&heard).true_peak_dbtp.unwrap();
            assert!(tp <= CEILING_DBTP, "{law:?}: true peak {tp} dBTP");
            assert!(heard.iter().all(|&s| s > i16::MIN + 1 && s < i16::MAX - 1));
            assert_eq!(what.result.true_peak_dbtp, Some(tp));
        }
    }

    #[test]
    fn silence_and_very_quiet_clips_are_not_blown_up() {
        let (y, what) = normalise(&[0; 8000], LoudnessTarget::default(), Law::Ulaw);
        assert_eq!(what.gain_db, 0.0);
        assert!(y.iter().all(|&s| s == 0));
        assert_eq!(what.measured.lufs, None);
        let hiss = sine_at(1000.0, -60.0);
        let (_, what) = normalise(&hiss, LoudnessTarget::default(), Law::Ulaw);
        assert_eq!(what.gain_db, MAX_BOOST_DB);
    }
}
