use super::*;
use crate::rtp::packet::{PACKET_LEN, Packetizer};

/// Packets of one stream: sequence from `seq0`, timestamps from `ts0`, payload byte = index.
fn stream(ssrc: u32, seq0: u16, ts0: u32, n: usize) -> Vec<[u8; PACKET_LEN]> {
    let mut p = Packetizer::new(Law::Ulaw, ssrc, seq0, ts0);
    (0..n)
        .map(|i| {
            let mut b = [0u8; PACKET_LEN];
            Packetizer::payload_mut(&mut b).fill(i as u8);
            p.write_header(&mut b);
            b
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Ev {
    New(u32, Option<u32>),
    Audio(u16, u8),
    Gap(u32),
}

fn feed(rx: &mut ReceiverState, pkts: &[&[u8]], t0: u64) -> Vec<Ev> {
    let mut evs = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        rx.on_packet(t0 + i as u64 * 20_000_000, p, |e| evs.push(ev(e)));
    }
    evs
}

fn ev(e: ReceiverEvent) -> Ev {
    match e {
        ReceiverEvent::NewSource { ssrc, previous } => Ev::New(ssrc, previous),
        ReceiverEvent::Audio {
            sequence, payload, ..
        } => Ev::Audio(sequence, payload[0]),
        ReceiverEvent::Gap { samples, .. } => Ev::Gap(samples),
    }
}

fn audio_order(evs: &[Ev]) -> Vec<u8> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Audio(_, b) => Some(*b),
            _ => None,
        })
        .collect()
}

#[test]
fn in_order_stream_plays_straight_through_across_sequence_wrap() {
    let pkts = stream(9, 65530, 1000, 12);
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let refs: Vec<&[u8]> = pkts.iter().map(|p| &p[..]).collect();
    let evs = feed(&mut rx, &refs, 0);
    assert_eq!(evs[0], Ev::New(9, None));
    assert_eq!(audio_order(&evs), (0..12).collect::<Vec<u8>>());
    assert!(!evs.iter().any(|e| matches!(e, Ev::Gap(_))));
    let s = rx.stats()[0];
    assert_eq!(
        (s.received, s.expected, s.lost, s.duplicates, s.late),
        (12, 12, 0, 0, 0)
    );
    assert_eq!(s.payload_bytes, 12 * 160);
    assert!(s.jitter_ms < 0.01, "perfectly paced: {}", s.jitter_ms);
}

#[test]
fn reordered_packets_are_put_back_in_place() {
    let pkts = stream(1, 100, 0, 6);
    let order = [0, 2, 1, 3, 5, 4];
    let refs: Vec<&[u8]> = order.iter().map(|&i| &pkts[i][..]).collect();
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let evs = feed(&mut rx, &refs, 0);
    assert_eq!(audio_order(&evs), vec![0, 1, 2, 3, 4, 5]);
    let s = rx.stats()[0];
    assert_eq!((s.reordered, s.lost, s.late), (2, 0, 0));
}

#[test]
fn lost_packets_become_gaps_of_the_right_length() {
    let pkts = stream(1, 0, 0, 20);
    // Lose 3 and 4; the buffer (depth 5) gives up on them once 6 more have arrived.
    let refs: Vec<&[u8]> = (0..20)
        .filter(|i| *i != 3 && *i != 4)
        .map(|i| &pkts[i][..])
        .collect();
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let mut evs = feed(&mut rx, &refs, 0);
    rx.flush(|e| evs.push(ev(e)));
    let order = audio_order(&evs);
    assert_eq!(order.len(), 18);
    let gap_pos = evs
        .iter()
        .position(|e| *e == Ev::Gap(320))
        .expect("a 320-sample gap");
    assert_eq!(evs[gap_pos - 1], Ev::Audio(2, 2));
    assert_eq!(evs[gap_pos + 1], Ev::Audio(5, 5));
    let s = rx.stats()[0];
    assert_eq!(
        (s.received, s.expected, s.lost, s.gap_samples),
        (18, 20, 2, 320)
    );
}

#[test]
fn duplicates_and_late_packets_are_counted_not_played() {
    let pkts = stream(1, 0, 0, 12);
    // 2 is missing until after the buffer gave it up; 5 and 0 arrive twice.
    let order = [0, 0, 1, 3, 4, 5, 5, 6, 7, 8, 9, 2, 10, 11];
    let refs: Vec<&[u8]> = order.iter().map(|&i| &pkts[i][..]).collect();
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let mut evs = feed(&mut rx, &refs, 0);
    rx.flush(|e| evs.push(ev(e)));
    assert_eq!(audio_order(&evs), vec![0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    let s = rx.stats()[0];
    assert_eq!(s.duplicates, 2);
    assert_eq!(s.late, 1);
    assert_eq!(
        s.lost, 0,
        "RFC 3550: a late packet was received, so it is not lost"
    );
}

#[test]
fn a_missing_packet_is_given_up_on_timeout() {
    let pkts = stream(1, 0, 0, 4);
    let refs: Vec<&[u8]> = [0, 2, 3].iter().map(|&i| &pkts[i][..]).collect();
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let mut evs = feed(&mut rx, &refs, 0);
    assert_eq!(audio_order(&evs), vec![0], "2 and 3 wait for 1");
    rx.on_timeout(40_000_000 + 50_000_000, |e| evs.push(ev(e)));
    assert_eq!(audio_order(&evs), vec![0], "not yet: waited 50 ms of 100");
    rx.on_timeout(40_000_000 + 100_000_000, |e| evs.push(ev(e)));
    assert_eq!(audio_order(&evs), vec![0, 2, 3]);
    assert!(evs.contains(&Ev::Gap(160)));
}

#[test]
fn ssrc_change_starts_a_new_source_and_plays_out_the_old() {
    let a = stream(1, 0, 0, 3);
    let b = stream(2, 500, 99999, 3);
    let refs: Vec<&[u8]> = a.iter().chain(b.iter()).map(|p| &p[..]).collect();
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let evs = feed(&mut rx, &refs, 0);
    assert_eq!(evs[0], Ev::New(1, None));
    assert!(evs.contains(&Ev::New(2, Some(1))));
    assert_eq!(audio_order(&evs), vec![0, 1, 2, 0, 1, 2]);
    assert_eq!(rx.counters().ssrc_changes, 1);
    assert_eq!(rx.stats().len(), 2);
}

#[test]
fn garbage_wrong_payload_type_and_floods_are_counted_and_bounded() {
    let mut rx = ReceiverState::new(ReorderConfig::default());
    let mut n = 0;
    rx.on_packet(0, &[1, 2, 3], |_| n += 1);
    let mut g729 = stream(1, 0, 0, 1)[0];
    g729[1] = 18;
    rx.on_packet(0, &g729, |_| n += 1);
    assert_eq!(n, 0);
    let c = rx.counters();
    assert_eq!((c.malformed, c.unsupported), (1, 1));
    // 100 different SSRCs: only MAX_SOURCES kept.
    for ssrc in 0..100 {
        rx.on_packet(ssrc as u64, &stream(ssrc, 0, 0, 1)[0], |_| {});
    }
    assert_eq!(rx.stats().len(), MAX_SOURCES);
}

#[test]
fn jitter_follows_rfc3550() {
    // Alternate arrival offsets of 0 and 2 ms: |D| is 16 timestamp units every packet, so J
    // converges on 16 units = 2 ms.
    let pkts = stream(1, 0, 0, 400);
    let mut rx = ReceiverState::new(ReorderConfig::default());
    for (i, p) in pkts.iter().enumerate() {
        let t = i as u64 * 20_000_000 + if i % 2 == 1 { 2_000_000 } else { 0 };
        rx.on_packet(t, p, |_| {});
    }
    let s = rx.stats()[0];
    assert!((s.jitter_ms - 2.0).abs() < 0.05, "jitter {}", s.jitter_ms);
    assert!((s.max_transit_delta_ms - 2.0).abs() < 0.2);
}
