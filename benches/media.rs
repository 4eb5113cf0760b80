//! Micro benchmarks of the media hot path: encoding a frame, building a packet, and one pacer
//! tick for 1,000 streams (schedule + packetizing + sendmmsg to loopback).
//!
//! `cargo bench --bench media`. Figures and the peer comparison live in BENCHMARKS.md.

use std::net::Ipv4Addr;

use zonecast::g711::Law;
use zonecast::rtp::pacer::mono_now_ns;
use zonecast::rtp::schedule::{PERIOD_NS, SLOT_NS};
use zonecast::rtp::{
    Destination, EncodedClip, PACKET_LEN, PacerCore, Packetizer, RtpPort, Schedule, SenderOptions,
    Stream, StreamSpec,
};

fn main() {
    divan::main();
}

fn frame() -> [i16; 160] {
    std::array::from_fn(|i| ((i as f32 * 0.7).sin() * 12000.0) as i16)
}

#[divan::bench]
fn encode_frame_ulaw(b: divan::Bencher) {
    let pcm = frame();
    let mut out = [0u8; 160];
    b.bench_local(|| Law::Ulaw.encode_into(divan::black_box(&pcm), &mut out));
}

#[divan::bench]
fn build_packet(b: divan::Bencher) {
    let pcm = frame();
    let mut p = Packetizer::random(Law::Ulaw);
    let mut buf = [0u8; PACKET_LEN];
    b.bench_local(|| p.packetize_pcm(divan::black_box(&pcm), &mut buf));
}

/// The schedule's share of a tick: walking one full period of 1,000 streams.
#[divan::bench]
fn schedule_period_1000_streams(b: divan::Bencher) {
    let mut s = Schedule::new();
    for id in 0..1000 {
        s.add(0, id, 1);
    }
    let mut now = 0;
    b.bench_local(|| {
        now += PERIOD_NS;
        let mut n = 0u32;
        s.due(now, |_| n += 1);
        n
    });
}

/// One pacer tick (a whole 20 ms period) for 1,000 streams, each to one loopback destination:
/// packetizing and the `sendmmsg` calls, kernel cost included.
#[divan::bench(sample_count = 50, sample_size = 1)]
fn pacer_tick_1000_streams_loopback(b: divan::Bencher) {
    // Nobody listens on the port: the kernel drops the datagrams after routing them, which is
    // the sender's whole cost on loopback minus the receiver's queueing.
    let port = RtpPort::new(20480 + 2 * (rand::random::<u16>() % 6000)).unwrap();
    let clip: Vec<i16> = (0..8000).map(|i| ((i % 40) * 500) as i16).collect();
    let mut core = PacerCore::new(mono_now_ns());
    let mut first = 0;
    for i in 0..1000u32 {
        let dest = Destination::new(
            Ipv4Addr::new(127, 0, (i / 250) as u8, (i % 250) as u8 + 1),
            port,
        );
        let stream = Stream::open(StreamSpec {
            destinations: vec![dest],
            sender: SenderOptions::default(),
            packetizer: Packetizer::random(Law::Ulaw),
            payload: Box::new(EncodedClip::new(&clip, Law::Ulaw, true)),
            max_packets: None,
        })
        .expect("open stream");
        first = first.max(core.add(0, Box::new(stream)));
    }
    let mut now = first + SLOT_NS * 20;
    b.bench_local(|| {
        now += PERIOD_NS;
        core.run_due(now)
    });
}
