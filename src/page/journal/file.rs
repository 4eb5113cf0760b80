//! The journal as a file of JSON lines, shared between processes with `flock`.
//!
//! Every write holds an exclusive `flock`, and one line is one `write` to a file opened for
//! appending. When no page has phones left the file is emptied.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{JournalBackend, JournalOp, JournalPage, PageRecord, pid_alive, sip_stop};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Page(PageRecord),
    Op { page: String, op: JournalOp },
}

/// The JSON-lines file backend.
#[derive(Debug, Clone)]
pub struct FileJournal {
    path: PathBuf,
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

impl FileJournal {
    /// The journal file at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> FileJournal {
        FileJournal { path: path.into() }
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
}

impl JournalBackend for FileJournal {
    fn path(&self) -> &Path {
        &self.path
    }

    /// Write a page's first line and flush it to disk.
    fn begin(&self, record: &PageRecord) -> io::Result<()> {
        self.append(&Line::Page(record.clone()), true)
    }

    /// `End` is flushed to disk; the others are left to the OS (losing one only means a
    /// harmless extra stop at recovery).
    fn record(&self, page: &str, op: &JournalOp) -> io::Result<()> {
        if matches!(op, JournalOp::Begin { .. }) {
            return Ok(()); // written by `begin`, with the stops
        }
        let end = matches!(op, JournalOp::End { .. });
        self.append(
            &Line::Op {
                page: page.to_owned(),
                op: op.clone(),
            },
            end,
        )?;
        if end {
            self.compact()?;
        }
        Ok(())
    }

    /// Replay the file. Unreadable lines (a line cut by a crash mid-write) are skipped.
    fn pages(&self) -> io::Result<Vec<JournalPage>> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(replay(BufReader::new(f)))
    }

    /// Empty the file when no page has phones left.
    fn compact(&self) -> io::Result<()> {
        let lock = Locked::open(&self.path)?;
        let pages = replay(BufReader::new(File::open(&self.path)?));
        if pages.iter().all(|p| p.remaining.is_empty()) {
            lock.0.set_len(0)?;
        }
        Ok(())
    }
}

/// Every page that has not ended or still has phones, in the order they began.
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
                    JournalOp::Dialog { phone, dialog } => {
                        if let Some(j) = p.record.phones.iter_mut().find(|j| j.name == phone) {
                            j.stop_xml = sip_stop(&dialog);
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
        .filter(|p| !p.ended || !p.remaining.is_empty())
        .map(|mut p| {
            p.alive = !p.ended && pid_alive(p.record.pid);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Journal;
    use super::super::tests::{names, record};
    use super::*;

    fn journal(dir: &Path) -> Journal {
        Journal::new(dir.join("j.jsonl"))
    }

    #[test]
    fn semantics() {
        super::super::tests::semantics(&|dir| Journal::new(dir.join("sub/j.jsonl")));
    }

    #[test]
    fn a_clean_page_leaves_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        j.begin(&record("a", std::process::id(), &["p1", "p2"]))
            .unwrap();
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
    fn a_page_begun_twice_in_one_file_is_replayed_once() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        j.begin(&record("a", std::process::id(), &["p1"])).unwrap();
        j.begin(&record("a", std::process::id(), &["p1"])).unwrap();
        assert_eq!(j.pages().unwrap().len(), 1);
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
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
        let j = journal(dir.path());
        j.begin(&record("a", 1, &["p1"])).unwrap();
        let text = std::fs::read_to_string(j.path()).unwrap();
        assert!(!text.to_ascii_lowercase().contains("password"));
    }
}
