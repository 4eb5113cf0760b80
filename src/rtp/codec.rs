//! Which codec a stream carries: G.711 (µ-law or A-law, 8 kHz audio) or G.722 (16 kHz
//! wideband audio, RTP payload type 9 on the 8 kHz RTP clock). Both fill 160-byte payloads every
//! 20 ms, so one pacer, one [`PayloadSource`](super::pacer::PayloadSource) and one gate serve
//! either; what differs is named here once: the audio rate a source is prepared at, the RTP
//! header, the payload that means silence, and what a phone hears of a clip after the codec.

use super::g722::{G722_FRAME_SAMPLES, G722_SAMPLE_RATE, G722Decoder, G722Encoder};
use super::g722_encode::G722Encode;
use super::pacer::{EncodedClip, PayloadSource};
use super::packet::{PAYLOAD_LEN, Packetizer};
use crate::audio::SAMPLE_RATE;
use crate::g711::Law;

/// The codec of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCodec {
    /// G.711 in this law (payload type 0 or 8), 8 kHz audio.
    G711(Law),
    /// G.722 (payload type 9), 16 kHz audio.
    G722,
}

impl From<Law> for StreamCodec {
    fn from(law: Law) -> Self {
        StreamCodec::G711(law)
    }
}

impl StreamCodec {
    /// The rate its source's samples are prepared at, Hz.
    pub fn sample_rate(self) -> u32 {
        match self {
            StreamCodec::G711(_) => SAMPLE_RATE,
            StreamCodec::G722 => G722_SAMPLE_RATE,
        }
    }

    /// Samples per 20 ms payload.
    pub fn frame_samples(self) -> usize {
        match self {
            StreamCodec::G711(_) => PAYLOAD_LEN,
            StreamCodec::G722 => G722_FRAME_SAMPLES,
        }
    }

    /// Its name in configs, reports and `--json`: `g711` or `g722`.
    pub fn name(self) -> &'static str {
        match self {
            StreamCodec::G711(_) => "g711",
            StreamCodec::G722 => "g722",
        }
    }

    /// A packetizer with random SSRC, sequence and timestamp.
    pub fn packetizer(self) -> Packetizer {
        match self {
            StreamCodec::G711(law) => Packetizer::random(law),
            StreamCodec::G722 => Packetizer::random_g722(),
        }
    }

    /// Silence, forever. For G.722 that is digital silence encoded continuously (one encoder
    /// whose state runs on): a fixed encoded frame repeated would put the decoder's state out of
    /// step at every frame and play as noise.
    pub fn silence(self) -> Box<dyn PayloadSource> {
        match self {
            StreamCodec::G711(law) => Box::new(EncodedClip::new(&[0i16; PAYLOAD_LEN], law, true)),
            StreamCodec::G722 => Box::new(G722Encode::new(std::iter::repeat(0i16))),
        }
    }

    /// `samples` (at [`Self::sample_rate`]) encoded once, played once or looped.
    pub fn clip(self, samples: &[i16], looped: bool) -> EncodedClip {
        match self {
            StreamCodec::G711(law) => EncodedClip::new(samples, law, looped),
            StreamCodec::G722 => {
                EncodedClip::from_payloads(G722Encoder::new().encode_clip(samples), looped)
            }
        }
    }

    /// What a phone plays of `samples` after encoding and decoding (for loudness checks).
    pub fn through(self, samples: &[i16]) -> Vec<i16> {
        match self {
            StreamCodec::G711(law) => samples.iter().map(|&s| law.decode(law.encode(s))).collect(),
            StreamCodec::G722 => {
                let bytes = G722Encoder::new().encode_clip(samples);
                let mut dec = G722Decoder::new();
                let mut out = vec![0i16; bytes.len() * 2];
                let mut n = 0;
                for chunk in bytes.chunks(PAYLOAD_LEN) {
                    n += dec.decode_into(chunk, &mut out[n..]);
                }
                out.truncate(n.min(samples.len()));
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g722_silence_decodes_to_silence_and_g711_is_the_law_byte() {
        let mut out = [0u8; PAYLOAD_LEN];
        let mut g711 = StreamCodec::G711(Law::Ulaw).silence();
        for _ in 0..3 {
            assert!(g711.next_payload(&mut out));
            assert_eq!(out, [0xFF; PAYLOAD_LEN]);
        }
        let mut s = StreamCodec::G722.silence();
        let mut pcm = [0i16; G722_FRAME_SAMPLES];
        let mut dec = G722Decoder::new();
        for _ in 0..50 {
            assert!(s.next_payload(&mut out));
            assert_eq!(dec.decode_into(&out, &mut pcm), G722_FRAME_SAMPLES);
            // Below -48 dBFS: the quantiser's idle noise, not a sound.
            let peak = pcm.iter().map(|x| x.unsigned_abs()).max().unwrap();
            assert!(peak < 128, "peak {peak}");
        }
    }

    #[test]
    fn a_clip_through_g722_keeps_its_length_and_a_tone_above_4_khz() {
        let tone: Vec<i16> = (0..16_000)
            .map(|n| (8000.0 * (std::f64::consts::TAU * 6000.0 * n as f64 / 16_000.0).sin()) as i16)
            .collect();
        let out = StreamCodec::G722.through(&tone);
        assert_eq!(out.len(), tone.len());
        let rms = |x: &[i16]| {
            (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let r = rms(&out[1600..]) / rms(&tone[1600..]);
        assert!(
            (0.7..1.3).contains(&r),
            "6 kHz through G.722 keeps {r} of its level"
        );
        assert_eq!(StreamCodec::G722.clip(&tone, false).packets(), 50);
    }
}
