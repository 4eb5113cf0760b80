//! The journal's durable outbox in the server's SQLite (issue 24): the history itself is the
//! outbox. A page whose end is written (`ended_by` set by its report) and every bell event are
//! records for the site's stream until marked `published` (schema version 4); the cluster's
//! outbox reads them, publishes them and marks those the stream acknowledged, so a record made
//! while the store or the WAN was down is sent when it answers again, and one made by a process
//! killed before its acknowledgement is sent by the next. Record ids: `page-<page id>`,
//! `bell-<row id>`; bodies are the entries as `GET /api/history` and `GET /api/bells/history`
//! show them.

use rusqlite::params;

use super::store::{SUMMARY_COLUMNS, Store, bell_event, summary};
use crate::cluster::{JournalRecord, OutboxStore, RecordKind};

/// The server's journal as the cluster's outbox.
#[derive(Clone)]
pub struct HistoryOutbox {
    store: Store,
}

impl HistoryOutbox {
    /// Over `store`.
    pub fn new(store: Store) -> HistoryOutbox {
        HistoryOutbox { store }
    }
}

fn record(id: String, kind: RecordKind, at_ms: i64, token: Option<u64>) -> JournalRecord {
    JournalRecord {
        site: String::new(),
        node: String::new(),
        id,
        kind,
        at_ms,
        token,
        body: serde_json::Value::Null,
    }
}

impl OutboxStore for HistoryOutbox {
    fn unpublished(&self, limit: usize) -> Result<Vec<JournalRecord>, String> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.store
            .read_with(|c| {
                let mut out = Vec::new();
                let mut q = c.prepare_cached(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM pages
                     WHERE published = 0 AND ended_by IS NOT NULL
                     ORDER BY ended_ms, rowid LIMIT ?1"
                ))?;
                for p in q.query_map([limit], summary)? {
                    let p = p?;
                    let mut r = record(
                        format!("page-{}", p.start.page),
                        RecordKind::Page,
                        p.start.started_ms,
                        None,
                    );
                    r.body = serde_json::to_value(&p).unwrap_or_default();
                    out.push(r);
                }
                let mut q = c.prepare_cached(
                    "SELECT bell, due_ms, outcome, pages, detail, token, id FROM bells
                     WHERE published = 0 ORDER BY id LIMIT ?1",
                )?;
                let rows = q.query_map([limit], |row| Ok((bell_event(row)?, row.get(6)?)))?;
                for b in rows {
                    let (b, id): (_, i64) = b?;
                    let mut r = record(format!("bell-{id}"), RecordKind::Bell, b.due_ms, b.token);
                    r.body = serde_json::to_value(&b).unwrap_or_default();
                    out.push(r);
                }
                Ok(out)
            })
            .map_err(|e| e.to_string())
    }

    fn mark_published(&self, ids: &[String]) -> Result<(), String> {
        self.store
            .write_with(|tx| {
                let mut page = tx.prepare_cached("UPDATE pages SET published = 1 WHERE id = ?1")?;
                let mut bell = tx.prepare_cached("UPDATE bells SET published = 1 WHERE id = ?1")?;
                for id in ids {
                    if let Some(p) = id.strip_prefix("page-") {
                        page.execute([p])?;
                    } else if let Some(n) =
                        id.strip_prefix("bell-").and_then(|n| n.parse::<i64>().ok())
                    {
                        bell.execute(params![n])?;
                    }
                }
                Ok(())
            })
            .map_err(|e| e.to_string())
    }

    fn backlog(&self) -> Result<u64, String> {
        self.store
            .read_with(|c| {
                c.query_row(
                    "SELECT (SELECT COUNT(*) FROM pages
                             WHERE published = 0 AND ended_by IS NOT NULL)
                          + (SELECT COUNT(*) FROM bells WHERE published = 0)",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::{BellEvent, PageStart};

    fn start(s: &Store, id: &str, ms: i64) {
        s.page_started(&PageStart {
            page: id.into(),
            zone: "hall".into(),
            priority: "normal".into(),
            source: "chime".into(),
            banner: None,
            requested_by: "api".into(),
            started_ms: ms,
        })
        .unwrap();
    }

    fn end(s: &Store, id: &str) {
        s.write_with(|tx| {
            tx.execute(
                "UPDATE pages SET ended_ms = started_ms + 5, ended_by = 'duration' WHERE id = ?1",
                [id],
            )
        })
        .unwrap();
    }

    #[test]
    fn ended_pages_and_bells_wait_until_marked() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("zc.db")).unwrap();
        let o = HistoryOutbox::new(s.clone());
        start(&s, "pg-1", 1000);
        start(&s, "pg-2", 2000);
        assert_eq!(
            o.backlog().unwrap(),
            0,
            "a page still running is not a record yet"
        );
        end(&s, "pg-1");
        s.bell(&BellEvent {
            bell: "period1".into(),
            due_ms: 3000,
            outcome: "fired".into(),
            pages: vec!["pg-9".into()],
            detail: None,
            token: Some(41),
        })
        .unwrap();
        let recs = o.unpublished(10).unwrap();
        let ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], "page-pg-1");
        assert!(ids[1].starts_with("bell-"), "{ids:?}");
        assert_eq!(recs[0].body["zone"], "hall");
        assert_eq!((recs[1].kind, recs[1].token), (RecordKind::Bell, Some(41)));
        assert_eq!(recs[1].body["token"], 41);
        assert_eq!(o.backlog().unwrap(), 2);
        o.mark_published(&[ids[0].to_owned(), "bell-x".into(), "other".into()])
            .unwrap();
        assert_eq!(o.backlog().unwrap(), 1);
        end(&s, "pg-2");
        let left: Vec<String> = o
            .unpublished(10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(left.len(), 2);
        assert!(left.contains(&"page-pg-2".to_owned()), "{left:?}");
        o.mark_published(&left).unwrap();
        assert_eq!(o.backlog().unwrap(), 0);
        assert!(o.unpublished(10).unwrap().is_empty());
    }
}
