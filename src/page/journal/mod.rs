//! The page journal: what outlives a killed process.
//!
//! Before a page pushes its first start, its phones and the exact stop each one needs are
//! written durably ([`Journal::begin`]). Stops that succeed, phones taken over by a higher page,
//! and the page's end (with any phones whose stop failed) are recorded as they happen.
//! [`Journal::pages`] gives every page with phones that may still be playing; a page whose
//! process is gone, or that ended with failed stops, is what `zonecast recover` stops.
//! Passwords are never written: phones are named, and their credentials come from the config
//! when the stop is pushed.
//!
//! Where it is kept is a [`JournalBackend`]: a file of JSON lines ([`FileJournal`], what
//! [`Journal::new`] opens), or the server's SQLite database
//! ([`crate::server::store::Store::journal`]). Several zonecast processes may share one.
//!
//! Submodules: `record` (what the journal keeps: records, phones, ops), `file` (the JSON-lines
//! journal).

mod file;
mod record;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use file::FileJournal;
pub(crate) use record::sip_stop;
pub use record::{
    JournalBackend, JournalOp, JournalPage, JournalPhone, PageRecord, SipDialog, pid_alive,
};

/// The page journal (cheap to clone; clones share the backend).
#[derive(Debug, Clone)]
pub struct Journal {
    backend: Arc<dyn JournalBackend>,
}

impl Journal {
    /// The journal file (JSON lines) at `path`, created on first write.
    pub fn new(path: impl Into<PathBuf>) -> Journal {
        Journal::from_backend(Arc::new(FileJournal::new(path)))
    }

    /// A journal kept by `backend`.
    pub fn from_backend(backend: Arc<dyn JournalBackend>) -> Journal {
        Journal { backend }
    }

    /// Where it is kept.
    pub fn path(&self) -> &Path {
        self.backend.path()
    }

    /// Write a page's phones and their stops durably: call before pushing any start.
    pub fn begin(&self, record: &PageRecord) -> io::Result<()> {
        self.backend.begin(record)
    }

    /// Record what a page's state machine asked for. `End` is durable; losing another op only
    /// means a harmless extra stop at recovery.
    pub fn record(&self, page: &str, op: &JournalOp) -> io::Result<()> {
        if matches!(op, JournalOp::Begin { .. }) {
            return Ok(()); // written by `begin`, with the stops
        }
        self.backend.record(page, op)
    }

    /// Every page that has not ended or still has phones that may be playing, in start order.
    pub fn pages(&self) -> io::Result<Vec<JournalPage>> {
        self.backend.pages()
    }

    /// Reclaim space when no page has phones left.
    pub fn compact(&self) -> io::Result<()> {
        self.backend.compact()
    }
}

/// The journal's semantics, run against every backend (see [`semantics`]).
#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;

    /// A page of `phones` run by `pid`.
    pub(crate) fn record(page: &str, pid: u32, phones: &[&str]) -> PageRecord {
        PageRecord {
            page: page.into(),
            pid,
            zone: "all".into(),
            priority: "normal".into(),
            rank: 0,
            started_ms: 0,
            phones: phones
                .iter()
                .map(|n| JournalPhone {
                    name: (*n).into(),
                    stop_xml: format!("<stop {n}/>"),
                    expect_reply: true,
                })
                .collect(),
            group: None,
            port: None,
        }
    }

    /// Its remaining phones' names.
    pub(crate) fn names(p: &JournalPage) -> Vec<&str> {
        p.remaining.iter().map(String::as_str).collect()
    }

    /// The pid of a process that has exited.
    pub(crate) fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn stopped(names: &[&str]) -> JournalOp {
        JournalOp::Stopped {
            phones: names.iter().map(|n| (*n).into()).collect(),
        }
    }

    fn released(names: &[&str]) -> JournalOp {
        JournalOp::Released {
            phones: names.iter().map(|n| (*n).into()).collect(),
        }
    }

    fn end(names: &[&str]) -> JournalOp {
        JournalOp::End {
            unstopped: names.iter().map(|n| (*n).into()).collect(),
        }
    }

    fn ids(pages: &[JournalPage]) -> Vec<&str> {
        pages.iter().map(|p| p.record.page.as_str()).collect()
    }

    type Make<'a> = &'a dyn Fn(&Path) -> Journal;
    type Check = for<'a> fn(Make<'a>);

    /// Every semantic check, each on a fresh journal made by `make` in an empty directory.
    pub(crate) fn semantics(make: Make<'_>) {
        let checks: [(&str, Check); 11] = [
            ("a live page", a_live_page_is_listed_and_needs_nothing),
            ("a clean end", a_clean_end_lists_nothing),
            ("a dead process", a_dead_process_page_needs_recovery),
            ("released phones", released_phones_are_not_its_own),
            (
                "an end with failed stops",
                an_end_with_failed_stops_keeps_only_those,
            ),
            (
                "an end names stopped phones",
                an_end_does_not_bring_back_stopped_phones,
            ),
            ("start order", pages_come_in_start_order),
            ("the record", the_record_comes_back_whole),
            ("ops without a page", ops_for_an_unknown_page_are_ignored),
            ("clones", clones_share_the_journal),
            ("a SIP dialog", a_sip_dialog_is_kept_and_updated),
        ];
        for (name, check) in checks {
            eprintln!("journal semantics: {name}");
            check(make);
        }
    }

    fn fresh(make: Make<'_>) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = make(dir.path());
        (dir, j)
    }

    fn a_live_page_is_listed_and_needs_nothing(make: Make<'_>) {
        let (_d, j) = fresh(make);
        assert!(j.pages().unwrap().is_empty());
        j.begin(&record("a", std::process::id(), &["p1", "p2"]))
            .unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(ids(&pages), ["a"]);
        assert_eq!(names(&pages[0]), ["p1", "p2"]);
        assert!(pages[0].alive && !pages[0].ended && !pages[0].needs_recovery());
        j.record("a", &stopped(&["p1", "p2"])).unwrap();
        // Every phone stopped but not ended: still running, still listed.
        let pages = j.pages().unwrap();
        assert_eq!(ids(&pages), ["a"]);
        assert!(pages[0].remaining.is_empty() && !pages[0].needs_recovery());
    }

    fn a_clean_end_lists_nothing(make: Make<'_>) {
        let (_d, j) = fresh(make);
        j.begin(&record("a", std::process::id(), &["p1", "p2"]))
            .unwrap();
        j.record("a", &JournalOp::Begin { phones: vec![] }).unwrap();
        j.record("a", &stopped(&["p1"])).unwrap();
        j.record("a", &end(&[])).unwrap();
        assert!(j.pages().unwrap().is_empty());
        j.compact().unwrap();
        assert!(j.pages().unwrap().is_empty());
    }

    fn a_dead_process_page_needs_recovery(make: Make<'_>) {
        let (_d, j) = fresh(make);
        j.begin(&record("dead", dead_pid(), &["p1", "p2"])).unwrap();
        j.begin(&record("huge", 0x7FFF_FFF0, &["p3"])).unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(ids(&pages), ["dead", "huge"]);
        for p in &pages {
            assert!(!p.alive && !p.ended && p.needs_recovery(), "{p:?}");
        }
        assert_eq!(names(&pages[0]), ["p1", "p2"]);
        // Recovery stops them and ends the page: nothing is left.
        j.record("dead", &stopped(&["p1", "p2"])).unwrap();
        j.record("dead", &end(&[])).unwrap();
        assert_eq!(ids(&j.pages().unwrap()), ["huge"]);
    }

    fn released_phones_are_not_its_own(make: Make<'_>) {
        let (_d, j) = fresh(make);
        j.begin(&record("dead", 0x7FFF_FFF0, &["p1", "p2", "p3"]))
            .unwrap();
        j.record("dead", &stopped(&["p1"])).unwrap();
        j.record("dead", &released(&["p3"])).unwrap();
        let pages = j.pages().unwrap();
        assert!(!pages[0].alive);
        assert!(pages[0].needs_recovery());
        assert_eq!(names(&pages[0]), ["p2"]);
        let rem = pages[0].remaining_phones();
        assert_eq!(rem.len(), 1);
        assert_eq!(rem[0].stop_xml, "<stop p2/>");
        assert!(rem[0].expect_reply);
    }

    fn an_end_with_failed_stops_keeps_only_those(make: Make<'_>) {
        let (_d, j) = fresh(make);
        j.begin(&record("a", std::process::id(), &["p1", "p2", "p3"]))
            .unwrap();
        j.record("a", &end(&["p2"])).unwrap();
        let pages = j.pages().unwrap();
        assert!(pages[0].ended && !pages[0].alive && pages[0].needs_recovery());
        assert_eq!(names(&pages[0]), ["p2"]);
        j.record("a", &stopped(&["p2"])).unwrap();
        j.compact().unwrap();
        assert!(j.pages().unwrap().is_empty());
    }

    fn an_end_does_not_bring_back_stopped_phones(make: Make<'_>) {
        let (_d, j) = fresh(make);
        j.begin(&record("a", std::process::id(), &["p1", "p2", "p3"]))
            .unwrap();
        j.record("a", &stopped(&["p1"])).unwrap();
        j.record("a", &end(&["p1", "p3", "nobody"])).unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(names(&pages[0]), ["p3"]);
        let rem = pages[0].remaining_phones();
        assert_eq!(rem.len(), 1);
        assert_eq!(rem[0].name, "p3");
    }

    fn pages_come_in_start_order(make: Make<'_>) {
        let (_d, j) = fresh(make);
        for id in ["c", "a", "b", "d"] {
            j.begin(&record(id, std::process::id(), &["p1"])).unwrap();
        }
        j.record("a", &end(&[])).unwrap();
        j.record("b", &end(&["p1"])).unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(ids(&pages), ["c", "b", "d"]);
        assert!(pages[1].ended && pages[1].needs_recovery());
        assert!(!pages[0].needs_recovery() && !pages[2].needs_recovery());
    }

    fn the_record_comes_back_whole(make: Make<'_>) {
        let (_d, j) = fresh(make);
        let mut r = record("a", std::process::id(), &["z9", "a1", "m5"]);
        r.zone = "hall".into();
        r.priority = "emergency".into();
        r.rank = 3;
        r.started_ms = 1_700_000_000_123;
        r.group = Some(std::net::Ipv4Addr::new(239, 255, 10, 1));
        r.port = Some(20480);
        r.phones[1].expect_reply = false;
        j.begin(&r).unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(pages[0].record, r);
        // Phones keep the record's order, not the name order.
        let order: Vec<&str> = pages[0]
            .remaining_phones()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(order, ["z9", "a1", "m5"]);
    }

    fn ops_for_an_unknown_page_are_ignored(make: Make<'_>) {
        let (_d, j) = fresh(make);
        j.record("ghost", &stopped(&["p1"])).unwrap();
        j.record("ghost", &end(&["p1"])).unwrap();
        assert!(j.pages().unwrap().is_empty());
    }

    fn a_sip_dialog_is_kept_and_updated(make: Make<'_>) {
        let (_d, j) = fresh(make);
        let mut r = record("a", 0x7FFF_FFF0, &["p1"]);
        let mut dialog = SipDialog {
            call_id: "c1@127.0.0.1".into(),
            local_tag: "t1".into(),
            branch: "z9hG4bK1".into(),
            cseq: 1,
            ..SipDialog::default()
        };
        r.phones.push(JournalPhone::sip("horn", &dialog));
        j.begin(&r).unwrap();
        let pages = j.pages().unwrap();
        let horn = &pages[0].remaining_phones()[1];
        assert_eq!(horn.dialog(), Some(dialog.clone()));
        assert_eq!(pages[0].remaining_phones()[0].dialog(), None);
        // Answered: the remote tag replaces what recovery would send (a BYE, not a CANCEL).
        dialog.remote_tag = Some("r1".into());
        dialog.route_set = vec!["<sip:p1;lr>".into()];
        let op = JournalOp::Dialog {
            phone: "horn".into(),
            dialog: Box::new(dialog.clone()),
        };
        j.record("a", &op).unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(pages[0].remaining_phones()[1].dialog(), Some(dialog));
        assert_eq!(names(&pages[0]), ["horn", "p1"]);
    }

    fn clones_share_the_journal(make: Make<'_>) {
        let (_d, j) = fresh(make);
        let k = j.clone();
        j.begin(&record("a", 0x7FFF_FFF0, &["p1"])).unwrap();
        assert_eq!(ids(&k.pages().unwrap()), ["a"]);
        k.record("a", &stopped(&["p1"])).unwrap();
        assert!(j.pages().unwrap()[0].remaining.is_empty());
        assert_eq!(j.path(), k.path());
    }
}
