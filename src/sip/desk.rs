//! Where a call's page is started: the [`Desk`] the user agent is given. The server implements
//! it with its running pages (so a call's page goes through [`crate::page::Pager`] like every
//! other entry point, is kept in the history and ends with the server), and feeds the caller's
//! frames into the talker relay's queue the browser microphone uses. A delayed route's
//! recording is handed over whole ([`Desk::play`]): the server keeps it with the page and plays
//! it like a sound. Every call is handed to [`Desk::journal`] when it begins and when it ends
//! ([`CallRecord`]). This module only names the hand-off: the SIP side never reaches up into
//! the server. A route with `busy = "queue"` tries [`Desk::start`] again each time
//! [`Desk::until_free`] resolves (by default every [`QUEUE_RETRY`]; a desk that knows when a
//! zone frees up may say so sooner, and spare the history the refused tries). A desk's start
//! answers a busy zone rather than silence when its page ends before its first push
//! ([`ended_at_once`]).

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::page::DeliveryReport;
use crate::rtp::packet::PAYLOAD_LEN;

/// A live page a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPage {
    /// The zone the dialled number routes to.
    pub zone: String,
    /// Its priority level (`None`: the default).
    pub priority: Option<String>,
    /// Who called (the From URI, as the history's `requested_by`).
    pub caller: String,
}

/// Where a call's frames go: one 20 ms frame of the caller in µ-law per call.
pub type FrameSink = Box<dyn Fn(&[u8; PAYLOAD_LEN]) + Send + Sync>;

/// A started call page.
pub struct CallLink {
    /// The page's id.
    pub page: String,
    /// Where the caller's 20 ms µ-law frames go (the page's talker queue).
    pub feed: FrameSink,
    /// Ends the page with a reason (every phone gets its stop).
    pub stop: Box<dyn Fn(&str) + Send + Sync>,
    /// The page's live state; closed once the page has ended.
    pub live: watch::Receiver<DeliveryReport>,
}

/// Why a call's page did not start, as the caller's final answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskRefusal {
    /// The zone is held by a higher (or equal, refused) page: 486 Busy Here.
    #[error("busy: {0}")]
    Busy(String),
    /// The server is stopping, or the page could not be planned: 503.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The future [`Desk::start`] returns.
pub type Starting<'a> = Pin<Box<dyn Future<Output = Result<CallLink, DeskRefusal>> + Send + 'a>>;

/// The future [`Desk::until_free`] returns.
pub type Freed<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// How often a queued call tries its busy zone again when the desk has no sooner signal.
pub const QUEUE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// The future [`Desk::play`] returns.
pub type Playing<'a> = Pin<Box<dyn Future<Output = Result<Played, DeskRefusal>> + Send + 'a>>;

/// A recording kept and playing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// The page that plays it.
    pub page: String,
    /// Where it is kept (its file name beside the journal of calls).
    pub recording: String,
}

/// What a delayed route recorded: the caller from the beep to `#` or the hang-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecording {
    /// The call's id ([`CallRecord::call`]): the recording's name.
    pub call: String,
    /// The caller's audio, 8 kHz µ-law, levelled.
    pub ulaw: Vec<u8>,
}

/// A call as the journal keeps it and `GET /api/calls` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Our id of the call (not the SIP Call-ID, which is the trunk's).
    pub call: String,
    /// Who called (the From URI).
    pub caller: String,
    /// The number dialled.
    pub number: String,
    /// The zone its route pages.
    pub zone: String,
    /// `live` or `delayed`.
    pub mode: String,
    /// When the INVITE came (Unix ms).
    pub started_ms: i64,
    /// From the INVITE to the end (absent while in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// How it ended (`the caller hung up`, `refused 486: ...`; absent while in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The page it started, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// A delayed call's recording (its file name, kept beside the journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
}

/// Starts the pages of calls and keeps their journal.
pub trait Desk: Send + Sync + 'static {
    /// Start `call`'s page; it waits on its talker's queue ([`CallLink::feed`]).
    fn start(&self, call: CallPage) -> Starting<'_>;

    /// Keep `recording` with a new page of `call` that plays it.
    fn play(&self, call: CallPage, recording: CallRecording) -> Playing<'_>;

    /// Write `record` to the journal of calls: when the call begins, and when it ends.
    fn journal(&self, record: &CallRecord);

    /// Resolves when a queued `call`'s zone may be free (a page of it ended, say): its page is
    /// then tried again; `tries` counts the tries again before this one. By default after
    /// [`QUEUE_RETRY`], whatever happened.
    fn until_free<'a>(&'a self, call: &'a CallPage, tries: u32) -> Freed<'a> {
        let _ = (call, tries);
        Box::pin(tokio::time::sleep(QUEUE_RETRY))
    }
}

/// Longest a call's answer waits for its page's first push.
const FIRST_PUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A page whose every phone is held by higher pages is planned and ends at once, with no phone
/// pushed: for a caller that is a busy zone (486), not a call answered into silence. `Some`
/// (why it ended) when the page ended before its first push.
pub async fn ended_at_once(live: &mut watch::Receiver<DeliveryReport>) -> Option<String> {
    let first_push = async {
        loop {
            if live.borrow_and_update().totals.pushed > 0 {
                return None;
            }
            if live.changed().await.is_err() {
                let r = live.borrow();
                let why = if r.ended_by.is_empty() {
                    "no phone of the zone can take part".to_owned()
                } else {
                    r.ended_by.clone()
                };
                return Some(why);
            }
        }
    };
    tokio::time::timeout(FIRST_PUSH_WAIT, first_push)
        .await
        .unwrap_or(None)
}
