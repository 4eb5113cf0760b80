//! A caller's RTP on its way to the page, pure: each packet of the negotiated payload type is
//! decoded (PCMU, PCMA, or G.722 resampled from 16 kHz), gathered into 20 ms frames at 8 kHz,
//! levelled by [`LiveLevel`] (the live talker's slow gain and limiter, so a soft-spoken caller
//! reaches the zone as loud as every prepared sound), and encoded in the page's µ-law. Packets
//! of other types (telephone-event, comfort noise) and packets that are not RTP are counted
//! and skipped. The shell ([`super::media`]) owns the socket and the queue the frames go to.

use crate::audio::{FRAME_SAMPLES, LiveLevel, LoudnessTarget, StreamResampler};
use crate::g711::Law;
use crate::rtp::G722Decoder;
use crate::rtp::packet::{PAYLOAD_LEN, RtpHeader};

use super::answer::{CallCodec, Negotiated};

/// Largest payload decoded from one packet (120 ms of G.711; longer ptimes are cut).
const MAX_PAYLOAD: usize = 960;

/// One call's decoder: RTP packets in, µ-law 20 ms frames out.
pub struct CallerAudio {
    codec: CallCodec,
    payload_type: u8,
    g722: G722Decoder,
    resampler: StreamResampler,
    level: LiveLevel,
    pcm: Vec<i16>,
    /// Packets of the negotiated type.
    pub audio_packets: u64,
    /// Packets skipped (other types, not RTP).
    pub skipped: u64,
}

impl CallerAudio {
    /// A decoder of `n`'s codec, levelled toward `target`.
    pub fn new(n: &Negotiated, target: LoudnessTarget) -> CallerAudio {
        let rate = if n.codec == CallCodec::G722 {
            16_000
        } else {
            8_000
        };
        CallerAudio {
            codec: n.codec,
            payload_type: n.payload_type,
            g722: G722Decoder::new(),
            // 8 and 16 kHz are both rates the resampler takes: this cannot fail.
            resampler: StreamResampler::new(rate).unwrap_or_else(|_| unreachable!("8/16 kHz")),
            level: LiveLevel::new(target),
            pcm: vec![0; 2 * MAX_PAYLOAD],
            audio_packets: 0,
            skipped: 0,
        }
    }

    /// Take one datagram; `emit` gets each finished frame in µ-law. Returns whether it was
    /// audio of the call's codec (what keeps the call alive).
    pub fn push(&mut self, datagram: &[u8], emit: &mut impl FnMut(&[u8; PAYLOAD_LEN])) -> bool {
        let Ok((h, payload)) = RtpHeader::parse(datagram) else {
            self.skipped += 1;
            return false;
        };
        if h.payload_type != self.payload_type {
            self.skipped += 1;
            return false;
        }
        self.audio_packets += 1;
        let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
        let n = match self.codec {
            CallCodec::Pcmu => decode_g711(Law::Ulaw, payload, &mut self.pcm),
            CallCodec::Pcma => decode_g711(Law::Alaw, payload, &mut self.pcm),
            CallCodec::G722 => self.g722.decode_into(payload, &mut self.pcm),
        };
        let level = &mut self.level;
        let mut out = [0u8; PAYLOAD_LEN];
        for &s in &self.pcm[..n] {
            self.resampler
                .push(f32::from(s) / 32768.0, &mut |frame: &[i16]| {
                    let mut f = [0i16; FRAME_SAMPLES];
                    f.copy_from_slice(&frame[..FRAME_SAMPLES]);
                    level.process(&mut f);
                    Law::Ulaw.encode_into(&f, &mut out);
                    emit(&out);
                });
        }
        true
    }
}

fn decode_g711(law: Law, payload: &[u8], out: &mut [i16]) -> usize {
    let n = payload.len().min(out.len());
    law.decode_into(&payload[..n], &mut out[..n]);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, rate: f64, n: usize, start: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate).sin()) as i16)
            .collect()
    }

    fn packet(pt: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x80,
            pt,
            (seq >> 8) as u8,
            seq as u8,
            0,
            0,
            0,
            0,
            1,
            2,
            3,
            4,
        ];
        p.extend_from_slice(payload);
        p
    }

    /// Crossings of zero per second of µ-law frames, halved: the tone's frequency.
    fn frequency(frames: &[u8]) -> f64 {
        let s: Vec<i16> = frames.iter().map(|&b| Law::Ulaw.decode(b)).collect();
        let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f64 / 2.0 / (s.len() as f64 / 8000.0)
    }

    fn negotiated(codec: CallCodec, payload_type: u8) -> Negotiated {
        Negotiated {
            codec,
            payload_type,
            telephone_event: Some(101),
            remote: "127.0.0.1:6000".parse().unwrap(),
        }
    }

    #[test]
    fn pcma_and_g722_callers_reach_the_page_as_ulaw_at_their_frequency() {
        for (codec, pt) in [
            (CallCodec::Pcma, 8),
            (CallCodec::Pcmu, 0),
            (CallCodec::G722, 9),
        ] {
            let mut a = CallerAudio::new(&negotiated(codec, pt), LoudnessTarget::default());
            let mut g722 = crate::rtp::G722Encoder::new();
            let mut out = Vec::new();
            for k in 0..50usize {
                let payload = match codec {
                    CallCodec::G722 => g722.encode_clip(&tone(700.0, 16000.0, 320, 320 * k)),
                    CallCodec::Pcma | CallCodec::Pcmu => {
                        let law = if codec == CallCodec::Pcma {
                            Law::Alaw
                        } else {
                            Law::Ulaw
                        };
                        tone(700.0, 8000.0, 160, 160 * k)
                            .iter()
                            .map(|&s| law.encode(s))
                            .collect()
                    }
                };
                assert!(a.push(&packet(pt, k as u16, &payload), &mut |f| {
                    out.extend_from_slice(f)
                }));
            }
            assert!(
                out.len() >= 48 * PAYLOAD_LEN,
                "{codec:?}: {} bytes",
                out.len()
            );
            let f = frequency(&out[10 * PAYLOAD_LEN..]);
            assert!((f - 700.0).abs() < 20.0, "{codec:?}: {f} Hz");
            assert_eq!(a.audio_packets, 50);
        }
    }

    #[test]
    fn other_payload_types_and_garbage_are_skipped() {
        let mut a = CallerAudio::new(&negotiated(CallCodec::Pcmu, 0), LoudnessTarget::default());
        let mut frames = 0;
        assert!(!a.push(&packet(101, 1, &[1, 0, 0, 160]), &mut |_| frames += 1));
        assert!(!a.push(b"not rtp", &mut |_| frames += 1));
        assert!(!a.push(&[], &mut |_| frames += 1));
        // An oversized payload is cut, never overflows.
        assert!(a.push(&packet(0, 2, &[0xFF; 4000]), &mut |_| frames += 1));
        assert_eq!((a.skipped, a.audio_packets), (3, 1));
        assert_eq!(frames, MAX_PAYLOAD / PAYLOAD_LEN);
    }
}
