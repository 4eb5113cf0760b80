//! One journal record as it travels (issue 24, `docs/cluster.md`, "How things travel"): a node's
//! finished page or bell, published on its site's subject `zc.<site>.journal` into the site's
//! stream `ZC_JOURNAL_<site>` with `Nats-Msg-Id` = `<site>.<node>.<record-id>` (so a record sent
//! again after a lost acknowledgement is stored once), and sourced from there into the hub's
//! `ZC_JOURNAL`. This file owns the record's shape, its names and its bounds; it does no I/O.
//! What a record's body holds is the server's business (the history entry as its API shows it).

use serde::{Deserialize, Serialize};

/// The hub's stream that sources every site's journal stream.
pub const HUB_STREAM: &str = "ZC_JOURNAL";

/// Largest encoded record accepted, sent or read back (a page's summary is a few hundred
/// bytes; a record larger than this is refused, never cut).
pub const RECORD_LIMIT: usize = 16 * 1024;

/// Longest record id (`page-<page id>`, `bell-<n>`).
const ID_LIMIT: usize = 128;

/// The site's journal stream.
pub fn site_stream(site: &str) -> String {
    format!("ZC_JOURNAL_{site}")
}

/// The subject the site's nodes publish their records on.
pub fn site_subject(site: &str) -> String {
    format!("zc.{site}.journal")
}

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// A page that ended (its summary).
    Page,
    /// A bell that fired, was rung by hand, or was missed.
    Bell,
}

/// One record of a node's journal, as published and as read back from the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalRecord {
    /// The node's site.
    pub site: String,
    /// The node that wrote it.
    pub node: String,
    /// Unique within the node (`page-<page id>`, `bell-<n>`).
    pub id: String,
    /// Page or bell.
    pub kind: RecordKind,
    /// When it happened, Unix ms (a page's start, a bell's due instant).
    pub at_ms: i64,
    /// The lease revision (fencing token) it was made under: a bell rung through the site's
    /// claim; `None` for everything else.
    pub token: Option<u64>,
    /// The history entry, as the node's API shows it.
    pub body: serde_json::Value,
}

/// Why a record was refused (sending or reading back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordRefused {
    /// Larger than [`RECORD_LIMIT`].
    #[error("journal record of {0} bytes: at most {RECORD_LIMIT}")]
    TooLarge(usize),
    /// Not a record.
    #[error("journal record unreadable: {0}")]
    Unreadable(String),
    /// A name that cannot be part of a subject or message id.
    #[error("journal record {what} {value:?}: {rule}")]
    Name {
        /// Which field.
        what: &'static str,
        /// Its value (bounded).
        value: String,
        /// The rule broken.
        rule: &'static str,
    },
}

impl JournalRecord {
    /// `<site>.<node>.<record-id>`: the stream stores a message with an id it has seen (within
    /// its duplicate window) once.
    pub fn msg_id(&self) -> String {
        format!("{}.{}.{}", self.site, self.node, self.id)
    }

    /// The bytes sent, refused if the names are unsafe or the record too large.
    pub fn encode(&self) -> Result<Vec<u8>, RecordRefused> {
        self.check_names()?;
        let bytes =
            serde_json::to_vec(self).map_err(|e| RecordRefused::Unreadable(e.to_string()))?;
        if bytes.len() > RECORD_LIMIT {
            return Err(RecordRefused::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// A record read back from a stream: bounded, parsed, its names checked (outside input).
    pub fn decode(bytes: &[u8]) -> Result<JournalRecord, RecordRefused> {
        if bytes.len() > RECORD_LIMIT {
            return Err(RecordRefused::TooLarge(bytes.len()));
        }
        let r: JournalRecord =
            serde_json::from_slice(bytes).map_err(|e| RecordRefused::Unreadable(e.to_string()))?;
        r.check_names()?;
        Ok(r)
    }

    fn check_names(&self) -> Result<(), RecordRefused> {
        let name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        let names = "1..=32 of a-z, 0-9 and '-'";
        check("site", &self.site, 32, name, names)?;
        check("node", &self.node, 32, name, names)?;
        let ids = "1..=128 of A-Z, a-z, 0-9, '-', '_', '.', ':'";
        check("id", &self.id, ID_LIMIT, id, ids)
    }
}

/// `value` is 1..=`max` characters, each allowed by `ok`.
fn check(
    what: &'static str,
    value: &str,
    max: usize,
    ok: impl Fn(char) -> bool,
    rule: &'static str,
) -> Result<(), RecordRefused> {
    if value.is_empty() || value.len() > max || !value.chars().all(ok) {
        return Err(RecordRefused::Name {
            what,
            value: value.chars().take(40).collect(),
            rule,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> JournalRecord {
        JournalRecord {
            site: "north".into(),
            node: "a".into(),
            id: "page-p1".into(),
            kind: RecordKind::Page,
            at_ms: 1_700_000_000_000,
            token: Some(7),
            body: serde_json::json!({"page": "p1", "zone": "hall"}),
        }
    }

    #[test]
    fn a_record_round_trips_and_names_its_message_id() {
        let r = record();
        assert_eq!(r.msg_id(), "north.a.page-p1");
        let bytes = r.encode().unwrap();
        assert_eq!(JournalRecord::decode(&bytes).unwrap(), r);
        assert_eq!(site_stream("north"), "ZC_JOURNAL_north");
        assert_eq!(site_subject("north"), "zc.north.journal");
    }

    #[test]
    fn oversized_unreadable_and_unsafe_records_are_refused() {
        let mut big = record();
        big.body = serde_json::json!({"banner": "x".repeat(RECORD_LIMIT)});
        assert!(matches!(big.encode(), Err(RecordRefused::TooLarge(_))));
        let raw = vec![b' '; RECORD_LIMIT + 1];
        assert!(matches!(
            JournalRecord::decode(&raw),
            Err(RecordRefused::TooLarge(_))
        ));
        assert!(matches!(
            JournalRecord::decode(b"{\"site\":1}"),
            Err(RecordRefused::Unreadable(_))
        ));
        let mut bad = record();
        bad.node = "A B".into();
        let text = serde_json::to_vec(&bad).unwrap();
        let e = JournalRecord::decode(&text).unwrap_err();
        assert!(e.to_string().contains("node"), "{e}");
        bad.node = "a".into();
        bad.id = "page p1".into();
        assert!(bad.encode().is_err());
    }
}
