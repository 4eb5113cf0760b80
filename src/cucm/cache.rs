//! The discovered table kept between runs, so a restart or a command with CUCM unreachable
//! still has phones, and says from when. Kept in its own SQLite file under `[server] data_dir`
//! ([`CACHE_FILE`], beside the server's database rather than in it: this room sits below the
//! server and owns its schema; both are opened by `zonecast serve` and the CLI alike). One row
//! holds the last table (JSON) and RIS's `StateInfo`s; another the last failed refresh.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::discovery::RisBatchState;
use super::table::CucmPhone;

/// The cache's file name under the data directory.
pub const CACHE_FILE: &str = "cucm.sqlite";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS cucm_table (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    phones TEXT NOT NULL,
    ris_states TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cucm_failure (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL,
    error TEXT NOT NULL
);";

/// The cache could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("the CUCM cache {path}: {reason}")]
pub struct CacheError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// The last table, as cached.
#[derive(Debug, Clone)]
pub struct CachedTable {
    /// When it was discovered (ms since the Unix epoch).
    pub at_ms: i64,
    /// The publisher it came from (`host:port`).
    pub host: String,
    /// The phones.
    pub phones: Vec<CucmPhone>,
    /// RIS's states for the next run.
    pub ris_states: Vec<RisBatchState>,
}

/// The cache file, open.
pub struct CucmCache {
    conn: Connection,
    path: PathBuf,
}

impl CucmCache {
    /// Open (creating) the cache under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<CucmCache, CacheError> {
        let path = data_dir.join(CACHE_FILE);
        let err = |reason: String| CacheError {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| err(e.to_string()))?;
        let conn = Connection::open(&path).map_err(|e| err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .and_then(|()| conn.execute_batch(SCHEMA))
            .map_err(|e| err(e.to_string()))?;
        Ok(CucmCache { conn, path })
    }

    fn err(&self, reason: impl ToString) -> CacheError {
        CacheError {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// The last table, if one was saved.
    pub fn load(&self) -> Result<Option<CachedTable>, CacheError> {
        let row = self
            .conn
            .query_row(
                "SELECT at_ms, host, phones, ris_states FROM cucm_table WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((at_ms, host, phones, states)) = row else {
            return Ok(None);
        };
        Ok(Some(CachedTable {
            at_ms,
            host,
            phones: serde_json::from_str(&phones).map_err(|e| self.err(e))?,
            ris_states: serde_json::from_str(&states).map_err(|e| self.err(e))?,
        }))
    }

    /// Replace the table (and forget the last failure).
    pub fn save(&mut self, t: &CachedTable) -> Result<(), CacheError> {
        let phones = serde_json::to_string(&t.phones).map_err(|e| self.err(e))?;
        let states = serde_json::to_string(&t.ris_states).map_err(|e| self.err(e))?;
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| CacheError {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        tx.execute(
            "INSERT OR REPLACE INTO cucm_table (id, at_ms, host, phones, ris_states) \
             VALUES (1, ?1, ?2, ?3, ?4)",
            params![t.at_ms, t.host, phones, states],
        )
        .and_then(|_| tx.execute("DELETE FROM cucm_failure", []))
        .and_then(|_| tx.commit())
        .map_err(|e| CacheError {
            path,
            reason: e.to_string(),
        })
    }

    /// A refresh failed at `at_ms` with `error` (which holds no secret).
    pub fn record_failure(&self, at_ms: i64, error: &str) -> Result<(), CacheError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO cucm_failure (id, at_ms, error) VALUES (1, ?1, ?2)",
                params![at_ms, error],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The last failed refresh since the last saved table: when, and why.
    pub fn last_failure(&self) -> Result<Option<(i64, String)>, CacheError> {
        self.conn
            .query_row(
                "SELECT at_ms, error FROM cucm_failure WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_round_trips_and_failures_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = CucmCache::open(dir.path()).unwrap();
        assert!(c.load().unwrap().is_none());
        let phone = CucmPhone::from_axl(&crate::cucm::axl::AxlPhone {
            name: "SEP001122334455".into(),
            product: "Cisco 8851".into(),
            ..Default::default()
        });
        let t = CachedTable {
            at_ms: 42,
            host: "h:8443".into(),
            phones: vec![phone],
            ris_states: vec![],
        };
        c.save(&t).unwrap();
        c.record_failure(50, "down").unwrap();
        let c = CucmCache::open(dir.path()).unwrap();
        let back = c.load().unwrap().unwrap();
        assert_eq!((back.at_ms, back.phones.len()), (42, 1));
        assert_eq!(back.phones[0].model, "CP-8851");
        assert_eq!(c.last_failure().unwrap(), Some((50, "down".into())));
    }
}
