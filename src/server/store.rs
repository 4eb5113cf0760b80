//! The server's SQLite journal: the pages in flight (the page module's [`Journal`], backed by
//! the same database) and the history the API shows — pages with who started them and every
//! phone's outcome, bells that fired or were missed, recoveries, and a little key/value state.
//!
//! One file, opened in WAL mode with `synchronous=FULL` (a page's row and its phones' stops are
//! on disk before any phone is pushed) and a 5 s busy timeout, so a `zonecast page` process and
//! the server can share it. The schema is a list of migrations applied in order, one
//! transaction each, with the count kept in `PRAGMA user_version`; a database from a newer
//! build is refused rather than misread. Passwords are never stored: phones are named, and the
//! stop XML carries no credentials.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::page::journal::{
    Journal, JournalBackend, JournalOp, JournalPage, JournalPhone, PageRecord, pid_alive,
};
use crate::page::recover::Recovered;
use crate::page::{DeliveryReport, PhoneState};

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
    /// Who started it: a console user's name, `api-token`, or as `requested_by` says
    /// (`bell:NAME` ...).
    pub started_by: String,
    /// Who stopped it through the API (a user's name or `api-token`); `None` when it ended by
    /// itself or otherwise.
    pub stopped_by: Option<String>,
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
    /// The site's lease revision (fencing token) this node held when it rang the bell through
    /// the site's claim (`[cluster]`); `None` otherwise.
    pub token: Option<u64>,
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

/// What a recovery did to one phone, as kept.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryEvent {
    /// Page it belonged to.
    pub page: String,
    /// Phone name.
    pub phone: String,
    /// Stopped then.
    pub stopped: bool,
    /// Why not.
    pub error: Option<String>,
    /// Unix ms.
    pub at_ms: i64,
}

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: pages (history and journal) and their phones.
    "CREATE TABLE pages (
        id            TEXT PRIMARY KEY NOT NULL,
        pid           INTEGER,
        zone          TEXT NOT NULL DEFAULT '',
        priority      TEXT NOT NULL DEFAULT '',
        rank          INTEGER NOT NULL DEFAULT 0,
        source        TEXT NOT NULL DEFAULT '',
        banner        TEXT,
        requested_by  TEXT NOT NULL DEFAULT '',
        started_ms    INTEGER NOT NULL,
        ended_ms      INTEGER,
        ended_by      TEXT,
        group_addr    TEXT,
        port          INTEGER,
        accepted      INTEGER NOT NULL DEFAULT 0,
        failed        INTEGER NOT NULL DEFAULT 0,
        phones_total  INTEGER NOT NULL DEFAULT 0,
        -- its phones and their stops were journaled (Journal::begin)
        begun         INTEGER NOT NULL DEFAULT 0,
        -- the journal recorded its end
        journal_ended INTEGER NOT NULL DEFAULT 0,
        -- begun, and not ended or with phones remaining: what Journal::pages lists
        in_flight     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX pages_started ON pages(started_ms);
    CREATE INDEX pages_in_flight ON pages(started_ms) WHERE in_flight = 1;
    CREATE TABLE page_phones (
        page          TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        ord           INTEGER NOT NULL DEFAULT 0,
        -- journal: the stop it needs (NULL when it was never begun)
        stop_xml      TEXT,
        expect_reply  INTEGER NOT NULL DEFAULT 1,
        remaining     INTEGER NOT NULL DEFAULT 0,
        -- history: its outcome (NULL until the page finished)
        state         TEXT,
        failure       TEXT,
        at_ms         INTEGER,
        PRIMARY KEY (page, name)
    );
    CREATE INDEX page_phones_outcome ON page_phones(name, at_ms) WHERE state IS NOT NULL;",
    // 2: bells, recoveries, key/value state.
    "CREATE TABLE bells (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        bell     TEXT NOT NULL,
        due_ms   INTEGER NOT NULL,
        outcome  TEXT NOT NULL,
        pages    TEXT NOT NULL DEFAULT '[]',
        detail   TEXT
    );
    CREATE INDEX bells_due ON bells(due_ms);
    CREATE TABLE recoveries (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        page     TEXT NOT NULL,
        phone    TEXT NOT NULL,
        stopped  INTEGER NOT NULL,
        error    TEXT,
        at_ms    INTEGER NOT NULL
    );
    CREATE INDEX recoveries_at ON recoveries(at_ms);
    CREATE TABLE state (
        key      TEXT PRIMARY KEY NOT NULL,
        value    TEXT NOT NULL
    );",
    // 3: console users (Argon2id PHC strings, never a password), their sessions (keyed by a
    // digest of the cookie), the audit log of admin changes, and who stopped each page.
    "CREATE TABLE users (
        name        TEXT PRIMARY KEY NOT NULL,
        role        TEXT NOT NULL,
        -- JSON array of granted zones (operators), NULL: every zone
        zones       TEXT,
        hash        TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        id_digest   TEXT PRIMARY KEY NOT NULL,
        user        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf        TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        last_ms     INTEGER NOT NULL,
        expires_ms  INTEGER NOT NULL,
        address     TEXT
    );
    CREATE INDEX sessions_user ON sessions(user);
    CREATE INDEX sessions_expires ON sessions(expires_ms);
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms       INTEGER NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        target      TEXT NOT NULL,
        detail      TEXT
    );
    CREATE INDEX audit_at ON audit(at_ms);
    ALTER TABLE pages ADD COLUMN stopped_by TEXT;",
    // 4: the district journal (issue 24, `super::history_outbox`): whether the site's stream
    // acknowledged a page's or a bell's record, and the fencing token a bell was rung under.
    // What was journaled before this version counts as sent: the district starts from here.
    "ALTER TABLE pages ADD COLUMN published INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE bells ADD COLUMN published INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE bells ADD COLUMN token INTEGER;
    UPDATE pages SET published = 1;
    UPDATE bells SET published = 1;
    CREATE INDEX pages_unpublished ON pages(ended_ms) WHERE published = 0;
    CREATE INDEX bells_unpublished ON bells(id) WHERE published = 0;",
];

/// The connection, shared by the store's clones and its journal.
#[derive(Debug)]
struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Inner {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding it cannot leave a transaction open: rusqlite rolls back on drop.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sqlite(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Sqlite {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn run<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        f(&mut self.conn()).map_err(|e| self.sqlite(e))
    }

    /// `f` in one write transaction (taken at once, so two processes never deadlock upgrading).
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.run(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

/// The SQLite journal (cheap to clone; one connection behind a mutex).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| to_i64(d.as_millis()))
}

/// The state as [`PhoneState`] serializes (`stopped_by_user` ...).
fn state_name(s: PhoneState) -> String {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{s:?}"),
    }
}

fn user_version(c: &Connection) -> rusqlite::Result<u32> {
    c.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Apply migrations up to `target` (of [`MIGRATIONS`]); refuse a newer database.
fn migrate(c: &mut Connection, target: usize) -> Result<(), String> {
    let known = MIGRATIONS.len();
    let newer = |found: u32| {
        format!("the database has schema version {found}, newer than this build knows ({known})")
    };
    let found = user_version(c).map_err(|e| e.to_string())?;
    if found as usize > known {
        return Err(newer(found));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target) {
        let version = i + 1;
        if (found as usize) >= version {
            continue;
        }
        let mut step = || -> rusqlite::Result<Option<String>> {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated since we looked.
            let now = user_version(&tx)?;
            if now as usize > known {
                return Ok(Some(newer(now)));
            }
            if now as usize >= version {
                return Ok(None);
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", to_i64(version))?;
            tx.commit()?;
            Ok(None)
        };
        match step() {
            Ok(None) => {}
            Ok(Some(e)) => return Err(e),
            Err(e) => return Err(format!("migration {version}: {e}")),
        }
    }
    Ok(())
}

/// Open `path` with the store's settings, migrated to `target`.
fn open_at(path: &Path, target: usize) -> Result<Store, StoreError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: shown.clone(),
            source,
        })?;
    }
    let sqlite = |e: String| StoreError::Sqlite {
        path: shown.clone(),
        message: e,
    };
    let mut conn = Connection::open(path).map_err(|e| sqlite(e.to_string()))?;
    let setup = |c: &Connection| -> rusqlite::Result<()> {
        // First, so that switching to WAL waits for another process rather than failing.
        c.busy_timeout(Duration::from_secs(5))?;
        let _mode: String = c.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        c.pragma_update(None, "synchronous", "FULL")?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    };
    setup(&conn).map_err(|e| sqlite(e.to_string()))?;
    migrate(&mut conn, target).map_err(sqlite)?;
    Ok(Store {
        inner: Arc::new(Inner {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        }),
    })
}

/// The columns [`summary`] reads, in its order.
pub(crate) const SUMMARY_COLUMNS: &str = "id, zone, priority, source, banner, requested_by, started_ms, \
     ended_ms, ended_by, accepted, failed, phones_total, stopped_by";

/// A `pages` row (the [`SUMMARY_COLUMNS`]) as [`PageSummary`].
pub(crate) fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<PageSummary> {
    let requested_by: String = r.get(5)?;
    Ok(PageSummary {
        started_by: super::users::started_by(&requested_by),
        stopped_by: r.get(12)?,
        start: PageStart {
            page: r.get(0)?,
            zone: r.get(1)?,
            priority: r.get(2)?,
            source: r.get(3)?,
            banner: r.get(4)?,
            requested_by,
            started_ms: r.get(6)?,
        },
        ended_ms: r.get(7)?,
        ended_by: r.get(8)?,
        accepted: to_usize(r.get(9)?),
        failed: to_usize(r.get(10)?),
        phones: to_usize(r.get(11)?),
    })
}

/// A bell row as [`BellEvent`]: columns `bell, due_ms, outcome, pages, detail, token`.
pub(crate) fn bell_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<BellEvent> {
    let pages: String = r.get(3)?;
    Ok(BellEvent {
        bell: r.get(0)?,
        due_ms: r.get(1)?,
        outcome: r.get(2)?,
        pages: serde_json::from_str(&pages).unwrap_or_default(),
        detail: r.get(4)?,
        token: r
            .get::<_, Option<i64>>(5)?
            .and_then(|t| u64::try_from(t).ok()),
    })
}

impl Store {
    /// Open (creating the directory and file) and migrate to the current schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        open_at(path, MIGRATIONS.len())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.inner.run(|c| user_version(c))
    }

    /// The schema version this build migrates to.
    pub fn latest_schema_version() -> u32 {
        u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
    }

    /// The page journal (pages in flight, stops to replay) backed by this database.
    pub fn journal(&self) -> Journal {
        Journal::from_backend(Arc::new(SqliteJournal {
            inner: self.inner.clone(),
        }))
    }

    /// Who/what/when of a page: call before its phones are pushed.
    pub fn page_started(&self, p: &PageStart) -> Result<(), StoreError> {
        self.inner.write(|tx| {
            tx.execute(
                "INSERT INTO pages (id, zone, priority, source, banner, requested_by, started_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET
                    zone = excluded.zone, priority = excluded.priority,
                    source = excluded.source, banner = excluded.banner,
                    requested_by = excluded.requested_by, started_ms = excluded.started_ms",
                params![
                    p.page,
                    p.zone,
                    p.priority,
                    p.source,
                    p.banner,
                    p.requested_by,
                    p.started_ms
                ],
            )?;
            Ok(())
        })
    }

    /// Who stopped page `id` (a user's name or `api-token`), kept beside its end.
    pub fn page_stopped_by(&self, id: &str, who: &str) -> Result<(), StoreError> {
        self.inner.write(|tx| {
            tx.execute(
                "UPDATE pages SET stopped_by = ?2 WHERE id = ?1",
                params![id, who],
            )?;
            Ok(())
        })
    }

    /// Read with the connection, for the tables another file owns ([`super::accounts`]).
    pub(crate) fn read_with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.inner.run(|c| f(c))
    }

    /// `f` in one write transaction, for the tables another file owns ([`super::accounts`]).
    pub(crate) fn write_with<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.inner.write(f)
    }

    /// A page's end with per-phone outcomes.
    pub fn page_finished(&self, r: &DeliveryReport, ended_ms: i64) -> Result<(), StoreError> {
        // Only used when neither `page_started` nor the journal wrote the page.
        let started_ms =
            ended_ms.saturating_sub(i64::try_from(r.duration.as_millis()).unwrap_or(i64::MAX));
        self.inner.write(|tx| {
            tx.execute(
                "INSERT INTO pages (id, zone, priority, started_ms, ended_ms, ended_by,
                                    accepted, failed, phones_total)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO UPDATE SET
                    ended_ms = excluded.ended_ms, ended_by = excluded.ended_by,
                    accepted = excluded.accepted, failed = excluded.failed,
                    phones_total = excluded.phones_total",
                params![
                    r.page,
                    r.zone,
                    r.priority,
                    started_ms,
                    ended_ms,
                    r.ended_by,
                    to_i64(r.totals.accepted),
                    to_i64(r.totals.failed),
                    to_i64(r.totals.phones)
                ],
            )?;
            let mut phone = tx.prepare(
                "INSERT INTO page_phones (page, name, ord, state, failure, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(page, name) DO UPDATE SET
                    state = excluded.state, failure = excluded.failure, at_ms = excluded.at_ms",
            )?;
            for (i, p) in r.phones.iter().enumerate() {
                let failure = p
                    .failure
                    .as_ref()
                    .or(p.stop_failure.as_ref())
                    .map(|f| f.reason.as_str());
                phone.execute(params![
                    r.page,
                    p.name,
                    to_i64(i),
                    state_name(p.state),
                    failure,
                    ended_ms
                ])?;
            }
            Ok(())
        })
    }

    /// The latest pages, newest first.
    pub fn pages(&self, limit: usize) -> Result<Vec<PageSummary>, StoreError> {
        self.inner.run(|c| {
            let mut q = c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM pages ORDER BY started_ms DESC, rowid DESC LIMIT ?1"
            ))?;
            q.query_map([to_i64(limit)], summary)?.collect()
        })
    }

    /// One page with its outcomes.
    pub fn page(&self, id: &str) -> Result<Option<PageDetail>, StoreError> {
        self.inner.run(|c| {
            let summary = c
                .query_row(
                    &format!("SELECT {SUMMARY_COLUMNS} FROM pages WHERE id = ?1"),
                    [id],
                    summary,
                )
                .optional()?;
            let Some(summary) = summary else {
                return Ok(None);
            };
            let mut q = c.prepare_cached(
                "SELECT page, name, state, failure, at_ms FROM page_phones
                 WHERE page = ?1 AND state IS NOT NULL ORDER BY ord, name",
            )?;
            let outcomes = q
                .query_map([id], |r| {
                    Ok(PhoneOutcome {
                        page: r.get(0)?,
                        phone: r.get(1)?,
                        state: r.get(2)?,
                        failure: r.get(3)?,
                        at_ms: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(PageDetail { summary, outcomes }))
        })
    }

    /// Record a bell that fired or was missed.
    pub fn bell(&self, e: &BellEvent) -> Result<(), StoreError> {
        let pages = serde_json::to_string(&e.pages).map_err(|err| self.inner.sqlite(err))?;
        self.inner.write(|tx| {
            tx.execute(
                "INSERT INTO bells (bell, due_ms, outcome, pages, detail, token)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    e.bell,
                    e.due_ms,
                    e.outcome,
                    pages,
                    e.detail,
                    e.token.map(to_i64)
                ],
            )?;
            Ok(())
        })
    }

    /// The latest bell events, newest first.
    pub fn bells(&self, limit: usize) -> Result<Vec<BellEvent>, StoreError> {
        self.inner.run(|c| {
            let mut q = c.prepare_cached(
                "SELECT bell, due_ms, outcome, pages, detail, token FROM bells
                 ORDER BY due_ms DESC, id DESC LIMIT ?1",
            )?;
            q.query_map([to_i64(limit)], bell_event)?.collect()
        })
    }

    /// Record what a recovery did.
    pub fn recovered(&self, r: &[Recovered], at_ms: i64) -> Result<(), StoreError> {
        if r.is_empty() {
            return Ok(());
        }
        self.inner.write(|tx| {
            let mut q = tx.prepare(
                "INSERT INTO recoveries (page, phone, stopped, error, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for x in r {
                q.execute(params![x.page, x.phone, x.stopped, x.error, at_ms])?;
            }
            Ok(())
        })
    }

    /// The latest recoveries, newest first.
    pub fn recoveries(&self, limit: usize) -> Result<Vec<RecoveryEvent>, StoreError> {
        self.inner.run(|c| {
            let mut q = c.prepare_cached(
                "SELECT page, phone, stopped, error, at_ms FROM recoveries
                 ORDER BY at_ms DESC, id DESC LIMIT ?1",
            )?;
            q.query_map([to_i64(limit)], |r| {
                Ok(RecoveryEvent {
                    page: r.get(0)?,
                    phone: r.get(1)?,
                    stopped: r.get(2)?,
                    error: r.get(3)?,
                    at_ms: r.get(4)?,
                })
            })?
            .collect()
        })
    }

    /// Every phone's last outcome.
    pub fn phone_status(&self) -> Result<Vec<PhoneStatus>, StoreError> {
        self.inner.run(|c| {
            // With one MAX(), SQLite takes the bare columns from the row holding the maximum.
            let mut q = c.prepare_cached(
                "SELECT name, MAX(at_ms), state, failure FROM page_phones
                 WHERE state IS NOT NULL GROUP BY name ORDER BY name",
            )?;
            q.query_map([], |r| {
                Ok(PhoneStatus {
                    phone: r.get(0)?,
                    last_seen_ms: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    last_outcome: r.get(2)?,
                    failure: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    /// A small key/value (e.g. the scheduler's last run).
    pub fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.run(|c| {
            c.query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// Set a key/value.
    pub fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.write(|tx| {
            tx.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
    }

    /// `PRAGMA integrity_check` says ok.
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        self.inner.run(|c| {
            let first: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            Ok(first == "ok")
        })
    }
}

/// The page journal kept in the store's database: the `pages` rows with `begun` set and their
/// `page_phones` with a stop.
#[derive(Debug)]
struct SqliteJournal {
    inner: Arc<Inner>,
}

/// Recompute whether `page` is still listed by [`Journal::pages`].
fn refresh_in_flight(tx: &rusqlite::Transaction<'_>, page: &str) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE pages SET in_flight = (begun = 1 AND (journal_ended = 0 OR EXISTS (
            SELECT 1 FROM page_phones WHERE page = pages.id AND remaining = 1)))
         WHERE id = ?1",
        [page],
    )?;
    Ok(())
}

impl SqliteJournal {
    fn write(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> io::Result<()> {
        self.inner.write(f).map_err(io::Error::other)
    }
}

impl JournalBackend for SqliteJournal {
    fn path(&self) -> &Path {
        &self.inner.path
    }

    fn begin(&self, record: &PageRecord) -> io::Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO pages (id, pid, zone, priority, rank, started_ms, group_addr, port,
                                    begun, journal_ended, in_flight)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 0, 1)
                 ON CONFLICT(id) DO UPDATE SET
                    pid = excluded.pid, rank = excluded.rank,
                    group_addr = excluded.group_addr, port = excluded.port,
                    begun = 1, journal_ended = 0, in_flight = 1",
                params![
                    record.page,
                    record.pid,
                    record.zone,
                    record.priority,
                    to_i64(record.rank),
                    to_i64(record.started_ms),
                    record.group.map(|g| g.to_string()),
                    record.port
                ],
            )?;
            // Begun again: only this record's phones are its own.
            tx.execute(
                "UPDATE page_phones SET remaining = 0, stop_xml = NULL WHERE page = ?1",
                [&record.page],
            )?;
            let mut q = tx.prepare(
                "INSERT INTO page_phones (page, name, ord, stop_xml, expect_reply, remaining)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT(page, name) DO UPDATE SET
                    ord = excluded.ord, stop_xml = excluded.stop_xml,
                    expect_reply = excluded.expect_reply, remaining = 1",
            )?;
            for (i, p) in record.phones.iter().enumerate() {
                q.execute(params![
                    record.page,
                    p.name,
                    to_i64(i),
                    p.stop_xml,
                    p.expect_reply
                ])?;
            }
            Ok(())
        })
    }

    fn record(&self, page: &str, op: &JournalOp) -> io::Result<()> {
        match op {
            JournalOp::Begin { .. } => Ok(()), // written by `begin`, with the stops
            JournalOp::Stopped { phones } | JournalOp::Released { phones } => self.write(|tx| {
                let mut q = tx.prepare_cached(
                    "UPDATE page_phones SET remaining = 0 WHERE page = ?1 AND name = ?2",
                )?;
                for name in phones {
                    q.execute([page, name])?;
                }
                refresh_in_flight(tx, page)
            }),
            // A SIP endpoint's dialog is its stop (see `JournalPhone::sip`).
            JournalOp::Dialog { phone, dialog } => self.write(|tx| {
                tx.execute(
                    "UPDATE page_phones SET stop_xml = ?3 WHERE page = ?1 AND name = ?2",
                    params![page, phone, crate::page::journal::sip_stop(dialog)],
                )?;
                Ok(())
            }),
            JournalOp::End { unstopped } => self.write(|tx| {
                let n = tx.execute(
                    "UPDATE pages SET journal_ended = 1, ended_ms = COALESCE(ended_ms, ?2)
                     WHERE id = ?1 AND begun = 1",
                    params![page, now_ms()],
                )?;
                if n == 0 {
                    return Ok(()); // never begun here
                }
                let keep: BTreeSet<&str> = unstopped.iter().map(String::as_str).collect();
                let remaining = tx
                    .prepare_cached(
                        "SELECT name FROM page_phones WHERE page = ?1 AND remaining = 1",
                    )?
                    .query_map([page], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut q = tx.prepare_cached(
                    "UPDATE page_phones SET remaining = 0 WHERE page = ?1 AND name = ?2",
                )?;
                for name in remaining.iter().filter(|n| !keep.contains(n.as_str())) {
                    q.execute([page, name])?;
                }
                refresh_in_flight(tx, page)
            }),
        }
    }

    fn pages(&self) -> io::Result<Vec<JournalPage>> {
        self.inner
            .run(|c| {
                let mut q = c.prepare_cached(
                    "SELECT id, pid, zone, priority, rank, started_ms, group_addr, port,
                            journal_ended
                     FROM pages WHERE in_flight = 1 ORDER BY started_ms, rowid",
                )?;
                let heads = q
                    .query_map([], |r| {
                        let pid: Option<i64> = r.get(1)?;
                        let group: Option<String> = r.get(6)?;
                        let port: Option<i64> = r.get(7)?;
                        let record = PageRecord {
                            page: r.get(0)?,
                            // A page without a pid has nobody running it.
                            pid: pid.and_then(|p| u32::try_from(p).ok()).unwrap_or(u32::MAX),
                            zone: r.get(2)?,
                            priority: r.get(3)?,
                            rank: to_usize(r.get(4)?),
                            started_ms: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                            phones: Vec::new(),
                            group: group.and_then(|g| g.parse().ok()),
                            port: port.and_then(|p| u16::try_from(p).ok()),
                        };
                        Ok((record, r.get::<_, bool>(8)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut phones = c.prepare_cached(
                    "SELECT name, stop_xml, expect_reply, remaining FROM page_phones
                     WHERE page = ?1 AND stop_xml IS NOT NULL ORDER BY ord, name",
                )?;
                let mut out = Vec::with_capacity(heads.len());
                for (mut record, ended) in heads {
                    let mut remaining = BTreeSet::new();
                    let rows = phones.query_map([&record.page], |r| {
                        Ok((
                            JournalPhone {
                                name: r.get(0)?,
                                stop_xml: r.get(1)?,
                                expect_reply: r.get(2)?,
                            },
                            r.get::<_, bool>(3)?,
                        ))
                    })?;
                    for row in rows {
                        let (phone, left) = row?;
                        if left {
                            remaining.insert(phone.name.clone());
                        }
                        record.phones.push(phone);
                    }
                    let alive = !ended && pid_alive(record.pid);
                    out.push(JournalPage {
                        record,
                        remaining,
                        ended,
                        alive,
                    });
                }
                Ok(out)
            })
            .map_err(io::Error::other)
    }

    /// Nothing to reclaim row by row; fold the write-ahead log back into the file.
    fn compact(&self) -> io::Result<()> {
        self.inner
            .run(|c| {
                c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    .optional()
                    .map(drop)
            })
            .map_err(io::Error::other)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
