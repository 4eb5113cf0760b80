//! The LAN heartbeat's shell (`docs/cluster.md`): one UDP socket at `[cluster] heartbeat.listen`,
//! a [`Beat`] to the peer's address once a second, and the peer's beats fed to the shared
//! [`PeerView`]. A datagram from any other address, larger than [`BEAT_MAX_BYTES`] or not a beat
//! of this site's other node is dropped, with a warning at most once a minute. It decides
//! nothing: [`PeerView`] does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::pair::{BEAT_MAX_BYTES, Beat, PeerView};
use crate::config::Cluster;

/// How often a beat is sent.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);

/// What the node says of itself in each beat: `(leads now, its token)`; the view holds the rest.
pub type Leading = Arc<dyn Fn() -> Option<u64> + Send + Sync>;

/// Bind the heartbeat socket and run it until the returned task is aborted.
pub async fn start_heartbeat(
    c: &Cluster,
    view: Arc<Mutex<PeerView>>,
    leading: Leading,
) -> std::io::Result<Option<JoinHandle<()>>> {
    let Some(hb) = c.heartbeat else {
        return Ok(None);
    };
    let socket = UdpSocket::bind(hb.listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot bind the heartbeat at {}: {e}", hb.listen),
        )
    })?;
    Ok(Some(tokio::spawn(run(socket, hb.peer, view, leading))))
}

async fn run(
    socket: UdpSocket,
    peer: std::net::SocketAddr,
    view: Arc<Mutex<PeerView>>,
    leading: Leading,
) {
    let mut tick = tokio::time::interval(BEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; BEAT_MAX_BYTES + 1];
    let mut last_warning: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let token = leading();
                let beat = lock(&view).beat(token.is_some(), token.unwrap_or(0));
                // A peer that is down refuses it (ICMP): nothing to do but try again.
                let _ = socket.send_to(&beat.encode(), peer).await;
            }
            got = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                let read = if from.ip() != peer.ip() {
                    Err(format!("a heartbeat from {from}, not the peer {peer}"))
                } else {
                    Beat::decode(&buf[..n])
                        .and_then(|b| lock(&view).handle_beat(Instant::now(), b))
                };
                if let Err(why) = read {
                    let now = Instant::now();
                    if last_warning.is_none_or(|t| now.duration_since(t) > Duration::from_secs(60)) {
                        tracing::warn!("cluster: dropped {why}");
                        last_warning = Some(now);
                    }
                }
            }
        }
    }
}

/// The view, even if a panicking holder poisoned it (it holds plain data).
pub(super) fn lock(view: &Mutex<PeerView>) -> std::sync::MutexGuard<'_, PeerView> {
    view.lock().unwrap_or_else(|p| p.into_inner())
}
