//! Slow automatic gain for live sources (the microphone, a talker relayed to a zone): toward the
//! same loudness target as prepared sounds, with a look-ahead peak limiter after it.
//!
//! [`LiveLevel`] is fed 20 ms frames and changes them in place. It measures the *incoming*
//! short-term loudness (EBU R128, the last 3 s) and steers its gain toward
//! `target − short-term`, bounded to [`MIN_GAIN_DB`]..=[`MAX_GAIN_DB`], moving at most
//! [`ATTACK_DB_PER_S`] down and [`RELEASE_DB_PER_S`] up: slow enough that speech keeps its
//! dynamics and a shout is brought down within about a second. While the input is below
//! [`GATE_LUFS`] (a pause, room noise) the gain holds still, so silence is never pumped up.
//!
//! The limiter holds sample peaks at or below [`LIVE_CEILING_DBFS`] (-2 dBFS: the extra dB
//! under the prepared sounds' -1 dBTP covers the waveform between samples, which a live path
//! cannot oversample cheaply). It delays the audio by [`LIVE_LOOKAHEAD`] samples (2.5 ms) so
//! the gain can ramp down before a peak leaves instead of cutting it. [`AutoGain`] wraps any
//! [`Source`] with one. No allocation after [`LiveLevel::new`].

use ebur128::{EbuR128, Mode};

use super::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE, Source};
use super::loudness::LoudnessTarget;

/// Fastest fall of the gain, dB per second (a sudden shout).
pub const ATTACK_DB_PER_S: f64 = 6.0;
/// Fastest rise of the gain, dB per second (a quiet talker).
pub const RELEASE_DB_PER_S: f64 = 2.0;
/// Lowest gain, dB.
pub const MIN_GAIN_DB: f64 = -20.0;
/// Highest gain, dB.
pub const MAX_GAIN_DB: f64 = 20.0;
/// Input quieter than this (short-term) holds the gain, LUFS.
pub const GATE_LUFS: f64 = -50.0;
/// The limiter's ceiling on sample peaks, dBFS.
pub const LIVE_CEILING_DBFS: f64 = -2.0;
/// The limiter's look-ahead and delay, samples (2.5 ms).
pub const LIVE_LOOKAHEAD: usize = 20;
/// Frames per second.
const FRAMES_PER_S: f64 = SAMPLE_RATE as f64 / FRAME_SAMPLES as f64;

/// The gain and limiter state of one live source.
pub struct LiveLevel {
    target: f64,
    meter: Option<EbuR128>,
    gain_db: f64,
    /// The last `LIVE_LOOKAHEAD` gained samples and each one's required gain.
    delay: [(f32, f32); LIVE_LOOKAHEAD],
    at: usize,
    limiter_gain: f32,
}

impl LiveLevel {
    /// Levelling toward `target`, starting at 0 dB.
    pub fn new(target: LoudnessTarget) -> LiveLevel {
        LiveLevel {
            target: target.lufs,
            meter: EbuR128::new(1, SAMPLE_RATE, Mode::S).ok(),
            gain_db: 0.0,
            delay: [(0.0, 1.0); LIVE_LOOKAHEAD],
            at: 0,
            limiter_gain: 1.0,
        }
    }

    /// The gain now, dB (before the limiter).
    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }

    /// Level one frame in place (the output lags the input by [`LIVE_LOOKAHEAD`] samples).
    pub fn process(&mut self, frame: &mut Frame) {
        if let Some(m) = &mut self.meter
            && m.add_frames_i16(&frame[..]).is_ok()
            && let Ok(st) = m.loudness_shortterm()
            && st.is_finite()
            && st > GATE_LUFS
        {
            let want = (self.target - st).clamp(MIN_GAIN_DB, MAX_GAIN_DB);
            let step = want - self.gain_db;
            self.gain_db += step.clamp(
                -ATTACK_DB_PER_S / FRAMES_PER_S,
                RELEASE_DB_PER_S / FRAMES_PER_S,
            );
        }
        let factor = 10f64.powf(self.gain_db / 20.0) as f32;
        let ceiling = 10f64.powf(LIVE_CEILING_DBFS / 20.0) as f32;
        let release = 1.0 - (-1.0f32 / 400.0).exp();
        for s in frame.iter_mut() {
            let x = f32::from(*s) / 32768.0 * factor;
            let need = if x.abs() > ceiling {
                ceiling / x.abs()
            } else {
                1.0
            };
            let (out, need_out) = self.delay[self.at];
            self.delay[self.at] = (x, need);
            self.at = (self.at + 1) % LIVE_LOOKAHEAD;
            // The gain for the sample leaving now meets its own requirement in full, and every
            // waiting sample's requirement eased in linearly over how far it still has to go.
            let mut allowed = need_out;
            for d in 0..LIVE_LOOKAHEAD {
                let (_, need) = self.delay[(self.at + d) % LIVE_LOOKAHEAD];
                let ease = (d + 1) as f32 / LIVE_LOOKAHEAD as f32;
                allowed = allowed.min(need + (1.0 - need) * ease);
            }
            self.limiter_gain =
                allowed.min(self.limiter_gain + (1.0 - self.limiter_gain) * release);
            *s = (out * self.limiter_gain * 32768.0)
                .round()
                .clamp(-32768.0, 32767.0) as i16;
        }
    }
}

/// A [`Source`] levelled by a [`LiveLevel`].
pub struct AutoGain<S> {
    inner: S,
    level: LiveLevel,
}

impl<S: Source> AutoGain<S> {
    /// `inner` levelled toward `target`.
    pub fn new(inner: S, target: LoudnessTarget) -> AutoGain<S> {
        AutoGain {
            inner,
            level: LiveLevel::new(target),
        }
    }
}

impl<S: Source> Source for AutoGain<S> {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        if !self.inner.next_frame(frame) {
            return false;
        }
        self.level.process(frame);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::loudness::measure;

    /// `secs` of a 500 Hz sine at `dbfs` peak, as frames.
    fn frames(dbfs: f64, secs: f64) -> Vec<Frame> {
        let amp = 32767.0 * 10f64.powf(dbfs / 20.0);
        let n = (secs * 50.0) as usize;
        (0..n)
            .map(|f| {
                std::array::from_fn(|i| {
                    let t = (f * FRAME_SAMPLES + i) as f64 / 8000.0;
                    (amp * (2.0 * std::f64::consts::PI * 500.0 * t).sin()) as i16
                })
            })
            .collect()
    }

    fn run(level: &mut LiveLevel, input: Vec<Frame>) -> Vec<i16> {
        let mut out = Vec::new();
        for mut f in input {
            level.process(&mut f);
            out.extend_from_slice(&f);
        }
        out
    }

    #[test]
    fn a_quiet_talker_is_raised_slowly_toward_the_target() {
        let mut level = LiveLevel::new(LoudnessTarget::default());
        // A 500 Hz sine at -36 dBFS peak is about -39 LUFS: 20 dB to go, capped at +20.
        let first = run(&mut level, frames(-36.0, 2.0));
        // After 2 s it has risen at most 2 dB/s.
        assert!(
            level.gain_db() > 2.0 && level.gain_db() <= 4.0 + 1e-9,
            "{}",
            level.gain_db()
        );
        let late = run(&mut level, frames(-36.0, 20.0));
        let lufs = measure(&late[late.len() - 5 * 8000..]).lufs.unwrap();
        assert!(
            (lufs + 19.0).abs() < 1.5,
            "settled at {lufs} LUFS, gain {}",
            level.gain_db()
        );
        assert!(first.len() == 2 * 8000);
    }

    #[test]
    fn a_shout_comes_down_and_peaks_never_pass_the_ceiling() {
        let mut level = LiveLevel::new(LoudnessTarget::default());
        let out = run(&mut level, frames(0.0, 6.0));
        let ceiling = 32768.0 * 10f64.powf(LIVE_CEILING_DBFS / 20.0);
        let peak = out.iter().map(|&s| f64::from(s).abs()).fold(0.0, f64::max);
        assert!(peak <= ceiling + 1.0, "peak {peak} over {ceiling}");
        assert!(level.gain_db() < -10.0, "gain {}", level.gain_db());
        let lufs = measure(&out[out.len() - 8000..]).lufs.unwrap();
        assert!((lufs + 18.0).abs() < 1.5, "{lufs}");
    }

    #[test]
    fn silence_holds_the_gain_and_stays_silent() {
        let mut level = LiveLevel::new(LoudnessTarget::default());
        let out = run(&mut level, frames(-120.0, 3.0));
        assert_eq!(level.gain_db(), 0.0);
        assert!(out.iter().all(|&s| s == 0));
    }
}
