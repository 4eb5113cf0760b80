//! Sources of audio for a page: every source yields 20 ms frames of 160 mono samples at 8 kHz.
//!
//! Owns decoding (WAV, MP3, FLAC, Ogg Vorbis, raw G.711), anti-aliased resampling to 8 kHz,
//! generated signals (tone, chime, silence), gain, and the live microphone. It does not know about
//! RTP or G.711 framing on the wire: [`crate::rtp`] takes frames from here.
//!
//! - [`Clip`]: a whole sound decoded into memory ([`Clip::load`]), played by [`ClipSource`].
//! - [`resample()`]: offline sample-rate conversion with a sinc anti-aliasing filter.
//! - [`Tone`], [`Chime`], [`Silence`]: generated sources; [`Gain`] and [`Limited`] wrap any source;
//!   [`render`] collects a source into samples.
//! - [`mic`]: the live microphone ([`mic::Mic::open`]) and its bounded [`FrameQueue`].
//! - [`speaker`]: live playback of 8 kHz audio on an output device ([`speaker::Speaker::open`]).
//! - [`loudness`]: equal loudness of prepared sounds (BS.1770 / R128 measurement, gain to the
//!   [`LoudnessTarget`], a look-ahead true-peak limiter) and [`AutoGain`]: slow automatic gain
//!   with a limiter for live sources.
//! - [`AudioError`]: every failure here, naming the file or device involved.
//!
//! Submodules: `agc` (slow automatic gain and limiter of live sources), `clip` (whole sounds in
//! memory), `decode` (files to mono samples), `error` (`AudioError`), `frame` (the 20 ms `Frame`,
//! its rate and the `Source` trait), `frame_queue` (live samples to 20 ms frames), `limiter`
//! (the look-ahead true-peak limiter of prepared sounds), `loudness` (measuring and levelling
//! prepared sounds), `mic`, `resample`, `signal` (generated sources and wrappers), `speaker`,
//! `test_util` (measuring helpers for the tests).

mod agc;
mod clip;
mod decode;
mod error;
mod frame;
mod frame_queue;
mod limiter;
pub mod loudness;
pub mod mic;
mod resample;
mod signal;
pub mod speaker;
#[cfg(test)]
mod test_util;

pub use agc::{AutoGain, LiveLevel};
pub use clip::{Clip, ClipSource, load_mono};
pub use error::AudioError;
pub use frame::{FRAME_DURATION, FRAME_SAMPLES, Frame, SAMPLE_RATE, Source};
pub use frame_queue::{FrameQueue, QueueStats};
pub use loudness::{Levelled, LoudnessTarget};
pub use resample::{StreamResampler, resample, resampled_len};
pub use signal::{
    Chime, DEFAULT_TONE_DBFS, Gain, Limited, Silence, Tone, db_to_factor, frames_in, render,
};
