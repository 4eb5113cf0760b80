//! The emulator's UDP shell: receive tasks that feed [`super::analysis`], transmit tasks that
//! send the phone's "microphone". (Owned by the media helper: fill in; keep the signatures.)

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::analysis::RxSummary;

/// What to receive.
#[derive(Debug, Clone)]
pub struct RxSpec {
    /// Address and port to bind: the phone's own address (unicast), or the group (multicast).
    pub bind: SocketAddrV4,
    /// Multicast group to join on `interface`, if any.
    pub group: Option<Ipv4Addr>,
    /// Interface address for the multicast join.
    pub interface: Ipv4Addr,
    /// Share of packets (0.0..=1.0) dropped on purpose before analysis (a fault).
    pub drop_share: f64,
    /// Seed for which packets are dropped.
    pub seed: u64,
    /// Write what was heard to this WAV file (8 kHz mono 16-bit).
    pub wav: Option<PathBuf>,
}

/// A receive stream's state as the phone reports it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RxSnapshot {
    /// The analysis counters.
    #[serde(flatten)]
    pub summary: RxSummary,
    /// Where the packets came from (the first sender seen).
    pub remote: Option<SocketAddr>,
    /// The bound address.
    pub local: Option<SocketAddr>,
    /// Packets dropped on purpose (the `drop_share` fault).
    pub dropped_on_purpose: u64,
    /// Milliseconds from opening the socket to the first packet.
    pub first_packet_after_ms: Option<f64>,
    /// Whether the receive task is still running.
    pub active: bool,
}

/// A running receive stream. Dropping it stops the task (and finishes the WAV).
#[derive(Debug)]
pub struct RxHandle {
    _private: (),
}

impl RxHandle {
    /// Bind (errors such as "address in use" come back here) and start receiving on the current
    /// tokio runtime.
    pub fn open(spec: RxSpec) -> io::Result<RxHandle> {
        let _ = spec;
        todo!()
    }

    /// The counters now.
    pub fn snapshot(&self) -> RxSnapshot {
        todo!()
    }

    /// Stop receiving, finish the WAV, return the final counters.
    pub fn stop(self) -> RxSnapshot {
        todo!()
    }
}

/// The phone's "microphone".
#[derive(Debug, Clone)]
pub enum MicSource {
    /// Digital silence (µ-law 0xFF).
    Silence,
    /// A sine tone.
    Tone {
        /// Frequency, Hz.
        hz: f64,
        /// Level, dBFS (e.g. -12).
        dbfs: f64,
    },
    /// 8 kHz mono samples, looped (load files with `crate::audio`).
    Samples(Arc<[i16]>),
}

/// What to transmit.
#[derive(Debug, Clone)]
pub struct TxSpec {
    /// Destination (unicast or multicast).
    pub dest: SocketAddrV4,
    /// Local address to send from (the phone's address).
    pub source: Ipv4Addr,
    /// Interface for multicast sends (loopback in tests), TTL 1.
    pub interface: Ipv4Addr,
    /// What to send.
    pub mic: MicSource,
}

/// A transmit stream's counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TxSnapshot {
    /// Destination.
    pub dest: Option<SocketAddr>,
    /// Packets sent.
    pub packets: u64,
    /// Payload octets sent.
    pub octets: u64,
    /// Whether the transmit task is still running.
    pub active: bool,
}

/// A running transmit stream (G.711 µ-law, 20 ms packets). Dropping it stops the task.
#[derive(Debug)]
pub struct TxHandle {
    _private: (),
}

impl TxHandle {
    /// Open the socket and start sending on the current tokio runtime.
    pub fn open(spec: TxSpec) -> io::Result<TxHandle> {
        let _ = spec;
        todo!()
    }

    /// The counters now.
    pub fn snapshot(&self) -> TxSnapshot {
        todo!()
    }

    /// Stop sending, return the final counters.
    pub fn stop(self) -> TxSnapshot {
        todo!()
    }
}
