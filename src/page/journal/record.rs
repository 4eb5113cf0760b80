//! What the journal keeps (a page's record, its phones and their stops, the ops its state machine
//! asks for, a page as replayed) and the contract every place it is kept honours
//! ([`JournalBackend`]). Both backends ([`super::FileJournal`], the server's SQLite store) and
//! [`super::Journal`] build on this file; it uses neither.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a page's state machine asks to have written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JournalOp {
    /// The page begins with these phones (the shell writes a [`PageRecord`] for it).
    Begin {
        /// Phone names.
        phones: Vec<String>,
    },
    /// These phones got their stop.
    Stopped {
        /// Phone names.
        phones: Vec<String>,
    },
    /// These phones were taken over by a page of higher priority.
    Released {
        /// Phone names.
        phones: Vec<String>,
    },
    /// A SIP endpoint's dialog changed (a new INVITE after a challenge, the answer's tag,
    /// route set and target): its hang-up is built from this one now.
    Dialog {
        /// The endpoint's name.
        phone: String,
        /// The dialog as it stands.
        dialog: Box<SipDialog>,
    },
    /// The page ended; these phones' stops failed.
    End {
        /// Phone names still to stop.
        unstopped: Vec<String>,
    },
}

/// A SIP dialog a page opened with an endpoint (`[[sip_endpoint]]`), as plain data: what a
/// later process needs to end it, a BYE once answered (`remote_tag` set), else a CANCEL of the
/// INVITE (`branch`, `cseq`, `via`). Written before the INVITE goes out; no credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SipDialog {
    /// Call-ID.
    pub call_id: String,
    /// Our From tag.
    pub local_tag: String,
    /// Our From URI.
    pub local_uri: String,
    /// The endpoint's URI (To, and the INVITE's Request-URI).
    pub remote_uri: String,
    /// Where requests are sent (`host:port`, before any route set).
    pub peer: String,
    /// The INVITE's Via sent-by (`host:port`): a CANCEL must carry the same.
    pub via: String,
    /// The INVITE's Via branch (a CANCEL reuses it).
    pub branch: String,
    /// The INVITE's CSeq number (a BYE takes the next).
    pub cseq: u32,
    /// The endpoint's To tag, once it answered.
    #[serde(default)]
    pub remote_tag: Option<String>,
    /// The endpoint's Contact in its answer (the BYE's Request-URI).
    #[serde(default)]
    pub remote_target: Option<String>,
    /// Record-Route of the answer, reversed (the BYE's Route headers).
    #[serde(default)]
    pub route_set: Vec<String>,
}

/// What marks a journaled phone as a SIP endpoint: its "stop" is its dialog (as JSON).
const SIP_STOP: &str = "sip-dialog:";

/// One phone of a page as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPhone {
    /// Name in the config.
    pub name: String,
    /// The CiscoIPPhoneExecute that stops it.
    pub stop_xml: String,
    /// Whether it answers with CiscoIPPhoneResponse.
    pub expect_reply: bool,
}

impl JournalPhone {
    /// A SIP endpoint of a page: what ends it is its dialog.
    pub fn sip(name: &str, dialog: &SipDialog) -> JournalPhone {
        JournalPhone {
            name: name.to_owned(),
            stop_xml: sip_stop(dialog),
            expect_reply: false,
        }
    }

    /// The SIP dialog that ends it, when it is a SIP endpoint.
    pub fn dialog(&self) -> Option<SipDialog> {
        let json = self.stop_xml.strip_prefix(SIP_STOP)?;
        serde_json::from_str(json).ok()
    }
}

/// The journal's "stop" of a SIP endpoint: its dialog, marked.
pub(crate) fn sip_stop(dialog: &SipDialog) -> String {
    format!(
        "{SIP_STOP}{}",
        serde_json::to_string(dialog).unwrap_or_default()
    )
}

/// A page's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    /// Page id.
    pub page: String,
    /// Process running it.
    pub pid: u32,
    /// Zone.
    pub zone: String,
    /// Priority name.
    pub priority: String,
    /// Priority rank (higher wins).
    pub rank: usize,
    /// Wall-clock start, ms since the Unix epoch.
    pub started_ms: u64,
    /// Its phones.
    pub phones: Vec<JournalPhone>,
    /// Multicast group it streams to, if any (so other pages pick another).
    #[serde(default)]
    pub group: Option<std::net::Ipv4Addr>,
    /// RTP port it uses (so other pages pick another).
    #[serde(default)]
    pub port: Option<u16>,
}

/// A page as replayed from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPage {
    /// The page's first line.
    pub record: PageRecord,
    /// Phones that may still be playing it, by name.
    pub remaining: BTreeSet<String>,
    /// Its end was written.
    pub ended: bool,
    /// Its process still runs (and it has not ended).
    pub alive: bool,
}

impl JournalPage {
    /// Whether someone must stop its remaining phones: they exist and nobody else will.
    pub fn needs_recovery(&self) -> bool {
        !self.remaining.is_empty() && (self.ended || !self.alive)
    }

    /// The remaining phones with their stops.
    pub fn remaining_phones(&self) -> Vec<&JournalPhone> {
        self.record
            .phones
            .iter()
            .filter(|p| self.remaining.contains(&p.name))
            .collect()
    }
}

/// Where a journal is kept. Every backend gives the same answers:
///
/// - [`begin`](JournalBackend::begin) is durable before it returns;
/// - [`pages`](JournalBackend::pages) returns every page that has not ended or still has
///   remaining phones, in the order they began; `remaining` is its phones minus those recorded
///   `Stopped` or `Released`; `End { unstopped }` marks it ended and keeps as remaining only
///   those of `unstopped` still remaining; `alive` is `!ended && pid_alive(pid)`;
/// - recording `Begin` does nothing (`begin` wrote the phones), and ops for a page never begun
///   are ignored.
pub trait JournalBackend: Send + Sync + std::fmt::Debug {
    /// Where it is kept (file or database).
    fn path(&self) -> &Path;
    /// Write a page and its phones with their stops, durably.
    fn begin(&self, record: &PageRecord) -> io::Result<()>;
    /// Record what a page's state machine asked for.
    fn record(&self, page: &str, op: &JournalOp) -> io::Result<()>;
    /// The pages with phones that may still be playing, or still running.
    fn pages(&self) -> io::Result<Vec<JournalPage>>;
    /// Reclaim space when nothing is left (may do nothing).
    fn compact(&self) -> io::Result<()>;
}

/// Whether process `pid` exists.
pub fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
