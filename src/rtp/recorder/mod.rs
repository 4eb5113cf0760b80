//! Writing files of received audio: decoded phone-microphone audio (8 kHz mono `i16`) goes to a
//! WAV or an Ogg Opus file that stays readable if the process is killed outright. A G.722
//! recording ([`Recorder::create_g722`]) decodes payload type 9 to a 16 kHz WAV instead.
//!
//! Owns the file formats, gap filling with silence (so the file's timeline matches the
//! stream's), and durability: every second of audio ([`CHECKPOINT_SAMPLES`], silence included)
//! the WAV header is rewritten / the Ogg page is ended, and the bytes are handed to the OS, so a
//! SIGKILL loses at most the last second. It does not receive, reorder or decode packets, nor
//! decide how long a gap is: that is [`crate::rtp::receiver`], which hands over samples and gap
//! lengths.
//!
//! Layout: this file is the format-independent part (chunking at checkpoints, counting, errors);
//! `wav` and `opus` are the two sinks.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::audio::SAMPLE_RATE;
use crate::error::Invalid;
use crate::rtp::g722::{G722_PAYLOAD_TYPE, G722_SAMPLE_RATE, G722Decoder};
use crate::rtp::receiver::{MAX_PAYLOAD, ReceiverEvent};

mod opus;
mod wav;

use opus::{OpusSink, OpusSinkError};
use wav::{WAV_MAX_SAMPLES, WavSink};

/// Samples between two checkpoints: one second. A multiple of the 160-sample frame, so every
/// Opus checkpoint falls on a packet boundary.
pub const CHECKPOINT_SAMPLES: u64 = SAMPLE_RATE as u64;

/// The longest gap one [`Recorder::write_silence`] call fills: 10 minutes. A gap is computed from
/// RTP timestamps a phone (or anyone on the network) sends; a wild jump must not fill the disk.
pub const MAX_GAP_SAMPLES: u64 = 10 * 60 * SAMPLE_RATE as u64;

/// Silence is written from this static buffer, 200 ms at a time, so filling a gap allocates
/// nothing whatever its length.
static ZEROS: [i16; 1600] = [0; 1600];

/// The container and codec of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// 16-bit PCM WAV at 8 kHz mono: lossless, 16 kB/s, opens everywhere.
    Wav,
    /// Opus at ~16 kbit/s in Ogg (RFC 7845): about 2 kB/s, for long recordings.
    Opus,
}

impl RecordFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [RecordFormat; 2] = [RecordFormat::Wav, RecordFormat::Opus];

    /// The format a file name asks for: `.wav`, or `.opus` / `.ogg` (case-insensitive). `None`
    /// for any other or no extension, so the caller can ask for `--format`.
    pub fn from_path(p: &Path) -> Option<Self> {
        let ext = p.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("wav") {
            Some(RecordFormat::Wav)
        } else if ext.eq_ignore_ascii_case("opus") || ext.eq_ignore_ascii_case("ogg") {
            Some(RecordFormat::Opus)
        } else {
            None
        }
    }

    /// The name used on the command line and by [`fmt::Display`].
    pub const fn name(self) -> &'static str {
        match self {
            RecordFormat::Wav => "wav",
            RecordFormat::Opus => "opus",
        }
    }
}

impl fmt::Display for RecordFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RecordFormat {
    type Err = Invalid;

    /// `wav` or `opus`, case-insensitive; anything else is refused naming the allowed values.
    fn from_str(s: &str) -> Result<Self, Invalid> {
        RecordFormat::ALL
            .into_iter()
            .find(|f| s.eq_ignore_ascii_case(f.name()))
            .ok_or_else(|| Invalid::new("format", s, "allowed values are wav, opus"))
    }
}

/// A recording that could not be written. Every message names the file.
///
/// The underlying cause is part of the message (not a `source()`), so it shows however the
/// error is printed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created (missing directory, permissions, ...).
    #[error("cannot create recording {}: {cause}", path.display())]
    Create {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Writing or flushing failed (disk full, ...).
    #[error("cannot write recording {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// hound refused (its errors wrap I/O errors too).
    #[error("cannot write WAV recording {}: {cause}", path.display())]
    Wav { path: PathBuf, cause: hound::Error },
    /// libopus refused to set up or to encode.
    #[error("Opus encoder failed for recording {}: {cause}", path.display())]
    Opus {
        path: PathBuf,
        cause: audiopus::Error,
    },
    /// A WAV file's sizes are 32-bit: about 74 hours at 8 kHz. Nothing of the refused write was
    /// written; the file up to here is intact.
    #[error(
        "recording {} is full: a WAV file holds at most {max} samples (about 74 hours at 8 kHz); \
         start a new file or record with --format opus",
        path.display()
    )]
    WavFull { path: PathBuf, max: u64 },
}

enum Sink {
    Wav(WavSink),
    // Boxed: the encoder state and frame buffer make it several times the WAV sink's size.
    Opus(Box<OpusSink>),
}

/// Writes 8 kHz mono audio to a WAV or Ogg Opus file, one second durable at a time.
///
/// Dropping a recorder without [`Recorder::finish`] still finalises the file (errors are then
/// only logged); a killed process leaves a file that opens with all but at most the last second.
pub struct Recorder {
    path: PathBuf,
    sink: Sink,
    samples: u64,
    /// [`WAV_MAX_SAMPLES`] for WAV, unlimited for Opus; a field so tests can lower it.
    max_samples: u64,
    /// Samples per second of the file: 8000, or 16000 for G.722.
    rate: u32,
    /// The G.722 decoder of the current stream, in a G.722 recording.
    g722: Option<G722Decoder>,
}

impl Recorder {
    /// Create (or truncate) `path` and write the format's header, already durable: a recording
    /// killed before its first second is a valid empty file.
    pub fn create(path: &Path, format: RecordFormat) -> Result<Recorder, RecordError> {
        let file = File::create(path).map_err(|cause| RecordError::Create {
            path: path.to_path_buf(),
            cause,
        })?;
        let (sink, max_samples) = match format {
            RecordFormat::Wav => {
                let sink = WavSink::new(file, SAMPLE_RATE).map_err(|cause| RecordError::Wav {
                    path: path.to_path_buf(),
                    cause,
                })?;
                (Sink::Wav(sink), WAV_MAX_SAMPLES)
            }
            RecordFormat::Opus => {
                let sink = OpusSink::new(file, path).map_err(|e| opus_error(path, e))?;
                (Sink::Opus(Box::new(sink)), u64::MAX)
            }
        };
        Ok(Recorder {
            path: path.to_path_buf(),
            sink,
            samples: 0,
            max_samples,
            rate: SAMPLE_RATE,
            g722: None,
        })
    }

    /// Create a 16 kHz WAV recording of a G.722 stream (payload type 9; give the receiver
    /// [`crate::rtp::ReceiverState::accept_g722`]). G.711 packets in it are written at 16 kHz by
    /// repeating each sample, so the timeline stays true. WAV only: the Opus sink is 8 kHz.
    pub fn create_g722(path: &Path) -> Result<Recorder, RecordError> {
        let file = File::create(path).map_err(|cause| RecordError::Create {
            path: path.to_path_buf(),
            cause,
        })?;
        let sink = WavSink::new(file, G722_SAMPLE_RATE).map_err(|cause| RecordError::Wav {
            path: path.to_path_buf(),
            cause,
        })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            sink: Sink::Wav(sink),
            samples: 0,
            max_samples: WAV_MAX_SAMPLES,
            rate: G722_SAMPLE_RATE,
            g722: Some(G722Decoder::new()),
        })
    }

    /// Append mono samples at the file's rate (any length, including partial 20 ms frames).
    pub fn write(&mut self, pcm: &[i16]) -> Result<(), RecordError> {
        self.check_room(pcm.len() as u64)?;
        self.push(pcm)
    }

    /// Record what a receiver played out: audio is decoded (G.711, or G.722 in a G.722
    /// recording; G.722 in an 8 kHz recording becomes silence of its length) and appended, a gap
    /// becomes silence of its length, anything else is ignored. Allocates nothing.
    pub fn record(&mut self, event: &ReceiverEvent) -> Result<(), RecordError> {
        // Gaps are counted on the 8 kHz RTP clock, which G.722 shares with G.711.
        let per_tick = u64::from(self.rate / SAMPLE_RATE);
        match event {
            ReceiverEvent::Audio {
                law,
                payload,
                payload_type,
                ..
            } => {
                let mut pcm = [0i16; 2 * MAX_PAYLOAD];
                let bytes = payload.len().min(MAX_PAYLOAD);
                match (&mut self.g722, *payload_type) {
                    (Some(dec), G722_PAYLOAD_TYPE) => {
                        let n = dec.decode_into(&payload[..bytes], &mut pcm);
                        return self.write(&pcm[..n]);
                    }
                    // An 8 kHz file cannot hold G.722 (a receiver that accepts it feeds one only
                    // if asked to): its packets keep their place as silence.
                    (None, G722_PAYLOAD_TYPE) => return self.write_silence(bytes as u64),
                    _ => {}
                }
                let (narrow, wide) = pcm.split_at_mut(MAX_PAYLOAD);
                law.decode_into(&payload[..bytes], &mut narrow[..bytes]);
                if per_tick == 1 {
                    return self.write(&narrow[..bytes]);
                }
                for (pair, &s) in wide.chunks_exact_mut(2).zip(&narrow[..bytes]) {
                    pair.fill(s);
                }
                self.write(&wide[..2 * bytes])
            }
            ReceiverEvent::Gap { samples, .. } => {
                self.write_silence(u64::from(*samples) * per_tick)
            }
            ReceiverEvent::NewSource { .. } => {
                // A new stream starts with fresh ADPCM state.
                if let Some(dec) = &mut self.g722 {
                    *dec = G722Decoder::new();
                }
                Ok(())
            }
        }
    }

    /// Append `samples` of silence for lost or missing packets, so the file's timeline stays
    /// true to the stream's. One call fills at most 10 minutes ([`MAX_GAP_SAMPLES`] at 8 kHz);
    /// a longer gap is cut to that, with a warning.
    pub fn write_silence(&mut self, samples: u64) -> Result<(), RecordError> {
        let max_gap = MAX_GAP_SAMPLES * u64::from(self.rate / SAMPLE_RATE);
        let mut left = if samples > max_gap {
            tracing::warn!(
                path = %self.path.display(),
                samples,
                "gap longer than 10 minutes cut to 10 minutes"
            );
            max_gap
        } else {
            samples
        };
        self.check_room(left)?;
        // Short gaps (a lost packet or two) are not worth switching the encoder for.
        let long = left >= self.checkpoint_samples();
        if long {
            self.sink_filling_gap(true)?;
        }
        let mut filled = Ok(());
        while left > 0 && filled.is_ok() {
            // `left.min(len)` is at most ZEROS.len(), so it fits usize.
            let n = left.min(ZEROS.len() as u64) as usize;
            filled = self.push(&ZEROS[..n]);
            left -= n as u64;
        }
        // Restore the encoder even if filling failed; report the first error.
        let restored = if long {
            self.sink_filling_gap(false)
        } else {
            Ok(())
        };
        filled.and(restored)
    }

    /// Samples written so far, silence included (not the padding `finish` adds).
    pub fn samples_written(&self) -> u64 {
        self.samples
    }

    /// [`Self::samples_written`] as time at the file's rate.
    pub fn duration(&self) -> Duration {
        let rate = u64::from(self.rate);
        // Split to avoid overflowing the nanoseconds.
        Duration::from_secs(self.samples / rate)
            + Duration::from_nanos((self.samples % rate) * 1_000_000_000 / rate)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finalise the file (WAV sizes; Opus end padding, trimmed by the last granule, and the EOS
    /// page) and return the number of samples it holds.
    pub fn finish(self) -> Result<u64, RecordError> {
        let Recorder {
            path,
            sink,
            samples,
            ..
        } = self;
        match sink {
            Sink::Wav(sink) => sink
                .finish()
                .map_err(|cause| RecordError::Wav { path, cause })?,
            Sink::Opus(mut sink) => sink.finish().map_err(|e| opus_error(&path, e))?,
        }
        Ok(samples)
    }

    fn check_room(&self, more: u64) -> Result<(), RecordError> {
        if self.samples.saturating_add(more) > self.max_samples {
            return Err(RecordError::WavFull {
                path: self.path.clone(),
                max: self.max_samples,
            });
        }
        Ok(())
    }

    /// Hand samples to the sink, split so that a checkpoint happens exactly at every multiple of
    /// [`CHECKPOINT_SAMPLES`] (one second at the file's rate) however the caller slices its writes.
    fn push(&mut self, mut pcm: &[i16]) -> Result<(), RecordError> {
        let every = self.checkpoint_samples();
        while !pcm.is_empty() {
            // At most one second of samples, so it fits usize.
            let room = (every - self.samples % every) as usize;
            let (now, rest) = pcm.split_at(room.min(pcm.len()));
            self.sink_write(now)?;
            self.samples += now.len() as u64;
            if self.samples.is_multiple_of(every) {
                self.sink_checkpoint()?;
            }
            pcm = rest;
        }
        Ok(())
    }

    /// One second of samples at the file's rate ([`CHECKPOINT_SAMPLES`] at 8 kHz).
    fn checkpoint_samples(&self) -> u64 {
        u64::from(self.rate)
    }

    fn sink_write(&mut self, pcm: &[i16]) -> Result<(), RecordError> {
        match &mut self.sink {
            Sink::Wav(sink) => sink.write(pcm).map_err(|cause| RecordError::Wav {
                path: self.path.clone(),
                cause,
            }),
            Sink::Opus(sink) => sink.write(pcm).map_err(|e| opus_error(&self.path, e)),
        }
    }

    fn sink_filling_gap(&mut self, on: bool) -> Result<(), RecordError> {
        match &mut self.sink {
            Sink::Wav(_) => Ok(()),
            Sink::Opus(sink) => sink
                .set_filling_gap(on)
                .map_err(|e| opus_error(&self.path, e)),
        }
    }

    fn sink_checkpoint(&mut self) -> Result<(), RecordError> {
        match &mut self.sink {
            Sink::Wav(sink) => sink.checkpoint().map_err(|cause| RecordError::Wav {
                path: self.path.clone(),
                cause,
            }),
            Sink::Opus(sink) => sink.checkpoint().map_err(|e| opus_error(&self.path, e)),
        }
    }
}

fn opus_error(path: &Path, e: OpusSinkError) -> RecordError {
    let path = path.to_path_buf();
    match e {
        OpusSinkError::Io(cause) => RecordError::Io { path, cause },
        OpusSinkError::Codec(cause) => RecordError::Opus { path, cause },
    }
}

// The recorder moves into the listener's thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Recorder>();
};

#[cfg(test)]
mod tests {
    use super::*;

    fn read_wav(path: &Path) -> Vec<i16> {
        let reader = hound::WavReader::open(path).expect("open wav");
        assert_eq!(reader.spec().sample_rate, 8000);
        assert_eq!(reader.spec().channels, 1);
        reader
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .expect("decode wav")
    }

    #[test]
    fn format_parses_names_case_insensitively() {
        assert_eq!("wav".parse::<RecordFormat>(), Ok(RecordFormat::Wav));
        assert_eq!("opus".parse::<RecordFormat>(), Ok(RecordFormat::Opus));
        assert_eq!("WAV".parse::<RecordFormat>(), Ok(RecordFormat::Wav));
        for f in RecordFormat::ALL {
            assert_eq!(f.to_string().parse::<RecordFormat>(), Ok(f));
        }
    }

    #[test]
    fn format_error_names_value_and_allowed_values() {
        let e = "mp3".parse::<RecordFormat>().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("mp3"), "{msg}");
        assert!(msg.contains("wav") && msg.contains("opus"), "{msg}");
        assert_eq!(e.field, "format");
    }

    #[test]
    fn format_from_path_by_extension() {
        let f = |p: &str| RecordFormat::from_path(Path::new(p));
        assert_eq!(f("a.wav"), Some(RecordFormat::Wav));
        assert_eq!(f("dir.x/a.WAV"), Some(RecordFormat::Wav));
        assert_eq!(f("a.opus"), Some(RecordFormat::Opus));
        assert_eq!(f("a.ogg"), Some(RecordFormat::Opus));
        assert_eq!(f("a.Ogg"), Some(RecordFormat::Opus));
        assert_eq!(f("a.mp3"), None);
        assert_eq!(f("wav"), None);
        assert_eq!(f("a."), None);
    }

    #[test]
    fn silence_fill_counts_samples_and_keeps_timeline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gap.wav");
        let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
        rec.write(&[1000; 100]).unwrap();
        rec.write_silence(8000).unwrap();
        rec.write(&[-1000; 60]).unwrap();
        rec.write_silence(0).unwrap();
        assert_eq!(rec.samples_written(), 8160);
        assert_eq!(rec.duration(), Duration::from_millis(1020));
        assert_eq!(rec.finish().unwrap(), 8160);

        let samples = read_wav(&path);
        assert_eq!(samples.len(), 8160);
        assert!(samples[..100].iter().all(|&s| s == 1000));
        assert!(samples[100..8100].iter().all(|&s| s == 0));
        assert!(samples[8100..].iter().all(|&s| s == -1000));
    }

    #[test]
    fn receiver_events_become_decoded_audio_and_silence() {
        use crate::g711::Law;
        use crate::rtp::receiver::ReceiverEvent;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.wav");
        let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
        let payload = [Law::Alaw.encode(4000); 160];
        let events = [
            ReceiverEvent::NewSource {
                ssrc: 7,
                previous: None,
            },
            ReceiverEvent::Audio {
                ssrc: 7,
                law: Law::Alaw,
                payload_type: 8,
                sequence: 1,
                payload: &payload,
            },
            ReceiverEvent::Gap {
                ssrc: 7,
                samples: 80,
            },
            ReceiverEvent::Audio {
                ssrc: 7,
                law: Law::Alaw,
                payload_type: 8,
                sequence: 3,
                payload: &payload[..40],
            },
        ];
        for e in &events {
            rec.record(e).unwrap();
        }
        assert_eq!(rec.finish().unwrap(), 280);
        let samples = read_wav(&path);
        let level = Law::Alaw.decode(Law::Alaw.encode(4000));
        assert!(samples[..160].iter().all(|&s| s == level));
        assert!(samples[160..240].iter().all(|&s| s == 0));
        assert!(samples[240..].iter().all(|&s| s == level));
    }

    #[test]
    fn a_g722_recording_is_16_khz_with_gaps_doubled_and_g711_repeated() {
        use crate::g711::Law;
        use crate::rtp::g722::G722Encoder;
        use crate::rtp::receiver::ReceiverEvent;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.wav");
        let mut rec = Recorder::create_g722(&path).unwrap();
        let g722 = G722Encoder::new().encode_clip(&[3000; 320]);
        let pcmu = [Law::Ulaw.encode(2000); 160];
        let audio = |payload_type, payload| ReceiverEvent::Audio {
            ssrc: 1,
            law: Law::Ulaw,
            payload_type,
            sequence: 0,
            payload,
        };
        rec.record(&audio(9, &g722)).unwrap();
        rec.record(&ReceiverEvent::Gap {
            ssrc: 1,
            samples: 160,
        })
        .unwrap();
        rec.record(&audio(0, &pcmu)).unwrap();
        assert_eq!(rec.duration(), Duration::from_millis(60));
        assert_eq!(rec.finish().unwrap(), 960);
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        let samples: Vec<i16> = reader.into_samples().collect::<Result<_, _>>().unwrap();
        assert_eq!(samples.len(), 960);
        assert!(samples[320..640].iter().all(|&s| s == 0));
        let level = Law::Ulaw.decode(Law::Ulaw.encode(2000));
        assert!(samples[640..].iter().all(|&s| s == level));
    }

    #[test]
    fn silence_fill_counts_samples_opus() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gap.opus");
        let mut rec = Recorder::create(&path, RecordFormat::Opus).unwrap();
        rec.write(&[0; 77]).unwrap();
        rec.write_silence(16_003).unwrap();
        assert_eq!(rec.samples_written(), 16_080);
        // A long gap is filled at complexity 0; the encoder's own setting comes back after.
        let Sink::Opus(sink) = &rec.sink else {
            panic!("an Opus recorder has an Opus sink");
        };
        let (now, own) = sink.current_complexity();
        assert_eq!(now, own);
        assert!(own > 0);
        assert_eq!(rec.finish().unwrap(), 16_080);
    }

    #[test]
    fn gap_is_capped_at_ten_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cap.wav");
        let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
        rec.write_silence(u64::MAX).unwrap();
        assert_eq!(rec.samples_written(), MAX_GAP_SAMPLES);
        assert_eq!(rec.duration(), Duration::from_secs(600));
        rec.write_silence(MAX_GAP_SAMPLES + 1).unwrap();
        assert_eq!(rec.samples_written(), 2 * MAX_GAP_SAMPLES);
        rec.finish().unwrap();
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(u64::from(reader.duration()), 2 * MAX_GAP_SAMPLES);
    }

    #[test]
    fn duration_is_exact_for_partial_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::create(&dir.path().join("d.wav"), RecordFormat::Wav).unwrap();
        rec.write(&[0; 12_345]).unwrap();
        // 12345 samples × 125 µs
        assert_eq!(rec.duration(), Duration::from_micros(1_543_125));
    }

    #[test]
    fn create_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        for format in RecordFormat::ALL {
            let path = dir.path().join("no-such-dir").join(format!("x.{format}"));
            let Err(e) = Recorder::create(&path, format) else {
                panic!("creating {} should fail", path.display());
            };
            assert!(matches!(e, RecordError::Create { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
        }
    }

    #[test]
    fn full_wav_is_refused_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.wav");
        let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
        rec.max_samples = 1000;
        rec.write(&[7; 900]).unwrap();
        let e = rec.write(&[7; 101]).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        let e = rec.write_silence(101).unwrap_err();
        assert!(matches!(e, RecordError::WavFull { max: 1000, .. }), "{e:?}");
        // Nothing of the refused writes went in; what fits still does.
        rec.write(&[7; 100]).unwrap();
        assert_eq!(rec.finish().unwrap(), 1000);
        assert_eq!(read_wav(&path).len(), 1000);
    }

    #[test]
    fn wav_header_is_current_after_each_second() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.wav");
        let mut rec = Recorder::create(&path, RecordFormat::Wav).unwrap();
        // Valid and empty before any audio.
        assert_eq!(read_wav(&path).len(), 0);
        // Odd slices: the checkpoint must still land exactly on 8000.
        for _ in 0..(12_000 / 37) {
            rec.write(&[5; 37]).unwrap();
        }
        rec.write_silence(1000).unwrap();
        // The recorder is still open: the file must already show the first checkpoint.
        assert_eq!(read_wav(&path).len(), 8000);
        rec.write_silence(16_000 - rec.samples_written()).unwrap();
        assert_eq!(rec.samples_written(), 16_000);
        assert_eq!(read_wav(&path).len(), 16_000);
        drop(rec);
        // Dropping finalises too.
        assert_eq!(read_wav(&path).len(), 16_000);
    }

    #[test]
    fn opus_headers_follow_rfc_7845() {
        let head = opus::opus_head(312);
        assert_eq!(&head[..8], b"OpusHead");
        assert_eq!(head[8], 1);
        assert_eq!(head[9], 1);
        assert_eq!(u16::from_le_bytes([head[10], head[11]]), 312);
        assert_eq!(
            u32::from_le_bytes([head[12], head[13], head[14], head[15]]),
            8000
        );
        assert_eq!(&head[16..], &[0, 0, 0]);

        let tags = opus::opus_tags();
        assert_eq!(&tags[..8], b"OpusTags");
        assert_eq!(
            u32::from_le_bytes([tags[8], tags[9], tags[10], tags[11]]),
            8
        );
        assert_eq!(&tags[12..20], b"zonecast");
        assert_eq!(&tags[20..], &[0, 0, 0, 0]);
    }
}
