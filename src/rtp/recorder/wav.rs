//! WAV sink: 8 kHz (16 kHz for G.722) 16-bit mono PCM through `hound`, with a header that is rewritten at every
//! checkpoint so that a killed process leaves a file whose sizes cover everything up to the last
//! checkpoint.

use std::fs::File;
use std::io::BufWriter;

use hound::{SampleFormat, WavSpec, WavWriter};

/// The largest number of samples a WAV file can hold: its RIFF and data sizes are 32-bit byte
/// counts, and hound adds to them without checking (an overflow would panic in debug builds and
/// silently corrupt the header in release). The margin leaves room for the header itself.
pub(super) const WAV_MAX_SAMPLES: u64 = (u32::MAX as u64 - 4096) / 2;

pub(super) struct WavSink {
    writer: WavWriter<BufWriter<File>>,
}

impl WavSink {
    /// Write the header and make it durable at once, so that even a recording killed before its
    /// first second is a valid (empty) WAV file.
    pub(super) fn new(file: File, sample_rate: u32) -> Result<WavSink, hound::Error> {
        let spec = WavSpec {
            channels: 1,
            sample_rate,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let mut writer = WavWriter::new(BufWriter::new(file), spec)?;
        writer.flush()?;
        Ok(WavSink { writer })
    }

    pub(super) fn write(&mut self, pcm: &[i16]) -> Result<(), hound::Error> {
        // Chunks are at most one second (the recorder splits at checkpoints), so this loop is
        // short; `write_sample` goes into the BufWriter, not to the OS.
        for &sample in pcm {
            self.writer.write_sample(sample)?;
        }
        Ok(())
    }

    /// Rewrite the RIFF and data sizes and push everything to the OS. After this returns, a
    /// SIGKILL leaves a file that opens with every sample written so far: the kernel keeps what
    /// was written even if the process dies (only a power cut would need fsync).
    pub(super) fn checkpoint(&mut self) -> Result<(), hound::Error> {
        self.writer.flush()
    }

    pub(super) fn finish(self) -> Result<(), hound::Error> {
        self.writer.finalize()
    }
}
