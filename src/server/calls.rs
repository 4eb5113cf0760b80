//! SIP calls on the server: the [`crate::sip::Desk`], the journal of calls and
//! `GET /api/calls`. A live call's page starts like a browser microphone's (`POST /api/pages`
//! with `"source": "mic"`, through [`super::pages::Pages`] and so the [`crate::page::Pager`]): a
//! talker with no phone whose relay reads the queue ([`super::talk::RelayFeed`]) the SIP agent
//! pushes the caller's frames into. The page is in the history as requested by `sip:CALLER`,
//! and ends with the server like every other. A zone whose every phone is held by higher pages
//! is a busy one (486). A delayed call's recording is kept as `calls/CALL.wav` under
//! `data_dir` and played as a page whose source names that file, so the history links the page
//! to it.
//!
//! The journal of calls is `calls/calls.jsonl`: one line per call when it begins (with its page
//! once started) and one when it ends ([`CallRecord`]), appended; the last line of a call is its
//! state. A call a killed server left open is closed when the next one starts.
//!
//! Both are bounded: past [`ROTATE_BYTES`] the journal moves to `calls.1.jsonl` (replacing the
//! one before) and starts again with the last line of every call in progress and of the recent
//! ones, so nothing `GET /api/calls` shows is lost; only the newest [`KEPT_RECORDINGS`]
//! recordings are kept (an older delayed page's history still names its file, which is gone).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::district_calls;
use super::district_pages::DistrictPages;
use super::pages::{BROWSER_MIC, Pages, StartError, StartPage};
use crate::g711::Law;
use crate::page::{Origin, PageError};
use crate::sip::{
    CallLink, CallPage, CallRecord, CallRecording, Desk, DeskRefusal, Freed, Played, Playing,
    Starting, ended_at_once,
};
use crate::source::Trust;

/// The directory under `data_dir` of the journal of calls and their recordings.
pub const CALLS_DIR: &str = "calls";
/// The journal of calls in [`CALLS_DIR`].
const JOURNAL_FILE: &str = "calls.jsonl";
/// Ended calls `GET /api/calls` lists, newest first.
const RECENT_CALLS: usize = 100;
/// The end of the journal read for the list (older calls stay in the file).
const TAIL_BYTES: u64 = 1 << 20;
/// The journal's size past which it is rotated (a call writes two or three lines of ~300 bytes:
/// some 20,000 calls a file).
pub const ROTATE_BYTES: u64 = 16 << 20;
/// The journal before the last rotation.
const ROTATED_FILE: &str = "calls.1.jsonl";
/// Recordings of delayed calls kept (each at most two minutes, 1.9 MB): the oldest go first.
pub const KEPT_RECORDINGS: usize = 200;
/// The outcome of a call a stopped server left open.
const LEFT_OPEN: &str = "the server stopped during the call";

/// Starts the pages of SIP calls on the server's running pages and keeps their journal.
pub struct CallDesk {
    pages: Pages,
    /// With `[cluster]`: a route to a district zone pages every site of it.
    district: Option<DistrictPages>,
    dir: PathBuf,
    /// One writer at a time, so lines never interleave.
    writing: Mutex<()>,
}

impl CallDesk {
    /// A desk on `pages`; its files go beside the page journal's (in `data_dir`). Calls a
    /// killed server left open are closed.
    pub fn new(pages: Pages, district: Option<DistrictPages>) -> Arc<CallDesk> {
        let data_dir = pages
            .journal()
            .path()
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = data_dir.join(CALLS_DIR);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!("calls: {}: {e}", dir.display());
        }
        let desk = CallDesk {
            pages,
            district,
            dir,
            writing: Mutex::new(()),
        };
        for mut open in listed(&desk.dir).in_progress {
            open.outcome = Some(LEFT_OPEN.to_owned());
            desk.append(&open);
        }
        Arc::new(desk)
    }

    fn append(&self, record: &CallRecord) {
        let Ok(mut line) = serde_json::to_string(record) else {
            return;
        };
        line.push('\n');
        let _guard = self.writing.lock();
        let path = self.dir.join(JOURNAL_FILE);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::error!("calls: {}: {e}", path.display());
        }
        if let Err(e) = rotate_past(&self.dir, ROTATE_BYTES) {
            tracing::error!("calls: rotating {}: {e}", path.display());
        }
    }

    /// The district pages, when `zone` is a district zone (which wins over a site zone of the
    /// same name, as for bells).
    fn district_of(&self, zone: &str) -> Option<&DistrictPages> {
        self.district.as_ref().filter(|d| d.zone(zone).is_some())
    }

    async fn start_call(&self, call: CallPage) -> Result<CallLink, DeskRefusal> {
        if let Some(d) = self.district_of(&call.zone) {
            return district_calls::start_call(d, &live_page(call)).await;
        }
        let id = self.pages.start(live_page(call)).await.map_err(refusal)?;
        let link = self.pages.open_mic(&id).map_err(|e| {
            self.pages
                .stop(&id, "the call's audio could not be connected");
            DeskRefusal::Unavailable(e.to_string())
        })?;
        let mut live = link.live.clone();
        if let Some(why) = ended_at_once(&mut live).await {
            return Err(DeskRefusal::Busy(why));
        }
        let feed = link.feed;
        let pages = self.pages.clone();
        let page = id.clone();
        Ok(CallLink {
            page: id,
            feed: Box::new(move |frame| feed.push(frame.iter().copied())),
            stop: Box::new(move |why| {
                pages.stop(&page, why);
            }),
            live: link.live,
        })
    }

    async fn play_recording(
        &self,
        call: CallPage,
        recording: CallRecording,
    ) -> Result<Played, DeskRefusal> {
        let name = format!("{}.wav", recording.call);
        let path = self.dir.join(&name);
        write_wav(&path, &recording.ulaw)
            .map_err(|e| DeskRefusal::Unavailable(format!("{}: {e}", path.display())))?;
        if let Err(e) = keep_newest_recordings(&self.dir, KEPT_RECORDINGS) {
            tracing::error!("calls: pruning recordings in {}: {e}", self.dir.display());
        }
        if let Some(d) = self.district_of(&call.zone) {
            let page = district_calls::play_recording(d, &live_page(call), recording.ulaw).await?;
            return Ok(Played {
                page,
                recording: name,
            });
        }
        // The server's own file: named by us, not by the caller.
        let source = format!("file:{}", path.display());
        let req = call_page(call, source, Trust::Config);
        let page = self.pages.start(req).await.map_err(refusal)?;
        Ok(Played {
            page,
            recording: name,
        })
    }
}

/// The page of a live call to `call.zone`: the caller's audio, relayed as a browser
/// microphone's is (its frames go into the page's talker queue).
pub(super) fn live_page(call: CallPage) -> StartPage {
    call_page(call, BROWSER_MIC.to_owned(), Trust::Api)
}

/// A page of `call.zone` playing `source`, at the route's priority, as the caller's.
fn call_page(call: CallPage, source: String, trust: Trust) -> StartPage {
    StartPage {
        zone: call.zone,
        source,
        trust,
        banner: None,
        priority: call.priority,
        duration: None,
        via_media: false,
        origin: Origin::Caller(call.caller),
        talker: None,
        voice: None,
        hand_over: None,
    }
}

fn refusal(e: StartError) -> DeskRefusal {
    match e {
        StartError::Page(PageError::Busy(why)) => DeskRefusal::Busy(why),
        other => DeskRefusal::Unavailable(other.to_string()),
    }
}

/// When the journal in `dir` is over `limit` bytes: move it to [`ROTATED_FILE`] and start a new
/// one with the last line of each call in progress and of the recent ones (the caller holds the
/// writing lock).
fn rotate_past(dir: &Path, limit: u64) -> std::io::Result<()> {
    let path = dir.join(JOURNAL_FILE);
    if std::fs::metadata(&path)?.len() <= limit {
        return Ok(());
    }
    let list = listed(dir);
    let mut kept = String::new();
    for r in list.recent.iter().rev().chain(&list.in_progress) {
        if let Ok(line) = serde_json::to_string(r) {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    let fresh = dir.join(format!("{JOURNAL_FILE}.new"));
    std::fs::write(&fresh, kept)?;
    std::fs::rename(&path, dir.join(ROTATED_FILE))?;
    std::fs::rename(&fresh, &path)
}

/// Delete all but the `keep` newest recordings (`*.wav`) in `dir`.
fn keep_newest_recordings(dir: &Path, keep: usize) -> std::io::Result<()> {
    let mut wavs = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.path().extension().is_some_and(|x| x == "wav") {
            wavs.push((e.metadata()?.modified()?, e.path()));
        }
    }
    if wavs.len() <= keep {
        return Ok(());
    }
    wavs.sort();
    for (_, old) in &wavs[..wavs.len() - keep] {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

/// A recording as a WAV file: 8 kHz mono 16-bit, what every page source reads.
fn write_wav(path: &Path, ulaw: &[u8]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &b in ulaw {
        w.write_sample(Law::Ulaw.decode(b))?;
    }
    w.finalize()
}

impl Desk for CallDesk {
    fn start(&self, call: CallPage) -> Starting<'_> {
        Box::pin(self.start_call(call))
    }

    fn play(&self, call: CallPage, recording: CallRecording) -> Playing<'_> {
        Box::pin(self.play_recording(call, recording))
    }

    fn journal(&self, record: &CallRecord) {
        self.append(record);
    }

    /// Looks at the zone every [`FREE_POLL`] without planning a page, so that a queued call
    /// leaves no refused page in the history for each try. A district zone's other sites are
    /// not seen from here: its page is tried again after 1 s, then 2, 4 and every 8 s, so that
    /// a long queue does not send every site a request each second.
    fn until_free<'a>(&'a self, call: &'a CallPage, tries: u32) -> Freed<'a> {
        Box::pin(async move {
            if self.district_of(&call.zone).is_some() {
                return tokio::time::sleep(district_retry(tries)).await;
            }
            while !self.pages.reaches_now(&call.zone, call.priority.as_deref()) {
                tokio::time::sleep(FREE_POLL).await;
            }
        })
    }
}

/// How often a queued call's zone is looked at.
const FREE_POLL: Duration = Duration::from_millis(250);

/// How many times a queued call to a district zone doubles its wait between tries (1 s to 8 s).
const DISTRICT_BACKOFF_STEPS: u32 = 3;

/// How long a queued call to a district zone waits before its try again number `tries` + 1.
fn district_retry(tries: u32) -> Duration {
    crate::sip::QUEUE_RETRY * 2u32.pow(tries.min(DISTRICT_BACKOFF_STEPS))
}

/// What `GET /api/calls` answers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallList {
    /// Calls not ended yet, oldest first.
    pub in_progress: Vec<CallRecord>,
    /// Ended calls, newest first (at most [`RECENT_CALLS`]).
    pub recent: Vec<CallRecord>,
}

/// The calls of the journal in `dir`: each call's last line is its state.
pub fn listed(dir: &Path) -> CallList {
    let text = tail(&dir.join(JOURNAL_FILE)).unwrap_or_default();
    calls_of(&text)
}

/// The journal's last [`TAIL_BYTES`], from its first whole line.
fn tail(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(match (from > 0, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_owned(),
        _ => text,
    })
}

/// Fold journal lines into calls (lines that do not parse, a torn last one, are skipped).
fn calls_of(text: &str) -> CallList {
    let mut order: Vec<String> = Vec::new();
    let mut last: std::collections::HashMap<String, CallRecord> = Default::default();
    for line in text.lines() {
        let Ok(r) = serde_json::from_str::<CallRecord>(line) else {
            continue;
        };
        if !last.contains_key(&r.call) {
            order.push(r.call.clone());
        }
        last.insert(r.call.clone(), r);
    }
    let mut list = CallList::default();
    for id in order {
        let Some(r) = last.remove(&id) else { continue };
        if r.outcome.is_some() {
            list.recent.push(r);
        } else {
            list.in_progress.push(r);
        }
    }
    list.recent.reverse();
    list.recent.truncate(RECENT_CALLS);
    list
}

/// `GET /api/calls`: calls in progress and recent ones, from the journal in `dir`
/// (`data_dir/calls`).
pub fn router<S: Clone + Send + Sync + 'static>(dir: PathBuf) -> Router<S> {
    Router::new()
        .route("/api/calls", get(list))
        .with_state(Arc::new(dir))
}

async fn list(State(dir): State<Arc<PathBuf>>) -> axum::Json<CallList> {
    let dir = (*dir).clone();
    let list = tokio::task::spawn_blocking(move || listed(&dir))
        .await
        .unwrap_or_default();
    axum::Json(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(call: &str, outcome: Option<&str>) -> CallRecord {
        CallRecord {
            call: call.into(),
            caller: "alice@pbx".into(),
            number: "7001".into(),
            zone: "lobby".into(),
            mode: "live".into(),
            started_ms: 1,
            duration_ms: outcome.map(|_| 1500),
            outcome: outcome.map(str::to_owned),
            page: None,
            recording: None,
        }
    }

    #[test]
    fn a_queued_call_to_a_district_zone_tries_again_ever_less_often_down_to_every_8_s() {
        let waits: Vec<u64> = (0..6).map(|t| district_retry(t).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert_eq!(district_retry(u32::MAX).as_secs(), 8);
    }

    #[test]
    fn each_calls_last_line_is_its_state_and_torn_lines_are_skipped() {
        let lines: Vec<String> = [
            record("a", None),
            record("b", None),
            record("a", Some("the caller hung up")),
            record("c", None),
            record("c", Some("refused 486: busy")),
        ]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
        let text = format!("{}\n{{\"call\":\"torn", lines.join("\n"));
        let list = calls_of(&text);
        let ids = |v: &[CallRecord]| v.iter().map(|r| r.call.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&list.in_progress), ["b"]);
        assert_eq!(ids(&list.recent), ["c", "a"]);
        assert_eq!(list.recent[1].duration_ms, Some(1500));
    }

    #[test]
    fn the_journal_is_read_from_its_tail_at_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let line = serde_json::to_string(&record("x", Some("done"))).unwrap();
        let n = (TAIL_BYTES as usize / line.len()) + 50;
        let mut f = std::fs::File::create(dir.path().join(JOURNAL_FILE)).unwrap();
        for i in 0..n {
            let r = record(&format!("x{i}"), Some("done"));
            writeln!(f, "{}", serde_json::to_string(&r).unwrap()).unwrap();
        }
        let list = listed(dir.path());
        assert_eq!(list.recent.len(), RECENT_CALLS);
        assert_eq!(list.recent[0].call, format!("x{}", n - 1));
        assert!(listed(&dir.path().join("none")).recent.is_empty());
    }

    #[test]
    fn a_full_journal_rotates_keeping_calls_in_progress_and_the_recent_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = std::fs::File::create(dir.path().join(JOURNAL_FILE)).unwrap();
        let mut write = |r: CallRecord| writeln!(f, "{}", serde_json::to_string(&r).unwrap());
        write(record("open", None)).unwrap();
        for i in 0..300 {
            write(record(&format!("x{i}"), None)).unwrap();
            write(record(&format!("x{i}"), Some("done"))).unwrap();
        }
        let before = listed(dir.path());
        rotate_past(dir.path(), 1 << 30).unwrap();
        assert!(
            !dir.path().join(ROTATED_FILE).exists(),
            "under the limit: untouched"
        );
        rotate_past(dir.path(), 1000).unwrap();
        assert!(dir.path().join(ROTATED_FILE).exists());
        let len = std::fs::metadata(dir.path().join(JOURNAL_FILE))
            .unwrap()
            .len();
        assert!(len < 64 * 1024, "{len}");
        let after = listed(dir.path());
        assert_eq!(after.in_progress, before.in_progress);
        assert_eq!(after.recent, before.recent);
        assert_eq!(after.in_progress[0].call, "open");
    }

    #[test]
    fn only_the_newest_recordings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("c{i}.wav")), b"RIFF").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::write(dir.path().join(JOURNAL_FILE), b"").unwrap();
        keep_newest_recordings(dir.path(), 3).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["c2.wav", "c3.wav", "c4.wav", JOURNAL_FILE]);
    }
}
