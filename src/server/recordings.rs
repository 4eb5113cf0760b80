//! Recordings of what a phone's microphone hears, started from the console:
//! `POST /api/recordings` `{"phone", "seconds"}` starts a listen session on the phone (through
//! [`super::listen`]) writing `[server] data_dir/recordings/ID.wav`; `GET /api/recordings` lists
//! them, `GET /api/recordings/{id}` downloads one (audio/wav), `DELETE /api/recordings/{id}`
//! removes one (a running one is ended early, its phone stopped, and then removed).
//!
//! Bounded: at most [`MAX_SECONDS`] per recording, [`MAX_RUNNING`] at once, [`MAX_KEPT`] kept
//! (delete some to record more), one at a time per phone. Each recording's facts are kept beside
//! its WAV as `ID.json`, so the list survives a restart; one that was running when the server
//! stopped is listed as `interrupted`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::listen::{ListenOrder, bind};
use super::pages::Pages;
use super::refusal::{Answered, Refusal, failed, refuse};
use crate::config::Config;
use crate::page::journal::Journal;
use crate::page::listen::ListenPhone;

/// Longest recording, seconds.
pub const MAX_SECONDS: f64 = 600.0;
/// Recordings running at once.
pub const MAX_RUNNING: usize = 4;
/// Recordings kept.
pub const MAX_KEPT: usize = 100;
/// Largest request body (`{"phone", "seconds"}`).
const BODY_LIMIT: usize = 4096;

/// One recording as listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordingEntry {
    /// Its id (`r` and hex digits).
    pub id: String,
    /// The phone recorded.
    pub phone: String,
    /// When it started, unix ms.
    pub started_ms: i64,
    /// Seconds asked for.
    pub seconds: f64,
    /// `recording`, `done`, `failed` or `interrupted`.
    pub state: String,
    /// Seconds in the file, once done.
    pub recorded_seconds: Option<f64>,
    /// RTP packets received.
    pub packets: Option<u64>,
    /// Why it failed (or what went wrong along the way).
    pub failure: Option<String>,
    /// Who started it (a user's name, or `api-token`): listening to a phone's microphone is
    /// somebody's act. Absent in entries kept before it was recorded.
    #[serde(default)]
    pub started_by: Option<String>,
}

struct Shelf {
    config: Arc<Config>,
    pages: Pages,
    journal: Journal,
    dir: PathBuf,
    list: Mutex<BTreeMap<String, RecordingEntry>>,
    /// The running recordings' stops: `true` ends one early and discards it.
    stops: Mutex<BTreeMap<String, watch::Sender<bool>>>,
}

/// The recordings (cheap to clone).
#[derive(Clone)]
pub struct Recordings {
    shelf: Arc<Shelf>,
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An id as made here: `r` then 1..=24 lowercase hex digits.
fn valid_id(id: &str) -> bool {
    id.len() <= 25
        && id.strip_prefix('r').is_some_and(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

impl Recordings {
    /// The recordings under `[server] data_dir/recordings`, with those kept by earlier runs.
    pub fn new(config: Arc<Config>, pages: Pages, journal: Journal) -> Recordings {
        let dir = config.server.data_dir.join("recordings");
        let mut list = BTreeMap::new();
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let Some(mut entry) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<RecordingEntry>(&b).ok())
                .filter(|r| valid_id(&r.id))
            else {
                continue;
            };
            if entry.state == "recording" {
                entry.state = "interrupted".into();
                entry.failure = Some("the server stopped while it was recording".into());
            }
            list.insert(entry.id.clone(), entry);
        }
        Recordings {
            shelf: Arc::new(Shelf {
                config,
                pages,
                journal,
                dir,
                list: Mutex::new(list),
                stops: Mutex::default(),
            }),
        }
    }

    fn list(&self) -> MutexGuard<'_, BTreeMap<String, RecordingEntry>> {
        self.shelf.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stops(&self) -> MutexGuard<'_, BTreeMap<String, watch::Sender<bool>>> {
        self.shelf.stops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forget recording `id`: its files and its entry.
    fn discard(&self, id: &str) -> Result<(), Refusal> {
        for ext in ["wav", "json"] {
            let path = self.shelf.dir.join(format!("{id}.{ext}"));
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(failed(format!("deleting recording {id:?}: {e}")));
            }
        }
        self.list().remove(id);
        Ok(())
    }

    /// A recording's end: kept with what was heard, or discarded when a delete ended it. Under
    /// the stops' lock, so a delete sees either a running recording or an ended one.
    fn finished(&self, entry: RecordingEntry, report: &ListenPhone) {
        let mut stops = self.stops();
        if stops.remove(&entry.id).is_some_and(|s| *s.borrow()) {
            drop(stops);
            tracing::info!("recording {} of phone {} deleted", entry.id, entry.phone);
            if let Err(e) = self.discard(&entry.id) {
                tracing::warn!("{}", e.why);
            }
            return;
        }
        let mut done = entry;
        done.recorded_seconds = Some(report.received.seconds_recorded);
        done.packets = Some(report.received.packets);
        let kept = report.file.is_some();
        done.state = if kept { "done" } else { "failed" }.into();
        done.failure = report
            .failure
            .clone()
            .or(report.received.error.clone())
            .or_else(|| (!kept).then(|| "the phone sent nothing".into()));
        tracing::info!(
            "recording {} of phone {} {}",
            done.id,
            done.phone,
            done.state
        );
        self.keep(done);
    }

    fn wav(&self, id: &str) -> PathBuf {
        self.shelf.dir.join(format!("{id}.wav"))
    }

    /// Keep `entry` in the list and beside its WAV.
    fn keep(&self, entry: RecordingEntry) {
        let path = self.shelf.dir.join(format!("{}.json", entry.id));
        match serde_json::to_vec_pretty(&entry) {
            Ok(bytes) => {
                if let Err(e) = std::fs::create_dir_all(&self.shelf.dir)
                    .and_then(|()| std::fs::write(&path, bytes))
                {
                    tracing::warn!("recording {}: {}: {e}", entry.id, path.display());
                }
            }
            Err(e) => tracing::warn!("recording {}: {e}", entry.id),
        }
        self.list().insert(entry.id.clone(), entry);
    }
}

/// The routes of `/api/recordings`.
pub fn router<S: Clone + Send + Sync + 'static>(recordings: Recordings) -> Router<S> {
    Router::new()
        .route(
            "/api/recordings",
            get(list)
                .post(start)
                .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/api/recordings/{id}", get(download).delete(remove))
        .with_state(recordings)
}

async fn list(State(r): State<Recordings>) -> Answered {
    let mut all: Vec<RecordingEntry> = r.list().values().cloned().collect();
    all.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then(b.id.cmp(&a.id)));
    Ok(axum::Json(json!({ "recordings": all })).into_response())
}

/// `POST /api/recordings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    phone: String,
    seconds: f64,
}

/// The body of `POST /api/recordings` checked, without a server (for the fuzzer,
/// `fuzz/fuzz_targets/console_inputs.rs`): the phone's name and how long.
pub fn parse_start(body: &[u8]) -> Result<(String, Duration), Refusal> {
    let b: StartBody = serde_json::from_slice(body).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body must be {{\"phone\": NAME, \"seconds\": N}}: {e}"),
        )
    })?;
    if !(b.seconds.is_finite() && b.seconds >= 1.0 && b.seconds <= MAX_SECONDS) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("seconds {}: must be 1..={MAX_SECONDS}", b.seconds),
        ));
    }
    Ok((b.phone, Duration::from_secs_f64(b.seconds)))
}

/// A checked request: the phone's entry and how long.
fn order_of(r: &Recordings, body: &[u8]) -> Result<(crate::config::PhoneEntry, Duration), Refusal> {
    let (name, duration) = parse_start(body)?;
    let Some(phone) = r.shelf.config.phone(&name).cloned() else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("phone {name:?}: no such phone in the config"),
        ));
    };
    Ok((phone, duration))
}

/// Room for one more recording of `phone`, or the 409 saying why not.
fn room_for(r: &Recordings, phone: &str) -> Result<(), Refusal> {
    let list = r.list();
    let running: Vec<&RecordingEntry> = list.values().filter(|e| e.state == "recording").collect();
    if running.iter().any(|e| e.phone == phone) {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("phone {phone:?} is being recorded already"),
        ));
    }
    if running.len() >= MAX_RUNNING {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("{MAX_RUNNING} recordings are running already: wait for one to end"),
        ));
    }
    if list.len() >= MAX_KEPT {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("{MAX_KEPT} recordings are kept already: delete some first"),
        ));
    }
    Ok(())
}

async fn start(
    State(r): State<Recordings>,
    actor: Option<axum::Extension<super::users::Actor>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Answered {
    let body = body.map_err(|e| refuse(e.status(), e.body_text()))?;
    let (phone, duration) = order_of(&r, &body)?;
    room_for(&r, &phone.name)?;
    let started_ms = unix_ms();
    let id = format!("r{started_ms:x}{:04x}", rand::random::<u16>());
    let order = ListenOrder {
        phone: phone.clone(),
        duration,
        file: r.wav(&id),
    };
    let (config, journal) = (r.shelf.config.clone(), r.shelf.journal.clone());
    let bound = tokio::task::spawn_blocking(move || bind(&config, &journal, order))
        .await
        .map_err(failed)?
        .map_err(|why| refuse(StatusCode::CONFLICT, why))?;
    let entry = RecordingEntry {
        id: id.clone(),
        phone: phone.name.clone(),
        started_ms,
        seconds: duration.as_secs_f64(),
        state: "recording".into(),
        recorded_seconds: None,
        packets: None,
        failure: None,
        started_by: actor.map(|a| a.name().to_owned()),
    };
    tracing::info!(
        "recording {id} of phone {} started by {}",
        phone.name,
        entry.started_by.as_deref().unwrap_or("?")
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    r.stops().insert(id.clone(), stop_tx);
    r.keep(entry.clone());
    let rec = r.clone();
    tokio::spawn(async move {
        let (journal, pages) = (rec.shelf.journal.clone(), rec.shelf.pages.clone());
        let report = super::listen::run(bound, journal, pages, stop_rx).await;
        rec.finished(entry, &report);
    });
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "id": id, "recording": r.list().get(&id) })),
    )
        .into_response())
}

/// The entry of `id`: 404 when there is none (an id of another shape cannot exist).
fn entry_of(r: &Recordings, id: &str) -> Result<RecordingEntry, Refusal> {
    let found = valid_id(id).then(|| r.list().get(id).cloned()).flatten();
    found.ok_or_else(|| refuse(StatusCode::NOT_FOUND, format!("no recording {id:?}")))
}

/// A whole file, read off the async threads.
pub async fn read_file(path: PathBuf) -> std::io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(std::io::Error::other)?
}

async fn download(State(r): State<Recordings>, Path(id): Path<String>) -> Answered {
    let entry = entry_of(&r, &id)?;
    if entry.state == "recording" {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!(
                "recording {id:?} is still running (it ends {} s after its start)",
                entry.seconds
            ),
        ));
    }
    let bytes = match read_file(r.wav(&id)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                format!(
                    "recording {id:?} has no audio ({})",
                    entry.failure.as_deref().unwrap_or("nothing was kept")
                ),
            ));
        }
        Err(e) => return Err(failed(format!("recording {id:?}: {e}"))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.wav\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn remove(State(r): State<Recordings>, Path(id): Path<String>) -> Answered {
    entry_of(&r, &id)?;
    if let Some(stop) = r.stops().get(&id) {
        // Running: ended early (the phone gets its stop), then discarded.
        stop.send_replace(true);
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({ "id": id, "deleted": false, "stopping": true })),
        )
            .into_response());
    }
    r.discard(&id)?;
    Ok(axum::Json(json!({ "id": id, "deleted": true, "stopping": false })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_a_phone_and_1_to_600_seconds() {
        let (phone, d) = parse_start(br#"{"phone":"p001","seconds":2.5}"#).unwrap();
        assert_eq!((phone.as_str(), d), ("p001", Duration::from_millis(2500)));
        for bad in [
            &br#"{"phone":"p001","seconds":0.5}"#[..],
            br#"{"phone":"p001","seconds":600.5}"#,
            br#"{"phone":"p001"}"#,
            br#"{"phone":"p001","seconds":2,"x":1}"#,
            br#"{"phone":1,"seconds":2}"#,
            b"not json",
        ] {
            let e = parse_start(bad).unwrap_err();
            assert_eq!(
                e.status,
                StatusCode::BAD_REQUEST,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn ids_are_r_and_lowercase_hex() {
        assert!(valid_id("r1a23b35f63e946f"));
        for bad in [
            "",
            "r",
            "R12",
            "r12G",
            "r../x",
            "1234",
            &format!("r{}", "a".repeat(25)),
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
