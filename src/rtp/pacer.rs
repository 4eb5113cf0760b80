//! The media clock: one OS thread that sends every stream's packets on time.
//!
//! The thread sleeps on a `timerfd` armed with the absolute `CLOCK_MONOTONIC` deadline of a
//! [`Schedule`] (never "sleep 20 ms"), wakes, and for each due lane produces the
//! stream's packet (once per packet number, shared by all its lanes) and hands it to the stream's
//! [`Sender`]. It is a thread and not a tokio task because tokio's timer has millisecond
//! granularity and wakes late. One pacer serves every stream of the process.
//!
//! It is fed through a bounded channel (add, remove, shut down) plus an `eventfd` that interrupts
//! its sleep, so it wakes only when something is due or asked of it (50 times a second for one
//! stream) and a new stream starts at the next 1 ms slot. The send loop does no allocation and
//! takes no lock. Lateness (how long after its
//! deadline each lane actually went out) is counted into a histogram and a maximum, per pacer and
//! per stream, never logged per packet.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::packet::{PACKET_LEN, PAYLOAD_LEN, Packetizer};
use super::port::Destination;
use super::schedule::{LANE_SIZE, PERIOD_NS, Schedule};
use super::sender::{Sender, SenderOptions};
use crate::audio::{Frame, Source};
use crate::g711::Law;

/// Upper bounds (ns) of the lateness histogram's buckets; the last bucket is open.
pub const LATENESS_BUCKETS_NS: [u64; 8] = [
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    u64::MAX,
];

/// Where a stream's 20 ms payloads come from. Called on the pacer thread: must not block.
pub trait PayloadSource: Send {
    /// Write the next 160 G.711 bytes; `false` when the stream has ended.
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool;
}

/// A sound encoded once, before the first packet (files): sending is a copy.
pub struct EncodedClip {
    bytes: Arc<[u8]>,
    pos: usize,
    looped: bool,
}

impl EncodedClip {
    /// Encode `samples` with `law`, padding the last frame with silence.
    pub fn new(samples: &[i16], law: Law, looped: bool) -> Self {
        let frames = samples.len().div_ceil(PAYLOAD_LEN);
        let mut bytes = vec![law.silence(); frames * PAYLOAD_LEN];
        law.encode_into(samples, &mut bytes[..samples.len()]);
        EncodedClip {
            bytes: bytes.into(),
            pos: 0,
            looped,
        }
    }

    /// Payloads encoded by the caller (e.g. [`crate::rtp::g722::G722Encoder::encode_clip`]):
    /// `bytes` is consecutive 160-byte payloads; a partial last one is dropped.
    pub fn from_payloads(mut bytes: Vec<u8>, looped: bool) -> Self {
        bytes.truncate(bytes.len() / PAYLOAD_LEN * PAYLOAD_LEN);
        EncodedClip {
            bytes: bytes.into(),
            pos: 0,
            looped,
        }
    }

    /// Length in 20 ms packets.
    pub fn packets(&self) -> usize {
        self.bytes.len() / PAYLOAD_LEN
    }
}

impl PayloadSource for EncodedClip {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if self.pos >= self.bytes.len() {
            if !self.looped || self.bytes.is_empty() {
                return false;
            }
            self.pos = 0;
        }
        out.copy_from_slice(&self.bytes[self.pos..self.pos + PAYLOAD_LEN]);
        self.pos += PAYLOAD_LEN;
        true
    }
}

/// A live or generated [`Source`], encoded frame by frame as it is sent.
pub struct Encode<S> {
    source: S,
    law: Law,
    frame: Frame,
}

impl<S: Source> Encode<S> {
    /// Encode `source` with `law`.
    pub fn new(source: S, law: Law) -> Self {
        Encode {
            source,
            law,
            frame: [0; 160],
        }
    }
}

impl<S: Source> PayloadSource for Encode<S> {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if !self.source.next_frame(&mut self.frame) {
            return false;
        }
        self.law.encode_into(&self.frame, out);
        true
    }
}

/// Everything needed to start a stream.
pub struct StreamSpec {
    /// Where the packets go (one copy each).
    pub destinations: Vec<Destination>,
    /// Socket options (TTL, interface, DSCP).
    pub sender: SenderOptions,
    /// Header state; [`Packetizer::random`] unless a test wants fixed values.
    pub packetizer: Packetizer,
    /// The audio.
    pub payload: Box<dyn PayloadSource>,
    /// End after this many packets (a `--duration`), if set.
    pub max_packets: Option<u64>,
}

/// Counters of one stream, shared between the pacer thread and whoever watches the stream.
#[derive(Debug, Default)]
pub struct StreamCounters {
    packets: AtomicU64,
    datagrams: AtomicU64,
    send_errors: AtomicU64,
    max_lateness_ns: AtomicU64,
    first_send_ns: AtomicU64,
    skipped: AtomicU64,
    ended: Mutex<bool>,
    ended_cv: Condvar,
}

impl StreamCounters {
    /// A snapshot.
    pub fn snapshot(&self) -> SendStats {
        SendStats {
            packets: self.packets.load(Ordering::Relaxed),
            datagrams: self.datagrams.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
            max_lateness_ns: self.max_lateness_ns.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            ended: *self.ended.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Block until the stream has ended, or `timeout` passes; returns whether it ended.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let guard = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        match timeout {
            None => *self
                .ended_cv
                .wait_while(guard, |ended| !*ended)
                .unwrap_or_else(|e| e.into_inner()),
            Some(t) => {
                *self
                    .ended_cv
                    .wait_timeout_while(guard, t, |ended| !*ended)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        }
    }

    fn set_ended(&self) {
        *self.ended.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.ended_cv.notify_all();
    }
}

/// A snapshot of one stream's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SendStats {
    /// RTP packets produced (each copied to every destination).
    pub packets: u64,
    /// Datagrams handed to the kernel (packets × destinations, less failures).
    pub datagrams: u64,
    /// Datagrams the kernel refused.
    pub send_errors: u64,
    /// Worst delay between a lane's deadline and its send call, in nanoseconds.
    pub max_lateness_ns: u64,
    /// Packets skipped because the pacer fell more than 100 ms behind.
    pub skipped: u64,
    /// Whether the stream has ended (source done, stopped, or pacer shut down).
    pub ended: bool,
}

/// The caller's end of a running stream.
pub struct StreamHandle {
    id: u32,
    ssrc: u32,
    added_ns: u64,
    counters: Arc<StreamCounters>,
    control: Control,
}

impl StreamHandle {
    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Stop the stream (no more packets after the pacer's next wake-up).
    pub fn stop(&self) {
        // A closed channel means the pacer is gone, and with it the stream.
        let _ = self.control.send(Command::Remove(self.id));
    }

    /// Block until the stream has ended, or `timeout` passes; returns whether it ended.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.counters.wait(timeout)
    }

    /// Current counters.
    pub fn stats(&self) -> SendStats {
        self.counters.snapshot()
    }

    /// Time from [`Pacer::add`] to the first packet leaving, once it has.
    pub fn time_to_first_packet(&self) -> Option<Duration> {
        self.first_packet_ns()
            .map(|t| Duration::from_nanos(t.saturating_sub(self.added_ns)))
    }

    /// The `CLOCK_MONOTONIC` instant (ns) the first packet left, once it has.
    pub fn first_packet_ns(&self) -> Option<u64> {
        match self.counters.first_send_ns.load(Ordering::Relaxed) {
            0 => None,
            t => Some(t),
        }
    }
}

/// A snapshot of the pacer's own counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PacerStats {
    /// Wake-ups at which something was due.
    pub wakeups: u64,
    /// Wake-ups per lateness bucket (see [`LATENESS_BUCKETS_NS`]).
    pub lateness_histogram: [u64; 8],
    /// Worst wake-up lateness seen, in nanoseconds.
    pub max_lateness_ns: u64,
    /// Whole periods skipped after stalls.
    pub skipped_ticks: u64,
    /// Sum of the wake-up latenesses, in nanoseconds (with `wakeups`, the mean).
    pub lateness_sum_ns: u64,
    /// Datagrams handed to the kernel, all streams.
    pub datagrams: u64,
    /// Whether the thread runs with real-time (SCHED_FIFO) priority.
    pub realtime: bool,
}

#[derive(Debug, Default)]
struct PacerShared {
    wakeups: AtomicU64,
    histogram: [AtomicU64; 8],
    max_lateness_ns: AtomicU64,
    skipped_ticks: AtomicU64,
    lateness_sum_ns: AtomicU64,
    datagrams: AtomicU64,
    realtime: AtomicBool,
}

enum Command {
    Add(Box<Stream>),
    Remove(u32),
    Shutdown,
}

/// The way into the pacer thread: a command, then a poke on its eventfd so it looks now.
#[derive(Clone)]
struct Control {
    tx: SyncSender<Command>,
    wake: Arc<OwnedFd>,
}

impl Control {
    fn send(&self, cmd: Command) -> Result<(), ()> {
        self.tx.send(cmd).map_err(|_| ())?;
        let one = 1u64.to_ne_bytes();
        // SAFETY: writing 8 bytes from a valid buffer to an eventfd we own. A full counter
        // (EAGAIN) still leaves the thread awake, which is all we need.
        unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), 8) };
        Ok(())
    }
}

static NEXT_STREAM_ID: AtomicU32 = AtomicU32::new(1);

/// A stream ready to be paced: its socket is open, its packet buffer allocated.
pub struct Stream {
    id: u32,
    packetizer: Packetizer,
    payload: Box<dyn PayloadSource>,
    sender: Sender,
    packet: [u8; PACKET_LEN],
    /// Packet number currently in `packet` (None before the first).
    current: Option<u64>,
    max_packets: Option<u64>,
    ended: bool,
    counters: Arc<StreamCounters>,
}

impl Stream {
    /// Open the stream's socket. Socket errors come back here, before anything is scheduled.
    pub fn open(spec: StreamSpec) -> std::io::Result<Stream> {
        Ok(Stream {
            id: NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed),
            sender: Sender::new(&spec.destinations, &spec.sender)?,
            packetizer: spec.packetizer,
            payload: spec.payload,
            packet: [0; PACKET_LEN],
            current: None,
            max_packets: spec.max_packets,
            ended: false,
            counters: Arc::new(StreamCounters::default()),
        })
    }

    /// The stream's id within the process.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its counters, to watch it after handing it to a pacer.
    pub fn counters(&self) -> Arc<StreamCounters> {
        self.counters.clone()
    }

    /// Make `packet` hold packet number `n`, pulling payloads as needed. False when the stream
    /// has ended.
    fn produce(&mut self, n: u64) -> bool {
        if self.ended {
            return false;
        }
        if self.current == Some(n) {
            return true;
        }
        if self.max_packets.is_some_and(|max| n >= max) {
            self.ended = true;
            return false;
        }
        // Packets skipped over by the schedule still consume audio, so the stream stays in
        // step with the wall clock; their time shows up as a timestamp jump.
        let behind = n.saturating_sub(self.current.map_or(0, |c| c + 1));
        for _ in 0..behind {
            if !self
                .payload
                .next_payload(Packetizer::payload_mut(&mut self.packet))
            {
                self.ended = true;
                return false;
            }
        }
        if behind > 0 {
            self.packetizer.skip_frames(behind as u32);
            self.counters.skipped.fetch_add(behind, Ordering::Relaxed);
        }
        if !self
            .payload
            .next_payload(Packetizer::payload_mut(&mut self.packet))
        {
            self.ended = true;
            return false;
        }
        self.packetizer.write_header(&mut self.packet);
        self.current = Some(n);
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// The pacer without its thread: the schedule and the streams, and the work of one wake-up.
/// [`Pacer`]'s thread drives it; it is public so benchmarks can time a tick.
pub struct PacerCore {
    epoch_ns: u64,
    schedule: Schedule,
    streams: HashMap<u32, Box<Stream>>,
    ended: Vec<u32>,
    datagrams: u64,
}

impl PacerCore {
    /// A core whose time 0 is the `CLOCK_MONOTONIC` instant `epoch_ns`.
    pub fn new(epoch_ns: u64) -> Self {
        PacerCore {
            epoch_ns,
            schedule: Schedule::new(),
            streams: HashMap::new(),
            ended: Vec::new(),
            datagrams: 0,
        }
    }

    /// Schedule `stream` from `now` (ns since epoch); returns its first deadline.
    pub fn add(&mut self, now: u64, stream: Box<Stream>) -> u64 {
        let first = self
            .schedule
            .add(now, stream.id, stream.sender.destinations());
        // Sized here so ending streams in the send loop never allocates.
        self.ended.reserve(self.streams.len() + 1);
        self.streams.insert(stream.id, stream);
        first
    }

    /// Stop and forget a stream.
    pub fn remove(&mut self, id: u32) {
        self.schedule.remove(id);
        if let Some(s) = self.streams.remove(&id) {
            s.counters.set_ended();
        }
    }

    /// Whether no stream is scheduled.
    pub fn is_empty(&self) -> bool {
        self.schedule.is_empty()
    }

    /// The next deadline, ns since epoch.
    pub fn next_deadline(&self) -> Option<u64> {
        self.schedule.next_deadline()
    }

    /// Send every lane due at `now` (ns since epoch). Returns the ticks skipped after a stall.
    pub fn run_due(&mut self, now: u64) -> u64 {
        let epoch = self.epoch_ns;
        let streams = &mut self.streams;
        let ended = &mut self.ended;
        let sent = &mut self.datagrams;
        let skipped = self.schedule.due(now, |due| {
            let Some(stream) = streams.get_mut(&due.stream) else {
                return;
            };
            if !stream.produce(due.packet) {
                if ended.last() != Some(&due.stream) {
                    ended.push(due.stream);
                }
                return;
            }
            let lane = due.lane as usize * LANE_SIZE;
            let at = mono_now_ns() - epoch;
            let out = stream.sender.send(&stream.packet, lane..lane + LANE_SIZE);
            let c = &stream.counters;
            if c.first_send_ns.load(Ordering::Relaxed) == 0 {
                c.first_send_ns.store(epoch + at, Ordering::Relaxed);
            }
            c.datagrams.fetch_add(out.sent as u64, Ordering::Relaxed);
            *sent += out.sent as u64;
            if out.failed > 0 {
                c.send_errors
                    .fetch_add(out.failed as u64, Ordering::Relaxed);
            }
            c.max_lateness_ns
                .fetch_max(at.saturating_sub(due.deadline), Ordering::Relaxed);
        });
        while let Some(id) = self.ended.pop() {
            self.remove(id);
        }
        skipped
    }

    fn finish_all(&mut self) {
        for (_, s) in self.streams.drain() {
            s.counters.set_ended();
        }
    }
}

/// Options of the pacer thread.
#[derive(Debug, Clone, Copy)]
pub struct PacerOptions {
    /// Try SCHED_FIFO priority for the thread (needs CAP_SYS_NICE; silently not used otherwise).
    pub realtime: bool,
    /// Streams that can be queued for adding/removal before `add` blocks.
    pub channel_capacity: usize,
}

impl Default for PacerOptions {
    fn default() -> Self {
        PacerOptions {
            realtime: true,
            channel_capacity: 4096,
        }
    }
}

/// The process's media clock. Dropping it stops every stream.
pub struct Pacer {
    control: Control,
    epoch_ns: u64,
    shared: Arc<PacerShared>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Start the pacer thread.
    pub fn start(opts: PacerOptions) -> std::io::Result<Pacer> {
        let (tx, rx) = sync_channel(opts.channel_capacity.max(1));
        let wake = Arc::new(new_fd(unsafe {
            // SAFETY: plain syscall; the result is checked by new_fd.
            libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)
        })?);
        let timer = new_fd(unsafe {
            // SAFETY: plain syscall; the result is checked by new_fd.
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })?;
        let thread_wake = wake.clone();
        let shared = Arc::new(PacerShared::default());
        let epoch_ns = mono_now_ns();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("zonecast-pacer".into())
            .spawn(move || {
                prepare_thread(opts.realtime, &thread_shared);
                run(
                    rx,
                    &thread_wake,
                    &timer,
                    PacerCore::new(epoch_ns),
                    &thread_shared,
                )
            })?;
        Ok(Pacer {
            control: Control { tx, wake },
            epoch_ns,
            shared,
            thread: Some(thread),
        })
    }

    /// Start a stream. The socket is opened here, so socket errors come back to the caller.
    pub fn add(&self, spec: StreamSpec) -> std::io::Result<StreamHandle> {
        let ssrc = spec.packetizer.ssrc();
        let stream = Box::new(Stream::open(spec)?);
        let (id, counters) = (stream.id, stream.counters());
        let added_ns = mono_now_ns();
        self.control
            .send(Command::Add(stream))
            .map_err(|_| std::io::Error::other("the pacer thread has stopped"))?;
        Ok(StreamHandle {
            id,
            ssrc,
            added_ns,
            counters,
            control: self.control.clone(),
        })
    }

    /// Current counters.
    pub fn stats(&self) -> PacerStats {
        let s = &self.shared;
        PacerStats {
            wakeups: s.wakeups.load(Ordering::Relaxed),
            lateness_histogram: std::array::from_fn(|i| s.histogram[i].load(Ordering::Relaxed)),
            max_lateness_ns: s.max_lateness_ns.load(Ordering::Relaxed),
            skipped_ticks: s.skipped_ticks.load(Ordering::Relaxed),
            lateness_sum_ns: s.lateness_sum_ns.load(Ordering::Relaxed),
            datagrams: s.datagrams.load(Ordering::Relaxed),
            realtime: s.realtime.load(Ordering::Relaxed),
        }
    }

    /// Nanoseconds since the pacer started, on its clock.
    pub fn elapsed_ns(&self) -> u64 {
        mono_now_ns() - self.epoch_ns
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        // Blocks only while the channel is full, which the running thread drains.
        let _ = self.control.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn prepare_thread(realtime: bool, shared: &PacerShared) {
    // SAFETY: plain syscalls on the calling thread with valid arguments.
    unsafe {
        // Default timer slack (50 µs) would be added to every wake-up.
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        if realtime {
            let param = libc::sched_param { sched_priority: 10 };
            if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 {
                shared.realtime.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn run(
    rx: Receiver<Command>,
    wake: &OwnedFd,
    timer: &OwnedFd,
    mut core: PacerCore,
    shared: &PacerShared,
) {
    let epoch_ns = core.epoch_ns;
    loop {
        loop {
            match rx.try_recv() {
                Ok(Command::Add(s)) => {
                    core.add(mono_now_ns() - epoch_ns, s);
                }
                Ok(Command::Remove(id)) => core.remove(id),
                Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => {
                    return core.finish_all();
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        let now = mono_now_ns() - epoch_ns;
        match core.next_deadline() {
            Some(deadline) if deadline <= now => {
                record_lateness(shared, now - deadline);
                let skipped = core.run_due(now);
                shared.datagrams.store(core.datagrams, Ordering::Relaxed);
                if skipped > 0 {
                    shared.skipped_ticks.fetch_add(skipped, Ordering::Relaxed);
                }
            }
            // Sleep until the deadline, or until a command arrives (then look again).
            Some(deadline) => sleep_until(timer, wake, Some(epoch_ns + deadline)),
            None => sleep_until(timer, wake, None),
        }
    }
}

fn record_lateness(shared: &PacerShared, late: u64) {
    shared.wakeups.fetch_add(1, Ordering::Relaxed);
    let bucket = LATENESS_BUCKETS_NS
        .iter()
        .position(|&b| late < b)
        .unwrap_or(LATENESS_BUCKETS_NS.len() - 1);
    shared.histogram[bucket].fetch_add(1, Ordering::Relaxed);
    shared.max_lateness_ns.fetch_max(late, Ordering::Relaxed);
    shared.lateness_sum_ns.fetch_add(late, Ordering::Relaxed);
}

/// `CLOCK_MONOTONIC` in nanoseconds (the clock `clock_nanosleep` sleeps on).
pub fn mono_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sleep until the absolute `CLOCK_MONOTONIC` instant `t_ns` (forever when `None`), or until
/// the eventfd `wake` is written; consume whichever fired.
fn sleep_until(timer: &OwnedFd, wake: &OwnedFd, t_ns: Option<u64>) {
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            // 0/0 disarms the timer: only a command can wake us.
            tv_sec: t_ns.map_or(0, |t| (t / 1_000_000_000) as libc::time_t),
            tv_nsec: t_ns.map_or(0, |t| (t % 1_000_000_000) as libc::c_long),
        },
    };
    let mut fds = [
        libc::pollfd {
            fd: timer.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let mut buf = [0u8; 8];
    // SAFETY: valid fds we own, valid pointers to stack buffers of the right sizes. Reads are
    // non-blocking: one that finds nothing (EAGAIN) is harmless.
    unsafe {
        libc::timerfd_settime(
            timer.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME,
            &spec,
            std::ptr::null_mut(),
        );
        libc::poll(fds.as_mut_ptr(), 2, -1);
        for f in &fds {
            if f.revents != 0 {
                libc::read(f.fd, buf.as_mut_ptr().cast(), 8);
            }
        }
    }
}

fn new_fd(fd: libc::c_int) -> std::io::Result<OwnedFd> {
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor just returned by the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Nanoseconds in one packet period (re-exported for callers that count packets per second).
pub const PERIOD: Duration = Duration::from_nanos(PERIOD_NS);
