//! Generated sources and source wrappers: [`Tone`], [`Chime`], [`Silence`], [`Gain`],
//! [`Limited`], and [`render`] to collect any source into samples.
//!
//! Levels are peak levels in dBFS: 0 dB is a sine whose peak is full scale (32767), so
//! `Tone::new(1000.0, -10.0)` peaks at 10362. Nothing here allocates in `next_frame`, so every
//! source can run on the pacer thread.

use std::f64::consts::TAU;
use std::time::Duration;

use super::frame::{FRAME_DURATION, FRAME_SAMPLES, Frame, SAMPLE_RATE, Source};
use crate::error::Invalid;

/// A sensible level for test tones and the CLI: clearly audible on a phone speaker, 10 dB clear
/// of clipping (G.711 µ-law tops out just under full scale).
pub const DEFAULT_TONE_DBFS: f32 = -10.0;

/// Level of the chime's loudest moment: leaves headroom for the two notes overlapping.
const CHIME_DBFS: f32 = -3.0;

/// Linear factor of a gain in dB (`-6.02` dB → 0.5). Non-finite input gives 0 (mute), not NaN.
pub fn db_to_factor(db: f32) -> f32 {
    let f = 10f32.powf(db / 20.0);
    if f.is_finite() { f } else { 0.0 }
}

/// How many 20 ms frames cover `d`, rounded up: a limit never cuts audio short of what was asked.
pub fn frames_in(d: Duration) -> u64 {
    let frame_ns = FRAME_DURATION.as_nanos();
    u64::try_from(d.as_nanos().div_ceil(frame_ns)).unwrap_or(u64::MAX)
}

/// Multiply `samples` by `factor`, saturating at the i16 range instead of wrapping.
pub(crate) fn apply_gain(samples: &mut [i16], factor: f32) {
    if factor == 1.0 {
        return;
    }
    for s in samples {
        // `as i16` on f32 saturates (and maps NaN to 0), which is exactly the clipping we want.
        *s = (f32::from(*s) * factor).round() as i16;
    }
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        (**self).next_frame(frame)
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        (**self).next_frame(frame)
    }
}

/// A continuous sine wave, forever. The phase carries across frames, so frame edges are inaudible.
#[derive(Debug, Clone)]
pub struct Tone {
    phase: f64,
    step: f64,
    amplitude: f64,
    freq_hz: f32,
}

impl Tone {
    /// A sine of `freq_hz` hertz peaking at `gain_db` dBFS (0 = full scale; positive values are
    /// clamped to 0). A frequency at or above 4 kHz cannot be carried at 8 kHz and aliases; use
    /// [`Tone::try_new`] to refuse such input.
    pub fn new(freq_hz: f32, gain_db: f32) -> Tone {
        let amplitude = f64::from(db_to_factor(gain_db.min(0.0))) * f64::from(i16::MAX);
        Tone {
            phase: 0.0,
            step: TAU * f64::from(freq_hz) / f64::from(SAMPLE_RATE),
            amplitude,
            freq_hz,
        }
    }

    /// Like [`Tone::new`], but refuses a frequency outside `0 < f < 4000` Hz or a non-finite
    /// level, naming the value and the rule.
    pub fn try_new(freq_hz: f32, gain_db: f32) -> Result<Tone, Invalid> {
        let nyquist = SAMPLE_RATE as f32 / 2.0;
        if !(freq_hz.is_finite() && freq_hz > 0.0 && freq_hz < nyquist) {
            return Err(Invalid::new(
                "tone frequency",
                freq_hz,
                "must be above 0 and below 4000 Hz (8 kHz audio carries up to 4 kHz)",
            ));
        }
        if !gain_db.is_finite() {
            return Err(Invalid::new(
                "tone level",
                gain_db,
                "must be a finite dBFS value",
            ));
        }
        Ok(Tone::new(freq_hz, gain_db))
    }

    /// The frequency in Hz.
    pub fn frequency(&self) -> f32 {
        self.freq_hz
    }
}

impl Source for Tone {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        for s in frame.iter_mut() {
            *s = (self.amplitude * self.phase.sin()).round() as i16;
            // Wrapping keeps the f64 phase small, so precision does not decay over hours.
            self.phase = (self.phase + self.step) % TAU;
        }
        true
    }
}

/// One bell-like note of the chime: a sine with an exponential decay.
struct Note {
    freq_hz: f64,
    start_s: f64,
    decay_s: f64,
}

/// The strike partials of each note: (ratio to the note, level, decay time constant in s).
/// All lie above 3.6 kHz, so the 8 kHz chime has none of them.
const STRIKE: [(f64, f64, f64); 2] = [(6.1, 0.25, 0.08), (7.3, 0.18, 0.06)];
/// Partials are drawn up to this share of the rate (under the Nyquist frequency, with room
/// for the codec's filters).
const BAND: f64 = 0.45;

/// "Ding" (G5) then "dong" (E5), the classic two-tone door chime; the ding rings on under the dong.
const NOTES: [Note; 2] = [
    Note {
        freq_hz: 784.0,
        start_s: 0.0,
        decay_s: 0.30,
    },
    Note {
        freq_hz: 659.25,
        start_s: 0.5,
        decay_s: 0.40,
    },
];
/// Total length of the chime: 75 frames.
const CHIME_SAMPLES: u32 = SAMPLE_RATE * 3 / 2;
/// A few ms of attack and release, so the notes start and the chime ends without a click.
const ATTACK_S: f64 = 0.004;
const RELEASE_S: f64 = 0.060;

/// A two-tone "ding-dong" chime (784 Hz then 659 Hz, each decaying exponentially), 1.5 s long,
/// then the source ends. Played before an announcement to get attention.
#[derive(Debug, Clone)]
pub struct Chime {
    n: u32,
    amplitude: f64,
}

impl Default for Chime {
    fn default() -> Self {
        Chime::new()
    }
}

impl Chime {
    /// The chime at its default level (peaks near -3 dBFS).
    pub fn new() -> Chime {
        Chime::with_level(CHIME_DBFS)
    }

    /// The chime with its loudest moment at about `dbfs` (clamped to 0 dBFS).
    pub fn with_level(dbfs: f32) -> Chime {
        // Each note peaks at `amplitude`; the first has decayed to exp(-0.5/0.3) = 0.19 when the
        // second starts, so the sum stays below 1.19 * amplitude. Scale so that sum hits `dbfs`.
        let peak = f64::from(db_to_factor(dbfs.min(0.0))) * f64::from(i16::MAX);
        Chime {
            n: 0,
            amplitude: peak / 1.19,
        }
    }

    /// The chime's length.
    pub fn duration() -> Duration {
        Duration::from_millis(1500)
    }

    /// The whole chime at its default level, mono at `rate` Hz (16 kHz for a G.722 stream: the
    /// same notes computed at that rate, with the strike partials that fit under its band, not
    /// an 8 kHz chime upsampled).
    pub fn render_at(rate: u32) -> Vec<i16> {
        let chime = Chime::new();
        let len = u64::from(rate) * 3 / 2;
        let band = f64::from(rate) * BAND;
        (0..len)
            .map(|n| chime.at(n as f64 / f64::from(rate), band).round() as i16)
            .collect()
    }

    fn sample(&self, n: u32) -> f64 {
        self.at(
            f64::from(n) / f64::from(SAMPLE_RATE),
            f64::from(SAMPLE_RATE) * BAND,
        )
    }

    /// The chime's value `t` seconds in, with the partials below `band` Hz.
    fn at(&self, t: f64, band: f64) -> f64 {
        let mut v = 0.0;
        for note in &NOTES {
            let local = t - note.start_s;
            if local < 0.0 {
                continue;
            }
            let attack = (local / ATTACK_S).min(1.0);
            v += attack * (-local / note.decay_s).exp() * (TAU * note.freq_hz * local).sin();
            // The metal's bright strike: upper partials that die within a tenth of a second,
            // heard only where the rate carries them (never at 8 kHz).
            for &(ratio, level, decay) in &STRIKE {
                let hz = note.freq_hz * ratio;
                if hz < band {
                    v += attack * level * (-local / decay).exp() * (TAU * hz * local).sin();
                }
            }
        }
        let left = f64::from(CHIME_SAMPLES) / f64::from(SAMPLE_RATE) - t;
        v * (left / RELEASE_S).min(1.0) * self.amplitude
    }
}

impl Source for Chime {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        if self.n >= CHIME_SAMPLES {
            return false;
        }
        for s in frame.iter_mut() {
            *s = if self.n < CHIME_SAMPLES {
                self.sample(self.n).round() as i16
            } else {
                0
            };
            self.n += 1;
        }
        true
    }
}

/// Digital silence: forever ([`Silence::new`]) or for a while ([`Silence::for_duration`]).
#[derive(Debug, Clone, Default)]
pub struct Silence {
    remaining: Option<u64>,
}

impl Silence {
    /// Silence that never ends.
    pub fn new() -> Silence {
        Silence { remaining: None }
    }

    /// Silence for `d`, rounded up to whole 20 ms frames.
    pub fn for_duration(d: Duration) -> Silence {
        Silence {
            remaining: Some(frames_in(d)),
        }
    }
}

impl Source for Silence {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        if let Some(left) = &mut self.remaining {
            if *left == 0 {
                return false;
            }
            *left -= 1;
        }
        frame.fill(0);
        true
    }
}

/// Another source made louder or quieter by a fixed number of dB, clipping (not wrapping) at
/// full scale.
#[derive(Debug, Clone)]
pub struct Gain<S> {
    inner: S,
    factor: f32,
}

impl<S: Source> Gain<S> {
    /// Scale `inner` by `db` decibels (`-6.0` halves the amplitude).
    pub fn new(inner: S, db: f32) -> Gain<S> {
        Gain {
            inner,
            factor: db_to_factor(db),
        }
    }

    /// The wrapped source.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Source> Source for Gain<S> {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        if !self.inner.next_frame(frame) {
            return false;
        }
        apply_gain(frame, self.factor);
        true
    }
}

/// Another source cut off after a duration (rounded up to whole frames), or earlier if it ends.
#[derive(Debug, Clone)]
pub struct Limited<S> {
    inner: S,
    remaining: u64,
}

impl<S: Source> Limited<S> {
    /// End `inner` after `max`.
    pub fn new(inner: S, max: Duration) -> Limited<S> {
        Limited {
            inner,
            remaining: frames_in(max),
        }
    }
}

impl<S: Source> Source for Limited<S> {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        if self.remaining == 0 || !self.inner.next_frame(frame) {
            self.remaining = 0;
            return false;
        }
        self.remaining -= 1;
        true
    }
}

/// Collect `source` into samples until it ends or `max` (rounded up to whole frames) has been
/// produced. Allocates; meant for setup and tests, not the pacer. A source that never ends is
/// rendered for exactly `max`, so do not pass `Duration::MAX` with one.
pub fn render<S: Source>(mut source: S, max: Duration) -> Vec<i16> {
    let frames = frames_in(max);
    // Reserve for at most a minute up front: `max` may be huge for a source expected to end.
    let reserve = usize::try_from(frames.min(3000)).unwrap_or(0) * FRAME_SAMPLES;
    let mut out = Vec::with_capacity(reserve);
    let mut frame = [0i16; FRAME_SAMPLES];
    for _ in 0..frames {
        if !source.next_frame(&mut frame) {
            break;
        }
        out.extend_from_slice(&frame);
    }
    out
}

#[cfg(test)]
#[path = "signal_tests.rs"]
mod tests;
