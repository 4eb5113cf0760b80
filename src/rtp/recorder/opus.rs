//! Opus-in-Ogg sink (RFC 7845): libopus through `audiopus` at 8 kHz mono, one packet per 20 ms,
//! pages ended at every checkpoint so that a killed process loses at most the last second.
//!
//! Granule positions count 48 kHz samples as a decoder would output them, pre-skip included
//! (RFC 7845 §4): after packet `n` the page's granule is `n × 960`. The last page instead carries
//! `pre_skip + 6 × samples_in`, which tells players to drop the silence we padded with (end
//! trimming), so the file's duration is exactly what was written.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use audiopus::coder::Encoder;
use audiopus::{Application, Bitrate, Channels, SampleRate};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};

/// Target bitrate: plenty for narrowband speech (phones send G.711 at 64 kbit/s, whose content
/// is band-limited to 3.4 kHz), and a quarter of the size of the G.711 stream itself.
const BITRATE: i32 = 16_000;

/// Ogg Opus timestamps are always in 48 kHz samples, whatever the input rate.
const GRANULE_RATE: u32 = 48_000;
/// 48 kHz samples per 8 kHz sample.
const GRANULE_PER_SAMPLE: u64 = (GRANULE_RATE / SAMPLE_RATE) as u64;
/// 48 kHz samples per 20 ms packet.
const GRANULE_PER_PACKET: u64 = FRAME_SAMPLES as u64 * GRANULE_PER_SAMPLE;

/// libopus's recommended output buffer ("4000 bytes is the recommended maximum"); a 20 ms
/// packet at 16 kbit/s is about 40 bytes.
const MAX_PACKET: usize = 4000;

/// What RFC 7845 asks for in OpusTags: who wrote the stream.
const VENDOR: &str = "zonecast";

/// Errors of the Opus sink, before the recorder adds the path.
pub(super) enum OpusSinkError {
    Io(io::Error),
    Codec(audiopus::Error),
}

impl From<io::Error> for OpusSinkError {
    fn from(e: io::Error) -> Self {
        OpusSinkError::Io(e)
    }
}

impl From<audiopus::Error> for OpusSinkError {
    fn from(e: audiopus::Error) -> Self {
        OpusSinkError::Codec(e)
    }
}

/// The 19-byte identification header (RFC 7845 §5.1), mapping family 0 (mono/stereo, no table).
pub(super) fn opus_head(pre_skip: u16) -> [u8; 19] {
    let mut head = [0u8; 19];
    head[0..8].copy_from_slice(b"OpusHead");
    head[8] = 1; // version
    head[9] = 1; // channel count
    head[10..12].copy_from_slice(&pre_skip.to_le_bytes());
    head[12..16].copy_from_slice(&SAMPLE_RATE.to_le_bytes()); // input rate, informational
    head[16..18].copy_from_slice(&0i16.to_le_bytes()); // output gain
    head[18] = 0; // mapping family
    head
}

/// The comment header (RFC 7845 §5.2): vendor string, no user comments.
pub(super) fn opus_tags() -> Vec<u8> {
    let mut tags = Vec::with_capacity(8 + 4 + VENDOR.len() + 4);
    tags.extend_from_slice(b"OpusTags");
    // VENDOR is a short constant: its length fits in u32.
    tags.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
    tags.extend_from_slice(VENDOR.as_bytes());
    tags.extend_from_slice(&0u32.to_le_bytes());
    tags
}

pub(super) struct OpusSink {
    /// Only for the warning when finishing on drop fails (errors returned carry it already).
    path: PathBuf,
    encoder: Encoder,
    /// The encoder's own complexity, restored after a long gap was filled at complexity 0.
    complexity: u8,
    ogg: PacketWriter<'static, BufWriter<File>>,
    serial: u32,
    pre_skip: u16,
    /// Encoder delay in 8 kHz samples: at finish we encode this much padding past the end so
    /// that the last real samples come out of a decoder before end trimming cuts.
    lookahead: u64,
    frame: [i16; FRAME_SAMPLES],
    filled: usize,
    out: Box<[u8]>,
    /// The newest encoded packet and its granule position, not yet handed to the Ogg writer.
    /// Holding one back is what lets a checkpoint end a page: the ogg crate only ends a page
    /// while writing a packet, so the packet that completes a second is written with `EndPage`.
    held: Option<(Vec<u8>, u64)>,
    packets: u64,
    samples_in: u64,
    finished: bool,
}

impl OpusSink {
    /// Set up the encoder, then write OpusHead and OpusTags on their own pages and push them to
    /// the OS, so a recording killed at once is still a valid (empty) Ogg Opus stream.
    pub(super) fn new(file: File, path: &Path) -> Result<OpusSink, OpusSinkError> {
        let encoder = new_encoder()?;
        let lookahead = encoder.lookahead()?;
        let complexity = encoder.complexity()?;
        // libopus reports a few ms (52 samples at 8 kHz for VoIP): far below u16 in 48 kHz.
        let pre_skip = u16::try_from(u64::from(lookahead) * GRANULE_PER_SAMPLE).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("encoder lookahead of {lookahead} samples does not fit OpusHead"),
            )
        })?;
        // Any value identifies the single logical stream; a random one keeps files chainable.
        let serial = RandomState::new().hash_one(std::process::id()) as u32;

        let mut ogg = PacketWriter::new(BufWriter::new(file));
        ogg.write_packet(
            opus_head(pre_skip).to_vec(),
            serial,
            PacketWriteEndInfo::EndPage,
            0,
        )?;
        ogg.write_packet(opus_tags(), serial, PacketWriteEndInfo::EndPage, 0)?;
        ogg.inner_mut().flush()?;

        Ok(OpusSink {
            path: path.to_path_buf(),
            encoder,
            complexity,
            ogg,
            serial,
            pre_skip,
            lookahead: u64::from(lookahead),
            frame: [0; FRAME_SAMPLES],
            filled: 0,
            out: vec![0u8; MAX_PACKET].into_boxed_slice(),
            held: None,
            packets: 0,
            samples_in: 0,
            finished: false,
        })
    }

    pub(super) fn write(&mut self, mut pcm: &[i16]) -> Result<(), OpusSinkError> {
        self.samples_in += pcm.len() as u64;
        while !pcm.is_empty() {
            let n = (FRAME_SAMPLES - self.filled).min(pcm.len());
            self.frame[self.filled..self.filled + n].copy_from_slice(&pcm[..n]);
            self.filled += n;
            pcm = &pcm[n..];
            if self.filled == FRAME_SAMPLES {
                self.encode_frame()?;
            }
        }
        Ok(())
    }

    /// End the Ogg page with the newest packet and push it to the OS. Only whole packets can be
    /// made durable; the recorder checkpoints every 8000 samples, a multiple of 160, so the
    /// partial frame is then empty.
    pub(super) fn checkpoint(&mut self) -> Result<(), OpusSinkError> {
        if let Some((packet, granule)) = self.held.take() {
            self.ogg
                .write_packet(packet, self.serial, PacketWriteEndInfo::EndPage, granule)?;
        }
        self.ogg.inner_mut().flush()?;
        Ok(())
    }

    /// Switch to complexity 0 while filling a long gap and back afterwards. A gap is digital
    /// silence, which sounds the same at any complexity, and libopus takes ~100 µs per 20 ms frame
    /// at its default against ~20 µs at 0: a 10-minute gap would otherwise hold the caller's
    /// thread for seconds.
    pub(super) fn set_filling_gap(&mut self, on: bool) -> Result<(), OpusSinkError> {
        self.encoder
            .set_complexity(if on { 0 } else { self.complexity })?;
        Ok(())
    }

    /// The encoder's current complexity, for tests that a gap restores it.
    #[cfg(test)]
    pub(super) fn current_complexity(&self) -> (u8, u8) {
        (
            self.encoder.complexity().unwrap_or(u8::MAX),
            self.complexity,
        )
    }

    /// Pad the last partial frame, encode past the encoder's lookahead, and write the final
    /// packet on an EOS page whose granule trims the padding.
    pub(super) fn finish(&mut self) -> Result<(), OpusSinkError> {
        // Set first: if finishing fails, Drop must not try again on a half-written stream.
        self.finished = true;
        if self.filled > 0 {
            self.frame[self.filled..].fill(0);
            self.encode_frame()?;
        }
        while self.packets * (FRAME_SAMPLES as u64) < self.samples_in + self.lookahead
            || self.held.is_none()
        {
            // `held.is_none()`: the last page ended exactly at a checkpoint (or nothing was
            // written); the EOS flag needs a packet to ride on.
            self.frame.fill(0);
            self.encode_frame()?;
        }
        let end = u64::from(self.pre_skip) + self.samples_in * GRANULE_PER_SAMPLE;
        if let Some((packet, _)) = self.held.take() {
            self.ogg
                .write_packet(packet, self.serial, PacketWriteEndInfo::EndStream, end)?;
        }
        self.ogg.inner_mut().flush()?;
        Ok(())
    }

    fn encode_frame(&mut self) -> Result<(), OpusSinkError> {
        let len = self.encoder.encode(&self.frame, &mut self.out)?;
        self.filled = 0;
        self.packets += 1;
        let packet = self.out[..len].to_vec();
        if let Some((previous, granule)) = self
            .held
            .replace((packet, self.packets * GRANULE_PER_PACKET))
        {
            self.ogg.write_packet(
                previous,
                self.serial,
                PacketWriteEndInfo::NormalPacket,
                granule,
            )?;
        }
        Ok(())
    }
}

impl Drop for OpusSink {
    /// A recorder dropped without `finish` (an early `?` in the caller) still gets its last
    /// second and its EOS page. Errors cannot be returned from here, only logged.
    fn drop(&mut self) {
        if !self.finished
            && let Err(e) = self.finish()
        {
            let cause = match e {
                OpusSinkError::Io(e) => e.to_string(),
                OpusSinkError::Codec(e) => e.to_string(),
            };
            tracing::warn!(
                "finishing Opus recording {} on drop failed: {cause}",
                self.path.display()
            );
        }
    }
}

fn new_encoder() -> Result<Encoder, audiopus::Error> {
    let mut encoder = Encoder::new(SampleRate::Hz8000, Channels::Mono, Application::Voip)?;
    encoder.set_bitrate(Bitrate::BitsPerSecond(BITRATE))?;
    Ok(encoder)
}
