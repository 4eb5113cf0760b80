//! `child::run_many` for one process with a longer time limit: the same measurements (wait4
//! rusage, CPU clock between launch + 1 s and launch + `seconds` - 1 s, context switches in that
//! window, `VmHWM` polled while it runs), but the process is killed only `grace` seconds after
//! `seconds` instead of 60. For GStreamer, whose `-e` shutdown of a 1000-branch pipeline (EOS
//! through every branch) takes tens of seconds on 2 cores. The fan-out benchmark's file is
//! shared and not edited here, so its private helpers are repeated.

use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::child::ChildRun;
use super::recv::realtime_ns;

fn process_cpu_ns(pid: libc::pid_t) -> Option<u64> {
    let clock: libc::clockid_t = ((!pid) << 3) | 2;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer; an invalid clock id is reported as an error.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

fn ctxt_switches(pid: libc::pid_t) -> Option<(u64, u64)> {
    let mut v = (0, 0);
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let status = std::fs::read_to_string(t.ok()?.path().join("status")).ok()?;
        for line in status.lines() {
            let num = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|x| x.parse::<u64>().ok())
            };
            if line.starts_with("voluntary_ctxt_switches") {
                v.0 += num(line)?;
            } else if line.starts_with("nonvoluntary_ctxt_switches") {
                v.1 += num(line)?;
            }
        }
    }
    Some(v)
}

fn hwm_kb(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn tv_ns(tv: libc::timeval) -> u64 {
    tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1_000
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Run `cmd` as `child::run_many(vec![cmd], seconds)` does, killing it `grace` s after
/// `seconds` (instead of 60).
pub fn run_one(mut cmd: Command, seconds: f64, grace: f64) -> io::Result<ChildRun> {
    let launch_rt_ns = realtime_ns();
    let t0 = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let mut run = ChildRun {
        launch_rt_ns,
        processes: 1,
        ..ChildRun::default()
    };
    let mut hwm = 0u64;
    let mut read_hwm = || {
        if let Some(kb) = hwm_kb(pid) {
            hwm = hwm.max(kb);
        }
    };
    if seconds >= 3.0 {
        sleep_until(t0 + Duration::from_secs(1));
        let (a, ca) = (process_cpu_ns(pid), ctxt_switches(pid));
        let end = t0 + Duration::from_secs_f64(seconds - 1.0);
        while Instant::now() + Duration::from_millis(100) < end {
            read_hwm();
            std::thread::sleep(Duration::from_millis(100));
        }
        sleep_until(end);
        let (b, cb) = (process_cpu_ns(pid), ctxt_switches(pid));
        if let (Some(a), Some(b)) = (a, b) {
            run.steady_cpu_ns = Some(b.saturating_sub(a));
            run.steady_window_s = seconds - 2.0;
        }
        if let (Some(a), Some(b)) = (ca, cb) {
            run.steady_voluntary_ctxt = Some(b.0.saturating_sub(a.0));
            run.steady_involuntary_ctxt = Some(b.1.saturating_sub(a.1));
        }
    }
    let limit = t0 + Duration::from_secs_f64(seconds + grace);
    let mut polls = 0u64;
    loop {
        if polls.is_multiple_of(20) {
            read_hwm();
        }
        polls += 1;
        let mut status = 0;
        // SAFETY: all-zero rusage is valid.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our unreaped child; valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            run.status = status;
            run.utime_ns = tv_ns(ru.ru_utime);
            run.stime_ns = tv_ns(ru.ru_stime);
            break;
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if Instant::now() > limit && !run.killed {
            // SAFETY: the child is not reaped yet, so the pid is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            run.killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    run.max_rss_kb = hwm;
    run.wall_s = t0.elapsed().as_secs_f64();
    run.cpu_ns = run.utime_ns + run.stime_ns;
    run.stdout = out.join().unwrap_or_default();
    run.stderr = err.join().unwrap_or_default();
    // std's Child would try to reap again on wait(); it is simply dropped here.
    drop(child);
    Ok(run)
}
