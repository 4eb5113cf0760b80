//! Listening to and deleting sounds from the console: `GET /api/sounds/{name}/audio` answers
//! the sound as the engine prepares it for a page (levelled, 8 kHz, through µ-law) as a WAV a
//! browser plays, and `DELETE /api/sounds/{name}` removes an uploaded sound. Bundled sounds are
//! part of zonecast and are not deleted (409); neither is a sound a configured bell or phone
//! service message plays (409 naming it), since the bell would then fail at its time. Uploading
//! stays `PUT /api/sounds/{name}` in [`super::api`].

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde_json::json;

use super::refusal::{Answered, Refusal, failed, refuse};
use crate::config::Config;
use crate::g711::Law;
use crate::source::{self, Levelling, Trust};

/// Longest sound answered: 10 minutes of 20 ms frames (a bundled or uploaded sound is far
/// shorter; this only bounds a sound that never ends).
const MAX_FRAMES: usize = 30_000;

/// What the sound routes read.
#[derive(Clone)]
pub struct SoundShelf {
    /// The config (its loudness target, bells and messages).
    pub config: Arc<Config>,
    /// Directory of uploaded sounds.
    pub uploads: PathBuf,
}

/// The routes `GET /api/sounds/{name}/audio` and `DELETE /api/sounds/{name}`.
pub fn router<S: Clone + Send + Sync + 'static>(shelf: SoundShelf) -> Router<S> {
    Router::new()
        .route("/api/sounds/{name}/audio", get(audio))
        .route("/api/sounds/{name}", delete(remove))
        .with_state(shelf)
}

/// A name that can be neither a bundled nor an uploaded sound: 400 (path characters, `..`).
fn checked(name: &str) -> Result<(), Refusal> {
    source::check_upload_name(name).map_err(|e| refuse(StatusCode::BAD_REQUEST, e))
}

/// The source spec of sound `name`: a bundled sound first, else an upload.
fn spec_of(shelf: &SoundShelf, name: &str) -> Option<String> {
    if source::BUNDLED.contains(&name) {
        Some(name.to_owned())
    } else {
        source::uploaded(&shelf.uploads, name).map(|_| format!("upload:{name}"))
    }
}

async fn audio(State(shelf): State<SoundShelf>, Path(name): Path<String>) -> Answered {
    checked(&name)?;
    let Some(spec) = spec_of(&shelf, &name) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no sound {name:?} (bundled or uploaded: see GET /api/sounds)"),
        ));
    };
    let wav = tokio::task::spawn_blocking(move || prepared_wav(&shelf, &spec))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.wav\""),
            ),
        ],
        wav,
    )
        .into_response())
}

/// The sound `spec` as a page would play it, as an 8 kHz mono 16-bit WAV.
fn prepared_wav(shelf: &SoundShelf, spec: &str) -> Result<Vec<u8>, String> {
    let level = Levelling::new(shelf.config.engine.loudness);
    let mut payloads = source::source(spec, &shelf.uploads, Trust::Api, Law::Ulaw, &level)
        .map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    let mut frame = [0u8; crate::audio::FRAME_SAMPLES];
    for _ in 0..MAX_FRAMES {
        if !payloads.next_payload(&mut frame) {
            break;
        }
        samples.extend(frame.iter().map(|&b| Law::Ulaw.decode(b)));
    }
    wav_bytes(&samples, crate::audio::SAMPLE_RATE)
}

/// Mono 16-bit samples at `rate` as WAV file bytes.
pub fn wav_bytes(samples: &[i16], rate: u32) -> Result<Vec<u8>, String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    let mut w = hound::WavWriter::new(&mut out, spec).map_err(|e| e.to_string())?;
    for &s in samples {
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Whether source `spec` plays uploaded sound `name` (stored at `stored`): as `upload:NAME`, or
/// as `file:PATH` naming the stored file (a bell names files; relative paths are read from the
/// server's working directory, as the bell's source reads them).
fn plays(spec: &str, name: &str, stored: &std::path::Path) -> bool {
    let stored = stored.canonicalize().ok();
    source::items(spec).iter().any(|item| {
        let item = item.trim();
        item.strip_prefix("upload:") == Some(name)
            || item.strip_prefix("file:").is_some_and(|p| {
                stored.is_some() && std::path::Path::new(p).canonicalize().ok() == stored
            })
    })
}

/// Who plays uploaded sound `name` (stored at `stored`): the configured bells and phone
/// service messages.
fn players(config: &Config, name: &str, stored: &std::path::Path) -> Vec<String> {
    let bells = config
        .schedule
        .iter()
        .flat_map(|s| &s.bells)
        .filter(|b| plays(&b.source, name, stored))
        .map(|b| format!("bell {:?}", b.name));
    let messages = config
        .services
        .messages
        .iter()
        .filter(|m| plays(&m.source, name, stored))
        .map(|m| format!("message {:?}", m.name));
    bells.chain(messages).collect()
}

async fn remove(State(shelf): State<SoundShelf>, Path(name): Path<String>) -> Answered {
    checked(&name)?;
    let Some(path) = source::uploaded(&shelf.uploads, &name) else {
        if source::BUNDLED.contains(&name.as_str()) {
            return Err(refuse(
                StatusCode::CONFLICT,
                format!(
                    "sound {name:?} is bundled with zonecast (only uploaded sounds can be deleted)"
                ),
            ));
        }
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no uploaded sound {name:?}"),
        ));
    };
    let used = players(&shelf.config, &name, &path);
    if !used.is_empty() {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!(
                "sound {name:?} is played by {} in {}: change the config first",
                used.join(", "),
                shelf.config.path.display()
            ),
        ));
    }
    std::fs::remove_file(&path).map_err(|e| failed(format!("deleting sound {name:?}: {e}")))?;
    tracing::info!("sound {name} deleted");
    Ok((
        StatusCode::OK,
        axum::Json(json!({ "name": name, "deleted": true })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_of_samples_reads_back() {
        let samples: Vec<i16> = (0..800).map(|i| (i * 37 % 2000) as i16 - 1000).collect();
        let bytes = wav_bytes(&samples, 8000).unwrap();
        let mut r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        let back: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(back, samples);
    }

    #[test]
    fn a_source_plays_an_upload_by_name_or_by_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let stored = dir.path().join("jingle.wav");
        std::fs::write(&stored, b"x").unwrap();
        let by_path = format!("chime,file:{}", stored.display());
        assert!(plays(&by_path, "jingle", &stored));
        assert!(plays("chime, upload:jingle", "jingle", &stored));
        assert!(!plays("chime,upload:jingle2", "jingle", &stored));
        assert!(!plays(
            "chime,file:/nonexistent/jingle.wav",
            "jingle",
            &stored
        ));
    }
}
