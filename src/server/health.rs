//! `GET /api/health`: how the server is doing, for the console's health screen and monitoring
//! that does not read Prometheus: the pacer's lateness, pages running, phones whose last page
//! failed to reach them (the journal's last outcome per phone), the journal's size on disk, the
//! free space of `[server] data_dir`, and the version. It reads; it changes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::pages::Pages;
use super::refusal::{Answered, failed};
use super::store::Store;
use crate::config::Config;
use crate::rtp::Pacer;
use crate::rtp::pacer::PacerStats;

/// Last outcomes that mean a phone was not reached (or not released).
const FAILED_OUTCOMES: [&str; 2] = ["failed", "stop_failed"];

/// Phones listed by name in the answer (the count covers all).
const MAX_LISTED: usize = 100;

/// What the health route reads.
#[derive(Clone)]
pub struct HealthSources {
    /// The config (its phones, data directory).
    pub config: Arc<Config>,
    /// Running pages.
    pub pages: Pages,
    /// The journal.
    pub store: Store,
    /// The pacer's counters.
    pub pacer: Arc<Pacer>,
}

/// The route `GET /api/health`.
pub fn router<S: Clone + Send + Sync + 'static>(sources: HealthSources) -> Router<S> {
    Router::new()
        .route("/api/health", get(health))
        .with_state(sources)
}

/// The pacer's lateness, in milliseconds.
fn pacer_json(p: &PacerStats) -> Value {
    let mean_ms = if p.wakeups == 0 {
        0.0
    } else {
        p.lateness_sum_ns as f64 / p.wakeups as f64 / 1e6
    };
    json!({
        "wakeups": p.wakeups,
        "mean_lateness_ms": mean_ms,
        "max_lateness_ms": p.max_lateness_ns as f64 / 1e6,
        "skipped_ticks": p.skipped_ticks,
        "realtime": p.realtime,
        "datagrams": p.datagrams,
    })
}

/// Free and total bytes of the file system holding `dir` (None where it cannot be asked).
pub fn disk_space(dir: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: an all-zero statvfs is a valid value for statvfs(3) to fill in.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a NUL-terminated string and `st` a valid statvfs, both alive for
        // the call.
        let r = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
        if r != 0 {
            return None;
        }
        let frsize = st.f_frsize as u64;
        Some((
            (st.f_bavail as u64).saturating_mul(frsize),
            (st.f_blocks as u64).saturating_mul(frsize),
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// The journal's bytes on disk: the database and its write-ahead log.
fn journal_bytes(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    [db.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

async fn health(State(h): State<HealthSources>) -> Answered {
    let status = {
        let store = h.store.clone();
        tokio::task::spawn_blocking(move || store.phone_status())
            .await
            .map_err(failed)?
            .map_err(failed)?
    };
    let failing: Vec<Value> = status
        .iter()
        .filter(|s| FAILED_OUTCOMES.contains(&s.last_outcome.as_str()))
        .filter(|s| h.config.phone(&s.phone).is_some())
        .map(|s| {
            json!({
                "phone": s.phone,
                "outcome": s.last_outcome,
                "failure": s.failure,
                "at_ms": s.last_seen_ms,
            })
        })
        .collect();
    let data_dir = &h.config.server.data_dir;
    let disk = disk_space(data_dir);
    let body = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pacer": pacer_json(&h.pacer.stats()),
        "pages_active": h.pages.ids().len(),
        "phones": {
            "configured": h.config.phones.len(),
            "unreachable": failing.len(),
            "failing": failing.iter().take(MAX_LISTED).collect::<Vec<_>>(),
        },
        "journal": {
            "path": h.store.path(),
            "bytes": journal_bytes(h.store.path()),
        },
        "disk": {
            "path": data_dir,
            "free_bytes": disk.map(|d| d.0),
            "total_bytes": disk.map(|d| d.1),
        },
    });
    Ok(axum::Json(body).into_response())
}
