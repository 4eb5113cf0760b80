//! [`G722Encode`]: a generated or live 16 kHz sample source encoded to G.722 packet by packet on
//! the pacer thread (whole files are encoded once instead, with
//! [`crate::rtp::EncodedClip::from_payloads`]).

use super::g722::{G722_FRAME_SAMPLES, G722Encoder};
use super::pacer::PayloadSource;
use super::packet::PAYLOAD_LEN;

/// Pulls 320 samples (20 ms at 16 kHz) from an iterator per packet and encodes them. The stream
/// ends when the iterator does; a partial last frame is padded with silence. Allocates nothing.
pub struct G722Encode<I> {
    samples: I,
    encoder: G722Encoder,
    frame: [i16; G722_FRAME_SAMPLES],
    done: bool,
}

impl<I: Iterator<Item = i16> + Send> G722Encode<I> {
    /// Encode the 16 kHz samples `samples` yields.
    pub fn new(samples: I) -> Self {
        G722Encode {
            samples,
            encoder: G722Encoder::new(),
            frame: [0; G722_FRAME_SAMPLES],
            done: false,
        }
    }
}

impl<I: Iterator<Item = i16> + Send> PayloadSource for G722Encode<I> {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if self.done {
            return false;
        }
        let mut n = 0;
        while n < G722_FRAME_SAMPLES {
            match self.samples.next() {
                Some(s) => self.frame[n] = s,
                None => break,
            }
            n += 1;
        }
        if n == 0 {
            self.done = true;
            return false;
        }
        self.done = n < G722_FRAME_SAMPLES;
        self.frame[n..].fill(0);
        self.encoder.encode_frame(&self.frame, out);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::g722::G722Encoder;

    #[test]
    fn packets_match_a_clip_encoded_at_once_and_the_stream_ends_with_its_samples() {
        let pcm: Vec<i16> = (0..700).map(|i| ((i * 37) % 2000) as i16 - 1000).collect();
        let whole = G722Encoder::new().encode_clip(&pcm);
        let mut src = G722Encode::new(pcm.into_iter());
        let mut got = Vec::new();
        let mut out = [0u8; PAYLOAD_LEN];
        while src.next_payload(&mut out) {
            got.extend_from_slice(&out);
        }
        assert_eq!(got, whole);
        assert!(!src.next_payload(&mut out));
    }
}
