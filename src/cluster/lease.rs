//! The leader lease of a site as a sans-IO state machine: which write to send to the lease bucket
//! next (create, compare-and-set renewal, release), what its answer means, and until when this node
//! may count itself leader. No I/O and no clock: `now` comes with every call, so the property tests
//! (`lease_tests.rs`) run two and three nodes against a modelled bucket in virtual time.
//!
//! The rules (`docs/cluster.md`): the key is taken with a *create* and kept with a CAS on the
//! revision held; it expires at the server `max_age` (= `ttl`) after the server stamped it, which
//! is after we sent the request, so we count ourselves leader only until `sent + ttl - margin`.
//! The revision the server returns is the fencing token. A write whose answer never came
//! ([`LeaseReply::Failed`]) changes nothing we believe: the lease lapses at its instant unless a
//! later renewal lands; the next attempt is a CAS on the last revision we wrote, which succeeds
//! only if nobody wrote the key since (so it may take the lease back, never steal it).
//!
//! Call order for the shell: `handle_timeout(now)`, then `poll_op(now)` and carry the op out
//! (one in flight), feed its answer to `handle_reply(now, ..)`, drain `poll_event`, and sleep
//! until `poll_timeout()`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The lease's timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    /// The lease time: the lease bucket's `max_age`.
    pub ttl: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
    /// How soon a refused or failed write is tried again.
    pub retry_every: Duration,
    /// Taken off the lease's end: clock-rate error and scheduling slack.
    pub margin: Duration,
}

impl LeaseTerms {
    /// Renew every quarter of `ttl`, retry every eighth, keep an eighth as margin.
    pub fn new(ttl: Duration) -> LeaseTerms {
        LeaseTerms {
            ttl,
            renew_every: ttl / 4,
            retry_every: ttl / 8,
            margin: ttl / 8,
        }
    }
}

/// A write to the lease bucket's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOp {
    /// Create the key (only if absent, expired or deleted).
    Create,
    /// Write it again if its revision is still `revision`.
    Renew {
        /// The revision expected.
        revision: u64,
    },
    /// Delete it if its revision is still `revision` (stepping down).
    Release {
        /// The revision expected.
        revision: u64,
    },
}

/// The bucket's answer to a [`LeaseOp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseReply {
    /// Written; the key's new revision.
    Written {
        /// The revision the server gave the write.
        revision: u64,
    },
    /// Refused: the key exists (create) or has another revision (CAS).
    Refused,
    /// No answer in time, or an error: the write may or may not have happened.
    Failed,
}

/// What changed, for the shell to log and publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseEvent {
    /// This node became leader with this fencing token.
    Acquired {
        /// The fencing token.
        token: u64,
    },
    /// This node stopped being leader (lapsed, refused or stepped down).
    Lost {
        /// The token it held.
        token: u64,
    },
}

/// The lease as one node sees it.
#[derive(Debug)]
pub struct Lease {
    terms: LeaseTerms,
    /// The revision held and until when it counts.
    held: Option<(u64, Instant)>,
    /// The last revision this node wrote: a CAS on it succeeds if nobody wrote since.
    last_own: Option<u64>,
    in_flight: Option<(LeaseOp, Instant)>,
    next_at: Instant,
    eligible: bool,
    events: VecDeque<LeaseEvent>,
}

impl Lease {
    /// A node that does not lead yet and tries at once.
    pub fn new(terms: LeaseTerms, now: Instant) -> Lease {
        Lease {
            terms,
            held: None,
            last_own: None,
            in_flight: None,
            next_at: now,
            eligible: true,
            events: VecDeque::new(),
        }
    }

    /// The fencing token if this node leads at `now`.
    pub fn token(&self, now: Instant) -> Option<u64> {
        self.held.filter(|&(_, until)| now < until).map(|(r, _)| r)
    }

    /// Until when the lease held counts (`None`: not held).
    pub fn until(&self) -> Option<Instant> {
        self.held.map(|(_, until)| until)
    }

    /// Whether this node may lead (it sees its LAN). An ineligible holder stops at once and
    /// releases the key so the other node need not wait for it to expire.
    pub fn handle_eligible(&mut self, now: Instant, eligible: bool) {
        if self.eligible == eligible {
            return;
        }
        self.eligible = eligible;
        if !eligible {
            self.drop_held();
        }
        self.next_at = now;
    }

    /// Drop the lease when its time is up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.held.is_some_and(|(_, until)| now >= until) {
            self.drop_held();
        }
    }

    /// The next write to send, if one is due and none is in flight.
    pub fn poll_op(&mut self, now: Instant) -> Option<LeaseOp> {
        if self.in_flight.is_some() || now < self.next_at {
            return None;
        }
        let op = match (self.eligible, self.last_own) {
            (true, Some(revision)) => LeaseOp::Renew { revision },
            (true, None) => LeaseOp::Create,
            (false, Some(revision)) => LeaseOp::Release { revision },
            (false, None) => return None,
        };
        self.in_flight = Some((op, now));
        Some(op)
    }

    /// The answer to the op in flight.
    pub fn handle_reply(&mut self, now: Instant, reply: LeaseReply) {
        let Some((op, sent)) = self.in_flight.take() else {
            return;
        };
        let t = self.terms;
        match (op, reply) {
            (LeaseOp::Release { .. }, LeaseReply::Failed) => self.next_at = now + t.retry_every,
            (LeaseOp::Release { .. }, _) => {
                self.last_own = None;
                self.next_at = now + t.retry_every;
            }
            (_, LeaseReply::Written { revision }) => {
                self.last_own = Some(revision);
                let until = sent + t.ttl.saturating_sub(t.margin);
                // An answer that comes after its lease's end (we were paused) announces nothing.
                if self.eligible && now < until {
                    if self.held.is_none() {
                        self.events
                            .push_back(LeaseEvent::Acquired { token: revision });
                    }
                    self.held = Some((revision, until));
                } else {
                    self.drop_held();
                }
                self.next_at = (sent + t.renew_every).max(now);
            }
            (_, LeaseReply::Refused) => {
                self.drop_held();
                self.last_own = None;
                self.next_at = now + t.retry_every;
            }
            (_, LeaseReply::Failed) => self.next_at = now + t.retry_every,
        }
    }

    /// The next instant something is due: a write, or the lease's end.
    pub fn poll_timeout(&self) -> Instant {
        let end = self.held.map(|(_, until)| until);
        let next = self.in_flight.is_none().then_some(self.next_at);
        match (end, next) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            // An op is in flight: the shell's request timeout answers it.
            (None, None) => self.next_at + self.terms.ttl,
        }
    }

    /// What changed since the last call.
    pub fn poll_event(&mut self) -> Option<LeaseEvent> {
        self.events.pop_front()
    }

    fn drop_held(&mut self) {
        if let Some((token, _)) = self.held.take() {
            self.events.push_back(LeaseEvent::Lost { token });
        }
    }
}
