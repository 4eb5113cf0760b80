//! Soak test: the engine's pacer runs 1,000 streams for a bounded time (an hour by default) and
//! must come out of it as it went in.
//!
//! ```text
//! make soak                                          # 60 minutes
//! cargo run --release --example soak -- --minutes 2  # a quick look
//! ```
//!
//! Each stream is a looping G.711 tone with its own SSRC, sequence and socket, sent by the
//! process's one [`Pacer`] to its own destination `127.0.(i/250).(i%250+1):PORT` (all of 127/8
//! is loopback on Linux). One socket bound to `0.0.0.0:PORT` in a thread of this process
//! receives all of them with `recvmmsg`, tells them apart by `IP_PKTINFO`, and only counts: per
//! destination, datagrams and holes in the sequence numbers, so its memory is fixed before the
//! first packet and does not grow with time.
//!
//! Every minute it samples the process's RSS (`VmRSS`) and every stream's drift; at the end it
//! checks, and exits 1 when any fails:
//! - pacing drift <= 1 packet: each stream's packets sent against the time since its first
//!   packet divided by 20 ms, on `CLOCK_MONOTONIC` (the counters are read between two clock
//!   readings, a stream may be anywhere between the two, and a packet is due 2 ms after its
//!   deadline);
//! - RSS flat: every sample after the first minute (warm-up) within 5 % of the first;
//! - no loss: every datagram a stream handed to the kernel arrived, no sequence holes, no send
//!   errors, no pacer ticks skipped, no drops on the receiving socket.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use socket2::{Domain, Protocol, Socket, Type};
use zonecast::g711::Law;
use zonecast::rtp::pacer::{PERIOD, mono_now_ns};
use zonecast::rtp::{
    Destination, EncodedClip, Pacer, PacerOptions, Packetizer, RtpPort, SenderOptions,
    StreamHandle, StreamSpec,
};

/// Soak the pacer: N streams for a bounded time; pacing drift, RSS and loss checked at the end.
#[derive(Debug, Parser)]
struct Args {
    /// How long, in minutes (1..=60).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=60))]
    minutes: u64,
    /// Streams (1..=10000), each to its own loopback address.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10000))]
    streams: u64,
    /// The receiving port (the next free even port is taken if it is busy).
    #[arg(long, default_value_t = 26000)]
    port: u16,
    /// Drift allowed, in packets.
    #[arg(long, default_value_t = 1)]
    max_drift: u64,
    /// RSS change allowed after the first minute, in percent.
    #[arg(long, default_value_t = 5.0)]
    max_rss_change: f64,
}

const PERIOD_NS: u64 = PERIOD.as_nanos() as u64;

// The fan-out benchmark's receiver: its destination addresses and its recvmmsg batch.
#[path = "fanout/recv.rs"]
#[allow(dead_code, clippy::all)]
mod recv;
use recv::{Batch, SO_RCVBUFFORCE, SO_RXQ_OVFL, dest_addr, dest_index, setsockopt_int};

fn main() -> ExitCode {
    match soak(&Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One second of a 1 kHz tone: 8 whole cycles, so it loops without a click.
fn tone() -> Vec<i16> {
    (0..8000)
        .map(|i| {
            let t = f64::from(i) / 8000.0;
            (12_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
        })
        .collect()
}

/// The process's resident set, from /proc/self/status, in kB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// One socket per stream: lift the soft limit on open files to the hard one.
fn raise_nofile() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

// ---- the counting receiver -------------------------------------------------------------------

/// What arrived for one destination.
#[derive(Debug, Default, Clone, Copy)]
struct Counted {
    datagrams: u64,
    last_seq: Option<u16>,
    /// Sequence numbers skipped over (lost, or still to come out of order).
    holes: u64,
    /// Datagrams at or behind the last sequence number (duplicates, reordering).
    behind: u64,
}

#[derive(Debug, Default)]
struct Totals {
    datagrams: AtomicU64,
    /// `SO_RXQ_OVFL`: datagrams the kernel dropped on the receiving socket.
    rx_dropped: AtomicU64,
    foreign: AtomicU64,
}

struct Receiver {
    stop: Arc<AtomicBool>,
    totals: Arc<Totals>,
    thread: std::thread::JoinHandle<io::Result<Vec<Counted>>>,
    port: u16,
}

impl Receiver {
    fn start(port: u16, n: usize) -> Result<Receiver> {
        let mut bound = None;
        for p in (port & !1..).step_by(2).take(100) {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, p));
            if s.bind(&addr.into()).is_ok() {
                bound = Some((s, p));
                break;
            }
        }
        let (socket, port) = bound.context("no free even UDP port for the receiver")?;
        let fd = socket.as_raw_fd();
        // 16 MB: a second of all streams, so a receiver descheduled on a busy machine does not
        // turn into loss (SO_RCVBUFFORCE needs CAP_NET_ADMIN; else capped by rmem_max).
        if setsockopt_int(fd, libc::SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20).is_err() {
            let _ = socket.set_recv_buffer_size(16 << 20);
        }
        setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1).context("IP_PKTINFO")?;
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, SO_RXQ_OVFL, 1);
        let stop = Arc::new(AtomicBool::new(false));
        let totals = Arc::new(Totals::default());
        let (s, t) = (stop.clone(), totals.clone());
        let thread = std::thread::Builder::new()
            .name("soak-recv".into())
            .spawn(move || read_loop(&socket, n, &s, &t))?;
        Ok(Receiver {
            stop,
            totals,
            thread,
            port,
        })
    }

    fn finish(self) -> Result<Vec<Counted>> {
        self.stop.store(true, Ordering::Release);
        match self.thread.join() {
            Ok(r) => Ok(r?),
            Err(_) => bail!("the receiver thread panicked"),
        }
    }
}

/// Drain the socket every millisecond (a receiver asleep in `recvmmsg` would make the sender
/// pay for waking it on every loopback datagram) and count; everything is allocated up front.
fn read_loop(
    socket: &Socket,
    n: usize,
    stop: &AtomicBool,
    totals: &Totals,
) -> io::Result<Vec<Counted>> {
    let fd = socket.as_raw_fd();
    let mut counted = vec![Counted::default(); n];
    let mut batch = Batch::new();
    loop {
        let got = match batch.recv(fd, libc::MSG_DONTWAIT) {
            Ok(got) => got,
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock => {
                    if stop.load(Ordering::Acquire) {
                        return Ok(counted);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            },
        };
        let mut arrived = 0;
        for i in 0..got {
            let (b, meta) = batch.datagram(i);
            if let Some(d) = meta.dropped {
                totals.rx_dropped.fetch_max(u64::from(d), Ordering::Relaxed);
            }
            let Some(idx) = meta.dst.and_then(|a| dest_index(a, n)) else {
                totals.foreign.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if b.len() < 12 || b[0] >> 6 != 2 {
                totals.foreign.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let seq = u16::from_be_bytes([b[2], b[3]]);
            let c = &mut counted[idx];
            c.datagrams += 1;
            arrived += 1;
            match c.last_seq {
                None => c.last_seq = Some(seq),
                Some(last) => {
                    let ahead = seq.wrapping_sub(last);
                    if ahead == 0 || ahead >= 0x8000 {
                        c.behind += 1;
                    } else {
                        c.holes += u64::from(ahead - 1);
                        c.last_seq = Some(seq);
                    }
                }
            }
        }
        totals.datagrams.fetch_add(arrived, Ordering::Relaxed);
    }
}

// ---- the soak --------------------------------------------------------------------------------

struct Running {
    handle: StreamHandle,
    /// `CLOCK_MONOTONIC` just before `Pacer::add`: no deadline of the stream comes before it.
    added_ns: u64,
}

/// How late a packet may leave and still count as on time: the pacer's wake-up lateness (p99
/// about 0.2 ms on a quiet machine). Without it, the few streams whose deadline falls in the
/// instant of reading would always show one packet of "drift".
const ON_TIME_NS: u64 = 2_000_000;

/// Each listed stream's drift in packets at this instant: negative behind, positive ahead.
fn drifts(streams: &[Running], which: &[usize]) -> Vec<i64> {
    let before = mono_now_ns();
    let stats: Vec<_> = which.iter().map(|&i| streams[i].handle.stats()).collect();
    let after = mono_now_ns();
    which
        .iter()
        .zip(&stats)
        .map(|(&i, st)| {
            let s = &streams[i];
            let Some(first_ns) = s.handle.first_packet_ns() else {
                // Not started at all: as far behind as the whole run.
                return -(((after - s.added_ns) / PERIOD_NS) as i64);
            };
            // The first deadline is somewhere between the add and the first packet leaving
            // (which may itself have been late): packets due by an instant are at least those
            // counted from the first send, and at most those counted from the add. (The first
            // send's own instant, not the add plus time_to_first_packet: that is measured from
            // after the stream's socket opened, which under load has taken milliseconds and
            // read as a stream one packet behind for the rest of the run.)
            let due = |t: u64, from: u64| t.saturating_sub(from) / PERIOD_NS + 1;
            let lo = due(before.saturating_sub(ON_TIME_NS), first_ns);
            let hi = due(after, s.added_ns);
            if st.packets < lo {
                -((lo - st.packets) as i64)
            } else {
                st.packets.saturating_sub(hi) as i64
            }
        })
        .collect()
}

/// The worst drift over all streams: (drift at a first reading, drift that was still there
/// 30 ms later, the stream). A packet the pacer is sending late at the instant of reading (it
/// shares two busy cores) shows in the first figure only; a stream that has really slipped or
/// run ahead shows in both.
fn worst_drift(streams: &[Running]) -> (u64, u64, usize) {
    let all: Vec<usize> = (0..streams.len()).collect();
    let first = drifts(streams, &all);
    let off: Vec<usize> = all.into_iter().filter(|&i| first[i] != 0).collect();
    let transient = first.iter().map(|d| d.unsigned_abs()).max().unwrap_or(0);
    if off.is_empty() {
        return (0, 0, 0);
    }
    std::thread::sleep(Duration::from_millis(30));
    let again = drifts(streams, &off);
    let (lasting, i) = off
        .iter()
        .zip(&again)
        .map(|(&i, &d)| {
            // Still off the same way: the smaller of the two readings.
            let same = d.signum() == first[i].signum();
            let kept = if same { d.abs().min(first[i].abs()) } else { 0 };
            (kept.unsigned_abs(), i)
        })
        .max()
        .unwrap_or((0, 0));
    (transient, lasting, i)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn soak(a: &Args) -> Result<bool> {
    let n = a.streams as usize;
    raise_nofile();
    let rx = Receiver::start(a.port, n)?;
    let port = RtpPort::new(rx.port).context("receiver port")?;
    let pacer = Pacer::start(PacerOptions::default()).context("starting the pacer")?;
    let clip = tone();
    let started = mono_now_ns();
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let added_ns = mono_now_ns();
        let handle = pacer
            .add(StreamSpec {
                destinations: vec![Destination::new(dest_addr(i), port)],
                sender: SenderOptions::default(),
                packetizer: Packetizer::random(Law::Ulaw),
                payload: Box::new(EncodedClip::new(&clip, Law::Ulaw, true)),
                max_packets: None,
            })
            .with_context(|| format!("stream {i}"))?;
        streams.push(Running { handle, added_ns });
    }
    println!(
        "soak: {n} streams to 127.0.x.y:{} for {} min, pid {}",
        rx.port,
        a.minutes,
        std::process::id()
    );
    println!(
        "minute     RSS MB  datagrams received  drift: at reading / lasting (packets)  \
         pacer max late ms"
    );
    let mut rss = Vec::new();
    let mut worst = (0, 0, 0);
    for minute in 1..=a.minutes {
        let at = started + minute * 60_000_000_000;
        while mono_now_ns() < at {
            std::thread::sleep(Duration::from_nanos((at - mono_now_ns()).min(500_000_000)));
        }
        let kb = rss_kb();
        rss.push(kb);
        let drift = worst_drift(&streams);
        if drift.1 > worst.1 {
            worst = (worst.0, drift.1, drift.2);
        }
        worst.0 = worst.0.max(drift.0);
        let p = pacer.stats();
        println!(
            "{minute:>6}  {:>9.1}  {:>18}  {:>23} / {:<13}  {:>17.2}",
            mb(kb),
            rx.totals.datagrams.load(Ordering::Relaxed),
            drift.0,
            drift.1,
            p.max_lateness_ns as f64 / 1e6
        );
    }
    let elapsed_s = (mono_now_ns() - started) as f64 / 1e9;
    for s in &streams {
        s.handle.stop();
    }
    for s in &streams {
        s.handle.wait(Some(Duration::from_secs(2)));
    }
    let pacer_stats = pacer.stats();
    let sent: Vec<_> = streams.iter().map(|s| s.handle.stats()).collect();
    // What is still in flight on loopback lands within milliseconds.
    std::thread::sleep(Duration::from_millis(300));
    let rx_dropped = rx.totals.rx_dropped.load(Ordering::Relaxed);
    let foreign = rx.totals.foreign.load(Ordering::Relaxed);
    let counted = rx.finish()?;

    let packets: u64 = sent.iter().map(|s| s.packets).sum();
    let datagrams: u64 = sent.iter().map(|s| s.datagrams).sum();
    let send_errors: u64 = sent.iter().map(|s| s.send_errors).sum();
    let skipped: u64 = sent.iter().map(|s| s.skipped).sum();
    let received: u64 = counted.iter().map(|c| c.datagrams).sum();
    let missing: u64 = sent
        .iter()
        .zip(&counted)
        .map(|(s, c)| s.datagrams.saturating_sub(c.datagrams))
        .sum();
    // Opening a stream's socket (inside Pacer::add) before the handle's own clock starts.
    let open_ms = streams
        .iter()
        .filter_map(|s| {
            let first = s.handle.first_packet_ns()?;
            let handle_added = first - s.handle.time_to_first_packet()?.as_nanos() as u64;
            Some(handle_added.saturating_sub(s.added_ns) as f64 / 1e6)
        })
        .fold(0.0f64, f64::max);
    let holes: u64 = counted.iter().map(|c| c.holes).sum();
    let behind: u64 = counted.iter().map(|c| c.behind).sum();
    let base = rss[0];
    let change = |kb: u64| (kb as f64 - base as f64) / base.max(1) as f64 * 100.0;
    let worst_rss = rss
        .iter()
        .map(|&kb| change(kb))
        .fold(0.0f64, |m, c| if c.abs() > m.abs() { c } else { m });

    println!();
    println!(
        "summary after {elapsed_s:.1} s ({} min), {n} streams:",
        a.minutes
    );
    println!(
        "  sent      {packets} packets = {datagrams} datagrams ({:.1} per stream per second), \
         {send_errors} send errors, {skipped} packets skipped by the pacer",
        packets as f64 / n as f64 / elapsed_s
    );
    println!(
        "  received  {received} datagrams: {missing} missing, {holes} sequence holes, \
         {behind} duplicate/reordered, {rx_dropped} dropped by the receiving socket, \
         {foreign} foreign"
    );
    println!(
        "  drift     worst {} packet(s) lasting 30 ms, {} at a single reading, over {} \
         per-minute checks of {n} streams",
        worst.1, worst.0, a.minutes
    );
    println!(
        "  pacer     {} wakeups, mean lateness {:.3} ms, max {:.2} ms, {} ticks skipped, \
         realtime priority: {}, longest stream open {open_ms:.2} ms",
        pacer_stats.wakeups,
        pacer_stats.lateness_sum_ns as f64 / pacer_stats.wakeups.max(1) as f64 / 1e6,
        pacer_stats.max_lateness_ns as f64 / 1e6,
        pacer_stats.skipped_ticks,
        pacer_stats.realtime
    );
    println!(
        "  RSS       {:.1} MB after the first minute; samples {}; worst change {worst_rss:+.2} %",
        mb(base),
        rss.iter()
            .map(|&kb| format!("{:.1}", mb(kb)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut failures = Vec::new();
    if worst.1 > a.max_drift {
        failures.push(format!(
            "drift {} packets > {} (stream {})",
            worst.1, a.max_drift, worst.2
        ));
    }
    if skipped > 0 || pacer_stats.skipped_ticks > 0 {
        failures.push(format!(
            "the pacer skipped {skipped} packets ({} ticks)",
            pacer_stats.skipped_ticks
        ));
    }
    if worst_rss.abs() > a.max_rss_change {
        failures.push(format!(
            "RSS changed {worst_rss:+.2} % after the first minute (> {} %)",
            a.max_rss_change
        ));
    }
    if missing > 0 || holes > 0 || send_errors > 0 || rx_dropped > 0 || behind > 0 {
        failures.push(format!(
            "loss: {missing} missing, {holes} holes, {behind} duplicate/reordered, \
             {send_errors} send errors, {rx_dropped} dropped by the receiving socket"
        ));
    }
    if received == 0 {
        failures.push("nothing arrived".into());
    }
    drop(pacer);
    if failures.is_empty() {
        println!(
            "PASS: drift <= {} packet, RSS flat within {} %, no loss",
            a.max_drift, a.max_rss_change
        );
        Ok(true)
    } else {
        for f in &failures {
            println!("FAIL: {f}");
        }
        Ok(false)
    }
}
