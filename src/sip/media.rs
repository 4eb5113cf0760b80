//! A call's RTP socket and the loop that relays it (the shell around [`super::audio`]): bound
//! on an even port of the media address before the answer names it; only packets from the
//! caller's media address are taken; each 20 ms after a gap of 60 ms the page's queue gets a frame of
//! silence (a caller that suppresses silence keeps its page), and a caller that
//! sends no audio for `[sip] no_rtp` ends the loop.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::audio::CallerAudio;
use crate::g711::Law;
use crate::rtp::packet::PAYLOAD_LEN;

/// Tries at an even port before giving up (the OS hands out odd and even ones alike).
const BIND_TRIES: usize = 32;
/// Largest datagram read (bigger ones are cut and then skipped as not our audio).
const MAX_DATAGRAM: usize = 2048;

/// A call's bound RTP socket.
pub struct CallMedia {
    socket: UdpSocket,
    local: SocketAddrV4,
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

    /// Relay the caller's audio from `from` into `feed` until it sends none for `no_rtp`
    /// (counted from the start for a caller that never sends). Returns the audio packets seen.
    pub async fn relay(
        &self,
        mut audio: CallerAudio,
        from: Ipv4Addr,
        feed: &(dyn Fn(&[u8; PAYLOAD_LEN]) + Send + Sync),
        no_rtp: Duration,
    ) -> u64 {
        let silence = [Law::Ulaw.silence(); PAYLOAD_LEN];
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_audio = Instant::now();
        // Ticks since the caller's last frame: only a gap longer than the relay's jitter
        // allowance (two frames wait at most) is filled, so late packets are not pushed aside.
        let mut quiet: u32 = 0;
        loop {
            tokio::select! {
                got = self.socket.recv_from(&mut buf) => {
                    let Ok((n, src)) = got else { continue };
                    if src.ip() != std::net::IpAddr::V4(from) {
                        continue;
                    }
                    if audio.push(&buf[..n], &mut |f| { feed(f); quiet = 0; }) {
                        last_audio = Instant::now();
                    }
                }
                _ = tick.tick() => {
                    if last_audio.elapsed() >= no_rtp {
                        return audio.audio_packets;
                    }
                    quiet += 1;
                    if quiet > 3 {
                        feed(&silence);
                    }
                }
            }
        }
    }
}
