//! Reading sound files into mono samples: WAV through hound, MP3 / FLAC / Ogg Vorbis (and WAV
//! encodings hound lacks) through symphonia, headerless G.711 by extension.
//!
//! Returns the audio at its own rate; [`super::Clip::load`] resamples. Channels are mixed down
//! here, while reading, so a long stereo file never sits in memory twice.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::error::AudioError;
use crate::g711::Law;

/// Decoded audio, before resampling.
#[derive(Debug)]
pub(crate) enum Pcm {
    /// Already 8 kHz 16-bit (raw G.711): nothing to convert.
    Linear8k(Vec<i16>),
    /// Mono floats in [-1, 1) at `rate` Hz.
    Float { mono: Vec<f32>, rate: u32 },
}

/// Extensions of headerless G.711 files (8 kHz mono, one byte per sample).
const ULAW_EXTS: [&str; 5] = ["raw", "ulaw", "mu", "ul", "pcmu"];
const ALAW_EXTS: [&str; 4] = ["alaw", "al", "la", "pcma"];

/// Guard against a header claiming billions of samples: reserve at most this much up front.
const MAX_RESERVE: usize = 1 << 22;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AudioError + '_ {
    move |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn decode_err(path: &Path, reason: impl ToString) -> AudioError {
    AudioError::Decode {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn unsupported(path: &Path, reason: impl ToString) -> AudioError {
    AudioError::Unsupported {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Decode the file at `path`: by content when it starts with a RIFF/WAVE header, otherwise by
/// extension (raw G.711), otherwise whatever symphonia recognises.
pub(crate) fn decode_file(path: &Path) -> Result<Pcm, AudioError> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut head = [0u8; 12];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io(path)(e)),
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(io(path))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);

    if got == 12 && &head[..4] == b"RIFF" && &head[8..] == b"WAVE" {
        if let Some(pcm) = decode_wav(path, file)? {
            return Ok(pcm);
        }
        // A WAVE encoding hound does not read (µ-law, A-law, 64-bit float ...): symphonia may.
        let file = File::open(path).map_err(io(path))?;
        return decode_symphonia(path, file, Some("wav"));
    }
    match ext.as_deref() {
        Some(e) if ULAW_EXTS.contains(&e) => decode_raw(path, file, Law::Ulaw),
        Some(e) if ALAW_EXTS.contains(&e) => decode_raw(path, file, Law::Alaw),
        _ => decode_symphonia(path, file, ext.as_deref()),
    }
}

fn decode_raw(path: &Path, mut file: File, law: Law) -> Result<Pcm, AudioError> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io(path))?;
    let mut samples = vec![0i16; bytes.len()];
    law.decode_into(&bytes, &mut samples);
    Ok(Pcm::Linear8k(samples))
}

/// Mixes interleaved samples down to mono by averaging each frame's channels.
struct Mixdown {
    channels: usize,
    acc: f32,
    seen: usize,
    mono: Vec<f32>,
}

impl Mixdown {
    fn new(channels: usize, reserve: usize) -> Mixdown {
        Mixdown {
            channels: channels.max(1),
            acc: 0.0,
            seen: 0,
            mono: Vec::with_capacity(reserve.min(MAX_RESERVE)),
        }
    }

    #[inline]
    fn push(&mut self, sample: f32) {
        self.acc += sample;
        self.seen += 1;
        if self.seen == self.channels {
            self.mono.push(self.acc / self.channels as f32);
            self.acc = 0.0;
            self.seen = 0;
        }
    }
}

/// WAV through hound. `Ok(None)` when hound does not support the encoding, so the caller can
/// try symphonia.
fn decode_wav(path: &Path, file: File) -> Result<Option<Pcm>, AudioError> {
    let mut reader = match hound::WavReader::new(BufReader::new(file)) {
        Ok(r) => r,
        Err(hound::Error::Unsupported) => return Ok(None),
        Err(hound::Error::IoError(e)) if is_short_read(&e) => {
            return Err(decode_err(path, "the file ends inside the WAV header"));
        }
        Err(hound::Error::IoError(e)) => return Err(io(path)(e)),
        Err(e) => return Err(decode_err(path, format!("bad WAV header: {e}"))),
    };
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(decode_err(
            path,
            format!(
                "WAV header says {} channels at {} Hz",
                spec.channels, spec.sample_rate
            ),
        ));
    }
    let frames = usize::try_from(reader.duration()).unwrap_or(usize::MAX);
    let mut mix = Mixdown::new(usize::from(spec.channels), frames);
    // The common layouts are read in bulk: hound's per-sample iterator costs more than the
    // whole rest of a ringtone conversion.
    let bulk = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => Some(2),
        (hound::SampleFormat::Int, 24) => Some(3),
        (hound::SampleFormat::Int, 32) | (hound::SampleFormat::Float, 32) => Some(4),
        _ => None,
    };
    if let Some(width) = bulk {
        let samples = reader.len() as usize;
        let float = spec.sample_format == hound::SampleFormat::Float;
        let mut data = reader.into_inner();
        let mut bytes = Vec::with_capacity((samples * width).min(MAX_RESERVE * 4));
        let want = (samples * width) as u64;
        let got = std::io::Read::take(&mut data, want)
            .read_to_end(&mut bytes)
            .map_err(io(path))?;
        if (got as u64) < want {
            tracing::warn!(path = %path.display(), "WAV data ends early; using what is there");
        }
        for chunk in bytes.chunks_exact(width) {
            let s = match (width, float) {
                (2, _) => f32::from(i16::from_le_bytes([chunk[0], chunk[1]])) / 32768.0,
                (3, _) => {
                    let v = i32::from_le_bytes([0, chunk[0], chunk[1], chunk[2]]) >> 8;
                    v as f32 / 8_388_608.0
                }
                (_, true) => f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                (_, false) => {
                    i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as f32
                        / 2_147_483_648.0
                }
            };
            mix.push(s);
        }
        return Ok(Some(Pcm::Float {
            mono: mix.mono,
            rate: spec.sample_rate,
        }));
    }
    let result = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => read_all(reader.samples::<f32>(), |s| mix.push(s)),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            read_all(reader.samples::<i32>(), |s| mix.push(s as f32 * scale))
        }
        // 64-bit float and the like: symphonia's PCM decoder reads more layouts than hound.
        _ => return Ok(None),
    };
    match result {
        Ok(()) => {}
        // A recording cut off mid-write: keep what is there rather than refuse the whole file.
        Err(hound::Error::IoError(e)) if is_short_read(&e) => {
            tracing::warn!(path = %path.display(), "WAV data ends early; using what is there");
        }
        Err(hound::Error::IoError(e)) => return Err(io(path)(e)),
        Err(e) => return Err(decode_err(path, e)),
    }
    Ok(Some(Pcm::Float {
        mono: mix.mono,
        rate: spec.sample_rate,
    }))
}

/// Whether a hound read error means "the file ended early" rather than an OS failure: hound
/// reports short reads as a custom `Other` error, not as `UnexpectedEof`.
fn is_short_read(e: &std::io::Error) -> bool {
    e.raw_os_error().is_none() && matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::Other)
}

fn read_all<T>(
    samples: impl Iterator<Item = hound::Result<T>>,
    mut sink: impl FnMut(T),
) -> hound::Result<()> {
    for s in samples {
        sink(s?);
    }
    Ok(())
}

/// Everything else symphonia's probe recognises: MP3, FLAC, Ogg Vorbis, WAV variants.
fn decode_symphonia(path: &Path, file: File, ext: Option<&str>) -> Result<Pcm, AudioError> {
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::IoError(e) if e.kind() != ErrorKind::UnexpectedEof => io(path)(e),
            _ => unsupported(
                path,
                format!(
                    "not a WAV, MP3, FLAC or Ogg Vorbis file ({e}); headerless G.711 needs the \
                     extension .raw/.ulaw/.mu (µ-law) or .alaw/.al (A-law)"
                ),
            ),
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| unsupported(path, "no audio track"))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| unsupported(path, "the audio track has no codec parameters"))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| unsupported(path, format!("codec {}: {e}", params.codec)))?;
    let mut rate = params.sample_rate;

    let mut mix: Option<Mixdown> = None;
    let mut scratch: Vec<f32> = Vec::new();
    let mut bad_packets = 0u64;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // A chained Ogg stream or a cut-off file: what was decoded so far is the sound.
            Err(SymError::ResetRequired) => break,
            Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(SymError::IoError(e)) => return Err(io(path)(e)),
            Err(e) => return Err(decode_err(path, e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            // One corrupt packet costs a few ms of audio, not the whole announcement.
            Err(SymError::DecodeError(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(e) => return Err(decode_err(path, e)),
        };
        let spec = buf.spec();
        let channels = spec.channels().count();
        match rate {
            Some(r) if r != spec.rate() && mix.is_some() => {
                return Err(unsupported(path, "the sample rate changes mid-stream"));
            }
            _ => rate = Some(spec.rate()),
        }
        let mix = mix.get_or_insert_with(|| Mixdown::new(channels, 0));
        if mix.channels != channels.max(1) {
            return Err(unsupported(path, "the channel count changes mid-stream"));
        }
        buf.copy_to_vec_interleaved(&mut scratch);
        for &s in &scratch {
            mix.push(s);
        }
    }
    if bad_packets > 0 {
        tracing::warn!(path = %path.display(), bad_packets, "skipped undecodable packets");
    }
    let rate = rate
        .filter(|&r| r > 0)
        .ok_or_else(|| decode_err(path, "no sample rate"))?;
    match mix {
        Some(mix) => Ok(Pcm::Float {
            mono: mix.mono,
            rate,
        }),
        None if bad_packets > 0 => Err(decode_err(path, "no packet could be decoded")),
        None => Ok(Pcm::Float {
            mono: Vec::new(),
            rate,
        }),
    }
}
