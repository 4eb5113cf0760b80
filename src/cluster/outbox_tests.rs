//! The outbox in virtual time: the window, the order kept across failures, the backoff, and,
//! against a modelled store and stream (answers lost, links down for a while, acknowledgements
//! lost after the stream stored the record), every record stored exactly once in the end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::outbox::{OutRecord, Outbox, OutboxTerms};

fn rec(i: usize) -> OutRecord {
    OutRecord {
        id: format!("page-{i}"),
        bytes: vec![i as u8],
    }
}

fn terms() -> OutboxTerms {
    OutboxTerms {
        window: 3,
        refill_every: Duration::from_millis(500),
        retry_first: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
    }
}

fn drain(o: &mut Outbox, now: Instant) -> Vec<String> {
    std::iter::from_fn(|| o.poll_send(now))
        .map(|r| r.id)
        .collect()
}

#[test]
fn sends_in_order_up_to_the_window_and_more_as_acks_come() {
    let t0 = Instant::now();
    let mut o = Outbox::new(terms(), t0);
    assert!(o.wants_refill(t0));
    assert_eq!(o.offer((0..5).map(rec)), 5);
    assert_eq!(drain(&mut o, t0), ["page-0", "page-1", "page-2"]);
    assert_eq!(o.lag(), 5);
    o.handle_acked(t0, "page-1");
    assert_eq!(o.poll_acked(), ["page-1"]);
    assert_eq!(drain(&mut o, t0), ["page-3"]);
    // The store returns what it has not marked yet (page-1 is marked): nothing is queued twice.
    assert_eq!(o.offer([0, 2, 3, 4, 5].map(rec)), 1);
    assert_eq!(o.lag(), 5);
}

#[test]
fn a_failure_stops_sending_until_the_retry_then_one_probe_reopens_the_window() {
    let t0 = Instant::now();
    let mut o = Outbox::new(terms(), t0);
    o.offer((0..6).map(rec));
    assert_eq!(drain(&mut o, t0).len(), 3);
    o.handle_failed(t0, "page-0");
    o.handle_failed(t0, "page-1");
    o.handle_acked(t0, "page-2");
    // An ack of a record sent before the cut says the link answers again.
    assert!(o.link_up());
    o.handle_failed(t0, "page-0"); // not in flight: ignored
    let mut o = Outbox::new(terms(), t0);
    assert!(o.wants_refill(t0));
    o.offer((0..6).map(rec));
    drain(&mut o, t0);
    o.handle_failed(t0, "page-1");
    o.handle_failed(t0, "page-0");
    assert!(!o.link_up());
    assert!(
        drain(&mut o, t0).is_empty(),
        "nothing while the link is down"
    );
    let t1 = t0 + Duration::from_millis(100);
    assert_eq!(o.poll_timeout(), t1);
    assert!(drain(&mut o, t1).is_empty(), "page-2 is still in flight");
    o.handle_failed(t0 + Duration::from_millis(50), "page-2");
    // The first record back in its place goes first, alone.
    assert_eq!(drain(&mut o, t1), ["page-0"]);
    // It fails again: the wait doubles.
    o.handle_failed(t1, "page-0");
    assert_eq!(o.poll_timeout(), t1 + Duration::from_millis(200));
    let t2 = t1 + Duration::from_millis(200);
    assert_eq!(drain(&mut o, t2), ["page-0"]);
    o.handle_acked(t2, "page-0");
    assert!(o.link_up());
    assert_eq!(drain(&mut o, t2), ["page-1", "page-2", "page-3"]);
    assert_eq!(o.last_ack(), Some(t2));
}

#[test]
fn the_wait_stops_doubling_at_its_longest() {
    let t0 = Instant::now();
    let mut o = Outbox::new(terms(), t0);
    assert!(o.wants_refill(t0));
    o.offer([rec(0)]);
    // The next refill is due before the waits grow long: it comes, and finds nothing new.
    let mut refills = 0;
    let mut now = t0;
    let mut waits = Vec::new();
    for _ in 0..5 {
        let r = o.poll_send(now).expect("the probe");
        o.handle_failed(now, &r.id);
        let mut next = o.poll_timeout();
        while o.wants_refill(next) {
            refills += 1;
            next = o.poll_timeout();
        }
        waits.push((next - now).as_millis());
        now = next;
    }
    assert_eq!(waits, [100, 200, 400, 400, 400]);
    assert!(refills >= 2, "refills went on while the link was down");
}

#[test]
fn refills_come_every_period_and_not_while_a_window_waits() {
    let t0 = Instant::now();
    let mut o = Outbox::new(terms(), t0);
    assert!(o.wants_refill(t0));
    assert!(!o.wants_refill(t0 + Duration::from_millis(499)));
    let t1 = t0 + Duration::from_millis(500);
    o.offer((0..3).map(rec));
    assert!(!o.wants_refill(t1), "a full window is queued");
    drain(&mut o, t1);
    assert!(o.wants_refill(t1));
}

/// What happens to one send in the model.
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Stored and acknowledged.
    Acked,
    /// Stored, the acknowledgement lost.
    StoredAckLost,
    /// Not stored.
    Lost,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        3 => Just(Fate::Acked),
        1 => Just(Fate::StoredAckLost),
        1 => Just(Fate::Lost),
    ]
}

proptest! {
    /// Records appear in the store over time; each send meets a fate; then the link heals.
    /// In the end every record is in the stream (a set: the stream keeps one message per id,
    /// as JetStream does within its duplicate window) and the store has every record marked.
    #[test]
    fn every_record_reaches_the_stream_and_is_marked(
        fates in proptest::collection::vec(fate(), 1..200),
        arrivals in proptest::collection::vec(0usize..4, 1..40),
        marks_fail in proptest::collection::vec(any::<bool>(), 1..40),
    ) {
        let t0 = Instant::now();
        let mut o = Outbox::new(terms(), t0);
        let mut store: BTreeMap<usize, bool> = BTreeMap::new(); // id -> marked
        let mut stream: BTreeSet<String> = BTreeSet::new();
        let mut fates = fates.into_iter();
        let mut now = t0;
        let mut next_id = 0;
        for step in 0..400 {
            let new = arrivals.get(step).copied().unwrap_or(0);
            for _ in 0..new {
                store.insert(next_id, false);
                next_id += 1;
            }
            // 2. mark (a mark may fail: the record is offered and sent again)
            let fail = marks_fail.get(step).copied().unwrap_or(false);
            for id in o.poll_acked() {
                let n: usize = id.trim_start_matches("page-").parse().unwrap();
                if !fail {
                    store.insert(n, true);
                }
            }
            // 3. refill
            if o.wants_refill(now) {
                o.offer(store.iter().filter(|(_, m)| !**m).map(|(n, _)| rec(*n)));
            }
            // 4. send, 1. answers (after the fates run out, everything is acknowledged)
            let mut sent = Vec::new();
            while let Some(r) = o.poll_send(now) {
                sent.push(r.id);
            }
            prop_assert!(o.in_flight() <= 3);
            for id in sent {
                match fates.next().unwrap_or(Fate::Acked) {
                    Fate::Acked => {
                        stream.insert(id.clone());
                        o.handle_acked(now, &id);
                    }
                    Fate::StoredAckLost => {
                        stream.insert(id.clone());
                        o.handle_failed(now, &id);
                    }
                    Fate::Lost => o.handle_failed(now, &id),
                }
            }
            now = o.poll_timeout().max(now + Duration::from_millis(10));
        }
        let all: BTreeSet<String> = store.keys().map(|n| format!("page-{n}")).collect();
        prop_assert_eq!(stream, all);
        prop_assert!(store.values().all(|m| *m), "every record marked");
        prop_assert_eq!(o.lag(), 0);
    }
}
