//! The browser microphone's path through the engine (issue 21's "audio from arriving at the
//! server to its RTP leaving", the engine's share; target ≤ 40 ms).
//!
//! - `message_48k_to_payload` (divan): the CPU of one 20 ms WebSocket message at 48 kHz: PCM
//!   parsed, resampled to 8 kHz, levelled (gain and limiter), µ-law encoded into the relay
//!   queue, and taken out as the pacer takes it.
//! - After the divan table, the latency: a real [`Pacer`] sends the relay's frames to a UDP
//!   socket on loopback while a thread delivers 20 ms messages in real time, as the WebSocket
//!   task does. Every 200 ms one message carries a 1 kHz burst after silence; the time from
//!   handing that message to the pipeline to the first RTP packet holding the burst arriving on
//!   loopback is one sample. Each burst starts at a random phase against the pacer's clock.
//!   The floor, in the same run: the same bursts already µ-law encoded at 8 kHz, pushed straight
//!   into the relay queue (what the pacer's 20 ms clock and the queue alone cost).
//!
//! `cargo bench --bench mic_path`. Figures live in BENCHMARKS.md.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use zonecast::audio::LoudnessTarget;
use zonecast::g711::Law;
use zonecast::rtp::pacer::{PacerOptions, PayloadSource};
use zonecast::rtp::packet::PAYLOAD_LEN;
use zonecast::rtp::{
    Destination, HEADER_LEN, Pacer, Packetizer, RtpPort, SenderOptions, StreamSpec,
};
use zonecast::server::mic::MicPipeline;
use zonecast::server::talk::RelayFeed;

const RATE: u32 = 48_000;
/// Samples in one 20 ms message.
const MESSAGE: usize = RATE as usize / 50;

fn main() {
    divan::main();
    latency(Path::Pipeline);
    latency(Path::Floor);
}

/// What carries a message into the relay queue.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// The browser microphone's: [`MicPipeline`] from 48 kHz PCM.
    Pipeline,
    /// G.711 at 8 kHz pushed as it is: the queue and the pacer only.
    Floor,
}

/// 20 ms of a 1 kHz tone at -6 dBFS, or silence, as 16-bit little-endian PCM.
fn message(tone: bool) -> Vec<u8> {
    (0..MESSAGE)
        .flat_map(|i| {
            let x = if tone {
                (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(RATE)).sin() * 16_000.0
            } else {
                0.0
            };
            (x as i16).to_le_bytes()
        })
        .collect()
}

#[divan::bench]
fn message_48k_to_payload(b: divan::Bencher) {
    let mut pipeline = MicPipeline::new(RATE, LoudnessTarget::default(), Law::Ulaw).unwrap();
    let feed = RelayFeed::new();
    let mut source = feed.source(Law::Ulaw);
    let msg = message(true);
    let mut out = [0u8; PAYLOAD_LEN];
    b.bench_local(|| {
        pipeline
            .push(divan::black_box(&msg), |p| feed.push(p.iter().copied()))
            .unwrap();
        source.next_payload(&mut out);
        out[0]
    });
}

/// Bursts sent, and how far apart (in messages).
const BURSTS: usize = 100;
const EVERY: usize = 10;

/// The latency figures of `path`, printed.
fn latency(path: Path) {
    let pacer = Pacer::start(PacerOptions::default()).expect("pacer");
    let (sock, port) = (20480..32768)
        .step_by(2)
        .find_map(|p| Some((UdpSocket::bind(("127.0.0.1", p)).ok()?, p)))
        .expect("a free even port");
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let feed = RelayFeed::new();
    let stream = pacer
        .add(StreamSpec {
            destinations: vec![Destination::new(
                Ipv4Addr::LOCALHOST,
                RtpPort::new(port).unwrap(),
            )],
            sender: SenderOptions::default(),
            packetizer: Packetizer::random(Law::Ulaw),
            payload: Box::new(feed.source(Law::Ulaw)),
            max_packets: None,
        })
        .expect("stream");
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    let sender = std::thread::spawn(move || {
        let mut pipeline = MicPipeline::new(RATE, LoudnessTarget::default(), Law::Ulaw).unwrap();
        let (tone, quiet) = (message(true), message(false));
        let encoded = |m: &[u8]| -> Vec<u8> {
            // Every sixth sample: the floor's 8 kHz µ-law (the 1 kHz burst survives it).
            let pcm: Vec<i16> = m
                .chunks_exact(12)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            let mut out = vec![0u8; pcm.len()];
            Law::Ulaw.encode_into(&pcm, &mut out);
            out
        };
        let (tone8, quiet8) = (encoded(&tone), encoded(&quiet));
        let mut due = Instant::now();
        for n in 0..BURSTS * EVERY {
            // A browser's messages keep their own clock; each burst lands at a new phase of
            // the pacer's 20 ms period.
            if n % EVERY == 0 {
                due += Duration::from_micros(rand::random::<u64>() % 20_000);
            }
            due += Duration::from_millis(20);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let burst = n % EVERY == EVERY / 2;
            let arrived = Instant::now();
            match (path, burst) {
                (Path::Pipeline, _) => {
                    let msg = if burst { &tone } else { &quiet };
                    pipeline
                        .push(msg, |p| feed.push(p.iter().copied()))
                        .unwrap();
                }
                (Path::Floor, true) => feed.push(tone8.iter().copied()),
                (Path::Floor, false) => feed.push(quiet8.iter().copied()),
            }
            if burst {
                let _ = tx.send(arrived);
            }
        }
    });
    let mut delays = Vec::new();
    let mut lost = 0;
    let mut buf = [0u8; 1500];
    let mut loud = false;
    // The sender's run and a second for the last packets.
    let end = Instant::now() + Duration::from_millis((BURSTS * EVERY * 20 + 3000) as u64);
    while delays.len() < BURSTS && Instant::now() < end {
        let Ok(n) = sock.recv(&mut buf) else { break };
        let got = Instant::now();
        let peak = buf[HEADER_LEN..n]
            .iter()
            .map(|&b| Law::Ulaw.decode(b).unsigned_abs())
            .max()
            .unwrap_or(0);
        let now_loud = peak > 2000;
        if now_loud && !loud {
            // Bursts are 200 ms apart: the oldest one sent less than 100 ms ago is the one
            // heard; older ones were lost (dropped by the bounded queue when the sending
            // thread, late on a loaded machine, caught up with a run of messages).
            while let Ok(sent) = rx.recv_timeout(Duration::from_secs(1)) {
                let d = got.duration_since(sent);
                if d < Duration::from_millis(100) {
                    delays.push(d);
                    break;
                }
                lost += 1;
            }
        }
        loud = now_loud;
    }
    stream.stop();
    let _ = sender.join();
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(delays[((delays.len() - 1) as f64 * q).round() as usize]);
    if delays.is_empty() {
        println!("{}: no burst came back", label(path));
        return;
    }
    println!(
        "{} (message at the server -> its RTP on loopback), {} bursts ({lost} lost): min {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        label(path),
        delays.len(),
        ms(delays[0]),
        at(0.5),
        at(0.99),
        ms(*delays.last().unwrap())
    );
}

fn label(path: Path) -> &'static str {
    match path {
        Path::Pipeline => "mic path latency, 48 kHz PCM through MicPipeline",
        Path::Floor => "floor, 8 kHz G.711 pushed straight into the relay",
    }
}
