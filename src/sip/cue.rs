//! What the caller hears from us, pure and counted in 20 ms frames (the frame index is its
//! clock, so the tests run in virtual time): a wait tone while the zone's phones are pushed
//! (425 Hz, 300 ms on, 700 ms off: the European ringback's pitch, so it reads as "connecting"),
//! then the "go ahead" beep (880 Hz, 200 ms) once the phones are ready, then silence for the
//! rest of the call (RTP keeps flowing both ways, as trunks expect). The first wait burst always
//! plays whole, so the beep never comes at once on top of the 200 OK; after [`MAX_WAIT_FRAMES`]
//! the beep comes anyway (a phone that never answers its push must not hold the caller).
//! A delayed route's caller hears the beep at once ([`Cue::beep_first`]). Whether the caller's
//! audio counts yet ([`Cue::go_ahead`]) is the relay's gate: words spoken into the wait tone
//! would reach the zone before its phones play. A call queued for its busy zone
//! ([`Cue::queued`]) hears the queue tone instead (520 Hz, two 160 ms pips every 2 s: slower
//! and lower than the wait tone, so a caller can tell "waiting for a turn" from "connecting")
//! until its page has started and the phones are ready, then the beep; the shell's `ready`
//! bounds the phones' part there, so no [`MAX_WAIT_FRAMES`] applies to the queue.

/// The wait tone's pitch.
pub const WAIT_HZ: f32 = 425.0;
/// The "go ahead" beep's pitch.
pub const BEEP_HZ: f32 = 880.0;
/// Frames of a wait burst (300 ms).
pub const WAIT_ON_FRAMES: u32 = 15;
/// Frames between wait bursts (700 ms).
pub const WAIT_OFF_FRAMES: u32 = 35;
/// Frames of the beep (200 ms).
pub const BEEP_FRAMES: u32 = 10;
/// Longest wait before the beep comes anyway (8 s).
pub const MAX_WAIT_FRAMES: u32 = 400;
/// The queue tone's pitch.
pub const QUEUE_HZ: f32 = 520.0;
/// A queue tone cycle (2 s): pip (8 frames), pause (4), pip (8), then quiet.
pub const QUEUE_CYCLE_FRAMES: u32 = 100;
/// The frames of a queue cycle that sound end here.
const QUEUE_PIPS_FRAMES: u32 = 20;
/// The tones' amplitude (about -12 dBFS: clear, not shrill).
const AMPLITUDE: f32 = 8000.0;

/// Where the caller is in the cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// The wait tone (or its pause).
    Waiting,
    /// The queue tone (or its pause): the zone is busy, the page not started yet.
    Queued,
    /// The beep.
    Beep,
    /// Silence: the caller may speak.
    GoAhead,
}

/// The frames a caller hears, one per [`Cue::next_frame`].
#[derive(Debug, Clone)]
pub struct Cue {
    rate: u32,
    /// Frames played so far.
    frame: u32,
    /// The frame the beep started at.
    beep_at: Option<u32>,
    /// The oscillator's phase, in cycles.
    phase: f32,
    /// Queued for a busy zone: the queue tone instead of the wait tone.
    queued: bool,
}

impl Cue {
    /// A cue at `rate` Hz (8000 for G.711, 16000 for G.722) that waits for the phones.
    pub fn new(rate: u32) -> Cue {
        Cue {
            rate,
            frame: 0,
            beep_at: None,
            phase: 0.0,
            queued: false,
        }
    }

    /// A cue for a call queued for its busy zone: the queue tone until `ready` (the page
    /// started and its phones ready), then the beep.
    pub fn queued(rate: u32) -> Cue {
        Cue {
            queued: true,
            ..Cue::new(rate)
        }
    }

    /// A cue that beeps at once (a delayed route records the caller right away).
    pub fn beep_first(rate: u32) -> Cue {
        Cue {
            beep_at: Some(0),
            ..Cue::new(rate)
        }
    }

    /// Samples in one frame.
    pub fn frame_samples(&self) -> usize {
        (self.rate / 50) as usize
    }

    /// Where the caller is now.
    pub fn heard(&self) -> Heard {
        match self.beep_at {
            None if self.queued => Heard::Queued,
            None => Heard::Waiting,
            Some(at) if self.frame < at + BEEP_FRAMES => Heard::Beep,
            Some(_) => Heard::GoAhead,
        }
    }

    /// Whether the beep has played: the caller's audio counts from here.
    pub fn go_ahead(&self) -> bool {
        self.heard() == Heard::GoAhead
    }

    /// Fill `out` ([`Cue::frame_samples`] long) with the next 20 ms; `ready` says whether the
    /// phones are ready. Returns what the frame is.
    pub fn next_frame(&mut self, ready: bool, out: &mut [i16]) -> Heard {
        if self.queued {
            return self.next_queued(ready, out);
        }
        let first_burst_done = self.frame >= WAIT_ON_FRAMES;
        if self.beep_at.is_none() && ((ready && first_burst_done) || self.frame >= MAX_WAIT_FRAMES)
        {
            // The beep starts after the burst under way, not in its middle.
            let in_cycle = self.frame % (WAIT_ON_FRAMES + WAIT_OFF_FRAMES);
            if in_cycle >= WAIT_ON_FRAMES || self.frame >= MAX_WAIT_FRAMES {
                self.beep_at = Some(self.frame);
                self.phase = 0.0;
            }
        }
        let heard = self.heard();
        let hz = match heard {
            Heard::Waiting if self.frame % (WAIT_ON_FRAMES + WAIT_OFF_FRAMES) < WAIT_ON_FRAMES => {
                Some(WAIT_HZ)
            }
            Heard::Beep => Some(BEEP_HZ),
            Heard::Waiting | Heard::Queued | Heard::GoAhead => None,
        };
        tone_frame(out, hz, self.rate, &mut self.phase);
        self.frame = self.frame.saturating_add(1);
        heard
    }
}

impl Cue {
    /// [`Cue::next_frame`] of a queued call: the queue tone's pips until `ready`, then the
    /// beep once the pips under way have played.
    fn next_queued(&mut self, ready: bool, out: &mut [i16]) -> Heard {
        let in_cycle = self.frame % QUEUE_CYCLE_FRAMES;
        if self.beep_at.is_none() && ready && in_cycle >= QUEUE_PIPS_FRAMES {
            self.beep_at = Some(self.frame);
            self.phase = 0.0;
        }
        let heard = self.heard();
        let hz = match heard {
            Heard::Queued if in_cycle < QUEUE_PIPS_FRAMES && !(8..12).contains(&in_cycle) => {
                Some(QUEUE_HZ)
            }
            Heard::Beep => Some(BEEP_HZ),
            _ => None,
        };
        tone_frame(out, hz, self.rate, &mut self.phase);
        self.frame = self.frame.saturating_add(1);
        heard
    }
}

/// One frame of `out`: a sine of `hz` at the call's `rate` continuing from `phase` (in cycles),
/// or silence (`None`, the phase reset so the next tone starts at zero). The caller's cues and
/// the PIN prompt play through it.
pub(super) fn tone_frame(out: &mut [i16], hz: Option<f32>, rate: u32, phase: &mut f32) {
    match hz {
        Some(hz) => {
            let step = hz / rate as f32;
            for s in out.iter_mut() {
                *s = (AMPLITUDE * (std::f32::consts::TAU * *phase).sin()) as i16;
                *phase = (*phase + step).fract();
            }
        }
        None => {
            out.fill(0);
            *phase = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero crossings per second, halved.
    fn frequency(s: &[i16], rate: f32) -> f32 {
        let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f32 / 2.0 / (s.len() as f32 / rate)
    }

    /// Play `frames` frames with readiness from `ready(frame)`; what each frame was.
    fn play(cue: &mut Cue, frames: u32, ready: impl Fn(u32) -> bool) -> Vec<(Heard, Vec<i16>)> {
        (0..frames)
            .map(|i| {
                let mut out = vec![0; cue.frame_samples()];
                let h = cue.next_frame(ready(i), &mut out);
                (h, out)
            })
            .collect()
    }

    #[test]
    fn phones_ready_at_once_still_hear_one_whole_burst_then_the_beep() {
        let mut cue = Cue::new(8000);
        let got = play(&mut cue, 60, |_| true);
        let heard: Vec<Heard> = got.iter().map(|(h, _)| *h).collect();
        assert!(heard[..15].iter().all(|h| *h == Heard::Waiting));
        assert!(heard[15..25].iter().all(|h| *h == Heard::Beep), "{heard:?}");
        assert!(heard[25..].iter().all(|h| *h == Heard::GoAhead));
        let wait: Vec<i16> = got[..15].iter().flat_map(|(_, s)| s.clone()).collect();
        assert!((frequency(&wait, 8000.0) - WAIT_HZ).abs() < 10.0);
        let beep: Vec<i16> = got[15..25].iter().flat_map(|(_, s)| s.clone()).collect();
        assert!((frequency(&beep, 8000.0) - BEEP_HZ).abs() < 10.0);
        assert!(got[25..].iter().all(|(_, s)| s.iter().all(|&x| x == 0)));
        assert!(cue.go_ahead());
    }

    #[test]
    fn the_wait_tone_pulses_until_ready_and_the_beep_waits_for_the_burst_to_end() {
        let mut cue = Cue::new(8000);
        // Ready in the middle of the second burst (frame 55): beep at its end (frame 65).
        let got = play(&mut cue, 100, |i| i >= 55);
        let heard: Vec<Heard> = got.iter().map(|(h, _)| *h).collect();
        assert!(
            heard[..65].iter().all(|h| *h == Heard::Waiting),
            "{heard:?}"
        );
        assert_eq!(heard[65], Heard::Beep);
        assert_eq!(heard[75], Heard::GoAhead);
        // The pause between bursts is silent, the bursts are not.
        assert!(got[20..50].iter().all(|(_, s)| s.iter().all(|&x| x == 0)));
        assert!(got[50..65].iter().all(|(_, s)| s.iter().any(|&x| x != 0)));
    }

    #[test]
    fn phones_that_never_answer_get_the_beep_after_max_wait() {
        let mut cue = Cue::new(16000);
        let got = play(&mut cue, MAX_WAIT_FRAMES + 20, |_| false);
        assert_eq!(got[MAX_WAIT_FRAMES as usize - 1].0, Heard::Waiting);
        assert_eq!(got[MAX_WAIT_FRAMES as usize].0, Heard::Beep);
        let beep: Vec<i16> = got[MAX_WAIT_FRAMES as usize..][..10]
            .iter()
            .flat_map(|(_, s)| s.clone())
            .collect();
        assert_eq!(beep.len(), 3200);
        assert!((frequency(&beep, 16000.0) - BEEP_HZ).abs() < 10.0);
    }

    #[test]
    fn a_queued_call_hears_two_pips_every_two_seconds_then_the_beep_when_ready() {
        let mut cue = Cue::queued(8000);
        // Never ready for 12 s: no beep (the queue's wait is the shell's), the pips repeat.
        let got = play(&mut cue, 600, |_| false);
        assert!(got.iter().all(|(h, _)| *h == Heard::Queued));
        let sound: String = got[..100]
            .iter()
            .map(|(_, s)| if s.iter().any(|&x| x != 0) { 'x' } else { '.' })
            .collect();
        assert_eq!(&sound[..24], "xxxxxxxx....xxxxxxxx....");
        assert!(sound[20..].chars().all(|c| c == '.'));
        let pip: Vec<i16> = got[..8].iter().flat_map(|(_, s)| s.clone()).collect();
        assert!((frequency(&pip, 8000.0) - QUEUE_HZ).abs() < 15.0);
        // Ready during the pips (frame 605 of the cycle at 600): the beep after them.
        let got = play(&mut cue, 40, |_| true);
        let heard: Vec<Heard> = got.iter().map(|(h, _)| *h).collect();
        assert!(heard[..20].iter().all(|h| *h == Heard::Queued), "{heard:?}");
        assert!(heard[20..30].iter().all(|h| *h == Heard::Beep), "{heard:?}");
        assert_eq!(heard[30], Heard::GoAhead);
        assert!(cue.go_ahead());
    }

    #[test]
    fn a_delayed_route_beeps_at_once() {
        let mut cue = Cue::beep_first(8000);
        assert!(!cue.go_ahead());
        let got = play(&mut cue, 12, |_| false);
        assert!(got[..10].iter().all(|(h, _)| *h == Heard::Beep));
        assert_eq!(got[10].0, Heard::GoAhead);
        assert!(cue.go_ahead());
    }
}
