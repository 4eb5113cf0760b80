//! Two nodes claim one occurrence against a modelled claims bucket in virtual time, with writes
//! delayed and lost and a node paused or killed: it is never rung twice, and rung once unless a
//! node was killed holding `ringing` (the window `docs/cluster.md` names) or answers were lost
//! until the limit.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::claim::{
    BellClaim, ClaimEnd, ClaimOp, ClaimOutput, ClaimRecord, ClaimReply, ClaimStep, Occurrence,
};

#[test]
fn a_key_names_its_occurrence_back() {
    for bell in ["tick", "Période 1 — fin", "a_b.c", ""] {
        let occ = Occurrence {
            bell: bell.into(),
            due_unix: 1_790_000_000,
        };
        assert_eq!(Occurrence::from_key(&occ.key()), Some(occ));
    }
    assert_eq!(Occurrence::from_key("x.tick"), None);
    assert_eq!(Occurrence::from_key("17.ab_4"), None);
}

const STEP: Duration = Duration::from_millis(10);
const WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Bucket {
    seq: u64,
    key: Option<(u64, ClaimRecord)>,
}

impl Bucket {
    fn apply(&mut self, op: &ClaimOp) -> ClaimReply {
        let current = self.key.as_ref().map(|(r, _)| *r);
        let (ok, record) = match op {
            ClaimOp::Read => return ClaimReply::Found(self.key.clone()),
            ClaimOp::Create(r) => (current.is_none(), r),
            ClaimOp::Cas { revision, record } => (current == Some(*revision), record),
        };
        if !ok {
            return ClaimReply::Refused;
        }
        self.seq += 1;
        self.key = Some((self.seq, record.clone()));
        ClaimReply::Written(self.seq)
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

#[derive(Debug, Clone)]
struct Faults {
    seed: u64,
    loss_pct: u64,
    max_delay_ms: u64,
    /// (node, from ms after due, length ms)
    pause: Option<(usize, u64, u64)>,
    /// (node, ms after due)
    kill: Option<(usize, u64)>,
}

struct Outcome {
    rings: usize,
    ends: Vec<Option<ClaimEnd>>,
    last: Option<(u64, ClaimRecord)>,
}

fn run(f: &Faults) -> Outcome {
    let due = Instant::now();
    let give_up = due + Duration::from_secs(60);
    let timeout = Duration::from_secs(1);
    let mut rng = Rng(f.seed | 1);
    let mut bucket = Bucket::default();
    let mut claims = [
        BellClaim::new(("a", 1), 7, due, WAIT, give_up),
        BellClaim::new(("b", 2), 0, due + WAIT, WAIT, give_up),
    ];
    let mut inbox: [Vec<(Instant, ClaimReply)>; 2] = [Vec::new(), Vec::new()];
    let mut wire: Vec<(Instant, Option<usize>, ClaimOp, Instant)> = Vec::new();
    let mut ends = [None, None];
    let mut rings = 0;
    let mut now = due;
    while now < due + Duration::from_secs(90) {
        wire.sort_by_key(|w| w.0);
        while wire.first().is_some_and(|w| w.0 <= now) {
            let (at, i, op, sent) = wire.remove(0);
            let reply = bucket.apply(&op);
            let Some(i) = i else { continue };
            let back = at + Duration::from_millis(rng.below(f.max_delay_ms + 1));
            if rng.below(100) < f.loss_pct || back > sent + timeout {
                inbox[i].push((sent + timeout, ClaimReply::Failed));
            } else {
                inbox[i].push((back, reply));
            }
        }
        for i in 0..2 {
            let at = |ms: u64| due + Duration::from_millis(ms);
            if f.kill.is_some_and(|(n, t)| n == i && now >= at(t)) {
                continue;
            }
            if f.pause
                .is_some_and(|(n, s, l)| n == i && now >= at(s) && now < at(s + l))
            {
                continue;
            }
            inbox[i].sort_by_key(|r| r.0);
            while inbox[i].first().is_some_and(|r| r.0 <= now) {
                let (_, reply) = inbox[i].remove(0);
                claims[i].handle_reply(now, reply);
            }
            while let Some(out) = claims[i].poll_output(now) {
                match out {
                    ClaimOutput::Ring => {
                        rings += 1;
                        claims[i].handle_rung(now);
                    }
                    ClaimOutput::End(e) => {
                        ends[i] = Some(e);
                        break;
                    }
                    ClaimOutput::Op(op) => {
                        if rng.below(100) < f.loss_pct {
                            inbox[i].push((now + timeout, ClaimReply::Failed));
                            break;
                        }
                        let d = Duration::from_millis(rng.below(f.max_delay_ms + 1));
                        if d > timeout {
                            inbox[i].push((now + timeout, ClaimReply::Failed));
                            wire.push((now + d, None, op, now));
                        } else {
                            wire.push((now + d, Some(i), op, now));
                        }
                        break;
                    }
                }
            }
        }
        assert!(rings <= 1, "{f:?}: rung {rings} times");
        now += STEP;
    }
    Outcome {
        rings,
        ends: ends.to_vec(),
        last: bucket.key,
    }
}

fn faults() -> impl Strategy<Value = Faults> {
    (
        any::<u64>(),
        0u64..=30,
        0u64..=1500,
        proptest::option::of((0usize..2, 0u64..20_000, 0u64..20_000)),
        proptest::option::of((0usize..2, 0u64..20_000)),
    )
        .prop_map(|(seed, loss_pct, max_delay_ms, pause, kill)| Faults {
            seed,
            loss_pct,
            max_delay_ms,
            pause,
            kill,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Never twice; once unless the killed node held `ringing` (the window of the note).
    #[test]
    fn an_occurrence_rings_at_most_once(f in faults()) {
        let o = run(&f);
        if o.rings == 0 {
            let killed = f.kill.map(|(n, _)| ["a", "b"][n]);
            let held = o.last.as_ref().filter(|(_, r)| r.step == ClaimStep::Ringing);
            prop_assert!(
                held.is_some_and(|(_, r)| Some(r.node.as_str()) == killed) || f.loss_pct > 0,
                "{f:?}: missed, ends {:?}, record {:?}", o.ends, o.last
            );
        }
    }
}

#[test]
fn the_leader_rings_and_the_other_sees_it_rung() {
    let o = run(&Faults {
        seed: 3,
        loss_pct: 0,
        max_delay_ms: 20,
        pause: None,
        kill: None,
    });
    assert_eq!(o.rings, 1);
    assert_eq!(
        o.ends,
        [Some(ClaimEnd::RungHere), Some(ClaimEnd::RungElsewhere)]
    );
    assert_eq!(
        o.last.map(|(_, r)| (r.step, r.node)),
        Some((ClaimStep::Done, "a".into()))
    );
}

#[test]
fn a_claim_left_claimed_is_taken_over() {
    // The leader's `claimed` lands, then it dies before moving it to `ringing`.
    let o = run(&Faults {
        seed: 5,
        loss_pct: 0,
        max_delay_ms: 30,
        pause: None,
        kill: Some((0, 1)),
    });
    assert_eq!(o.rings, 1);
    assert_eq!(o.ends[1], Some(ClaimEnd::RungHere));
}

#[test]
fn a_paused_leader_loses_its_claim_and_does_not_ring() {
    let o = run(&Faults {
        seed: 9,
        loss_pct: 0,
        max_delay_ms: 30,
        pause: Some((0, 1, 30_000)),
        kill: None,
    });
    assert_eq!(o.rings, 1);
    assert_eq!(
        o.ends,
        [Some(ClaimEnd::RungElsewhere), Some(ClaimEnd::RungHere)]
    );
}

#[test]
fn keys_are_safe_and_distinct() {
    let k = |bell: &str| {
        Occurrence {
            bell: bell.into(),
            due_unix: 1_796_000_000,
        }
        .key()
    };
    assert_eq!(k("period-1"), "1796000000.period-1");
    assert_eq!(k("Lunch bell"), "1796000000.Lunch_20bell");
    assert_eq!(k("a.b"), "1796000000.a_2Eb");
    assert_ne!(k("a_2Eb"), k("a.b"));
    assert_eq!(k("é"), "1796000000._C3_A9");
}

#[test]
fn a_nodes_tuned_key_is_safe_and_never_an_occurrence() {
    use super::claim::tuned_key;
    assert_eq!(tuned_key("a"), "tuned.a");
    assert_eq!(tuned_key("north 1"), "tuned.north_201");
    for node in ["a", "b", "0", "12.3"] {
        assert_eq!(Occurrence::from_key(&tuned_key(node)), None, "{node}");
    }
}
