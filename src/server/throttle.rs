//! The sign-in throttle: failed sign-ins counted per key (an account name, a client address);
//! after [`FREE_FAILURES`] a key must wait before its next try, the wait doubling with each
//! further failure up to [`MAX_DELAY`]. A key forgets its failures after [`FORGET_AFTER`]
//! without one. Pure: time is an argument, so the tests run on virtual time; memory is bounded
//! ([`MAX_KEYS`], the stalest key dropped first).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed before any wait.
pub const FREE_FAILURES: u32 = 5;
/// The first wait; each further failure doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A key without a failure for this long starts over.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Most keys remembered.
pub const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next try is allowed.
    fn allowed_at(&self) -> Instant {
        match self.count.checked_sub(FREE_FAILURES) {
            None => self.last,
            Some(extra) => {
                let factor = 1u32.checked_shl(extra.min(30)).unwrap_or(u32::MAX);
                self.last + FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
            }
        }
    }
}

/// Failed sign-ins by key.
#[derive(Debug, Default)]
pub struct Throttle {
    keys: HashMap<String, Failures>,
}

impl Throttle {
    /// May `key` try now? `Err(wait)` says how long until it may.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        self.forget_old(key, now);
        match self.keys.get(key) {
            Some(f) if f.allowed_at() > now => Err(f.allowed_at() - now),
            _ => Ok(()),
        }
    }

    /// `key` failed at `now`.
    pub fn failed(&mut self, key: &str, now: Instant) {
        self.forget_old(key, now);
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_KEYS {
            let stalest = self
                .keys
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.keys.remove(&k);
            }
        }
        let f = self.keys.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    /// `key` signed in: its failures are forgotten.
    pub fn succeeded(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No key remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn forget_old(&mut self, key: &str, now: Instant) {
        if self
            .keys
            .get(key)
            .is_some_and(|f| now.saturating_duration_since(f.last) >= FORGET_AFTER)
        {
            self.keys.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_wait_doubles() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for _ in 0..FREE_FAILURES - 1 {
            assert_eq!(t.check("olga", t0), Ok(()));
            t.failed("olga", t0);
        }
        assert_eq!(t.check("olga", t0), Ok(()));
        t.failed("olga", t0);
        // The fifth failure: one second.
        assert_eq!(t.check("olga", t0), Err(Duration::from_secs(1)));
        assert_eq!(t.check("olga", t0 + Duration::from_secs(1)), Ok(()));
        t.failed("olga", t0 + Duration::from_secs(1));
        assert_eq!(
            t.check("olga", t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(2))
        );
        // Other keys are not affected.
        assert_eq!(t.check("piet", t0), Ok(()));
    }

    #[test]
    fn the_wait_is_capped_and_forgotten_after_an_hour() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for _ in 0..100 {
            t.failed("10.0.0.9", t0);
        }
        assert_eq!(t.check("10.0.0.9", t0), Err(MAX_DELAY));
        assert!(t.check("10.0.0.9", t0 + MAX_DELAY).is_ok());
        assert!(t.check("10.0.0.9", t0 + FORGET_AFTER).is_ok());
        // Forgotten: five free failures again.
        for _ in 0..FREE_FAILURES - 1 {
            t.failed("10.0.0.9", t0 + FORGET_AFTER);
        }
        assert!(t.check("10.0.0.9", t0 + FORGET_AFTER).is_ok());
    }

    #[test]
    fn a_success_clears_the_key() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for _ in 0..FREE_FAILURES {
            t.failed("olga", t0);
        }
        assert!(t.check("olga", t0).is_err());
        t.succeeded("olga");
        assert!(t.check("olga", t0).is_ok());
        assert!(t.is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for i in 0..MAX_KEYS + 10 {
            t.failed(&format!("k{i}"), t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(t.len(), MAX_KEYS);
        // The stalest went first.
        assert!(!t.keys.contains_key("k0"));
        assert!(t.keys.contains_key(&format!("k{}", MAX_KEYS + 9)));
    }
}
