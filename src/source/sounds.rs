//! What a server page plays: the bundled sounds (compiled in, so an installed server needs no
//! `audio/` directory), tones, silence, and sounds uploaded through the API — never a path on
//! the server's disk from an API caller. Bells come from the config (trusted) and may also name
//! files.

use std::path::{Path, PathBuf};

use super::segment::{Segment, segment_source, sequence};
use crate::audio::Clip;
use crate::error::Invalid;
use crate::g711::Law;
use crate::rtp::pacer::{EncodedClip, PayloadSource};

/// Bundled sounds by name (see `audio/README.md`): raw 8 kHz µ-law ring files, and the demo
/// announcement.
const BUNDLED_RAW: [(&str, &[u8]); 3] = [
    ("bell", include_bytes!("../../audio/bell.raw")),
    ("alert", include_bytes!("../../audio/alert.raw")),
    ("evacuation", include_bytes!("../../audio/evacuation.raw")),
];
const ANNOUNCEMENT_WAV: &[u8] = include_bytes!("../../audio/announcement.wav");

/// Names of the bundled sounds (`chime` is the generated two-tone chime).
pub const BUNDLED: [&str; 5] = ["chime", "bell", "alert", "evacuation", "announcement"];

/// The grammar, for error messages.
const RULE: &str = "each comma-separated item is a bundled sound (chime, bell, alert, evacuation, \
                    announcement), tone:HZ:SECS, silence:SECS or upload:NAME";

/// Extensions an uploaded sound is stored with, by what its first bytes say it is.
const UPLOAD_EXTS: [&str; 5] = ["wav", "flac", "ogg", "mp3", "raw"];

/// A name for an uploaded sound: 1..=64 of `A-Z a-z 0-9 _ -`.
pub fn check_upload_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Invalid::new(
            "sound name",
            name,
            "must be 1..=64 characters of A-Z, a-z, 0-9, _ and -",
        ));
    }
    Ok(())
}

/// What an upload's first bytes say it is (its extension for the decoder).
pub fn sniff(bytes: &[u8]) -> &'static str {
    match bytes {
        [b'R', b'I', b'F', b'F', ..] => "wav",
        [b'f', b'L', b'a', b'C', ..] => "flac",
        [b'O', b'g', b'g', b'S', ..] => "ogg",
        [b'I', b'D', b'3', ..] => "mp3",
        [0xFF, b, ..] if b & 0xE0 == 0xE0 => "mp3",
        _ => "raw",
    }
}

/// Where uploaded sound `name` is, if it exists.
pub fn uploaded(dir: &Path, name: &str) -> Option<PathBuf> {
    check_upload_name(name).ok()?;
    UPLOAD_EXTS
        .iter()
        .map(|e| dir.join(format!("{name}.{e}")))
        .find(|p| p.is_file())
}

/// Store an upload under `dir` (decoding it first: a file the engine cannot play is refused
/// here, not at page time). Returns the stored path and its length in seconds.
pub fn store_upload(dir: &Path, name: &str, bytes: &[u8]) -> Result<(PathBuf, f64), Invalid> {
    check_upload_name(name)?;
    if bytes.is_empty() {
        return Err(Invalid::new("sound", name, "the upload is empty"));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Invalid::new("sounds directory", dir.display(), e.to_string()))?;
    // What the first bytes say, then headerless µ-law (whose silence, 0xFF, looks like an MP3
    // frame sync): the first the decoder reads wins.
    let sniffed = sniff(bytes);
    let mut last_error = String::new();
    let mut found = None;
    let tries: &[&str] = if sniffed == "mp3" && bytes.first() == Some(&0xFF) {
        &["mp3", "raw"]
    } else {
        std::slice::from_ref(&sniffed)
    };
    for &ext in tries {
        if found.is_some() {
            break;
        }
        let tmp = dir.join(format!(".{name}.upload.{ext}"));
        std::fs::write(&tmp, bytes)
            .map_err(|e| Invalid::new("sound", name, format!("cannot store: {e}")))?;
        match Clip::load(&tmp) {
            Ok(clip) if !clip.samples().is_empty() => found = Some((tmp, ext, clip)),
            Ok(_) => {
                let _ = std::fs::remove_file(&tmp);
                last_error = "contains no audio".into();
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                last_error = format!("is not audio zonecast can play: {e}");
            }
        }
    }
    let Some((tmp, ext, clip)) = found else {
        return Err(Invalid::new("sound", name, last_error));
    };
    // One stored file per name, whatever its earlier format.
    for e in UPLOAD_EXTS {
        let _ = std::fs::remove_file(dir.join(format!("{name}.{e}")));
    }
    let path = dir.join(format!("{name}.{ext}"));
    std::fs::rename(&tmp, &path)
        .map_err(|e| Invalid::new("sound", name, format!("cannot store: {e}")))?;
    Ok((path, clip.samples().len() as f64 / 8000.0))
}

fn bundled(name: &str, law: Law) -> Result<Option<Box<dyn PayloadSource>>, Invalid> {
    if name == "chime" {
        return segment_source(&Segment::Chime, law).map(Some);
    }
    if let Some((_, raw)) = BUNDLED_RAW.iter().find(|(n, _)| *n == name) {
        let samples: Vec<i16> = raw.iter().map(|&b| Law::Ulaw.decode(b)).collect();
        return Ok(Some(Box::new(EncodedClip::new(&samples, law, false))));
    }
    if name == "announcement" {
        let reader = hound::WavReader::new(std::io::Cursor::new(ANNOUNCEMENT_WAV))
            .map_err(|e| Invalid::new("source", name, format!("bundled sound: {e}")))?;
        let samples: Vec<i16> = reader.into_samples::<i16>().map_while(Result::ok).collect();
        return Ok(Some(Box::new(EncodedClip::new(&samples, law, false))));
    }
    Ok(None)
}

/// Who is asking: an API caller may not name files on the server; the config may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `POST /api/pages`.
    Api,
    /// A bell in the config file.
    Config,
}

/// The payload of `spec` (comma-separated items). `uploads` is the directory of uploaded sounds.
pub fn source(
    spec: &str,
    uploads: &Path,
    trust: Trust,
    law: Law,
) -> Result<Box<dyn PayloadSource>, Invalid> {
    let items: Vec<&str> = spec.split(',').map(str::trim).collect();
    if spec.trim().is_empty() || items.iter().any(|i| i.is_empty()) {
        return Err(Invalid::new("source", spec, RULE));
    }
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        if let Some(p) = bundled(item, law)? {
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
            parts.push(segment_source(&Segment::File(path), law)?);
            continue;
        }
        let seg: Segment = item
            .parse()
            .map_err(|_| Invalid::new("source", item, RULE))?;
        match (&seg, trust) {
            (Segment::Mic { .. }, _) => {
                return Err(Invalid::new(
                    "source",
                    item,
                    "the server has no microphone to page from",
                ));
            }
            (Segment::File(_), Trust::Api) => {
                return Err(Invalid::new(
                    "source",
                    item,
                    "an API caller cannot name files on the server: upload the sound \
                     (PUT /api/sounds/NAME) and use upload:NAME",
                ));
            }
            _ => parts.push(segment_source(&seg, law)?),
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
            packets(source("bell", dir.path(), Trust::Api, Law::Ulaw).unwrap()),
            101
        );
        let both = packets(source("chime, tone:800:1", dir.path(), Trust::Api, Law::Ulaw).unwrap());
        let chime = packets(source("chime", dir.path(), Trust::Api, Law::Ulaw).unwrap());
        assert_eq!(both, chime + 50);
        assert!(packets(source("announcement", dir.path(), Trust::Api, Law::Ulaw).unwrap()) > 100);
    }

    #[test]
    fn api_callers_cannot_name_files_or_the_mic() {
        let dir = tempfile::tempdir().unwrap();
        let e = source("file:/etc/passwd", dir.path(), Trust::Api, Law::Ulaw)
            .err()
            .unwrap();
        assert!(e.rule.contains("cannot name files"), "{e}");
        let e = source("mic:5", dir.path(), Trust::Config, Law::Ulaw)
            .err()
            .unwrap();
        assert!(e.rule.contains("microphone"), "{e}");
        let e = source("upload:../x", dir.path(), Trust::Api, Law::Ulaw)
            .err()
            .unwrap();
        assert!(e.rule.contains("no uploaded sound"), "{e}");
        assert!(source("", dir.path(), Trust::Api, Law::Ulaw).is_err());
        assert!(source("chime,", dir.path(), Trust::Api, Law::Ulaw).is_err());
    }

    #[test]
    fn uploads_are_decoded_before_they_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        // 0.5 s of raw µ-law.
        let raw = vec![0xFFu8; 4000];
        let (path, secs) = store_upload(dir.path(), "lobby-msg", &raw).unwrap();
        assert!(path.ends_with("lobby-msg.raw"));
        assert!((secs - 0.5).abs() < 1e-9);
        assert_eq!(
            packets(source("upload:lobby-msg", dir.path(), Trust::Api, Law::Ulaw).unwrap()),
            25
        );
        let wav = include_bytes!("../../audio/chime.wav");
        let (path, _) = store_upload(dir.path(), "lobby-msg", wav).unwrap();
        assert!(path.ends_with("lobby-msg.wav"));
        assert!(!dir.path().join("lobby-msg.raw").exists());
        let bad = b"RIFF\x00\x00\x00\x00WAVEnonsense";
        assert!(store_upload(dir.path(), "bad", bad).is_err());
        assert!(uploaded(dir.path(), "bad").is_none());
        assert!(store_upload(dir.path(), "../evil", &raw).is_err());
    }
}
