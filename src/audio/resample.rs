//! Sample-rate conversion with a real anti-aliasing filter: [`resample()`] for whole clips,
//! [`StreamResampler`] for the live microphone.
//!
//! Both use rubato's windowed-sinc filters with the cutoff below the lower Nyquist frequency, so
//! content above 4 kHz is removed before it can fold back into the telephone band (a 6 kHz
//! whistle in a 44.1 kHz file must not become a 2 kHz whistle on the phones). Plain interpolation
//! (dasp, rubato's polynomial mode) does not filter when downsampling and is not used.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters, WindowFunction,
};

use super::error::AudioError;
use super::frame::{FRAME_SAMPLES, SAMPLE_RATE};
use crate::error::Invalid;

/// FFT block the offline resampler works in. 2048 input frames puts the filter's cutoff above
/// 3.6 kHz for 44.1/48 kHz → 8 kHz (the telephone band ends at 3.4 kHz), and its stopband far
/// below -100 dB.
const CLIP_CHUNK: usize = 2048;

fn check_rate(field: &str, hz: u32) -> Result<usize, AudioError> {
    if hz == 0 {
        return Err(Invalid::new(field, hz, "must be above 0 Hz").into());
    }
    usize::try_from(hz).map_err(|_| Invalid::new(field, hz, "too large for this platform").into())
}

/// The number of output samples [`resample()`] returns: `round(len * to / from)`.
pub fn resampled_len(len: usize, from_hz: u32, to_hz: u32) -> usize {
    let (len, from, to) = (len as u128, u128::from(from_hz.max(1)), u128::from(to_hz));
    usize::try_from((2 * len * to + from) / (2 * from)).unwrap_or(usize::MAX)
}

/// Convert mono `input` sampled at `from_hz` to `to_hz`.
///
/// The output has exactly `round(len * to / from)` samples and is time-aligned with the input
/// (the filter's delay is trimmed off, not left as leading silence). When downsampling,
/// everything above the new Nyquist frequency is attenuated by well over 60 dB. Equal rates
/// return a copy.
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AudioError> {
    let from = check_rate("input sample rate", from_hz)?;
    let to = check_rate("output sample rate", to_hz)?;
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let err = |reason: String| AudioError::Resample {
        from_hz,
        to_hz,
        reason,
    };
    // A fixed ratio: the FFT resampler is both the fastest and the best filter rubato has.
    let mut r = Fft::<f32>::new_custom(
        from,
        to,
        CLIP_CHUNK,
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Both,
    )
    .map_err(|e| err(e.to_string()))?;
    let adapter = InterleavedSlice::new(input, 1, input.len()).map_err(|e| err(e.to_string()))?;
    // `process_all` trims the startup delay; it rounds the length up, we want it rounded.
    let out = r
        .process_all(&adapter, input.len(), None)
        .map_err(|e| err(e.to_string()))?;
    let mut data = out.take_data();
    data.resize(resampled_len(input.len(), from_hz, to_hz), 0.0);
    Ok(data)
}

/// A float sample in [-1, 1) to 16-bit, rounding and clipping (resampling can overshoot).
pub(crate) fn f32_to_i16(x: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (x * 32768.0).round() as i16
}

/// Incremental resampler from a device rate to 8 kHz, fed one sample at a time and emitting
/// 20 ms frames. Owned by the device callback thread; allocates only in [`StreamResampler::new`].
pub struct StreamResampler {
    inner: Option<Box<Async<f32>>>,
    pending: Vec<f32>,
    filled: usize,
    needed: usize,
    out: Vec<f32>,
    frame: [i16; FRAME_SAMPLES],
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("resampling", &self.inner.is_some())
            .field("filled", &self.filled)
            .field("needed", &self.needed)
            .finish()
    }
}

impl StreamResampler {
    /// A resampler from `from_hz` to 8 kHz. At 8 kHz input it only converts and frames.
    pub fn new(from_hz: u32) -> Result<StreamResampler, AudioError> {
        check_rate("input sample rate", from_hz)?;
        if from_hz == SAMPLE_RATE {
            return Ok(StreamResampler {
                inner: None,
                pending: Vec::new(),
                filled: 0,
                needed: 0,
                out: Vec::new(),
                frame: [0; FRAME_SAMPLES],
            });
        }
        // Asynchronous sinc with a fixed 160-sample output: any device rate works (even odd
        // ones like 44056 Hz that make FFT blocks huge), each call yields exactly one frame,
        // and a 128-tap filter delays the audio by well under a millisecond of input.
        let params = SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2);
        let ratio = f64::from(SAMPLE_RATE) / f64::from(from_hz);
        let r = Async::<f32>::new_sinc(ratio, 1.0, &params, FRAME_SAMPLES, 1, FixedAsync::Output)
            .map_err(|e| AudioError::Resample {
            from_hz,
            to_hz: SAMPLE_RATE,
            reason: e.to_string(),
        })?;
        let pending = vec![0.0; r.input_frames_max()];
        let out = vec![0.0; r.output_frames_max()];
        let needed = r.input_frames_next();
        Ok(StreamResampler {
            inner: Some(Box::new(r)),
            pending,
            filled: 0,
            needed,
            out,
            frame: [0; FRAME_SAMPLES],
        })
    }

    /// Feed one mono sample in [-1, 1); `emit` receives each finished 8 kHz frame.
    #[inline]
    pub fn push(&mut self, sample: f32, emit: &mut impl FnMut(&[i16])) {
        let Some(r) = self.inner.as_mut() else {
            self.frame[self.filled] = f32_to_i16(sample);
            self.filled += 1;
            if self.filled == FRAME_SAMPLES {
                self.filled = 0;
                emit(&self.frame);
            }
            return;
        };
        self.pending[self.filled] = sample;
        self.filled += 1;
        if self.filled < self.needed {
            return;
        }
        self.filled = 0;
        let out_len = self.out.len();
        let written = match (
            InterleavedSlice::new(&self.pending[..self.needed], 1, self.needed),
            InterleavedSlice::new_mut(&mut self.out[..], 1, out_len),
        ) {
            (Ok(input), Ok(mut output)) => r
                .process_into_buffer(&input, &mut output, None)
                .map_or(0, |(_, written)| written),
            // Sizes come from the resampler itself; a mismatch would be a bug, and dropping
            // one frame of live audio beats panicking in the device thread.
            _ => 0,
        };
        self.needed = r.input_frames_next();
        if self.needed > self.pending.len() {
            self.needed = self.pending.len();
        }
        for (dst, &src) in self.frame.iter_mut().zip(&self.out[..written]) {
            *dst = f32_to_i16(src);
        }
        if written > 0 {
            emit(&self.frame[..written.min(FRAME_SAMPLES)]);
        }
    }

    /// Feed many mono samples.
    pub fn process(&mut self, samples: &[f32], emit: &mut impl FnMut(&[i16])) {
        for &s in samples {
            self.push(s, emit);
        }
    }
}

#[cfg(test)]
#[path = "resample_tests.rs"]
mod tests;
