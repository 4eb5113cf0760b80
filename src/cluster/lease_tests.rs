//! The lease against a modelled bucket in virtual time: writes delayed, lost, answered late; nodes
//! paused and killed. At every 10 ms step no two live nodes count themselves leader, and the tokens
//! seen only rise.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::lease::{Lease, LeaseEvent, LeaseOp, LeaseReply, LeaseTerms};

const STEP: Duration = Duration::from_millis(10);

/// The lease bucket as nats-server keeps it: one key, revisions from one sequence, expiry
/// `ttl` after the server stamped the write.
struct Bucket {
    seq: u64,
    key: Option<(u64, Instant)>,
    ttl: Duration,
}

impl Bucket {
    fn apply(&mut self, now: Instant, op: LeaseOp) -> LeaseReply {
        if self.key.is_some_and(|(_, stamp)| now >= stamp + self.ttl) {
            self.key = None;
        }
        let current = self.key.map(|(r, _)| r);
        let ok = match op {
            LeaseOp::Create => current.is_none(),
            LeaseOp::Renew { revision } | LeaseOp::Release { revision } => {
                current == Some(revision)
            }
        };
        if !ok {
            return LeaseReply::Refused;
        }
        self.seq += 1;
        self.key = match op {
            LeaseOp::Release { .. } => None,
            _ => Some((self.seq, now)),
        };
        LeaseReply::Written { revision: self.seq }
    }
}

/// A tiny deterministic generator (xorshift64*), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

struct Node {
    lease: Lease,
    paused: Option<(Instant, Instant)>,
    killed_at: Option<Instant>,
    inbox: Vec<(Instant, LeaseReply)>,
}

/// The faults of one run.
#[derive(Debug, Clone)]
struct Faults {
    seed: u64,
    nodes: usize,
    loss_pct: u64,
    max_delay_ms: u64,
    pause: Option<(usize, u64, u64)>,
    kill: Option<(usize, u64)>,
}

struct Run {
    acquired: Vec<(usize, u64)>,
    leaders_at_end: usize,
}

/// Run `faults` for `secs` virtual seconds, asserting the invariants at every step.
fn run(faults: &Faults, ttl: Duration, secs: u64) -> Run {
    let t0 = Instant::now();
    let terms = LeaseTerms::new(ttl);
    let timeout = ttl / 2;
    let mut rng = Rng(faults.seed | 1);
    let mut bucket = Bucket {
        seq: 0,
        key: None,
        ttl,
    };
    let mut nodes: Vec<Node> = (0..faults.nodes)
        .map(|i| Node {
            lease: Lease::new(terms, t0 + Duration::from_millis(i as u64 * 7)),
            paused: faults.pause.filter(|p| p.0 == i).map(|(_, s, l)| {
                let from = t0 + Duration::from_millis(s);
                (from, from + Duration::from_millis(l))
            }),
            killed_at: faults
                .kill
                .filter(|k| k.0 == i)
                .map(|(_, at)| t0 + Duration::from_millis(at)),
            inbox: Vec::new(),
        })
        .collect();
    // Writes on their way to the server: (arrival, node, op, sent).
    let mut wire: Vec<(Instant, usize, LeaseOp, Instant)> = Vec::new();
    let (mut acquired, mut last_token) = (Vec::new(), 0u64);
    let mut now = t0;
    while now < t0 + Duration::from_secs(secs) {
        wire.sort_by_key(|w| w.0);
        while wire.first().is_some_and(|w| w.0 <= now) {
            let (at, i, op, sent) = wire.remove(0);
            let reply = bucket.apply(at, op);
            if i == usize::MAX {
                // Its sender already gave up: the write lands, its answer goes nowhere.
                continue;
            }
            let back = at + Duration::from_millis(rng.below(faults.max_delay_ms + 1));
            let lost = rng.below(100) < faults.loss_pct;
            let answer = if lost || back > sent + timeout {
                (sent + timeout, LeaseReply::Failed)
            } else {
                (back, reply)
            };
            nodes[i].inbox.push(answer);
        }
        for (i, n) in nodes.iter_mut().enumerate() {
            let dead = n.killed_at.is_some_and(|k| now >= k);
            let asleep = n.paused.is_some_and(|(a, b)| now >= a && now < b);
            if dead || asleep {
                continue;
            }
            n.inbox.sort_by_key(|r| r.0);
            while n.inbox.first().is_some_and(|r| r.0 <= now) {
                let (_, reply) = n.inbox.remove(0);
                n.lease.handle_reply(now, reply);
            }
            n.lease.handle_timeout(now);
            if let Some(op) = n.lease.poll_op(now) {
                if rng.below(100) < faults.loss_pct {
                    n.inbox.push((now + timeout, LeaseReply::Failed));
                } else {
                    let d = Duration::from_millis(rng.below(faults.max_delay_ms + 1));
                    if d > timeout {
                        // Answered Failed at the timeout; the write may still land later.
                        n.inbox.push((now + timeout, LeaseReply::Failed));
                        wire.push((now + d, usize::MAX, op, now));
                    } else {
                        wire.push((now + d, i, op, now));
                    }
                }
            }
            while let Some(e) = n.lease.poll_event() {
                if let LeaseEvent::Acquired { token } = e {
                    acquired.push((i, token));
                }
            }
        }
        let live: Vec<u64> = nodes
            .iter()
            .filter(|n| n.killed_at.is_none_or(|k| now < k))
            .filter_map(|n| n.lease.token(now))
            .collect();
        assert!(
            live.len() <= 1,
            "{faults:?}: two leaders at {:?}: {live:?}",
            now - t0
        );
        if let Some(&t) = live.first() {
            assert!(
                t >= last_token,
                "{faults:?}: token fell from {last_token} to {t}"
            );
            last_token = t;
        }
        now += STEP;
    }
    for w in acquired.windows(2) {
        assert!(w[1].1 > w[0].1, "{faults:?}: acquired tokens {acquired:?}");
    }
    let leaders_at_end = nodes
        .iter()
        .filter(|n| n.killed_at.is_none_or(|k| now < k))
        .filter(|n| n.lease.token(now).is_some())
        .count();
    Run {
        acquired,
        leaders_at_end,
    }
}

fn faults() -> impl Strategy<Value = Faults> {
    (
        any::<u64>(),
        2usize..=3,
        0u64..=30,
        0u64..=1500,
        proptest::option::of((0usize..3, 0u64..20_000, 0u64..15_000)),
        proptest::option::of((0usize..3, 0u64..20_000)),
    )
        .prop_map(
            |(seed, nodes, loss_pct, max_delay_ms, pause, kill)| Faults {
                seed,
                nodes,
                loss_pct,
                max_delay_ms,
                pause,
                kill,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// No two holders overlap and tokens only rise, whatever the wire and the nodes do.
    #[test]
    fn no_two_leaders_and_tokens_rise(f in faults()) {
        run(&f, Duration::from_secs(4), 40);
    }
}

#[test]
fn a_killed_leader_is_replaced_within_the_lease_time() {
    let f = Faults {
        seed: 7,
        nodes: 2,
        loss_pct: 0,
        max_delay_ms: 5,
        pause: None,
        kill: Some((0, 10_000)),
    };
    // 15 s: node 1 leads within 5 s of the kill (lease 4 s + a retry).
    let r = run(&f, Duration::from_secs(4), 15);
    assert_eq!(r.acquired[0].0, 0, "node 0 starts first and leads");
    assert_eq!(r.acquired.last().map(|a| a.0), Some(1), "{:?}", r.acquired);
    assert_eq!(r.leaders_at_end, 1);
}

#[test]
fn a_paused_leader_wakes_as_a_follower() {
    let f = Faults {
        seed: 11,
        nodes: 2,
        loss_pct: 0,
        max_delay_ms: 5,
        pause: Some((0, 5_000, 15_000)),
        kill: None,
    };
    let r = run(&f, Duration::from_secs(4), 30);
    let holders: Vec<usize> = r.acquired.iter().map(|a| a.0).collect();
    assert_eq!(
        holders,
        [0, 1],
        "node 1 takes over; node 0 does not take it back"
    );
}

#[test]
fn an_ineligible_holder_releases_at_once() {
    let t0 = Instant::now();
    let mut a = Lease::new(LeaseTerms::new(Duration::from_secs(4)), t0);
    assert_eq!(a.poll_op(t0), Some(LeaseOp::Create));
    a.handle_reply(t0, LeaseReply::Written { revision: 3 });
    assert_eq!(a.token(t0), Some(3));
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(a.poll_op(t1), Some(LeaseOp::Renew { revision: 3 }));
    a.handle_reply(t1, LeaseReply::Written { revision: 5 });
    assert_eq!(a.token(t1), Some(5));
    a.handle_eligible(t1, false);
    assert_eq!(a.token(t1), None);
    assert_eq!(a.poll_op(t1), Some(LeaseOp::Release { revision: 5 }));
    a.handle_reply(t1, LeaseReply::Written { revision: 6 });
    assert_eq!(
        a.poll_op(t1 + Duration::from_secs(5)),
        None,
        "ineligible: no writes"
    );
    let events: Vec<LeaseEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(
        events,
        [
            LeaseEvent::Acquired { token: 3 },
            LeaseEvent::Lost { token: 5 }
        ]
    );
}

#[test]
fn a_lapsed_lease_is_taken_back_by_cas_only_if_nobody_wrote() {
    let t0 = Instant::now();
    let terms = LeaseTerms::new(Duration::from_secs(4));
    let mut a = Lease::new(terms, t0);
    a.poll_op(t0);
    a.handle_reply(t0, LeaseReply::Written { revision: 1 });
    // Renewals fail until the lease lapses by our own clock.
    let mut now = t0;
    while a.token(now).is_some() {
        now += STEP;
        a.handle_timeout(now);
        if a.poll_op(now).is_some() {
            a.handle_reply(now, LeaseReply::Failed);
        }
    }
    assert!(now - t0 <= terms.ttl - terms.margin);
    now += terms.retry_every;
    assert_eq!(a.poll_op(now), Some(LeaseOp::Renew { revision: 1 }));
    a.handle_reply(now, LeaseReply::Refused);
    now += terms.retry_every;
    assert_eq!(a.poll_op(now), Some(LeaseOp::Create));
}
