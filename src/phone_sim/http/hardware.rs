//! The sockets behind the core's [`Hardware`]: opening and closing a phone's receive stream
//! (multicast or unicast, dropped RTP and WAV recording as configured) and transmit stream, the
//! history of heard streams, and how long a ring file plays. The RTP work itself is
//! [`crate::phone_sim::media`]'s.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{HeardStream, Hw};
use crate::phone_sim::core::{
    ActiveStream, DEFAULT_PLAY_MS, Hardware, RxRequest, StreamOrigin, TxRequest,
};
use crate::phone_sim::media::{RxHandle, RxSpec, TxHandle, TxSpec};

/// Streams kept in a phone's history.
const HEARD_MAX: usize = 16;

impl Hardware for Hw<'_> {
    fn open_rx(&mut self, req: &RxRequest) -> Result<(), String> {
        let ip = *self.node.info.addr.ip();
        let bind = if req.multicast {
            SocketAddrV4::new(req.addr, req.port)
        } else {
            SocketAddrV4::new(ip, req.port)
        };
        self.media.rx_count += 1;
        let wav = self.node.ctx.record_dir.as_ref().map(|d| {
            d.join(format!(
                "{}-{:03}.wav",
                self.node.info.name, self.media.rx_count
            ))
        });
        let spec = RxSpec {
            bind,
            group: req.multicast.then_some(req.addr),
            interface: self.node.ctx.interface,
            drop_share: if req.multicast && self.node.info.faults.no_multicast {
                1.0
            } else {
                self.node.info.faults.drop_rtp
            },
            seed: self.node.ctx.seed ^ self.node.index.rotate_left(17) ^ self.media.rx_count,
            wav,
            light: self.node.ctx.light_receive,
            wideband: req.wideband,
        };
        let handle =
            RxHandle::open(spec).map_err(|e| format!("Port {} unavailable: {e}", req.port))?;
        self.media.rx = Some(handle);
        self.media.pending_rx = Some(ActiveStream {
            origin: StreamOrigin::Uri,
            addr: req.addr,
            port: req.port,
            multicast: req.multicast,
            volume: None,
            whisper: false,
            started_ms: self.now_ms,
        });
        Ok(())
    }

    fn close_rx(&mut self) {
        // The core's view of the stream is read before it forgets it: see PhoneNode::archive.
        if let Some(h) = self.media.rx.take() {
            let snap = h.stop();
            let stream = self.media.pending_rx.take().unwrap_or(ActiveStream {
                origin: StreamOrigin::Uri,
                addr: Ipv4Addr::UNSPECIFIED,
                port: 0,
                multicast: false,
                volume: None,
                whisper: false,
                started_ms: 0,
            });
            if self.media.heard.len() == HEARD_MAX {
                self.media.heard.remove(0);
            }
            self.media.heard.push(HeardStream {
                stream,
                active: false,
                rx: snap,
            });
        }
    }

    fn open_tx(&mut self, req: &TxRequest) -> Result<(), String> {
        let spec = TxSpec {
            dest: SocketAddrV4::new(req.addr, req.port),
            source: *self.node.info.addr.ip(),
            interface: self.node.ctx.interface,
            mic: self.node.ctx.mic.clone(),
        };
        let handle = TxHandle::open(spec)
            .map_err(|e| format!("Cannot send to {}:{}: {e}", req.addr, req.port))?;
        self.media.tx = Some(handle);
        Ok(())
    }

    fn close_tx(&mut self) {
        if let Some(h) = self.media.tx.take() {
            self.media.last_tx = Some(h.stop());
        }
    }

    fn play_length_ms(&mut self, file: &str) -> Option<u64> {
        match &self.node.ctx.tftp_dir {
            // Raw 8 kHz µ-law: one byte per sample.
            Some(dir) => std::fs::metadata(dir.join(file)).ok().map(|m| m.len() / 8),
            None => Some(DEFAULT_PLAY_MS),
        }
    }
}
