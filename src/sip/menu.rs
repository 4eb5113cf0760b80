//! A menu route's choice of zone, keyed by the caller, pure and counted in 20 ms frames (virtual
//! time, like [`super::pin`]): after the answer the caller hears the menu prompt (three short
//! pips, 1100 Hz, 100 ms each: higher and one more than the PIN's two), then keys the digits of
//! a choice (RFC 4733 or SIP INFO). A choice is taken as soon as the digits name one that no
//! longer choice begins with; `#` takes the digits keyed so far; a choice that others extend
//! (`1` beside `12`) is taken after [`CHOICE_WAIT_FRAMES`] without a key. Digits that begin no
//! choice, `#` after them, or no key for [`PIN_TIMEOUT_FRAMES`] are a wrong try: the wrong tone
//! (the PIN's), then the prompt again, [`MENU_TRIES`] tries in all; then the call is ended.
//! `*` starts the entry over. A route with a PIN asks for it first ([`DialMenu::after_pin`]),
//! in the same run of keys. Only the menu's zones can be chosen: no key reaches anything else.

use super::cue::tone_frame;
use super::pin::{PIN_TIMEOUT_FRAMES, PinEntry, PinStep, WRONG_FRAMES, WRONG_HZ};
use crate::config::RoutePin;

/// The menu prompt's pitch.
pub const MENU_HZ: f32 = 1100.0;
/// Tries before the call is ended.
pub const MENU_TRIES: u32 = 3;
/// Frames a choice that longer ones extend waits for another key before it is taken (3 s).
pub const CHOICE_WAIT_FRAMES: u32 = 150;
/// Frames of the prompt: pip (5), pause (5), pip, pause, pip.
const PROMPT_FRAMES: u32 = 25;
/// Most digits kept (a key has at most four).
const MAX_ENTERED: usize = 4;

/// How a menu ended, once it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuOutcome {
    /// The caller chose this zone.
    Chosen(String),
    /// The route's PIN was wrong (or not keyed in time).
    WrongPin,
    /// [`MENU_TRIES`] wrong (or timed out) choices.
    NoChoice,
}

/// One caller's way through a menu (and the route's PIN before it).
#[derive(Debug, Clone)]
pub struct DialMenu {
    /// (digits, zone), as the route lists them.
    choices: Vec<(String, String)>,
    /// The PIN asked first, until it is right.
    pin: Option<PinEntry>,
    entered: String,
    rate: u32,
    /// Frames of the menu played so far (counted once the PIN is right).
    frame: u32,
    /// The frame the prompt (re)started at.
    prompt_at: u32,
    /// The frame of the last key (or of the prompt).
    last_key: u32,
    /// Wrong tries so far.
    wrong: u32,
    /// The frame the last wrong try's tone started.
    wrong_at: Option<u32>,
    outcome: Option<MenuOutcome>,
    phase: f32,
}

impl DialMenu {
    /// A menu of `choices` (digits, zone) heard at `rate` Hz.
    pub fn new(choices: Vec<(String, String)>, rate: u32) -> DialMenu {
        DialMenu {
            choices,
            pin: None,
            entered: String::new(),
            rate,
            frame: 0,
            prompt_at: 0,
            last_key: 0,
            wrong: 0,
            wrong_at: None,
            outcome: None,
            phase: 0.0,
        }
    }

    /// The same menu, asked once `pin` is right.
    pub fn after_pin(mut self, pin: RoutePin) -> DialMenu {
        self.pin = Some(PinEntry::new(pin, self.rate));
        self
    }

    /// How it ended (`None`: still keying, or the last wrong tone still playing).
    pub fn outcome(&self) -> Option<&MenuOutcome> {
        match (&self.outcome, self.wrong_at) {
            (Some(MenuOutcome::NoChoice), Some(at)) if self.frame < at + WRONG_FRAMES => None,
            (o, _) => o.as_ref(),
        }
    }

    /// Whether the caller is keying the PIN still.
    fn in_pin(&self) -> bool {
        self.pin
            .as_ref()
            .is_some_and(|p| p.step() == PinStep::Keying)
    }

    /// Whether a wrong tone is playing (keys are not taken meanwhile).
    fn wrong_tone(&self) -> bool {
        self.wrong_at
            .is_some_and(|at| self.frame < at + WRONG_FRAMES)
    }

    /// A key the caller pressed.
    pub fn key(&mut self, key: char) {
        if let Some(pin) = &mut self.pin
            && pin.step() == PinStep::Keying
        {
            if pin.key(key) == PinStep::Wrong {
                self.outcome = Some(MenuOutcome::WrongPin);
            }
            return;
        }
        if self.outcome.is_some() || self.wrong_tone() {
            return;
        }
        self.last_key = self.frame;
        match key {
            '*' => self.entered.clear(),
            '#' => match self.exact() {
                Some(zone) => self.outcome = Some(MenuOutcome::Chosen(zone)),
                None => self.wrong_try(),
            },
            d if d.is_ascii_digit() && self.entered.len() < MAX_ENTERED => {
                self.entered.push(d);
                let longer = self
                    .choices
                    .iter()
                    .any(|(k, _)| k.len() > self.entered.len() && k.starts_with(&self.entered));
                match (self.exact(), longer) {
                    (Some(zone), false) => self.outcome = Some(MenuOutcome::Chosen(zone)),
                    (None, false) => self.wrong_try(),
                    (_, true) => {}
                }
            }
            _ => {}
        }
    }

    /// The zone of exactly the digits keyed.
    fn exact(&self) -> Option<String> {
        self.choices
            .iter()
            .find(|(k, _)| *k == self.entered)
            .map(|(_, z)| z.clone())
    }

    fn wrong_try(&mut self) {
        self.wrong += 1;
        self.wrong_at = Some(self.frame);
        self.entered.clear();
        self.phase = 0.0;
        if self.wrong >= MENU_TRIES {
            self.outcome = Some(MenuOutcome::NoChoice);
        }
    }

    /// Fill `out` (`rate / 50` samples) with the next 20 ms: the PIN's frames while it is
    /// keyed, then the prompt's pips, silence while the caller keys, the wrong tone. Counts
    /// the time outs.
    pub fn next_frame(&mut self, out: &mut [i16]) {
        if let Some(pin) = &mut self.pin
            && (pin.step() == PinStep::Keying || !pin.finished())
        {
            if pin.next_frame(out) == PinStep::Wrong {
                self.outcome = Some(MenuOutcome::WrongPin);
            }
            return;
        }
        if self.outcome.is_none() && !self.wrong_tone() {
            if self
                .wrong_at
                .is_some_and(|at| self.frame == at + WRONG_FRAMES)
            {
                // The wrong tone has played: the prompt again.
                self.prompt_at = self.frame;
                self.last_key = self.frame;
            }
            let idle = self.frame - self.last_key;
            if !self.entered.is_empty() && idle >= CHOICE_WAIT_FRAMES {
                match self.exact() {
                    Some(zone) => self.outcome = Some(MenuOutcome::Chosen(zone)),
                    None => self.wrong_try(),
                }
            } else if idle >= PIN_TIMEOUT_FRAMES {
                self.wrong_try();
            }
        }
        let since = self.frame - self.prompt_at;
        let hz = if self.wrong_tone() {
            Some(WRONG_HZ)
        } else if self.outcome.is_none() && since < PROMPT_FRAMES && (since / 5).is_multiple_of(2) {
            Some(MENU_HZ)
        } else {
            None
        };
        tone_frame(out, hz, self.rate, &mut self.phase);
        self.frame = self.frame.saturating_add(1);
    }

    /// Whether it is over: a choice made, or the PIN or the last try wrong and its tone played.
    pub fn finished(&self) -> bool {
        if self.in_pin() {
            return false;
        }
        match &self.outcome {
            Some(MenuOutcome::WrongPin) => self.pin.as_ref().is_none_or(PinEntry::finished),
            Some(_) => self.outcome().is_some(),
            None => false,
        }
    }
}

impl super::media::Keyed for DialMenu {
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

    fn menu() -> DialMenu {
        let c = |k: &str, z: &str| (k.to_owned(), z.to_owned());
        DialMenu::new(
            vec![
                c("1", "lobby"),
                c("2", "gym"),
                c("21", "hall"),
                c("9", "all"),
            ],
            8000,
        )
    }

    /// Play `n` frames: 'x' where the frame sounds, '.' where silent.
    fn frames(m: &mut DialMenu, n: u32) -> String {
        (0..n)
            .map(|_| {
                let mut out = [0i16; 160];
                m.next_frame(&mut out);
                if out.iter().any(|&s| s != 0) {
                    'x'
                } else {
                    '.'
                }
            })
            .collect()
    }

    fn chosen(m: &DialMenu) -> Option<&str> {
        match m.outcome() {
            Some(MenuOutcome::Chosen(z)) => Some(z),
            _ => None,
        }
    }

    #[test]
    fn the_prompt_pips_three_times_and_a_unique_key_chooses_at_once() {
        let mut m = menu();
        let heard = frames(&mut m, 40);
        assert_eq!(&heard[..30], "xxxxx.....xxxxx.....xxxxx.....");
        m.key('9');
        assert_eq!(chosen(&m), Some("all"));
        assert!(m.finished());
        // The prompt is at its own pitch (zero crossings of a whole pip).
        let mut m = menu();
        let mut pcm = Vec::new();
        for _ in 0..5 {
            let mut out = [0i16; 160];
            m.next_frame(&mut out);
            pcm.extend_from_slice(&out);
        }
        let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f32 / 2.0 / 0.1;
        assert!((hz - MENU_HZ).abs() < 20.0, "{hz}");
    }

    #[test]
    fn a_key_others_extend_waits_for_more_or_pound_or_the_choice_wait() {
        let mut m = menu();
        m.key('2');
        assert_eq!(m.outcome(), None, "21 may follow");
        m.key('1');
        assert_eq!(chosen(&m), Some("hall"));
        let mut m = menu();
        m.key('2');
        m.key('#');
        assert_eq!(chosen(&m), Some("gym"));
        let mut m = menu();
        m.key('2');
        frames(&mut m, CHOICE_WAIT_FRAMES);
        assert_eq!(m.outcome(), None);
        frames(&mut m, 1);
        assert_eq!(chosen(&m), Some("gym"));
    }

    #[test]
    fn wrong_tries_play_the_wrong_tone_and_prompt_again_then_the_third_ends_it() {
        let mut m = menu();
        frames(&mut m, 30);
        m.key('5');
        assert_eq!(m.outcome(), None);
        m.key('1');
        assert_eq!(
            m.outcome(),
            None,
            "keys during the wrong tone are not taken"
        );
        let heard = frames(&mut m, WRONG_FRAMES + 30);
        let w = WRONG_FRAMES as usize;
        assert!(heard[..w].chars().all(|c| c == 'x'), "{heard}");
        assert_eq!(
            &heard[w..w + 30],
            "xxxxx.....xxxxx.....xxxxx.....",
            "{heard}"
        );
        // The second try: right.
        m.key('1');
        assert_eq!(chosen(&m), Some("lobby"));
        // Three wrong tries (a bad key, # on nothing, silence): no choice.
        let mut m = menu();
        m.key('7');
        frames(&mut m, WRONG_FRAMES);
        m.key('#');
        frames(&mut m, WRONG_FRAMES);
        frames(&mut m, PIN_TIMEOUT_FRAMES);
        assert_eq!(m.outcome(), None);
        frames(&mut m, 1);
        assert!(!m.finished(), "the last wrong tone plays first");
        frames(&mut m, WRONG_FRAMES);
        assert_eq!(m.outcome(), Some(&MenuOutcome::NoChoice));
        assert!(m.finished());
        m.key('1');
        assert_eq!(m.outcome(), Some(&MenuOutcome::NoChoice), "too late");
    }

    #[test]
    fn star_starts_over_and_only_the_menus_zones_are_reached() {
        let mut m = menu();
        m.key('2');
        m.key('*');
        m.key('9');
        assert_eq!(chosen(&m), Some("all"));
        for keys in ["0", "3", "22", "#", "AB#"] {
            let mut m = menu();
            for k in keys.chars() {
                m.key(k);
            }
            assert_eq!(chosen(&m), None, "{keys}");
        }
    }

    #[test]
    fn a_pin_comes_first_and_a_wrong_one_ends_the_call_unchosen() {
        let pin = RoutePin::parse("2468").unwrap();
        let mut m = menu().after_pin(pin.clone());
        let heard = frames(&mut m, 20);
        assert_eq!(&heard[..20], "xxxxx.....xxxxx.....", "the PIN's two pips");
        for k in "2468".chars() {
            m.key(k);
        }
        assert_eq!(m.outcome(), None);
        assert!(!m.finished());
        // Then the menu's prompt, from its start.
        assert_eq!(&frames(&mut m, 30), "xxxxx.....xxxxx.....xxxxx.....");
        m.key('1');
        assert_eq!(chosen(&m), Some("lobby"));
        let mut m = menu().after_pin(pin);
        for k in "1111#".chars() {
            m.key(k);
        }
        assert_eq!(m.outcome(), Some(&MenuOutcome::WrongPin));
        assert!(!m.finished(), "the wrong tone first");
        frames(&mut m, WRONG_FRAMES);
        assert!(m.finished());
    }
}
