//! The unit every source yields: a 20 ms [`Frame`] of 160 mono samples at [`SAMPLE_RATE`], and
//! the [`Source`] trait that produces frames.

use std::time::Duration;

/// The only sample rate on the wire: G.711 narrowband.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// The packet interval.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// One 20 ms frame of 16-bit linear samples.
pub type Frame = [i16; FRAME_SAMPLES];

/// Anything that produces 20 ms frames.
pub trait Source: Send {
    /// Fill `frame` with the next 20 ms of audio. Returns `false` when the source has ended (the
    /// frame's contents are then unspecified). Live sources never block: they return silence when
    /// no audio has arrived yet.
    fn next_frame(&mut self, frame: &mut Frame) -> bool;
}
