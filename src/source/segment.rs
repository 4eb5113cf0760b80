//! What a page plays: one source, or a sequence of them (a pre-tone, the live microphone for a
//! while, a post-tone), as one stream of 20 ms G.711 payloads.
//!
//! Segments are written `chime`, `tone:HZ:SECS`, `file:PATH`, `silence:SECS`, `mic:SECS`,
//! `mic:DEVICE:SECS` (a microphone segment in a sequence needs its length, so the segments
//! after it know when to start) or `say:TEXT` (speech, see [`super::speech`]).
//!
//! A sequence is comma-separated ([`items`]), but speech may hold commas: `say:` is therefore
//! the last item of a sequence, and everything after it (commas and colons included) is its text,
//! e.g. `chime,say:Fire drill, building B` is the chime, then "Fire drill, building B".

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::level::Levelling;
use super::speech;
use crate::audio::{self, Clip};
use crate::error::Invalid;
use crate::g711::Law;
use crate::rtp::pacer::{Encode, PayloadSource};
use crate::rtp::packet::PAYLOAD_LEN;
use crate::rtp::{G722Encode, StreamCodec};

/// One part of what a page plays.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// The bundled two-tone chime.
    Chime,
    /// A sine tone.
    Tone {
        /// Frequency, Hz (20..=3900).
        hz: f32,
        /// Length, s.
        secs: f64,
    },
    /// An audio file, played once.
    File(PathBuf),
    /// Silence.
    Silence(f64),
    /// The live microphone.
    Mic {
        /// Device name (None: the default input).
        device: Option<String>,
        /// Length, s.
        secs: f64,
    },
    /// Speech of this text (checked by [`speech::text_rule`]), in the page's voice.
    Say(String),
}

/// The items of a comma-separated sequence, untrimmed: split at each comma up to the first item
/// that starts with `say:`, which takes the rest of `spec`, commas included.
pub fn items(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = spec;
    loop {
        if rest.trim_start().starts_with("say:") {
            out.push(rest);
            return out;
        }
        match rest.split_once(',') {
            Some((item, more)) => {
                out.push(item);
                rest = more;
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
}

/// The text the sequence `spec` speaks, if it has a `say:` item.
pub fn said(spec: &str) -> Option<&str> {
    items(spec)
        .last()
        .and_then(|i| i.trim_start().strip_prefix("say:"))
        .map(str::trim)
}

fn secs(field: &str, s: &str) -> Result<f64, Invalid> {
    s.parse::<f64>()
        .ok()
        .filter(|v| *v > 0.0 && *v <= 3600.0)
        .ok_or_else(|| Invalid::new(field, s, "must be seconds, > 0 and at most 3600"))
}

impl FromStr for Segment {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Segment, Invalid> {
        let f = "sequence";
        if let Some(text) = s.trim_start().strip_prefix("say:") {
            let text = text.trim();
            speech::text_rule(text).map_err(|rule| Invalid::new(f, s, rule))?;
            return Ok(Segment::Say(text.to_owned()));
        }
        let parts: Vec<&str> = s.trim().split(':').collect();
        match parts.as_slice() {
            ["chime"] => Ok(Segment::Chime),
            ["tone", hz, len] => {
                let hz: f32 = hz
                    .parse()
                    .ok()
                    .filter(|h| (20.0..=3900.0).contains(h))
                    .ok_or_else(|| {
                        Invalid::new(f, s, "a tone is tone:HZ:SECS with HZ in 20..=3900")
                    })?;
                Ok(Segment::Tone {
                    hz,
                    secs: secs(f, len)?,
                })
            }
            ["silence", len] => Ok(Segment::Silence(secs(f, len)?)),
            ["mic", len] => Ok(Segment::Mic {
                device: None,
                secs: secs(f, len)?,
            }),
            ["mic", device, len] => Ok(Segment::Mic {
                device: Some((*device).to_owned()),
                secs: secs(f, len)?,
            }),
            // `file` without a colon also splits to ["file"]: strip, never slice.
            ["file", ..] if s.trim().starts_with("file:") => {
                Ok(Segment::File(PathBuf::from(&s.trim()["file:".len()..])))
            }
            _ => Err(Invalid::new(
                f,
                s,
                "each item is chime, tone:HZ:SECS, file:PATH, silence:SECS, mic:SECS, mic:DEVICE:SECS \
                 or say:TEXT (last)",
            )),
        }
    }
}

/// Packets in `secs` seconds.
fn packets(secs: f64) -> u64 {
    (secs * 50.0).round().max(1.0) as u64
}

/// The bundled chime, 8 kHz mono.
pub fn chime_samples() -> Vec<i16> {
    audio::render(audio::Chime::new(), Duration::from_secs(10))
}

/// A source that ends after `left` payloads.
struct Limited {
    inner: Box<dyn PayloadSource>,
    left: u64,
}

impl PayloadSource for Limited {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        self.inner.next_payload(out)
    }
}

/// Sources played one after the other.
struct Sequence {
    parts: std::collections::VecDeque<Box<dyn PayloadSource>>,
}

impl PayloadSource for Sequence {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        while let Some(p) = self.parts.front_mut() {
            if p.next_payload(out) {
                return true;
            }
            self.parts.pop_front();
        }
        false
    }
}

/// The payload source of one segment (speech in the default [`speech::Voice`]).
///
/// Files, the chime and speech are levelled by `level` (and noted there); tones and silence play
/// at their stated level; the microphone gets slow automatic gain toward the same target.
pub fn segment_source(
    seg: &Segment,
    law: Law,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    segment_source_as(seg, law.into(), level)
}

/// [`segment_source`] for a stream of `codec`: its audio made at the codec's rate (a file
/// resampled once from its own rate, the chime, tones and speech computed at 16 kHz for G.722,
/// not 8 kHz audio upsampled). The microphone is G.711 only.
pub fn segment_source_as(
    seg: &Segment,
    codec: StreamCodec,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    let rate = codec.sample_rate();
    Ok(match seg {
        Segment::Chime => level.clip_as("chime", &chime_at(rate), codec),
        Segment::Tone { hz, secs } => Box::new(Limited {
            inner: tone_source(*hz, codec),
            left: packets(*secs),
        }),
        Segment::Silence(secs) => Box::new(Limited {
            inner: Box::new(codec.clip(&vec![0i16; codec.frame_samples()], true)),
            left: packets(*secs),
        }),
        Segment::File(path) => {
            let samples = file_at(path, rate)?;
            level.clip_as(&format!("file:{}", path.display()), &samples, codec)
        }
        Segment::Mic { device, secs } => {
            let StreamCodec::G711(law) = codec else {
                return Err(Invalid::new(
                    "mic",
                    device.as_deref().unwrap_or("default"),
                    "the live microphone is captured for G.711 (8 kHz) streams only",
                ));
            };
            let mic = audio::mic::Mic::open(device.as_deref()).map_err(|e| {
                Invalid::new("mic", device.as_deref().unwrap_or("default"), e.to_string())
            })?;
            Box::new(Limited {
                inner: level.live(mic, law),
                left: packets(*secs),
            })
        }
        Segment::Say(text) => level.clip_as(
            &format!("say:{text}"),
            &speech::shared().speak_at(text, &speech::Voice::default(), rate)?,
            codec,
        ),
    })
}

/// The bundled chime at `rate` Hz.
fn chime_at(rate: u32) -> Vec<i16> {
    if rate == audio::SAMPLE_RATE {
        chime_samples()
    } else {
        audio::Chime::render_at(rate)
    }
}

/// A tone at -10 dBFS for a stream of `codec`, computed at the codec's rate, never ending.
pub fn tone_source(hz: f32, codec: StreamCodec) -> Box<dyn PayloadSource> {
    match codec {
        StreamCodec::G711(law) => Box::new(Encode::new(audio::Tone::new(hz, -10.0), law)),
        StreamCodec::G722 => {
            let amplitude = 32767.0 * f64::from(audio::db_to_factor(-10.0));
            let step = f64::from(hz) / f64::from(codec.sample_rate());
            let samples = std::iter::successors(Some(0.0f64), move |p| Some((p + step).fract()))
                .map(move |p| (amplitude * (std::f64::consts::TAU * p).sin()).round() as i16);
            Box::new(G722Encode::new(samples))
        }
    }
}

/// A sound file decoded to mono at `rate` Hz (resampled once from its own rate); a file with
/// no audio is refused.
pub fn file_at(path: &std::path::Path, rate: u32) -> Result<Vec<i16>, Invalid> {
    let bad = |e: String| Invalid::new("file", path.display(), e);
    let samples: Vec<i16> = if rate == audio::SAMPLE_RATE {
        Clip::load(path)
            .map_err(|e| bad(e.to_string()))?
            .samples()
            .to_vec()
    } else {
        let (mono, from) = audio::load_mono(path).map_err(|e| bad(e.to_string()))?;
        audio::resample(&mono, from, rate)
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect()
    };
    if samples.is_empty() {
        return Err(bad("contains no audio".into()));
    }
    Ok(samples)
}

/// `first` (a pre-tone, if any), then `main`.
pub fn sequence(parts: Vec<Box<dyn PayloadSource>>) -> Box<dyn PayloadSource> {
    Box::new(Sequence {
        parts: parts.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(mut s: Box<dyn PayloadSource>) -> (u64, Vec<u8>) {
        let mut out = [0u8; PAYLOAD_LEN];
        let mut n = 0;
        let mut firsts = Vec::new();
        while s.next_payload(&mut out) {
            n += 1;
            firsts.push(out[0]);
            assert!(n < 100_000, "never ends");
        }
        (n, firsts)
    }

    #[test]
    fn file_without_a_colon_is_refused_not_a_panic() {
        // Found by fuzz/fuzz_targets/api_body.rs: {"zone":"a","source":"file"} sliced past the
        // end of "file" and panicked the API handler.
        for s in ["file", " file ", "file\t"] {
            assert!(s.parse::<Segment>().is_err(), "{s:?}");
        }
        assert_eq!(
            "file:".parse::<Segment>().unwrap(),
            Segment::File(PathBuf::new())
        );
    }

    #[test]
    fn say_is_the_last_item_and_keeps_its_commas_and_colons() {
        assert_eq!(
            items("chime, tone:800:1,say: Fire drill, building B: now"),
            vec!["chime", " tone:800:1", "say: Fire drill, building B: now"]
        );
        assert_eq!(said("chime,say:Fire, drill"), Some("Fire, drill"));
        assert_eq!(said("chime,tone:800:1"), None);
        assert_eq!(items("a,,b"), vec!["a", "", "b"]);
        assert_eq!(
            " say:  Fire drill, building B ".parse::<Segment>().unwrap(),
            Segment::Say("Fire drill, building B".into())
        );
        for bad in ["say:", "say:   ", "say:bell\u{7}"] {
            assert!(bad.parse::<Segment>().is_err(), "{bad:?}");
        }
        let long = format!("say:{}", "x".repeat(501));
        assert!(
            long.parse::<Segment>()
                .unwrap_err()
                .rule
                .contains("1..=500")
        );
    }

    proptest::proptest! {
        /// Any sequence ending in `say:TEXT` splits into its items and the whole text, commas
        /// and colons included; parsing never panics.
        #[test]
        fn say_text_survives_the_sequence_grammar(
            before in proptest::collection::vec("(chime|tone:800:1|silence:0\\.5)", 0..4),
            text in "[^\\p{Cc}\\x{FFFE}\\x{FFFF}]{0,80}",
        ) {
            let spec = before.iter().map(|b| format!("{b},")).collect::<String>() + "say:" + &text;
            let got = items(&spec);
            proptest::prop_assert_eq!(got.len(), before.len() + 1);
            proptest::prop_assert_eq!(said(&spec), Some(text.trim()));
            match got.last().unwrap().parse::<Segment>() {
                Ok(Segment::Say(t)) => proptest::prop_assert_eq!(t, text.trim()),
                Ok(other) => proptest::prop_assert!(false, "{other:?}"),
                Err(e) => proptest::prop_assert!(text.trim().is_empty(), "{e}"),
            }
        }
    }

    #[test]
    fn segments_parse_and_refuse_with_the_rule() {
        assert_eq!("chime".parse::<Segment>().unwrap(), Segment::Chime);
        assert_eq!(
            "tone:800:1.5".parse::<Segment>().unwrap(),
            Segment::Tone {
                hz: 800.0,
                secs: 1.5
            }
        );
        assert_eq!(
            "mic:USB Audio:10".parse::<Segment>().unwrap(),
            Segment::Mic {
                device: Some("USB Audio".into()),
                secs: 10.0
            }
        );
        assert_eq!(
            "file:/tmp/a:b.wav".parse::<Segment>().unwrap(),
            Segment::File("/tmp/a:b.wav".into())
        );
        for bad in ["tone:800", "tone:9000:1", "mic", "silence:-1", "beep"] {
            let e = bad.parse::<Segment>().unwrap_err();
            assert_eq!(e.field, "sequence", "{bad}");
        }
    }

    #[test]
    fn a_sequence_plays_its_parts_in_order_and_ends() {
        let law = Law::Ulaw;
        let lv = Levelling::default();
        let parts = vec![
            segment_source(
                &Segment::Tone {
                    hz: 1000.0,
                    secs: 0.2,
                },
                law,
                &lv,
            )
            .unwrap(),
            segment_source(&Segment::Silence(0.1), law, &lv).unwrap(),
            segment_source(
                &Segment::Tone {
                    hz: 500.0,
                    secs: 0.3,
                },
                law,
                &lv,
            )
            .unwrap(),
        ];
        let (n, firsts) = count(sequence(parts));
        assert_eq!(n, 10 + 5 + 15);
        assert!(
            firsts[10..15]
                .iter()
                .all(|&b| b == law.silence() || b == 0xFF)
        );
        let (chime, _) = count(segment_source(&Segment::Chime, law, &lv).unwrap());
        assert!(chime > 25, "the chime lasts {chime} packets");
        // Only the chime was levelled: tones and silence play at their stated level.
        let notes = lv.notes();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(notes[0].item, "chime");
        let out = notes[0].levelled.result.lufs.unwrap();
        assert!((out + 18.0).abs() < 0.5, "the chime plays at {out} LUFS");
    }
}
