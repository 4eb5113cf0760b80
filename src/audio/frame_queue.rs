//! [`FrameQueue`]: cuts a live stream of samples into 20 ms frames and hands them to a consumer
//! that must never wait, keeping at most one finished frame in reserve.
//!
//! This is the whole latency policy of the microphone, kept free of threads and devices so it
//! can be tested directly: the device side pushes samples whenever its callback runs, the pacer
//! pops one frame every 20 ms. A paging announcement must stay live, so when the device runs
//! ahead the oldest frame is dropped (an *overrun*) rather than queued, and when the pacer finds
//! nothing it sends silence (an *underrun*) rather than wait. At most one frame of buffering is
//! ever added beyond the frame being filled.

use super::frame::{FRAME_SAMPLES, Frame};

/// Counters of a [`FrameQueue`] (and of a microphone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueStats {
    /// Complete frames produced by the device side.
    pub frames: u64,
    /// Frames handed to the consumer (the rest were dropped, or are waiting).
    pub delivered: u64,
    /// Times the consumer found no frame and got silence instead.
    pub underruns: u64,
    /// Frames dropped because a newer one arrived before the consumer took them.
    pub overruns: u64,
}

/// Frame chunker with a one-frame mailbox. See the module docs for the policy.
#[derive(Debug, Clone)]
pub struct FrameQueue {
    filling: Frame,
    filled: usize,
    ready: Option<Frame>,
    stats: QueueStats,
}

impl Default for FrameQueue {
    fn default() -> Self {
        FrameQueue::new()
    }
}

impl FrameQueue {
    /// An empty queue.
    pub fn new() -> FrameQueue {
        FrameQueue {
            filling: [0; FRAME_SAMPLES],
            filled: 0,
            ready: None,
            stats: QueueStats::default(),
        }
    }

    /// Append samples (any count); every completed frame replaces the waiting one. Allocates
    /// nothing.
    pub fn push_samples(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() {
            let take = (FRAME_SAMPLES - self.filled).min(samples.len());
            self.filling[self.filled..self.filled + take].copy_from_slice(&samples[..take]);
            self.filled += take;
            samples = &samples[take..];
            if self.filled == FRAME_SAMPLES {
                self.filled = 0;
                self.stats.frames += 1;
                if self.ready.replace(self.filling).is_some() {
                    self.stats.overruns += 1;
                }
            }
        }
    }

    /// Take the waiting frame into `out` and return `true`; with none waiting, fill `out` with
    /// silence, count an underrun and return `false`. Never blocks.
    pub fn pop(&mut self, out: &mut Frame) -> bool {
        match self.ready.take() {
            Some(frame) => {
                *out = frame;
                self.stats.delivered += 1;
                true
            }
            None => {
                out.fill(0);
                self.stats.underruns += 1;
                false
            }
        }
    }

    /// Whether a complete frame is waiting.
    pub fn has_frame(&self) -> bool {
        self.ready.is_some()
    }

    /// Samples of the frame being filled.
    pub fn partial_len(&self) -> usize {
        self.filled
    }

    /// The counters so far.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(start: i16, n: usize) -> Vec<i16> {
        (0..n).map(|i| start.wrapping_add(i as i16)).collect()
    }

    #[test]
    fn chunks_uneven_pushes_into_frames_in_order() {
        let mut q = FrameQueue::new();
        let input = ramp(0, 2 * FRAME_SAMPLES);
        let mut out = [0; FRAME_SAMPLES];
        // Device callbacks of odd sizes.
        q.push_samples(&input[..7]);
        q.push_samples(&input[7..100]);
        assert!(!q.has_frame());
        assert_eq!(q.partial_len(), 100);
        q.push_samples(&input[100..161]);
        assert!(q.has_frame());
        assert!(q.pop(&mut out));
        assert_eq!(out[..], input[..FRAME_SAMPLES]);
        q.push_samples(&input[161..]);
        assert!(q.pop(&mut out));
        assert_eq!(out[..], input[FRAME_SAMPLES..]);
        assert_eq!(
            q.stats(),
            QueueStats {
                frames: 2,
                delivered: 2,
                underruns: 0,
                overruns: 0
            }
        );
    }

    #[test]
    fn empty_queue_gives_silence_and_counts_underrun() {
        let mut q = FrameQueue::new();
        let mut out = [123; FRAME_SAMPLES];
        assert!(!q.pop(&mut out));
        assert!(out.iter().all(|&s| s == 0));
        q.push_samples(&ramp(1, 50));
        assert!(!q.pop(&mut out), "a partial frame is not handed out");
        assert_eq!(q.stats().underruns, 2);
        assert_eq!(q.stats().delivered, 0);
    }

    #[test]
    fn keeps_only_the_newest_frame_and_counts_overruns() {
        let mut q = FrameQueue::new();
        // Three frames and a bit arrive before the consumer looks.
        let input = ramp(0, 3 * FRAME_SAMPLES + 10);
        q.push_samples(&input);
        let mut out = [0; FRAME_SAMPLES];
        assert!(q.pop(&mut out));
        assert_eq!(
            out[..],
            input[2 * FRAME_SAMPLES..3 * FRAME_SAMPLES],
            "newest complete frame"
        );
        assert!(!q.pop(&mut out), "nothing older was kept");
        let s = q.stats();
        assert_eq!(
            (s.frames, s.delivered, s.overruns, s.underruns),
            (3, 1, 2, 1)
        );
        assert_eq!(q.partial_len(), 10);
    }

    #[test]
    fn steady_state_adds_at_most_one_frame_of_delay() {
        // Producer and consumer at the same rate, producer in 7 ms bursts: every pop after the
        // first frame delivers, and never more than one frame waits.
        let mut q = FrameQueue::new();
        let mut out = [0; FRAME_SAMPLES];
        let burst = ramp(0, 56);
        let mut produced = 0usize;
        let mut consumed_at = 0usize;
        for ms in 0..2000 {
            if ms % 7 == 0 {
                q.push_samples(&burst);
                produced += burst.len();
            }
            if ms % 20 == 19 {
                consumed_at += FRAME_SAMPLES;
                if produced >= consumed_at {
                    assert!(q.pop(&mut out), "frame due at {ms} ms");
                } else {
                    q.pop(&mut out);
                }
            }
        }
        assert_eq!(q.stats().overruns, 0);
        assert!(q.stats().underruns <= 1, "{:?}", q.stats());
    }
}
