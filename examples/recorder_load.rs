//! Recorder benchmark: N phones' microphones (N inbound G.711 RTP streams) recorded to N WAV
//! files at once, zonecast's recorder against one GStreamer pipeline, measured the same way in
//! the same run.
//!
//! ```text
//! cargo build --release --example recorder_load
//! cargo run --release --example recorder_load -- --streams 10,100,1000 --seconds 10 --runs 3
//! ```
//!
//! Each run has three processes:
//! - the recorder under test, started (and measured) through the fan-out benchmark's
//!   `child::run_many`: CPU is its rusage from `wait4` (whole life) and its CPU clock between
//!   1 s after launch and 1 s before the planned end (steady), peak RSS its `VmHWM`;
//!   - zonecast: this example re-executed with a hidden `--role record`, which does what a paging
//!     server does for N listens: N `Listener`s bound on 127.0.0.1 from the even ports of the
//!     pool (`page::listen::bind_from_pool`), each on its own thread in
//!     `page::listen::record_until` with a WAV `Recorder`; it prints (and writes to
//!     `DIR/ports.json`) the ports, records S + 1 s, then prints a JSON summary;
//!   - GStreamer: one `gst-launch-1.0 -e` with N branches `udpsrc ! rtppcmudepay ! mulawdec !
//!     wavenc ! filesink`, on free pool ports; SIGINT S + 1 s after all its ports are bound, so
//!     `-e` sends EOS and wavenc writes its header. It is launched through `sh -c 'echo $$ >
//!     PIDFILE; exec gst-launch-1.0 …'`, so the measured process *is* gst-launch (exec keeps the
//!     pid, `VmHWM` restarts at exec; the shell's ~1 ms before exec is counted).
//! - the sender, another re-execution (`--role send`): the engine's `Pacer`, one `StreamSpec` (own
//!   socket and SSRC) per port, 50 packets a second for S seconds, started once every port of the
//!   recorder is bound (`/proc/net/udp`);
//! - this process, which only waits, samples the bytes queued on the recorder's sockets every
//!   250 ms while the streams run and their drop counters just before it stops
//!   (`/proc/net/udp`), and checks the files afterwards with hound.
//!
//! GStreamer's `-e` shutdown of 1000 branches takes 10-20 s on an idle 2-core machine (minutes
//! under heavy load), all of it in its whole-life CPU; it runs under `child::run_many_with`, a
//! `run_many` that kills it only `--gst-grace` s (120) after the planned end instead of
//! 60, and a run killed while finishing is reported as such (its files are not OK).
//!
//! Loss is counted three ways: packets the recorder got against what the sender sent (zonecast:
//! its receivers' counters; GStreamer: samples in the file / 160); what zonecast's receivers
//! call lost (sequence gaps) and late; and datagrams the kernel dropped on the recorder's sockets
//! (receive buffer full). A file is OK when it opens and lasts S ± 1 s.
//!
//! On loopback the sender's `sendmsg` runs the receive path up to the socket queue (and the
//! wake-up of the thread waiting on it) in the *sender's* context: that part of receiving is
//! not in the recorder's CPU here, while on a real network it is softirq time on the server.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use zonecast::g711::Law;
use zonecast::page::listen::{Received, bind_from_pool, record_until};
use zonecast::rtp::{
    Destination, EncodedClip, Pacer, PacerOptions, Packetizer, RecordFormat, Recorder, RtpPort,
    SenderOptions, StreamSpec,
};

// Shared with the fan-out benchmark, whose lints are its own.
#[path = "fanout/child.rs"]
#[allow(dead_code, clippy::all)]
mod child;
#[path = "fanout/recv.rs"]
#[allow(dead_code, clippy::all)]
mod recv;
#[path = "fanout/stats.rs"]
#[allow(dead_code, clippy::all)]
mod stats;
#[path = "recorder_load/sys.rs"]
mod sys;

use child::{gst_available, loadavg};
use stats::{f, median, ratio};

/// Packets per second of a G.711 stream in 20 ms packets.
const PPS: u64 = 50;
/// Samples per packet.
const SAMPLES_PER_PACKET: u64 = 160;
/// The target: the recorder within one core, ms of CPU per second.
const ONE_CORE_MS: f64 = 1000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Tool {
    Zonecast,
    Gstreamer,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Zonecast => "zonecast",
            Tool::Gstreamer => "GStreamer (1 pipeline)",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Tool::Zonecast => "zonecast",
            Tool::Gstreamer => "gst",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    about = "Recorder benchmark: N inbound RTP streams to N WAV files, zonecast vs GStreamer"
)]
struct Args {
    /// Stream counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    streams: Vec<usize>,
    /// Seconds each stream is sent (50 packets per second); the recorder runs 1 s more.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Runs per tool and stream count (the tables show medians).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Tools to measure.
    #[arg(long, value_delimiter = ',', default_value = "zonecast,gstreamer")]
    tools: Vec<Tool>,
    /// The gst-launch binary.
    #[arg(long, default_value = "gst-launch-1.0")]
    gst: String,
    /// GStreamer is measured up to this many streams.
    #[arg(long, default_value_t = 1000)]
    gst_max_streams: usize,
    /// Seconds GStreamer may take to finish its files after SIGINT before it is killed (its EOS
    /// through 1000 branches takes tens of seconds).
    #[arg(long, default_value_t = 120.0)]
    gst_grace: f64,
    /// Directory for the recordings (default: a new one under the temporary directory); each
    /// run's files are removed once checked.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the recordings.
    #[arg(long)]
    keep_files: bool,
    /// Print JSON (every run and the medians) on stdout instead of the markdown.
    #[arg(long)]
    json: bool,
    /// Also write the JSON to this file (the markdown still goes to stdout).
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Internal: `record` (the zonecast recorder) or `send` (the sender) of one run.
    #[arg(long, hide = true)]
    role: Option<String>,
    /// Internal (`--role send`): the JSON file with the ports to send to.
    #[arg(long, hide = true)]
    ports_file: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    sys::raise_nofile();
    match args.role.as_deref() {
        Some("record") => role_record(&args),
        Some("send") => role_send(&args),
        Some(r) => bail!("unknown role {r:?}"),
        None => bench(&args),
    }
}

// ---------------------------------------------------------------------------------------------
// The zonecast recorder (child process).

/// The recorder's first line (also `DIR/ports.json`) and what the sender reads.
#[derive(Debug, Serialize, Deserialize)]
struct Ports {
    pid: u32,
    ports: Vec<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Worst {
    index: usize,
    port: u16,
    packets: u64,
    lost: u64,
    late: u64,
}

/// The recorder's last line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RecordSummary {
    streams: usize,
    /// Launch of the role to every listener bound and recording, ms.
    setup_ms: f64,
    /// Per stream, in port order.
    packets: Vec<u64>,
    lost: Vec<u64>,
    late: Vec<u64>,
    packets_sum: u64,
    lost_sum: u64,
    late_sum: u64,
    /// The stream with the fewest packets.
    worst: Worst,
    files: usize,
    bytes: u64,
    errors: usize,
    first_error: Option<String>,
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn role_record(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let n = *args.streams.first().context("--streams")?;
    let dir = args.dir.clone().context("--dir")?;
    let seconds = args.seconds as f64;
    let mut in_use = HashSet::new();
    let mut next = sys::POOL_FIRST;
    let stop = Arc::new(AtomicBool::new(false));
    let mut ports = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        // From after the last port taken: ports other processes hold are tried once.
        let pool = (next..=sys::POOL_LAST)
            .step_by(2)
            .filter_map(|p| RtpPort::new(p).ok());
        let (listener, port) = bind_from_pool(Ipv4Addr::LOCALHOST, pool, &mut in_use)
            .with_context(|| format!("binding stream {i}"))?;
        next = port.get() + 2;
        let path = dir.join(format!("stream-{i}.wav"));
        let recorder = Recorder::create(&path, RecordFormat::Wav)?;
        let stop = stop.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("rec-{i}"))
                .spawn(move || record_until(listener, recorder, stop))
                .with_context(|| format!("starting the thread of stream {i}"))?,
        );
        ports.push(port.get());
    }
    let setup_ms = t0.elapsed().as_secs_f64() * 1e3;
    let line = serde_json::to_string(&Ports {
        pid: std::process::id(),
        ports: ports.clone(),
    })?;
    write_atomic(&dir.join("ports.json"), line.as_bytes())?;
    println!("{line}");
    std::io::stdout().flush()?;
    std::thread::sleep(Duration::from_secs_f64(seconds + 1.0));
    stop.store(true, Ordering::SeqCst);
    let received: Vec<Received> = threads
        .into_iter()
        .map(|t| {
            t.join().unwrap_or_else(|_| Received {
                error: Some("recording thread panicked".into()),
                ..Received::default()
            })
        })
        .collect();
    let mut s = RecordSummary {
        streams: n,
        setup_ms,
        packets: received.iter().map(|r| r.packets).collect(),
        lost: received.iter().map(|r| r.lost).collect(),
        late: received.iter().map(|r| r.late).collect(),
        ..RecordSummary::default()
    };
    s.packets_sum = s.packets.iter().sum();
    s.lost_sum = s.lost.iter().sum();
    s.late_sum = s.late.iter().sum();
    if let Some((i, r)) = received.iter().enumerate().min_by_key(|(_, r)| r.packets) {
        s.worst = Worst {
            index: i,
            port: ports[i],
            packets: r.packets,
            lost: r.lost,
            late: r.late,
        };
    }
    for i in 0..n {
        if let Ok(m) = std::fs::metadata(dir.join(format!("stream-{i}.wav"))) {
            s.files += 1;
            s.bytes += m.len();
        }
    }
    let errors: Vec<&String> = received.iter().filter_map(|r| r.error.as_ref()).collect();
    s.errors = errors.len();
    s.first_error = errors.first().map(|e| e.to_string());
    println!("{}", serde_json::to_string(&s)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The sender (child process).

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SendSummary {
    /// `CLOCK_REALTIME` just before the first `Pacer::add`, and after the last.
    start_rt_ns: i64,
    added_rt_ns: i64,
    /// Packets sent per stream, in port order.
    sent: Vec<u64>,
    sent_sum: u64,
    send_errors: u64,
    ended: usize,
    realtime: bool,
    max_lateness_ms: f64,
}

/// One second of a 1 kHz tone at 8 kHz (loops cleanly).
fn tone() -> Vec<i16> {
    (0..8000)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (12_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
        })
        .collect()
}

fn role_send(args: &Args) -> Result<()> {
    let file = args.ports_file.as_ref().context("--ports-file")?;
    let ports: Ports = serde_json::from_slice(&std::fs::read(file)?)?;
    let tone = tone();
    let packets = PPS * args.seconds as u64;
    let pacer = Pacer::start(PacerOptions::default())?;
    let start_rt_ns = recv::realtime_ns();
    let handles = ports
        .ports
        .iter()
        .map(|&p| {
            pacer
                .add(StreamSpec {
                    destinations: vec![Destination::new(Ipv4Addr::LOCALHOST, RtpPort::new(p)?)],
                    sender: SenderOptions::default(),
                    packetizer: Packetizer::random(Law::Ulaw),
                    payload: Box::new(EncodedClip::new(&tone, Law::Ulaw, true)),
                    max_packets: Some(packets),
                })
                .with_context(|| format!("adding the stream to port {p}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let added_rt_ns = recv::realtime_ns();
    let limit = Instant::now() + Duration::from_secs(args.seconds as u64 + 30);
    let mut ended = 0;
    for h in &handles {
        if h.wait(Some(limit.saturating_duration_since(Instant::now()))) {
            ended += 1;
        }
    }
    let stats: Vec<_> = handles.iter().map(|h| h.stats()).collect();
    let ps = pacer.stats();
    let sent: Vec<u64> = stats.iter().map(|s| s.packets).collect();
    let summary = SendSummary {
        start_rt_ns,
        added_rt_ns,
        sent_sum: sent.iter().sum(),
        sent,
        send_errors: stats.iter().map(|s| s.send_errors).sum(),
        ended,
        realtime: ps.realtime,
        max_lateness_ms: ps.max_lateness_ns as f64 / 1e6,
    };
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The benchmark (parent process).

#[derive(Debug, Clone, Serialize)]
struct Run {
    tool: Tool,
    n: usize,
    seconds: u32,
    run: usize,
    /// /proc/loadavg at the start of the run.
    loadavg: String,
    load1: f64,
    /// Launch of the recorder to all its ports bound, ms (as this process saw it).
    ready_ms: f64,
    /// The recorder's stop (S + 1 s after its ports were bound; GStreamer: SIGINT) to its exit,
    /// s: finishing the files (GStreamer: EOS through every branch).
    exit_after_stop_s: f64,
    /// All ports bound to the sender's first `Pacer::add`, and to its last.
    sender_start_ms: f64,
    sender_added_ms: f64,
    cpu_ms_per_stream_s: f64,
    steady_cpu_ms_per_stream_s: Option<f64>,
    /// The same as ms of CPU per second for all N streams (one core = 1000).
    cpu_ms_per_s: f64,
    steady_cpu_ms_per_s: Option<f64>,
    voluntary_ctxt_per_s: Option<f64>,
    involuntary_ctxt_per_s: Option<f64>,
    child: child::ChildRun,
    sent: u64,
    received: u64,
    /// Sent - received, summed over streams, and the worst stream's.
    lost: u64,
    worst_stream_lost: u64,
    /// zonecast's receivers: sequence gaps and packets too late to play.
    receiver_lost: Option<u64>,
    receiver_late: Option<u64>,
    /// Datagrams the kernel dropped on the recorder's sockets (receive buffer full), read just
    /// before the recorder stopped.
    socket_drops: u64,
    /// Bytes queued on the recorder's sockets (all N), sampled every 250 ms while sending: the
    /// largest and the mean, KiB.
    backlog_max_kib: f64,
    backlog_mean_kib: f64,
    files_ok: usize,
    files: usize,
    bytes: u64,
    file_seconds_min: f64,
    file_seconds_max: f64,
    send_errors: u64,
    sender_realtime: bool,
    sender_max_lateness_ms: f64,
    recorder_errors: usize,
    first_error: Option<String>,
    /// Killed at the time limit while finishing its files (GStreamer only).
    killed: bool,
}

const GST_CAPS: &str =
    "caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0";

/// `sh -c 'echo $$ > PIDFILE && exec gst-launch-1.0 -e -q BRANCH…'`, one branch per port.
fn gst_command(gst: &str, pidfile: &Path, ports: &[u16], dir: &Path) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(r#"echo $$ > "$0" && exec "$@""#)
        .arg(pidfile)
        .arg(gst)
        .args(["-e", "-q"]);
    for (i, p) in ports.iter().enumerate() {
        c.args(["udpsrc", "address=127.0.0.1"])
            .arg(format!("port={p}"))
            .arg(GST_CAPS)
            .args([
                "!",
                "rtppcmudepay",
                "!",
                "mulawdec",
                "!",
                "wavenc",
                "!",
                "filesink",
            ])
            .arg(format!("location={}", gst_file(dir, i).display()));
    }
    c
}

fn gst_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("gst-{i}.wav"))
}

fn zonecast_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("stream-{i}.wav"))
}

/// Samples and seconds in a WAV file (None: it does not open).
fn wav_len(path: &Path) -> Option<(u64, f64)> {
    let r = hound::WavReader::open(path).ok()?;
    let spec = r.spec();
    let samples = r.duration() as u64;
    Some((samples, samples as f64 / spec.sample_rate as f64))
}

fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.trim().lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn one_run(args: &Args, base: &Path, tool: Tool, n: usize, run: usize) -> Result<Run> {
    let (line, load1) = loadavg();
    let dir = base.join(format!("{}-n{n}-r{run}", tool.key()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let s = args.seconds as f64;
    let exe = std::env::current_exe()?;
    let ports_file = dir.join("ports.json");
    let pidfile = dir.join("gst.pid");
    let (cmd, held) = match tool {
        Tool::Zonecast => {
            let mut c = Command::new(&exe);
            c.args(["--role", "record", "--streams", &n.to_string()])
                .args(["--seconds", &args.seconds.to_string()])
                .arg("--dir")
                .arg(&dir);
            (c, None)
        }
        Tool::Gstreamer => {
            let (ports, held) = sys::free_ports(n)?;
            (
                gst_command(&args.gst, &pidfile, &ports, &dir),
                Some((ports, held)),
            )
        }
    };
    let gst_ports = held.map(|(ports, held)| {
        drop(held);
        ports
    });
    let launch = Instant::now();
    // The recorder lives S + 1 s after its ports are bound: the steady window is launch + 1 s to
    // launch + S s, inside the sending.
    let grace = args.gst_grace;
    let measured = std::thread::spawn(move || match tool {
        Tool::Zonecast => child::run_many(vec![cmd], s + 1.0),
        Tool::Gstreamer => child::run_many_with(vec![cmd], s + 1.0, grace),
    });
    let deadline = launch + Duration::from_secs(60);
    let fail =
        |why: String, measured: std::thread::JoinHandle<std::io::Result<child::ChildRun>>| {
            // A GStreamer that never bound its ports is stopped now rather than at the time limit.
            if let Some(pid) = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
                .filter(|&pid| sys::alive(pid))
            {
                // SAFETY: our child (see below), not reaped yet.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let detail = match measured.join() {
                Ok(Ok(ch)) => format!(
                    "status {:#x}: {}",
                    ch.status,
                    tail(&(ch.stderr + &ch.stdout), 8)
                ),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "measuring thread panicked".into(),
            };
            anyhow::anyhow!("{why} ({detail})")
        };
    // Wait for the recorder's ports, all bound.
    let (pid, ports) = loop {
        if Instant::now() > deadline || measured.is_finished() {
            return Err(fail("the recorder did not bind its ports".into(), measured));
        }
        let found = match tool {
            Tool::Zonecast => std::fs::read(&ports_file)
                .ok()
                .and_then(|b| serde_json::from_slice::<Ports>(&b).ok())
                .map(|p| (p.pid as i32, p.ports)),
            Tool::Gstreamer => std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
                .filter(|&pid| sys::alive(pid))
                .and_then(|pid| {
                    let bound = sys::udp_loopback();
                    let ports = gst_ports.clone().unwrap_or_default();
                    ports
                        .iter()
                        .all(|p| bound.contains_key(p))
                        .then_some((pid, ports))
                }),
        };
        if let Some(f) = found {
            break f;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let ready = Instant::now();
    let ready_rt_ns = recv::realtime_ns();
    if tool == Tool::Gstreamer {
        write_atomic(
            &ports_file,
            serde_json::to_string(&Ports {
                pid: pid as u32,
                ports: ports.clone(),
            })?
            .as_bytes(),
        )?;
    }
    let sender = Command::new(&exe)
        .args(["--role", "send", "--seconds", &args.seconds.to_string()])
        .arg("--ports-file")
        .arg(&ports_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the sender")?;
    // While the streams run, the bytes queued on the recorder's sockets every 250 ms (a recorder
    // that keeps up holds about nothing); drops just before it stops (at ready + S + 1 s).
    let mut backlog_max = 0u64;
    let mut backlog_sum = 0u64;
    let mut backlog_samples = 0u64;
    let sample_end = ready + Duration::from_secs_f64(s + 0.8);
    let mut next = ready + Duration::from_millis(250);
    while next < sample_end {
        sleep_until(next);
        let now = sys::udp_loopback();
        let q: u64 = ports
            .iter()
            .filter_map(|p| now.get(p))
            .map(|x| x.rx_queue)
            .sum();
        backlog_max = backlog_max.max(q);
        backlog_sum += q;
        backlog_samples += 1;
        next += Duration::from_millis(250);
    }
    sleep_until(sample_end);
    let drops_now = sys::udp_loopback();
    let socket_drops = ports
        .iter()
        .filter_map(|p| drops_now.get(p))
        .map(|x| x.drops)
        .sum();
    if tool == Tool::Gstreamer {
        sleep_until(ready + Duration::from_secs_f64(s + 1.0));
        if sys::alive(pid) {
            // SAFETY: `pid` is our child (gst-launch exec'd in the shell we spawned), not reaped
            // yet: run_many reaps it only once it exits.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
    }
    let sent_out = sender
        .wait_with_output()
        .context("waiting for the sender")?;
    let ch = measured
        .join()
        .map_err(|_| anyhow::anyhow!("measuring thread panicked"))??;
    if !sent_out.status.success() {
        bail!(
            "the sender failed ({}): {}",
            sent_out.status,
            tail(&String::from_utf8_lossy(&sent_out.stderr), 8)
        );
    }
    let send: SendSummary =
        serde_json::from_str(last_line(&String::from_utf8_lossy(&sent_out.stdout)))
            .context("the sender's summary")?;
    // A GStreamer killed while finishing its files is a result (its files show the damage); any
    // other failure is not.
    let killed_finishing = tool == Tool::Gstreamer && ch.killed;
    if !ch.success() && !killed_finishing {
        bail!(
            "{} exited with status {:#x}{}: {}",
            tool.name(),
            ch.status,
            if ch.killed {
                " (killed at the time limit)"
            } else {
                ""
            },
            tail(&ch.stderr, 8)
        );
    }
    let rec: Option<RecordSummary> = match tool {
        Tool::Zonecast => Some(
            serde_json::from_str(last_line(&ch.stdout))
                .with_context(|| format!("the recorder's summary in {:?}", tail(&ch.stdout, 2)))?,
        ),
        Tool::Gstreamer => None,
    };
    // The files.
    let mut files = 0;
    let mut files_ok = 0;
    let mut bytes = 0;
    let (mut smin, mut smax) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut received_each = Vec::with_capacity(n);
    for i in 0..n {
        let path = match tool {
            Tool::Zonecast => zonecast_file(&dir, i),
            Tool::Gstreamer => gst_file(&dir, i),
        };
        let file_len = std::fs::metadata(&path).map_or(0, |m| m.len());
        if file_len > 0 {
            files += 1;
            bytes += file_len;
        }
        let len = wav_len(&path);
        if let Some((_, secs)) = len {
            smin = smin.min(secs);
            smax = smax.max(secs);
            if (secs - s).abs() <= 1.0 {
                files_ok += 1;
            }
        }
        received_each.push(match &rec {
            Some(r) => r.packets.get(i).copied().unwrap_or(0),
            // rtppcmudepay ! mulawdec: 160 samples per packet, gaps are not filled. A file whose
            // header was never finished (killed) counts by its size.
            None => {
                len.map_or(0, |(samples, _)| samples)
                    .max(file_len.saturating_sub(44) / 2)
                    / SAMPLES_PER_PACKET
            }
        });
    }
    let lost_each: Vec<u64> = (0..n)
        .map(|i| {
            send.sent
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(received_each[i])
        })
        .collect();
    if !args.keep_files {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let stream_s = n as f64 * s;
    let cpu = ch.cpu_ns as f64 / 1e6 / stream_s;
    let steady = ch
        .steady_cpu_ns
        .map(|c| c as f64 / 1e6 / (n as f64 * ch.steady_window_s));
    let per_s = |c: Option<u64>| c.map(|c| c as f64 / ch.steady_window_s);
    Ok(Run {
        tool,
        n,
        seconds: args.seconds,
        run,
        loadavg: line,
        load1,
        ready_ms: (ready - launch).as_secs_f64() * 1e3,
        exit_after_stop_s: ch.wall_s - (ready - launch).as_secs_f64() - s - 1.0,
        sender_start_ms: (send.start_rt_ns - ready_rt_ns) as f64 / 1e6,
        sender_added_ms: (send.added_rt_ns - ready_rt_ns) as f64 / 1e6,
        cpu_ms_per_stream_s: cpu,
        steady_cpu_ms_per_stream_s: steady,
        cpu_ms_per_s: cpu * n as f64,
        steady_cpu_ms_per_s: steady.map(|x| x * n as f64),
        voluntary_ctxt_per_s: per_s(ch.steady_voluntary_ctxt),
        involuntary_ctxt_per_s: per_s(ch.steady_involuntary_ctxt),
        sent: send.sent_sum,
        received: received_each.iter().sum(),
        lost: lost_each.iter().sum(),
        worst_stream_lost: lost_each.iter().copied().max().unwrap_or(0),
        receiver_lost: rec.as_ref().map(|r| r.lost_sum),
        receiver_late: rec.as_ref().map(|r| r.late_sum),
        socket_drops,
        backlog_max_kib: backlog_max as f64 / 1024.0,
        backlog_mean_kib: backlog_sum as f64 / backlog_samples.max(1) as f64 / 1024.0,
        files_ok,
        files,
        bytes,
        file_seconds_min: if smin.is_finite() { smin } else { f64::NAN },
        file_seconds_max: if smax.is_finite() { smax } else { f64::NAN },
        send_errors: send.send_errors,
        sender_realtime: send.realtime,
        sender_max_lateness_ms: send.max_lateness_ms,
        recorder_errors: rec.as_ref().map_or(0, |r| r.errors),
        first_error: rec.as_ref().and_then(|r| r.first_error.clone()),
        killed: ch.killed,
        child: ch,
    })
}

/// Medians over the runs of one tool and N (or why it could not run).
#[derive(Debug, Clone, Serialize)]
struct Summary {
    tool: Tool,
    n: usize,
    runs: usize,
    failed: Option<String>,
    load1: Vec<f64>,
    cpu_ms_per_stream_s: f64,
    steady_cpu_ms_per_stream_s: f64,
    cpu_ms_per_s: f64,
    steady_cpu_ms_per_s: f64,
    peak_rss_mib: f64,
    received: f64,
    sent: f64,
    lost: f64,
    /// Largest over runs (not a median): any loss in any run shows.
    lost_max: u64,
    worst_stream_lost: f64,
    receiver_lost: Option<f64>,
    receiver_late: Option<f64>,
    socket_drops: f64,
    backlog_max_kib: f64,
    backlog_mean_kib: f64,
    files_ok: f64,
    file_seconds_min: f64,
    file_seconds_max: f64,
    ready_ms: f64,
    exit_after_stop_s: f64,
    voluntary_ctxt_per_s: f64,
    involuntary_ctxt_per_s: f64,
    /// Runs killed at the time limit while finishing their files.
    killed_runs: usize,
}

fn summarise(tool: Tool, n: usize, runs: &[&Run], failed: Option<String>) -> Summary {
    let m = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(|r| f(r)).collect());
    let mo = |f: &dyn Fn(&Run) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(|r| f(r)).collect();
        (!v.is_empty()).then(|| median(v))
    };
    Summary {
        tool,
        n,
        runs: runs.len(),
        failed,
        load1: runs.iter().map(|r| r.load1).collect(),
        cpu_ms_per_stream_s: m(&|r| r.cpu_ms_per_stream_s),
        steady_cpu_ms_per_stream_s: m(&|r| r.steady_cpu_ms_per_stream_s.unwrap_or(f64::NAN)),
        cpu_ms_per_s: m(&|r| r.cpu_ms_per_s),
        steady_cpu_ms_per_s: m(&|r| r.steady_cpu_ms_per_s.unwrap_or(f64::NAN)),
        peak_rss_mib: m(&|r| r.child.max_rss_kb as f64 / 1024.0),
        received: m(&|r| r.received as f64),
        sent: m(&|r| r.sent as f64),
        lost: m(&|r| r.lost as f64),
        lost_max: runs.iter().map(|r| r.lost).max().unwrap_or(0),
        worst_stream_lost: m(&|r| r.worst_stream_lost as f64),
        receiver_lost: mo(&|r| r.receiver_lost.map(|x| x as f64)),
        receiver_late: mo(&|r| r.receiver_late.map(|x| x as f64)),
        socket_drops: m(&|r| r.socket_drops as f64),
        backlog_max_kib: m(&|r| r.backlog_max_kib),
        backlog_mean_kib: m(&|r| r.backlog_mean_kib),
        files_ok: m(&|r| r.files_ok as f64),
        file_seconds_min: m(&|r| r.file_seconds_min),
        file_seconds_max: m(&|r| r.file_seconds_max),
        ready_ms: m(&|r| r.ready_ms),
        exit_after_stop_s: m(&|r| r.exit_after_stop_s),
        voluntary_ctxt_per_s: m(&|r| r.voluntary_ctxt_per_s.unwrap_or(f64::NAN)),
        involuntary_ctxt_per_s: m(&|r| r.involuntary_ctxt_per_s.unwrap_or(f64::NAN)),
        killed_runs: runs.iter().filter(|r| r.killed).count(),
    }
}

fn int(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.0}")
    }
}

fn markdown(args: &Args, sums: &[Summary]) -> String {
    let mut s = String::new();
    s += &format!(
        "S = {} s of sending per run ({} packets per stream), recorder stopped S + 1 s after its \
         ports were bound; {} run(s) per tool and N, medians over runs. CPU = the recorder \
         process's user + system ms per stream-second (N × S): whole life (wait4) and steady \
         (its CPU clock, launch + 1 s to launch + S s). Lost = sent − received (GStreamer: \
         received = samples in its file / 160); worst = the stream that lost most; receiver \
         lost/late = zonecast's own counters; socket drops = kernel drops on the recorder's \
         sockets (/proc/net/udp); files OK = opens and lasts S ± 1 s; stop → exit = the \
         recorder's stop (zonecast: its own S + 1 s timer; GStreamer: SIGINT, `-e`) to its exit, \
         inside its whole-life CPU.\n\n",
        args.seconds,
        PPS * args.seconds as u64,
        args.runs
    );
    s += "| N | tool | load1 at start | CPU ms/stream-s (whole) | CPU (steady) | CPU ms/s for all N (whole / steady) | peak RSS MiB | packets received / sent | lost (median / max over runs) | worst stream lost | receiver lost / late | socket drops | files OK | file s min / max | ports bound after ms | stop → exit s |\n";
    s += "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for x in sums {
        let loads = x
            .load1
            .iter()
            .map(|l| format!("{l:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(why) = &x.failed
            && x.runs == 0
        {
            s += &format!(
                "| {} | {} | {loads} | did not run: {} | | | | | | | | | | | | |\n",
                x.n,
                x.tool.name(),
                why.replace('|', "/").replace('\n', " ")
            );
            continue;
        }
        s += &format!(
            "| {} | {} | {loads} | {} | {} | {} / {} | {} | {} / {} | {} / {} | {} | {} | {} | {}/{} | {} / {} | {} | {} |\n",
            x.n,
            x.tool.name(),
            f(x.cpu_ms_per_stream_s),
            f(x.steady_cpu_ms_per_stream_s),
            int(x.cpu_ms_per_s),
            int(x.steady_cpu_ms_per_s),
            f(x.peak_rss_mib),
            int(x.received),
            int(x.sent),
            int(x.lost),
            x.lost_max,
            int(x.worst_stream_lost),
            match (x.receiver_lost, x.receiver_late) {
                (Some(a), Some(b)) => format!("{} / {}", int(a), int(b)),
                _ => "n/a".into(),
            },
            int(x.socket_drops),
            int(x.files_ok),
            x.n,
            f(x.file_seconds_min),
            f(x.file_seconds_max),
            int(x.ready_ms),
            f(x.exit_after_stop_s),
        );
    }
    for x in sums.iter().filter(|x| x.killed_runs > 0) {
        s += &format!(
            "\n{} N={}: killed in {} of {} runs, still finishing its files {} s after it was \
             stopped (`--gst-grace`); their whole-life CPU stops there and unfinished files are \
             not OK.\n",
            x.tool.name(),
            x.n,
            x.killed_runs,
            x.runs,
            args.gst_grace
        );
    }
    for x in sums.iter().filter(|x| x.failed.is_some() && x.runs > 0) {
        s += &format!(
            "\n{} N={}: some runs failed: {}\n",
            x.tool.name(),
            x.n,
            x.failed.as_deref().unwrap_or("")
        );
    }
    let mut by_n: BTreeMap<usize, Vec<&Summary>> = BTreeMap::new();
    for x in sums.iter().filter(|x| x.runs > 0) {
        by_n.entry(x.n).or_default().push(x);
    }
    let pairs: Vec<(&Summary, &Summary)> = by_n
        .values()
        .filter_map(|v| {
            let z = v.iter().find(|x| x.tool == Tool::Zonecast)?;
            let g = v.iter().find(|x| x.tool == Tool::Gstreamer)?;
            Some((*z, *g))
        })
        .collect();
    if !pairs.is_empty() {
        s += "\nzonecast / GStreamer in the same run (below 1 = zonecast better):\n\n";
        s += "| N | CPU (whole) | CPU (steady) | peak RSS | lost (zonecast / GStreamer) |\n";
        s += "|---:|---:|---:|---:|---:|\n";
        for (z, g) in pairs {
            s += &format!(
                "| {} | {} | {} | {} | {} / {} |\n",
                z.n,
                ratio(z.cpu_ms_per_stream_s, g.cpu_ms_per_stream_s),
                ratio(z.steady_cpu_ms_per_stream_s, g.steady_cpu_ms_per_stream_s),
                ratio(z.peak_rss_mib, g.peak_rss_mib),
                int(z.lost),
                int(g.lost),
            );
        }
    }
    s += "\nRecorder process (medians): context switches per second in the steady window; bytes \
          queued on its N sockets, sampled every 250 ms while the streams run (a recorder that \
          keeps up holds next to nothing; one that falls behind, or has not started reading, \
          holds up to the receive buffers, then the kernel drops).\n\n";
    s += "| N | tool | voluntary ctx sw/s | involuntary ctx sw/s | socket backlog KiB mean / max |\n|---:|---|---:|---:|---:|\n";
    for x in sums.iter().filter(|x| x.runs > 0) {
        s += &format!(
            "| {} | {} | {} | {} | {} / {} |\n",
            x.n,
            x.tool.name(),
            int(x.voluntary_ctxt_per_s),
            int(x.involuntary_ctxt_per_s),
            f(x.backlog_mean_kib),
            f(x.backlog_max_kib),
        );
    }
    s += &format!("\n{}\n", reading(sums));
    s
}

/// "Recorder: 1,000 inbound streams on one core with no loss".
fn reading(sums: &[Summary]) -> String {
    let z = sums
        .iter()
        .filter(|x| x.tool == Tool::Zonecast && x.runs > 0)
        .max_by_key(|x| x.n);
    let Some(z) = z else {
        return "Reading against the target (1,000 inbound streams on one core with no loss): \
                zonecast was not measured."
            .into();
    };
    let core = z.cpu_ms_per_s <= ONE_CORE_MS && z.steady_cpu_ms_per_s <= ONE_CORE_MS;
    let clean = z.lost_max == 0 && z.files_ok as usize == z.n;
    let verdict = match (z.n >= 1000, core && clean) {
        (true, true) => "**met**",
        (true, false) => "**not met**",
        (false, _) => "not measured at N = 1000",
    };
    format!(
        "Reading against the target \"Recorder: 1,000 inbound streams on one core with no \
         loss\": {verdict} — at N = {}, the recorder used {} ms of CPU per second whole life \
         ({} steady) against {ONE_CORE_MS:.0} for one core ({} / {} ms per stream-second; the \
         budget is {} ms per stream-second), lost {} packets (median; {} in the worst run, \
         worst stream {}), socket drops {}, files OK {}/{}.",
        z.n,
        int(z.cpu_ms_per_s),
        int(z.steady_cpu_ms_per_s),
        f(z.cpu_ms_per_stream_s),
        f(z.steady_cpu_ms_per_stream_s),
        f(ONE_CORE_MS / z.n as f64),
        int(z.lost),
        z.lost_max,
        int(z.worst_stream_lost),
        int(z.socket_drops),
        int(z.files_ok),
        z.n,
    )
}

fn bench(args: &Args) -> Result<()> {
    if args.seconds < 3 {
        bail!("--seconds must be at least 3 (the first and last second are left out of steady)");
    }
    let mut tools = args.tools.clone();
    tools.sort();
    tools.dedup();
    if tools.contains(&Tool::Gstreamer) && !gst_available(&args.gst) {
        eprintln!("{} not found: the GStreamer peer is skipped", args.gst);
        tools.retain(|t| *t != Tool::Gstreamer);
    }
    if tools.is_empty() {
        bail!("no tool to measure");
    }
    let nofile = sys::raise_nofile();
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("recorder_load-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    eprintln!(
        "recorder_load: N = {:?}, S = {} s, {} run(s), tools {:?}, open files limit {nofile}, \
         load {}",
        args.streams,
        args.seconds,
        args.runs,
        tools,
        loadavg().0
    );
    let mut runs: Vec<Run> = Vec::new();
    let mut failures: BTreeMap<(Tool, usize), String> = BTreeMap::new();
    for &n in &args.streams {
        if n == 0 || n > 6000 {
            bail!("--streams: {n} is not in 1..=6000 (the pool has 6145 even ports)");
        }
        for r in 0..args.runs {
            let mut order = tools.clone();
            if r % 2 == 1 {
                order.reverse();
            }
            for &tool in &order {
                if tool == Tool::Gstreamer && n > args.gst_max_streams {
                    failures.entry((tool, n)).or_insert_with(|| {
                        format!("above --gst-max-streams {}", args.gst_max_streams)
                    });
                    continue;
                }
                // A peer that could not run at a smaller N is not tried at this one.
                if failures.keys().any(|&(t, m)| {
                    t == tool && m < n && !runs.iter().any(|x| x.tool == t && x.n == m)
                }) {
                    failures
                        .entry((tool, n))
                        .or_insert_with(|| "could not run at a smaller N".into());
                    continue;
                }
                match one_run(args, &base, tool, n, r) {
                    Ok(run) => {
                        eprintln!(
                            "  N={n:<5} {:<22} run {}: load1 {:.2}  cpu {} (steady {}) ms/stream-s = {} ms/s  rss {} MiB  received {}/{}  lost {} (worst stream {})  drops {}  backlog mean/max {}/{} KiB  files ok {}/{n}  ready {} ms  stop→exit {} s",
                            tool.name(),
                            r + 1,
                            run.load1,
                            f(run.cpu_ms_per_stream_s),
                            run.steady_cpu_ms_per_stream_s.map_or("–".into(), f),
                            int(run.cpu_ms_per_s),
                            f(run.child.max_rss_kb as f64 / 1024.0),
                            run.received,
                            run.sent,
                            run.lost,
                            run.worst_stream_lost,
                            run.socket_drops,
                            f(run.backlog_mean_kib),
                            f(run.backlog_max_kib),
                            run.files_ok,
                            int(run.ready_ms),
                            f(run.exit_after_stop_s),
                        );
                        runs.push(run);
                    }
                    Err(e) => {
                        let why = format!("{e:#}");
                        eprintln!(
                            "  N={n:<5} {:<22} run {}: FAILED: {why}",
                            tool.name(),
                            r + 1
                        );
                        failures.entry((tool, n)).or_insert(why);
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    if args.dir.is_none() && !args.keep_files {
        let _ = std::fs::remove_dir_all(&base);
    }
    let mut sums = Vec::new();
    for &n in &args.streams {
        for &tool in &tools {
            let rs: Vec<&Run> = runs.iter().filter(|r| r.n == n && r.tool == tool).collect();
            let failed = failures.get(&(tool, n)).cloned();
            if !rs.is_empty() || failed.is_some() {
                sums.push(summarise(tool, n, &rs, failed));
            }
        }
    }
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "seconds": args.seconds,
        "runs_per_tool": args.runs,
        "streams": args.streams,
        "summary": sums,
        "runs": runs,
    }))?;
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", markdown(args, &sums));
    }
    Ok(())
}
