//! Ring tones from the console: `POST /api/ringtones?name=N` takes any sound the engine decodes
//! (WAV, MP3, FLAC, Ogg Vorbis; at most `[server] upload_limit`), converts it with the ringtone
//! converter ([`crate::ringtone::convert_samples`], what `zonecast ringtone convert` runs) into
//! a legal narrowband `N.raw` and, when the sound has the bandwidth for it (16 kHz or more), a
//! wideband `N.rwb`, and answers the files, the ring lists that name them and the rules it had
//! to apply, in words. `GET /api/ringtones/{file}` downloads a ring file or a ring list
//! (`RingList.xml` for the `.raw` files, `Ringlist-wb.xml` for the `.rwb` ones), rendered from
//! the files kept under `[server] data_dir/ringtones`.

use std::path::{Path as FsPath, PathBuf};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::refusal::{Answered, Refusal, failed, refuse};
use crate::ringtone::ringlist::{MAX_NAME, MAX_RINGS};
use crate::ringtone::{ConvertOptions, Converted, Format, Ring, RingList, convert_samples};

/// The narrowband ring list's file name.
pub const RING_LIST: &str = "RingList.xml";
/// The wideband ring list's file name.
pub const RING_LIST_WB: &str = "Ringlist-wb.xml";

/// Longest ring tone name: its file name (`NAME.raw`) must fit a ring list's 25 characters.
const MAX_TONE_NAME: usize = MAX_NAME - 4;

/// Where ring tones are kept, and the largest sound taken.
#[derive(Clone)]
pub struct RingtoneShelf {
    /// `[server] data_dir/ringtones`.
    pub dir: PathBuf,
    /// `[server] upload_limit`.
    pub upload_limit: usize,
}

/// The routes `POST /api/ringtones` and `GET /api/ringtones/{file}`.
pub fn router<S: Clone + Send + Sync + 'static>(shelf: RingtoneShelf) -> Router<S> {
    let limit = shelf.upload_limit;
    Router::new()
        .route(
            "/api/ringtones",
            post(convert).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/api/ringtones/{file}", get(download))
        .with_state(shelf)
}

/// A ring tone's name: 1..=21 of `A-Z a-z 0-9 _ -` (no path characters, fits a ring list).
/// Also what a ring file's name (`NAME.raw`) is checked by.
pub fn check_name(name: &str) -> Result<(), Refusal> {
    let ok = !name.is_empty()
        && name.len() <= MAX_TONE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "ringtone name {name:?}: must be 1..={MAX_TONE_NAME} characters of A-Z, a-z, \
                 0-9, _ and - (the file name must fit the phones' {MAX_NAME} characters)"
            ),
        ))
    }
}

#[derive(Debug, Deserialize)]
struct ConvertQuery {
    name: String,
}

async fn convert(
    State(shelf): State<RingtoneShelf>,
    q: Result<Query<ConvertQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answered {
    let Query(q) = q.map_err(|e| refuse(StatusCode::BAD_REQUEST, e.body_text()))?;
    check_name(&q.name)?;
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            refuse(
                status,
                format!(
                    "the sound is larger than [server] upload_limit ({} bytes)",
                    shelf.upload_limit
                ),
            )
        } else {
            refuse(status, e.body_text())
        }
    })?;
    let name = q.name.clone();
    let made = tokio::task::spawn_blocking(move || make(&shelf, &name, &body))
        .await
        .map_err(failed)??;
    Ok((StatusCode::CREATED, axum::Json(made)).into_response())
}

/// Decode, convert, keep: the answer of `POST /api/ringtones`.
fn make(shelf: &RingtoneShelf, name: &str, bytes: &[u8]) -> Result<Value, Refusal> {
    let kept = kept_names(&shelf.dir, "raw");
    if !kept.iter().any(|n| n == name) && kept.len() >= MAX_RINGS {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("a ring list holds at most {MAX_RINGS} rings and {MAX_RINGS} are kept"),
        ));
    }
    let (samples, rate) = decode(&shelf.dir, name, bytes)?;
    let mut rules = Vec::new();
    let mut files = Vec::new();
    let mut formats = vec![Format::Narrowband];
    if rate >= Format::Wideband.rate() {
        formats.push(Format::Wideband);
    } else {
        rules.push(format!(
            "no wideband .rwb: the sound is {rate} Hz, below the 16000 Hz a .rwb holds"
        ));
    }
    for format in formats {
        let opts = ConvertOptions {
            format,
            ..ConvertOptions::default()
        };
        let done = convert_samples(&samples, rate, &opts)
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, e))?;
        rules.extend(rules_of(&done, &opts, samples.len(), rate));
        let file = format!("{name}.{}", format.extension());
        write_atomically(&shelf.dir, &file, &done.bytes).map_err(failed)?;
        files.push(json!({
            "name": file,
            "url": format!("/api/ringtones/{file}"),
            "format": format,
            "samples": done.samples,
            "seconds": done.samples as f64 / f64::from(format.rate()),
            "bytes": done.bytes.len(),
        }));
    }
    rules.dedup();
    tracing::info!("ringtone {name} converted ({} files)", files.len());
    let wideband = files.len() > 1;
    Ok(json!({
        "name": name,
        "files": files,
        "ringlist_url": format!("/api/ringtones/{RING_LIST}"),
        "ringlist_wb_url": wideband.then(|| format!("/api/ringtones/{RING_LIST_WB}")),
        "rules": rules,
    }))
}

/// The sound's mono samples and rate, decoded from a hidden temporary file; 415 when the bytes
/// are no container the engine decodes.
fn decode(dir: &FsPath, name: &str, bytes: &[u8]) -> Result<(Vec<f32>, u32), Refusal> {
    let unsupported = |why: String| {
        refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the sound for ringtone {name:?} {why}"),
        )
    };
    if bytes.is_empty() {
        return Err(refuse(StatusCode::BAD_REQUEST, "the sound is empty"));
    }
    let Some(ext) = crate::source::sniff(bytes) else {
        return Err(unsupported(
            "is not a WAV, MP3, FLAC or Ogg Vorbis file".into(),
        ));
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(format!("{}: {e}", dir.display())))?;
    let tmp = dir.join(format!(".{name}.upload.{ext}"));
    std::fs::write(&tmp, bytes).map_err(|e| failed(format!("{}: {e}", tmp.display())))?;
    let loaded = crate::audio::load_mono(&tmp);
    let _ = std::fs::remove_file(&tmp);
    match loaded {
        Ok((s, _)) if s.is_empty() => Err(refuse(
            StatusCode::BAD_REQUEST,
            "the sound decodes to no audio",
        )),
        Ok(decoded) => Ok(decoded),
        Err(e) => Err(unsupported(format!("cannot be decoded: {e}"))),
    }
}

/// The rules one conversion applied, in words.
fn rules_of(done: &Converted, opts: &ConvertOptions, input: usize, rate: u32) -> Vec<String> {
    let f = opts.format;
    let ext = f.extension();
    let mut rules = Vec::new();
    if rate != f.rate() {
        rules.push(format!(
            ".{ext}: resampled from {rate} Hz to {} Hz",
            f.rate()
        ));
    }
    rules.extend(done.warnings.iter().map(|w| format!(".{ext}: {w}")));
    rules.push(format!(
        ".{ext}: levelled: the loudest peak set to {} dBFS",
        opts.normalize_dbfs
    ));
    let input_secs = input as f64 / f64::from(rate);
    let secs = done.samples as f64 / f64::from(f.rate());
    rules.push(format!(
        ".{ext}: {secs:.3} s ({} samples, from {input_secs:.3} s): a ring is a multiple of \
         {} samples, at least {} and at most {} ({:.3} s), ending on a zero crossing",
        done.samples,
        crate::ringtone::rules::STEP,
        crate::ringtone::rules::MIN_SAMPLES,
        f.max_samples(),
        f.max_samples() as f64 / f64::from(f.rate())
    ));
    rules.push(format!(
        ".{ext}: faded in and out over {} ms so the loop point is silent",
        opts.fade_ms
    ));
    rules.push(match f {
        Format::Narrowband => ".raw: mono 8-bit µ-law at 8000 Hz, no header".to_owned(),
        Format::Wideband => ".rwb: mono 16-bit little-endian PCM at 16000 Hz, no header".to_owned(),
    });
    rules
}

/// Write `bytes` as `dir/file`, replacing it only once complete.
fn write_atomically(dir: &FsPath, file: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(file)).map_err(|e| format!("{file}: {e}"))
}

/// The names of the kept ring tones with extension `ext`, sorted.
fn kept_names(dir: &FsPath, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let stem = file.strip_suffix(&format!(".{ext}"))?;
            check_name(stem).is_ok().then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
}

/// A ring list naming the kept files of `ext`.
fn ring_list(dir: &FsPath, ext: &str) -> String {
    let rings = kept_names(dir, ext)
        .into_iter()
        .map(|n| Ring {
            file_name: format!("{n}.{ext}"),
            display_name: n,
        })
        .collect();
    crate::ringtone::render_ring_list(&RingList { rings }).0
}

async fn download(State(shelf): State<RingtoneShelf>, Path(file): Path<String>) -> Answered {
    let xml = "application/xml; charset=utf-8";
    let (body, content_type) = match file.as_str() {
        RING_LIST => (ring_list(&shelf.dir, "raw").into_bytes(), xml),
        RING_LIST_WB => (ring_list(&shelf.dir, "rwb").into_bytes(), xml),
        _ => {
            let (stem, ext) = file.rsplit_once('.').unwrap_or((file.as_str(), ""));
            if !matches!(ext, "raw" | "rwb") {
                return Err(refuse(
                    StatusCode::NOT_FOUND,
                    format!(
                        "no ring file {file:?}: ring files are NAME.raw or NAME.rwb, the lists \
                         {RING_LIST} and {RING_LIST_WB}"
                    ),
                ));
            }
            check_name(stem)?;
            match super::recordings::read_file(shelf.dir.join(&file)).await {
                Ok(b) => (b, "application/octet-stream"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(refuse(
                        StatusCode::NOT_FOUND,
                        format!("no ring file {file:?}"),
                    ));
                }
                Err(e) => return Err(failed(format!("{file}: {e}"))),
            }
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_a_ring_list_and_hold_no_path() {
        assert!(check_name("door-bell_2").is_ok());
        assert!(check_name(&"a".repeat(21)).is_ok());
        for bad in ["", "../x", "a/b", "a.b", "a b", "é", &"a".repeat(22)] {
            assert_eq!(
                check_name(bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_rules_say_what_the_conversion_did() {
        // 3 s at 16 kHz into a .raw: resampled, cut to its maximum, levelled, encoded.
        let input: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.3).sin() * 0.2).collect();
        let opts = ConvertOptions::default();
        let done = convert_samples(&input, 16_000, &opts).unwrap();
        let rules = rules_of(&done, &opts, input.len(), 16_000);
        let said = |what: &str| rules.iter().any(|r| r.contains(what));
        assert!(said("resampled from 16000 Hz to 8000 Hz"), "{rules:?}");
        assert!(said("cut to the"), "{rules:?}");
        assert!(said("levelled"), "{rules:?}");
        assert!(said("µ-law"), "{rules:?}");
        assert!(rules.iter().all(|r| r.starts_with(".raw: ")), "{rules:?}");
    }
}
