//! The live sound of a district page: a SIP call that pages a district zone, or a call's
//! recording played to one. The asking node publishes the caller's 20 ms µ-law frames once, on
//! `zc.<its site>.live.<district page id>` ([`live_subject`]); the bus carries them to every site
//! whose part asked for them ([`super::PartRequest::live`]), and each site's node plays them
//! through its part's talker queue, as it plays a browser's microphone. Nothing is stored: a
//! frame lost on the WAN is a gap, a frame late by more than the queue's two frames is dropped
//! there, and a site whose stream stops ends its part after the talker's idle time (the asker
//! gone, its link cut).
//!
//! A frame message from the bus is outside input: whole frames, at most [`MAX_LIVE_FRAMES`] of
//! them ([`live_frames`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::{Client, Subscriber};
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::district_bus::{bus_error, next};
use super::store::ClusterError;
use crate::error::Invalid;
use crate::page::DeliveryReport;
use crate::rtp::packet::PAYLOAD_LEN;

/// Frames one message may carry (the asker sends one per message; a peer may gather a few).
pub const MAX_LIVE_FRAMES: usize = 10;

/// Frames the asker keeps waiting for the bus (a second): past that, new ones are dropped.
const QUEUED: usize = 50;

/// The subject `site`'s node publishes the frames of its live stream `stream` on.
pub fn live_subject(site: &str, stream: &str) -> String {
    format!("zc.{site}.live.{stream}")
}

/// The 20 ms frames of one message from the bus, or why it is refused: 1 to
/// [`MAX_LIVE_FRAMES`] whole frames of µ-law.
pub fn live_frames(bytes: &[u8]) -> Result<std::slice::ChunksExact<'_, u8>, Invalid> {
    let frames = bytes.len() / PAYLOAD_LEN;
    if bytes.is_empty() || !bytes.len().is_multiple_of(PAYLOAD_LEN) || frames > MAX_LIVE_FRAMES {
        return Err(Invalid::new(
            "district live frames",
            format!("{} bytes", bytes.len()),
            format!("must be 1..={MAX_LIVE_FRAMES} whole frames of {PAYLOAD_LEN} bytes"),
        ));
    }
    Ok(bytes.chunks_exact(PAYLOAD_LEN))
}

/// The asking node's end of a live stream: frames go in without waiting
/// ([`LiveSender::send`]) and a task publishes them in order. Dropping every clone ends the
/// stream (the sites end their parts after the talker's idle time, unless stopped first).
#[derive(Clone)]
pub struct LiveSender {
    tx: mpsc::Sender<Bytes>,
    dropped: Arc<AtomicU64>,
}

impl LiveSender {
    /// Publish on `subject` through `client` what is sent.
    pub fn start(client: Client, subject: String) -> LiveSender {
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUED);
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if let Err(e) = client.publish(subject.clone(), frame).await {
                    tracing::debug!("district live {subject}: {e}");
                }
            }
        });
        LiveSender {
            tx,
            dropped: Arc::default(),
        }
    }

    /// Queue one frame; dropped (and counted) when the bus is a second behind.
    pub fn send(&self, frame: &[u8; PAYLOAD_LEN]) {
        if self.tx.try_send(Bytes::copy_from_slice(frame)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Frames dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A site's end of a live stream: subscribed before its part's page starts, so the first
/// frames are not lost to the subscription's way through the hub.
pub struct LiveListener {
    sub: Subscriber,
    subject: String,
}

impl LiveListener {
    /// Subscribe to `subject`.
    pub async fn subscribe(client: &Client, subject: String) -> Result<LiveListener, ClusterError> {
        let sub = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| bus_error(&subject, e))?;
        Ok(LiveListener { sub, subject })
    }

    /// Hand every frame to `feed` until the page `live` follows ends; a message that is not
    /// whole frames is refused (logged) and the next one read.
    pub async fn relay(
        mut self,
        feed: impl Fn(&[u8]) + Send + 'static,
        mut live: watch::Receiver<DeliveryReport>,
    ) {
        let mut refused = 0u64;
        loop {
            let message = tokio::select! {
                m = next(&mut self.sub) => m,
                ended = live.changed() => match ended {
                    Ok(()) => continue,
                    Err(_) => None,
                },
            };
            let Some(m) = message else { break };
            match live_frames(&m.payload) {
                Ok(frames) => frames.for_each(&feed),
                Err(e) => {
                    refused += 1;
                    if refused == 1 {
                        tracing::warn!("district live {}: refused: {e}", self.subject);
                    }
                }
            }
        }
        let _ = self.sub.unsubscribe().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_one_to_ten_whole_frames() {
        let one = [0xFFu8; PAYLOAD_LEN];
        assert_eq!(live_frames(&one).unwrap().count(), 1);
        let ten = vec![0x7Fu8; PAYLOAD_LEN * MAX_LIVE_FRAMES];
        let frames: Vec<&[u8]> = live_frames(&ten).unwrap().collect();
        assert_eq!(frames.len(), MAX_LIVE_FRAMES);
        assert!(frames.iter().all(|f| f.len() == PAYLOAD_LEN));
        for bad in [0, 1, PAYLOAD_LEN - 1, PAYLOAD_LEN + 1, PAYLOAD_LEN * 11] {
            let e = live_frames(&vec![0u8; bad]).unwrap_err().to_string();
            assert!(e.contains("whole frames of 160 bytes"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_stream_is_named_by_its_site_and_page() {
        assert_eq!(live_subject("north", "dp-1a2b"), "zc.north.live.dp-1a2b");
    }
}
