//! What a server page plays: the bundled sounds (compiled in, so an installed server needs no
//! `audio/` directory), tones, silence, and sounds uploaded through the API — never a path on
//! the server's disk from an API caller. Bells come from the config (trusted) and may also name
//! files.

use std::path::Path;

use super::level::Levelling;
use super::segment::{Segment, file_at, items, segment_source_as, sequence};
use super::speech::{self, Voice};
use super::upload::uploaded;
use crate::error::Invalid;
use crate::g711::Law;
use crate::rtp::StreamCodec;
use crate::rtp::pacer::PayloadSource;

/// Bundled sounds by name (see `audio/README.md`): raw 8 kHz µ-law ring files, and the demo
/// announcement.
const BUNDLED_RAW: [(&str, &[u8]); 3] = [
    ("bell", include_bytes!("../../audio/bell.raw")),
    ("alert", include_bytes!("../../audio/alert.raw")),
    ("evacuation", include_bytes!("../../audio/evacuation.raw")),
];
const ANNOUNCEMENT_WAV: &[u8] = include_bytes!("../../audio/announcement.wav");
/// The same sounds made at 16 kHz for G.722 pages, with the content above 4 kHz that 8 kHz
/// cannot carry (see `audio/README.md`: drawn by `examples/make_sounds.rs`, the announcement
/// spoken by espeak-ng at 16 kHz).
const BUNDLED_WIDE: [(&str, &[u8]); 4] = [
    ("bell", include_bytes!("../../audio/wide/bell.wav")),
    ("alert", include_bytes!("../../audio/wide/alert.wav")),
    (
        "evacuation",
        include_bytes!("../../audio/wide/evacuation.wav"),
    ),
    (
        "announcement",
        include_bytes!("../../audio/wide/announcement.wav"),
    ),
];

/// Names of the bundled sounds (`chime` is the generated two-tone chime).
pub const BUNDLED: [&str; 5] = ["chime", "bell", "alert", "evacuation", "announcement"];

/// The grammar, for error messages.
const RULE: &str = "each comma-separated item is a bundled sound (chime, bell, alert, evacuation, \
                    announcement), tone:HZ:SECS, silence:SECS, upload:NAME or say:TEXT (last: \
                    its text may hold commas)";

fn bundled(
    name: &str,
    codec: StreamCodec,
    level: &Levelling,
) -> Result<Option<Box<dyn PayloadSource>>, Invalid> {
    if name == "chime" {
        return segment_source_as(&Segment::Chime, codec, level).map(Some);
    }
    if codec == StreamCodec::G722
        && let Some((_, wav)) = BUNDLED_WIDE.iter().find(|(n, _)| *n == name)
    {
        let samples = wav_samples(name, wav)?;
        return Ok(Some(level.clip_as(name, &samples, codec)));
    }
    let samples: Vec<i16> = if let Some((_, raw)) = BUNDLED_RAW.iter().find(|(n, _)| *n == name) {
        raw.iter().map(|&b| Law::Ulaw.decode(b)).collect()
    } else if name == "announcement" {
        wav_samples(name, ANNOUNCEMENT_WAV)?
    } else {
        return Ok(None);
    };
    Ok(Some(level.clip_as(name, &samples, codec)))
}

/// The samples of a bundled WAV (mono 16-bit, at the rate it was made for).
fn wav_samples(name: &str, wav: &[u8]) -> Result<Vec<i16>, Invalid> {
    let reader = hound::WavReader::new(std::io::Cursor::new(wav))
        .map_err(|e| Invalid::new("source", name, format!("bundled sound: {e}")))?;
    Ok(reader.into_samples::<i16>().map_while(Result::ok).collect())
}

/// An uploaded sound, levelled and noted as `item` (`upload:NAME`).
fn upload_source(
    item: &str,
    path: &Path,
    codec: StreamCodec,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    let samples =
        file_at(path, codec.sample_rate()).map_err(|e| Invalid::new("source", item, e.rule))?;
    Ok(level.clip_as(item, &samples, codec))
}

/// Who is asking: an API caller may not name files on the server; the config may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `POST /api/pages`.
    Api,
    /// A bell in the config file.
    Config,
}

/// The payload of `spec` (comma-separated items, see [`items`]). `uploads` is the directory of
/// uploaded sounds. Speech is in the default [`Voice`].
pub fn source(
    spec: &str,
    uploads: &Path,
    trust: Trust,
    law: Law,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    source_voiced(spec, uploads, trust, law, &Voice::default(), level)
}

/// [`source`], speaking a `say:` item with `voice`.
pub fn source_voiced(
    spec: &str,
    uploads: &Path,
    trust: Trust,
    law: Law,
    voice: &Voice,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    source_voiced_as(spec, uploads, trust, law.into(), voice, level)
}

/// [`source_voiced`] for a stream of `codec` (16 kHz audio for G.722).
pub fn source_voiced_as(
    spec: &str,
    uploads: &Path,
    trust: Trust,
    codec: StreamCodec,
    voice: &Voice,
    level: &Levelling,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    let items: Vec<&str> = items(spec).into_iter().map(str::trim).collect();
    if spec.trim().is_empty() || items.iter().any(|i| i.is_empty()) {
        return Err(Invalid::new("source", spec, RULE));
    }
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        if let Some(p) = bundled(item, codec, level)? {
            parts.push(p);
            continue;
        }
        if let Some(name) = item.strip_prefix("upload:") {
            let path = uploaded(uploads, name).ok_or_else(|| {
                Invalid::new(
                    "source",
                    item,
                    "no uploaded sound of that name (PUT /api/sounds/NAME first)",
                )
            })?;
            parts.push(upload_source(item, &path, codec, level)?);
            continue;
        }
        let seg: Segment = item.parse().map_err(|e: Invalid| {
            // A bad text breaks the speech rule, not the grammar: say which.
            let rule = if item.starts_with("say:") {
                e.rule
            } else {
                RULE.to_owned()
            };
            Invalid::new("source", item, rule)
        })?;
        match (&seg, trust) {
            (Segment::Mic { .. }, _) => {
                return Err(Invalid::new(
                    "source",
                    item,
                    "the server has no microphone to page from",
                ));
            }
            (Segment::Say(text), _) => {
                let speech = speech::shared().speak_at(text, voice, codec.sample_rate())?;
                parts.push(level.clip_as(item, &speech, codec));
            }
            (Segment::File(_), Trust::Api) => {
                return Err(Invalid::new(
                    "source",
                    item,
                    "an API caller cannot name files on the server: upload the sound \
                     (PUT /api/sounds/NAME) and use upload:NAME",
                ));
            }
            _ => parts.push(segment_source_as(&seg, codec, level)?),
        }
    }
    Ok(if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        sequence(parts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::PAYLOAD_LEN;

    fn lv() -> Levelling {
        Levelling::default()
    }

    fn packets(mut s: Box<dyn PayloadSource>) -> usize {
        let mut out = [0u8; PAYLOAD_LEN];
        let mut n = 0;
        while s.next_payload(&mut out) {
            n += 1;
            assert!(n < 1_000_000);
        }
        n
    }

    #[test]
    fn bundled_sounds_play_for_their_length() {
        let dir = tempfile::tempdir().unwrap();
        // bell.raw is 16080 samples: 100.5 frames, the last one padded.
        assert_eq!(
            packets(source("bell", dir.path(), Trust::Api, Law::Ulaw, &lv()).unwrap()),
            101
        );
        let both = packets(
            source(
                "chime, tone:800:1",
                dir.path(),
                Trust::Api,
                Law::Ulaw,
                &lv(),
            )
            .unwrap(),
        );
        let chime = packets(source("chime", dir.path(), Trust::Api, Law::Ulaw, &lv()).unwrap());
        assert_eq!(both, chime + 50);
        assert!(
            packets(source("announcement", dir.path(), Trust::Api, Law::Ulaw, &lv()).unwrap())
                > 100
        );
    }

    #[test]
    fn api_callers_cannot_name_files_or_the_mic() {
        let dir = tempfile::tempdir().unwrap();
        let e = source("file:/etc/passwd", dir.path(), Trust::Api, Law::Ulaw, &lv())
            .err()
            .unwrap();
        assert!(e.rule.contains("cannot name files"), "{e}");
        let e = source("mic:5", dir.path(), Trust::Config, Law::Ulaw, &lv())
            .err()
            .unwrap();
        assert!(e.rule.contains("microphone"), "{e}");
        let e = source("upload:../x", dir.path(), Trust::Api, Law::Ulaw, &lv())
            .err()
            .unwrap();
        assert!(e.rule.contains("no uploaded sound"), "{e}");
        assert!(source("", dir.path(), Trust::Api, Law::Ulaw, &lv()).is_err());
        assert!(source("chime,", dir.path(), Trust::Api, Law::Ulaw, &lv()).is_err());
    }

    #[test]
    fn an_upload_plays_for_its_length() {
        use crate::source::upload::{UploadFormat, store_upload};
        let dir = tempfile::tempdir().unwrap();
        // 0.5 s of µ-law, declared as such.
        let raw = vec![0xFFu8; 4000];
        store_upload(dir.path(), "lobby-msg", &raw, UploadFormat::Ulaw).unwrap();
        assert_eq!(
            packets(source("upload:lobby-msg", dir.path(), Trust::Api, Law::Ulaw, &lv()).unwrap()),
            25
        );
    }

    /// The G.722 version of `spec`, decoded as a phone would play it (16 kHz).
    fn decoded_wide(spec: &str) -> Vec<i16> {
        let dir = tempfile::tempdir().unwrap();
        let mut s = source_voiced_as(
            spec,
            dir.path(),
            Trust::Api,
            StreamCodec::G722,
            &Voice::default(),
            &lv(),
        )
        .unwrap();
        let mut dec = crate::rtp::G722Decoder::new();
        let (mut out, mut pcm) = ([0u8; PAYLOAD_LEN], [0i16; 320]);
        let mut all = Vec::new();
        while s.next_payload(&mut out) {
            let n = dec.decode_into(&out, &mut pcm);
            all.extend_from_slice(&pcm[..n]);
        }
        all
    }

    /// The share of `x`'s energy above 4 kHz (16 kHz audio): what is left once the band G.711
    /// carries (through 8 kHz and back) is taken away.
    fn share_above_4k(x: &[i16]) -> f64 {
        let f: Vec<f32> = x.iter().map(|&v| f32::from(v) / 32768.0).collect();
        let narrow = crate::audio::resample(
            &crate::audio::resample(&f, 16_000, 8_000).unwrap(),
            8_000,
            16_000,
        )
        .unwrap();
        let energy = |v: &mut dyn Iterator<Item = f64>| v.map(|a| a * a).sum::<f64>();
        let total = energy(&mut f.iter().map(|&a| f64::from(a)));
        let high = energy(&mut f.iter().zip(&narrow).map(|(&a, &b)| f64::from(a - b)));
        high / total
    }

    #[test]
    fn bundled_sounds_for_g722_carry_what_g711_cannot() {
        for name in ["chime", "bell", "alert", "evacuation", "announcement"] {
            let wide = decoded_wide(name);
            let share = share_above_4k(&wide);
            assert!(
                share > 0.005,
                "{name}: {:.4}% of its energy above 4 kHz",
                share * 100.0
            );
            // As long as the G.711 version (16 kHz samples are twice as many).
            let dir = tempfile::tempdir().unwrap();
            let narrow = packets(source(name, dir.path(), Trust::Api, Law::Ulaw, &lv()).unwrap());
            assert!(
                (wide.len() / 320).abs_diff(narrow) <= 1,
                "{name}: {} vs {narrow}",
                wide.len() / 320
            );
        }
    }
}
