//! Uploaded sounds (`PUT /api/sounds/NAME`): their names, what the uploader declared the bytes
//! to be, and keeping them. An upload is decoded before it is kept, so a file the engine cannot
//! play is refused here, not at page time.
//!
//! Headerless µ-law has no header to recognise it by (any bytes are µ-law), so it is taken only
//! when declared ([`UploadFormat::Ulaw`]: `Content-Type: audio/basic` or `?format=ulaw`).
//! Anything undeclared must be a container the decoder recognises (WAV, MP3, FLAC, Ogg Vorbis)
//! and decode to audio; otherwise it is refused as [`UploadRefused::UnsupportedType`] (HTTP 415)
//! rather than kept as seconds of noise.

use std::path::{Path, PathBuf};

use crate::audio::{AudioError, Clip};
use crate::error::Invalid;

/// Extensions an uploaded sound is stored with: the container's, or `raw` for declared µ-law.
const UPLOAD_EXTS: [&str; 5] = ["wav", "flac", "ogg", "mp3", "raw"];

/// The refusal of an undeclared upload that is no recognised container.
pub const NOT_A_CONTAINER: &str = "is not a WAV, MP3, FLAC or Ogg Vorbis file; headerless µ-law \
                                   must be declared (Content-Type: audio/basic or ?format=ulaw)";

/// What the uploader said the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFormat {
    /// Nothing (or a container type): the bytes must be a WAV, MP3, FLAC or Ogg Vorbis file.
    Detect,
    /// Headerless 8 kHz mono µ-law, one byte per sample.
    Ulaw,
}

impl UploadFormat {
    /// The declaration of an upload: `format` is the `?format=` query parameter (only `ulaw`),
    /// `content_type` the request's `Content-Type` (`audio/basic`, with any parameters, is
    /// µ-law; RFC 2046 fixes it at 8000 Hz mono, so a `rate` or `channels` saying otherwise is
    /// refused). Any other content type leaves the bytes to be recognised by their header.
    pub fn declared(
        content_type: Option<&str>,
        format: Option<&str>,
    ) -> Result<UploadFormat, Invalid> {
        if let Some(f) = format {
            if f != "ulaw" {
                return Err(Invalid::new(
                    "format",
                    f,
                    "the only format to declare is ulaw (headerless 8 kHz µ-law); leave it out \
                     for WAV, MP3, FLAC or Ogg Vorbis",
                ));
            }
            return Ok(UploadFormat::Ulaw);
        }
        let Some(ct) = content_type else {
            return Ok(UploadFormat::Detect);
        };
        let mut parts = ct.split(';');
        let essence = parts.next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("audio/basic") {
            return Ok(UploadFormat::Detect);
        }
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            let wanted = match key.trim() {
                k if k.eq_ignore_ascii_case("rate") => "8000",
                k if k.eq_ignore_ascii_case("channels") => "1",
                _ => continue,
            };
            if value != wanted {
                return Err(Invalid::new(
                    "Content-Type",
                    ct,
                    "audio/basic is 8000 Hz mono µ-law (RFC 2046); upload other rates or \
                     channel counts as WAV, MP3, FLAC or Ogg Vorbis",
                ));
            }
        }
        Ok(UploadFormat::Ulaw)
    }
}

/// Why an upload was not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefused {
    /// Not declared µ-law and not a container the decoder recognises and decodes (HTTP 415).
    #[error("{0}")]
    UnsupportedType(Invalid),
    /// A bad name, an empty or broken file, or the store failing (HTTP 400).
    #[error("{0}")]
    Invalid(Invalid),
}

impl From<Invalid> for UploadRefused {
    fn from(e: Invalid) -> Self {
        UploadRefused::Invalid(e)
    }
}

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

/// Which container an upload's first bytes say it is (its extension for the decoder), if any.
/// `0xFF 0xE?` (an MP3 frame sync) is also what µ-law silence looks like: such bytes count as
/// MP3 only if they decode as MP3.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [b'R', b'I', b'F', b'F', ..] => Some("wav"),
        [b'f', b'L', b'a', b'C', ..] => Some("flac"),
        [b'O', b'g', b'g', b'S', ..] => Some("ogg"),
        [b'I', b'D', b'3', ..] => Some("mp3"),
        [0xFF, b, ..] if b & 0xE0 == 0xE0 => Some("mp3"),
        _ => None,
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

/// Store an upload of what `format` declares under `dir`, replacing any earlier sound of that
/// name only once the new one is known good. Returns the stored path and its length in seconds.
pub fn store_upload(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    format: UploadFormat,
) -> Result<(PathBuf, f64), UploadRefused> {
    check_upload_name(name)?;
    if bytes.is_empty() {
        return Err(Invalid::new("sound", name, "the upload is empty").into());
    }
    let (ext, secs) = match format {
        UploadFormat::Ulaw => {
            // The decoder reads a RIFF/WAVE header whatever the file is called, so such bytes
            // would not play as the µ-law they were declared to be.
            if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE" {
                return Err(Invalid::new(
                    "sound",
                    name,
                    "is declared headerless µ-law but is a WAV file: upload it without the \
                     declaration",
                )
                .into());
            }
            ("raw", bytes.len() as f64 / 8000.0)
        }
        UploadFormat::Detect => {
            let ext = sniff(bytes).ok_or_else(|| {
                UploadRefused::UnsupportedType(Invalid::new("sound", name, NOT_A_CONTAINER))
            })?;
            (ext, decoded_secs(dir, name, bytes, ext)?)
        }
    };
    let tmp = write_tmp(dir, name, bytes, ext)?;
    // One stored file per name, whatever its earlier format.
    for e in UPLOAD_EXTS {
        let _ = std::fs::remove_file(dir.join(format!("{name}.{e}")));
    }
    let path = dir.join(format!("{name}.{ext}"));
    std::fs::rename(&tmp, &path)
        .map_err(|e| Invalid::new("sound", name, format!("cannot store: {e}")))?;
    Ok((path, secs))
}

/// `bytes` written to a hidden file beside the stored ones (the listing skips dot files).
fn write_tmp(dir: &Path, name: &str, bytes: &[u8], ext: &str) -> Result<PathBuf, Invalid> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Invalid::new("sounds directory", dir.display(), e.to_string()))?;
    let tmp = dir.join(format!(".{name}.upload.{ext}"));
    std::fs::write(&tmp, bytes)
        .map_err(|e| Invalid::new("sound", name, format!("cannot store: {e}")))?;
    Ok(tmp)
}

/// Decode `bytes` as the `ext` container they start like; their length in seconds at 8 kHz.
fn decoded_secs(dir: &Path, name: &str, bytes: &[u8], ext: &str) -> Result<f64, UploadRefused> {
    let tmp = write_tmp(dir, name, bytes, ext)?;
    let loaded = Clip::load(&tmp);
    let _ = std::fs::remove_file(&tmp);
    let (kind, container) = match ext {
        "wav" => ("a WAV", "WAV"),
        "flac" => ("a FLAC", "FLAC"),
        "ogg" => ("an Ogg", "Ogg"),
        _ => ("an MP3", "MP3"),
    };
    // Only a frame sync, no ID3 tag: undeclared µ-law as likely as MP3, so failing to decode
    // as MP3 means "not a container", not "a broken MP3".
    let sync_only = ext == "mp3" && bytes[0] == 0xFF;
    let unsupported = |why: String| {
        UploadRefused::UnsupportedType(Invalid::new(
            "sound",
            name,
            if sync_only {
                format!(
                    "is not a WAV, MP3, FLAC or Ogg Vorbis file (it starts like an MP3 frame but \
                     does not decode as one: {why}); headerless µ-law must be declared \
                     (Content-Type: audio/basic or ?format=ulaw)"
                )
            } else {
                format!(
                    "starts like {kind} file but zonecast cannot decode it ({why}); it must be a \
                     WAV, MP3, FLAC or Ogg Vorbis file zonecast decodes, or headerless µ-law \
                     declared (Content-Type: audio/basic or ?format=ulaw)"
                )
            },
        ))
    };
    match loaded {
        Ok(clip) if !clip.samples().is_empty() => Ok(clip.samples().len() as f64 / 8000.0),
        Ok(_) if sync_only => Err(unsupported("no audio".into())),
        Ok(_) => Err(Invalid::new("sound", name, format!("is {kind} file with no audio")).into()),
        Err(AudioError::Unsupported { reason, .. }) => Err(unsupported(decoder_said(&reason))),
        Err(AudioError::Decode { reason, .. }) if sync_only => Err(unsupported(reason)),
        Err(AudioError::Decode { reason, .. }) => Err(Invalid::new(
            "sound",
            name,
            format!("is a broken {container} file: {reason}"),
        )
        .into()),
        Err(e) => Err(Invalid::new("sound", name, format!("cannot read back: {e}")).into()),
    }
}

/// The decoder's reason without what the upload's message says already: its "not a WAV, MP3,
/// FLAC or Ogg Vorbis file (...)" wrapper around a probe failure, and its advice on G.711 file
/// extensions (for files, not uploads).
fn decoder_said(reason: &str) -> String {
    let reason = reason.split("; headerless G.711").next().unwrap_or("");
    reason
        .strip_prefix("not a WAV, MP3, FLAC or Ogg Vorbis file (")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(reason)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::Law;
    use proptest::prelude::*;

    /// 0.5 s of a 1 kHz tone in µ-law: starts 0xFF 0xA9, no container's header.
    fn ulaw_tone() -> Vec<u8> {
        (0..4000)
            .map(|i| {
                let x = (i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / 8000.0).sin();
                Law::Ulaw.encode((x * 8000.0) as i16)
            })
            .collect()
    }

    fn unsupported(r: Result<(PathBuf, f64), UploadRefused>) -> Invalid {
        match r {
            Err(UploadRefused::UnsupportedType(e)) => e,
            other => panic!("expected an unsupported type, got {other:?}"),
        }
    }

    #[test]
    fn declared_ulaw_is_kept_as_raw_and_replaces_an_earlier_wav() {
        let dir = tempfile::tempdir().unwrap();
        let wav = include_bytes!("../../audio/chime.wav");
        let (path, _) = store_upload(dir.path(), "lobby-msg", wav, UploadFormat::Detect).unwrap();
        assert!(path.ends_with("lobby-msg.wav"));
        let raw = vec![0xFFu8; 4000];
        let (path, secs) = store_upload(dir.path(), "lobby-msg", &raw, UploadFormat::Ulaw).unwrap();
        assert!(path.ends_with("lobby-msg.raw"));
        assert!((secs - 0.5).abs() < 1e-9);
        assert!(!dir.path().join("lobby-msg.wav").exists());
        assert_eq!(std::fs::read(&path).unwrap(), raw);
        // Declared µ-law that is really a WAV would play as the WAV: refused, not misfiled.
        let e = store_upload(dir.path(), "x", wav, UploadFormat::Ulaw).unwrap_err();
        assert!(
            matches!(e, UploadRefused::Invalid(ref i) if i.rule.contains("WAV")),
            "{e}"
        );
        assert!(store_upload(dir.path(), "x", b"", UploadFormat::Ulaw).is_err());
    }

    #[test]
    fn undeclared_bytes_must_be_a_container_that_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let wav = include_bytes!("../../audio/chime.wav");
        let (path, secs) = store_upload(dir.path(), "lobby", wav, UploadFormat::Detect).unwrap();
        assert!(path.ends_with("lobby.wav") && secs > 0.1);
        // Text, µ-law with no declaration, µ-law silence (an MP3 frame sync): 415, nothing kept,
        // and the earlier sound of that name intact.
        for (what, bytes) in [
            ("text", b"root:x:0:0:root:/root:/bin/bash\n".to_vec()),
            ("ulaw tone", ulaw_tone()),
            ("ulaw silence", vec![0xFF; 4000]),
        ] {
            let e = unsupported(store_upload(
                dir.path(),
                "lobby",
                &bytes,
                UploadFormat::Detect,
            ));
            assert_eq!(e.field, "sound", "{what}");
            assert_eq!(e.rule.matches("WAV, MP3").count(), 1, "said once: {e}");
            assert_eq!(e.value, "lobby", "{what}");
            assert!(
                e.rule
                    .starts_with("is not a WAV, MP3, FLAC or Ogg Vorbis file")
                    && e.rule.contains("audio/basic")
                    && e.rule.contains("?format=ulaw"),
                "{what}: {e}"
            );
            assert_eq!(uploaded(dir.path(), "lobby"), Some(path.clone()), "{what}");
            assert_eq!(&std::fs::read(&path).unwrap()[..], &wav[..], "{what}");
        }
        let e = unsupported(store_upload(
            dir.path(),
            "t",
            b"hello",
            UploadFormat::Detect,
        ));
        assert_eq!(
            e.to_string(),
            format!("sound \"t\": {NOT_A_CONTAINER}"),
            "the whole refusal"
        );
        // The same tone declared: kept.
        let (path, secs) =
            store_upload(dir.path(), "tone", &ulaw_tone(), UploadFormat::Ulaw).unwrap();
        assert!(path.ends_with("tone.raw") && (secs - 0.5).abs() < 1e-9);
        // A WAV header with nonsense after it: a broken WAV, 400.
        let bad = b"RIFF\x00\x00\x00\x00WAVEnonsense";
        let e = store_upload(dir.path(), "bad", bad, UploadFormat::Detect).unwrap_err();
        assert!(matches!(e, UploadRefused::Invalid(_)), "{e}");
        assert!(uploaded(dir.path(), "bad").is_none());
        // An Ogg or ID3 header over nothing playable: 415, naming the formats.
        for bytes in [
            &b"OggS\x00\x02garbage-garbage-garbage"[..],
            b"ID3\x03\x00\x00junk",
        ] {
            let e = unsupported(store_upload(dir.path(), "c", bytes, UploadFormat::Detect));
            assert!(e.rule.contains("WAV, MP3, FLAC or Ogg Vorbis"), "{e}");
            assert!(!e.rule.contains(".raw"), "no file-extension advice: {e}");
            assert_eq!(e.rule.matches("WAV, MP3").count(), 1, "said once: {e}");
        }
        // No stray temporary files.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
        let e = store_upload(dir.path(), "../evil", wav, UploadFormat::Detect).unwrap_err();
        assert!(matches!(e, UploadRefused::Invalid(ref i) if i.field == "sound name"));
    }

    #[test]
    fn declarations_are_audio_basic_or_format_ulaw() {
        use UploadFormat::*;
        let d = |ct, f| UploadFormat::declared(ct, f);
        assert_eq!(d(None, None), Ok(Detect));
        assert_eq!(d(Some("application/octet-stream"), None), Ok(Detect));
        assert_eq!(d(Some("audio/wav"), None), Ok(Detect));
        assert_eq!(d(Some("audio/basic"), None), Ok(Ulaw));
        assert_eq!(d(Some("Audio/Basic ; rate=8000"), None), Ok(Ulaw));
        assert_eq!(
            d(Some("audio/basic;rate=\"8000\";channels=1"), None),
            Ok(Ulaw)
        );
        assert_eq!(d(Some("audio/basic; foo"), None), Ok(Ulaw));
        assert_eq!(d(Some("audio/wav"), Some("ulaw")), Ok(Ulaw));
        let e = d(Some("audio/basic; rate=16000"), None).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.value.as_str()),
            ("Content-Type", "audio/basic; rate=16000")
        );
        assert!(d(Some("audio/basic; channels=2"), None).is_err());
        let e = d(None, Some("pcm")).unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("format", "pcm"));
        assert!(e.rule.contains("ulaw"), "{e}");
        assert!(d(None, Some("")).is_err());
        assert!(d(Some("audio/basic"), Some("ULAW")).is_err());
    }

    proptest! {
        /// Any header text and query value: µ-law exactly when declared, a refusal naming the
        /// field it came from otherwise, never a panic.
        #[test]
        fn any_declaration_is_read_or_refused(ct in proptest::option::of(".{0,40}"),
                                              params in ".{0,30}",
                                              f in proptest::option::of("[a-z]{0,6}")) {
            let basic = format!("audio/basic;{params}");
            for ct in [ct.as_deref(), Some(basic.as_str())] {
                match UploadFormat::declared(ct, f.as_deref()) {
                    Ok(UploadFormat::Ulaw) => prop_assert!(
                        f.as_deref() == Some("ulaw")
                            || ct.is_some_and(|c| c.split(';').next().unwrap().trim()
                                .eq_ignore_ascii_case("audio/basic"))
                    ),
                    Ok(UploadFormat::Detect) => prop_assert!(
                        f.is_none()
                            && !ct.is_some_and(|c| c.split(';').next().unwrap().trim()
                                .eq_ignore_ascii_case("audio/basic"))
                    ),
                    Err(e) => prop_assert!(e.field == "format" || e.field == "Content-Type",
                                           "{e}"),
                }
            }
        }
    }
}
