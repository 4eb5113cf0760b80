//! Page reach: time from the start of a page until every one of N emulated phones has accepted
//! the stream and is receiving packets, with every phone answering a push after ~200 ms.
//!
//! ```text
//! cargo run --release --example page_reach -- --phones 1000,10000 --latency-ms 200 \
//!     --concurrency 200,1000,5000 --runs 3 --json
//! ```
//!
//! Per phone count N, one fleet in this process (`Addressing::Addresses`, one loopback address
//! per phone from `--first`), every phone with the answer latency `--latency-ms` (fixed, or
//! normal with `--latency-sd-ms`) through a `FaultRule { share: Some(1.0), .. }`. Then for every
//! delivery (multicast to a fresh 239.255.x.y group on an even port, loopback interface;
//! unicast), every push concurrency and every run: plan the page with `page::plan` (no banner
//! unless `--banner`), run it with `page::run::run` (a fresh `PushClient` per page, as a fresh
//! `zonecast page` process would have) on a pacer shared by the runs, and measure:
//!
//! - `last_accept_ms`: the delivery report's time until the last phone accepted;
//! - `all_receiving_ms`: the time until the last phone received its first packet, from each
//!   phone's own arrival timestamp (`first_packet_ns`, CLOCK_MONOTONIC, set by the phone's receive
//!   task when the first datagram is read), read from one fleet report after the page; the zero
//!   is a CLOCK_MONOTONIC reading just before `run` is spawned;
//! - `poll_all_receiving_ms`: the same seen from outside while the page runs: the main thread
//!   (not a tokio worker) polls `Fleet::phone_report` of the phones not yet seen receiving, in
//!   plan order, and ends each pass after 32 phones in a row that are not receiving yet (pushes
//!   leave in plan order, so the rest are further behind; a straggler stays in the set and is
//!   asked again in every pass). When the set is empty, the page is told to stop.
//!
//! "Receiving" is packets > 0 on the phone's active stream: the page sends silence until every
//! start was answered (the gate in `page::run`), and silence packets count.
//!
//! Also per run: the floor `latency × ceil(N / concurrency)` (every push takes at least the
//! latency; at most `concurrency` are in flight), process CPU over the page, the peak of open
//! file descriptors, failures by kind, and the time the stops took.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde::Serialize;
use tokio::sync::watch;
use zonecast::audio::Tone;
use zonecast::g711::Law;
use zonecast::page::journal::Journal;
use zonecast::page::run::{PageJob, run};
use zonecast::page::{Delivery, PageSpec, Target, plan};
use zonecast::phone_sim::config::{Addressing, FaultRule};
use zonecast::phone_sim::faults::{Faults, Latency};
use zonecast::phone_sim::{Fleet, SimConfig};
use zonecast::push::{PushClient, PushConfig};
use zonecast::rtp::{
    Destination, Encode, Pacer, PacerOptions, Packetizer, RtpPort, SenderOptions, StreamSpec,
};

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
    #[arg(long, value_delimiter = ',', default_value = "200,1000,5000")]
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
    /// Poll period of the outside view, ms.
    #[arg(long, default_value_t = 5)]
    poll_ms: u64,
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
    /// Phones' own first-packet timestamps: the last phone's.
    all_receiving_ms: Option<f64>,
    receive_p50_ms: Option<f64>,
    /// Phones that accepted but had no packet in this page.
    accepted_not_receiving: usize,
    /// Seen from the polling thread.
    poll_all_receiving_ms: Option<f64>,
    /// CPU of the polling thread over the page, ms.
    poll_cpu_ms: f64,
    poll_passes: u64,
    /// latency × ceil(N / concurrency).
    floor_ms: f64,
    /// all_receiving / floor.
    ratio_to_floor: Option<f64>,
    /// Process CPU from page start to all receiving, in cores.
    cores_to_all_receiving: Option<f64>,
    /// From the stop request to the end of `run` (every stop pushed and answered), ms.
    stop_ms: f64,
    peak_open_fds: usize,
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

fn targets(fleet: &Fleet) -> Vec<Target> {
    fleet
        .phones()
        .iter()
        .map(|p| Target {
            name: p.name.clone(),
            model: p.model.clone(),
            ip: Some(*p.addr.ip()),
            push: Ok(p.push_target()),
        })
        .collect()
}

struct Ctx<'a> {
    args: &'a Args,
    runtime: &'a tokio::runtime::Runtime,
    fleet: &'a Fleet,
    pacer: Arc<Pacer>,
    names: Vec<String>,
    journal_dir: std::path::PathBuf,
}

/// Whether the phone's current stream has packets.
fn receiving(fleet: &Fleet, name: &str) -> bool {
    fleet.phone_report(name).is_some_and(|p| {
        p.heard
            .last()
            .is_some_and(|h| h.active && h.rx.summary.packets > 0)
    })
}

fn one_page(cx: &Ctx<'_>, mode: &str, concurrency: usize, run_no: usize) -> Result<RunResult> {
    let args = cx.args;
    let n = cx.names.len();
    let port = RtpPort::new(args.rtp_port)?;
    let delivery = match mode {
        "multicast" => Delivery::Multicast {
            group: Ipv4Addr::new(
                239,
                255,
                rand::random::<u8>(),
                1 + rand::random::<u8>() % 250,
            ),
            port,
        },
        "unicast" => Delivery::Unicast {
            source: Ipv4Addr::LOCALHOST,
            port,
        },
        other => bail!("unknown delivery {other}: multicast or unicast"),
    };
    let t = Instant::now();
    let plans = plan(
        &PageSpec {
            delivery,
            volume: None,
            banner: args.banner.then(|| "Page reach".to_owned()),
            via: Default::default(),
        },
        targets(cx.fleet),
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
    let job = PageJob {
        id: format!("reach-{mode}-{n}-{concurrency}-{run_no}"),
        zone: "all".into(),
        priority: ("normal".into(), 0),
        delivery,
        plans,
        source: Box::new(Encode::new(Tone::new(1000.0, -10.0), Law::Ulaw)),
        law: Law::Ulaw,
        sender: SenderOptions {
            ttl: 1,
            interface: Some(Ipv4Addr::LOCALHOST),
            ..SenderOptions::default()
        },
        duration: None,
        gate: Duration::from_secs(1),
        journal,
        client,
        verify: None,
        callbacks: None,
        fallback: None,
    };
    let (stop_tx, stop_rx) = watch::channel(None);
    let open_fds_before = open_fds();
    let load_at_start = load1();
    let pacer = cx.pacer.clone();

    // Page start.
    let cpu0 = process_cpu_ns();
    let t0 = Instant::now();
    let t0_ns = mono_ns();
    let page = cx
        .runtime
        .spawn(async move { run(job, &pacer, stop_rx).await });

    // The outside view: poll the phones not yet seen receiving, in plan order.
    let poll_cpu0 = thread_cpu_ns();
    let mut unseen: Vec<usize> = (0..n).collect();
    let mut passes = 0u64;
    let mut peak_fds = open_fds_before;
    let mut last_fd_sample = Instant::now();
    let mut poll_all = None;
    let mut cpu_all = None;
    let deadline = t0 + Duration::from_secs(args.timeout_s);
    while !page.is_finished() {
        passes += 1;
        let mut misses = 0;
        let mut keep = Vec::with_capacity(unseen.len());
        let mut idx = 0;
        while idx < unseen.len() {
            let i = unseen[idx];
            idx += 1;
            if receiving(cx.fleet, &cx.names[i]) {
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
            peak_fds = peak_fds.max(open_fds());
        }
        if unseen.is_empty() {
            poll_all = Some(t0.elapsed().as_secs_f64() * 1e3);
            cpu_all = Some((process_cpu_ns() - cpu0) as f64 / 1e9 / t0.elapsed().as_secs_f64());
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(args.poll_ms));
    }
    let poll_cpu_ms = (thread_cpu_ns() - poll_cpu0) as f64 / 1e6;
    peak_fds = peak_fds.max(open_fds());
    let t_stop = Instant::now();
    stop_tx.send_replace(Some("benchmark: every phone receiving".into()));
    let report = cx
        .runtime
        .block_on(page)
        .context("the page task")?
        .context("the page")?;
    let stop_ms = t_stop.elapsed().as_secs_f64() * 1e3;

    // The phones' own first-packet times of this page.
    let fleet_report = cx.fleet.report();
    let mut first_ms = Vec::new();
    let mut accepted_not_receiving = 0;
    for (p, r) in fleet_report.phones.iter().zip(&report.phones) {
        let first = p
            .heard
            .last()
            .and_then(|h| h.rx.summary.first_packet_ns)
            .filter(|&ns| ns >= t0_ns);
        match first {
            Some(ns) => first_ms.push((ns - t0_ns) as f64 / 1e6),
            None if r.accepted => accepted_not_receiving += 1,
            None => {}
        }
    }
    let accepts: Vec<f64> = report.phones.iter().filter_map(|p| p.accept_ms).collect();
    let mut failures = BTreeMap::new();
    for p in &report.phones {
        if let Some(f) = &p.failure {
            *failures
                .entry(format!("{}: {}", f.kind, f.reason))
                .or_insert(0) += 1;
        }
    }
    let all_receiving_ms = (first_ms.len() == n)
        .then(|| first_ms.iter().copied().fold(0.0, f64::max))
        .filter(|_| n > 0);
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
        last_accept_ms: report.last_accept_ms,
        accept_p50_ms: median(accepts),
        all_receiving_ms,
        receive_p50_ms: quantile(first_ms, 0.5),
        accepted_not_receiving,
        poll_all_receiving_ms: poll_all,
        poll_cpu_ms,
        poll_passes: passes,
        floor_ms,
        ratio_to_floor: all_receiving_ms.map(|a| a / floor_ms),
        cores_to_all_receiving: cpu_all,
        stop_ms,
        peak_open_fds: peak_fds,
        open_fds_before,
        target_ms: target,
        met: target.map(|t| {
            all_receiving_ms.is_some_and(|a| a <= t)
                && report.last_accept_ms.is_some_and(|a| a <= t)
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
    ratio_to_floor: Option<f64>,
    cores: Option<f64>,
    peak_open_fds: usize,
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
                ratio_to_floor: median(rs.iter().filter_map(|r| r.ratio_to_floor).collect()),
                cores: median(rs.iter().filter_map(|r| r.cores_to_all_receiving).collect()),
                peak_open_fds: rs.iter().map(|r| r.peak_open_fds).max().unwrap_or(0),
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
        "| delivery | N | concurrency | floor | last accept | all receiving (median [min–max]) | \
         seen by polling | ÷ floor | cores | peak fds | stops took | target | met (runs) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {} | {} [{}–{}] | {} | {} | {} | {} | {} | {} | {}/{} |",
            r.delivery,
            r.phones,
            r.concurrency,
            r.floor_ms,
            opt(r.last_accept_ms, 0),
            opt(r.all_receiving_ms, 0),
            opt(r.all_receiving_min_ms, 0),
            opt(r.all_receiving_max_ms, 0),
            opt(r.poll_all_receiving_ms, 0),
            opt(r.ratio_to_floor, 2),
            opt(r.cores, 2),
            r.peak_open_fds,
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
    fleet_start_ms: BTreeMap<usize, f64>,
    runs: &'a [RunResult],
    medians: Vec<Row>,
}

/// A socket on an even loopback port in the RTP range and a stream to it on `pacer`.
fn keepalive(pacer: &Pacer) -> Result<(std::net::UdpSocket, zonecast::rtp::StreamHandle)> {
    for p in (32_000..32_768).step_by(2) {
        let Ok(sink) = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, p)) else {
            continue;
        };
        let stream = pacer.add(StreamSpec {
            destinations: vec![Destination::new(Ipv4Addr::LOCALHOST, RtpPort::new(p)?)],
            sender: SenderOptions::default(),
            packetizer: Packetizer::random(Law::Ulaw),
            payload: Box::new(Encode::new(Tone::new(1000.0, -10.0), Law::Ulaw)),
            max_packets: None,
        })?;
        return Ok((sink, stream));
    }
    bail!("no free even port in 32000..32768 for the pacer's keep-alive stream")
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
    // Keep the pacer busy between pages: a stream added to a pacer that had nothing to send for
    // more than two periods (40 ms) is never scheduled (`Schedule::next_deadline` searches from
    // a cursor that stops moving while the schedule is empty), and every page here starts
    // seconds after the pacer. One stream of 50 packets/s to a sink socket of ours avoids that.
    let (_sink, _keepalive) = keepalive(&pacer)?;
    let journal_dir = std::env::temp_dir().join(format!("page_reach-{}", std::process::id()));
    let mut results = Vec::new();
    let mut fleet_start_ms = BTreeMap::new();
    for &n in &args.phones {
        let mut cfg = SimConfig::uniform(n, "CP-8851");
        cfg.host = args.first;
        cfg.addressing = Addressing::Addresses { port: 0 };
        cfg.fault_rules.push(FaultRule {
            share: Some(1.0),
            count: None,
            phones: Vec::new(),
            faults: Faults {
                latency: Some(latency),
                ..Faults::default()
            },
        });
        let t = Instant::now();
        let fleet = runtime
            .block_on(Fleet::start(cfg))
            .context("starting the fleet")?;
        fleet_start_ms.insert(n, t.elapsed().as_secs_f64() * 1e3);
        let names: Vec<String> = fleet.phones().into_iter().map(|p| p.name).collect();
        let cx = Ctx {
            args: &args,
            runtime: &runtime,
            fleet: &fleet,
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
                             receiving {} ms (polled {} ms), floor {:.0} ms, peak fds {}, \
                             failures {:?}",
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
                            r.failures
                        );
                    }
                    results.push(r);
                    std::thread::sleep(Duration::from_millis(args.settle_ms));
                }
            }
        }
        drop(cx);
        runtime.block_on(fleet.shutdown());
    }
    let _ = std::fs::remove_dir_all(&journal_dir);
    let medians = rows(&results);
    if args.json {
        let out = Output {
            latency: latency.to_string(),
            fd_limit: fd_limit(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            fleet_start_ms,
            runs: &results,
            medians,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "latency {latency}, RLIMIT_NOFILE {:?}, fleet start {:?} ms",
            fd_limit(),
            fleet_start_ms
        );
        print_table(&medians);
    }
    Ok(())
}
