//! Scale benchmark of the phone emulator: N phones in this process (one loopback address each),
//! M of them told over HTTP to receive a unicast G.711 stream, which the crate's own pacer sends
//! for S seconds from the same process.
//!
//! ```text
//! cargo run --release --example sim_scale -- --phones 10000 --receiving 1000 --seconds 10
//! ```
//!
//! Steps and what is measured:
//! 1. Build a tokio multi-thread runtime with 2 workers; read VmRSS (the baseline: binary,
//!    runtime, allocator).
//! 2. `Fleet::start` with N phones, `Addressing::Addresses { port: 0 }` from `--first`
//!    (127.20.0.1): wall time to start; after `--settle-ms`, VmRSS / VmHWM idle, threads,
//!    open file descriptors, tokio tasks alive.
//! 3. `PushClient::fan_out` of `<CiscoIPPhoneExecute>` with `RTPRx:127.0.0.1:PORT` to the first
//!    M phones (each binds its own address, so one port serves all): time until every push came
//!    back, and how many were accepted; then the fleet report must show M phones receiving.
//! 4. One pacer stream (1 kHz tone, 172-byte packets every 20 ms, `50 × S` packets) to the M
//!    phones' addresses. Over the streaming window: process CPU (getrusage RUSAGE_SELF user +
//!    sys) / wall time = cores used, the same split per thread name from /proc/self/task (tick
//!    sampled), VmRSS sampled every 250 ms (max) and VmHWM at the end.
//! 5. Fleet report: packets each receiving phone counted against packets the pacer sent to it,
//!    phones with loss, sequence errors, the dominant frequency each phone measured.
//! 6. `RTPRx:Stop` to the M phones: time, accepted, and the report must show none receiving.
//! 7. `Fleet::shutdown`: time.
//!
//! The pacer and the HTTP client share the process with the fleet, so CPU and memory are the
//! whole process's. `--json` prints the figures as one JSON object instead of prose.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use serde::Serialize;
use zonecast::audio::Tone;
use zonecast::g711::Law;
use zonecast::phone_sim::config::Addressing;
use zonecast::phone_sim::{Fleet, FleetReport, SimConfig};
use zonecast::push::{PushClient, PushConfig, PushOutcome};
use zonecast::rtp::{
    Destination, Encode, Pacer, PacerOptions, Packetizer, RtpPort, SenderOptions, StreamSpec,
};
use zonecast::xsi::object::{Execute, ExecuteItem, ExecuteUrl, Priority, Target, XmlObject};

#[derive(Debug, Parser)]
#[command(about = "Scale benchmark of the phone emulator")]
struct Args {
    /// Phones in the fleet.
    #[arg(long, default_value_t = 10_000)]
    phones: usize,
    /// Phones told to receive the unicast stream (the first M of the fleet).
    #[arg(long, default_value_t = 1_000)]
    receiving: usize,
    /// Seconds of streaming.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Address of the first phone (the others follow, skipping .0 and .255).
    #[arg(long, default_value = "127.20.0.1")]
    first: Ipv4Addr,
    /// RTP port every receiving phone binds on its own address.
    #[arg(long, default_value_t = 20_480)]
    rtp_port: u16,
    /// Tone frequency, Hz.
    #[arg(long, default_value_t = 1000.0)]
    tone_hz: f32,
    /// Pushes in flight at once.
    #[arg(long, default_value_t = PushConfig::default().concurrency)]
    concurrency: usize,
    /// Wait after the fleet started before reading idle memory, ms.
    #[arg(long, default_value_t = 2_000)]
    settle_ms: u64,
    /// Also build the fleet report once in the middle of the stream (as a test polling
    /// `/fleet` would) and time it; off by default because it perturbs the CPU figure.
    #[arg(long)]
    mid_report: bool,
    /// Print JSON instead of prose.
    #[arg(long)]
    json: bool,
}

/// VmRSS and VmHWM of this process, KiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Mem {
    rss_kib: u64,
    hwm_kib: u64,
}

fn mem() -> Mem {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Mem {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// user + system CPU of the whole process (all threads, live and ended), ns.
fn process_cpu_ns() -> u64 {
    // SAFETY: all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// utime + stime per thread name (clock ticks), from /proc/self/task/*/stat.
fn cpu_ticks_by_thread() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        // After ") ": field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let num = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        *out.entry(name).or_insert(0) += num(11) + num(12);
    }
    out
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

fn execute_xml(uri: &str) -> Result<String> {
    let execute = Execute::from_items([ExecuteItem {
        url: ExecuteUrl::internal(uri)?,
        priority: Priority::new(0)?,
    }])?;
    Ok(execute.to_xml_checked(Target::Phone)?)
}

/// Outcomes counted by kind (`ok`, `unreachable: ...`, ...).
fn outcome_counts(outcomes: &[PushOutcome]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for o in outcomes {
        let key = match o {
            PushOutcome::Ok { .. } => "ok".to_owned(),
            PushOutcome::AuthFailed => "auth failed".to_owned(),
            PushOutcome::Unreachable { reason, .. } => format!("unreachable: {reason}"),
            PushOutcome::Timeout => "timeout".to_owned(),
            PushOutcome::Rejected { status, data, .. } => format!("rejected {status}: {data}"),
            PushOutcome::Unsupported { reason } => format!("unsupported: {reason}"),
            PushOutcome::BadResponse { reason } => format!("bad response: {reason}"),
        };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[derive(Debug, Serialize)]
struct PushRound {
    uri: String,
    phones: usize,
    /// From the call of `fan_out` to the last outcome, ms.
    all_answered_ms: f64,
    accepted: usize,
    outcomes: BTreeMap<String, usize>,
    /// `totals.receiving` of the fleet report just after.
    receiving_after: usize,
    /// How long that report took, ms.
    report_ms: f64,
}

#[derive(Debug, Default, Serialize)]
struct Delivery {
    /// Packets the pacer produced (each copied to every receiving phone).
    packets_per_phone_sent: u64,
    /// Datagrams handed to the kernel (packets × phones).
    datagrams_sent: u64,
    send_errors: u64,
    skipped: u64,
    /// Sum over receiving phones of the packets each counted.
    packets_received: u64,
    /// `datagrams_sent − packets_received`.
    missing: i64,
    /// Sum of the phones' RFC 3550 `lost`.
    lost_reported: u64,
    phones_with_loss: usize,
    phones_short: usize,
    phones_silent: usize,
    sequence_errors: u64,
    duplicates: u64,
    malformed: u64,
    /// Time to build the fleet report just after the stream (M phones still hold ~0.5 s of
    /// audio each, whose dominant frequency the report computes), ms.
    report_ms: f64,
    /// Phones whose measured dominant frequency is within 5 Hz of the tone.
    frequency_ok: usize,
    frequency_min_hz: Option<f64>,
    frequency_max_hz: Option<f64>,
    max_jitter_ms: f64,
    /// Worst delay of a pacer lane behind its deadline, ms.
    pacer_max_lateness_ms: f64,
    pacer_realtime: bool,
    /// `Pacer::add` to the first packet sent, ms.
    first_packet_ms: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct Streaming {
    wall_s: f64,
    cpu_s: f64,
    /// CPU seconds per wall second, whole process.
    cores: f64,
    /// Same, per thread name (tick sampled, so coarser than `cores`).
    cores_by_thread: BTreeMap<String, f64>,
    /// Largest VmRSS sampled every 250 ms while streaming, KiB.
    rss_max_kib: u64,
    /// At the end of the stream, before the fleet report is built.
    end: Mem,
    threads: usize,
    open_fds: usize,
    /// Tokio tasks alive (workers' view) during the stream.
    tokio_tasks: usize,
    /// `--mid-report`: time to build the fleet report while M phones receive, ms.
    mid_report_ms: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct Results {
    phones: usize,
    receiving: usize,
    seconds: u64,
    cpus: usize,
    worker_threads: usize,
    fd_limit: (u64, u64),
    /// Before the runtime was built.
    before_runtime: Mem,
    /// After the runtime was built, before the fleet.
    before_fleet: Mem,
    fleet_start_ms: f64,
    /// Just after `Fleet::start` returned.
    after_start: Mem,
    /// After `settle_ms`.
    idle: Mem,
    idle_threads: usize,
    idle_open_fds: usize,
    idle_tokio_tasks: usize,
    /// VmRSS idle / N, KiB.
    idle_rss_per_phone_kib: f64,
    /// (VmRSS idle − VmRSS before the fleet) / N, KiB.
    idle_rss_per_phone_above_baseline_kib: f64,
    /// Fleet report of N idle phones: time to build, ms.
    idle_report_ms: f64,
    start_push: Option<PushRound>,
    /// After the start pushes, before streaming.
    after_push: Mem,
    streaming: Streaming,
    delivery: Delivery,
    stop_push: Option<PushRound>,
    after_stop: Mem,
    shutdown_ms: f64,
    /// Process peak VmHWM over the whole run, KiB.
    peak_hwm_kib: u64,
    one_gib_target_met: bool,
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

fn tokio_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

async fn push_round(
    fleet: &Fleet,
    client: &PushClient,
    targets: &[zonecast::push::Phone],
    uri: &str,
) -> Result<PushRound> {
    let xml = execute_xml(uri)?;
    let t = Instant::now();
    let outcomes = client.fan_out(targets, &xml, true).await;
    let all_answered_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let report = fleet.report();
    let report_ms = t.elapsed().as_secs_f64() * 1e3;
    Ok(PushRound {
        uri: uri.to_owned(),
        phones: targets.len(),
        all_answered_ms,
        accepted: outcomes.iter().filter(|o| o.is_ok()).count(),
        outcomes: outcome_counts(&outcomes),
        receiving_after: report.totals.receiving,
        report_ms,
    })
}

fn delivery_of(report: &FleetReport, m: usize, sent_per_phone: u64, tone_hz: f64) -> Delivery {
    let mut d = Delivery::default();
    for p in report.phones.iter().take(m) {
        let Some(h) = p.heard.last() else {
            d.phones_silent += 1;
            d.phones_short += 1;
            continue;
        };
        let s = &h.rx.summary;
        d.packets_received += s.packets;
        d.lost_reported += s.lost;
        d.sequence_errors += s.sequence_errors;
        d.duplicates += s.duplicates;
        d.malformed += s.malformed;
        d.max_jitter_ms = d.max_jitter_ms.max(s.max_jitter_ms);
        d.phones_with_loss += usize::from(s.lost > 0);
        d.phones_short += usize::from(s.packets < sent_per_phone);
        d.phones_silent += usize::from(s.packets == 0);
        if let Some(f) = s.frequency_hz {
            d.frequency_ok += usize::from((f - tone_hz).abs() < 5.0);
            d.frequency_min_hz = Some(d.frequency_min_hz.map_or(f, |x: f64| x.min(f)));
            d.frequency_max_hz = Some(d.frequency_max_hz.map_or(f, |x: f64| x.max(f)));
        }
    }
    d
}

async fn run(args: &Args, mut r: Results) -> Result<Results> {
    let n = args.phones;
    let m = args.receiving;

    // 2. The fleet.
    let mut cfg = SimConfig::uniform(n, "CP-8851");
    cfg.host = args.first;
    cfg.addressing = Addressing::Addresses { port: 0 };
    let t = Instant::now();
    let fleet = Fleet::start(cfg).await.context("starting the fleet")?;
    r.fleet_start_ms = t.elapsed().as_secs_f64() * 1e3;
    r.after_start = mem();
    r.fd_limit = fd_limit();
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    r.idle = mem();
    r.idle_threads = threads();
    r.idle_open_fds = open_fds();
    r.idle_tokio_tasks = tokio_tasks();
    r.idle_rss_per_phone_kib = r.idle.rss_kib as f64 / n as f64;
    r.idle_rss_per_phone_above_baseline_kib =
        r.idle.rss_kib.saturating_sub(r.before_fleet.rss_kib) as f64 / n as f64;
    let t = Instant::now();
    let idle_report = fleet.report();
    r.idle_report_ms = t.elapsed().as_secs_f64() * 1e3;
    ensure!(
        idle_report.totals.phones == n && idle_report.totals.receiving == 0,
        "idle fleet report: {:?}",
        idle_report.totals
    );
    drop(idle_report);

    // 3. Tell M phones to receive.
    let phones = fleet.phones();
    let receivers = &phones[..m];
    let targets: Vec<_> = receivers.iter().map(|p| p.push_target()).collect();
    let client = PushClient::new(PushConfig {
        concurrency: args.concurrency,
        ..PushConfig::default()
    })
    .context("push client")?;
    let start = push_round(
        &fleet,
        &client,
        &targets,
        &format!("RTPRx:127.0.0.1:{}", args.rtp_port),
    )
    .await?;
    let ready = start.receiving_after;
    r.start_push = Some(start);
    r.after_push = mem();
    if ready != m {
        bail!(
            "{ready} of {m} phones receiving after the push: {:?}",
            r.start_push
        );
    }

    // 4. Stream to them.
    let port = RtpPort::new(args.rtp_port)?;
    let destinations: Vec<Destination> = receivers
        .iter()
        .map(|p| Destination::new(*p.addr.ip(), port))
        .collect();
    let packets = 50 * args.seconds;
    let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer")?;
    let spec = StreamSpec {
        destinations,
        sender: SenderOptions::default(),
        packetizer: Packetizer::random(Law::Ulaw),
        payload: Box::new(Encode::new(Tone::new(args.tone_hz, -10.0), Law::Ulaw)),
        max_packets: Some(packets),
    };
    let ticks0 = cpu_ticks_by_thread();
    let cpu0 = process_cpu_ns();
    let t0 = Instant::now();
    let stream = pacer.add(spec).context("adding the stream")?;
    let limit = t0 + Duration::from_secs(args.seconds + 30);
    let mut rss_max = 0;
    let mut tasks_max = 0;
    let mut sampled = Instant::now();
    let mut mid_report_ms = None;
    while !stream.stats().ended {
        if Instant::now() > limit {
            stream.stop();
            bail!(
                "the stream did not end within S + 30 s: {:?}",
                stream.stats()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if sampled.elapsed() >= Duration::from_millis(250) {
            sampled = Instant::now();
            rss_max = rss_max.max(mem().rss_kib);
            tasks_max = tasks_max.max(tokio_tasks());
        }
        if args.mid_report
            && mid_report_ms.is_none()
            && t0.elapsed() >= Duration::from_secs(args.seconds) / 2
        {
            let t = Instant::now();
            drop(fleet.report());
            mid_report_ms = Some(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (process_cpu_ns() - cpu0) as f64 / 1e9;
    let ticks1 = cpu_ticks_by_thread();
    let end = mem();
    let hz = ticks_per_second();
    let mut by_thread = BTreeMap::new();
    for (name, after) in &ticks1 {
        let before = ticks0.get(name).copied().unwrap_or(0);
        let cores = after.saturating_sub(before) as f64 / hz / wall;
        if cores > 0.0 {
            by_thread.insert(name.clone(), cores);
        }
    }
    r.streaming = Streaming {
        wall_s: wall,
        cpu_s: cpu,
        cores: cpu / wall,
        cores_by_thread: by_thread,
        rss_max_kib: rss_max.max(end.rss_kib),
        end,
        threads: threads(),
        open_fds: open_fds(),
        tokio_tasks: tasks_max,
        mid_report_ms,
    };
    let sent = stream.stats();
    let pacer_stats = pacer.stats();
    // Let the last datagrams be read.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 5. What the phones heard.
    let t = Instant::now();
    let report = fleet.report();
    let report_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut d = delivery_of(&report, m, sent.packets, f64::from(args.tone_hz));
    drop(report);
    d.report_ms = report_ms;
    d.packets_per_phone_sent = sent.packets;
    d.datagrams_sent = sent.datagrams;
    d.send_errors = sent.send_errors;
    d.skipped = sent.skipped;
    d.missing = sent.datagrams as i64 - d.packets_received as i64;
    d.pacer_max_lateness_ms = sent.max_lateness_ns as f64 / 1e6;
    d.pacer_realtime = pacer_stats.realtime;
    d.first_packet_ms = stream.time_to_first_packet().map(|t| t.as_secs_f64() * 1e3);
    r.delivery = d;
    drop(stream);
    drop(pacer);

    // 6. Stop them.
    let stop = push_round(&fleet, &client, &targets, "RTPRx:Stop").await?;
    r.stop_push = Some(stop);
    r.after_stop = mem();

    // 7. Shut down.
    let t = Instant::now();
    fleet.shutdown().await;
    r.shutdown_ms = t.elapsed().as_secs_f64() * 1e3;
    r.peak_hwm_kib = mem().hwm_kib;
    Ok(r)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn print_human(args: &Args, r: &Results) {
    println!(
        "phone emulator at scale: {} phones, {} receiving, {} s, {} CPUs, {} tokio workers, \
         RLIMIT_NOFILE {}/{}",
        r.phones, r.receiving, r.seconds, r.cpus, r.worker_threads, r.fd_limit.0, r.fd_limit.1
    );
    println!(
        "baseline RSS: {:.1} MiB before the runtime, {:.1} MiB before the fleet",
        mib(r.before_runtime.rss_kib),
        mib(r.before_fleet.rss_kib)
    );
    println!(
        "fleet start: {:.0} ms; RSS {:.1} MiB just after",
        r.fleet_start_ms,
        mib(r.after_start.rss_kib)
    );
    println!(
        "idle after {} ms: RSS {:.1} MiB (HWM {:.1}) = {:.1} KiB per phone ({:.1} KiB above the \
         baseline); {} threads, {} fds, {} tokio tasks; report of all phones {:.0} ms",
        args.settle_ms,
        mib(r.idle.rss_kib),
        mib(r.idle.hwm_kib),
        r.idle_rss_per_phone_kib,
        r.idle_rss_per_phone_above_baseline_kib,
        r.idle_threads,
        r.idle_open_fds,
        r.idle_tokio_tasks,
        r.idle_report_ms
    );
    for p in [&r.start_push, &r.stop_push].into_iter().flatten() {
        println!(
            "push {} to {}: all answered in {:.0} ms, {} accepted {:?}; receiving after: {} \
             (report {:.0} ms)",
            p.uri,
            p.phones,
            p.all_answered_ms,
            p.accepted,
            p.outcomes,
            p.receiving_after,
            p.report_ms
        );
    }
    println!(
        "RSS after the start push {:.1} MiB, after the stop push {:.1} MiB",
        mib(r.after_push.rss_kib),
        mib(r.after_stop.rss_kib)
    );
    let s = &r.streaming;
    println!(
        "streaming {:.2} s: CPU {:.2} s = {:.3} cores (whole process); RSS max {:.1} MiB, at the \
         end {:.1} MiB (HWM {:.1}); {} threads, {} fds, {} tokio tasks",
        s.wall_s,
        s.cpu_s,
        s.cores,
        mib(s.rss_max_kib),
        mib(s.end.rss_kib),
        mib(s.end.hwm_kib),
        s.threads,
        s.open_fds,
        s.tokio_tasks
    );
    let threads: Vec<String> = s
        .cores_by_thread
        .iter()
        .map(|(k, v)| format!("{k} {v:.3}"))
        .collect();
    println!("  cores by thread (tick sampled): {}", threads.join(", "));
    if let Some(ms) = s.mid_report_ms {
        println!("  fleet report built mid-stream in {ms:.0} ms");
    }
    let d = &r.delivery;
    println!(
        "delivery: sent {} datagrams ({} packets × {} phones, {} send errors, {} skipped), \
         received {} (missing {}); RFC 3550 lost {} ; phones with loss {}, short {}, silent {}; \
         seq errors {}, duplicates {}, malformed {}; max jitter {:.2} ms",
        d.datagrams_sent,
        d.packets_per_phone_sent,
        r.receiving,
        d.send_errors,
        d.skipped,
        d.packets_received,
        d.missing,
        d.lost_reported,
        d.phones_with_loss,
        d.phones_short,
        d.phones_silent,
        d.sequence_errors,
        d.duplicates,
        d.malformed,
        d.max_jitter_ms
    );
    println!(
        "fleet report just after the stream (frequency of {} phones computed): {:.0} ms",
        r.receiving, d.report_ms
    );
    println!(
        "frequency: {} of {} phones within 5 Hz of {} Hz (min {:?}, max {:?}); pacer realtime {}, \
         worst lateness {:.3} ms, first packet {:?} ms after add",
        d.frequency_ok,
        r.receiving,
        args.tone_hz,
        d.frequency_min_hz,
        d.frequency_max_hz,
        d.pacer_realtime,
        d.pacer_max_lateness_ms,
        d.first_packet_ms
    );
    println!(
        "shutdown {:.0} ms; peak HWM {:.1} MiB; 1 GB target (peak HWM < 1e9 bytes): {}",
        r.shutdown_ms,
        mib(r.peak_hwm_kib),
        if r.one_gib_target_met {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.receiving <= args.phones,
        "--receiving must not exceed --phones"
    );
    let mut r = Results {
        phones: args.phones,
        receiving: args.receiving,
        seconds: args.seconds,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        worker_threads: 2,
        before_runtime: mem(),
        ..Results::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(r.worker_threads)
        .enable_all()
        .build()?;
    r.before_fleet = mem();
    let mut r = runtime.block_on(run(&args, r))?;
    drop(runtime);
    r.one_gib_target_met = r.peak_hwm_kib * 1024 < 1_000_000_000;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_human(&args, &r);
    }
    Ok(())
}
