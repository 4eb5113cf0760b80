//! The hot paths allocate nothing: encoding a frame, and a pacer tick sending one stream to
//! 1,000 loopback destinations. Counted with a global allocator that counts only while the
//! current thread asks it to, so other tests' threads cannot disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};

use zonecast::g711::Law;
use zonecast::rtp::pacer::mono_now_ns;
use zonecast::rtp::schedule::PERIOD_NS;
use zonecast::rtp::{
    Destination, EncodedClip, PacerCore, Packetizer, RtpPort, SenderOptions, Stream, StreamSpec,
};

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
thread_local!(static COUNTING: Cell<bool> = const { Cell::new(false) });

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.load(Ordering::Relaxed) - before)
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
