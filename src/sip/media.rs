//! A call's RTP socket and the loop that relays it (the shell around [`super::audio`] and
//! [`super::cue`]): bound on an even port of the media address before the answer names it;
//! every 20 ms the caller is sent the cue's next frame in the call's codec (the wait tone, the
//! "go ahead" beep, then silence); only packets from the caller's media address are taken, and
//! its audio counts only once the beep has played; each 20 ms after a gap of 60 ms the page's
//! queue gets a frame of silence (a caller that suppresses silence keeps its page); a caller
//! that sends no audio for `[sip] no_rtp` ends the loop, and so does `#` (RFC 4733) where the
//! call says so (a delayed route's recording). A route with a PIN or a menu first takes the
//! caller's keys ([`CallMedia::keys`], anything [`Keyed`]: [`super::pin`], [`super::menu`]).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::answer::CallCodec;
use super::audio::CallerAudio;
use super::cue::Cue;
use super::dtmf::Keys;
use crate::g711::Law;
use crate::rtp::g722::{G722_FRAME_BYTES, G722_FRAME_SAMPLES};
use crate::rtp::packet::{PACKET_LEN, PAYLOAD_LEN};
use crate::rtp::{G722Encoder, Packetizer};

/// Tries at an even port before giving up (the OS hands out odd and even ones alike).
const BIND_TRIES: usize = 32;
/// Largest datagram read (bigger ones are cut and then skipped as not our audio).
const MAX_DATAGRAM: usize = 2048;

/// A call's bound RTP socket.
pub struct CallMedia {
    socket: UdpSocket,
    local: SocketAddrV4,
}

/// The caller's side of the relay: where its audio comes from, what it is sent back, and what
/// ends its part.
pub(super) struct Leg {
    /// The caller's media address (from its SDP): its packets are taken, ours go there.
    pub remote: SocketAddrV4,
    /// The call's codec, for what we send.
    pub codec: CallCodec,
    /// The call's telephone-event payload type, when negotiated.
    pub telephone_event: Option<u8>,
    /// What the caller hears.
    pub cue: Cue,
    /// A caller that sends no audio this long is ended.
    pub no_rtp: Duration,
    /// Whether `#` ends the caller's part.
    pub pound_ends: bool,
}

/// What a caller answers by keys before anything is paged (a PIN, a menu), heard frame by
/// frame: the pure core [`CallMedia::keys`] drives.
pub(super) trait Keyed: Send {
    /// A key the caller pressed.
    fn press(&mut self, key: char);
    /// Fill the next 20 ms the caller hears (`rate / 50` samples).
    fn fill(&mut self, out: &mut [i16]);
    /// Whether it is over (the call goes on, or ends, as the core's outcome says).
    fn done(&self) -> bool;
}

/// Why the relay stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LegEnd {
    /// No audio for `no_rtp`.
    Silent,
    /// The caller pressed `#`.
    Pound,
}

/// Our RTP to the caller: one stream, the cue's frames in the call's codec.
struct Outgoing {
    packetizer: Packetizer,
    law: Law,
    g722: Option<G722Encoder>,
    pcm: [i16; G722_FRAME_SAMPLES],
    packet: [u8; PACKET_LEN],
}

impl Outgoing {
    fn new(codec: CallCodec) -> Outgoing {
        let (packetizer, law, g722) = match codec {
            CallCodec::Pcmu => (Packetizer::random(Law::Ulaw), Law::Ulaw, None),
            CallCodec::Pcma => (Packetizer::random(Law::Alaw), Law::Alaw, None),
            CallCodec::G722 => (
                Packetizer::random_g722(),
                Law::Ulaw,
                Some(G722Encoder::new()),
            ),
        };
        Outgoing {
            packetizer,
            law,
            g722,
            pcm: [0; G722_FRAME_SAMPLES],
            packet: [0; PACKET_LEN],
        }
    }

    /// The next packet: the frame `fill` writes (`rate / 50` samples), encoded.
    fn next(&mut self, fill: impl FnOnce(&mut [i16])) -> &[u8] {
        let n = if self.g722.is_some() {
            G722_FRAME_SAMPLES
        } else {
            PAYLOAD_LEN
        };
        fill(&mut self.pcm[..n]);
        let payload = Packetizer::payload_mut(&mut self.packet);
        match &mut self.g722 {
            Some(enc) => {
                let out: &mut [u8; G722_FRAME_BYTES] = payload;
                enc.encode_frame(&self.pcm, out);
            }
            None => self.law.encode_into(&self.pcm[..PAYLOAD_LEN], payload),
        }
        self.packetizer.write_header(&mut self.packet);
        &self.packet
    }
}

impl CallMedia {
    /// Bind an even port on `ip` (RTP's convention; RTCP would be the next one).
    pub async fn bind(ip: Ipv4Addr) -> std::io::Result<CallMedia> {
        for _ in 0..BIND_TRIES {
            let socket = UdpSocket::bind(SocketAddrV4::new(ip, 0)).await?;
            if let std::net::SocketAddr::V4(local) = socket.local_addr()?
                && local.port().is_multiple_of(2)
            {
                return Ok(CallMedia { socket, local });
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("no even UDP port on {ip} after {BIND_TRIES} tries"),
        ))
    }

    /// Where the caller sends (our answer's address).
    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }

    /// Relay the caller's audio into `feed` once its cue says go ahead, sending it the cue
    /// meanwhile (`ready` says whether the phones are), until it sends no audio for `no_rtp`
    /// (counted from the start for a caller that never sends) or presses `#` where that ends it.
    pub async fn relay(
        &self,
        mut audio: CallerAudio,
        mut leg: Leg,
        feed: &(dyn Fn(&[u8; PAYLOAD_LEN]) + Send + Sync),
        ready: &(dyn Fn() -> bool + Send + Sync),
    ) -> LegEnd {
        let silence = [Law::Ulaw.silence(); PAYLOAD_LEN];
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut out = Outgoing::new(leg.codec);
        let mut keys = Keys::default();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_audio = Instant::now();
        // Ticks since the caller's last frame: only a gap longer than the relay's jitter
        // allowance (two frames wait at most) is filled, so late packets are not pushed aside.
        let mut quiet: u32 = 0;
        let from = std::net::IpAddr::V4(*leg.remote.ip());
        loop {
            tokio::select! {
                got = self.socket.recv_from(&mut buf) => {
                    let Ok((n, src)) = got else { continue };
                    if src.ip() != from {
                        continue;
                    }
                    let datagram = &buf[..n];
                    if let Some(pt) = leg.telephone_event
                        && keys.push(pt, datagram) == Some('#')
                        && leg.pound_ends
                        && leg.cue.go_ahead()
                    {
                        return LegEnd::Pound;
                    }
                    let open = leg.cue.go_ahead();
                    if audio.push(datagram, &mut |f| if open { feed(f); quiet = 0; }) {
                        last_audio = Instant::now();
                    }
                }
                _ = tick.tick() => {
                    if last_audio.elapsed() >= leg.no_rtp {
                        return LegEnd::Silent;
                    }
                    let ready = ready();
                    let packet = out.next(|pcm| {
                        leg.cue.next_frame(ready, pcm);
                    });
                    let _ = self.socket.send_to(packet, leg.remote).await;
                    if leg.cue.go_ahead() {
                        quiet += 1;
                        if quiet > 3 {
                            feed(&silence);
                        }
                    }
                }
            }
        }
    }

    /// Take the caller's keys into `entry` (a PIN, a menu): its prompts and tones sent, until
    /// it is [`Keyed::done`]. The caller's audio is dropped meanwhile. Keys may also come from
    /// the dialog (SIP INFO): `info_keys`.
    pub(super) async fn keys(
        &self,
        leg: &Leg,
        entry: &mut dyn Keyed,
        info_keys: &mut tokio::sync::mpsc::UnboundedReceiver<char>,
    ) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut out = Outgoing::new(leg.codec);
        let mut keys = Keys::default();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let from = std::net::IpAddr::V4(*leg.remote.ip());
        loop {
            if entry.done() {
                return;
            }
            tokio::select! {
                got = self.socket.recv_from(&mut buf) => {
                    let Ok((n, src)) = got else { continue };
                    if src.ip() != from {
                        continue;
                    }
                    if let Some(pt) = leg.telephone_event
                        && let Some(key) = keys.push(pt, &buf[..n])
                    {
                        entry.press(key);
                    }
                }
                Some(key) = info_keys.recv() => {
                    entry.press(key);
                }
                _ = tick.tick() => {
                    let packet = out.next(|pcm| entry.fill(pcm));
                    let _ = self.socket.send_to(packet, leg.remote).await;
                }
            }
        }
    }
}
