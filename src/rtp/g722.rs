//! G.722 wideband speech (ITU-T G.722 at 64 kbit/s, RTP payload type 9): the per-stream encoder
//! and decoder state, framed for 20 ms RTP packets.
//!
//! G.722 carries 50..7000 Hz audio sampled at 16 kHz in 8 bits per two samples, so a 20 ms packet
//! is 320 samples in, 160 bytes out: the same 172-byte packet as G.711. RFC 3551 §4.5.2 fixes the
//! RTP clock of payload type 9 at 8 kHz for historical reasons, so the timestamp still advances by
//! [`crate::rtp::packet::TIMESTAMP_STEP`] (160) per packet although the audio is 16 kHz.
//!
//! The codec itself is the `audio-codec` crate's (pure Rust, no C to build; its encoder and
//! decoder interoperate with ffmpeg's `g722` both ways, checked by `tests/g722_ffmpeg.rs`). G.722 is
//! ADPCM: each stream keeps its own predictor state, so one [`G722Encoder`] / [`G722Decoder`] per
//! stream, fed its packets in order. Owns no framing beyond the 20 ms split and no RTP headers.

use audio_codec::g722::{G722Decoder as Dec, G722Encoder as Enc};
use audio_codec::{Decoder, Encoder};

/// The static RTP payload type of G.722 (RFC 3551).
pub const G722_PAYLOAD_TYPE: u8 = 9;
/// The audio sample rate of G.722 (its RTP clock is 8 kHz nevertheless).
pub const G722_SAMPLE_RATE: u32 = 16_000;
/// 16 kHz samples in one 20 ms packet.
pub const G722_FRAME_SAMPLES: usize = 320;
/// G.722 bytes in one 20 ms packet (64 kbit/s).
pub const G722_FRAME_BYTES: usize = 160;

/// One stream's G.722 encoder (64 kbit/s, 16 kHz in, byte-aligned codes out).
pub struct G722Encoder {
    inner: Enc,
}

impl G722Encoder {
    /// A fresh encoder (reset predictor state, as at the start of a stream).
    pub fn new() -> G722Encoder {
        G722Encoder { inner: Enc::new() }
    }

    /// Encode one 20 ms frame of 16 kHz samples into one packet's payload. Allocates nothing.
    pub fn encode_frame(
        &mut self,
        pcm: &[i16; G722_FRAME_SAMPLES],
        out: &mut [u8; G722_FRAME_BYTES],
    ) {
        let n = self
            .inner
            .encode_into(pcm, out)
            .expect("320 samples always fit 160 bytes at 64 kbit/s");
        debug_assert_eq!(n, G722_FRAME_BYTES);
    }

    /// Encode a whole 16 kHz sound into consecutive packet payloads, the last frame padded with
    /// silence: `len / 320` rounded up times 160 bytes.
    pub fn encode_clip(&mut self, samples: &[i16]) -> Vec<u8> {
        let frames = samples.len().div_ceil(G722_FRAME_SAMPLES);
        let mut bytes = vec![0u8; frames * G722_FRAME_BYTES];
        let mut frame = [0i16; G722_FRAME_SAMPLES];
        for (chunk, out) in samples
            .chunks(G722_FRAME_SAMPLES)
            .zip(bytes.chunks_exact_mut(G722_FRAME_BYTES))
        {
            frame[..chunk.len()].copy_from_slice(chunk);
            frame[chunk.len()..].fill(0);
            let out: &mut [u8; G722_FRAME_BYTES] = out.try_into().expect("exact chunk");
            self.encode_frame(&frame, out);
        }
        bytes
    }
}

impl Default for G722Encoder {
    fn default() -> Self {
        G722Encoder::new()
    }
}

/// One stream's G.722 decoder: payload bytes in, twice as many 16 kHz samples out.
pub struct G722Decoder {
    inner: Dec,
}

impl G722Decoder {
    /// A fresh decoder.
    pub fn new() -> G722Decoder {
        G722Decoder { inner: Dec::new() }
    }

    /// Decode `payload` into `out`, returning the samples written (two per byte). Decodes only
    /// as many bytes as `out` has room for, so a short buffer never panics.
    pub fn decode_into(&mut self, payload: &[u8], out: &mut [i16]) -> usize {
        let bytes = payload.len().min(out.len() / 2);
        self.inner
            .decode_into(&payload[..bytes], out)
            .expect("out holds two samples per byte")
    }
}

impl Default for G722Decoder {
    fn default() -> Self {
        G722Decoder::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 16_000.0).sin()) as i16
            })
            .collect()
    }

    /// The dominant frequency by counting rising zero crossings over `pcm` at 16 kHz.
    fn crossings_hz(pcm: &[i16]) -> f64 {
        let ups = pcm.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        ups as f64 * 16_000.0 / pcm.len() as f64
    }

    #[test]
    fn a_frame_is_160_bytes_and_round_trips_a_wideband_tone() {
        let pcm = tone(6000.0, 16_000);
        let mut enc = G722Encoder::new();
        let bytes = enc.encode_clip(&pcm);
        assert_eq!(bytes.len(), 50 * G722_FRAME_BYTES);
        let mut dec = G722Decoder::new();
        let mut out = vec![0i16; 16_000];
        let mut n = 0;
        for p in bytes.chunks(G722_FRAME_BYTES) {
            n += dec.decode_into(p, &mut out[n..]);
        }
        assert_eq!(n, 16_000);
        // Skip the codec's start-up (its QMF delay is 23 samples and the ADPCM adapts).
        let hz = crossings_hz(&out[1600..]);
        assert!((hz - 6000.0).abs() < 60.0, "decoded tone at {hz} Hz");
        let rms = |s: &[i16]| {
            (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
        };
        let ratio = rms(&out[1600..]) / rms(&pcm[1600..]);
        assert!((0.7..1.3).contains(&ratio), "level ratio {ratio}");
    }

    #[test]
    fn the_last_frame_is_padded_and_a_short_buffer_does_not_panic() {
        let bytes = G722Encoder::new().encode_clip(&tone(1000.0, 321));
        assert_eq!(bytes.len(), 2 * G722_FRAME_BYTES);
        let mut out = [0i16; 100];
        assert_eq!(G722Decoder::new().decode_into(&bytes, &mut out), 100);
    }
}
