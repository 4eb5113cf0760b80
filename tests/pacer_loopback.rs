//! The pacer over real loopback sockets: every packet arrives, in order, on the 20 ms grid,
//! for several streams at once; stopping and source ends behave.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use common::bound_even_socket;
use zonecast::audio::Tone;
use zonecast::g711::Law;
use zonecast::rtp::{
    Destination, Encode, EncodedClip, Pacer, PacerOptions, Packetizer, RtpHeader, RtpPort,
    SenderOptions, StreamSpec,
};

fn spec(
    dest: &[u16],
    payload: Box<dyn zonecast::rtp::PayloadSource>,
    max: Option<u64>,
) -> StreamSpec {
    StreamSpec {
        destinations: dest
            .iter()
            .map(|p| Destination::new(Ipv4Addr::LOCALHOST, RtpPort::new(*p).unwrap()))
            .collect(),
        sender: SenderOptions::default(),
        packetizer: Packetizer::random(Law::Ulaw),
        payload,
        max_packets: max,
    }
}

fn drain(sock: &UdpSocket) -> Vec<(Instant, RtpHeader)> {
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let mut out = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        let (h, payload) = RtpHeader::parse(&buf[..n]).unwrap();
        assert_eq!(payload.len(), 160);
        out.push((Instant::now(), h));
    }
    out
}

#[test]
fn streams_arrive_complete_in_order_and_on_the_grid() {
    let pacer = Pacer::start(PacerOptions::default()).unwrap();
    let socks: Vec<_> = (0..4).map(|_| bound_even_socket()).collect();
    let handles: Vec<_> = socks
        .iter()
        .map(|(_, p)| {
            pacer
                .add(spec(
                    &[*p],
                    Box::new(Encode::new(Tone::new(1000.0, -10.0), Law::Ulaw)),
                    Some(100),
                ))
                .unwrap()
        })
        .collect();
    for h in &handles {
        assert!(h.wait(Some(Duration::from_secs(10))), "stream ended");
        let s = h.stats();
        assert_eq!((s.packets, s.datagrams, s.send_errors), (100, 100, 0));
        let first = h.time_to_first_packet().expect("sent");
        assert!(
            first < Duration::from_millis(50),
            "first packet after {first:?}"
        );
    }
    let mut ssrcs = std::collections::HashSet::new();
    for ((sock, _), h) in socks.iter().zip(&handles) {
        let got = drain(sock);
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|(_, hd)| hd.ssrc == h.ssrc()));
        ssrcs.insert(h.ssrc());
        for w in got.windows(2) {
            assert_eq!(w[1].1.sequence, w[0].1.sequence.wrapping_add(1));
            assert_eq!(w[1].1.timestamp, w[0].1.timestamp.wrapping_add(160));
        }
        assert!(got[0].1.marker && !got[1].1.marker);
    }
    assert_eq!(ssrcs.len(), 4, "every stream has its own SSRC");
    let stats = pacer.stats();
    assert!(stats.wakeups >= 100, "{stats:?}");
}

#[test]
fn two_seconds_take_two_seconds_without_drift() {
    let pacer = Pacer::start(PacerOptions::default()).unwrap();
    let (sock, port) = bound_even_socket();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(drain(&sock)).unwrap());
    let h = pacer
        .add(spec(
            &[port],
            Box::new(EncodedClip::new(&[100; 16000], Law::Ulaw, false)),
            None,
        ))
        .unwrap();
    assert!(h.wait(Some(Duration::from_secs(10))));
    let got = rx.recv().unwrap();
    assert_eq!(got.len(), 100);
    // Arrival of packet 99 is 99 × 20 ms after packet 0: generous bound, it is an average of
    // absolute deadlines, so scheduler noise does not add up.
    let span = got[99].0 - got[0].0;
    let expected = Duration::from_millis(99 * 20);
    let err = span.abs_diff(expected);
    assert!(
        err < Duration::from_millis(10),
        "99 intervals took {span:?}"
    );
}

#[test]
fn stop_ends_a_looping_stream_and_dropping_the_pacer_ends_the_rest() {
    let pacer = Pacer::start(PacerOptions::default()).unwrap();
    let (sock, port) = bound_even_socket();
    let looping = pacer
        .add(spec(
            &[port],
            Box::new(EncodedClip::new(&[0; 160], Law::Ulaw, true)),
            None,
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    looping.stop();
    assert!(looping.wait(Some(Duration::from_secs(2))));
    let sent = looping.stats().packets;
    assert!(
        (5..=15).contains(&sent),
        "about 10 packets in 200 ms, got {sent}"
    );
    assert_eq!(drain(&sock).len() as u64, sent, "nothing after the stop");
    let (_s2, port2) = bound_even_socket();
    let other = pacer
        .add(spec(
            &[port2],
            Box::new(EncodedClip::new(&[0; 160], Law::Ulaw, true)),
            None,
        ))
        .unwrap();
    drop(pacer);
    assert!(
        other.wait(Some(Duration::from_secs(1))),
        "the pacer's drop ended the stream"
    );
}
