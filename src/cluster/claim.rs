//! One bell occurrence's claim as a sans-IO state machine: claimed → ringing → done in the site's
//! claims bucket, each step a create or compare-and-set on the previous revision, so of two nodes
//! exactly one rings it (`docs/cluster.md`). The leader starts at the due instant, the other node
//! `claim_wait` later; that one takes over a claim left `claimed` for `claim_wait` (its holder
//! died or stalled before ringing) with a CAS on its revision, which the holder's own
//! `claimed → ringing` CAS then loses. Once `ringing` is written nobody else rings it.
//!
//! No I/O and no clock: the shell calls `poll_output(now)`, carries out each [`ClaimOutput`]
//! (a bucket op, or the ring itself), feeds the answers to `handle_reply` / `handle_rung`, and
//! sleeps until `poll_timeout()`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One bell at one due instant; its key in the claims bucket is [`Occurrence::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The bell's name.
    pub bell: String,
    /// The due instant, Unix seconds.
    pub due_unix: u64,
}

impl Occurrence {
    /// Bell `bell` due at `at` (an instant before 1970 counts as 0).
    pub fn due(bell: &str, at: chrono::DateTime<chrono::Utc>) -> Occurrence {
        Occurrence {
            bell: bell.to_owned(),
            due_unix: u64::try_from(at.timestamp()).unwrap_or(0),
        }
    }

    /// `<unix-seconds>.<name>`, the name kept to `[A-Za-z0-9-]` and every other byte as `_XX`:
    /// KV keys allow few characters, and two names never share a key.
    pub fn key(&self) -> String {
        format!("{}.{}", self.due_unix, key_safe(&self.bell))
    }

    /// The occurrence a [`Occurrence::key`] names (`None` for any other text).
    pub fn from_key(key: &str) -> Option<Occurrence> {
        let (due, name) = key.split_once('.')?;
        let due_unix = due.parse().ok()?;
        let mut bytes = Vec::new();
        let mut rest = name.bytes();
        while let Some(b) = rest.next() {
            if b == b'_' {
                let hex = [rest.next()?, rest.next()?];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            } else {
                bytes.push(b);
            }
        }
        Some(Occurrence {
            bell: String::from_utf8(bytes).ok()?,
            due_unix,
        })
    }
}

/// Where an occurrence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimStep {
    /// Someone will ring it.
    Claimed,
    /// Its pushes are being sent: nobody else rings it.
    Ringing,
    /// Rung.
    Done,
}

/// `name` kept to `[A-Za-z0-9-]`, every other byte as `_XX` (KV keys allow few characters, and
/// two names never share a key).
fn key_safe(name: &str) -> String {
    let mut k = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            k.push(char::from(b));
        } else {
            k.push_str(&format!("_{b:02X}"));
        }
    }
    k
}

/// The key of the phones node `node`'s bell pages left tuned (their stop failed as its LAN
/// went), in the claims bucket beside the occurrences: `tuned.<node>`, which no occurrence's
/// key can be (those begin with digits).
pub fn tuned_key(node: &str) -> String {
    format!("tuned.{}", key_safe(node))
}

/// The value under a [`tuned_key`]: phone names, to be stopped by whichever node of the pair
/// rings next (it takes them with a compare-and-set, so one node stops them once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunedPhones {
    /// Phone names.
    pub phones: Vec<String>,
}

/// The value kept under an occurrence's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// The step reached.
    pub step: ClaimStep,
    /// The node that wrote it.
    pub node: String,
    /// That node's process (drawn at its start).
    pub instance: u64,
    /// Its lease token when it wrote it (0: it did not lead).
    pub token: u64,
}

/// A write or read on the occurrence's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOp {
    /// Create the key with this record (only if absent).
    Create(ClaimRecord),
    /// Write this record if the key's revision is still `revision`.
    Cas {
        /// The revision expected.
        revision: u64,
        /// The record to write.
        record: ClaimRecord,
    },
    /// Read the key.
    Read,
}

/// The bucket's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimReply {
    /// Written, with the new revision.
    Written(u64),
    /// Refused: the key exists (create) or has another revision (CAS).
    Refused,
    /// The key's revision and record (`None`: no such key).
    Found(Option<(u64, ClaimRecord)>),
    /// No answer in time or an error: the write may or may not have happened.
    Failed,
}

/// How an occurrence ended for this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEnd {
    /// This node rang it.
    RungHere,
    /// Another node has it `ringing` or `done`.
    RungElsewhere,
    /// Too late to ring (the store unreachable or the claim held until the limit).
    Missed,
    /// This node rang it without a claim: the store was unreachable at both nodes of the pair
    /// and this is the preferred one (decided by `pair`, not by this machine).
    RungWithoutStore,
    /// This node of a pair reached no phone at the due instant: it neither claimed nor rang (the
    /// other node, which sees the phones, does).
    Ineligible,
}

/// What the shell does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutput {
    /// Carry out this bucket op and feed its answer to `handle_reply`.
    Op(ClaimOp),
    /// Ring the bell now, then call `handle_rung`.
    Ring,
    /// Finished.
    End(ClaimEnd),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// At `next_at`: read the key (after a refusal or a failure) or create it.
    Wait {
        read: bool,
    },
    /// At `next_at`: send this op.
    Ready(ClaimOp),
    InFlight(ClaimOp),
    /// `ringing` is ours at this revision: ring.
    RingNow(u64),
    /// The ring is being carried out.
    Ringing(u64),
    Ended(ClaimEnd),
}

/// One node's part in one occurrence.
#[derive(Debug)]
pub struct BellClaim {
    node: String,
    instance: u64,
    token: u64,
    claim_wait: Duration,
    retry: Duration,
    /// Past this, an occurrence not yet ringing is missed rather than rung late.
    give_up_at: Instant,
    phase: Phase,
    next_at: Instant,
    /// A claim by someone else: its revision and when we first saw it.
    watched: Option<(u64, Instant)>,
    rung: bool,
}

impl BellClaim {
    /// This node's part: `node` and `instance` (a number drawn at process start, so a
    /// restarted node does not take its predecessor's `ringing` for its own) with its lease
    /// `token` (0 if it does not lead). It starts at `start` (the due instant for the leader,
    /// due + `claim_wait` for the other), takes over a claim left `claimed` for `claim_wait`,
    /// and gives up at `give_up_at`.
    pub fn new(
        (node, instance): (&str, u64),
        token: u64,
        start: Instant,
        claim_wait: Duration,
        give_up_at: Instant,
    ) -> BellClaim {
        BellClaim {
            node: node.to_owned(),
            instance,
            token,
            claim_wait,
            retry: (claim_wait / 8).max(Duration::from_millis(50)),
            give_up_at,
            phase: Phase::Wait { read: false },
            next_at: start,
            watched: None,
            rung: false,
        }
    }

    fn record(&self, step: ClaimStep) -> ClaimRecord {
        ClaimRecord {
            step,
            node: self.node.clone(),
            instance: self.instance,
            token: self.token,
        }
    }

    fn mine(&self, rec: &ClaimRecord) -> bool {
        rec.node == self.node && rec.instance == self.instance
    }

    /// The next thing to do at `now`, if any.
    pub fn poll_output(&mut self, now: Instant) -> Option<ClaimOutput> {
        match &self.phase {
            Phase::Ended(end) => return Some(ClaimOutput::End(*end)),
            Phase::InFlight(_) | Phase::Ringing(_) => return None,
            _ if now < self.next_at => return None,
            &Phase::RingNow(rev) => {
                self.phase = Phase::Ringing(rev);
                return Some(ClaimOutput::Ring);
            }
            _ => {}
        }
        if now >= self.give_up_at && !self.rung {
            self.phase = Phase::Ended(ClaimEnd::Missed);
            return Some(ClaimOutput::End(ClaimEnd::Missed));
        }
        let op = match std::mem::replace(&mut self.phase, Phase::Wait { read: true }) {
            Phase::Wait { read: true } => ClaimOp::Read,
            Phase::Ready(op) => op,
            _ => ClaimOp::Create(self.record(ClaimStep::Claimed)),
        };
        self.phase = Phase::InFlight(op.clone());
        Some(ClaimOutput::Op(op))
    }

    /// The ring was carried out: write `done`.
    pub fn handle_rung(&mut self, now: Instant) {
        if let Phase::Ringing(rev) = self.phase {
            self.rung = true;
            self.next_at = now;
            let record = self.record(ClaimStep::Done);
            self.phase = Phase::Ready(ClaimOp::Cas {
                revision: rev,
                record,
            });
        }
    }

    /// The answer to the op in flight.
    pub fn handle_reply(&mut self, now: Instant, reply: ClaimReply) {
        let Phase::InFlight(op) = std::mem::replace(&mut self.phase, Phase::Wait { read: true })
        else {
            return;
        };
        self.next_at = now;
        match reply {
            ClaimReply::Written(rev) => match op {
                ClaimOp::Create(_) => self.ready_ringing(rev),
                ClaimOp::Cas { record, .. } => match record.step {
                    ClaimStep::Claimed => self.ready_ringing(rev),
                    ClaimStep::Ringing => self.phase = Phase::RingNow(rev),
                    ClaimStep::Done => self.phase = Phase::Ended(ClaimEnd::RungHere),
                },
                ClaimOp::Read => {}
            },
            ClaimReply::Refused if self.rung => self.phase = Phase::Ended(ClaimEnd::RungHere),
            ClaimReply::Refused => {}
            ClaimReply::Found(found) => self.judge(now, found),
            ClaimReply::Failed if self.rung => {
                // Rung already; `done` is for the record: retried until the limit.
                self.phase = if now >= self.give_up_at {
                    Phase::Ended(ClaimEnd::RungHere)
                } else {
                    Phase::Ready(op)
                };
                self.next_at = now + self.retry;
            }
            ClaimReply::Failed => self.next_at = now + self.retry,
        }
    }

    /// A read of the key: create, take over, wait, ring, or stop.
    fn judge(&mut self, now: Instant, found: Option<(u64, ClaimRecord)>) {
        let Some((rev, rec)) = found else {
            self.phase = Phase::Wait { read: false };
            return;
        };
        let mine = self.mine(&rec);
        self.phase = match rec.step {
            // Our own write landed though its answer was lost.
            ClaimStep::Claimed if mine => return self.ready_ringing(rev),
            ClaimStep::Ringing if mine && self.rung => Phase::Ready(ClaimOp::Cas {
                revision: rev,
                record: self.record(ClaimStep::Done),
            }),
            ClaimStep::Ringing if mine => Phase::RingNow(rev),
            ClaimStep::Done if mine => Phase::Ended(ClaimEnd::RungHere),
            ClaimStep::Ringing | ClaimStep::Done => Phase::Ended(ClaimEnd::RungElsewhere),
            ClaimStep::Claimed => {
                let since = match self.watched {
                    Some((r, since)) if r == rev => since,
                    _ => now,
                };
                self.watched = Some((rev, since));
                if now >= since + self.claim_wait {
                    Phase::Ready(ClaimOp::Cas {
                        revision: rev,
                        record: self.record(ClaimStep::Claimed),
                    })
                } else {
                    self.next_at = now + self.retry;
                    Phase::Wait { read: true }
                }
            }
        };
    }

    /// Our `claimed` holds at `rev`: move it to `ringing` before any push goes out.
    fn ready_ringing(&mut self, rev: u64) {
        self.phase = Phase::Ready(ClaimOp::Cas {
            revision: rev,
            record: self.record(ClaimStep::Ringing),
        });
    }

    /// When `poll_output` next has something (the shell also wakes on every answer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::InFlight(_) | Phase::Ringing(_) => None,
            Phase::Ended(_) => Some(self.next_at),
            _ => Some(self.next_at.min(self.give_up_at.max(self.next_at))),
        }
    }
}
