//! RisPort70's rate limit on our side: at most `limit` requests in any `window` (Cisco: 15 a
//! minute per node), and after a node's own rate fault, nothing until a whole window has
//! passed. Pure: the caller passes `now`; [`RisRate::ready_at`] says when the next request may go.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A sliding window of requests sent.
#[derive(Debug, Clone)]
pub struct RisRate {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl RisRate {
    /// `limit` requests (at least 1) per `window`.
    pub fn new(limit: u32, window: Duration) -> RisRate {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        RisRate {
            limit,
            window,
            sent: VecDeque::with_capacity(limit.min(64)),
            blocked_until: None,
        }
    }

    /// The first instant at or after `now` a request may be sent.
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            self.sent.pop_front();
        }
        let mut at = now;
        if self.sent.len() >= self.limit
            && let Some(&oldest) = self.sent.front()
        {
            at = at.max(oldest + self.window);
        }
        if let Some(b) = self.blocked_until {
            at = at.max(b);
        }
        at
    }

    /// A request was sent at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.sent.push_back(now);
    }

    /// The node refused a request for its rate at `now`: wait a whole window.
    pub fn refused(&mut self, now: Instant) {
        self.blocked_until = Some(now + self.window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_a_minute_then_wait_for_the_oldest() {
        let t0 = Instant::now();
        let mut r = RisRate::new(15, Duration::from_secs(60));
        for i in 0..15 {
            let now = t0 + Duration::from_secs(i);
            assert_eq!(r.ready_at(now), now);
            r.sent(now);
        }
        let now = t0 + Duration::from_secs(15);
        assert_eq!(r.ready_at(now), t0 + Duration::from_secs(60));
        let later = t0 + Duration::from_secs(61);
        assert_eq!(r.ready_at(later), later);
    }

    #[test]
    fn a_fault_blocks_a_whole_window() {
        let t0 = Instant::now();
        let mut r = RisRate::new(15, Duration::from_secs(60));
        r.sent(t0);
        r.refused(t0 + Duration::from_secs(1));
        assert_eq!(
            r.ready_at(t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(61)
        );
    }
}
