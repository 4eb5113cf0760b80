//! The hot paths allocate nothing: encoding a frame, and a pacer tick sending one stream to
//! 1,000 loopback destinations. Counted with a global allocator that counts only while the
//! current thread asks it to, so other tests' threads cannot disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::Ipv4Addr;

use zonecast::g711::Law;
use zonecast::rtp::pacer::mono_now_ns;
use zonecast::rtp::schedule::PERIOD_NS;
use zonecast::rtp::{
    Destination, EncodedClip, PacerCore, Packetizer, RtpPort, SenderOptions, Stream, StreamSpec,
};

struct Counting;
// Per thread, like the switch: tests run in parallel, and one thread's allocations while it counts
// (the counter's own self-check) must not show up in another's count.
thread_local!(static ALLOCATIONS: Cell<u64> = const { Cell::new(0) });
thread_local!(static COUNTING: Cell<bool> = const { Cell::new(false) });

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn hot_paths_allocate_nothing() {
    // The counter itself works.
    let (_, n) = count(|| vec![1u8; 10]);
    assert_eq!(n, 1);

    // Encoding a 160-sample frame.
    let pcm: [i16; 160] = std::array::from_fn(|i| (i as i16) * 200 - 16000);
    let mut out = [0u8; 160];
    let (_, n) = count(|| {
        Law::Ulaw.encode_into(&pcm, &mut out);
        Law::Alaw.encode_into(&pcm, &mut out);
    });
    assert_eq!(n, 0, "encoding a frame allocated");

    // A pacer tick for one stream copied to 1,000 loopback destinations.
    let port = RtpPort::new(20480 + 2 * (rand::random::<u16>() % 6000)).unwrap();
    let destinations: Vec<_> = (0..1000u32)
        .map(|i| {
            Destination::new(
                Ipv4Addr::new(127, 0, (i / 250) as u8, (i % 250) as u8 + 1),
                port,
            )
        })
        .collect();
    let clip: Vec<i16> = (0..8000).map(|i| ((i % 40) * 500) as i16).collect();
    let stream = Stream::open(StreamSpec {
        destinations,
        sender: SenderOptions::default(),
        packetizer: Packetizer::random(Law::Ulaw),
        payload: Box::new(EncodedClip::new(&clip, Law::Ulaw, true)),
        max_packets: None,
    })
    .unwrap();
    let counters = stream.counters();
    let epoch = mono_now_ns();
    let mut core = PacerCore::new(epoch);
    let first = core.add(0, Box::new(stream));
    // Warm up one period (first sends may allocate in the kernel's view, not ours).
    core.run_due(first + PERIOD_NS - 1);
    let (_, n) = count(|| {
        for tick in 1..=10 {
            core.run_due(first + tick * PERIOD_NS + PERIOD_NS - 1);
        }
    });
    assert_eq!(n, 0, "pacer ticks to 1,000 destinations allocated");
    let s = counters.snapshot();
    assert_eq!(s.packets, 11);
    assert_eq!(s.datagrams + s.send_errors, 11 * 1000);
    assert!(s.datagrams >= 10_000, "{s:?}");
}

#[test]
fn an_emulated_phone_receiving_rtp_allocates_nothing_per_packet() {
    use zonecast::phone_sim::analysis::RxAnalysis;
    let pcm: Vec<i16> = (0..160 * 200)
        .map(|i| (8000.0 * (i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / 8000.0).sin()) as i16)
        .collect();
    let mut p = Packetizer::new(Law::Ulaw, 7, 100, 1000);
    let packets: Vec<[u8; 172]> = pcm
        .chunks(160)
        .map(|c| {
            let mut frame = [0i16; 160];
            frame.copy_from_slice(c);
            let mut pkt = [0u8; 172];
            p.packetize_pcm(&frame, &mut pkt);
            pkt
        })
        .collect();
    let mut rx = RxAnalysis::new();
    let mut heard = 0usize;
    // Warm up: the first packets create the source and its reorder buffer.
    for (i, pkt) in packets[..10].iter().enumerate() {
        rx.on_datagram(i as u64 * 20_000_000, pkt, |s| heard += s.len());
    }
    let (_, n) = count(|| {
        for (i, pkt) in packets[10..].iter().enumerate() {
            rx.on_datagram((i as u64 + 10) * 20_000_000, pkt, |s| heard += s.len());
        }
    });
    assert_eq!(n, 0, "receiving 190 packets allocated");
    let s = rx.summary();
    assert_eq!(s.packets, 200);
    assert!(heard >= 190 * 160);
}

#[test]
fn g722_encoding_receiving_and_recording_allocate_nothing_per_packet() {
    use zonecast::phone_sim::analysis::RxAnalysis;
    use zonecast::rtp::pacer::PayloadSource;
    use zonecast::rtp::receiver::ReorderConfig;
    use zonecast::rtp::{G722Encode, ReceiverState, Recorder};
    let tone = (0u32..).map(|i| {
        (8000.0 * (f64::from(i) * std::f64::consts::TAU * 6000.0 / 16_000.0).sin()) as i16
    });
    let mut enc = G722Encode::new(tone);
    let mut p = Packetizer::g722(7, 100, 1000);
    let mut packets = vec![[0u8; 172]; 200];
    let mut encode = |pkt: &mut [u8; 172]| {
        let payload: &mut [u8; 160] = (&mut pkt[12..]).try_into().unwrap();
        let more = enc.next_payload(payload);
        p.write_header(pkt);
        more
    };
    // Warm up, as above: the first call of anything may set up process-wide state.
    assert!(encode(&mut packets[0]));
    let (ok, n) = count(|| packets[1..].iter_mut().all(&mut encode));
    assert!(ok);
    assert_eq!(n, 0, "encoding 199 G.722 packets allocated");

    let mut rx = RxAnalysis::new();
    let dir = tempfile::tempdir().unwrap();
    let mut rec = Recorder::create_g722(&dir.path().join("g722.wav")).unwrap();
    let mut receiver = ReceiverState::new(ReorderConfig::default());
    receiver.accept_g722();
    let mut heard = 0usize;
    let mut feed = |from: usize, to: usize, heard: &mut usize| {
        for (i, pkt) in packets[from..to].iter().enumerate() {
            let now = (from + i) as u64 * 20_000_000;
            rx.on_datagram(now, pkt, |s| *heard += s.len());
            receiver.on_packet(now, pkt, |e| rec.record(&e).unwrap());
        }
    };
    // Warm up: the first packets create the sources and their reorder buffers.
    feed(0, 10, &mut heard);
    let (_, n) = count(|| feed(10, 200, &mut heard));
    assert_eq!(n, 0, "receiving and recording 190 G.722 packets allocated");
    assert_eq!(rx.summary().codec.as_deref(), Some("G.722"));
    assert!(heard >= 190 * 320);
}
