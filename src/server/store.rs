//! The server's SQLite journal. CONTRACT STUB: implemented by a helper; signatures are fixed.

use std::path::Path;

use serde::Serialize;

use crate::page::DeliveryReport;
use crate::page::journal::Journal;
use crate::page::recover::Recovered;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("journal {path}: {message}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        message: String,
    },
    /// The file or its directory.
    #[error("journal {path}: {source}")]
    Io {
        /// The database file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Who started a page and with what, written when it starts (before any phone is pushed).
#[derive(Debug, Clone, Serialize)]
pub struct PageStart {
    /// Page id.
    pub page: String,
    /// Zone.
    pub zone: String,
    /// Priority level.
    pub priority: String,
    /// What plays (`chime`, `file:NAME`, `tone:800:5`, `bell:NAME` ...).
    pub source: String,
    /// Banner text, if any.
    pub banner: Option<String>,
    /// Who asked: `api`, `bell:NAME`, `phone:NAME`.
    pub requested_by: String,
    /// Unix ms.
    pub started_ms: i64,
}

/// One page of the history.
#[derive(Debug, Clone, Serialize)]
pub struct PageSummary {
    /// As started.
    #[serde(flatten)]
    pub start: PageStart,
    /// Unix ms of its end, if it ended.
    pub ended_ms: Option<i64>,
    /// Why it ended (`source ended`, `duration`, `stopped by api` ...).
    pub ended_by: Option<String>,
    /// Phones accepted / failed / total, from the report.
    pub accepted: usize,
    /// Phones that failed.
    pub failed: usize,
    /// Phones planned.
    pub phones: usize,
}

/// One phone's outcome in one page.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneOutcome {
    /// Page id.
    pub page: String,
    /// Phone name.
    pub phone: String,
    /// Final state (`stopped`, `stopped_by_user`, `failed` ...), as [`crate::page::PhoneState`] serializes.
    pub state: String,
    /// Failure reason, if any.
    pub failure: Option<String>,
    /// Unix ms of the page's end.
    pub at_ms: i64,
}

/// A page with its per-phone outcomes.
#[derive(Debug, Clone, Serialize)]
pub struct PageDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: PageSummary,
    /// Per phone.
    pub outcomes: Vec<PhoneOutcome>,
}

/// A bell that came due.
#[derive(Debug, Clone, Serialize)]
pub struct BellEvent {
    /// Bell name.
    pub bell: String,
    /// When it was due, unix ms.
    pub due_ms: i64,
    /// `fired` or `missed`.
    pub outcome: String,
    /// Page ids it started (fired).
    pub pages: Vec<String>,
    /// Why missed / failed, or how late.
    pub detail: Option<String>,
}

/// A phone's last known state, from its latest page outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneStatus {
    /// Phone name.
    pub phone: String,
    /// Unix ms of the last page outcome.
    pub last_seen_ms: i64,
    /// Its state then.
    pub last_outcome: String,
    /// Failure reason then.
    pub failure: Option<String>,
}

/// The SQLite journal (cheap to clone; one connection behind a mutex).
#[derive(Debug, Clone)]
pub struct Store {
    _private: (),
}

impl Store {
    /// Open (creating the directory and file) and migrate to the current schema.
    pub fn open(_path: &Path) -> Result<Store, StoreError> {
        todo!()
    }
    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        todo!()
    }
    /// The page journal (pages in flight, stops to replay) backed by this database.
    pub fn journal(&self) -> Journal {
        todo!()
    }
    /// Who/what/when of a page: call before its phones are pushed.
    pub fn page_started(&self, _p: &PageStart) -> Result<(), StoreError> {
        todo!()
    }
    /// A page's end with per-phone outcomes.
    pub fn page_finished(&self, _r: &DeliveryReport, _ended_ms: i64) -> Result<(), StoreError> {
        todo!()
    }
    /// The latest pages, newest first.
    pub fn pages(&self, _limit: usize) -> Result<Vec<PageSummary>, StoreError> {
        todo!()
    }
    /// One page with its outcomes.
    pub fn page(&self, _id: &str) -> Result<Option<PageDetail>, StoreError> {
        todo!()
    }
    /// Record a bell that fired or was missed.
    pub fn bell(&self, _e: &BellEvent) -> Result<(), StoreError> {
        todo!()
    }
    /// The latest bell events, newest first.
    pub fn bells(&self, _limit: usize) -> Result<Vec<BellEvent>, StoreError> {
        todo!()
    }
    /// Record what a recovery did.
    pub fn recovered(&self, _r: &[Recovered], _at_ms: i64) -> Result<(), StoreError> {
        todo!()
    }
    /// Every phone's last outcome.
    pub fn phone_status(&self) -> Result<Vec<PhoneStatus>, StoreError> {
        todo!()
    }
    /// A small key/value (e.g. the scheduler's last run).
    pub fn get_state(&self, _key: &str) -> Result<Option<String>, StoreError> {
        todo!()
    }
    /// Set a key/value.
    pub fn set_state(&self, _key: &str, _value: &str) -> Result<(), StoreError> {
        todo!()
    }
    /// `PRAGMA integrity_check` says ok.
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        todo!()
    }
}
