//! [`Clip`]: a whole sound decoded into memory at 8 kHz mono, and [`ClipSource`] to play it.
//!
//! Decoding and resampling happen once, in [`Clip::load`], before the first packet; playing is a
//! copy. The samples sit in an `Arc<[i16]>`, so one clip can feed many streams at no cost.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::decode::{Pcm, decode_file};
use super::error::AudioError;
use super::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE, Source};
use super::resample::{f32_to_i16, resample};
use super::signal::{apply_gain, db_to_factor};

/// Read and decode a sound file like [`Clip::load`], mixed down to mono but *not* resampled:
/// returns the samples as floats in [-1, 1) and their native rate (headerless G.711 `.raw`
/// files come back at 8000 Hz). For callers that resample to a rate of their own (ring files
/// at 16 kHz). Every error names the file.
pub fn load_mono(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    Ok(match decode_file(path)? {
        Pcm::Linear8k(samples) => (
            samples
                .into_iter()
                .map(|s| f32::from(s) / 32768.0)
                .collect(),
            SAMPLE_RATE,
        ),
        Pcm::Float { mono, rate } => (mono, rate),
    })
}

/// A decoded sound: 8 kHz, mono, 16-bit. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    samples: Arc<[i16]>,
}

impl Clip {
    /// Read and decode a sound file, mix it down to mono and resample it to 8 kHz.
    ///
    /// WAV of any rate, channel count and bit depth (8/16/24/32-bit integer, 32-bit float) is
    /// recognised by its RIFF header whatever the file is called; MP3, FLAC and Ogg Vorbis by
    /// content; headerless G.711 at 8 kHz by extension: `.raw`, `.ulaw`, `.mu` are µ-law,
    /// `.alaw`, `.al` are A-law. Every error names the file.
    pub fn load(path: &Path) -> Result<Clip, AudioError> {
        let samples = match decode_file(path)? {
            Pcm::Linear8k(samples) => samples,
            Pcm::Float { mono, rate } => {
                let mono = if rate == SAMPLE_RATE {
                    mono
                } else {
                    resample(&mono, rate, SAMPLE_RATE).map_err(|e| AudioError::Decode {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?
                };
                mono.into_iter().map(f32_to_i16).collect()
            }
        };
        Ok(Clip::from_samples(samples))
    }

    /// A clip of samples already at 8 kHz mono.
    pub fn from_samples(samples: Vec<i16>) -> Clip {
        Clip {
            samples: samples.into(),
        }
    }

    /// The samples, 8000 per second.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// How long the clip plays (before padding of the last frame).
    pub fn duration(&self) -> Duration {
        // One sample at 8 kHz is exactly 125 µs.
        Duration::from_micros(self.samples.len() as u64 * 125)
    }

    /// The same sound `db` decibels louder or quieter, clipping at full scale rather than
    /// wrapping.
    pub fn with_gain_db(self, db: f32) -> Clip {
        let mut samples = self.samples.to_vec();
        apply_gain(&mut samples, db_to_factor(db));
        Clip::from_samples(samples)
    }

    /// Play the clip as 20 ms frames, the last one padded with silence. With `looped` it starts
    /// over after that padded frame, forever (an empty clip ends at once either way).
    pub fn frames(&self, looped: bool) -> ClipSource {
        ClipSource {
            samples: Arc::clone(&self.samples),
            pos: 0,
            looped,
        }
    }
}

impl From<Vec<i16>> for Clip {
    fn from(samples: Vec<i16>) -> Clip {
        Clip::from_samples(samples)
    }
}

/// A [`Clip`] being played: see [`Clip::frames`].
#[derive(Debug, Clone)]
pub struct ClipSource {
    samples: Arc<[i16]>,
    pos: usize,
    looped: bool,
}

impl ClipSource {
    /// Frames this source yields per pass through the clip.
    pub fn frames_per_pass(&self) -> usize {
        self.samples.len().div_ceil(FRAME_SAMPLES)
    }
}

impl Source for ClipSource {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        if self.pos >= self.samples.len() {
            if !self.looped || self.samples.is_empty() {
                return false;
            }
            self.pos = 0;
        }
        let take = (self.samples.len() - self.pos).min(FRAME_SAMPLES);
        frame[..take].copy_from_slice(&self.samples[self.pos..self.pos + take]);
        frame[take..].fill(0);
        self.pos += take;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{Tone, render};

    #[test]
    fn frames_pad_the_last_one_with_silence() {
        let clip = Clip::from_samples((1..=200).collect());
        assert_eq!(clip.duration(), Duration::from_millis(25));
        let mut src = clip.frames(false);
        assert_eq!(src.frames_per_pass(), 2);
        let mut f = [7; FRAME_SAMPLES];
        assert!(src.next_frame(&mut f));
        assert_eq!(f[0], 1);
        assert_eq!(f[159], 160);
        assert!(src.next_frame(&mut f));
        assert_eq!(f[..40], (161..=200).collect::<Vec<i16>>()[..]);
        assert!(f[40..].iter().all(|&s| s == 0));
        assert!(!src.next_frame(&mut f));
        assert!(!src.next_frame(&mut f));
    }

    #[test]
    fn looped_starts_over_after_the_padded_frame() {
        let clip = Clip::from_samples(vec![5; 170]);
        let x = render(clip.frames(true), Duration::from_millis(100));
        assert_eq!(x.len(), 800);
        // Pass = 320 samples: 170 of audio, 150 of padding.
        assert!(x[..170].iter().all(|&s| s == 5));
        assert!(x[170..320].iter().all(|&s| s == 0));
        assert!(x[320..490].iter().all(|&s| s == 5));
    }

    #[test]
    fn empty_clip_ends_even_when_looped() {
        let clip = Clip::from_samples(Vec::new());
        assert_eq!(clip.duration(), Duration::ZERO);
        let mut f = [0; FRAME_SAMPLES];
        assert!(!clip.frames(true).next_frame(&mut f));
        assert!(!clip.frames(false).next_frame(&mut f));
    }

    #[test]
    fn gain_saturates() {
        let clip = Clip::from(render(
            Tone::new(500.0, -6.0206),
            Duration::from_millis(100),
        ));
        let louder = clip.clone().with_gain_db(12.0);
        assert_eq!(louder.samples().iter().max(), Some(&i16::MAX));
        assert!(louder.samples().iter().min() <= Some(&-32767));
        let half = clip.clone().with_gain_db(-6.0206);
        for (a, b) in clip.samples().iter().zip(half.samples()) {
            assert!((i32::from(*a) - 2 * i32::from(*b)).abs() <= 1);
        }
        assert_eq!(clip.clone().with_gain_db(0.0), clip);
    }
}
