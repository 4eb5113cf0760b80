//! What a receiver makes of arriving RTP: ordered audio, gaps, and statistics. Pure state.
//!
//! Feed [`ReceiverState::on_packet`] the bytes of each datagram with its arrival time (ns on any
//! monotonic clock); it calls back with [`ReceiverEvent`]s in play-out order. Per SSRC it keeps a
//! small reorder buffer ([`ReorderConfig::depth`] packets): a packet that arrives out of order but
//! within the buffer is put back in place; one that never arrives is declared lost when the buffer
//! is full or when [`ReceiverState::on_timeout`] finds the oldest waiting packet too old; one that
//! arrives after its place was given up is counted late and dropped. Gaps are reported in samples
//! from the RTP timestamps, so a recorder that fills them with silence keeps a true timeline.
//!
//! Statistics follow RFC 3550: extended highest sequence, cumulative loss (expected − received),
//! and interarrival jitter (`J += (|D| − J) / 16`, in timestamp units).
//!
//! Memory is bounded whatever arrives: at most [`MAX_SOURCES`] SSRCs are tracked (the quietest
//! is forgotten first) and each buffer holds at most `depth` packets of at most [`MAX_PAYLOAD`]
//! bytes. So is the silence reported: timestamps are the sender's word, and a recorder writes
//! every gap to disk, so gaps never take the play-out timeline (audio and gaps of all sources)
//! more than [`GAP_SLACK_SAMPLES`] ahead of the time that really passed since the first packet.
//! Without that, a packet whose timestamp jumps 10 minutes ahead costs 9.6 MB of WAV, and a
//! second of such packets fills a disk.

use super::packet::RtpHeader;
use crate::g711::Law;

/// SSRCs tracked at once.
pub const MAX_SOURCES: usize = 8;
/// Largest payload kept (G.711 at 20 ms is 160; phones never send more than 60 ms).
pub const MAX_PAYLOAD: usize = 480;
/// Longest gap reported as silence (10 minutes at 8 kHz); larger jumps are a new timeline.
pub const MAX_GAP_SAMPLES: u32 = 8000 * 600;
/// How far (in samples at 8 kHz, 10 s) gaps may take the play-out timeline ahead of the real
/// time since the first packet: room for clock drift between sender and receiver over a long
/// recording, far less than what a flood of timestamp jumps would otherwise claim.
pub const GAP_SLACK_SAMPLES: u64 = 8000 * 10;

/// Reordering parameters.
#[derive(Debug, Clone, Copy)]
pub struct ReorderConfig {
    /// Packets held waiting for a missing one (1..=32).
    pub depth: usize,
    /// How long (ns) a packet may wait for a missing predecessor before that one is given up.
    pub max_wait_ns: u64,
}

impl Default for ReorderConfig {
    fn default() -> Self {
        ReorderConfig {
            depth: 5,
            max_wait_ns: 100_000_000,
        }
    }
}

/// What happened, in play-out order.
#[derive(Debug, PartialEq, Eq)]
pub enum ReceiverEvent<'a> {
    /// The first packet of a new SSRC arrived (a new stream, or the sender restarted).
    NewSource {
        /// The new SSRC.
        ssrc: u32,
        /// The SSRC it replaces, if another was active.
        previous: Option<u32>,
    },
    /// Audio to play, in order.
    Audio {
        /// Stream.
        ssrc: u32,
        /// G.711 law from the payload type (meaningless when `payload_type` is 9, G.722).
        law: Law,
        /// The payload type: 0 or 8 (G.711), or 9 (G.722) once
        /// [`ReceiverState::accept_g722`] was called.
        payload_type: u8,
        /// Sequence number.
        sequence: u16,
        /// The G.711 bytes.
        payload: &'a [u8],
    },
    /// Samples missing before the next audio (lost packets or a timestamp jump).
    Gap {
        /// Stream.
        ssrc: u32,
        /// Missing samples at 8 kHz.
        samples: u32,
    },
}

/// Counters of one SSRC.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ReceiveStats {
    /// The source.
    pub ssrc: u32,
    /// Distinct packets received (duplicates not counted).
    pub received: u64,
    /// Packets expected from the sequence numbers seen (RFC 3550 extended max − base + 1).
    pub expected: u64,
    /// Packets never received (expected − received, never negative).
    pub lost: u64,
    /// Packets received twice or more.
    pub duplicates: u64,
    /// Packets that arrived after their place in the play-out was given up.
    pub late: u64,
    /// Packets that arrived out of order but in time and were put back in place.
    pub reordered: u64,
    /// Payload bytes delivered.
    pub payload_bytes: u64,
    /// Samples of silence reported for gaps.
    pub gap_samples: u64,
    /// RFC 3550 interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Largest |D| seen (transit-time difference between consecutive packets), in ms.
    pub max_transit_delta_ms: f64,
}

/// Counters across all sources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReceiverCounters {
    /// Datagrams fed in.
    pub datagrams: u64,
    /// Datagrams that were not RTP version 2 or were truncated.
    pub malformed: u64,
    /// RTP packets whose payload type is not G.711 (0 or 8), or too large.
    pub unsupported: u64,
    /// Times the active SSRC changed.
    pub ssrc_changes: u64,
    /// Samples of gaps not reported as silence because the timestamps claimed more time than
    /// had passed (see [`GAP_SLACK_SAMPLES`]).
    pub gap_samples_refused: u64,
}

/// The play-out timeline of all sources together, against the arrival clock.
#[derive(Debug, Default)]
struct Timeline {
    /// Arrival of the first packet played out.
    start_ns: Option<u64>,
    /// Samples reported so far (audio and gaps).
    samples: u64,
    /// Gap samples not reported.
    refused: u64,
}

impl Timeline {
    /// The part of a `gap` before a packet that arrived at `arrived_ns` that fits in the time
    /// that passed (plus the slack).
    fn allow_gap(&mut self, arrived_ns: u64, gap: u32) -> u32 {
        let start = *self.start_ns.get_or_insert(arrived_ns);
        let elapsed = (u128::from(arrived_ns.saturating_sub(start)) * 8000 / 1_000_000_000) as u64;
        let room = (elapsed + GAP_SLACK_SAMPLES).saturating_sub(self.samples);
        let allowed = u64::from(gap).min(room);
        self.refused += u64::from(gap) - allowed;
        allowed as u32
    }

    fn played(&mut self, arrived_ns: u64, samples: u64) {
        self.start_ns.get_or_insert(arrived_ns);
        self.samples += samples;
    }
}

#[derive(Debug)]
struct Slot {
    ext_seq: u64,
    timestamp: u32,
    payload_type: u8,
    arrived_ns: u64,
    len: usize,
    data: [u8; MAX_PAYLOAD],
}

#[derive(Debug)]
struct Source {
    stats: ReceiveStats,
    base_ext: u64,
    max_ext: u64,
    /// Next extended sequence number to play out.
    next_ext: u64,
    /// Timestamp just after the last audio played out (where the next should start).
    play_ts: Option<u32>,
    /// Recent played-out / given-up sequence numbers, to tell duplicates from late packets.
    history: u64,
    buffer: Vec<Slot>,
    last_transit: Option<i64>,
    jitter: f64,
    last_arrival_ns: u64,
}

/// The receiving state of one socket (one port or group).
#[derive(Debug)]
pub struct ReceiverState {
    config: ReorderConfig,
    sources: Vec<(u32, Source)>,
    active: Option<u32>,
    counters: ReceiverCounters,
    timeline: Timeline,
    g722: bool,
}

impl ReceiverState {
    /// A receiver with the given reorder settings.
    pub fn new(config: ReorderConfig) -> Self {
        let depth = config.depth.clamp(1, 32);
        ReceiverState {
            config: ReorderConfig { depth, ..config },
            sources: Vec::new(),
            active: None,
            counters: ReceiverCounters::default(),
            timeline: Timeline::default(),
            g722: false,
        }
    }

    /// Also accept G.722 (payload type 9) from now on. Its RTP clock is 8 kHz like G.711's and a
    /// 20 ms packet is 160 bytes, so gaps, loss and jitter are counted the same way; only a
    /// consumer that decodes G.722 should call this (the others would play its bytes as G.711).
    pub fn accept_g722(&mut self) {
        self.g722 = true;
    }

    /// Counters across all sources.
    pub fn counters(&self) -> ReceiverCounters {
        ReceiverCounters {
            gap_samples_refused: self.timeline.refused,
            ..self.counters
        }
    }

    /// Per-SSRC statistics, in order of first arrival among those still tracked.
    pub fn stats(&self) -> Vec<ReceiveStats> {
        self.sources.iter().map(|(_, s)| s.stats).collect()
    }

    /// Feed one datagram that arrived at `now_ns`.
    pub fn on_packet(&mut self, now_ns: u64, data: &[u8], mut out: impl FnMut(ReceiverEvent)) {
        self.counters.datagrams += 1;
        let Ok((h, payload)) = RtpHeader::parse(data) else {
            self.counters.malformed += 1;
            return;
        };
        let g722 = self.g722 && h.payload_type == crate::rtp::g722::G722_PAYLOAD_TYPE;
        if Law::from_payload_type(h.payload_type).is_none() && !g722 {
            self.counters.unsupported += 1;
            return;
        }
        if payload.len() > MAX_PAYLOAD || payload.is_empty() {
            self.counters.unsupported += 1;
            return;
        }
        if self.active != Some(h.ssrc) {
            let previous = self.active;
            if previous.is_some() {
                self.counters.ssrc_changes += 1;
                // The old source will not continue: play out what it still holds.
                if let Some(prev) = previous {
                    self.drain_source(prev, &mut out);
                }
            }
            self.active = Some(h.ssrc);
            if !self.sources.iter().any(|(s, _)| *s == h.ssrc) {
                if self.sources.len() == MAX_SOURCES {
                    let oldest = self
                        .sources
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, (_, s))| s.last_arrival_ns)
                        .map(|(i, _)| i)
                        .unwrap_or(0);
                    self.sources.remove(oldest);
                }
                self.sources.push((h.ssrc, Source::new(h.ssrc, h.sequence)));
            }
            out(ReceiverEvent::NewSource {
                ssrc: h.ssrc,
                previous,
            });
        }
        let depth = self.config.depth;
        let i = self.source_index(h.ssrc);
        let src = &mut self.sources[i].1;
        src.last_arrival_ns = now_ns;
        src.update_jitter(now_ns, h.timestamp);
        let ext = src.extend(h.sequence);
        if ext < src.next_ext {
            if src.was_seen(ext) {
                src.stats.duplicates += 1;
            } else {
                src.stats.late += 1;
                src.stats.received += 1;
                src.mark_seen(ext);
            }
            src.refresh_loss();
            return;
        }
        if src.buffer.iter().any(|s| s.ext_seq == ext) {
            src.stats.duplicates += 1;
            return;
        }
        if ext < src.max_ext {
            src.stats.reordered += 1;
        }
        src.stats.received += 1;
        src.max_ext = src.max_ext.max(ext);
        let mut slot = Slot {
            ext_seq: ext,
            timestamp: h.timestamp,
            payload_type: h.payload_type,
            arrived_ns: now_ns,
            len: payload.len(),
            data: [0; MAX_PAYLOAD],
        };
        slot.data[..payload.len()].copy_from_slice(payload);
        let pos = src.buffer.partition_point(|s| s.ext_seq < ext);
        src.buffer.insert(pos, slot);
        src.release(depth, None, &mut self.timeline, &mut out);
        src.refresh_loss();
    }

    /// Give up on missing packets whose successors have waited longer than the configured
    /// maximum. Call it when no packet has arrived for a while (e.g. on a receive timeout).
    pub fn on_timeout(&mut self, now_ns: u64, mut out: impl FnMut(ReceiverEvent)) {
        let (depth, wait) = (self.config.depth, self.config.max_wait_ns);
        for (_, src) in &mut self.sources {
            let older_than = Some(now_ns.saturating_sub(wait));
            src.release(depth, older_than, &mut self.timeline, &mut out);
            src.refresh_loss();
        }
    }

    /// Play out everything buffered (end of recording).
    pub fn flush(&mut self, mut out: impl FnMut(ReceiverEvent)) {
        let ssrcs: Vec<u32> = self.sources.iter().map(|(s, _)| *s).collect();
        for ssrc in ssrcs {
            self.drain_source(ssrc, &mut out);
        }
    }

    fn drain_source(&mut self, ssrc: u32, out: &mut impl FnMut(ReceiverEvent)) {
        let i = self.source_index(ssrc);
        let src = &mut self.sources[i].1;
        src.release(0, Some(u64::MAX), &mut self.timeline, out);
        src.refresh_loss();
    }

    fn source_index(&self, ssrc: u32) -> usize {
        self.sources
            .iter()
            .position(|(s, _)| *s == ssrc)
            .expect("source exists: inserted on first packet")
    }
}

impl Source {
    fn new(ssrc: u32, first_seq: u16) -> Self {
        // Extended numbers start one cycle up so a packet just before the first is not negative.
        let base = (1u64 << 16) + first_seq as u64;
        Source {
            stats: ReceiveStats {
                ssrc,
                ..ReceiveStats::default()
            },
            base_ext: base,
            max_ext: base,
            next_ext: base,
            play_ts: None,
            history: 0,
            buffer: Vec::with_capacity(8),
            last_transit: None,
            jitter: 0.0,
            last_arrival_ns: 0,
        }
    }

    /// Extend a 16-bit sequence number to the 64-bit one nearest the highest seen.
    fn extend(&self, seq: u16) -> u64 {
        let cycle = self.max_ext & !0xFFFF;
        let candidates = [cycle.wrapping_sub(1 << 16), cycle, cycle + (1 << 16)];
        candidates
            .iter()
            .map(|c| c + seq as u64)
            .min_by_key(|e| e.abs_diff(self.max_ext))
            .unwrap_or(cycle + seq as u64)
    }

    fn was_seen(&self, ext: u64) -> bool {
        let back = self.next_ext - 1 - ext;
        back < 64 && self.history & (1 << back) != 0
    }

    fn mark_seen(&mut self, ext: u64) {
        let back = self.next_ext - 1 - ext;
        if back < 64 {
            self.history |= 1 << back;
        }
    }

    /// Move `next_ext` on by one, recording whether that number was received.
    fn advance(&mut self, received: bool) {
        self.history = (self.history << 1) | received as u64;
        self.next_ext += 1;
    }

    /// Play out in-order packets; give up on missing ones while the buffer holds more than
    /// `depth` packets, or while its oldest packet arrived before `older_than`.
    fn release(
        &mut self,
        depth: usize,
        older_than: Option<u64>,
        timeline: &mut Timeline,
        out: &mut impl FnMut(ReceiverEvent),
    ) {
        loop {
            let Some((first_ext, first_arrival)) =
                self.buffer.first().map(|s| (s.ext_seq, s.arrived_ns))
            else {
                return;
            };
            let stale = older_than.is_some_and(|t| first_arrival <= t);
            if first_ext != self.next_ext && self.buffer.len() <= depth && !stale {
                return;
            }
            // Either the next packet is here, or we stop waiting for the missing ones before it.
            while self.next_ext < first_ext {
                self.advance(false);
            }
            let slot = self.buffer.remove(0);
            self.advance(true);
            if let Some(expect_ts) = self.play_ts {
                let gap = slot.timestamp.wrapping_sub(expect_ts);
                let gap = if gap <= MAX_GAP_SAMPLES {
                    timeline.allow_gap(slot.arrived_ns, gap)
                } else {
                    0
                };
                if gap > 0 {
                    timeline.played(slot.arrived_ns, u64::from(gap));
                    self.stats.gap_samples += gap as u64;
                    out(ReceiverEvent::Gap {
                        ssrc: self.stats.ssrc,
                        samples: gap,
                    });
                }
            }
            self.play_ts = Some(slot.timestamp.wrapping_add(slot.len as u32));
            timeline.played(slot.arrived_ns, slot.len as u64);
            self.stats.payload_bytes += slot.len as u64;
            out(ReceiverEvent::Audio {
                ssrc: self.stats.ssrc,
                law: Law::from_payload_type(slot.payload_type).unwrap_or_default(),
                payload_type: slot.payload_type,
                sequence: slot.ext_seq as u16,
                payload: &slot.data[..slot.len],
            });
        }
    }

    fn refresh_loss(&mut self) {
        self.stats.expected = self.max_ext - self.base_ext + 1;
        self.stats.lost = self.stats.expected.saturating_sub(self.stats.received);
        self.stats.jitter_ms = self.jitter / 8.0;
    }

    fn update_jitter(&mut self, now_ns: u64, timestamp: u32) {
        // Arrival time in 8 kHz timestamp units; transit is arrival − RTP timestamp, mod 2^32.
        let arrival = (now_ns as u128 * 8000 / 1_000_000_000) as u32;
        let transit = arrival.wrapping_sub(timestamp) as i32 as i64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
            self.stats.max_transit_delta_ms = self.stats.max_transit_delta_ms.max(d / 8.0);
        }
        self.last_transit = Some(transit);
    }
}

#[cfg(test)]
mod tests;
