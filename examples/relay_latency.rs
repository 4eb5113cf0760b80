//! What the talker relay adds: a stand-in phone sends its microphone (RTP, one packet every
//! 20 ms on an absolute clock) to the engine's relay port on loopback; the relay's source feeds a
//! pacer stream to a listener socket. For each frame, the time from its packet leaving the
//! talker to the same frame leaving the engine (arriving at the listener) is the added latency
//! (BENCHMARKS.md, "Talker relay").
//!
//! ```sh
//! cargo run --release --example relay_latency -- --seconds 20
//! ```
//!
//! Each frame's payload carries its number, so frames are matched exactly; frames the relay
//! dropped (the talker ran ahead) or replaced by silence are counted, not timed.

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use zonecast::g711::Law;
use zonecast::rtp::pacer::{PacerOptions, mono_now_ns};
use zonecast::rtp::packet::{PACKET_LEN, PAYLOAD_LEN};
use zonecast::rtp::{Destination, Pacer, Packetizer, RtpPort, SenderOptions, StreamSpec};
use zonecast::server::talk::Relay;

fn main() {
    let mut seconds = 20u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or(20),
            other => panic!("unknown argument {other}"),
        }
    }
    let frames = seconds * 50;
    let pacer = Pacer::start(PacerOptions::default()).expect("pacer");
    let mut in_use = Default::default();
    let pool = (0..500).filter_map(|i| RtpPort::new(30000 + 2 * i).ok());
    let (relay, source) =
        Relay::start(Ipv4Addr::LOCALHOST, pool, &mut in_use, Law::Ulaw).expect("relay");
    let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let lport = RtpPort::new(listener.local_addr().unwrap().port()).ok();
    // The listener's port may be odd (the OS picks it): send to an even one we own instead.
    let (listener, lport) = match lport {
        Some(p) => (listener, p),
        None => {
            let (s, p) = (30000..32000)
                .step_by(2)
                .find_map(|p| UdpSocket::bind(("127.0.0.1", p)).ok().map(|s| (s, p)))
                .unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            (s, RtpPort::new(p).unwrap())
        }
    };
    let _stream = pacer
        .add(StreamSpec {
            destinations: vec![Destination::new(Ipv4Addr::LOCALHOST, lport)],
            sender: SenderOptions::default(),
            packetizer: Packetizer::random(Law::Ulaw),
            payload: Box::new(source),
            max_packets: None,
        })
        .expect("stream");

    // The talker: frame n carries n (big-endian u32, repeated) and leaves at t0 + n × 20 ms.
    let port = relay.port().get();
    let talker = std::thread::spawn(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut p = Packetizer::random(Law::Ulaw);
        let mut pkt = [0u8; PACKET_LEN];
        let mut sent = HashMap::new();
        let t0 = mono_now_ns() + 50_000_000;
        for n in 1..=frames as u32 {
            let due = t0 + u64::from(n) * 20_000_000;
            let now = mono_now_ns();
            if due > now {
                std::thread::sleep(Duration::from_nanos(due - now));
            }
            let payload = Packetizer::payload_mut(&mut pkt);
            for chunk in payload.chunks_mut(4) {
                chunk.copy_from_slice(&n.to_be_bytes());
            }
            p.write_header(&mut pkt);
            sent.insert(n, mono_now_ns());
            sock.send_to(&pkt, ("127.0.0.1", port)).unwrap();
        }
        sent
    });
    let mut received: HashMap<u32, u64> = HashMap::new();
    let mut silence = 0u64;
    let deadline = Instant::now() + Duration::from_secs(seconds + 5);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        match listener.recv(&mut buf) {
            Ok(n) if n == PACKET_LEN => {
                let at = mono_now_ns();
                let payload = &buf[12..12 + PAYLOAD_LEN];
                let id = u32::from_be_bytes(payload[..4].try_into().unwrap());
                if payload.chunks(4).all(|c| c == id.to_be_bytes()) && id >= 1 {
                    received.entry(id).or_insert(at);
                } else {
                    silence += 1;
                }
            }
            Ok(_) => {}
            Err(_) => {
                if talker.is_finished() && received.len() as u64 >= frames {
                    break;
                }
            }
        }
    }
    let sent = talker.join().unwrap();
    let mut lat: Vec<f64> = received
        .iter()
        .filter_map(|(n, at)| sent.get(n).map(|s| (at.saturating_sub(*s)) as f64 / 1e6))
        .collect();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    println!(
        "frames sent {frames}, relayed {}, dropped or late {}, silence frames {silence}, relay stats {:?}",
        lat.len(),
        frames - lat.len() as u64,
        relay.stats()
    );
    println!(
        "added latency (talker send -> engine send, ms): p50 {:.2}  p99 {:.2}  max {:.2}",
        q(0.5),
        q(0.99),
        q(1.0)
    );
}
