//! The relay of a page spoken live: a talker's G.711 frames go into a small queue
//! ([`RelayFeed`]), and the page's stream takes one 20 ms frame from it per period
//! ([`RelaySource`]). Two talkers feed it: a phone, which sends its microphone (`RTPTx`) to a port
//! of ours where a receiver thread ([`Relay`]) pushes each payload, and the browser's microphone,
//! whose WebSocket ([`super::mic`]) pushes what it encoded. The queue holds at most two frames,
//! so the relay adds at most 40 ms; a talker whose clock runs fast loses its oldest bytes, one
//! whose clock runs slow gets a frame of silence now and then. The page ends when the talker
//! stops sending (on-hook, `RTPTx:Stop`, a browser gone quiet) for [`IDLE_END`], or never starts
//! within [`START_WAIT`] ([`BROWSER_START_WAIT`] for a browser): the page's session owns that
//! rule as a timer, reading [`RelayFeed::last_packet`].

use std::collections::VecDeque;
use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::audio::{FRAME_SAMPLES, Frame, LiveLevel, LoudnessTarget};
use crate::g711::Law;
use crate::page::listen::bind_from_pool;
use crate::rtp::pacer::{PayloadSource, mono_now_ns};
use crate::rtp::packet::PAYLOAD_LEN;
use crate::rtp::receiver::ReceiverEvent;
use crate::rtp::{Listener, RtpPort};

/// Longest the talker may fall silent (no packets at all) before the page ends.
pub const IDLE_END: Duration = Duration::from_millis(1500);
/// Longest the talker may take to send its first packet (a talker who hangs up before a word,
/// or whose start was refused, ends the page this long after it began).
pub const START_WAIT: Duration = Duration::from_secs(5);
/// Longest a browser may take to open the microphone's WebSocket and send its first audio after
/// its page started (the page is started first: the socket names its id).
pub const BROWSER_START_WAIT: Duration = Duration::from_secs(10);
/// Frames kept waiting at most (each 20 ms).
const MAX_FRAMES: usize = 2;

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<VecDeque<u8>>,
    last_packet_ns: AtomicU64,
    packets: AtomicU64,
    dropped_bytes: AtomicU64,
    stop: AtomicBool,
}

/// The writing end of a relay's queue (cheap to clone): one talker's G.711 frames, in the
/// page's law, go in here; the page's [`RelaySource`] takes them out.
#[derive(Clone, Debug)]
pub struct RelayFeed {
    shared: Arc<Shared>,
}

impl RelayFeed {
    /// An empty queue.
    pub fn new() -> RelayFeed {
        RelayFeed {
            shared: Arc::new(Shared::default()),
        }
    }

    /// The page's source reading this queue: silence of `law` when no frame waits.
    pub fn source(&self, law: Law) -> RelaySource {
        RelaySource {
            shared: self.shared.clone(),
            silence: law.silence(),
        }
    }

    /// Queue one packet's G.711 bytes; beyond two frames the oldest bytes are dropped (the
    /// delay stays bounded). Counts the packet and stamps its arrival.
    pub fn push(&self, payload: impl IntoIterator<Item = u8>) {
        let s = &self.shared;
        let mut q = s.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(payload);
        let excess = q.len().saturating_sub(MAX_FRAMES * PAYLOAD_LEN);
        if excess > 0 {
            q.drain(..excess);
            s.dropped_bytes.fetch_add(excess as u64, Ordering::Relaxed);
        }
        drop(q);
        s.packets.fetch_add(1, Ordering::Relaxed);
        s.last_packet_ns.store(mono_now_ns(), Ordering::Relaxed);
    }

    /// When the talker's last packet arrived (`None`: none yet).
    pub fn last_packet(&self) -> Option<std::time::Instant> {
        last_packet_of(&self.shared)
    }

    /// [`RelayFeed::last_packet`] as the page's session reads it.
    pub fn clock(&self) -> crate::page::run::LastPacket {
        let shared = self.shared.clone();
        Arc::new(move || last_packet_of(&shared))
    }

    /// What arrived so far.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            packets: self.shared.packets.load(Ordering::Relaxed),
            dropped_bytes: self.shared.dropped_bytes.load(Ordering::Relaxed),
        }
    }
}

impl Default for RelayFeed {
    fn default() -> Self {
        RelayFeed::new()
    }
}

/// A receiving port and the thread behind it.
pub struct Relay {
    port: RtpPort,
    feed: RelayFeed,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the relay saw.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct RelayStats {
    /// RTP packets from the talker.
    pub packets: u64,
    /// Bytes dropped because the talker ran ahead (bounded latency).
    pub dropped_bytes: u64,
}

impl Relay {
    /// Bind `addr` at a pool port not in `in_use` and start receiving; frames are converted to
    /// `law` (the page's) and passed on as they came.
    pub fn start(
        addr: Ipv4Addr,
        pool: impl IntoIterator<Item = RtpPort>,
        in_use: &mut std::collections::HashSet<u16>,
        law: Law,
    ) -> io::Result<(Relay, RelaySource)> {
        let (listener, port) = bind_from_pool(addr, pool, in_use)?;
        Relay::spawn(listener, port, law, None)
    }

    /// [`Relay::start`], the talker's voice under the slow automatic gain and limiter of live
    /// sources ([`LiveLevel`]) toward `target`, so a soft-spoken or shouting talker reaches the
    /// zone as loud as every prepared sound (the limiter's look-ahead adds 2 ms).
    pub fn start_levelled(
        addr: Ipv4Addr,
        pool: impl IntoIterator<Item = RtpPort>,
        in_use: &mut std::collections::HashSet<u16>,
        law: Law,
        target: LoudnessTarget,
    ) -> io::Result<(Relay, RelaySource)> {
        let (listener, port) = bind_from_pool(addr, pool, in_use)?;
        Relay::spawn(listener, port, law, Some(target))
    }

    fn spawn(
        mut listener: Listener,
        port: RtpPort,
        law: Law,
        level: Option<LoudnessTarget>,
    ) -> io::Result<(Relay, RelaySource)> {
        let feed = RelayFeed::new();
        let f = feed.clone();
        let thread = std::thread::Builder::new()
            .name(format!("talk-{}", port.get()))
            .spawn(move || {
                let mut levelled = level.map(|t| Levelled::new(t, law));
                let sink = |ev: ReceiverEvent| {
                    if let ReceiverEvent::Audio {
                        law: from, payload, ..
                    } = ev
                    {
                        match &mut levelled {
                            Some(l) => l.push(from, payload, &f),
                            None if from == law => f.push(payload.iter().copied()),
                            None => f.push(payload.iter().map(|&b| law.encode(from.decode(b)))),
                        }
                    }
                };
                let stop = |_, _| f.shared.stop.load(Ordering::Relaxed);
                if let Err(e) = listener.run(stop, sink) {
                    tracing::warn!("talk relay on port {}: {e}", port.get());
                }
            })?;
        let source = feed.source(law);
        Ok((
            Relay {
                port,
                feed,
                thread: Some(thread),
            },
            source,
        ))
    }

    /// The port the talker sends to.
    pub fn port(&self) -> RtpPort {
        self.port
    }

    /// When the talker's last packet arrived (`None`: none yet).
    pub fn last_packet(&self) -> Option<std::time::Instant> {
        self.feed.last_packet()
    }

    /// What arrived so far.
    pub fn stats(&self) -> RelayStats {
        self.feed.stats()
    }
}

/// A talker's audio on its way into the queue under [`LiveLevel`]: decoded, gathered into
/// 20 ms frames, levelled, and encoded in the page's law.
struct Levelled {
    level: LiveLevel,
    law: Law,
    frame: Frame,
    filled: usize,
}

impl Levelled {
    fn new(target: LoudnessTarget, law: Law) -> Levelled {
        Levelled {
            level: LiveLevel::new(target),
            law,
            frame: [0; FRAME_SAMPLES],
            filled: 0,
        }
    }

    /// Take one packet's payload in `from`'s law; each whole frame goes into `feed`.
    fn push(&mut self, from: Law, payload: &[u8], feed: &RelayFeed) {
        for &b in payload {
            self.frame[self.filled] = from.decode(b);
            self.filled += 1;
            if self.filled == FRAME_SAMPLES {
                self.filled = 0;
                self.level.process(&mut self.frame);
                let law = self.law;
                feed.push(self.frame.iter().map(|&s| law.encode(s)));
            }
        }
    }
}

fn last_packet_of(shared: &Shared) -> Option<std::time::Instant> {
    match shared.last_packet_ns.load(Ordering::Relaxed) {
        0 => None,
        ns => {
            let ago = Duration::from_nanos(mono_now_ns().saturating_sub(ns));
            std::time::Instant::now().checked_sub(ago)
        }
    }
}

/// The pager's side of a page spoken from a phone: opens a [`Relay`] on a pool port when the
/// page is planned, and keeps it until the page is over.
pub struct TalkRelay {
    addr: Ipv4Addr,
    pool: crate::config::PortPool,
    target: LoudnessTarget,
    relay: Option<Relay>,
}

impl TalkRelay {
    /// A relay on `addr` (the engine's media address), its port from `pool`, the talker
    /// levelled toward `target`.
    pub fn new(addr: Ipv4Addr, pool: crate::config::PortPool, target: LoudnessTarget) -> TalkRelay {
        TalkRelay {
            addr,
            pool,
            target,
            relay: None,
        }
    }
}

impl crate::page::TalkerRelay for TalkRelay {
    fn open(
        &mut self,
        in_use: &mut std::collections::HashSet<u16>,
    ) -> io::Result<(
        std::net::SocketAddrV4,
        Box<dyn PayloadSource>,
        crate::page::run::LastPacket,
    )> {
        let (relay, source) =
            Relay::start_levelled(self.addr, self.pool.iter(), in_use, Law::Ulaw, self.target)?;
        let dest = std::net::SocketAddrV4::new(self.addr, relay.port().get());
        let clock = relay.feed.clock();
        self.relay = Some(relay);
        Ok((dest, Box::new(source), clock))
    }
}

/// The pager's side of a page spoken from a browser: no port to open (its WebSocket pushes
/// into `feed`); the page plays what waits in it.
pub struct BrowserRelay {
    feed: RelayFeed,
}

impl BrowserRelay {
    /// A relay of what is pushed into `feed`.
    pub fn new(feed: RelayFeed) -> BrowserRelay {
        BrowserRelay { feed }
    }
}

impl crate::page::TalkerRelay for BrowserRelay {
    /// The address is unused: no phone sends here (the talker has no phone).
    fn open(
        &mut self,
        _in_use: &mut std::collections::HashSet<u16>,
    ) -> io::Result<(
        std::net::SocketAddrV4,
        Box<dyn PayloadSource>,
        crate::page::run::LastPacket,
    )> {
        let dest = std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        Ok((
            dest,
            Box::new(self.feed.source(Law::Ulaw)),
            self.feed.clock(),
        ))
    }
}

impl Drop for TalkRelay {
    fn drop(&mut self) {
        if let Some(r) = &self.relay {
            let stats = r.stats();
            tracing::info!(
                "relayed {} packets from the talker ({} bytes dropped to keep the delay bounded)",
                stats.packets,
                stats.dropped_bytes
            );
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.feed.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The page's source: the talker's frames, silence when none is waiting. It never ends by
/// itself: the page's session ends the page when the talker falls silent.
pub struct RelaySource {
    shared: Arc<Shared>,
    silence: u8,
}

impl PayloadSource for RelaySource {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= PAYLOAD_LEN {
            for (o, b) in out.iter_mut().zip(q.drain(..PAYLOAD_LEN)) {
                *o = b;
            }
        } else {
            out.fill(self.silence);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::Packetizer;

    #[test]
    fn frames_arrive_in_order_with_at_most_two_waiting() {
        let mut in_use = Default::default();
        let pool = (0..200).filter_map(|i| RtpPort::new(30000 + 2 * i).ok());
        let (relay, mut source) =
            Relay::start(Ipv4Addr::LOCALHOST, pool, &mut in_use, Law::Ulaw).unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut p = Packetizer::random(Law::Ulaw);
        let mut pkt = [0u8; crate::rtp::packet::PACKET_LEN];
        // Five frames, each filled with its number: only the last two are kept.
        for n in 1..=5u8 {
            Packetizer::payload_mut(&mut pkt).fill(n);
            p.write_header(&mut pkt);
            sock.send_to(&pkt, ("127.0.0.1", relay.port().get()))
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while relay.stats().packets < 5 {
            assert!(
                std::time::Instant::now() < deadline,
                "packets never arrived"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut out = [0u8; PAYLOAD_LEN];
        assert!(source.next_payload(&mut out));
        assert_eq!(out, [4u8; PAYLOAD_LEN]);
        assert!(source.next_payload(&mut out));
        assert_eq!(out, [5u8; PAYLOAD_LEN]);
        assert!(source.next_payload(&mut out));
        assert_eq!(
            out,
            [Law::Ulaw.silence(); PAYLOAD_LEN],
            "silence when none waits"
        );
        assert_eq!(relay.stats().dropped_bytes, 3 * PAYLOAD_LEN as u64);
    }

    #[test]
    fn a_quiet_talker_is_raised_toward_the_target_and_a_loud_one_kept_under_the_ceiling() {
        let rms_db = |x: &[u8]| {
            let e: f64 = x
                .iter()
                .map(|&b| f64::from(Law::Ulaw.decode(b)).powi(2))
                .sum::<f64>()
                / x.len() as f64;
            10.0 * (e / 32768f64.powi(2)).log10()
        };
        for (amplitude, check) in [(300.0, "quiet"), (32000.0, "loud")] {
            let feed = RelayFeed::new();
            let mut source = feed.source(Law::Ulaw);
            let mut lv = Levelled::new(LoudnessTarget::default(), Law::Ulaw);
            let mut n = 0u64;
            let (mut first, mut last) = (Vec::new(), Vec::new());
            // 20 s of a 400 Hz voice-band tone, a packet at a time, taken out as it comes.
            for k in 0..1000 {
                let payload: Vec<u8> = (0..PAYLOAD_LEN)
                    .map(|_| {
                        n += 1;
                        let t = n as f64 / 8000.0;
                        let v = amplitude * (std::f64::consts::TAU * 400.0 * t).sin();
                        Law::Ulaw.encode(v as i16)
                    })
                    .collect();
                lv.push(Law::Ulaw, &payload, &feed);
                let mut out = [0u8; PAYLOAD_LEN];
                assert!(source.next_payload(&mut out));
                if k < 25 {
                    first.extend_from_slice(&payload);
                }
                if k >= 950 {
                    last.extend_from_slice(&out);
                }
            }
            let (before, after) = (rms_db(&first), rms_db(&last));
            let peak = last
                .iter()
                .map(|&b| i32::from(Law::Ulaw.decode(b)).abs())
                .max()
                .unwrap();
            match check {
                "quiet" => assert!(
                    after - before > 10.0,
                    "a quiet talker went from {before:.1} to {after:.1} dBFS"
                ),
                _ => assert!(
                    after < before - 3.0 && f64::from(peak) < 32768.0 * 0.9,
                    "a loud talker went from {before:.1} to {after:.1} dBFS, peak {peak}"
                ),
            }
        }
    }
}
