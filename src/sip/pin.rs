//! A route's PIN keyed by the caller, pure and counted in 20 ms frames (virtual time): the
//! caller hears two short pips (660 Hz, 100 ms each) asking for it, keys the digits
//! (RFC 4733, [`super::dtmf::Keys`]) and `#` (or just as many digits as the PIN has), and the
//! entry is right or wrong; no key for [`PIN_TIMEOUT_FRAMES`] is wrong too. `*` starts over. A
//! wrong entry is answered by a low tone (400 Hz, 500 ms) before the call is ended, so the
//! caller knows it was the PIN and not the line. The digits entered are never shown.

use super::cue::tone_frame;
use crate::config::RoutePin;

/// The prompt's pitch.
pub const PROMPT_HZ: f32 = 440.0 * 1.5;
/// The wrong-PIN tone's pitch.
pub const WRONG_HZ: f32 = 400.0;
/// Frames without a key before the entry is wrong (10 s).
pub const PIN_TIMEOUT_FRAMES: u32 = 500;
/// Frames of the wrong-PIN tone.
pub const WRONG_FRAMES: u32 = 25;
/// Most digits kept (a caller leaning on the keypad).
const MAX_ENTERED: usize = 16;

/// Where an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStep {
    /// Waiting for more keys.
    Keying,
    /// The PIN is right.
    Right,
    /// Wrong (or timed out): the wrong tone plays, then the call ends.
    Wrong,
}

/// One caller's PIN entry.
#[derive(Debug, Clone)]
pub struct PinEntry {
    pin: RoutePin,
    entered: String,
    rate: u32,
    /// Frames played so far.
    frame: u32,
    /// The frame of the last key (or of the start).
    last_key: u32,
    /// The frame the entry was found wrong.
    wrong_at: Option<u32>,
    right: bool,
    phase: f32,
}

impl PinEntry {
    /// An entry of `pin`, heard at `rate` Hz.
    pub fn new(pin: RoutePin, rate: u32) -> PinEntry {
        PinEntry {
            pin,
            entered: String::new(),
            rate,
            frame: 0,
            last_key: 0,
            wrong_at: None,
            right: false,
            phase: 0.0,
        }
    }

    /// Where the entry is.
    pub fn step(&self) -> PinStep {
        match (self.right, self.wrong_at) {
            (true, _) => PinStep::Right,
            (false, Some(_)) => PinStep::Wrong,
            (false, None) => PinStep::Keying,
        }
    }

    /// Whether the wrong tone has played (the call may end now).
    pub fn finished(&self) -> bool {
        match self.wrong_at {
            Some(at) => self.frame >= at + WRONG_FRAMES,
            None => self.right,
        }
    }

    /// A key the caller pressed.
    pub fn key(&mut self, key: char) -> PinStep {
        if self.step() != PinStep::Keying {
            return self.step();
        }
        self.last_key = self.frame;
        match key {
            '*' => self.entered.clear(),
            '#' => self.judge(),
            d if d.is_ascii_digit() && self.entered.len() < MAX_ENTERED => {
                self.entered.push(d);
                if self.entered.len() == self.pin.len() && self.pin.matches(&self.entered) {
                    self.right = true;
                }
            }
            _ => {}
        }
        self.step()
    }

    fn judge(&mut self) {
        if self.pin.matches(&self.entered) {
            self.right = true;
        } else {
            self.wrong_at = Some(self.frame);
            self.phase = 0.0;
        }
    }

    /// Fill `out` (`rate / 50` samples) with the next 20 ms: the prompt's pips, silence while
    /// the caller keys, the wrong tone. Counts the time out.
    pub fn next_frame(&mut self, out: &mut [i16]) -> PinStep {
        if self.step() == PinStep::Keying && self.frame >= self.last_key + PIN_TIMEOUT_FRAMES {
            self.wrong_at = Some(self.frame);
            self.phase = 0.0;
        }
        let hz = match self.wrong_at {
            Some(at) if self.frame < at + WRONG_FRAMES => Some(WRONG_HZ),
            Some(_) => None,
            // Pip (5 frames), pause (5), pip (5), then quiet.
            None if self.frame < 15 && (self.frame / 5).is_multiple_of(2) => Some(PROMPT_HZ),
            None => None,
        };
        tone_frame(out, hz, self.rate, &mut self.phase);
        self.frame = self.frame.saturating_add(1);
        self.step()
    }
}

impl super::media::Keyed for PinEntry {
    fn press(&mut self, key: char) {
        self.key(key);
    }

    fn fill(&mut self, out: &mut [i16]) {
        self.next_frame(out);
    }

    fn done(&self) -> bool {
        self.finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> PinEntry {
        PinEntry::new(RoutePin::parse("2468").unwrap(), 8000)
    }

    fn frames(e: &mut PinEntry, n: u32) -> Vec<bool> {
        (0..n)
            .map(|_| {
                let mut out = [0i16; 160];
                e.next_frame(&mut out);
                out.iter().any(|&s| s != 0)
            })
            .collect()
    }

    #[test]
    fn the_prompt_pips_twice_then_the_right_digits_open_the_call() {
        let mut e = entry();
        let sound = frames(&mut e, 30);
        let pips: String = sound.iter().map(|&s| if s { 'x' } else { '.' }).collect();
        assert_eq!(&pips[..20], "xxxxx.....xxxxx.....");
        assert!(!pips[15..].contains('x'));
        for (k, step) in [
            ('2', PinStep::Keying),
            ('4', PinStep::Keying),
            ('6', PinStep::Keying),
        ] {
            assert_eq!(e.key(k), step);
        }
        assert_eq!(
            e.key('8'),
            PinStep::Right,
            "no # needed at the PIN's length"
        );
        assert!(e.finished());
    }

    #[test]
    fn a_wrong_pin_plays_the_wrong_tone_then_finishes() {
        let mut e = entry();
        for k in "2469".chars() {
            assert_eq!(e.key(k), PinStep::Keying);
        }
        assert_eq!(e.key('#'), PinStep::Wrong);
        assert_eq!(e.key('#'), PinStep::Wrong, "no second try");
        let sound = frames(&mut e, WRONG_FRAMES + 5);
        assert!(sound[..WRONG_FRAMES as usize].iter().all(|&s| s));
        assert!(!sound[WRONG_FRAMES as usize]);
        assert!(e.finished());
    }

    #[test]
    fn star_starts_over_and_hash_ends_a_short_entry() {
        let mut e = entry();
        for k in "99*2468".chars() {
            e.key(k);
        }
        assert_eq!(e.step(), PinStep::Right);
        let mut e = entry();
        for k in "24".chars() {
            e.key(k);
        }
        assert_eq!(e.key('#'), PinStep::Wrong);
    }

    #[test]
    fn no_key_for_ten_seconds_is_wrong_and_each_key_restarts_the_wait() {
        let mut e = entry();
        frames(&mut e, PIN_TIMEOUT_FRAMES - 1);
        e.key('2');
        frames(&mut e, PIN_TIMEOUT_FRAMES);
        assert_eq!(e.step(), PinStep::Keying);
        frames(&mut e, 1);
        assert_eq!(e.step(), PinStep::Wrong);
        assert!(!e.finished());
        frames(&mut e, WRONG_FRAMES);
        assert!(e.finished());
    }
}
