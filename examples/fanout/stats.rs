//! Turning a [`Capture`] into the numbers of one run.

use serde::Serialize;

use super::recv::Capture;

const PERIOD_NS: i64 = 20_000_000;
/// RTP timestamp units (8 kHz) in ns.
const TS_UNIT_NS: f64 = 125_000.0;

/// What the receiver measured in one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Received {
    /// Destinations that got at least one packet.
    pub reached: usize,
    /// Launch -> first packet per destination, ms: median and worst over destinations.
    pub first_p50_ms: f64,
    pub first_max_ms: f64,
    /// Same, from an instant the sender reports (zonecast: just before `Pacer::add`).
    pub first_after_add_p50_ms: Option<f64>,
    pub first_after_add_max_ms: Option<f64>,
    /// Spread of first arrivals across destinations (last first - first first), ms.
    pub first_spread_ms: f64,
    /// |inter-arrival gap - 20 ms| pooled over destinations, first/last second trimmed, ms.
    pub gap_p50_ms: f64,
    pub gap_p99_ms: f64,
    pub gap_p999_ms: f64,
    pub gap_max_ms: f64,
    /// Gaps that went into the percentiles.
    pub gaps: usize,
    /// RFC 3550 interarrival jitter at the end of the stream, ms, mean over destinations.
    pub jitter_mean_ms: f64,
    pub jitter_max_ms: f64,
    /// Packets expected per destination and received (sum over destinations).
    pub expected_per_dest: u64,
    pub received: u64,
    /// Missing packets (expected - distinct received), summed and worst destination.
    pub lost_sum: u64,
    pub lost_worst: u64,
    /// Consecutive arrivals whose sequence numbers do not step by one (gap, reorder, duplicate),
    /// summed over destinations, and duplicates.
    pub seq_errors: u64,
    pub duplicates: u64,
    /// Datagram sizes seen, "size x count".
    pub sizes: String,
    pub ssrc_changes: u64,
    pub foreign: u64,
    pub rx_dropped: u64,
    pub rcvbuf: usize,
}

fn pct(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

/// Median of a slice (NaN-free input), mean of the two middles for even length.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Analyse a capture. `launch_ns` and `add_ns` are `CLOCK_REALTIME` instants.
pub fn analyse(c: &Capture, expected: u64, launch_ns: i64, add_ns: Option<i64>) -> Received {
    let mut r = Received {
        expected_per_dest: expected,
        ssrc_changes: c.ssrc_changes,
        foreign: c.foreign + c.not_rtp,
        rx_dropped: c.rx_dropped,
        rcvbuf: c.rcvbuf,
        sizes: c
            .sizes
            .iter()
            .map(|(s, n)| format!("{s}x{n}"))
            .collect::<Vec<_>>()
            .join(" "),
        ..Received::default()
    };
    let mut firsts = Vec::new();
    let mut gaps: Vec<i64> = Vec::new();
    let mut jitters = Vec::new();
    for arr in &c.per_dest {
        r.received += arr.len() as u64;
        if arr.is_empty() {
            r.lost_sum += expected;
            r.lost_worst = r.lost_worst.max(expected);
            continue;
        }
        r.reached += 1;
        firsts.push(arr[0].t_ns);
        // Distinct sequence numbers, extended across wrap-around.
        let mut ext = Vec::with_capacity(arr.len());
        let mut cur = arr[0].seq as i64;
        let mut last = arr[0].seq;
        for a in arr {
            cur += a.seq.wrapping_sub(last) as i16 as i64;
            ext.push(cur);
            last = a.seq;
        }
        ext.sort_unstable();
        ext.dedup();
        let distinct = ext.len() as u64;
        r.duplicates += arr.len() as u64 - distinct;
        let lost = expected.saturating_sub(distinct);
        r.lost_sum += lost;
        r.lost_worst = r.lost_worst.max(lost);
        // Steady state: drop the first and the last second of this destination's stream.
        let (from, to) = (
            arr[0].t_ns + 1_000_000_000,
            arr[arr.len() - 1].t_ns - 1_000_000_000,
        );
        let mut jitter = 0.0f64;
        for w in arr.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b.seq != a.seq.wrapping_add(1) {
                r.seq_errors += 1;
            } else if a.t_ns >= from && b.t_ns <= to {
                gaps.push((b.t_ns - a.t_ns - PERIOD_NS).abs());
            }
            // RFC 3550 6.4.1: D = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16.
            let d = (b.t_ns - a.t_ns) as f64 - (b.ts.wrapping_sub(a.ts) as i32) as f64 * TS_UNIT_NS;
            jitter += (d.abs() - jitter) / 16.0;
        }
        jitters.push(jitter / 1e6);
    }
    if !firsts.is_empty() {
        let mut f: Vec<i64> = firsts.iter().map(|t| t - launch_ns).collect();
        f.sort_unstable();
        r.first_p50_ms = pct(&f, 50.0);
        r.first_max_ms = pct(&f, 100.0);
        r.first_spread_ms = (f[f.len() - 1] - f[0]) as f64 / 1e6;
        if let Some(add) = add_ns {
            let mut f: Vec<i64> = firsts.iter().map(|t| t - add).collect();
            f.sort_unstable();
            r.first_after_add_p50_ms = Some(pct(&f, 50.0));
            r.first_after_add_max_ms = Some(pct(&f, 100.0));
        }
    } else {
        r.first_p50_ms = f64::NAN;
        r.first_max_ms = f64::NAN;
    }
    gaps.sort_unstable();
    r.gaps = gaps.len();
    r.gap_p50_ms = pct(&gaps, 50.0);
    r.gap_p99_ms = pct(&gaps, 99.0);
    r.gap_p999_ms = pct(&gaps, 99.9);
    r.gap_max_ms = pct(&gaps, 100.0);
    r.jitter_mean_ms = if jitters.is_empty() {
        f64::NAN
    } else {
        jitters.iter().sum::<f64>() / jitters.len() as f64
    };
    r.jitter_max_ms = jitters.iter().cloned().fold(0.0, f64::max);
    r
}

/// A figure for the tables: 3 significant digits or so, "–" for none.
pub fn f(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// `a / b` as "0.84×", "–" when either is missing.
pub fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b == 0.0 {
        "–".into()
    } else {
        format!("{:.2}×", a / b)
    }
}
