//! The journal's outbox as a sans-IO core: which of a node's records to send to its site's
//! stream next, how many at once, when to try again after the store stopped answering, and which
//! were acknowledged (for the durable store to mark). The records themselves wait in the
//! server's SQLite until marked, so a record offered here and lost with the process is offered
//! again by the next one; sending one twice is harmless (the stream keeps one message per
//! `Nats-Msg-Id`).
//!
//! No I/O and no clock. The shell's call order, every round:
//! 1. feed each answer: `handle_acked(now, id)` or `handle_failed(now, id)`;
//! 2. mark what `poll_acked()` returns in the durable store;
//! 3. if `wants_refill(now)`, read the unmarked records from the store and `offer` them
//!    (records already queued or in flight are skipped, so the store may return them again);
//! 4. send everything `poll_send(now)` returns;
//! 5. wait for an answer or until `poll_timeout()`.
//!
//! While the link is up, up to `window` records are in flight, in the order offered. A failure
//! (no acknowledgement in time, an error) takes the link down: the record goes back in its
//! place, and nothing is sent until the retry instant (doubling from `retry_first` to
//! `retry_max`); then one record at a time is sent until one is acknowledged, which opens the
//! window again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// One record waiting to go out: its id (unique within the node) and its encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecord {
    /// The record's id (the last part of its `Nats-Msg-Id`).
    pub id: String,
    /// What is published.
    pub bytes: Vec<u8>,
}

/// The outbox's timings and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxTerms {
    /// Records in flight at once while the link is up.
    pub window: usize,
    /// How often the store is read for records not yet acknowledged.
    pub refill_every: Duration,
    /// The first wait after a failure.
    pub retry_first: Duration,
    /// The longest wait after failures in a row.
    pub retry_max: Duration,
}

impl Default for OutboxTerms {
    fn default() -> Self {
        OutboxTerms {
            window: 32,
            refill_every: Duration::from_millis(500),
            retry_first: Duration::from_millis(500),
            retry_max: Duration::from_secs(8),
        }
    }
}

/// The link to the site's stream as the outbox sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Acknowledgements come: send up to the window.
    Up,
    /// A send failed: nothing goes out before `retry_at`, then one record at a time.
    Down {
        retry_at: Instant,
        backoff: Duration,
    },
}

/// The outbox (see the module doc for the call order).
#[derive(Debug)]
pub struct Outbox {
    terms: OutboxTerms,
    /// Waiting to be sent, by the order they were offered in.
    queue: BTreeMap<u64, OutRecord>,
    /// Sent, not yet answered: id → its place in the order.
    in_flight: HashMap<String, (u64, Vec<u8>)>,
    /// Ids queued or in flight.
    known: HashSet<String>,
    next_seq: u64,
    acked: Vec<String>,
    link: Link,
    refill_at: Instant,
    last_ack: Option<Instant>,
}

impl Outbox {
    /// An empty outbox whose first refill is due at `now`.
    pub fn new(terms: OutboxTerms, now: Instant) -> Outbox {
        Outbox {
            terms: OutboxTerms {
                window: terms.window.max(1),
                ..terms
            },
            queue: BTreeMap::new(),
            in_flight: HashMap::new(),
            known: HashSet::new(),
            next_seq: 0,
            acked: Vec::new(),
            link: Link::Up,
            refill_at: now,
            last_ack: None,
        }
    }

    /// Records read from the store, oldest first; those already queued or in flight are
    /// skipped. Returns how many were new.
    pub fn offer(&mut self, records: impl IntoIterator<Item = OutRecord>) -> usize {
        let mut added = 0;
        for r in records {
            if self.known.insert(r.id.clone()) {
                self.queue.insert(self.next_seq, r);
                self.next_seq += 1;
                added += 1;
            }
        }
        added
    }

    /// Whether to read the store now (and when next): every `refill_every`, and only while the
    /// queue holds less than a window (it would not be sent sooner).
    pub fn wants_refill(&mut self, now: Instant) -> bool {
        if now < self.refill_at || self.queue.len() >= self.terms.window {
            return false;
        }
        self.refill_at = now + self.terms.refill_every;
        true
    }

    /// The next record to publish now, if the link and the window allow one.
    pub fn poll_send(&mut self, now: Instant) -> Option<OutRecord> {
        let room = match self.link {
            Link::Up => self.in_flight.len() < self.terms.window,
            Link::Down { retry_at, .. } => now >= retry_at && self.in_flight.is_empty(),
        };
        if !room {
            return None;
        }
        let (seq, r) = self.queue.pop_first()?;
        self.in_flight.insert(r.id.clone(), (seq, r.bytes.clone()));
        Some(r)
    }

    /// The stream acknowledged record `id` (stored, or a duplicate of one stored).
    pub fn handle_acked(&mut self, now: Instant, id: &str) {
        if self.in_flight.remove(id).is_none() {
            return;
        }
        self.known.remove(id);
        self.acked.push(id.to_owned());
        self.last_ack = Some(now);
        self.link = Link::Up;
    }

    /// Sending record `id` failed or was not answered in time: it goes back in its place and
    /// the link is down until the retry instant.
    pub fn handle_failed(&mut self, now: Instant, id: &str) {
        let Some((seq, bytes)) = self.in_flight.remove(id) else {
            return;
        };
        self.queue.insert(
            seq,
            OutRecord {
                id: id.to_owned(),
                bytes,
            },
        );
        let backoff = match self.link {
            Link::Up => self.terms.retry_first,
            Link::Down { retry_at, backoff } if now >= retry_at => {
                (backoff * 2).min(self.terms.retry_max)
            }
            // Another of the records sent before the link went down: the wait stands.
            Link::Down { .. } => return,
        };
        self.link = Link::Down {
            retry_at: now + backoff,
            backoff,
        };
    }

    /// The ids acknowledged since the last call, to mark in the store.
    pub fn poll_acked(&mut self) -> Vec<String> {
        std::mem::take(&mut self.acked)
    }

    /// When to call again without an answer arriving: the next refill (while the queue has
    /// room for one), or the retry instant (while records wait for it). With neither, a refill
    /// period after the last one is due: the shell wakes for answers meanwhile.
    pub fn poll_timeout(&self) -> Instant {
        let refill = (self.queue.len() < self.terms.window).then_some(self.refill_at);
        let retry = match self.link {
            Link::Down { retry_at, .. } if !self.queue.is_empty() => Some(retry_at),
            _ => None,
        };
        match (refill, retry) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => self.refill_at + self.terms.refill_every,
        }
    }

    /// Records offered and not yet acknowledged (queued or in flight).
    pub fn lag(&self) -> usize {
        self.queue.len() + self.in_flight.len()
    }

    /// Records sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether the last answer was an acknowledgement.
    pub fn link_up(&self) -> bool {
        self.link == Link::Up
    }

    /// When the stream last acknowledged a record.
    pub fn last_ack(&self) -> Option<Instant> {
        self.last_ack
    }
}
