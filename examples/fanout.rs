//! Fan-out benchmark: one G.711 stream copied to N unicast loopback destinations for S seconds,
//! zonecast's pacer against GStreamer's `multiudpsink`, measured the same way in the same run.
//!
//! ```text
//! cargo build --release --example fanout
//! cargo run --release --example fanout -- --destinations 1,100,1000 --seconds 10 --runs 3
//! ```
//!
//! Every destination is `127.0.(i/250).(i%250+1):PORT` (all of 127/8 is loopback on Linux), and
//! all of them land on one receiving socket bound to `0.0.0.0:PORT` in a thread of this process,
//! which tells them apart with `IP_PKTINFO` and timestamps them in the kernel (`SO_TIMESTAMPNS`).
//! The sender under test always runs in a child process, so its CPU (rusage from `wait4`) is its
//! own: zonecast re-executes this example with a hidden `--role send`, GStreamer runs as
//! `gst-launch-1.0`. Tools alternate run by run; each row of the table is the median over runs.
//!
//! Measures, per tool and N:
//! - CPU ms per stream-second: child's user + system time / (N x S), whole process life; and the
//!   steady-state figure (1 s after launch to 1 s before the end, from the child's CPU clock).
//! - First packet: launch (just before `spawn`) to each destination's first kernel arrival,
//!   p50 / max over destinations; for zonecast also from the instant just before `Pacer::add`.
//! - |inter-arrival gap - 20 ms| pooled over destinations (each destination's first and last
//!   second trimmed, only consecutive sequence numbers): p50 / p99 / p99.9 / max; RFC 3550
//!   jitter (mean over destinations); loss, sequence errors, datagram sizes.
//! - 1-minute load average at the start of each run (`--strict-load` waits for it to be <= 1.0).
//! - The platform's own floor: a SCHED_FIFO thread sleeping to 1 ms absolute deadlines for
//!   `--probe-seconds` before and after the benchmark, sending nothing.
//!
//! The receiver drains its socket every 1 ms by default (`--receiver poll`) instead of sleeping
//! in `recvmmsg` (`--receiver block`): on loopback the sender's `sendmmsg` runs the receive path
//! inline, so every datagram that finds the receiver asleep makes the *sender* pay for waking
//! it. That cost does not exist when the phones are other hosts, and it hits a sender that
//! spreads its lanes over the period (zonecast) far more than one that bursts (multiudpsink).
//! `--json` prints every run and the medians; `--json-out FILE` writes them next to the table.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use serde::Serialize;
use zonecast::g711::Law;
use zonecast::rtp::{
    Destination, EncodedClip, Pacer, PacerOptions, Packetizer, RtpPort, SenderOptions, StreamSpec,
};

#[path = "fanout/child.rs"]
mod child;
#[path = "fanout/probe.rs"]
mod probe;
#[path = "fanout/recv.rs"]
mod recv;
#[path = "fanout/stats.rs"]
mod stats;

use child::{gst_available, loadavg};
use stats::{f, median, ratio};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Tool {
    Zonecast,
    Gstreamer,
    /// GStreamer, one `udpsink` process per stream (N ≤ 100).
    GstEach,
    /// ffmpeg, one process per stream (N ≤ 100).
    FfmpegEach,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Zonecast => "zonecast",
            Tool::Gstreamer => "GStreamer multiudpsink",
            Tool::GstEach => "GStreamer, process/stream",
            Tool::FfmpegEach => "ffmpeg, process/stream",
        }
    }

    /// One process per stream: measured up to this many streams.
    fn max_n(self) -> usize {
        match self {
            Tool::GstEach | Tool::FfmpegEach => 100,
            _ => usize::MAX,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum RecvMode {
    Poll,
    Block,
}

#[derive(Debug, Parser)]
#[command(about = "Fan-out benchmark: zonecast pacer vs GStreamer multiudpsink on loopback")]
struct Args {
    /// Destination counts to measure, comma separated (e.g. 1,10,100,1000).
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    destinations: Vec<usize>,
    /// Seconds each stream runs (50 packets per second).
    #[arg(long, default_value_t = 20)]
    seconds: u32,
    /// Runs per tool and destination count (the table shows medians).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Receiving UDP port (even, 20480..=32768); the next free even port is used if taken.
    #[arg(long, default_value_t = 24000)]
    port: u16,
    /// Print JSON (every run and the medians) on stdout instead of the markdown table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON to this file (the markdown still goes to stdout).
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
    /// A run may start only when the 1-minute load average is at most this: the harness waits
    /// for it (up to `--load-wait` seconds), and a run that still starts above it is discarded
    /// (kept in the JSON, left out of the medians, counted in the table). Unset: the load is
    /// only recorded.
    #[arg(long)]
    max_load: Option<f64>,
    /// Longest wait, in seconds, for the load to fall to `--max-load` before a run.
    #[arg(long, default_value_t = 90)]
    load_wait: u64,
    /// Tools to measure.
    #[arg(long, value_delimiter = ',', default_value = "zonecast,gstreamer")]
    tools: Vec<Tool>,
    /// How the receiving thread waits: `poll` drains the socket every 1 ms without sleeping on
    /// it (senders never have to wake it), `block` sleeps in `recvmmsg` (each datagram that
    /// finds it asleep costs the *sender* a wake-up, charged to the sender's CPU on loopback).
    #[arg(long, value_enum, default_value = "poll")]
    receiver: RecvMode,
    /// Seconds of the platform wake-up probe run before and after the benchmark (0: none).
    #[arg(long, default_value_t = 5.0)]
    probe_seconds: f64,
    /// The gst-launch binary.
    #[arg(long, default_value = "gst-launch-1.0")]
    gst: String,
    /// The ffmpeg binary.
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: String,
    /// Internal: `send` makes this process the zonecast sender of one run.
    #[arg(long, hide = true)]
    role: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    match args.role.as_deref() {
        Some("send") => role_send(&args),
        Some(r) => bail!("unknown role {r:?}"),
        None => bench(&args),
    }
}

// ---------------------------------------------------------------------------------------------
// The zonecast sender (child process).

#[derive(Serialize)]
struct SenderReport {
    send: zonecast::rtp::SendStats,
    pacer: zonecast::rtp::PacerStats,
    time_to_first_packet_ns: Option<u64>,
    add_rt_ns: i64,
    ended: bool,
}

/// One second of a 1 kHz tone at 8 kHz: exactly 8 cycles per 8000 samples, so it loops cleanly.
fn tone() -> Vec<i16> {
    (0..8000)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (12_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
        })
        .collect()
}

fn destinations(n: usize, port: u16) -> Result<Vec<Destination>> {
    let port = RtpPort::new(port)?;
    Ok((0..n)
        .map(|i| Destination::new(recv::dest_addr(i), port))
        .collect())
}

fn role_send(args: &Args) -> Result<()> {
    let n = *args.destinations.first().context("--destinations")?;
    let packets = 50 * args.seconds as u64;
    let spec = StreamSpec {
        destinations: destinations(n, args.port)?,
        sender: SenderOptions::default(),
        packetizer: Packetizer::random(Law::Ulaw),
        payload: Box::new(EncodedClip::new(&tone(), Law::Ulaw, true)),
        max_packets: Some(packets),
    };
    let pacer = Pacer::start(PacerOptions::default())?;
    let add_rt_ns = recv::realtime_ns();
    let h = pacer.add(spec)?;
    let limit = Duration::from_secs(args.seconds as u64 + 30);
    let ended = h.wait(Some(limit));
    let report = SenderReport {
        send: h.stats(),
        pacer: pacer.stats(),
        time_to_first_packet_ns: h.time_to_first_packet().map(|d| d.as_nanos() as u64),
        add_rt_ns,
        ended,
    };
    println!("{}", serde_json::to_string(&report)?);
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
    /// Seconds waited for the load to drop to `--max-load`.
    load_waited_s: u64,
    /// Started above `--max-load` even after waiting: not in the medians.
    discarded: bool,
    cpu_ms_per_stream_s: f64,
    steady_cpu_ms_per_stream_s: Option<f64>,
    child: child::ChildRun,
    recv: stats::Received,
    /// zonecast only: what the sender printed.
    sender: Option<serde_json::Value>,
}

/// `gst-launch-1.0 -q audiotestsrc … ! rtppcmupay min/max-ptime 20 ms ! SINK`: a 1 kHz tone in
/// 20 ms PCMU packets for `seconds`, sent by `sink` (its element and properties).
fn gst_pipeline(gst: &str, seconds: u32, sink: &[String]) -> Command {
    let mut c = Command::new(gst);
    c.arg("-q");
    for a in [
        "audiotestsrc",
        "is-live=true",
        "wave=sine",
        "freq=1000",
        "samplesperbuffer=160",
        &format!("num-buffers={}", 50 * seconds),
        "!",
        "audio/x-raw,rate=8000,channels=1",
        "!",
        "mulawenc",
        "!",
        "rtppcmupay",
        "min-ptime=20000000",
        "max-ptime=20000000",
        "!",
    ] {
        c.arg(a);
    }
    c.args(sink).arg("sync=true");
    c
}

/// One GStreamer pipeline sending to all `n` destinations (`multiudpsink`).
fn gst_command(gst: &str, n: usize, seconds: u32, port: u16) -> Command {
    let clients = (0..n)
        .map(|i| format!("{}:{port}", recv::dest_addr(i)))
        .collect::<Vec<_>>()
        .join(",");
    gst_pipeline(
        gst,
        seconds,
        &["multiudpsink".into(), format!("clients={clients}")],
    )
}

/// One GStreamer process sending one stream to `dest` (the per-stream peer).
fn gst_each_command(gst: &str, dest: &str, seconds: u32, port: u16) -> Command {
    gst_pipeline(
        gst,
        seconds,
        &[
            "udpsink".into(),
            format!("host={dest}"),
            format!("port={port}"),
        ],
    )
}

/// One ffmpeg process sending one stream to `dest`, tuned for 20 ms packets as issue 8 gives it:
/// `-af asetnsamples=n=160:p=0,arealtime -acodec pcm_mulaw -packetsize 172 -f rtp`.
fn ffmpeg_each_command(ffmpeg: &str, dest: &str, seconds: u32, port: u16) -> Command {
    let mut c = Command::new(ffmpeg);
    c.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg(format!(
        "sine=frequency=1000:sample_rate=8000:duration={seconds}"
    ))
    .args([
        "-af",
        "asetnsamples=n=160:p=0,arealtime",
        "-ac",
        "1",
        "-acodec",
        "pcm_mulaw",
        "-packetsize",
        "172",
        "-f",
        "rtp",
    ])
    .arg(format!("rtp://{dest}:{port}"));
    c
}

fn available(bin: &str, version_flag: &str) -> bool {
    Command::new(bin)
        .arg(version_flag)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn one_run(args: &Args, tool: Tool, n: usize, run: usize) -> Result<Run> {
    let mut waited = 0;
    let (mut line, mut load1) = loadavg();
    let max_load = args.max_load.unwrap_or(f64::INFINITY);
    if load1 > max_load {
        eprintln!(
            "  load average {load1:.2} > {max_load}, waiting up to {} s",
            args.load_wait
        );
    }
    while load1 > max_load && waited < args.load_wait {
        std::thread::sleep(Duration::from_secs(5));
        waited += 5;
        (line, load1) = loadavg();
    }
    let discarded = load1 > max_load;
    let expected = 50 * args.seconds as u64;
    let poll = args.receiver == RecvMode::Poll;
    let receiver = recv::start(args.port, n, expected as usize + 16, poll)?;
    let port = receiver.port;
    let cmds = match tool {
        Tool::GstEach => (0..n)
            .map(|i| {
                gst_each_command(
                    &args.gst,
                    &recv::dest_addr(i).to_string(),
                    args.seconds,
                    port,
                )
            })
            .collect(),
        Tool::FfmpegEach => (0..n)
            .map(|i| {
                ffmpeg_each_command(
                    &args.ffmpeg,
                    &recv::dest_addr(i).to_string(),
                    args.seconds,
                    port,
                )
            })
            .collect(),
        Tool::Zonecast => vec![{
            let mut c = Command::new(std::env::current_exe()?);
            c.args(["--role", "send", "--destinations", &n.to_string()])
                .args([
                    "--seconds",
                    &args.seconds.to_string(),
                    "--port",
                    &port.to_string(),
                ]);
            c
        }],
        Tool::Gstreamer => vec![gst_command(&args.gst, n, args.seconds, port)],
    };
    let ch = child::run_many(cmds, args.seconds as f64)?;
    // Let the last packets land, then drain and stop the receiver.
    std::thread::sleep(Duration::from_millis(300));
    let cap = receiver.finish()?;
    if !ch.success() {
        bail!(
            "{} exited with status {:#x}{}:\n{}",
            tool.name(),
            ch.status,
            if ch.killed {
                " (killed at the time limit)"
            } else {
                ""
            },
            ch.stderr.trim()
        );
    }
    let sender: Option<serde_json::Value> = match tool {
        Tool::Zonecast => Some(
            serde_json::from_str(ch.stdout.trim())
                .with_context(|| format!("sender output {:?}", ch.stdout))?,
        ),
        _ => None,
    };
    let add_ns = sender.as_ref().and_then(|s| s["add_rt_ns"].as_i64());
    let received = stats::analyse(&cap, expected, ch.launch_rt_ns, add_ns);
    let stream_s = n as f64 * args.seconds as f64;
    Ok(Run {
        tool,
        n,
        seconds: args.seconds,
        run,
        loadavg: line,
        load1,
        load_waited_s: waited,
        discarded,
        cpu_ms_per_stream_s: ch.cpu_ns as f64 / 1e6 / stream_s,
        steady_cpu_ms_per_stream_s: ch
            .steady_cpu_ns
            .map(|c| c as f64 / 1e6 / (n as f64 * ch.steady_window_s)),
        child: ch,
        recv: received,
        sender,
    })
}

/// Medians over the runs of one tool and N.
#[derive(Debug, Clone, Serialize)]
struct Summary {
    tool: Tool,
    n: usize,
    runs: usize,
    /// Runs left out because they started above `--max-load` (when every run of a tool and N
    /// was, the medians are over those runs and `all_discarded` says so).
    discarded: usize,
    all_discarded: bool,
    load1: Vec<f64>,
    cpu_ms_per_stream_s: f64,
    steady_cpu_ms_per_stream_s: f64,
    /// Peak resident memory of the sender process(es), MiB.
    peak_rss_mib: f64,
    first_p50_ms: f64,
    first_max_ms: f64,
    first_after_add_p50_ms: Option<f64>,
    first_after_add_max_ms: Option<f64>,
    gap_p50_ms: f64,
    gap_p99_ms: f64,
    gap_p999_ms: f64,
    gap_max_ms: f64,
    jitter_mean_ms: f64,
    lost_sum: f64,
    lost_worst: f64,
    seq_errors: f64,
    reached: f64,
    sizes: Vec<String>,
    rx_dropped: u64,
    /// Sender process: context switches per second in the steady window (voluntary,
    /// involuntary).
    voluntary_ctxt_per_s: f64,
    involuntary_ctxt_per_s: f64,
    /// zonecast: SCHED_FIFO granted, pacer worst lateness (median, ms), send errors (sum),
    /// library time to first packet (median, ms).
    realtime: Option<bool>,
    pacer_max_lateness_ms: Option<f64>,
    send_errors: Option<u64>,
    library_first_packet_ms: Option<f64>,
}

fn summarise(runs: &[&Run]) -> Summary {
    let m = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(|r| f(r)).collect());
    let mo = |f: &dyn Fn(&Run) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(|r| f(r)).collect();
        (!v.is_empty()).then(|| median(v))
    };
    let zs = |key: &str, sub: &str| -> Option<f64> {
        mo(&|r: &Run| r.sender.as_ref().and_then(|s| s[key][sub].as_f64()))
    };
    let mut sizes: Vec<String> = runs.iter().map(|r| r.recv.sizes.clone()).collect();
    sizes.dedup();
    Summary {
        tool: runs[0].tool,
        n: runs[0].n,
        runs: runs.len(),
        discarded: 0,
        all_discarded: false,
        load1: runs.iter().map(|r| r.load1).collect(),
        cpu_ms_per_stream_s: m(&|r| r.cpu_ms_per_stream_s),
        steady_cpu_ms_per_stream_s: m(&|r| r.steady_cpu_ms_per_stream_s.unwrap_or(f64::NAN)),
        peak_rss_mib: m(&|r| r.child.max_rss_kb as f64 / 1024.0),
        first_p50_ms: m(&|r| r.recv.first_p50_ms),
        first_max_ms: m(&|r| r.recv.first_max_ms),
        first_after_add_p50_ms: mo(&|r| r.recv.first_after_add_p50_ms),
        first_after_add_max_ms: mo(&|r| r.recv.first_after_add_max_ms),
        gap_p50_ms: m(&|r| r.recv.gap_p50_ms),
        gap_p99_ms: m(&|r| r.recv.gap_p99_ms),
        gap_p999_ms: m(&|r| r.recv.gap_p999_ms),
        gap_max_ms: m(&|r| r.recv.gap_max_ms),
        jitter_mean_ms: m(&|r| r.recv.jitter_mean_ms),
        lost_sum: m(&|r| r.recv.lost_sum as f64),
        lost_worst: m(&|r| r.recv.lost_worst as f64),
        seq_errors: m(&|r| r.recv.seq_errors as f64),
        reached: m(&|r| r.recv.reached as f64),
        sizes,
        rx_dropped: runs.iter().map(|r| r.recv.rx_dropped).sum(),
        voluntary_ctxt_per_s: m(&|r| {
            r.child
                .steady_voluntary_ctxt
                .map_or(f64::NAN, |c| c as f64 / r.child.steady_window_s)
        }),
        involuntary_ctxt_per_s: m(&|r| {
            r.child
                .steady_involuntary_ctxt
                .map_or(f64::NAN, |c| c as f64 / r.child.steady_window_s)
        }),
        realtime: runs[0]
            .sender
            .as_ref()
            .and_then(|s| s["pacer"]["realtime"].as_bool()),
        pacer_max_lateness_ms: zs("pacer", "max_lateness_ns").map(|x| x / 1e6),
        send_errors: runs[0].sender.as_ref().map(|_| {
            runs.iter()
                .filter_map(|r| r.sender.as_ref()?["send"]["send_errors"].as_u64())
                .sum()
        }),
        library_first_packet_ms: mo(&|r| {
            r.sender.as_ref()?["time_to_first_packet_ns"]
                .as_f64()
                .map(|x| x / 1e6)
        }),
    }
}

fn fg(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.3}")
    }
}

fn fmax(m: Option<f64>) -> String {
    m.map_or("–".into(), |m| format!("{m}"))
}

fn probe_line(p: &probe::Probe) -> String {
    format!(
        "{} × 1 ms SCHED_FIFO{} timer sleeps: lateness p50 {} / p99 {} / p99.9 {} / max {} ms, \
         {} over 0.5 ms, {} over 2 ms (load {})",
        p.wakeups,
        if p.realtime { "" } else { " (not granted)" },
        fg(p.p50_ms),
        fg(p.p99_ms),
        fg(p.p999_ms),
        fg(p.max_ms),
        p.over_0_5ms,
        p.over_2ms,
        p.loadavg
    )
}

fn markdown(args: &Args, sums: &[Summary], probes: &[(&str, probe::Probe)]) -> String {
    let mut s = String::new();
    s += &format!(
        "S = {} s per run, {} run(s) per tool and N, medians over runs; receiver mode `{}`. \
         Times in ms. CPU = sender process user+system ms per stream-second (N × S). \
         Peak RSS = the sender processes' `VmHWM` summed.{}\n\n",
        args.seconds,
        args.runs,
        match args.receiver {
            RecvMode::Poll => "poll",
            RecvMode::Block => "block",
        },
        match args.max_load {
            Some(m) => format!(
                " A run starts only when the 1-minute load average is ≤ {m} (waiting up to {} s); \
                 one that still starts above it is discarded: left out of the medians and counted \
                 in the load column. The one-process-per-stream peers run after all the others.",
                args.load_wait
            ),
            None => String::new(),
        }
    );
    for (when, p) in probes {
        s += &format!("Platform wake-up probe ({when}): {}\n\n", probe_line(p));
    }
    s += "| N | tool | load1 at start | CPU (whole process) | CPU (steady) | peak RSS MiB | 1st pkt from launch p50 / max | 1st pkt from add p50 / max | \\|gap−20\\| p50 | p99 | p99.9 | max | RFC 3550 jitter | lost (sum / worst dest) | seq errors | reached | datagram bytes |\n";
    s += "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for x in sums {
        let add = match (x.first_after_add_p50_ms, x.first_after_add_max_ms) {
            (Some(a), Some(b)) => format!("{} / {}", f(a), f(b)),
            _ => "n/a".into(),
        };
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {}/{} | {} |\n",
            x.n,
            x.tool.name(),
            {
                let l = x
                    .load1
                    .iter()
                    .map(|l| format!("{l:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if x.all_discarded {
                    format!(
                        "{l} (**all above {}: shown, not trusted**)",
                        fmax(args.max_load)
                    )
                } else if x.discarded > 0 {
                    format!("{l} ({} more discarded)", x.discarded)
                } else {
                    l
                }
            },
            f(x.cpu_ms_per_stream_s),
            f(x.steady_cpu_ms_per_stream_s),
            f(x.peak_rss_mib),
            f(x.first_p50_ms),
            f(x.first_max_ms),
            add,
            fg(x.gap_p50_ms),
            fg(x.gap_p99_ms),
            fg(x.gap_p999_ms),
            fg(x.gap_max_ms),
            fg(x.jitter_mean_ms),
            x.lost_sum,
            x.lost_worst,
            x.seq_errors,
            x.reached,
            x.n,
            x.sizes.join("; "),
        );
    }
    let mut by_n: BTreeMap<usize, Vec<&Summary>> = BTreeMap::new();
    for x in sums {
        by_n.entry(x.n).or_default().push(x);
    }
    let pairs: Vec<(&Summary, &Summary)> = by_n
        .values()
        .flat_map(|v| {
            let z = v.iter().find(|x| x.tool == Tool::Zonecast).copied();
            v.iter()
                .filter(|x| x.tool != Tool::Zonecast)
                .filter_map(move |p| z.map(|z| (z, *p)))
        })
        .collect();
    if !pairs.is_empty() {
        s += "\nzonecast / peer in the same run (below 1 = zonecast better):\n\n";
        s += "| N | peer | CPU (whole process) | CPU (steady) | peak RSS | \\|gap−20\\| p99 | p99.9 | max | 1st pkt max |\n";
        s += "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for (z, g) in pairs {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                z.n,
                g.tool.name(),
                ratio(z.cpu_ms_per_stream_s, g.cpu_ms_per_stream_s),
                ratio(z.steady_cpu_ms_per_stream_s, g.steady_cpu_ms_per_stream_s),
                ratio(z.peak_rss_mib, g.peak_rss_mib),
                ratio(z.gap_p99_ms, g.gap_p99_ms),
                ratio(z.gap_p999_ms, g.gap_p999_ms),
                ratio(z.gap_max_ms, g.gap_max_ms),
                ratio(z.first_max_ms, g.first_max_ms),
            );
        }
    }
    for x in sums.iter().filter(|x| x.rx_dropped > 0) {
        s += &format!(
            "\nWarning: the receiver's socket dropped {} datagrams (SO_RXQ_OVFL) in the {} N={} \
             runs; that loss is the receiver's, not the sender's.\n",
            x.rx_dropped,
            x.tool.name(),
            x.n
        );
    }
    s += "\nSender process (medians; context switches per second over the steady window):\n\n";
    s += "| N | tool | voluntary ctx sw/s | involuntary ctx sw/s |\n";
    s += "|---:|---|---:|---:|\n";
    for x in sums {
        s += &format!(
            "| {} | {} | {:.0} | {:.0} |\n",
            x.n,
            x.tool.name(),
            x.voluntary_ctxt_per_s,
            x.involuntary_ctxt_per_s,
        );
    }
    let zs: Vec<&Summary> = sums.iter().filter(|x| x.tool == Tool::Zonecast).collect();
    if !zs.is_empty() {
        s += "\nzonecast pacer (medians): \n\n";
        s += "| N | SCHED_FIFO | pacer worst wake-up lateness | add → first send (library) | send errors (all runs) |\n";
        s += "|---:|---|---:|---:|---:|\n";
        for z in zs {
            s += &format!(
                "| {} | {} | {} | {} | {} |\n",
                z.n,
                z.realtime
                    .map_or("?".into(), |r| if r { "yes" } else { "no" }.to_string()),
                z.pacer_max_lateness_ms.map_or("–".into(), fg),
                z.library_first_packet_ms.map_or("–".into(), fg),
                z.send_errors.unwrap_or(0),
            );
        }
    }
    s
}

fn bench(args: &Args) -> Result<()> {
    if args.seconds < 3 {
        bail!("--seconds must be at least 3 (the first and last second are trimmed)");
    }
    RtpPort::new(args.port)?;
    let mut tools: Vec<Tool> = args.tools.clone();
    tools.sort();
    tools.dedup();
    if !gst_available(&args.gst)
        && tools
            .iter()
            .any(|t| matches!(t, Tool::Gstreamer | Tool::GstEach))
    {
        eprintln!("{} not found: the GStreamer peers are skipped", args.gst);
        tools.retain(|t| !matches!(t, Tool::Gstreamer | Tool::GstEach));
    }
    if tools.contains(&Tool::FfmpegEach) && !available(&args.ffmpeg, "-version") {
        eprintln!("{} not found: the ffmpeg peer is skipped", args.ffmpeg);
        tools.retain(|t| *t != Tool::FfmpegEach);
    }
    if tools.is_empty() {
        bail!("no tool to measure");
    }
    let mut probes = Vec::new();
    if args.probe_seconds > 0.0 {
        let p = probe::run(args.probe_seconds, loadavg().0);
        eprintln!("platform probe (before): {}", probe_line(&p));
        probes.push(("before", p));
    }
    let (line, _) = loadavg();
    eprintln!(
        "fanout: N = {:?}, S = {} s, {} run(s), load {line}",
        args.destinations, args.seconds, args.runs
    );
    let mut runs: Vec<Run> = Vec::new();
    if let Some(&n) = args.destinations.iter().find(|&&n| n == 0 || n > 250 * 256) {
        bail!("--destinations: {n} is not in 1..=64000");
    }
    // The one-process-per-stream peers go last: at N = 100 they leave the load average at 2–5,
    // and the runs after them would wait for it to fall (or be discarded).
    let (single, each): (Vec<Tool>, Vec<Tool>) =
        tools.iter().copied().partition(|t| t.max_n() == usize::MAX);
    let mut schedule: Vec<(usize, usize, Vec<Tool>)> = Vec::new();
    for group in [&single, &each] {
        for &n in &args.destinations {
            for r in 0..args.runs {
                // Alternate which tool goes first, so neither always runs on a warmer machine.
                let mut order: Vec<Tool> =
                    group.iter().copied().filter(|t| n <= t.max_n()).collect();
                if r % 2 == 1 {
                    order.reverse();
                }
                if !order.is_empty() {
                    schedule.push((n, r, order));
                }
            }
        }
    }
    for (n, r, order) in schedule {
        {
            for &tool in &order {
                let run = one_run(args, tool, n, r)
                    .with_context(|| format!("{} N={n} run {}", tool.name(), r + 1))?;
                eprintln!(
                    "  N={n:<5} {:<22} run {}: load1 {:.2}{}  cpu {} (steady {}) ms/stream-s  first {}/{} ms  gap p99 {} max {} ms  lost {}  reached {}/{n}  sizes {}",
                    tool.name(),
                    r + 1,
                    run.load1,
                    if run.discarded { " (discarded)" } else { "" },
                    f(run.cpu_ms_per_stream_s),
                    run.steady_cpu_ms_per_stream_s.map_or("–".into(), f),
                    f(run.recv.first_p50_ms),
                    f(run.recv.first_max_ms),
                    fg(run.recv.gap_p99_ms),
                    fg(run.recv.gap_max_ms),
                    run.recv.lost_sum,
                    run.recv.reached,
                    run.recv.sizes,
                );
                runs.push(run);
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    if args.probe_seconds > 0.0 {
        let p = probe::run(args.probe_seconds, loadavg().0);
        eprintln!("platform probe (after): {}", probe_line(&p));
        probes.push(("after", p));
    }
    let mut sums = Vec::new();
    for &n in &args.destinations {
        for &tool in &tools {
            let all: Vec<&Run> = runs.iter().filter(|r| r.n == n && r.tool == tool).collect();
            let kept: Vec<&Run> = all.iter().copied().filter(|r| !r.discarded).collect();
            if all.is_empty() {
                continue;
            }
            let mut sum = summarise(if kept.is_empty() { &all } else { &kept });
            sum.discarded = all.len() - kept.len();
            sum.all_discarded = kept.is_empty();
            sums.push(sum);
        }
    }
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "seconds": args.seconds,
        "runs_per_tool": args.runs,
        "receiver": args.receiver,
        "destinations": args.destinations,
        "platform_probe": probes
            .iter()
            .map(|(w, p)| serde_json::json!({"when": w, "probe": p}))
            .collect::<Vec<_>>(),
        "summary": sums,
        "runs": runs,
    }))?;
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", markdown(args, &sums, &probes));
    }
    Ok(())
}
