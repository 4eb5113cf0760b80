//! Network faults at the receiving end, over real UDP sockets on 127.0.0.1: what a phone, a
//! broken sender or anyone on the network can send to a recorder's port. Each test feeds a
//! [`Listener`] (the shell `zonecast record` uses) and a WAV [`Recorder`], then checks what a user
//! would: the counters name every fault, the recording holds exactly the good packets' audio
//! (silence where packets were lost), nothing panics, and memory stays bounded.
//!
//! Packets are queued in the socket before the listener starts reading whenever the test needs
//! an exact order of arrival (so no reorder timeout can fire in between), and each run ends on
//! a known last packet rather than on a quiet period.

mod common;

use std::cell::{Cell, RefCell};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use zonecast::g711::Law;
use zonecast::rtp::receiver::{GAP_SLACK_SAMPLES, MAX_SOURCES, ReceiverCounters, ReorderConfig};
use zonecast::rtp::{
    HEADER_LEN, Listen, Listener, PACKET_LEN, Packetizer, ReceiveStats, ReceiverEvent,
    RecordFormat, Recorder, RtpPort,
};

const FRAME: usize = 160;

/// A listener on a free even port of 127.0.0.1 (binding is the check, so there is no race).
fn listener() -> (Listener, u16) {
    for _ in 0..1000 {
        let port = 20480 + 2 * (rand::random::<u16>() % 6144);
        let listen = Listen {
            group: None,
            addr: "127.0.0.1".parse().unwrap(),
            port: RtpPort::new(port).unwrap(),
        };
        if let Ok(l) = Listener::bind(&listen, ReorderConfig::default()) {
            return (l, port);
        }
    }
    panic!("no free even UDP port on 127.0.0.1");
}

/// A good packet of a stream, with its decoded audio.
struct Good {
    seq: u16,
    bytes: Vec<u8>,
    pcm: Vec<i16>,
}

/// `n` packets of a 440 Hz tone (each frame different), as the packetizer writes them.
fn stream(law: Law, ssrc: u32, seq0: u16, ts0: u32, n: usize, phase0: usize) -> Vec<Good> {
    let mut p = Packetizer::new(law, ssrc, seq0, ts0);
    (0..n)
        .map(|k| {
            let mut frame = [0i16; FRAME];
            for (i, s) in frame.iter_mut().enumerate() {
                let t = (phase0 + k * FRAME + i) as f64 / 8000.0;
                *s = (9000.0 * (t * 440.0 * std::f64::consts::TAU).sin()) as i16;
            }
            let mut buf = [0u8; PACKET_LEN];
            let seq = p.next_sequence();
            p.packetize_pcm(&frame, &mut buf);
            let pcm = buf[HEADER_LEN..].iter().map(|&b| law.decode(b)).collect();
            Good {
                seq,
                bytes: buf.to_vec(),
                pcm,
            }
        })
        .collect()
}

/// An RTP header (V=2) with the given first two bytes' fields.
fn header(b0: u8, pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut h = vec![b0, pt];
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&ts.to_be_bytes());
    h.extend_from_slice(&ssrc.to_be_bytes());
    h
}

/// What came out of one run.
struct Run {
    counters: ReceiverCounters,
    stats: Vec<ReceiveStats>,
    /// `NewSource` events: (ssrc, previous).
    sources: Vec<(u32, Option<u32>)>,
    /// The recording, read back from the WAV file.
    samples: Vec<i16>,
}

/// Send `datagrams` to a fresh listener (all queued before it reads), record what it plays out
/// to a WAV file, and stop once the audio of `last` (ssrc, sequence) has been played out.
fn receive(datagrams: &[Vec<u8>], last: (u32, u16)) -> Run {
    let (mut l, port) = listener();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        tx.send_to(d, ("127.0.0.1", port)).unwrap();
    }
    record_until(&mut l, last, Duration::from_secs(20))
}

fn record_until(l: &mut Listener, last: (u32, u16), limit: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.wav");
    let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
    let done = Cell::new(false);
    let sources = RefCell::new(Vec::new());
    let started = Instant::now();
    l.run(
        |_, _| done.get() || started.elapsed() > limit,
        |e| {
            match &e {
                ReceiverEvent::NewSource { ssrc, previous } => {
                    sources.borrow_mut().push((*ssrc, *previous))
                }
                ReceiverEvent::Audio { ssrc, sequence, .. } if (*ssrc, *sequence) == last => {
                    done.set(true)
                }
                _ => {}
            }
            rec.record(&e).expect("recording writes");
        },
    )
    .unwrap();
    assert!(
        done.get(),
        "the last packet {last:?} was never played out within {limit:?}"
    );
    rec.finish().unwrap();
    let samples = hound::WavReader::open(&path)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    Run {
        counters: l.state.counters(),
        stats: l.state.stats(),
        sources: sources.into_inner(),
        samples,
    }
}

/// The recording as frames of audio (`Some(index)` of a good packet) or silence (`None`).
fn expected_audio(good: &[Good], frames: &[Option<usize>]) -> Vec<i16> {
    frames
        .iter()
        .flat_map(|f| match f {
            Some(i) => good[*i].pcm.clone(),
            None => vec![0; FRAME],
        })
        .collect()
}

fn assert_same_audio(got: &[i16], want: &[i16]) {
    assert_eq!(
        got.len(),
        want.len(),
        "recording holds {} samples, expected {} ({} vs {} frames)",
        got.len(),
        want.len(),
        got.len() as f64 / FRAME as f64,
        want.len() / FRAME
    );
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "recording differs from the good packets' audio at sample {i} (frame {}): {} vs {}",
            i / FRAME,
            got[i],
            want[i]
        );
    }
}

#[test]
fn malformed_and_unsupported_packets_are_counted_and_never_reach_the_recording() {
    let ssrc = 0xA11CE;
    let good = stream(Law::Ulaw, ssrc, 100, 5000, 40, 0);
    let far = 4000u16; // a sequence number that would show as a jump if a bad packet counted
    let pcmu = |b: &mut Vec<u8>, n: usize| b.extend(std::iter::repeat_n(0x7Eu8, n));
    let mut malformed: Vec<Vec<u8>> = vec![
        vec![],                     // empty datagram
        vec![0x80],                 // 1 byte
        vec![0x80; HEADER_LEN - 1], // 11 bytes
    ];
    // 15 CSRCs announced, 2 present.
    let mut csrc = header(0x8F, 0, far, 1, ssrc);
    csrc.extend_from_slice(&[0; 8]);
    malformed.push(csrc);
    // Extension announced, its header cut short.
    let mut ext = header(0x90, 0, far, 1, ssrc);
    ext.extend_from_slice(&[0xBE, 0xDE, 0]);
    malformed.push(ext);
    // Extension of 65535 words in a 160-byte payload.
    let mut ext_long = header(0x90, 0, far, 1, ssrc);
    ext_long.extend_from_slice(&[0xBE, 0xDE, 0xFF, 0xFF]);
    pcmu(&mut ext_long, 160);
    malformed.push(ext_long);
    // Versions 0, 1 and 3.
    for b0 in [0x00, 0x40, 0xC0] {
        let mut v = header(b0, 0, far, 1, ssrc);
        pcmu(&mut v, 160);
        malformed.push(v);
    }
    // Padding counts of 0 and more than the packet.
    for pad in [0u8, 255] {
        let mut p = header(0xA0, 0, far, 1, ssrc);
        pcmu(&mut p, 159);
        p.push(pad);
        malformed.push(p);
    }
    let mut unsupported: Vec<Vec<u8>> = Vec::new();
    // Header only, no audio (same SSRC, and a stranger's).
    unsupported.push(header(0x80, 0, far, 1, ssrc));
    unsupported.push(header(0x80, 0, 1, 1, 0xBAD));
    // Payload types that are not G.711: dynamic 96, G.729 (18), 127, and RTCP's SR (200).
    for pt in [96u8, 18, 127, 200] {
        let mut p = header(0x80, pt, far, 1, ssrc);
        pcmu(&mut p, 160);
        unsupported.push(p);
        let mut stranger = header(0x80, pt & 0x7F, 7, 1, 0xBAD);
        pcmu(&mut stranger, 160);
        unsupported.push(stranger);
    }
    // A jumbo payload (far beyond 60 ms of G.711).
    let mut jumbo = header(0x80, 0, far, 1, ssrc);
    pcmu(&mut jumbo, 1400);
    unsupported.push(jumbo);

    // One bad packet after each good one, in a fixed interleaving.
    let bad: Vec<&Vec<u8>> = malformed.iter().chain(&unsupported).collect();
    assert!(bad.len() < good.len());
    let mut datagrams = Vec::new();
    for (i, g) in good.iter().enumerate() {
        datagrams.push(g.bytes.clone());
        if let Some(b) = bad.get(i) {
            datagrams.push((*b).clone());
        }
    }
    let run = receive(&datagrams, (ssrc, good[39].seq));

    assert_eq!(
        run.counters,
        ReceiverCounters {
            datagrams: datagrams.len() as u64,
            malformed: malformed.len() as u64,
            unsupported: unsupported.len() as u64,
            ssrc_changes: 0,
            gap_samples_refused: 0,
        }
    );
    assert_eq!(
        run.sources,
        vec![(ssrc, None)],
        "no bad packet started a source"
    );
    assert_eq!(run.stats.len(), 1);
    let s = run.stats[0];
    assert_eq!(
        (
            s.received,
            s.expected,
            s.lost,
            s.duplicates,
            s.late,
            s.reordered
        ),
        (40, 40, 0, 0, 0, 0),
        "{s:?}"
    );
    let all: Vec<Option<usize>> = (0..40).map(Some).collect();
    assert_same_audio(&run.samples, &expected_audio(&good, &all));
}

#[test]
fn reordered_duplicated_lost_and_late_packets_are_counted_and_the_timeline_stays_true() {
    let ssrc = 0x0DD0_5EED;
    // A-law, across the sequence wrap (65500 → 0) and the timestamp wrap (2^32).
    let good = stream(Law::Alaw, ssrc, 65_500, u32::MAX - 1600, 120, 0);
    let lost = [10usize, 50, 51, 90];
    let mut order: Vec<usize> = (0..120).filter(|i| !lost.contains(i)).collect();
    let move_after = |order: &mut Vec<usize>, i: usize, after: usize| {
        order.retain(|&x| x != i);
        let at = order.iter().position(|&x| x == after).unwrap() + 1;
        order.insert(at, i);
    };
    move_after(&mut order, 20, 21); // reordered by one place
    move_after(&mut order, 30, 33); // by three (within the 5-packet buffer)
    move_after(&mut order, 70, 80); // by ten: its place is given up, so it is late
    let mut arrivals: Vec<usize> = Vec::new();
    for &i in &order {
        arrivals.push(i);
        if i == 40 {
            arrivals.push(40); // duplicated at once
        }
        if i == 85 {
            arrivals.push(60); // duplicated 25 packets later
        }
    }
    let datagrams: Vec<Vec<u8>> = arrivals.iter().map(|&i| good[i].bytes.clone()).collect();
    let run = receive(&datagrams, (ssrc, good[119].seq));

    assert_eq!(run.counters.datagrams, datagrams.len() as u64);
    assert_eq!(run.counters.malformed + run.counters.unsupported, 0);
    assert_eq!(run.stats.len(), 1);
    let s = run.stats[0];
    assert_eq!(s.expected, 120, "{s:?}");
    assert_eq!(
        s.received, 116,
        "distinct packets, the late one included: {s:?}"
    );
    assert_eq!(s.lost, 4, "{s:?}");
    assert_eq!(s.duplicates, 2, "{s:?}");
    assert_eq!(s.reordered, 2, "{s:?}");
    assert_eq!(s.late, 1, "{s:?}");
    assert_eq!(s.gap_samples, 5 * FRAME as u64, "{s:?}");
    // Lost and late packets are silence in their place; the rest is the sender's audio.
    let frames: Vec<Option<usize>> = (0..120)
        .map(|i| (!lost.contains(&i) && i != 70).then_some(i))
        .collect();
    assert_same_audio(&run.samples, &expected_audio(&good, &frames));
}

#[test]
fn an_ssrc_change_mid_stream_is_counted_and_both_sources_are_recorded_in_order() {
    let (a, b) = (0xAAAA_0001, 0xBBBB_0002);
    let first = stream(Law::Ulaw, a, 1000, 80_000, 40, 0);
    // The sender restarts: new SSRC, sequence and timestamp; then the old one comes back.
    let second = stream(Law::Ulaw, b, 7, 3_000_000_000, 30, 40 * FRAME);
    let mut datagrams: Vec<Vec<u8>> = Vec::new();
    datagrams.extend(first[..30].iter().map(|g| g.bytes.clone()));
    datagrams.extend(second.iter().map(|g| g.bytes.clone()));
    datagrams.extend(first[30..].iter().map(|g| g.bytes.clone()));
    let run = receive(&datagrams, (a, first[39].seq));

    assert_eq!(run.counters.ssrc_changes, 2, "{:?}", run.counters);
    assert_eq!(run.sources, vec![(a, None), (b, Some(a)), (a, Some(b))]);
    let by = |ssrc| run.stats.iter().find(|s| s.ssrc == ssrc).copied().unwrap();
    let (sa, sb) = (by(a), by(b));
    assert_eq!(
        (sa.received, sa.lost, sa.duplicates, sa.late),
        (40, 0, 0, 0)
    );
    assert_eq!(
        (sb.received, sb.lost, sb.duplicates, sb.late),
        (30, 0, 0, 0)
    );
    let mut want: Vec<i16> = Vec::new();
    for g in first[..30].iter().chain(&second).chain(&first[30..]) {
        want.extend(&g.pcm);
    }
    assert_same_audio(&run.samples, &want);
}

#[test]
fn a_thousand_ssrcs_keep_memory_bounded_and_the_real_stream_intact() {
    let ssrc = 0x600D;
    let good = stream(Law::Ulaw, ssrc, 0, 0, 20, 0);
    let mut datagrams: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| {
            let mut p = header(0x80, 0, i as u16, i * 160, 0xF000_0000 + i);
            p.extend(std::iter::repeat_n(0xFFu8, 160));
            p
        })
        .collect();
    datagrams.extend(good.iter().map(|g| g.bytes.clone()));
    let run = receive(&datagrams, (ssrc, good[19].seq));

    assert_eq!(run.counters.ssrc_changes, 1000);
    assert_eq!(run.sources.len(), 1001);
    assert!(
        run.stats.len() <= MAX_SOURCES,
        "{} sources tracked, at most {MAX_SOURCES} allowed",
        run.stats.len()
    );
    let s = run.stats.iter().find(|s| s.ssrc == ssrc).unwrap();
    assert_eq!((s.received, s.lost), (20, 0));
    // Each stranger's one packet is silence (0xFF), then the real stream's 20 frames.
    assert_eq!(run.samples.len(), (1000 + 20) * FRAME);
    assert!(run.samples[..1000 * FRAME].iter().all(|&x| x == 0));
    let want: Vec<i16> = good.iter().flat_map(|g| g.pcm.clone()).collect();
    assert_same_audio(&run.samples[1000 * FRAME..], &want);
}

/// Resident memory of this process, in kB.
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Send `datagrams` to `port` at `per_sec` from another thread, in batches on absolute
/// deadlines; returns how many were sent.
fn blast(port: u16, datagrams: Vec<Vec<u8>>, per_sec: usize) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let batch = per_sec / 100;
        let start = Instant::now();
        let mut sent = 0;
        for (k, chunk) in datagrams.chunks(batch).enumerate() {
            let due = start + Duration::from_millis(10 * k as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for d in chunk {
                // A full socket buffer may refuse; that is a drop like any other.
                if tx.send_to(d, ("127.0.0.1", port)).is_ok() {
                    sent += 1;
                }
            }
        }
        sent
    })
}

const BURST: usize = 100_000;
/// Generous: the receiver holds at most 8 sources × 32 packets; the recording is on disk.
const RSS_BOUND_KB: u64 = 50 * 1024;

#[test]
fn a_burst_of_100k_packets_in_a_second_is_counted_with_memory_bounded() {
    let ssrc = 0xB0257;
    let mut p = Packetizer::new(Law::Ulaw, ssrc, 65_000, u32::MAX - 10_000);
    // Each payload starts with its packet's index (sequence numbers repeat after 65,536).
    let datagrams: Vec<Vec<u8>> = (0..BURST as u32)
        .map(|k| {
            let mut buf = [0u8; PACKET_LEN];
            let payload = Packetizer::payload_mut(&mut buf);
            payload.fill(0x55);
            payload[..4].copy_from_slice(&k.to_be_bytes());
            p.write_header(&mut buf);
            buf.to_vec()
        })
        .collect();
    let last = (BURST as u32 - 1).to_be_bytes();
    let (mut l, port) = listener();
    let before = rss_kb();
    let sender = blast(port, datagrams, BURST);
    // Ends on the last packet, or (if the kernel dropped it) a quiet second after the burst.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("burst.wav");
    let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
    let done = Cell::new(false);
    let started = Instant::now();
    let mut audio_frames = 0u64;
    l.run(
        |got, idle| {
            done.get()
                || (got && idle > 1_000_000_000 && sender.is_finished())
                || started.elapsed() > Duration::from_secs(60)
        },
        |e| {
            if let ReceiverEvent::Audio { payload, .. } = &e {
                audio_frames += 1;
                if payload[..4] == last {
                    done.set(true);
                }
            }
            rec.record(&e).expect("recording writes");
        },
    )
    .unwrap();
    let grown = rss_kb().saturating_sub(before);
    let sent = sender.join().unwrap();
    let elapsed = started.elapsed();
    let written = rec.finish().unwrap();
    let c = l.state.counters();
    let stats = l.state.stats();
    eprintln!(
        "burst: {sent} sent, {} read, {audio_frames} played, {written} samples, RSS +{grown} kB, {:.2} s",
        c.datagrams,
        elapsed.as_secs_f64()
    );
    assert!(elapsed < Duration::from_secs(60), "the run did not end");
    assert_eq!(sent, BURST);
    assert!(c.datagrams > 0 && c.datagrams <= BURST as u64, "{c:?}");
    assert_eq!((c.malformed, c.unsupported, c.ssrc_changes), (0, 0, 0));
    assert_eq!(stats.len(), 1);
    let s = stats[0];
    // Whatever the kernel dropped shows as loss; nothing is counted twice or lost in the sums.
    assert_eq!(s.received, c.datagrams, "{s:?}");
    assert_eq!(s.received, audio_frames, "{s:?}");
    assert_eq!(s.expected, s.received + s.lost, "{s:?}");
    assert!(s.expected <= BURST as u64, "{s:?}");
    assert_eq!((s.duplicates, s.late), (0, 0), "{s:?}");
    // Every expected packet is audio or silence in the file, except silence the receiver
    // refused because 100k packets in a second claim far more time than passed.
    assert_eq!(written, s.received * FRAME as u64 + s.gap_samples, "{s:?}");
    assert_eq!(
        s.gap_samples + c.gap_samples_refused,
        s.lost * FRAME as u64,
        "{s:?} {c:?}"
    );
    assert!(
        grown < RSS_BOUND_KB,
        "RSS grew {grown} kB during a burst of {BURST} packets"
    );
}

#[test]
fn a_hostile_burst_of_random_headers_never_panics_and_stays_bounded() {
    // A third random bytes, a third one SSRC with random sequence numbers and timestamps, a
    // third random SSRCs; payload types 0 and 8 so most reach the reorder buffer.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let datagrams: Vec<Vec<u8>> = (0..BURST)
        .map(|k| {
            let r = next();
            let len = 12 + (r as usize % 200);
            let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            match k % 3 {
                0 => {}
                1 => {
                    d[0] = 0x80;
                    d[1] = if r & 1 == 0 { 0 } else { 8 };
                    d[8..12].copy_from_slice(&0x5EED_u32.to_be_bytes());
                }
                _ => {
                    d[0] = 0x80;
                    d[1] = (r >> 8) as u8 & 0x88;
                }
            }
            d
        })
        .collect();
    let (mut l, port) = listener();
    let before = rss_kb();
    let sender = blast(port, datagrams, BURST);
    let started = Instant::now();
    let mut gap_samples = 0u64;
    let mut audio_bytes = 0u64;
    l.run(
        |got, idle| {
            (got && idle > 1_000_000_000 && sender.is_finished())
                || started.elapsed() > Duration::from_secs(60)
        },
        |e| match e {
            ReceiverEvent::Gap { samples, .. } => gap_samples += u64::from(samples),
            ReceiverEvent::Audio { payload, .. } => audio_bytes += payload.len() as u64,
            ReceiverEvent::NewSource { .. } => {}
        },
    )
    .unwrap();
    let elapsed = started.elapsed();
    let grown = rss_kb().saturating_sub(before);
    let sent = sender.join().unwrap();
    let c = l.state.counters();
    eprintln!(
        "hostile burst: {sent} sent, {c:?}, {audio_bytes} audio bytes, {gap_samples} gap samples \
         ({:.0} s of silence a recorder would write), RSS +{grown} kB, {:.2} s",
        gap_samples as f64 / 8000.0,
        elapsed.as_secs_f64()
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "the receiver took {elapsed:?} for a 1 s burst"
    );
    assert!(c.datagrams > 0);
    assert!(
        c.malformed > 0 && c.unsupported > 0 && c.ssrc_changes > 0,
        "{c:?}"
    );
    assert!(l.state.stats().len() <= MAX_SOURCES);
    // Silence a recorder would write is bounded by the time that passed (plus the receiver's
    // slack for clock drift), not by what the timestamps claim.
    let bound = (elapsed.as_secs_f64() + 1.0) * 8000.0 + GAP_SLACK_SAMPLES as f64;
    assert!(
        (gap_samples as f64) <= bound,
        "{gap_samples} samples of silence reported for {elapsed:?} of traffic"
    );
    assert!(c.gap_samples_refused > 0, "{c:?}");
    assert!(
        grown < RSS_BOUND_KB,
        "RSS grew {grown} kB during a hostile burst of {BURST} packets"
    );
}

/// What `zonecast record --json` tells a user about the same faults, and the file it writes.
#[test]
fn zonecast_record_reports_each_fault_in_its_json_summary() {
    let ssrc = 0xC11;
    let good = stream(Law::Ulaw, ssrc, 500, 1_000, 60, 0);
    let mut datagrams: Vec<Vec<u8>> = Vec::new();
    for (i, g) in good.iter().enumerate() {
        match i {
            10 => continue, // lost
            21 => {
                datagrams.push(good[22].bytes.clone()); // 22 before 21: reordered
                datagrams.push(g.bytes.clone());
                continue;
            }
            22 => continue,
            _ => {}
        }
        datagrams.push(g.bytes.clone());
        if i == 30 {
            datagrams.push(g.bytes.clone()); // duplicate
            datagrams.push(vec![0x80; 5]); // malformed
            let mut g729 = g.bytes.clone();
            g729[1] = 18; // unsupported payload type
            datagrams.push(g729);
        }
    }
    // The sender restarts with a new SSRC for the last 10 packets.
    let after = stream(Law::Ulaw, ssrc + 1, 9, 50_000, 10, 60 * FRAME);
    datagrams.extend(after.iter().map(|g| g.bytes.clone()));

    let rec = common::start_recording("faults.wav", None, &["--idle", "1", "--json"]);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in &datagrams {
        tx.send_to(d, ("127.0.0.1", rec.port)).unwrap();
    }
    let out = rec.child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (key, want) in [
        ("packets", 59 + 10),
        ("lost", 1),
        ("late", 0),
        ("duplicates", 1),
        ("malformed", 1),
        ("unsupported", 1),
        ("ssrc_changes", 1),
    ] {
        assert_eq!(v[key], want, "{key} in {v}");
    }
    // The file: the first source with a frame of silence for the lost packet, then the second.
    let (rate, samples) = common::read_wav(&rec.out);
    assert_eq!(rate, 8000);
    let mut want: Vec<i16> = Vec::new();
    for (i, g) in good.iter().enumerate() {
        if i == 10 {
            want.extend([0; FRAME]);
        } else {
            want.extend(&g.pcm);
        }
    }
    for g in &after {
        want.extend(&g.pcm);
    }
    assert_same_audio(&samples, &want);
}
