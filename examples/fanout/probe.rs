//! The platform's own timer wake-up latency, as a floor for the pacer's numbers.
//!
//! A thread set up like the pacer's (SCHED_FIFO priority 10 when permitted, 1 ns timer slack)
//! sleeps with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)` to deadlines 1 ms apart and
//! records how late it woke. Nothing is sent: what it sees is the machine (VM scheduling, other
//! load, timer hardware), not zonecast.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Probe {
    pub seconds: f64,
    pub wakeups: usize,
    pub realtime: bool,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Wake-ups later than 0.5 ms and 2 ms.
    pub over_0_5ms: usize,
    pub over_2ms: usize,
    pub loadavg: String,
}

fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub fn run(seconds: f64, loadavg: String) -> Probe {
    let handle = std::thread::spawn(move || {
        // SAFETY: plain syscalls on this thread with valid arguments.
        let realtime = unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
            let param = libc::sched_param { sched_priority: 10 };
            libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0
        };
        let n = (seconds * 1000.0) as usize;
        let mut late = Vec::with_capacity(n);
        let mut t = mono_ns();
        for _ in 0..n {
            t += 1_000_000;
            let ts = libc::timespec {
                tv_sec: (t / 1_000_000_000) as libc::time_t,
                tv_nsec: (t % 1_000_000_000) as libc::c_long,
            };
            // SAFETY: valid timespec; null remainder allowed with TIMER_ABSTIME.
            while unsafe {
                libc::clock_nanosleep(
                    libc::CLOCK_MONOTONIC,
                    libc::TIMER_ABSTIME,
                    &ts,
                    std::ptr::null_mut(),
                )
            } == libc::EINTR
            {}
            late.push(mono_ns().saturating_sub(t));
        }
        (late, realtime)
    });
    let (mut late, realtime) = handle.join().unwrap_or_default();
    late.sort_unstable();
    let pct = |p: f64| {
        if late.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * late.len() as f64).ceil() as usize;
        late[rank.clamp(1, late.len()) - 1] as f64 / 1e6
    };
    Probe {
        seconds,
        wakeups: late.len(),
        realtime,
        p50_ms: pct(50.0),
        p99_ms: pct(99.0),
        p999_ms: pct(99.9),
        max_ms: pct(100.0),
        over_0_5ms: late.iter().filter(|&&l| l > 500_000).count(),
        over_2ms: late.iter().filter(|&&l| l > 2_000_000).count(),
        loadavg,
    }
}
