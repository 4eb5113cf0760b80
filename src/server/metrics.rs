//! The server's counters, rendered as Prometheus text (exposition format 0.0.4): pages active
//! and ended by outcome, phones reached and failed, push latency, bells, RTP datagrams sent and
//! the pacer's wake-up lateness. Plain atomics: updating a metric never blocks a page.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::page::DeliveryReport;
use crate::rtp::pacer::{LATENESS_BUCKETS_NS, PacerStats};

/// Upper bounds (s) of the push latency buckets: from a start push sent to the phone's answer.
const PUSH_BUCKETS_S: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How a page ended, for `zonecast_pages_total{outcome=...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOutcome {
    /// Every phone reached.
    AllReached,
    /// Some phones failed.
    SomeFailed,
    /// No phone reached.
    NoneReached,
    /// The page could not run at all (journal, media).
    Error,
}

impl PageOutcome {
    const ALL: [PageOutcome; 4] = [
        PageOutcome::AllReached,
        PageOutcome::SomeFailed,
        PageOutcome::NoneReached,
        PageOutcome::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            PageOutcome::AllReached => "all_reached",
            PageOutcome::SomeFailed => "some_failed",
            PageOutcome::NoneReached => "none_reached",
            PageOutcome::Error => "error",
        }
    }

    /// From a finished page's report.
    pub fn of(report: &DeliveryReport) -> PageOutcome {
        match report.exit_code() {
            0 => PageOutcome::AllReached,
            3 => PageOutcome::SomeFailed,
            _ => PageOutcome::NoneReached,
        }
    }
}

#[derive(Debug)]
struct Histogram {
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
}

impl Histogram {
    fn new(buckets: usize) -> Self {
        Histogram {
            counts: (0..=buckets).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
        }
    }
}

/// Every counter the server exports.
#[derive(Debug)]
pub struct Metrics {
    pages_active: AtomicI64,
    pages_total: [AtomicU64; 4],
    phones_reached: AtomicU64,
    phones_failed: AtomicU64,
    push_latency: Histogram,
    bells_fired: AtomicU64,
    bells_missed: AtomicU64,
    credentials_minted: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            pages_active: AtomicI64::new(0),
            pages_total: Default::default(),
            phones_reached: AtomicU64::new(0),
            phones_failed: AtomicU64::new(0),
            push_latency: Histogram::new(PUSH_BUCKETS_S.len()),
            bells_fired: AtomicU64::new(0),
            bells_missed: AtomicU64::new(0),
            credentials_minted: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// A page began.
    pub fn page_started(&self) {
        self.pages_active.fetch_add(1, Ordering::Relaxed);
    }

    /// A page ended (its report when it ran, `None` when it could not run).
    pub fn page_ended(&self, report: Option<&DeliveryReport>) {
        self.pages_active.fetch_sub(1, Ordering::Relaxed);
        let outcome = report.map_or(PageOutcome::Error, PageOutcome::of);
        let i = PageOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(3);
        self.pages_total[i].fetch_add(1, Ordering::Relaxed);
        let Some(r) = report else { return };
        self.phones_reached
            .fetch_add(r.totals.accepted as u64, Ordering::Relaxed);
        self.phones_failed
            .fetch_add(r.totals.failed as u64, Ordering::Relaxed);
        for p in &r.phones {
            if let Some(d) = p.accept {
                self.observe_push(d.as_secs_f64());
            }
        }
    }

    fn observe_push(&self, secs: f64) {
        let h = &self.push_latency;
        let i = PUSH_BUCKETS_S
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(PUSH_BUCKETS_S.len());
        h.counts[i].fetch_add(1, Ordering::Relaxed);
        h.sum_us
            .fetch_add((secs * 1e6).max(0.0) as u64, Ordering::Relaxed);
    }

    /// A bell rang (or was missed).
    pub fn bell(&self, fired: bool) {
        if fired {
            self.bells_fired.fetch_add(1, Ordering::Relaxed);
        } else {
            self.bells_missed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Credentials minted so far (the Authentication URL's count).
    pub fn set_minted(&self, n: u64) {
        self.credentials_minted.store(n, Ordering::Relaxed);
    }

    /// The Prometheus text.
    pub fn render(&self, pacer: &PacerStats) -> String {
        let mut o = String::with_capacity(4096);
        let r = Ordering::Relaxed;
        head(
            &mut o,
            "zonecast_pages_active",
            "gauge",
            "Pages running now.",
        );
        let _ = writeln!(
            o,
            "zonecast_pages_active {}",
            self.pages_active.load(r).max(0)
        );
        head(
            &mut o,
            "zonecast_pages_total",
            "counter",
            "Pages ended, by outcome (all phones reached, some failed, none reached, could not run).",
        );
        for (i, oc) in PageOutcome::ALL.iter().enumerate() {
            let _ = writeln!(
                o,
                "zonecast_pages_total{{outcome=\"{}\"}} {}",
                oc.label(),
                self.pages_total[i].load(r)
            );
        }
        counter(
            &mut o,
            "zonecast_phones_reached_total",
            "Phones that accepted a page's stream.",
            self.phones_reached.load(r),
        );
        counter(
            &mut o,
            "zonecast_phones_failed_total",
            "Phones a page could not start.",
            self.phones_failed.load(r),
        );
        head(
            &mut o,
            "zonecast_push_latency_seconds",
            "histogram",
            "From a page's start to each phone's accepted start push (queueing included).",
        );
        let h = &self.push_latency;
        let mut cum = 0u64;
        for (i, b) in PUSH_BUCKETS_S.iter().enumerate() {
            cum += h.counts[i].load(r);
            let _ = writeln!(
                o,
                "zonecast_push_latency_seconds_bucket{{le=\"{b}\"}} {cum}"
            );
        }
        cum += h.counts[PUSH_BUCKETS_S.len()].load(r);
        let _ = writeln!(
            o,
            "zonecast_push_latency_seconds_bucket{{le=\"+Inf\"}} {cum}"
        );
        let _ = writeln!(
            o,
            "zonecast_push_latency_seconds_sum {}",
            h.sum_us.load(r) as f64 / 1e6
        );
        let _ = writeln!(o, "zonecast_push_latency_seconds_count {cum}");
        counter(
            &mut o,
            "zonecast_bells_fired_total",
            "Bells rung.",
            self.bells_fired.load(r),
        );
        counter(
            &mut o,
            "zonecast_bells_missed_total",
            "Bells not rung because their time passed beyond the grace while the server was down.",
            self.bells_missed.load(r),
        );
        counter(
            &mut o,
            "zonecast_credentials_minted_total",
            "One-time push credentials minted for the Authentication URL.",
            self.credentials_minted.load(r),
        );
        counter(
            &mut o,
            "zonecast_rtp_datagrams_sent_total",
            "RTP datagrams handed to the kernel (packets times destinations).",
            pacer.datagrams,
        );
        head(
            &mut o,
            "zonecast_pacer_lateness_seconds",
            "histogram",
            "How late the pacer thread woke for a due packet, per wake-up.",
        );
        let mut cum = 0u64;
        for (i, b) in LATENESS_BUCKETS_NS.iter().enumerate() {
            cum += pacer.lateness_histogram[i];
            if *b == u64::MAX {
                let _ = writeln!(
                    o,
                    "zonecast_pacer_lateness_seconds_bucket{{le=\"+Inf\"}} {cum}"
                );
            } else {
                let _ = writeln!(
                    o,
                    "zonecast_pacer_lateness_seconds_bucket{{le=\"{}\"}} {cum}",
                    *b as f64 / 1e9
                );
            }
        }
        let _ = writeln!(
            o,
            "zonecast_pacer_lateness_seconds_sum {}",
            pacer.lateness_sum_ns as f64 / 1e9
        );
        let _ = writeln!(o, "zonecast_pacer_lateness_seconds_count {cum}");
        o
    }
}

fn head(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

fn counter(o: &mut String, name: &str, help: &str, v: u64) {
    head(o, name, "counter", help);
    let _ = writeln!(o, "{name} {v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer() -> PacerStats {
        PacerStats {
            wakeups: 6,
            lateness_histogram: [1, 2, 0, 0, 0, 0, 0, 3],
            max_lateness_ns: 9_000_000,
            skipped_ticks: 0,
            lateness_sum_ns: 27_000_000,
            datagrams: 1234,
            realtime: false,
        }
    }

    #[test]
    fn histograms_are_cumulative_and_end_at_the_count() {
        let m = Metrics::default();
        m.observe_push(0.003);
        m.observe_push(0.2);
        m.observe_push(99.0);
        let text = m.render(&pacer());
        assert!(text.contains("zonecast_push_latency_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("zonecast_push_latency_seconds_bucket{le=\"0.25\"} 2\n"));
        assert!(text.contains("zonecast_push_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("zonecast_push_latency_seconds_count 3\n"));
        assert!(text.contains("zonecast_pacer_lateness_seconds_bucket{le=\"0.0001\"} 3\n"));
        assert!(text.contains("zonecast_pacer_lateness_seconds_bucket{le=\"+Inf\"} 6\n"));
        assert!(text.contains("zonecast_pacer_lateness_seconds_sum 0.027\n"));
        assert!(text.contains("zonecast_rtp_datagrams_sent_total 1234\n"));
    }

    #[test]
    fn a_page_that_could_not_run_counts_as_error() {
        let m = Metrics::default();
        m.page_started();
        m.page_ended(None);
        let text = m.render(&pacer());
        assert!(text.contains("zonecast_pages_total{outcome=\"error\"} 1\n"));
        assert!(text.contains("zonecast_pages_active 0\n"));
    }
}
