//! When each stream sends: the pacer's timetable, as pure arithmetic on virtual time.
//!
//! Time is nanoseconds since the pacer's epoch. The 20 ms period is cut into [`SLOTS`] slots of
//! 1 ms. A stream's destinations are split into lanes of at most [`LANE_SIZE`] (one `sendmmsg`
//! each); every lane is pinned to one slot, and the lane's n-th packet is due exactly at
//! `epoch + (first_tick + n) × 20 ms + slot × 1 ms`. Deadlines are computed from the tick
//! number, never from "last send + 20 ms", so lateness never accumulates: a stream is exactly
//! on the wall clock however long it runs.
//!
//! Spreading: a new stream starts in the least-loaded of the next [`START_WINDOW`] slots, and its
//! lanes (groups of 64 destinations) go out in up to [`LANE_SPREAD`] consecutive slots, so a big
//! stream is several short bursts rather than one long one, and its last destination still gets
//! its first packet within `START_WINDOW + LANE_SPREAD − 1` ms of being added. Streams added at
//! different times land in different slots, so pages spread over the period.
//!
//! Falling behind: [`Schedule::due`] returns every lane whose deadline has passed, in deadline
//! order, with its packet number, so short stalls are caught up. After a stall longer than
//! [`MAX_CATCH_UP`] ticks the cursor jumps to now and reports the ticks it skipped, so a
//! suspended process does not answer with a burst of hundreds of packets.

/// Nanoseconds in one packet period.
pub const PERIOD_NS: u64 = 20_000_000;
/// Slots per period.
pub const SLOTS: u64 = 20;
/// Nanoseconds per slot.
pub const SLOT_NS: u64 = PERIOD_NS / SLOTS;
/// Most destinations one lane sends to in one go.
pub const LANE_SIZE: usize = 64;
/// A new stream starts within this many slots of being added.
pub const START_WINDOW: u64 = 4;
/// A stream's lanes occupy at most this many consecutive slots.
pub const LANE_SPREAD: u64 = 4;
/// Ticks of lateness caught up by bursting; beyond this the schedule skips ahead.
pub const MAX_CATCH_UP: u64 = 5;

/// One lane's send: which stream, which lane, which packet number, and its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The stream's id, as given to [`Schedule::add`].
    pub stream: u32,
    /// Lane index within the stream (lane 0 always sends a packet number first).
    pub lane: u32,
    /// Packet number within the stream, from 0.
    pub packet: u64,
    /// The instant the send was due (ns since epoch).
    pub deadline: u64,
}

#[derive(Debug, Clone, Copy)]
struct Lane {
    stream: u32,
    lane: u32,
    first_tick: u64,
    destinations: u32,
}

/// The timetable of every stream of one pacer.
#[derive(Debug)]
pub struct Schedule {
    slots: Vec<Vec<Lane>>,
    /// Destinations per slot, to place new streams where the load is least.
    load: [u64; SLOTS as usize],
    /// Next slot instant to process, as a global slot index (tick × SLOTS + slot).
    cursor: u64,
    skipped_ticks: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self::new()
    }
}

impl Schedule {
    /// An empty timetable starting at time 0.
    pub fn new() -> Self {
        Schedule {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            load: [0; SLOTS as usize],
            cursor: 0,
            skipped_ticks: 0,
        }
    }

    /// Add a stream at `now` with `destinations` destinations. Returns the deadline of its
    /// first packet. Lanes: `ceil(destinations / LANE_SIZE)` (at least one).
    pub fn add(&mut self, now: u64, stream: u32, destinations: usize) -> u64 {
        // An idle timetable's cursor stopped where the last stream ended: bring it to now, or the
        // time in between would count as a stall (and its ticks as skipped).
        if self.is_empty() {
            self.cursor = self.cursor.max(now / SLOT_NS);
        }
        // First slot instant not before now, and not before the cursor (already processed).
        let earliest = now.div_ceil(SLOT_NS).max(self.cursor);
        let start = (earliest..earliest + START_WINDOW)
            .min_by_key(|g| (self.load[(g % SLOTS) as usize], *g))
            .unwrap_or(earliest);
        let lanes = destinations.div_ceil(LANE_SIZE).max(1) as u64;
        let mut remaining = destinations as u64;
        for lane in 0..lanes {
            // Lanes share out LANE_SPREAD slots from the stream's start slot, in order.
            let offset = lane * lanes.min(LANE_SPREAD) / lanes;
            let global = start + offset;
            let slot = (global % SLOTS) as usize;
            let dests = remaining.min(LANE_SIZE as u64);
            remaining -= dests;
            self.load[slot] += dests.max(1);
            self.slots[slot].push(Lane {
                stream,
                lane: lane as u32,
                first_tick: global / SLOTS,
                destinations: dests as u32,
            });
        }
        start * SLOT_NS
    }

    /// Remove every lane of `stream`.
    pub fn remove(&mut self, stream: u32) {
        for (slot, lanes) in self.slots.iter_mut().enumerate() {
            lanes.retain(|l| {
                let keep = l.stream != stream;
                if !keep {
                    self.load[slot] -= (l.destinations as u64).max(1);
                }
                keep
            });
        }
    }

    /// Whether no stream is scheduled.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Vec::is_empty)
    }

    /// Ticks skipped after stalls longer than [`MAX_CATCH_UP`].
    pub fn skipped_ticks(&self) -> u64 {
        self.skipped_ticks
    }

    /// The next instant at which something is due (ns since epoch), if any stream exists.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.is_empty() {
            return None;
        }
        // For each lane: its first slot instant at or after the cursor, not before its start.
        let mut best: Option<u64> = None;
        for (slot, lanes) in self.slots.iter().enumerate() {
            let slot = slot as u64;
            for l in lanes {
                let start = l.first_tick * SLOTS + slot;
                let g = if start >= self.cursor {
                    start
                } else {
                    // The next instant of this slot at or after the cursor.
                    let ahead = (slot + SLOTS - self.cursor % SLOTS) % SLOTS;
                    self.cursor + ahead
                };
                best = Some(best.map_or(g, |b| b.min(g)));
            }
        }
        best.map(|g| g * SLOT_NS)
    }

    /// Call `f` for every lane due at or before `now`, in deadline order, and move past them.
    /// Returns the number of ticks skipped by this call (see [`MAX_CATCH_UP`]); skipped ticks
    /// are not reported through `f`: the caller learns the new packet numbers from `Due`.
    pub fn due(&mut self, now: u64, mut f: impl FnMut(Due)) -> u64 {
        let now_slot = now / SLOT_NS; // last slot instant <= now
        let mut skipped = 0;
        if now_slot >= self.cursor + MAX_CATCH_UP * SLOTS {
            // Keep the phase (slot within the period), lose whole ticks.
            let behind = (now_slot - self.cursor) / SLOTS;
            skipped = behind;
            self.cursor += behind * SLOTS;
            self.skipped_ticks += behind;
        }
        while self.cursor <= now_slot {
            let g = self.cursor;
            let tick = g / SLOTS;
            for l in &self.slots[(g % SLOTS) as usize] {
                if l.first_tick <= tick {
                    f(Due {
                        stream: l.stream,
                        lane: l.lane,
                        packet: tick - l.first_tick,
                        deadline: g * SLOT_NS,
                    });
                }
            }
            self.cursor += 1;
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &mut Schedule, until: u64) -> Vec<Due> {
        let mut out = Vec::new();
        let mut now = 0;
        while let Some(d) = s.next_deadline() {
            if d > until {
                break;
            }
            now = now.max(d);
            s.due(now, |x| out.push(x));
        }
        out
    }

    /// A stream added to a pacer idle for a while (a page after minutes of quiet) is due at
    /// once, with no ticks counted as skipped. (Found by the page-reach benchmark: the search
    /// for the next deadline looked two periods ahead of a cursor that stops while idle.)
    #[test]
    fn a_stream_added_after_a_long_idle_is_due_at_once() {
        let mut s = Schedule::new();
        let first = s.add(0, 1, 1);
        s.due(first, |_| {});
        s.remove(1);
        for idle_ms in [30u64, 50, 200, 600_000] {
            let now = first + idle_ms * 1_000_000;
            let start = s.add(now, 2, 1);
            assert!(
                (now..now + START_WINDOW * SLOT_NS).contains(&start),
                "{idle_ms} ms"
            );
            assert_eq!(s.next_deadline(), Some(start), "{idle_ms} ms idle");
            let mut due = Vec::new();
            s.due(start, |d| due.push(d));
            assert_eq!(due.len(), 1, "{idle_ms} ms idle");
            assert_eq!(due[0].packet, 0);
            assert_eq!(s.skipped_ticks(), 0);
            s.remove(2);
        }
    }

    #[test]
    fn one_stream_is_due_every_20ms_exactly_for_an_hour() {
        let mut s = Schedule::new();
        let first = s.add(3_000_000, 7, 1);
        assert!((3_000_000..3_000_000 + START_WINDOW * SLOT_NS).contains(&first));
        let hour = 3_600_000_000_000u64;
        let sends = run(&mut s, first + hour - 1);
        assert_eq!(sends.len() as u64, hour / PERIOD_NS);
        for (n, d) in sends.iter().enumerate() {
            assert_eq!(d.packet, n as u64);
            assert_eq!(
                d.deadline,
                first + n as u64 * PERIOD_NS,
                "no drift at packet {n}"
            );
        }
    }

    #[test]
    fn streams_added_together_are_spread_over_slots() {
        let mut s = Schedule::new();
        let mut firsts = Vec::new();
        for id in 0..100 {
            firsts.push(s.add(0, id, 1));
        }
        let distinct: std::collections::BTreeSet<_> = firsts.iter().map(|f| f / SLOT_NS).collect();
        assert_eq!(distinct.len() as u64, START_WINDOW, "all start slots used");
        assert!(firsts.iter().all(|f| *f < START_WINDOW * SLOT_NS));
        // The load of those slots differs by at most one stream.
        let loads = &s.load[..START_WINDOW as usize];
        assert_eq!(loads.iter().sum::<u64>(), 100);
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
            "{loads:?}"
        );
    }

    #[test]
    fn lanes_spread_over_consecutive_slots_and_lane_zero_leads() {
        let mut s = Schedule::new();
        let first = s.add(0, 1, 1000); // 16 lanes
        let sends = run(&mut s, first + 3 * PERIOD_NS - 1);
        assert_eq!(sends.len(), 16 * 3);
        let slots: std::collections::BTreeSet<_> = sends
            .iter()
            .map(|d| (d.deadline / SLOT_NS) % SLOTS)
            .collect();
        assert_eq!(slots.len() as u64, LANE_SPREAD, "lanes use {slots:?}");
        // The last destination's first packet is within the spread of the first's.
        let last_first = sends
            .iter()
            .filter(|d| d.packet == 0)
            .map(|d| d.deadline)
            .max();
        assert_eq!(last_first, Some(first + (LANE_SPREAD - 1) * SLOT_NS));
        // For each packet number, lane 0 is the first lane to send it.
        for n in 0..3 {
            let first_of_n = sends.iter().find(|d| d.packet == n).unwrap();
            assert_eq!(first_of_n.lane, 0);
            let lanes: std::collections::BTreeSet<_> = sends
                .iter()
                .filter(|d| d.packet == n)
                .map(|d| d.lane)
                .collect();
            assert_eq!(lanes.len(), 16);
        }
        // Every lane is exactly periodic.
        for lane in 0..16 {
            let ds: Vec<_> = sends.iter().filter(|d| d.lane == lane).collect();
            assert!(
                ds.windows(2)
                    .all(|w| w[1].deadline - w[0].deadline == PERIOD_NS)
            );
        }
    }

    #[test]
    fn late_wakeup_catches_up_in_order_then_skips_long_stalls() {
        let mut s = Schedule::new();
        let first = s.add(0, 1, 1);
        let mut got = Vec::new();
        s.due(first + 3 * PERIOD_NS + 1, |d| got.push(d.packet));
        assert_eq!(got, vec![0, 1, 2, 3], "a 60 ms stall is caught up");
        got.clear();
        let skipped = s.due(first + 3 * PERIOD_NS + 10 * PERIOD_NS, |d| {
            got.push(d.packet)
        });
        assert_eq!(skipped, 9);
        assert_eq!(got, vec![13], "a 200 ms stall skips to the current packet");
        assert_eq!(s.skipped_ticks(), 9);
        assert_eq!(s.next_deadline(), Some(first + 14 * PERIOD_NS));
    }

    #[test]
    fn removed_streams_stop_and_free_their_slots() {
        let mut s = Schedule::new();
        s.add(0, 1, 200);
        s.add(0, 2, 1);
        s.remove(1);
        assert_eq!(s.load.iter().sum::<u64>(), 1);
        let sends = run(&mut s, 5 * PERIOD_NS);
        assert!(sends.iter().all(|d| d.stream == 2));
        s.remove(2);
        assert!(s.is_empty());
        assert_eq!(s.next_deadline(), None);
    }
}
