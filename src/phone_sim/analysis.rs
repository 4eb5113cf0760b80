//! What an emulated phone makes of the RTP it receives. Pure: datagrams and arrival times in,
//! counters out. (Owned by the media helper: fill in; keep the signatures.)

use serde::Serialize;

/// Everything a receiving phone knows about one stream, as the fleet report and
/// `StreamingStatisticsX` show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RxSummary {
    /// Valid RTP packets received (distinct; duplicates not counted).
    pub packets: u64,
    /// Payload octets of those packets.
    pub octets: u64,
    /// Packets lost (RFC 3550: expected − received, never negative).
    pub lost: u64,
    /// Duplicate packets.
    pub duplicates: u64,
    /// Packets that arrived out of order.
    pub reordered: u64,
    /// Datagrams that were not RTP v2 or were truncated.
    pub malformed: u64,
    /// Packets with a payload type other than 0 (PCMU) or 8 (PCMA).
    pub bad_payload_type: u64,
    /// Packets whose payload is not 160 bytes (20 ms of G.711).
    pub bad_payload_size: u64,
    /// Packets whose sequence number is not the previous one + 1.
    pub sequence_errors: u64,
    /// Packets whose timestamp does not advance by 160 per sequence step.
    pub timestamp_errors: u64,
    /// Times the SSRC changed.
    pub ssrc_changes: u64,
    /// `G.711u` / `G.711a` from the last packet's payload type.
    pub codec: Option<String>,
    /// RFC 3550 interarrival jitter now, in ms.
    pub avg_jitter_ms: f64,
    /// Largest jitter value seen, in ms.
    pub max_jitter_ms: f64,
    /// RMS level of all decoded audio, dBFS.
    pub level_dbfs: Option<f64>,
    /// Peak level, dBFS.
    pub peak_dbfs: Option<f64>,
    /// Dominant frequency of the most recent audio (about the last half second), Hz.
    pub frequency_hz: Option<f64>,
    /// Samples decoded.
    pub decoded_samples: u64,
    /// Arrival time of the first packet (ns, the caller's clock).
    pub first_packet_ns: Option<u64>,
    /// Arrival time of the last packet (ns, the caller's clock).
    pub last_packet_ns: Option<u64>,
}

/// One receiving stream's analysis.
#[derive(Debug)]
pub struct RxAnalysis {
    _private: (),
}

impl RxAnalysis {
    /// A fresh analysis.
    pub fn new() -> Self {
        todo!()
    }

    /// Feed one datagram that arrived at `now_ns`; `pcm` gets the decoded audio in play-out
    /// order (for a WAV of what the phone heard), silence not included.
    pub fn on_datagram(&mut self, now_ns: u64, data: &[u8], pcm: impl FnMut(&[i16])) {
        let _ = (now_ns, data, pcm);
        todo!()
    }

    /// The counters now (computes the dominant frequency on demand).
    pub fn summary(&self) -> RxSummary {
        todo!()
    }
}

impl Default for RxAnalysis {
    fn default() -> Self {
        Self::new()
    }
}
