//! RTP packet parsing and the receiver's pure state machine ([`ReceiverState`]): the input is a
//! script of datagrams (raw bytes, or well-formed packets built from a few fields so the fuzzer
//! reaches the reorder/loss/SSRC logic), receive timeouts and flushes, with arrival times.
//! Afterwards the counters must agree with each other and with the events that came out.
//!
//! Script: byte 0 = reorder depth, byte 1 = max wait (ms); then ops. An op byte's low 2 bits
//! are the kind (0 raw datagram: u16 length + bytes; 1 built packet: 9 bytes of fields;
//! 2 timeout; 3 flush) and its high 6 bits the time since the previous op (63: a jump of hours).
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use zonecast::rtp::receiver::{MAX_PAYLOAD, MAX_SOURCES, ReorderConfig};
use zonecast::rtp::{ReceiverEvent, ReceiverState, RtpHeader};

#[derive(Default)]
struct Seen {
    audio: u64,
    bytes: u64,
    gaps: u64,
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if data.len() < n {
        return None;
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Some(head)
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let Some(cfg) = take(&mut data, 2) else {
        return;
    };
    let mut rx = ReceiverState::new(ReorderConfig {
        depth: usize::from(cfg[0] % 40),
        max_wait_ns: u64::from(cfg[1]) * 1_000_000,
    });
    let mut now: u64 = 1_000_000_000;
    let mut datagrams = 0u64;
    let mut ssrcs = std::collections::HashSet::new();
    let mut seen: HashMap<u32, Seen> = HashMap::new();
    let mut packet = Vec::with_capacity(2048);
    let mut on_event = |e: ReceiverEvent| match e {
        ReceiverEvent::Audio { ssrc, payload, .. } => {
            assert!(!payload.is_empty() && payload.len() <= MAX_PAYLOAD);
            let s = seen.entry(ssrc).or_default();
            s.audio += 1;
            s.bytes += payload.len() as u64;
        }
        ReceiverEvent::Gap { ssrc, samples } => {
            assert!(samples > 0);
            seen.entry(ssrc).or_default().gaps += u64::from(samples);
        }
        ReceiverEvent::NewSource { ssrc, previous } => {
            assert_ne!(Some(ssrc), previous);
        }
    };
    while let Some(op) = take(&mut data, 1) {
        let op = op[0];
        let dt = u64::from(op >> 2);
        now = now.saturating_add(if dt == 63 {
            3_600_000_000_000
        } else {
            dt * 1_000_000
        });
        match op & 3 {
            0 => {
                let Some(len) = take(&mut data, 2) else { break };
                let len = usize::from(u16::from_le_bytes([len[0], len[1]]) % 1024).min(data.len());
                let bytes = take(&mut data, len).unwrap();
                if let Ok((h, _)) = RtpHeader::parse(bytes) {
                    ssrcs.insert(h.ssrc);
                }
                datagrams += 1;
                rx.on_packet(now, bytes, &mut on_event);
            }
            1 => {
                let Some(f) = take(&mut data, 9) else { break };
                let sequence = u16::from_le_bytes([f[0], f[1]]);
                let timestamp = u32::from_le_bytes([f[2], f[3], f[4], f[5]]);
                let ssrc = 0x1000 + u32::from(f[6] % 12);
                let pt = match f[7] & 3 {
                    0 => 0,
                    1 => 8,
                    2 => 0x80, // marker + PCMU
                    _ => f[7] >> 2,
                };
                let len = match f[8] {
                    0..=199 => 160,
                    200..=250 => usize::from(f[8] - 200) * 10,
                    _ => usize::from(f[8]) * 2,
                };
                packet.clear();
                packet.push(0x80);
                packet.push(pt);
                packet.extend_from_slice(&sequence.to_be_bytes());
                packet.extend_from_slice(&timestamp.to_be_bytes());
                packet.extend_from_slice(&ssrc.to_be_bytes());
                packet.resize(12 + len, 0xFF);
                ssrcs.insert(ssrc);
                datagrams += 1;
                rx.on_packet(now, &packet, &mut on_event);
            }
            2 => rx.on_timeout(now, &mut on_event),
            _ => rx.flush(&mut on_event),
        }
    }
    rx.flush(&mut on_event);

    let c = rx.counters();
    assert_eq!(c.datagrams, datagrams);
    assert!(c.malformed + c.unsupported <= c.datagrams);
    assert!(c.ssrc_changes <= c.datagrams);
    let stats = rx.stats();
    assert!(stats.len() <= MAX_SOURCES);
    for s in &stats {
        assert_eq!(s.lost, s.expected.saturating_sub(s.received), "{s:?}");
        assert!(s.late <= s.received, "{s:?}");
        assert!(s.reordered <= s.received, "{s:?}");
        assert!(s.jitter_ms.is_finite() && s.jitter_ms >= 0.0, "{s:?}");
        assert!(s.payload_bytes <= s.received * MAX_PAYLOAD as u64, "{s:?}");
        if ssrcs.len() <= MAX_SOURCES {
            // No source was forgotten: what came out is exactly what the counters say.
            let e = seen.remove(&s.ssrc).unwrap_or_default();
            assert_eq!(e.bytes, s.payload_bytes, "{s:?}");
            assert_eq!(e.gaps, s.gap_samples, "{s:?}");
            assert_eq!(
                e.audio,
                s.received - s.late,
                "after a flush every kept packet plays: {s:?}"
            );
        }
    }
});
