//! Running a sender as a child process and measuring what it cost.
//!
//! CPU is the child's own rusage (user + system) as `wait4` reports it when it is reaped, so the
//! whole life of the process counts: exec, start-up, streaming, shutdown. Alongside it, the
//! steady-state CPU between 1 s after launch and 1 s before the planned end is read from the
//! child's process CPU-time clock (`clock_gettime` on its `clock_getcpuclockid` clock, ns
//! resolution), which leaves start-up out.

use std::collections::HashMap;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::recv::realtime_ns;

/// One child's life.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChildRun {
    /// `CLOCK_REALTIME` just before `spawn`.
    pub launch_rt_ns: i64,
    /// utime + stime from `wait4`, ns. The total is exact (the scheduler's runtime); the split
    /// between user and system comes from tick sampling and is unreliable for a process that
    /// wakes periodically (it can read 0 % or 100 % user for the same work).
    pub cpu_ns: u64,
    pub utime_ns: u64,
    pub stime_ns: u64,
    /// CPU used between launch + 1 s and launch + S - 1 s, ns, and that window's length (s).
    pub steady_cpu_ns: Option<u64>,
    pub steady_window_s: f64,
    /// Context switches (voluntary, involuntary) of all the child's threads in that window.
    pub steady_voluntary_ctxt: Option<u64>,
    pub steady_involuntary_ctxt: Option<u64>,
    /// Peak resident set, KiB, summed over the processes: each one's `VmHWM` as last read from
    /// `/proc/PID/status` while it ran (read every ~100 ms, so growth in a process's last
    /// ~100 ms is missed). Not `ru_maxrss`: `wait4` reports the highest RSS of the process
    /// *including its image before exec*, which for a child forked from this benchmark is the
    /// benchmark's own RSS (the receiver's capture: 16 MB at N = 1000).
    pub max_rss_kb: u64,
    /// Processes (1, or N for the one-process-per-stream peers).
    pub processes: usize,
    /// Launch to exit, s.
    pub wall_s: f64,
    /// Raw wait status.
    pub status: i32,
    /// Killed after the time limit.
    pub killed: bool,
    #[serde(skip)]
    pub stdout: String,
    #[serde(skip)]
    pub stderr: String,
}

impl ChildRun {
    pub fn success(&self) -> bool {
        libc::WIFEXITED(self.status) && libc::WEXITSTATUS(self.status) == 0
    }
}

/// `/proc/loadavg` as read, and its 1-minute figure (NaN when unreadable).
pub fn loadavg() -> (String, f64) {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let l1 = s
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(f64::NAN);
    (s.trim().to_string(), l1)
}

/// Whether `gst` (gst-launch-1.0) runs.
pub fn gst_available(gst: &str) -> bool {
    Command::new(gst)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// CPU time of a live process, ns (`MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)`).
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

/// Context switches (voluntary, involuntary) summed over the threads of a live process.
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

/// Peak resident set (`VmHWM`, KiB) of a live process since its exec.
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

/// Start the sender's process(es), sample their steady CPU, reap each with `wait4` and return
/// the measurements; `seconds` is how long they should stream (killed after `seconds + 60`).
/// Several processes together are one sender (one process per stream): CPU,
/// context switches and peak RSS are summed, the status is the first failure's, stdout and stderr
/// are concatenated.
pub fn run_many(cmds: Vec<Command>, seconds: f64) -> io::Result<ChildRun> {
    run_many_with(cmds, seconds, 60.0)
}

/// [`run_many`], killing what is still running `grace` seconds after `seconds` (instead of 60):
/// for senders whose shutdown is long (GStreamer's `-e` through a 1000-branch pipeline).
pub fn run_many_with(cmds: Vec<Command>, seconds: f64, grace: f64) -> io::Result<ChildRun> {
    let launch_rt_ns = realtime_ns();
    let t0 = Instant::now();
    let mut children = Vec::with_capacity(cmds.len());
    let mut readers = Vec::with_capacity(cmds.len());
    for mut cmd in cmds {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        readers.push((
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = out.read_to_string(&mut s);
                s
            }),
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                s
            }),
        ));
        children.push(child);
    }
    let pids: Vec<libc::pid_t> = children.iter().map(|c| c.id() as libc::pid_t).collect();
    let mut run = ChildRun {
        launch_rt_ns,
        processes: pids.len(),
        ..ChildRun::default()
    };
    let mut hwm: HashMap<libc::pid_t, u64> = HashMap::new();
    let mut read_hwm = |pids: &[libc::pid_t]| {
        for &p in pids {
            if let Some(kb) = hwm_kb(p) {
                let e = hwm.entry(p).or_insert(0);
                *e = (*e).max(kb);
            }
        }
    };
    let sample = |pids: &[libc::pid_t]| {
        let cpu: Option<u64> = pids.iter().map(|&p| process_cpu_ns(p)).sum();
        let ctxt: Option<(u64, u64)> = pids
            .iter()
            .map(|&p| ctxt_switches(p))
            .try_fold((0, 0), |acc, c| c.map(|c| (acc.0 + c.0, acc.1 + c.1)));
        (cpu, ctxt)
    };
    if seconds >= 3.0 {
        sleep_until(t0 + Duration::from_secs(1));
        let (a, ca) = sample(&pids);
        let end = t0 + Duration::from_secs_f64(seconds - 1.0);
        while Instant::now() + Duration::from_millis(100) < end {
            read_hwm(&pids);
            std::thread::sleep(Duration::from_millis(100));
        }
        sleep_until(end);
        let (b, cb) = sample(&pids);
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
    let mut left: Vec<libc::pid_t> = pids.clone();
    let mut polls = 0u64;
    while !left.is_empty() {
        if polls.is_multiple_of(20) {
            read_hwm(&left);
        }
        polls += 1;
        let mut i = 0;
        while i < left.len() {
            let pid = left[i];
            let mut status = 0;
            // SAFETY: all-zero rusage is valid.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: `pid` is our unreaped child; valid pointers.
            let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
            if r == pid {
                if run.status == 0 {
                    run.status = status;
                }
                run.utime_ns += tv_ns(ru.ru_utime);
                run.stime_ns += tv_ns(ru.ru_stime);
                left.swap_remove(i);
                continue;
            }
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            i += 1;
        }
        if Instant::now() > limit && !run.killed {
            for &pid in &left {
                // SAFETY: the child is not reaped yet, so the pid is still ours.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            run.killed = true;
        }
        if !left.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    run.max_rss_kb = hwm.values().sum();
    run.wall_s = t0.elapsed().as_secs_f64();
    run.cpu_ns = run.utime_ns + run.stime_ns;
    for (o, e) in readers {
        run.stdout += &o.join().unwrap_or_default();
        run.stderr += &e.join().unwrap_or_default();
    }
    // std's Child would try to reap again on wait(); they are simply dropped here.
    drop(children);
    Ok(run)
}
