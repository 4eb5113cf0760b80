//! Page reach: time from the start of a page until every one of N emulated phones has accepted
//! the stream and is receiving packets, with every phone answering a push after ~200 ms.
//!
//! ```text
//! cargo build --release --bins --examples
//! target/release/examples/page_reach --phones 1000,10000 --fleet-processes 2 \
//!     --latency-ms 200 --concurrency 1000,2000,5000 --runs 3 --json
//! ```
//!
//! Where the phones run:
//!
//! - `--fleet-processes 0`: one fleet in this process (`Addressing::Addresses`, one loopback
//!   address per phone from `--first`), every phone with the answer latency `--latency-ms`
//!   (fixed, or normal with `--latency-sd-ms`) through a `FaultRule { share: Some(1.0), .. }`.
//!   The pager's and the phones' file descriptors then add up in one process (10,000 phones do
//!   not fit under a 20,000 hard limit).
//! - `--fleet-processes P`: the fleet as P child processes of the real binary,
//!   `zonecast sim --config FILE --json --duration S`, N / P phones each (the remainder to the
//!   first), child i on its own block `127.(first.b + i).0.1` onwards, with a generated TOML
//!   (`addressing = "addresses"`, the phone group, `[[faults]] share = 1.0 latency = ...`) and
//!   the emulator's default password (`ZONECAST_SIM_PASSWORD` is removed from the children's
//!   environment). Each child prints one JSON line (its phones and the `/fleet` control URL);
//!   the pager (`page::Pager`: plan + run) stays in this process.
//!
//! Then for every delivery (multicast to a fresh 239.255.x.y group on an even port, loopback
//! interface; unicast), every push concurrency and every run: page the fleet (no banner unless
//! `--banner`) through `page::Pager`, the one way in every entry point uses, so the start time
//! includes planning (`plan_ms` reports planning's own cost), with a fresh `PushClient` per page,
//! as a fresh `zonecast page` process would have, on a pacer shared by the runs, and measure:
//!
//! - `last_accept_ms`: the delivery report's time until the last phone accepted;
//! - `all_receiving_ms`: the time until the last phone received its first packet, from each
//!   phone's own arrival timestamp (`first_packet_ns`, CLOCK_MONOTONIC, set by the phone's receive
//!   task when the first datagram is read), read from one fleet report after the page (in-process:
//!   `Fleet::report`; children: one `GET /fleet` each). CLOCK_MONOTONIC is one clock for every
//!   process of the machine, so the children's timestamps compare with ours; the zero is a
//!   CLOCK_MONOTONIC reading just before `run` is spawned. Also from the same report:
//!   `last_rtp_open_ms`, the last phone's RTP socket opening (`first_packet_ns -
//!   first_packet_after_ms`), i.e. when the phone acted on the push;
//! - `poll_all_receiving_ms`: the same seen from outside while the page runs. In-process: the
//!   main thread (not a tokio worker) polls `Fleet::phone_report` of the phones not yet seen
//!   receiving, in plan order, every `--poll-ms`, and ends each pass after 32 phones in a row
//!   that are not receiving yet. Children: one thread per child polls `GET /fleet` every
//!   `--fleet-poll-ms` (a full report of every phone: heavy, hence the coarse period) until all of
//!   its phones show packets on the stream of this page; the time is taken when that answer has
//!   arrived, so it is late by up to one poll period plus the report's own time. When every
//!   phone was seen, the page is told to stop. `--fleet-poll-ms 0` turns the polling off (a
//!   report of 5,000 phones is megabytes of JSON and the children's CPU): the page is then
//!   stopped `--hold-s` after its start and only the phones' own timestamps count.
//!
//! "Receiving" is packets > 0 on the phone's current stream: the page sends silence until every
//! start was answered (the gate in `page::run`), and silence packets count.
//!
//! Also per run: the floor `latency × ceil(N / concurrency)` (every push takes at least the
//! latency; at most `concurrency` are in flight), CPU over the page (this process, and the
//! children), the peak of open file descriptors (this process; the largest child), failures by
//! kind, and the time the stops took.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use zonecast::audio::Tone;
use zonecast::config::ZoneMode;
use zonecast::g711::Law;
use zonecast::page::journal::Journal;
use zonecast::page::{
    Delivery, Origin, PageOrder, PageSpec, Pager, PagerSetup, Roster, ZoneMember, plan,
};
use zonecast::phone_sim::config::{Addressing, DEFAULT_PASSWORD, DEFAULT_USER, FaultRule};
use zonecast::phone_sim::faults::{Faults, Latency};
use zonecast::phone_sim::{Fleet, SimConfig};
use zonecast::push::{Phone, PushClient, PushConfig, Secret};
use zonecast::rtp::{Encode, Pacer, PacerOptions, RtpPort};

#[derive(Debug, Parser)]
#[command(about = "Time until every phone of a page accepted and receives")]
struct Args {
    /// Phone counts, comma separated (one fleet each).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    phones: Vec<usize>,
    /// The phones' answer latency (mean), ms.
    #[arg(long, default_value_t = 200.0)]
    latency_ms: f64,
    /// Standard deviation of the latency, ms (0: fixed).
    #[arg(long, default_value_t = 0.0)]
    latency_sd_ms: f64,
    /// Pushes in flight, comma separated (the `PushConfig::concurrency` of each page).
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,5000")]
    concurrency: Vec<usize>,
    /// `multicast`, `unicast`, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "multicast")]
    delivery: Vec<String>,
    /// Pages per (delivery, N, concurrency).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Address of the first phone.
    #[arg(long, default_value = "127.20.0.1")]
    first: Ipv4Addr,
    /// RTP port (even).
    #[arg(long, default_value_t = 20_480)]
    rtp_port: u16,
    /// Also push a banner after each start (a second push per phone).
    #[arg(long)]
    banner: bool,
    /// Poll period of the outside view (in-process fleet), ms.
    #[arg(long, default_value_t = 5)]
    poll_ms: u64,
    /// Run the fleet as this many child processes of `zonecast sim` (0: in this process).
    #[arg(long, default_value_t = 0)]
    fleet_processes: usize,
    /// The `zonecast` binary for the children (default: target/release/zonecast of this crate).
    #[arg(long)]
    sim_bin: Option<PathBuf>,
    /// Poll period of `GET /fleet` on each child during a page, ms. 0: no polling during the
    /// page (it would load the children); the page is stopped after `--hold-s` and every time
    /// comes from the phones' own timestamps, read after the page.
    #[arg(long, default_value_t = 200)]
    fleet_poll_ms: u64,
    /// With `--fleet-poll-ms 0`: stop each page this many seconds after its start.
    #[arg(long, default_value_t = 10.0)]
    hold_s: f64,
    /// Give up on a page (stop it) after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// Raise this process's RLIMIT_NOFILE (soft and hard) to this before the fleet starts; the
    /// hard limit can only be raised by root. Default: leave it (the fleet raises soft to hard).
    #[arg(long)]
    fd_limit: Option<u64>,
    /// Pause between pages, ms (lets closed connections and sockets go).
    #[arg(long, default_value_t = 1_500)]
    settle_ms: u64,
    /// Print every run and the medians as JSON.
    #[arg(long)]
    json: bool,
    /// The emulated phones receive in the light mode (`receive = "light"`: first packet's
    /// time and counts, no decoding), so 10,000 receiving phones fit on the same 2 cores as
    /// the pager.
    #[arg(long)]
    light_receive: bool,
}

fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn process_cpu_ns() -> u64 {
    // SAFETY: all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn fd_limit() -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (lim.rlim_cur, lim.rlim_max)
}

fn set_fd_limit(n: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: valid pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        bail!(
            "setrlimit(RLIMIT_NOFILE, {n}): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
struct RunResult {
    delivery: String,
    phones: usize,
    concurrency: usize,
    run: usize,
    load_at_start: String,
    /// `plan()` of all phones, ms (before the page starts; not in the times below).
    plan_ms: f64,
    accepted: usize,
    failed: usize,
    failures: BTreeMap<String, usize>,
    /// Report: page start to the last acceptance.
    last_accept_ms: Option<f64>,
    /// Median acceptance time.
    accept_p50_ms: Option<f64>,
    /// 90th percentile of the acceptance times.
    accept_p90_ms: Option<f64>,
    /// Phones' own first-packet timestamps: the last phone's.
    all_receiving_ms: Option<f64>,
    receive_p50_ms: Option<f64>,
    receive_p90_ms: Option<f64>,
    /// Phones' RTP socket openings (first packet − `first_packet_after_ms`): the last one.
    last_rtp_open_ms: Option<f64>,
    /// Phones that accepted but had no packet in this page.
    accepted_not_receiving: usize,
    /// Seen from the polling thread.
    poll_all_receiving_ms: Option<f64>,
    /// CPU of the polling thread over the page, ms.
    poll_cpu_ms: f64,
    poll_passes: u64,
    /// Bytes of `/fleet` answers read while polling (children).
    poll_bytes: usize,
    /// latency × ceil(N / concurrency).
    floor_ms: f64,
    /// all_receiving / floor.
    ratio_to_floor: Option<f64>,
    /// Process CPU from page start to all receiving (with `--fleet-poll-ms 0`: over the hold),
    /// in cores.
    cores_to_all_receiving: Option<f64>,
    /// The children's CPU over the same span, in cores.
    child_cores_to_all_receiving: Option<f64>,
    /// From the stop request to the end of `run` (every stop pushed and answered), ms.
    stop_ms: f64,
    peak_open_fds: usize,
    /// The largest child's open descriptors at peak (children).
    peak_child_fds: usize,
    open_fds_before: usize,
    /// The target for N (0.5 s for 1,000, 3 s for 10,000), ms.
    target_ms: Option<f64>,
    met: Option<bool>,
}

fn target_ms(n: usize) -> Option<f64> {
    match n {
        1_000 => Some(500.0),
        10_000 => Some(3_000.0),
        _ => None,
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    Some(v[i])
}

fn target(name: &str, model: &str, addr: std::net::SocketAddrV4, push: Phone) -> ZoneMember {
    ZoneMember {
        name: name.to_owned(),
        model: model.to_owned(),
        ip: Some(*addr.ip()),
        g722: false,
        push: Ok(push),
    }
}

/// One phone as a `zonecast sim --json` line lists it.
#[derive(Debug, Clone, Deserialize)]
struct SimPhone {
    name: String,
    model: String,
    addr: std::net::SocketAddrV4,
    user: String,
}

/// The line `zonecast sim --json` prints once its phones are up.
#[derive(Debug, Deserialize)]
struct SimLine {
    phones: Vec<SimPhone>,
    control: String,
    start_ms: f64,
}

/// One child `zonecast sim` process and what it said about itself.
struct SimChild {
    child: Child,
    /// `/fleet`'s address (`http://ADDR/fleet` in the line).
    control: SocketAddr,
    phones: Vec<SimPhone>,
    /// The child's own report of its start (`start_ms`).
    start_ms: f64,
    /// Keeps the pipe open so the child never writes to a closed stdout.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl SimChild {
    /// SIGTERM (the sim reports and shuts its phones down), then SIGKILL after 20 s.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: the pid is our own child's, not yet reaped (try_wait above).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the phones run.
enum Phones {
    InProc(Fleet),
    Children(Vec<SimChild>),
}

impl Phones {
    fn targets(&self) -> Vec<ZoneMember> {
        match self {
            Phones::InProc(fleet) => fleet
                .phones()
                .iter()
                .map(|p| target(&p.name, &p.model, p.addr, p.push_target()))
                .collect(),
            Phones::Children(children) => children
                .iter()
                .flat_map(|c| &c.phones)
                .map(|p| {
                    let push = Phone {
                        name: p.name.clone(),
                        host: p.addr.to_string(),
                        user: p.user.clone(),
                        password: Secret::new(DEFAULT_PASSWORD),
                        https: false,
                    };
                    target(&p.name, &p.model, p.addr, push)
                })
                .collect(),
        }
    }

    /// Every phone's current stream as seen now: (name, first packet ns, RTP socket opened ns).
    fn observe(&self) -> Result<Vec<Obs>> {
        match self {
            Phones::InProc(fleet) => Ok(fleet
                .report()
                .phones
                .into_iter()
                .map(|p| {
                    let h = p.heard.last();
                    Obs::new(
                        p.name,
                        h.map_or(0, |h| h.rx.summary.packets),
                        h.and_then(|h| h.rx.summary.first_packet_ns),
                        h.and_then(|h| h.rx.first_packet_after_ms),
                    )
                })
                .collect()),
            Phones::Children(children) => {
                let mut all = Vec::new();
                for c in children {
                    all.extend(get_fleet(c.control)?.0);
                }
                Ok(all)
            }
        }
    }
}

/// One phone's current (last) stream.
#[derive(Debug, Clone)]
struct Obs {
    name: String,
    packets: u64,
    first_packet_ns: Option<u64>,
    /// When the phone opened its RTP socket (first packet minus `first_packet_after_ms`).
    opened_ns: Option<u64>,
}

impl Obs {
    fn new(name: String, packets: u64, first: Option<u64>, after_ms: Option<f64>) -> Obs {
        let opened_ns = first
            .zip(after_ms)
            .map(|(f, a)| f.saturating_sub((a * 1e6) as u64));
        Obs {
            name,
            packets,
            first_packet_ns: first,
            opened_ns,
        }
    }

    /// Receiving a stream whose first packet came at or after `t0_ns`.
    fn receiving_since(&self, t0_ns: u64) -> bool {
        self.packets > 0 && self.first_packet_ns.is_some_and(|f| f >= t0_ns)
    }
}

/// The parts of `/fleet` read here.
#[derive(Debug, Deserialize)]
struct FleetJson {
    phones: Vec<PhoneJson>,
}

#[derive(Debug, Deserialize)]
struct PhoneJson {
    name: String,
    #[serde(default)]
    heard: Vec<HeardJson>,
}

#[derive(Debug, Deserialize)]
struct HeardJson {
    #[serde(default)]
    packets: u64,
    first_packet_ns: Option<u64>,
    first_packet_after_ms: Option<f64>,
}

/// `GET /fleet` (HTTP/1.0, so the answer is not chunked and the connection closes): every
/// phone's last stream, and the size of the answer in bytes.
fn get_fleet(addr: SocketAddr) -> Result<(Vec<Obs>, usize)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(s, "GET /fleet HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut buf = Vec::with_capacity(1 << 20);
    s.read_to_end(&mut buf)?;
    let at = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers in /fleet's answer")?;
    let status = String::from_utf8_lossy(&buf[..buf.len().min(16)]).into_owned();
    if !status.contains(" 200") {
        bail!("GET /fleet on {addr}: {status}");
    }
    let f: FleetJson = serde_json::from_slice(&buf[at + 4..]).context("parsing /fleet")?;
    let obs = f
        .phones
        .into_iter()
        .map(|p| {
            let h = p.heard.last();
            Obs::new(
                p.name,
                h.map_or(0, |h| h.packets),
                h.and_then(|h| h.first_packet_ns),
                h.and_then(|h| h.first_packet_after_ms),
            )
        })
        .collect();
    Ok((obs, buf.len()))
}

/// Start `k` phones in a child `zonecast sim` on the block from `host`; returns once it printed
/// its JSON line.
fn spawn_child(
    bin: &std::path::Path,
    dir: &std::path::Path,
    index: usize,
    k: usize,
    host: Ipv4Addr,
    latency: &str,
    light: bool,
) -> Result<(SimChild, String)> {
    let toml = format!(
        "# page_reach: child {index}\nseed = {seed}\naddressing = \"addresses\"\nhost = \"{host}\"\n\
         base_port = 0\nuser = \"{DEFAULT_USER}\"\nmedia_interface = \"127.0.0.1\"\nreceive = \"{receive}\"\n\n\
         [[phones]]\ncount = {k}\nmodel = \"CP-8851\"\nprefix = \"f{index}p\"\n\n\
         [[faults]]\nshare = 1.0\nlatency = \"{latency}\"\n",
        seed = 42 + index,
        receive = if light { "light" } else { "full" },
    );
    let cfg = dir.join(format!("sim-{index}.toml"));
    std::fs::write(&cfg, &toml).with_context(|| format!("writing {}", cfg.display()))?;
    let log = std::fs::File::create(dir.join(format!("sim-{index}.log")))?;
    let mut cmd = Command::new(bin);
    cmd.arg("sim")
        .arg("--config")
        .arg(&cfg)
        .args(["--json", "--duration", "21600"])
        .env_remove("ZONECAST_SIM_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    let shown = format!(
        "{} sim --config {} --json --duration 21600",
        bin.display(),
        cfg.display()
    );
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut out = BufReader::new(child.stdout.take().context("child stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    let parsed: SimLine = match serde_json::from_str(&line) {
        Ok(p) => p,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "child {index} did not print its phones ({e}); see {}",
                dir.join(format!("sim-{index}.log")).display()
            );
        }
    };
    let control = parsed
        .control
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/fleet"))
        .context("control URL")?
        .parse()
        .context("control address")?;
    Ok((
        SimChild {
            child,
            control,
            phones: parsed.phones,
            start_ms: parsed.start_ms,
            _stdout: out,
        },
        shown,
    ))
}

fn count_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// User + system CPU of process `pid` (a child of ours), ns.
fn pid_cpu_ns(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command (which may hold spaces) in parentheses: state is field 3,
    // utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    ticks * 1_000_000_000 / hz
}

struct Ctx<'a> {
    args: &'a Args,
    runtime: &'a tokio::runtime::Runtime,
    phones: &'a Phones,
    pacer: Arc<Pacer>,
    names: Vec<String>,
    journal_dir: PathBuf,
}

/// Whether the phone's current stream has packets.
fn receiving(fleet: &Fleet, name: &str) -> bool {
    fleet.phone_report(name).is_some_and(|p| {
        p.heard
            .last()
            .is_some_and(|h| h.active && h.rx.summary.packets > 0)
    })
}

/// What the outside view saw during a page.
#[derive(Debug, Default)]
struct Seen {
    /// Page start to the moment every phone was seen receiving, ms.
    all_ms: Option<f64>,
    /// Process CPU in cores from page start to then.
    cores: Option<f64>,
    /// CPU of the polling thread(s), ms.
    cpu_ms: f64,
    passes: u64,
    /// Bytes of `/fleet` answers read (children).
    bytes: usize,
    peak_fds: usize,
    peak_child_fds: usize,
    /// Children's CPU in cores from page start to then.
    child_cores: Option<f64>,
}

/// In-process: poll `Fleet::phone_report` of the phones not yet seen, in plan order.
fn watch_in_proc(
    cx: &Ctx<'_>,
    fleet: &Fleet,
    page: &tokio::task::JoinHandle<impl Sized>,
    t0: Instant,
    cpu0: u64,
) -> Seen {
    let n = cx.names.len();
    let poll_cpu0 = thread_cpu_ns();
    let mut seen = Seen {
        peak_fds: open_fds(),
        ..Seen::default()
    };
    let mut unseen: Vec<usize> = (0..n).collect();
    let mut last_fd_sample = Instant::now();
    let deadline = t0 + Duration::from_secs(cx.args.timeout_s);
    while !page.is_finished() {
        seen.passes += 1;
        let mut misses = 0;
        let mut keep = Vec::with_capacity(unseen.len());
        let mut idx = 0;
        while idx < unseen.len() {
            let i = unseen[idx];
            idx += 1;
            if receiving(fleet, &cx.names[i]) {
                misses = 0;
            } else {
                keep.push(i);
                misses += 1;
                if misses >= 32 {
                    break;
                }
            }
        }
        keep.extend_from_slice(&unseen[idx..]);
        unseen = keep;
        if last_fd_sample.elapsed() >= Duration::from_millis(100) {
            last_fd_sample = Instant::now();
            seen.peak_fds = seen.peak_fds.max(open_fds());
        }
        if unseen.is_empty() {
            seen.all_ms = Some(t0.elapsed().as_secs_f64() * 1e3);
            seen.cores = Some((process_cpu_ns() - cpu0) as f64 / 1e9 / t0.elapsed().as_secs_f64());
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(cx.args.poll_ms));
    }
    seen.cpu_ms = (thread_cpu_ns() - poll_cpu0) as f64 / 1e6;
    seen.peak_fds = seen.peak_fds.max(open_fds());
    seen
}

/// Children: one thread per child polls `GET /fleet` every `--fleet-poll-ms` until all of its
/// phones receive this page's stream; the main thread samples descriptors meanwhile.
fn watch_children(
    cx: &Ctx<'_>,
    children: &[SimChild],
    page: &tokio::task::JoinHandle<impl Sized>,
    t0: Instant,
    t0_ns: u64,
    cpu0: u64,
) -> Seen {
    let period = Duration::from_millis(cx.args.fleet_poll_ms.max(1));
    let deadline = t0 + Duration::from_secs(cx.args.timeout_s);
    let quit = AtomicBool::new(false);
    let child_cpu0: u64 = children.iter().map(|c| pid_cpu_ns(c.child.id())).sum();
    let mut seen = Seen {
        peak_fds: open_fds(),
        ..Seen::default()
    };
    let mut child_cores = None;
    let hold = (cx.args.fleet_poll_ms == 0).then(|| Duration::from_secs_f64(cx.args.hold_s));
    let results: Vec<(Option<f64>, f64, u64, usize)> = std::thread::scope(|scope| {
        let threads: Vec<_> = children
            .iter()
            .filter(|_| hold.is_none())
            .map(|c| {
                let quit = &quit;
                scope.spawn(move || {
                    let cpu0 = thread_cpu_ns();
                    let mut polls = 0u64;
                    let mut bytes = 0usize;
                    let mut done = None;
                    while !quit.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let asked = Instant::now();
                        polls += 1;
                        match get_fleet(c.control) {
                            Ok((obs, b)) => {
                                bytes += b;
                                if obs.iter().all(|o| o.receiving_since(t0_ns)) {
                                    done = Some(t0.elapsed().as_secs_f64() * 1e3);
                                    break;
                                }
                            }
                            Err(e) => eprintln!("page_reach: GET /fleet: {e:#}"),
                        }
                        if let Some(rest) = period.checked_sub(asked.elapsed()) {
                            std::thread::sleep(rest);
                        }
                    }
                    (done, (thread_cpu_ns() - cpu0) as f64 / 1e6, polls, bytes)
                })
            })
            .collect();
        let mut last_fd_sample = Instant::now() - Duration::from_secs(1);
        loop {
            if last_fd_sample.elapsed() >= Duration::from_millis(100) {
                last_fd_sample = Instant::now();
                seen.peak_fds = seen.peak_fds.max(open_fds());
                for c in children {
                    seen.peak_child_fds = seen.peak_child_fds.max(count_fds(c.child.id()));
                }
            }
            if let Some(hold) = hold {
                if page.is_finished() || t0.elapsed() >= hold {
                    // CPU over the whole hold (the reach window is not known yet).
                    let el = t0.elapsed().as_secs_f64();
                    seen.cores = Some((process_cpu_ns() - cpu0) as f64 / 1e9 / el);
                    let cc: u64 = children.iter().map(|c| pid_cpu_ns(c.child.id())).sum();
                    child_cores = Some((cc - child_cpu0) as f64 / 1e9 / el);
                    break;
                }
            } else if threads.iter().all(|t| t.is_finished()) {
                let el = t0.elapsed().as_secs_f64();
                seen.cores = Some((process_cpu_ns() - cpu0) as f64 / 1e9 / el);
                let cc: u64 = children.iter().map(|c| pid_cpu_ns(c.child.id())).sum();
                child_cores = Some((cc - child_cpu0) as f64 / 1e9 / el);
                break;
            }
            if page.is_finished() || Instant::now() > deadline {
                quit.store(true, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or((None, 0.0, 0, 0)))
            .collect()
    });
    for (done, cpu, polls, bytes) in &results {
        seen.cpu_ms += cpu;
        seen.passes += polls;
        seen.bytes += bytes;
        let _ = done;
    }
    if hold.is_some() {
        seen.child_cores = child_cores;
    } else if results.iter().all(|r| r.0.is_some()) {
        seen.all_ms = results.iter().filter_map(|r| r.0).reduce(f64::max);
        seen.child_cores = child_cores;
    } else {
        seen.cores = None;
    }
    seen.peak_fds = seen.peak_fds.max(open_fds());
    seen
}

fn one_page(cx: &Ctx<'_>, mode: &str, concurrency: usize, run_no: usize) -> Result<RunResult> {
    let args = cx.args;
    let n = cx.names.len();
    let port = RtpPort::new(args.rtp_port)?;
    let targets = cx.phones.targets();
    let mut roster = match mode {
        "multicast" => Roster::multicast(
            "all",
            targets,
            Ipv4Addr::new(
                239,
                255,
                rand::random::<u8>(),
                1 + rand::random::<u8>() % 250,
            ),
            port,
            Ipv4Addr::LOCALHOST,
        ),
        "unicast" => Roster::unicast("all", targets, Ipv4Addr::LOCALHOST, port),
        other => bail!("unknown delivery {other}: multicast or unicast"),
    };
    if args.banner {
        roster = roster.with_zone_settings(None, Some("Page reach"));
    }
    // Planning's own cost (the page below plans again, inside the pager: its start time
    // includes this).
    let t = Instant::now();
    let delivery = match roster.zone.mode {
        ZoneMode::Unicast => Delivery::Unicast {
            source: Ipv4Addr::LOCALHOST,
            port,
        },
        ZoneMode::Multicast { group, .. } => Delivery::Multicast {
            group: group.unwrap_or(Ipv4Addr::UNSPECIFIED),
            port,
        },
    };
    let _ = plan(
        &PageSpec {
            delivery,
            volume: None,
            banner: roster.zone.banner.clone(),
            via: Default::default(),
            wide: None,
        },
        roster.zone.targets.clone(),
    );
    let plan_ms = t.elapsed().as_secs_f64() * 1e3;
    let client = PushClient::new(PushConfig {
        concurrency,
        ..PushConfig::default()
    })
    .context("push client")?;
    let journal = Journal::new(
        cx.journal_dir
            .join(format!("{mode}-{n}-{concurrency}-{run_no}.jsonl")),
    );
    let pager = Pager::new(PagerSetup {
        table: Arc::new(roster),
        journal,
        client,
        pacer: cx.pacer.clone(),
        recovered: false,
    });
    let order = PageOrder::new(
        Origin::Instrument("page_reach".into()),
        "all",
        Box::new(Encode::new(Tone::new(1000.0, -10.0), Law::Ulaw)),
    );
    let (stop_tx, mut stop_rx) = watch::channel(None);
    let open_fds_before = open_fds();
    let load_at_start = load1();

    // Page start: through the one way in, as every entry point.
    let cpu0 = process_cpu_ns();
    let t0 = Instant::now();
    let t0_ns = mono_ns();
    let page = cx.runtime.spawn(async move {
        let handle = pager.page(order).await?;
        let stopper = handle.stopper();
        let forward = tokio::spawn(async move {
            if stop_rx.changed().await.is_ok() {
                stopper.send_replace(stop_rx.borrow().clone());
            }
        });
        let report = handle.finish().await;
        forward.abort();
        Ok::<_, anyhow::Error>(report?)
    });

    let seen = match cx.phones {
        Phones::InProc(fleet) => watch_in_proc(cx, fleet, &page, t0, cpu0),
        Phones::Children(children) => watch_children(cx, children, &page, t0, t0_ns, cpu0),
    };
    let t_stop = Instant::now();
    stop_tx.send_replace(Some("benchmark: every phone receiving".into()));
    let report = cx
        .runtime
        .block_on(page)
        .context("the page task")?
        .context("the page")?;
    let stop_ms = t_stop.elapsed().as_secs_f64() * 1e3;

    // The phones' own first-packet times of this page (one report after the page).
    let accepted: HashMap<&str, bool> = report
        .phones
        .iter()
        .map(|p| (p.name.as_str(), p.accepted))
        .collect();
    let mut first_ms = Vec::new();
    let mut opened_ms = Vec::new();
    let mut accepted_not_receiving = 0;
    let observed = cx.phones.observe()?;
    for o in &observed {
        match o.first_packet_ns.filter(|&ns| ns >= t0_ns) {
            Some(ns) => {
                first_ms.push((ns - t0_ns) as f64 / 1e6);
                if let Some(op) = o.opened_ns {
                    opened_ms.push(op.saturating_sub(t0_ns) as f64 / 1e6);
                }
            }
            None if accepted.get(o.name.as_str()).copied().unwrap_or(false) => {
                accepted_not_receiving += 1
            }
            None => {}
        }
    }
    let accepts: Vec<f64> = report
        .phones
        .iter()
        .filter_map(|p| p.accept.map(|d| d.as_secs_f64() * 1e3))
        .collect();
    let mut failures = BTreeMap::new();
    for p in &report.phones {
        if let Some(f) = &p.failure {
            *failures
                .entry(format!("{}: {}", f.kind, f.reason))
                .or_insert(0) += 1;
        }
    }
    let all_receiving_ms =
        (first_ms.len() == n && n > 0).then(|| first_ms.iter().copied().fold(0.0, f64::max));
    let last_rtp_open_ms =
        (opened_ms.len() == n && n > 0).then(|| opened_ms.iter().copied().fold(0.0, f64::max));
    let floor_ms = args.latency_ms * n.div_ceil(concurrency.max(1)) as f64;
    let target = target_ms(n);
    Ok(RunResult {
        delivery: mode.to_owned(),
        phones: n,
        concurrency,
        run: run_no,
        load_at_start,
        plan_ms,
        accepted: report.totals.accepted,
        failed: report.totals.failed,
        failures,
        last_accept_ms: report.last_accept.map(|d| d.as_secs_f64() * 1e3),
        accept_p90_ms: quantile(accepts.clone(), 0.9),
        accept_p50_ms: median(accepts),
        all_receiving_ms,
        receive_p90_ms: quantile(first_ms.clone(), 0.9),
        receive_p50_ms: quantile(first_ms, 0.5),
        last_rtp_open_ms,
        accepted_not_receiving,
        poll_all_receiving_ms: seen.all_ms,
        poll_cpu_ms: seen.cpu_ms,
        poll_passes: seen.passes,
        poll_bytes: seen.bytes,
        floor_ms,
        ratio_to_floor: all_receiving_ms.map(|a| a / floor_ms),
        cores_to_all_receiving: seen.cores,
        child_cores_to_all_receiving: seen.child_cores,
        stop_ms,
        peak_open_fds: seen.peak_fds,
        peak_child_fds: seen.peak_child_fds,
        open_fds_before,
        target_ms: target,
        met: target.map(|t| {
            all_receiving_ms.is_some_and(|a| a <= t)
                && report
                    .last_accept
                    .is_some_and(|a| a.as_secs_f64() * 1e3 <= t)
        }),
    })
}

#[derive(Debug, Serialize)]
struct Row {
    delivery: String,
    phones: usize,
    concurrency: usize,
    runs: usize,
    complete_runs: usize,
    floor_ms: f64,
    last_accept_ms: Option<f64>,
    all_receiving_ms: Option<f64>,
    all_receiving_min_ms: Option<f64>,
    all_receiving_max_ms: Option<f64>,
    poll_all_receiving_ms: Option<f64>,
    last_rtp_open_ms: Option<f64>,
    ratio_to_floor: Option<f64>,
    cores: Option<f64>,
    child_cores: Option<f64>,
    peak_open_fds: usize,
    peak_child_fds: usize,
    stop_ms: Option<f64>,
    target_ms: Option<f64>,
    met_runs: usize,
}

fn rows(results: &[RunResult]) -> Vec<Row> {
    let mut keys: Vec<(String, usize, usize)> = Vec::new();
    for r in results {
        let k = (r.delivery.clone(), r.phones, r.concurrency);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(d, n, c)| {
            let rs: Vec<&RunResult> = results
                .iter()
                .filter(|r| r.delivery == d && r.phones == n && r.concurrency == c)
                .collect();
            let all: Vec<f64> = rs.iter().filter_map(|r| r.all_receiving_ms).collect();
            Row {
                delivery: d,
                phones: n,
                concurrency: c,
                runs: rs.len(),
                complete_runs: all.len(),
                floor_ms: rs[0].floor_ms,
                last_accept_ms: median(rs.iter().filter_map(|r| r.last_accept_ms).collect()),
                all_receiving_min_ms: all.iter().copied().reduce(f64::min),
                all_receiving_max_ms: all.iter().copied().reduce(f64::max),
                all_receiving_ms: median(all),
                poll_all_receiving_ms: median(
                    rs.iter().filter_map(|r| r.poll_all_receiving_ms).collect(),
                ),
                last_rtp_open_ms: median(rs.iter().filter_map(|r| r.last_rtp_open_ms).collect()),
                ratio_to_floor: median(rs.iter().filter_map(|r| r.ratio_to_floor).collect()),
                cores: median(rs.iter().filter_map(|r| r.cores_to_all_receiving).collect()),
                child_cores: median(
                    rs.iter()
                        .filter_map(|r| r.child_cores_to_all_receiving)
                        .collect(),
                ),
                peak_open_fds: rs.iter().map(|r| r.peak_open_fds).max().unwrap_or(0),
                peak_child_fds: rs.iter().map(|r| r.peak_child_fds).max().unwrap_or(0),
                stop_ms: median(rs.iter().map(|r| r.stop_ms).collect()),
                target_ms: rs[0].target_ms,
                met_runs: rs.iter().filter(|r| r.met == Some(true)).count(),
            }
        })
        .collect()
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn print_table(rows: &[Row]) {
    println!(
        "| delivery | N | concurrency | floor | last accept | last RTP open | all receiving \
         (median [min–max]) | seen by polling | ÷ floor | cores (pager + fleet) | peak fds \
         (pager / child) | stops took | target | met (runs) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} [{}–{}] | {} | {} | {} + {} | {} / {} | {} | {} \
             | {}/{} |",
            r.delivery,
            r.phones,
            r.concurrency,
            r.floor_ms,
            opt(r.last_accept_ms, 0),
            opt(r.last_rtp_open_ms, 0),
            opt(r.all_receiving_ms, 0),
            opt(r.all_receiving_min_ms, 0),
            opt(r.all_receiving_max_ms, 0),
            opt(r.poll_all_receiving_ms, 0),
            opt(r.ratio_to_floor, 2),
            opt(r.cores, 2),
            opt(r.child_cores, 2),
            r.peak_open_fds,
            r.peak_child_fds,
            opt(r.stop_ms, 0),
            opt(r.target_ms, 0),
            r.met_runs,
            r.runs
        );
    }
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    latency: String,
    fd_limit: (u64, u64),
    cpus: usize,
    fleet_processes: usize,
    child_commands: Vec<String>,
    fleet_start_ms: BTreeMap<usize, f64>,
    /// Each child's own `start_ms`, per N.
    child_start_ms: BTreeMap<usize, Vec<f64>>,
    runs: &'a [RunResult],
    medians: Vec<Row>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(n) = args.fd_limit {
        set_fd_limit(n)?;
    }
    let latency = if args.latency_sd_ms > 0.0 {
        Latency::Normal(
            Duration::from_secs_f64(args.latency_ms / 1e3),
            Duration::from_secs_f64(args.latency_sd_ms / 1e3),
        )
    } else {
        Latency::Fixed(Duration::from_secs_f64(args.latency_ms / 1e3))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pacer = Arc::new(Pacer::start(PacerOptions::default()).context("starting the pacer")?);
    let journal_dir = std::env::temp_dir().join(format!("page_reach-{}", std::process::id()));
    let mut results = Vec::new();
    let mut fleet_start_ms = BTreeMap::new();
    let mut child_start_ms = BTreeMap::new();
    let mut child_commands = Vec::new();
    std::fs::create_dir_all(&journal_dir)?;
    for &n in &args.phones {
        let t = Instant::now();
        let phones = if args.fleet_processes == 0 {
            let mut cfg = SimConfig::uniform(n, "CP-8851");
            cfg.host = args.first;
            cfg.addressing = Addressing::Addresses { port: 0 };
            cfg.light_receive = args.light_receive;
            cfg.fault_rules.push(FaultRule {
                share: Some(1.0),
                count: None,
                phones: Vec::new(),
                faults: Faults {
                    latency: Some(latency),
                    ..Faults::default()
                },
            });
            Phones::InProc(
                runtime
                    .block_on(Fleet::start(cfg))
                    .context("starting the fleet")?,
            )
        } else {
            let bin = args.sim_bin.clone().unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/zonecast")
            });
            let p = args.fleet_processes;
            let [a, b, _, _] = args.first.octets();
            let mut children = Vec::new();
            for i in 0..p {
                let k = n / p + usize::from(i < n % p);
                let host = Ipv4Addr::new(a, b.wrapping_add(i as u8), 0, 1);
                let (child, shown) = spawn_child(
                    &bin,
                    &journal_dir,
                    i,
                    k,
                    host,
                    &latency.to_string(),
                    args.light_receive,
                )?;
                child_commands.push(shown);
                children.push(child);
            }
            Phones::Children(children)
        };
        fleet_start_ms.insert(n, t.elapsed().as_secs_f64() * 1e3);
        if let Phones::Children(children) = &phones {
            child_start_ms.insert(n, children.iter().map(|c| c.start_ms).collect::<Vec<_>>());
        }
        let names: Vec<String> = phones.targets().into_iter().map(|t| t.name).collect();
        if names.len() != n {
            bail!("{} phones started, {n} asked for", names.len());
        }
        let cx = Ctx {
            args: &args,
            runtime: &runtime,
            phones: &phones,
            pacer: pacer.clone(),
            names,
            journal_dir: journal_dir.clone(),
        };
        std::thread::sleep(Duration::from_millis(args.settle_ms));
        for mode in &args.delivery {
            for &c in &args.concurrency {
                for run_no in 1..=args.runs {
                    let r = one_page(&cx, mode, c, run_no)?;
                    if !args.json {
                        eprintln!(
                            "{} N={} c={} run {}: accepted {}/{}, last accept {} ms, all \
                             receiving {} ms (polled {} ms), floor {:.0} ms, peak fds {} \
                             (child {}), stops {:.0} ms, failures {:?}",
                            r.delivery,
                            r.phones,
                            r.concurrency,
                            r.run,
                            r.accepted,
                            r.phones,
                            opt(r.last_accept_ms, 0),
                            opt(r.all_receiving_ms, 0),
                            opt(r.poll_all_receiving_ms, 0),
                            r.floor_ms,
                            r.peak_open_fds,
                            r.peak_child_fds,
                            r.stop_ms,
                            r.failures
                        );
                    }
                    results.push(r);
                    std::thread::sleep(Duration::from_millis(args.settle_ms));
                }
            }
        }
        drop(cx);
        match phones {
            Phones::InProc(fleet) => runtime.block_on(fleet.shutdown()),
            Phones::Children(mut children) => children.iter_mut().for_each(SimChild::stop),
        }
    }
    let _ = std::fs::remove_dir_all(&journal_dir);
    let medians = rows(&results);
    if args.json {
        let out = Output {
            latency: latency.to_string(),
            fd_limit: fd_limit(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            fleet_processes: args.fleet_processes,
            child_commands,
            fleet_start_ms,
            child_start_ms,
            runs: &results,
            medians,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "latency {latency}, RLIMIT_NOFILE {:?}, fleet processes {}, fleet start {:?} ms \
             (children's own {:?})",
            fd_limit(),
            args.fleet_processes,
            fleet_start_ms,
            child_start_ms
        );
        print_table(&medians);
    }
    Ok(())
}
