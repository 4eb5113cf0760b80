//! The page journal: a small append-only file of JSON lines that outlives a killed process.
//!
//! Before a page pushes its first start, its phones and the exact stop each one needs are
//! written and flushed to disk ([`Journal::begin`]). Stops that succeed, phones taken over by a
//! higher page, and the page's end (with any phones whose stop failed) are appended as they
//! happen. Replaying the file ([`Journal::pages`]) gives every page with phones that may still be
//! playing; a page whose process is gone, or that ended with failed stops, is what
//! `zonecast recover` stops. Passwords are never written: phones are named, and their
//! credentials come from the config when the stop is pushed.
//!
//! Several zonecast processes may share one journal: every write holds an exclusive `flock`,
//! and one line is one `write` to a file opened for appending. When no page has phones left the
//! file is emptied.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

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
    /// The page ended; these phones' stops failed.
    End {
        /// Phone names still to stop.
        unstopped: Vec<String>,
    },
}

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

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Page(PageRecord),
    Op { page: String, op: JournalOp },
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

/// The journal file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
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

struct Locked(File);

impl Locked {
    fn open(path: &Path) -> io::Result<Locked> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        // SAFETY: flock on a valid descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Locked(f))
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl Journal {
    /// The journal at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Journal {
        Journal { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &Line, sync: bool) -> io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(io::Error::other)?;
        text.push('\n');
        let mut f = Locked::open(&self.path)?;
        f.0.write_all(text.as_bytes())?;
        if sync {
            f.0.sync_data()?;
        }
        Ok(())
    }

    /// Write a page's first line and flush it to disk: call before pushing any start.
    pub fn begin(&self, record: &PageRecord) -> io::Result<()> {
        self.append(&Line::Page(record.clone()), true)
    }

    /// Append what a page's state machine asked for. `End` is flushed to disk; the others are
    /// left to the OS (losing one only means a harmless extra stop at recovery).
    pub fn record(&self, page: &str, op: &JournalOp) -> io::Result<()> {
        if matches!(op, JournalOp::Begin { .. }) {
            return Ok(()); // written by `begin`, with the stops
        }
        let sync = matches!(op, JournalOp::End { .. });
        self.append(
            &Line::Op {
                page: page.to_owned(),
                op: op.clone(),
            },
            sync,
        )?;
        if matches!(op, JournalOp::End { .. }) {
            self.compact()?;
        }
        Ok(())
    }

    /// Replay the file: every page with its remaining phones. Unreadable lines (a line cut by a
    /// crash mid-write) are skipped.
    pub fn pages(&self) -> io::Result<Vec<JournalPage>> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(replay(BufReader::new(f)))
    }

    /// Empty the file when no page has phones left.
    pub fn compact(&self) -> io::Result<()> {
        let lock = Locked::open(&self.path)?;
        let pages = replay(BufReader::new(File::open(&self.path)?));
        if pages.iter().all(|p| p.remaining.is_empty()) {
            lock.0.set_len(0)?;
        }
        Ok(())
    }
}

fn replay(reader: impl BufRead) -> Vec<JournalPage> {
    let mut pages: BTreeMap<String, JournalPage> = BTreeMap::new();
    let mut order = Vec::new();
    for line in reader.lines().map_while(Result::ok) {
        let Ok(parsed) = serde_json::from_str::<Line>(&line) else {
            continue;
        };
        match parsed {
            Line::Page(record) => {
                let remaining = record.phones.iter().map(|p| p.name.clone()).collect();
                order.push(record.page.clone());
                pages.insert(
                    record.page.clone(),
                    JournalPage {
                        remaining,
                        ended: false,
                        alive: true,
                        record,
                    },
                );
            }
            Line::Op { page, op } => {
                let Some(p) = pages.get_mut(&page) else {
                    continue;
                };
                match op {
                    JournalOp::Begin { .. } => {}
                    JournalOp::Stopped { phones } | JournalOp::Released { phones } => {
                        for n in phones {
                            p.remaining.remove(&n);
                        }
                    }
                    JournalOp::End { unstopped } => {
                        p.ended = true;
                        let keep: BTreeSet<String> = unstopped.into_iter().collect();
                        p.remaining.retain(|n| keep.contains(n));
                    }
                }
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| pages.remove(&id))
        .map(|mut p| {
            p.alive = !p.ended && pid_alive(p.record.pid);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(page: &str, pid: u32, phones: &[&str]) -> PageRecord {
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

    fn names(p: &JournalPage) -> Vec<&str> {
        p.remaining.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_clean_page_leaves_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.begin(&record("a", std::process::id(), &["p1", "p2"]))
            .unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(names(&pages[0]), ["p1", "p2"]);
        assert!(pages[0].alive && !pages[0].needs_recovery());
        j.record(
            "a",
            &JournalOp::Stopped {
                phones: vec!["p1".into()],
            },
        )
        .unwrap();
        j.record("a", &JournalOp::End { unstopped: vec![] })
            .unwrap();
        assert!(j.pages().unwrap().is_empty());
        assert_eq!(std::fs::metadata(j.path()).unwrap().len(), 0);
    }

    #[test]
    fn a_dead_process_page_needs_recovery_and_released_phones_are_not_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("sub/j.jsonl"));
        // pid 0x7FFF_FFF0 does not exist.
        j.begin(&record("dead", 0x7FFF_FFF0, &["p1", "p2", "p3"]))
            .unwrap();
        j.record(
            "dead",
            &JournalOp::Stopped {
                phones: vec!["p1".into()],
            },
        )
        .unwrap();
        j.record(
            "dead",
            &JournalOp::Released {
                phones: vec!["p3".into()],
            },
        )
        .unwrap();
        let pages = j.pages().unwrap();
        assert!(!pages[0].alive);
        assert!(pages[0].needs_recovery());
        assert_eq!(names(&pages[0]), ["p2"]);
        assert_eq!(pages[0].remaining_phones()[0].stop_xml, "<stop p2/>");
    }

    #[test]
    fn an_end_with_failed_stops_keeps_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.begin(&record("a", std::process::id(), &["p1", "p2", "p3"]))
            .unwrap();
        j.record(
            "a",
            &JournalOp::End {
                unstopped: vec!["p2".into()],
            },
        )
        .unwrap();
        let pages = j.pages().unwrap();
        assert!(pages[0].ended && pages[0].needs_recovery());
        assert_eq!(names(&pages[0]), ["p2"]);
        j.record(
            "a",
            &JournalOp::Stopped {
                phones: vec!["p2".into()],
            },
        )
        .unwrap();
        j.compact().unwrap();
        assert!(j.pages().unwrap().is_empty());
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.begin(&record("a", 0x7FFF_FFF0, &["p1"])).unwrap();
        let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(b"{\"kind\":\"op\",\"page\":\"a\",\"op\":{\"op\":\"sto")
            .unwrap();
        let pages = j.pages().unwrap();
        assert_eq!(names(&pages[0]), ["p1"]);
    }

    #[test]
    fn no_password_is_ever_written() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.begin(&record("a", 1, &["p1"])).unwrap();
        let text = std::fs::read_to_string(j.path()).unwrap();
        assert!(!text.to_ascii_lowercase().contains("password"));
    }
}
