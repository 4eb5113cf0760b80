//! What an emulated phone makes of the RTP it receives. Pure: datagrams and arrival times in,
//! counters out.
//!
//! [`RxAnalysis`] wraps the shared RTP receiver ([`ReceiverState`]: reordering, loss, duplicates,
//! RFC 3550 jitter) and adds what a Cisco phone checks on its own, packet by packet in arrival
//! order: the payload type (G.711 or G.722; anything else is dropped and counted), the payload
//! size (160 bytes, 20 ms), the sequence step (+1) and the timestamp step (160 per sequence step;
//! G.722's RTP clock is 8 kHz too). The audio the receiver plays out is decoded (G.722 to 16 kHz)
//! and measured: RMS and peak level over the whole stream, and the dominant frequency of the most
//! recent audio (up to just below half the decoded rate), computed on demand by
//! [`RxAnalysis::summary`].
//!
//! It does no I/O and reads no clock; [`super::media`] feeds it from a socket. Memory is fixed
//! after the first packets (a fleet holds a thousand of these): a 4096-sample ring of recent
//! audio plus the receiver's bounded buffers; the per-packet path allocates nothing.

use std::fmt;

use serde::Serialize;

use crate::g711::Law;
use crate::rtp::g722::{G722_PAYLOAD_TYPE, G722_SAMPLE_RATE, G722Decoder};
use crate::rtp::packet::{PAYLOAD_LEN, RtpHeader, TIMESTAMP_STEP};
use crate::rtp::receiver::{
    MAX_PAYLOAD, MAX_SOURCES, ReceiveStats, ReceiverEvent, ReceiverState, ReorderConfig,
};

/// Samples of recent audio kept for the frequency estimate (about half a second at 8 kHz, a
/// quarter at G.722's 16 kHz).
pub const RECENT_SAMPLES: usize = 4096;
/// Recent audio quieter than this (RMS, dBFS) has no dominant frequency.
pub const SILENCE_DBFS: f64 = -60.0;
/// Levels are reported no lower than this (digital silence would be −∞).
pub const LEVEL_FLOOR_DBFS: f64 = -120.0;
/// Range scanned for the dominant frequency, Hz.
const SCAN_LOW_HZ: f64 = 50.0;
/// The scan stops this far below half the sample rate (3950 Hz at 8 kHz, 7950 at 16 kHz).
const SCAN_MARGIN_HZ: f64 = 50.0;
/// Coarse scan: step and the length of the (most recent) window it looks at. A 512-sample Hann
/// window's main lobe is ±31 Hz wide, so a 10 Hz grid cannot step over a tone.
const COARSE_STEP_HZ: f64 = 20.0;
const COARSE_WINDOW: usize = 256;
/// Fine scan around the coarse peak over the whole recent window, then a parabola through the
/// three best points.
const FINE_SPAN_HZ: f64 = 20.0;
const FINE_STEP_HZ: f64 = 2.0;
/// Samples the fine search looks at (the most recent quarter second).
const FINE_WINDOW: usize = 2048;
const SAMPLE_RATE_HZ: f64 = 8000.0;
const WIDE_RATE_HZ: f64 = G722_SAMPLE_RATE as f64;
const FULL_SCALE: f64 = 32768.0;

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

/// The phone's own checks, in arrival order.
#[derive(Debug, Default, Clone, Copy)]
struct Checks {
    malformed: u64,
    bad_payload_type: u64,
    bad_payload_size: u64,
    sequence_errors: u64,
    timestamp_errors: u64,
    /// SSRC, sequence and timestamp of the previous G.711 packet.
    last: Option<(u32, u16, u32)>,
    /// `G.711u`, `G.711a` or `G.722`: the codec of the last valid packet.
    codec: Option<&'static str>,
    first_ns: Option<u64>,
    last_ns: Option<u64>,
    /// RFC 3550 jitter of the current SSRC (timestamp units), mirrored here so its maximum can be
    /// followed per packet without asking the receiver for a `Vec` of statistics.
    last_transit: Option<i64>,
    jitter: f64,
    max_jitter_ms: f64,
}

impl Checks {
    fn on_g711(&mut self, now_ns: u64, h: &RtpHeader, payload_len: usize) {
        if payload_len != PAYLOAD_LEN {
            self.bad_payload_size += 1;
        }
        match self.last {
            Some((ssrc, seq, ts)) if ssrc == h.ssrc => {
                let step = h.sequence.wrapping_sub(seq);
                if step != 1 {
                    self.sequence_errors += 1;
                }
                let expected = i32::from(step as i16).wrapping_mul(TIMESTAMP_STEP as i32) as u32;
                if h.timestamp.wrapping_sub(ts) != expected {
                    self.timestamp_errors += 1;
                }
            }
            // A new source starts its own sequence and timeline.
            _ => self.last_transit = None,
        }
        self.last = Some((h.ssrc, h.sequence, h.timestamp));
        // The receiver only takes payloads of 1..=MAX_PAYLOAD bytes into its jitter; so do we.
        if payload_len == 0 || payload_len > MAX_PAYLOAD {
            return;
        }
        let arrival = (u128::from(now_ns) * 8000 / 1_000_000_000) as u32;
        let transit = i64::from(arrival.wrapping_sub(h.timestamp) as i32);
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
            self.max_jitter_ms = self.max_jitter_ms.max(self.jitter / 8.0);
        } else {
            self.jitter = 0.0;
        }
        self.last_transit = Some(transit);
    }
}

/// Level and recent samples of the decoded audio.
struct Audio {
    sum_squares: f64,
    peak: u32,
    decoded: u64,
    /// The most recent [`RECENT_SAMPLES`] samples; `pos` is where the next one goes.
    recent: Box<[i16; RECENT_SAMPLES]>,
    pos: usize,
    /// Sample rate of the audio last pushed: 8000, or 16000 for G.722.
    rate: f64,
    /// The current stream's G.722 decoder (ADPCM state, boxed like the ring: a fleet holds a
    /// thousand of these), reset on a new SSRC.
    g722: Box<G722Decoder>,
}

impl Audio {
    fn new() -> Self {
        Audio {
            sum_squares: 0.0,
            peak: 0,
            decoded: 0,
            recent: Box::new([0; RECENT_SAMPLES]),
            pos: 0,
            rate: SAMPLE_RATE_HZ,
            g722: Box::default(),
        }
    }

    fn push(&mut self, pcm: &[i16]) {
        let mut sum = 0i64;
        for &s in pcm {
            sum += i64::from(s) * i64::from(s);
            self.peak = self.peak.max(s.unsigned_abs().into());
        }
        self.sum_squares += sum as f64;
        self.decoded += pcm.len() as u64;
        // Copy into the ring in at most two pieces.
        let mut rest = pcm;
        if rest.len() > RECENT_SAMPLES {
            rest = &rest[rest.len() - RECENT_SAMPLES..];
        }
        while !rest.is_empty() {
            let n = rest.len().min(RECENT_SAMPLES - self.pos);
            self.recent[self.pos..self.pos + n].copy_from_slice(&rest[..n]);
            self.pos = (self.pos + n) % RECENT_SAMPLES;
            rest = &rest[n..];
        }
    }

    /// The recent samples, oldest first.
    fn recent(&self) -> Vec<f64> {
        if self.decoded >= RECENT_SAMPLES as u64 {
            let (newer, older) = self.recent.split_at(self.pos);
            older.iter().chain(newer).map(|&s| f64::from(s)).collect()
        } else {
            self.recent[..self.pos]
                .iter()
                .map(|&s| f64::from(s))
                .collect()
        }
    }
}

/// Totals of sources the receiver no longer tracks (it keeps [`MAX_SOURCES`]).
#[derive(Debug, Default, Clone, Copy)]
struct Retired {
    packets: u64,
    octets: u64,
    lost: u64,
    duplicates: u64,
    reordered: u64,
}

impl Retired {
    fn add(&mut self, s: &ReceiveStats) {
        self.packets += s.received;
        self.octets += s.payload_bytes;
        self.lost += s.lost;
        self.duplicates += s.duplicates;
        self.reordered += s.reordered + s.late;
    }
}

/// One receiving stream's analysis.
pub struct RxAnalysis {
    receiver: ReceiverState,
    checks: Checks,
    audio: Audio,
    /// SSRCs the receiver tracks now (refreshed when a new one appears).
    tracked: [u32; MAX_SOURCES],
    tracked_len: usize,
    retired: Retired,
    /// The last frequency computed and the decoded-sample count it was computed at: a report
    /// of a phone that heard nothing new since costs nothing.
    frequency_cache: std::cell::Cell<Option<(u64, Option<f64>)>>,
}

impl fmt::Debug for RxAnalysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxAnalysis")
            .field("checks", &self.checks)
            .field("decoded_samples", &self.audio.decoded)
            .field("tracked", &&self.tracked[..self.tracked_len])
            .finish_non_exhaustive()
    }
}

impl RxAnalysis {
    /// A fresh analysis.
    pub fn new() -> Self {
        let mut receiver = ReceiverState::new(ReorderConfig::default());
        receiver.accept_g722();
        RxAnalysis {
            receiver,
            checks: Checks::default(),
            audio: Audio::new(),
            tracked: [0; MAX_SOURCES],
            tracked_len: 0,
            retired: Retired::default(),
            frequency_cache: std::cell::Cell::new(None),
        }
    }

    /// Dominant frequency of the recent audio, computed once per new audio.
    fn frequency(&self) -> Option<f64> {
        let decoded = self.audio.decoded;
        if let Some((at, f)) = self.frequency_cache.get()
            && at == decoded
        {
            return f;
        }
        let f = dominant_frequency(&self.audio.recent(), self.audio.rate);
        self.frequency_cache.set(Some((decoded, f)));
        f
    }

    /// Feed one datagram that arrived at `now_ns`; `pcm` gets the decoded audio in play-out
    /// order (for a WAV of what the phone heard), silence not included: 8 kHz, or 16 kHz for
    /// G.722.
    pub fn on_datagram(&mut self, now_ns: u64, data: &[u8], mut pcm: impl FnMut(&[i16])) {
        self.feed(now_ns, data, |_, audio| {
            if let Some(audio) = audio {
                pcm(audio);
            }
        });
    }

    /// Like [`RxAnalysis::on_datagram`], but hands over the receiver's events (audio, gaps, new
    /// sources) in play-out order, e.g. for [`crate::rtp::recorder::Recorder::record`], which
    /// keeps the timeline true by filling gaps with silence.
    pub fn on_datagram_events(
        &mut self,
        now_ns: u64,
        data: &[u8],
        mut events: impl FnMut(&ReceiverEvent),
    ) {
        self.feed(now_ns, data, |e, _| events(e));
    }

    /// Give up on missing packets that have been waited for too long (see
    /// [`ReceiverState::on_timeout`]); audio released by that is analysed and handed over.
    pub fn on_timeout(&mut self, now_ns: u64, mut events: impl FnMut(&ReceiverEvent)) {
        let audio = &mut self.audio;
        self.receiver
            .on_timeout(now_ns, |e| Self::play(audio, &e, &mut |e, _| events(e)));
    }

    /// Play out everything still buffered (end of the stream).
    pub fn flush(&mut self, mut events: impl FnMut(&ReceiverEvent)) {
        let audio = &mut self.audio;
        self.receiver
            .flush(|e| Self::play(audio, &e, &mut |e, _| events(e)));
    }

    /// The counters now (computes the dominant frequency on demand).
    pub fn summary(&self) -> RxSummary {
        let stats = self.receiver.stats();
        let mut t = self.retired;
        for s in &stats {
            t.add(s);
        }
        let current_ssrc = self.checks.last.map(|(ssrc, ..)| ssrc);
        let avg_jitter_ms = stats
            .iter()
            .find(|s| Some(s.ssrc) == current_ssrc)
            .map_or(0.0, |s| s.jitter_ms);
        let counters = self.receiver.counters();
        let a = &self.audio;
        let (level_dbfs, peak_dbfs) = if a.decoded == 0 {
            (None, None)
        } else {
            let rms = (a.sum_squares / a.decoded as f64).sqrt();
            (Some(dbfs(rms)), Some(dbfs(f64::from(a.peak))))
        };
        RxSummary {
            packets: t.packets,
            octets: t.octets,
            lost: t.lost,
            duplicates: t.duplicates,
            reordered: t.reordered,
            malformed: self.checks.malformed,
            bad_payload_type: self.checks.bad_payload_type,
            bad_payload_size: self.checks.bad_payload_size,
            sequence_errors: self.checks.sequence_errors,
            timestamp_errors: self.checks.timestamp_errors,
            ssrc_changes: counters.ssrc_changes,
            codec: self.checks.codec.map(str::to_string),
            avg_jitter_ms,
            max_jitter_ms: self.checks.max_jitter_ms.max(avg_jitter_ms),
            level_dbfs,
            peak_dbfs,
            frequency_hz: self.frequency(),
            decoded_samples: a.decoded,
            first_packet_ns: self.checks.first_ns,
            last_packet_ns: self.checks.last_ns,
        }
    }

    /// Check one datagram, hand it to the receiver, analyse what it plays out.
    fn feed(
        &mut self,
        now_ns: u64,
        data: &[u8],
        mut out: impl FnMut(&ReceiverEvent, Option<&[i16]>),
    ) {
        let Ok((h, payload)) = RtpHeader::parse(data) else {
            self.checks.malformed += 1;
            return;
        };
        let codec = match (Law::from_payload_type(h.payload_type), h.payload_type) {
            (Some(Law::Ulaw), _) => "G.711u",
            (Some(Law::Alaw), _) => "G.711a",
            (None, G722_PAYLOAD_TYPE) => "G.722",
            (None, _) => {
                // A phone drops what it cannot decode; it touches no other counter.
                self.checks.bad_payload_type += 1;
                return;
            }
        };
        let c = &mut self.checks;
        c.first_ns.get_or_insert(now_ns);
        c.last_ns = Some(now_ns);
        c.codec = Some(codec);
        c.on_g711(now_ns, &h, payload.len());

        // Rare path: a new SSRC while the receiver is full makes it forget one; keep its totals.
        let known = self.tracked[..self.tracked_len].contains(&h.ssrc);
        let before = (!known && self.tracked_len == MAX_SOURCES).then(|| self.receiver.stats());
        let mut new_source = false;
        let audio = &mut self.audio;
        self.receiver.on_packet(now_ns, data, |e| {
            new_source |= matches!(e, ReceiverEvent::NewSource { .. });
            Self::play(audio, &e, &mut out);
        });
        if new_source {
            let after = self.receiver.stats();
            for gone in before.iter().flatten() {
                if !after.iter().any(|s| s.ssrc == gone.ssrc) {
                    self.retired.add(gone);
                }
            }
            self.tracked_len = after.len().min(MAX_SOURCES);
            for (t, s) in self.tracked.iter_mut().zip(&after) {
                *t = s.ssrc;
            }
        }
    }

    fn play(
        audio: &mut Audio,
        e: &ReceiverEvent,
        out: &mut impl FnMut(&ReceiverEvent, Option<&[i16]>),
    ) {
        match e {
            ReceiverEvent::Audio {
                law,
                payload,
                payload_type,
                ..
            } => {
                let mut pcm = [0i16; 2 * MAX_PAYLOAD];
                let bytes = payload.len().min(MAX_PAYLOAD);
                let (n, rate) = if *payload_type == G722_PAYLOAD_TYPE {
                    (
                        audio.g722.decode_into(&payload[..bytes], &mut pcm),
                        WIDE_RATE_HZ,
                    )
                } else {
                    law.decode_into(&payload[..bytes], &mut pcm[..bytes]);
                    (bytes, SAMPLE_RATE_HZ)
                };
                audio.rate = rate;
                audio.push(&pcm[..n]);
                out(e, Some(&pcm[..n]));
            }
            ReceiverEvent::NewSource { .. } => {
                *audio.g722 = G722Decoder::new();
                out(e, None);
            }
            ReceiverEvent::Gap { .. } => out(e, None),
        }
    }
}

impl Default for RxAnalysis {
    fn default() -> Self {
        Self::new()
    }
}

/// A linear amplitude as dBFS (full scale 32768), floored at [`LEVEL_FLOOR_DBFS`].
fn dbfs(amplitude: f64) -> f64 {
    if amplitude <= 0.0 {
        return LEVEL_FLOOR_DBFS;
    }
    (20.0 * (amplitude / FULL_SCALE).log10()).max(LEVEL_FLOOR_DBFS)
}

/// The strongest frequency in `samples` (8 kHz), or `None` for silence or too little audio.
///
/// A Goertzel scan of the last 512 samples every 10 Hz finds the region; a 1 Hz scan of the
/// whole (Hann-windowed) buffer around it and a parabola through the log powers of the best
/// three points place the peak to a fraction of a hertz for a pure tone.
fn dominant_frequency(samples: &[f64], rate: f64) -> Option<f64> {
    if samples.len() < 64 {
        return None;
    }
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let rms =
        (samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    if dbfs(rms) < SILENCE_DBFS {
        return None;
    }
    let full = hann(&samples[samples.len().saturating_sub(FINE_WINDOW)..], mean);
    let coarse = hann(
        &samples[samples.len().saturating_sub(COARSE_WINDOW)..],
        mean,
    );

    let mut best = (SCAN_LOW_HZ, f64::MIN);
    let mut f = SCAN_LOW_HZ;
    while f <= rate / 2.0 - SCAN_MARGIN_HZ {
        let p = goertzel_power(&coarse, f, rate);
        if p > best.1 {
            best = (f, p);
        }
        f += COARSE_STEP_HZ;
    }

    let low = (best.0 - FINE_SPAN_HZ).max(FINE_STEP_HZ);
    let high = (best.0 + FINE_SPAN_HZ).min(rate / 2.0 - FINE_STEP_HZ);
    let mut fine = (best.0, f64::MIN);
    let mut f = low;
    while f <= high {
        let p = goertzel_power(&full, f, rate);
        if p > fine.1 {
            fine = (f, p);
        }
        f += FINE_STEP_HZ;
    }
    let (f1, p1) = fine;
    let p0 = goertzel_power(&full, f1 - FINE_STEP_HZ, rate);
    let p2 = goertzel_power(&full, f1 + FINE_STEP_HZ, rate);
    let (a, b, c) = (p0.max(1e-30).ln(), p1.max(1e-30).ln(), p2.max(1e-30).ln());
    let denom = a - 2.0 * b + c;
    let delta = if denom < 0.0 {
        (0.5 * (a - c) / denom).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    Some(f1 + delta * FINE_STEP_HZ)
}

/// `samples − mean` under a Hann window.
fn hann(samples: &[f64], mean: f64) -> Vec<f64> {
    let n = samples.len();
    let scale = std::f64::consts::TAU / (n.max(2) - 1) as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, s)| (s - mean) * (0.5 - 0.5 * (scale * i as f64).cos()))
        .collect()
}

/// Power of `x` at `hz` (Goertzel; any frequency, not only bin centres).
fn goertzel_power(x: &[f64], hz: f64, rate: f64) -> f64 {
    let coeff = 2.0 * (std::f64::consts::TAU * hz / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{Frame, Source, Tone};
    use crate::rtp::packet::{PACKET_LEN, Packetizer};

    const MS: u64 = 1_000_000;

    /// `n` packets of a tone (peak `dbfs`) from one packetizer, µ-law unless told.
    fn tone_packets(hz: f32, dbfs: f32, n: usize, law: Law) -> Vec<[u8; PACKET_LEN]> {
        let mut tone = Tone::new(hz, dbfs);
        let mut p = Packetizer::new(law, 0x1234_5678, 65_500, 4_000_000_000);
        (0..n)
            .map(|_| {
                let mut frame: Frame = [0; 160];
                tone.next_frame(&mut frame);
                let mut pkt = [0u8; PACKET_LEN];
                p.packetize_pcm(&frame, &mut pkt);
                pkt
            })
            .collect()
    }

    fn feed_all<'a>(rx: &mut RxAnalysis, packets: impl IntoIterator<Item = &'a [u8]>) {
        for (i, pkt) in packets.into_iter().enumerate() {
            rx.on_datagram(1_000 * MS + i as u64 * 20 * MS, pkt, |_| {});
        }
    }

    #[test]
    fn a_g722_stream_is_decoded_at_16_khz_and_measured_like_g711() {
        use crate::rtp::G722Encode;
        use crate::rtp::pacer::PayloadSource;
        // -10 dBFS at 6 kHz: above what G.711 can carry at all.
        let amplitude = 32767.0 * 10f64.powf(-10.0 / 20.0);
        let tone = (0u32..).map(move |i| {
            (amplitude * (std::f64::consts::TAU * 6000.0 * f64::from(i) / 16_000.0).sin()) as i16
        });
        let mut enc = G722Encode::new(tone);
        let mut p = Packetizer::g722(9, 100, 5_000);
        let packets: Vec<[u8; PACKET_LEN]> = (0..50)
            .map(|_| {
                let mut pkt = [0u8; PACKET_LEN];
                assert!(enc.next_payload(Packetizer::payload_mut(&mut pkt)));
                p.write_header(&mut pkt);
                pkt
            })
            .collect();
        let mut rx = RxAnalysis::new();
        let mut heard = 0;
        for (i, pkt) in packets.iter().enumerate() {
            rx.on_datagram(1_000 * MS + i as u64 * 20 * MS, pkt, |pcm| {
                heard += pcm.len()
            });
        }
        let s = rx.summary();
        assert_eq!(heard, 50 * 320, "16 kHz samples");
        assert_eq!(s.codec.as_deref(), Some("G.722"));
        assert_eq!((s.packets, s.lost, s.bad_payload_type), (50, 0, 0));
        assert_eq!(
            (s.sequence_errors, s.timestamp_errors, s.bad_payload_size),
            (0, 0, 0)
        );
        let f = s.frequency_hz.unwrap();
        assert!((f - 6000.0).abs() < 5.0, "6 kHz measured as {f}");
        let level = s.level_dbfs.unwrap();
        assert!(
            (-13.5..-10.0).contains(&level),
            "level {level} dBFS (sine RMS: -13)"
        );
    }

    #[test]
    fn tone_stream_is_counted_and_measured() {
        let packets = tone_packets(1000.0, -10.0, 50, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        let mut heard = 0;
        for (i, pkt) in packets.iter().enumerate() {
            rx.on_datagram(1_000 * MS + i as u64 * 20 * MS, pkt, |pcm| {
                heard += pcm.len()
            });
        }
        rx.flush(|_| {});
        let s = rx.summary();
        assert_eq!(s.packets, 50);
        assert_eq!(s.octets, 50 * 160);
        assert_eq!(s.lost, 0);
        assert_eq!(
            s.sequence_errors, 0,
            "the sequence wraps at 65535 without error"
        );
        assert_eq!(
            s.timestamp_errors, 0,
            "the timestamp wraps at 2^32 without error"
        );
        assert_eq!(s.bad_payload_size + s.bad_payload_type + s.malformed, 0);
        assert_eq!(s.codec.as_deref(), Some("G.711u"));
        assert_eq!(s.decoded_samples, 50 * 160);
        assert!(heard >= 45 * 160, "pcm callback saw {heard} samples");
        let f = s.frequency_hz.expect("a tone has a frequency");
        assert!((f - 1000.0).abs() < 5.0, "frequency {f}");
        // A sine's RMS is its peak − 3.01 dB.
        let level = s.level_dbfs.unwrap();
        assert!((level - (-10.0 - 3.0103)).abs() < 0.5, "level {level}");
        let peak = s.peak_dbfs.unwrap();
        assert!((peak - -10.0).abs() < 0.5, "peak {peak}");
        assert!(s.avg_jitter_ms.abs() < 1e-9 && s.max_jitter_ms.abs() < 1e-9);
        assert_eq!(s.first_packet_ns, Some(1_000 * MS));
        assert_eq!(s.last_packet_ns, Some(1_000 * MS + 49 * 20 * MS));
    }

    #[test]
    fn frequency_is_accurate_across_the_band_and_in_alaw() {
        for hz in [97.0, 440.0, 800.0, 1234.5, 2999.0, 3800.0] {
            let packets = tone_packets(hz, -20.0, 40, Law::Alaw);
            let mut rx = RxAnalysis::new();
            feed_all(&mut rx, packets.iter().map(|p| &p[..]));
            let s = rx.summary();
            let f = s.frequency_hz.unwrap();
            assert!((f - f64::from(hz)).abs() < 5.0, "{hz} Hz measured as {f}");
            assert_eq!(s.codec.as_deref(), Some("G.711a"));
        }
    }

    #[test]
    fn frequency_follows_the_most_recent_audio() {
        let mut packets = tone_packets(500.0, -10.0, 50, Law::Ulaw);
        let mut later = tone_packets(2000.0, -10.0, 100, Law::Ulaw);
        for (i, p) in later.iter_mut().enumerate() {
            // Continue the first stream's numbering.
            let seq = 65_500u16.wrapping_add(50 + i as u16);
            let ts = 4_000_000_000u32.wrapping_add(160 * (50 + i as u32));
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            p[4..8].copy_from_slice(&ts.to_be_bytes());
        }
        packets.extend(later);
        let mut rx = RxAnalysis::new();
        feed_all(&mut rx, packets.iter().map(|p| &p[..]));
        let f = rx.summary().frequency_hz.unwrap();
        assert!((f - 2000.0).abs() < 5.0, "{f}");
    }

    #[test]
    fn a_dropped_packet_is_lost_and_a_sequence_error() {
        let packets = tone_packets(1000.0, -10.0, 20, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        feed_all(
            &mut rx,
            packets
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 7)
                .map(|(_, p)| &p[..]),
        );
        rx.flush(|_| {});
        let s = rx.summary();
        assert_eq!(s.packets, 19);
        assert_eq!(s.lost, 1);
        assert_eq!(s.sequence_errors, 1);
        assert_eq!(
            s.timestamp_errors, 0,
            "the timestamp jumped with the sequence"
        );
    }

    #[test]
    fn gaps_reach_the_event_callback() {
        let packets = tone_packets(1000.0, -10.0, 10, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        let (mut audio, mut gap) = (0, 0);
        for (i, p) in packets.iter().enumerate().filter(|(i, _)| *i != 3) {
            rx.on_datagram_events(i as u64 * 20 * MS, p, |e| match e {
                ReceiverEvent::Audio { payload, .. } => audio += payload.len(),
                ReceiverEvent::Gap { samples, .. } => gap += *samples as usize,
                ReceiverEvent::NewSource { .. } => {}
            });
        }
        // Nothing more arrives: the timeout plays out what waits.
        rx.on_timeout(10_000 * MS, |e| {
            if let ReceiverEvent::Audio { payload, .. } = e {
                audio += payload.len();
            }
        });
        assert_eq!((audio, gap), (9 * 160, 160));
        assert_eq!(rx.summary().decoded_samples, 9 * 160);
    }

    #[test]
    fn wrong_payload_type_is_dropped_and_counted_only_there() {
        let mut packets = tone_packets(1000.0, -10.0, 10, Law::Ulaw);
        for p in &mut packets[4..6] {
            p[1] = 96;
        }
        let mut rx = RxAnalysis::new();
        feed_all(&mut rx, packets.iter().map(|p| &p[..]));
        rx.flush(|_| {});
        let s = rx.summary();
        assert_eq!(s.bad_payload_type, 2);
        assert_eq!(s.packets, 8);
        // The phone never saw them: the stream seems to skip two packets.
        assert_eq!(s.lost, 2);
        assert_eq!(s.sequence_errors, 1);
    }

    #[test]
    fn short_payloads_are_counted() {
        let packets = tone_packets(1000.0, -10.0, 10, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        for (i, p) in packets.iter().enumerate() {
            rx.on_datagram(i as u64 * 20 * MS, &p[..12 + 80], |_| {});
        }
        rx.flush(|_| {});
        let s = rx.summary();
        assert_eq!(s.bad_payload_size, 10);
        assert_eq!(s.packets, 10);
        assert_eq!(s.octets, 800);
    }

    #[test]
    fn timestamp_step_of_320_is_an_error() {
        let mut packets = tone_packets(1000.0, -10.0, 10, Law::Ulaw);
        for (i, p) in packets.iter_mut().enumerate() {
            p[4..8].copy_from_slice(&(1000 + 320 * i as u32).to_be_bytes());
        }
        let mut rx = RxAnalysis::new();
        feed_all(&mut rx, packets.iter().map(|p| &p[..]));
        let s = rx.summary();
        assert_eq!(s.timestamp_errors, 9);
        assert_eq!(s.sequence_errors, 0);
        assert_eq!(s.lost, 0);
    }

    #[test]
    fn silence_has_no_frequency() {
        let mut p = Packetizer::new(Law::Ulaw, 1, 0, 0);
        let mut rx = RxAnalysis::new();
        for i in 0..30 {
            let mut pkt = [0u8; PACKET_LEN];
            Packetizer::payload_mut(&mut pkt).fill(Law::Ulaw.silence());
            p.write_header(&mut pkt);
            rx.on_datagram(i * 20 * MS, &pkt, |_| {});
        }
        let s = rx.summary();
        assert_eq!(s.packets, 30);
        assert_eq!(s.frequency_hz, None);
        assert_eq!(s.level_dbfs, Some(LEVEL_FLOOR_DBFS));
        // Nothing decoded yet: no level at all.
        let empty = RxAnalysis::new().summary();
        assert_eq!(
            (empty.level_dbfs, empty.frequency_hz, empty.codec),
            (None, None, None)
        );
    }

    #[test]
    fn malformed_and_ssrc_changes_and_duplicates() {
        let packets = tone_packets(1000.0, -10.0, 10, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        rx.on_datagram(0, &[0x40; 20], |_| {});
        rx.on_datagram(0, &[0x80; 5], |_| {});
        feed_all(&mut rx, packets.iter().map(|p| &p[..]));
        rx.on_datagram(300 * MS, &packets[9], |_| {});
        let mut other = tone_packets(1000.0, -10.0, 3, Law::Ulaw);
        for p in &mut other {
            p[8..12].copy_from_slice(&99u32.to_be_bytes());
        }
        feed_all(&mut rx, other.iter().map(|p| &p[..]));
        rx.flush(|_| {});
        let s = rx.summary();
        assert_eq!(s.malformed, 2);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.ssrc_changes, 1);
        assert_eq!(s.packets, 13);
        assert_eq!(s.sequence_errors, 1, "the duplicate, not the new source");
    }

    #[test]
    fn totals_survive_more_sources_than_the_receiver_tracks() {
        let mut rx = RxAnalysis::new();
        let mut t = 0;
        for ssrc in 0..20u32 {
            let mut packets = tone_packets(1000.0, -10.0, 5, Law::Ulaw);
            for p in &mut packets {
                p[8..12].copy_from_slice(&ssrc.to_be_bytes());
                t += 20 * MS;
                rx.on_datagram(t, p, |_| {});
            }
        }
        rx.flush(|_| {});
        let s = rx.summary();
        assert_eq!(s.packets, 100);
        assert_eq!(s.octets, 100 * 160);
        assert_eq!(s.ssrc_changes, 19);
    }

    #[test]
    fn jitter_is_reported_now_and_at_most() {
        let packets = tone_packets(1000.0, -10.0, 60, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        for (i, p) in packets.iter().enumerate() {
            // The first 30 packets alternate 10 ms early / on time; then a steady clock.
            let wobble = if i < 30 && i % 2 == 1 { 10 * MS } else { 0 };
            rx.on_datagram(i as u64 * 20 * MS + 20 * MS - wobble, p, |_| {});
        }
        let s = rx.summary();
        assert!(s.max_jitter_ms > 5.0, "{s:?}");
        assert!(s.avg_jitter_ms < s.max_jitter_ms / 2.0, "{s:?}");
    }

    #[test]
    fn memory_stays_bounded() {
        let packets = tone_packets(1000.0, -10.0, 500, Law::Ulaw);
        let mut rx = RxAnalysis::new();
        feed_all(&mut rx, packets.iter().map(|p| &p[..]));
        // The struct itself is small; the audio ring is one boxed 8 KiB array.
        assert!(size_of::<RxAnalysis>() < 512, "{}", size_of::<RxAnalysis>());
        assert_eq!(size_of_val(&*rx.audio.recent), 2 * RECENT_SAMPLES);
        assert_eq!(rx.summary().decoded_samples, 500 * 160);
    }
}
