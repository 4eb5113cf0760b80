//! The emulator's UDP shell: receive tasks that feed [`super::analysis`], transmit tasks that
//! send the phone's "microphone".
//!
//! [`RxHandle::open`] binds a socket synchronously (so "address in use" comes back to the
//! caller), then a tokio task on the current runtime receives datagrams, drops a seeded share of
//! them on purpose (the dropped-RTP fault), feeds the rest to an [`RxAnalysis`] with
//! [`mono_now_ns`] as the arrival time, gives up on missing packets when the stream goes quiet,
//! and writes what the phone heard to a WAV file through [`Recorder`]. [`TxHandle::open`] sends
//! 20 ms G.711 µ-law packets of a tone, silence or looped samples, as a phone's `RTPTx` does.
//!
//! State shared between a task and its handle sits behind a std mutex held only for the few
//! microseconds of one datagram (or one snapshot). Stopping aborts the task, which never blocks
//! the runtime; the WAV is finished by the caller of [`RxHandle::stop`] (or on drop).
//!
//! This is the emulator's own light receive path, one task per stream; the engine's paced
//! sending lives in [`crate::rtp::pacer`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::analysis::{RxAnalysis, RxSummary};
use crate::audio::{FRAME_SAMPLES, Frame, Source, Tone};
use crate::g711::Law;
use crate::rtp::pacer::mono_now_ns;
use crate::rtp::packet::{PACKET_LEN, PAYLOAD_LEN, Packetizer};
use crate::rtp::recorder::{RecordFormat, Recorder};
use crate::rtp::sender::DSCP_EF;

/// When no datagram has arrived for this long, packets still waiting for a missing predecessor
/// are played out (longer than the receiver's 100 ms reorder wait, so one call releases all).
const IDLE_RELEASE: Duration = Duration::from_millis(120);
/// Largest datagram read; anything longer is truncated (and then counted as malformed or as a
/// bad payload size by the analysis).
const RECV_BUFFER: usize = 2048;
/// Packet interval of the transmit task.
const TX_INTERVAL: Duration = Duration::from_millis(20);

/// What to receive.
#[derive(Debug, Clone)]
pub struct RxSpec {
    /// Address and port to bind: the phone's own address (unicast), or the group (multicast).
    pub bind: SocketAddrV4,
    /// Multicast group to join on `interface`, if any.
    pub group: Option<Ipv4Addr>,
    /// Interface address for the multicast join.
    pub interface: Ipv4Addr,
    /// Share of packets (0.0..=1.0) dropped on purpose before analysis (a fault).
    pub drop_share: f64,
    /// Seed for which packets are dropped.
    pub seed: u64,
    /// Write what was heard to this WAV file (8 kHz mono 16-bit).
    pub wav: Option<PathBuf>,
    /// Light receiving: note the first packet's arrival, then only count datagrams, draining the
    /// socket twice a second (no decoding, analysis or WAV; `drop_share` still applies).
    pub light: bool,
    /// The stream is G.722 (startMedia with that codec): the recording is a 16 kHz WAV.
    pub wideband: bool,
}

/// A receive stream's state as the phone reports it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RxSnapshot {
    /// The analysis counters.
    #[serde(flatten)]
    pub summary: RxSummary,
    /// Where the packets came from (the first sender seen).
    pub remote: Option<SocketAddr>,
    /// The bound address.
    pub local: Option<SocketAddr>,
    /// Packets dropped on purpose (the `drop_share` fault).
    pub dropped_on_purpose: u64,
    /// Milliseconds from opening the socket to the first packet.
    pub first_packet_after_ms: Option<f64>,
    /// Whether the receive task is still running.
    pub active: bool,
}

/// A running receive stream. Dropping it stops the task (and finishes the WAV).
pub struct RxHandle {
    shared: Arc<Mutex<RxShared>>,
    task: Option<JoinHandle<()>>,
    local: Option<SocketAddr>,
    opened_ns: u64,
    /// Light multicast: the process's shared receiver of the group, and its counts when this
    /// phone joined.
    group: Option<GroupSub>,
}

/// One phone's place on a shared group receiver.
struct GroupSub {
    rx: Arc<GroupRx>,
    start_count: u64,
    start_octets: u64,
}

/// Key of a shared group receiver: group, port, interface.
type GroupKey = (Ipv4Addr, u16, Ipv4Addr);

/// Light multicast receivers of this process, one per group, port and interface, shared by every
/// emulated phone listening there. Real phones each get their copy on their own network card; on
/// one host, 10,000 sockets bound to one group and port make every bind scan all the others
/// (`udp_lib_lport_inuse2`, under the port's lock) and every packet be cloned 10,000 times in
/// the sender's context, which is the emulator measuring itself.
static GROUPS: Mutex<Vec<(GroupKey, std::sync::Weak<GroupRx>)>> = Mutex::new(Vec::new());

/// A shared light receiver: one socket and task, counts, and the phones waiting for their
/// first packet.
struct GroupRx {
    state: Arc<Mutex<GroupState>>,
    task: JoinHandle<()>,
    local: Option<SocketAddr>,
}

#[derive(Default)]
struct GroupState {
    count: u64,
    octets: u64,
    /// Phones that joined since the last datagram: the next one is their first packet.
    pending: Vec<std::sync::Weak<Mutex<RxShared>>>,
}

impl Drop for GroupRx {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GroupRx {
    /// The process's receiver for `key`, opened (bound on `bind`, joined) when there is none.
    fn get_or_open(
        key: GroupKey,
        bind: SocketAddrV4,
        runtime: &tokio::runtime::Handle,
    ) -> io::Result<Arc<GroupRx>> {
        let mut groups = lock(&GROUPS);
        groups.retain(|(_, w)| w.strong_count() > 0);
        if let Some(rx) = groups
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(rx);
        }
        let (group, _, interface) = key;
        let (socket, local) = bind_socket(bind, true, Some(group), interface, runtime)?;
        let state = Arc::new(Mutex::new(GroupState::default()));
        let task = runtime.spawn(receive_group(socket, Arc::clone(&state)));
        let rx = Arc::new(GroupRx { state, task, local });
        groups.push((key, Arc::downgrade(&rx)));
        Ok(rx)
    }
}

/// The shared group receiver's task: count every datagram, and give the phones that joined
/// since the previous one their first packet's time.
async fn receive_group(socket: UdpSocket, state: Arc<Mutex<GroupState>>) {
    let mut buf = [0u8; RECV_BUFFER];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) if e.kind() != io::ErrorKind::Other => continue,
            Err(e) => {
                tracing::warn!(error = %e, "shared group receive socket failed");
                return;
            }
        };
        let now = mono_now_ns();
        // Never hold the group's lock while taking a phone's: snapshots lock the other way.
        let pending = {
            let mut g = lock(&state);
            g.count += 1;
            g.octets += n.saturating_sub(12) as u64;
            std::mem::take(&mut g.pending)
        };
        for phone in pending.iter().filter_map(std::sync::Weak::upgrade) {
            let mut s = lock(&phone);
            s.first_packet_ns.get_or_insert(now);
            s.remote.get_or_insert(from);
        }
    }
}

/// What the receive task and its handle share.
struct RxShared {
    analysis: RxAnalysis,
    recorder: Option<Recorder>,
    remote: Option<SocketAddr>,
    dropped_on_purpose: u64,
    first_packet_ns: Option<u64>,
    /// Light receiving: datagrams and their bytes (beyond the 12-byte header) counted.
    light_packets: u64,
    light_octets: u64,
    active: bool,
    /// Set once by the handle: the task must not touch the analysis or the file any more.
    stopped: bool,
}

impl RxShared {
    fn new(recorder: Option<Recorder>) -> Arc<Mutex<RxShared>> {
        Arc::new(Mutex::new(RxShared {
            analysis: RxAnalysis::new(),
            recorder,
            remote: None,
            dropped_on_purpose: 0,
            first_packet_ns: None,
            light_packets: 0,
            light_octets: 0,
            active: true,
            stopped: false,
        }))
    }
}

/// Bind a receive socket on `bind` (with `SO_REUSEADDR` when `reuse`), join `group` on
/// `interface` if given, and hand it to `runtime`'s reactor; also returns the bound address.
fn bind_socket(
    bind: SocketAddrV4,
    reuse: bool,
    group: Option<Ipv4Addr>,
    interface: Ipv4Addr,
    runtime: &tokio::runtime::Handle,
) -> io::Result<(UdpSocket, Option<SocketAddr>)> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if reuse {
        socket.set_reuse_address(true)?;
    }
    socket.bind(&SocketAddr::V4(bind).into())?;
    if let Some(group) = group {
        socket.join_multicast_v4(&group, &interface)?;
    }
    socket.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = socket.into();
    let local = std_socket.local_addr().ok();
    let _enter = runtime.enter();
    Ok((UdpSocket::from_std(std_socket)?, local))
}

impl fmt::Debug for RxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxHandle")
            .field("local", &self.local)
            .field("active", &lock(&self.shared).active)
            .finish_non_exhaustive()
    }
}

impl RxHandle {
    /// Bind (errors such as "address in use" come back here) and start receiving on the current
    /// tokio runtime.
    ///
    /// A multicast bind (a `group` is given, or `bind` is a group address) sets `SO_REUSEADDR`,
    /// so several emulated phones in one process can each receive a copy of the same group and
    /// port; a unicast bind does not, so a port already taken is refused.
    pub fn open(spec: RxSpec) -> io::Result<RxHandle> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        if spec.light
            && let Some(group) = spec.group
        {
            return Self::open_shared(spec, group, &runtime);
        }
        let reuse = spec.group.is_some() || spec.bind.ip().is_multicast();
        let (socket, local) = bind_socket(spec.bind, reuse, spec.group, spec.interface, &runtime)?;
        let recorder = match &spec.wav {
            Some(path) => {
                let rec = if spec.wideband {
                    Recorder::create_g722(path)
                } else {
                    Recorder::create(path, RecordFormat::Wav)
                };
                Some(rec.map_err(io::Error::other)?)
            }
            None => None,
        };
        let shared = RxShared::new(recorder);
        let opened_ns = mono_now_ns();
        let drop_share = if spec.drop_share.is_nan() {
            0.0
        } else {
            spec.drop_share.clamp(0.0, 1.0)
        };
        let dice = DropDice::new(spec.seed, drop_share);
        let task = if spec.light {
            runtime.spawn(receive_light(socket, Arc::clone(&shared), dice))
        } else {
            runtime.spawn(receive(socket, Arc::clone(&shared), dice))
        };
        Ok(RxHandle {
            shared,
            task: Some(task),
            local,
            opened_ns,
            group: None,
        })
    }

    /// Light multicast: subscribe to the process's shared receiver of the group. `drop_share`
    /// 1.0 (the `no_multicast` fault) never hears anything; other shares are not applied in this
    /// mode (every phone counts every packet of the group).
    fn open_shared(
        spec: RxSpec,
        group: Ipv4Addr,
        runtime: &tokio::runtime::Handle,
    ) -> io::Result<RxHandle> {
        let rx = GroupRx::get_or_open(
            (group, spec.bind.port(), spec.interface),
            spec.bind,
            runtime,
        )?;
        let shared = RxShared::new(None);
        let opened_ns = mono_now_ns();
        let deaf = spec.drop_share >= 1.0;
        let (start_count, start_octets) = {
            let mut g = lock(&rx.state);
            if !deaf {
                g.pending.push(Arc::downgrade(&shared));
            }
            (g.count, g.octets)
        };
        let local = rx.local;
        Ok(RxHandle {
            shared,
            task: None,
            local,
            opened_ns,
            group: (!deaf).then_some(GroupSub {
                rx,
                start_count,
                start_octets,
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The counters now.
    pub fn snapshot(&self) -> RxSnapshot {
        self.snapshot_of(&lock(&self.shared))
    }

    /// Stop receiving, finish the WAV, return the final counters.
    pub fn stop(mut self) -> RxSnapshot {
        self.shutdown()
    }

    fn shutdown(&mut self) -> RxSnapshot {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let mut guard = lock(&self.shared);
        let s = &mut *guard;
        if let Some(sub) = self.group.take() {
            // Keep what the shared receiver counted for this phone, then leave it.
            let g = lock(&sub.rx.state);
            s.light_packets += g.count - sub.start_count;
            s.light_octets += g.octets - sub.start_octets;
        }
        if !s.stopped {
            s.stopped = true;
            s.active = false;
            let recorder = &mut s.recorder;
            s.analysis.flush(|e| record(recorder, e));
            if let Some(rec) = s.recorder.take() {
                let path = rec.path().to_path_buf();
                if let Err(e) = rec.finish() {
                    tracing::warn!(path = %path.display(), error = %e, "finishing the phone's recording failed");
                }
            }
        }
        self.snapshot_of(&guard)
    }

    fn snapshot_of(&self, s: &RxShared) -> RxSnapshot {
        let mut summary = s.analysis.summary();
        summary.packets += s.light_packets;
        summary.octets += s.light_octets;
        // Light receiving does not analyse: the first arrival is the one the task noted.
        summary.first_packet_ns = summary.first_packet_ns.or(s.first_packet_ns);
        if let Some(sub) = &self.group {
            let g = lock(&sub.rx.state);
            summary.packets += g.count - sub.start_count;
            summary.octets += g.octets - sub.start_octets;
        }
        RxSnapshot {
            summary,
            remote: s.remote,
            local: self.local,
            dropped_on_purpose: s.dropped_on_purpose,
            first_packet_after_ms: s
                .first_packet_ns
                .map(|t| t.saturating_sub(self.opened_ns) as f64 / 1e6),
            active: s.active,
        }
    }
}

impl Drop for RxHandle {
    fn drop(&mut self) {
        // After `stop` the task is gone already; nothing left to finish.
        if self.task.is_some() {
            self.shutdown();
        }
    }
}

/// Lock, and carry on after a panic elsewhere: the counters stay meaningful.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Write one receiver event to the recording, if any; on failure stop recording (with a warning)
/// rather than stop receiving.
fn record(recorder: &mut Option<Recorder>, event: &crate::rtp::receiver::ReceiverEvent) {
    if let Some(rec) = recorder
        && let Err(e) = rec.record(event)
    {
        tracing::warn!(error = %e, "the phone's recording stopped");
        *recorder = None;
    }
}

/// Marks the stream inactive when the task ends, however it ends (error or abort).
struct ActiveGuard<T: HasActive>(Arc<Mutex<T>>);

trait HasActive {
    fn set_inactive(&mut self);
}

impl HasActive for RxShared {
    fn set_inactive(&mut self) {
        self.active = false;
    }
}

impl HasActive for TxShared {
    fn set_inactive(&mut self) {
        self.active = false;
    }
}

impl<T: HasActive> Drop for ActiveGuard<T> {
    fn drop(&mut self) {
        lock(&self.0).set_inactive();
    }
}

/// Which datagrams the drop fault takes: splitmix64 on the seed, so a run is repeatable.
#[derive(Debug, Clone)]
struct DropDice {
    state: u64,
    share: f64,
}

impl DropDice {
    fn new(seed: u64, share: f64) -> Self {
        DropDice { state: seed, share }
    }

    /// Whether the next datagram is dropped.
    fn roll(&mut self) -> bool {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < self.share
    }
}

/// The receive task: datagrams in, analysis and recording updated, until aborted.
async fn receive(socket: UdpSocket, shared: Arc<Mutex<RxShared>>, mut dice: DropDice) {
    let _active = ActiveGuard(Arc::clone(&shared));
    let mut buf = [0u8; RECV_BUFFER];
    let mut idle_deadline: Option<tokio::time::Instant> = None;
    loop {
        let idle = async {
            match idle_deadline {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let (n, from) = match r {
                    Ok(x) => x,
                    // ICMP errors reported on the socket, signals: keep listening.
                    Err(e) if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                    ) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "phone receive socket failed");
                        return;
                    }
                };
                let now = mono_now_ns();
                let mut guard = lock(&shared);
                let s = &mut *guard;
                if s.stopped {
                    return;
                }
                if dice.roll() {
                    s.dropped_on_purpose += 1;
                    continue;
                }
                s.remote.get_or_insert(from);
                s.first_packet_ns.get_or_insert(now);
                let recorder = &mut s.recorder;
                s.analysis.on_datagram_events(now, &buf[..n], |e| record(recorder, e));
                drop(guard);
                idle_deadline = Some(tokio::time::Instant::now() + IDLE_RELEASE);
            }
            () = idle => {
                idle_deadline = None;
                let mut guard = lock(&shared);
                let s = &mut *guard;
                if s.stopped {
                    return;
                }
                let recorder = &mut s.recorder;
                s.analysis.on_timeout(mono_now_ns(), |e| record(recorder, e));
            }
        }
    }
}

/// The light receive task: the first datagram's arrival time, then counts only. After the first
/// datagram it sleeps 500 ms at a time and drains what queued meanwhile (25 packets of a 20 ms
/// stream, well inside the socket buffer), so a fleet of thousands wakes 2 times a second per
/// phone instead of 50.
async fn receive_light(socket: UdpSocket, shared: Arc<Mutex<RxShared>>, mut dice: DropDice) {
    let _active = ActiveGuard(Arc::clone(&shared));
    let mut buf = [0u8; RECV_BUFFER];
    let mut count = |n: usize, from: SocketAddr, now: u64| -> bool {
        let mut s = lock(&shared);
        if s.stopped {
            return false;
        }
        if dice.roll() {
            s.dropped_on_purpose += 1;
            return true;
        }
        s.remote.get_or_insert(from);
        s.first_packet_ns.get_or_insert(now);
        s.light_packets += 1;
        s.light_octets += n.saturating_sub(12) as u64;
        true
    };
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if !count(n, from, mono_now_ns()) {
                    return;
                }
                break;
            }
            Err(e) if e.kind() != io::ErrorKind::Other => continue,
            Err(e) => {
                tracing::warn!(error = %e, "phone receive socket failed");
                return;
            }
        }
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        loop {
            match socket.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    if !count(n, from, mono_now_ns()) {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
    }
}

/// The phone's "microphone".
#[derive(Debug, Clone)]
pub enum MicSignal {
    /// Digital silence (µ-law 0xFF).
    Silence,
    /// A sine tone.
    Tone {
        /// Frequency, Hz.
        hz: f64,
        /// Level, dBFS (e.g. -12).
        dbfs: f64,
    },
    /// 8 kHz mono samples, looped (load files with `crate::audio`).
    Samples(Arc<[i16]>),
}

/// What to transmit.
#[derive(Debug, Clone)]
pub struct TxSpec {
    /// Destination (unicast or multicast).
    pub dest: SocketAddrV4,
    /// Local address to send from (the phone's address).
    pub source: Ipv4Addr,
    /// Interface for multicast sends (loopback in tests), TTL 1.
    pub interface: Ipv4Addr,
    /// What to send.
    pub mic: MicSignal,
}

/// A transmit stream's counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TxSnapshot {
    /// Destination.
    pub dest: Option<SocketAddr>,
    /// Packets sent.
    pub packets: u64,
    /// Payload octets sent.
    pub octets: u64,
    /// Whether the transmit task is still running.
    pub active: bool,
}

/// A running transmit stream (G.711 µ-law, 20 ms packets). Dropping it stops the task.
pub struct TxHandle {
    shared: Arc<Mutex<TxShared>>,
    task: Option<JoinHandle<()>>,
    dest: SocketAddr,
    local: Option<SocketAddr>,
}

/// What the transmit task and its handle share.
#[derive(Debug, Default)]
struct TxShared {
    packets: u64,
    octets: u64,
    active: bool,
    /// Set by `stop`: no packet leaves after it, so the final counters are exact.
    stopped: bool,
}

impl fmt::Debug for TxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxHandle")
            .field("dest", &self.dest)
            .field("local", &self.local)
            .field("shared", &*lock(&self.shared))
            .finish_non_exhaustive()
    }
}

impl TxHandle {
    /// Open the socket and start sending on the current tokio runtime.
    ///
    /// The socket is bound to `spec.source` on an ephemeral port; to a multicast destination it
    /// sends through `spec.interface` (`IP_MULTICAST_IF`) with TTL 1 and loopback on, so members
    /// on this host hear it. Packets are 172 bytes, marked DSCP EF; the first leaves at once.
    pub fn open(spec: TxSpec) -> io::Result<TxHandle> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        // Marking is best effort: an unprivileged container may refuse it.
        let _ = socket.set_tos_v4(u32::from(DSCP_EF) << 2);
        if spec.dest.ip().is_multicast() {
            socket.set_multicast_if_v4(&spec.interface)?;
            socket.set_multicast_ttl_v4(1)?;
            socket.set_multicast_loop_v4(true)?;
        }
        socket.bind(&SocketAddr::V4(SocketAddrV4::new(spec.source, 0)).into())?;
        socket.set_nonblocking(true)?;
        let std_socket: std::net::UdpSocket = socket.into();
        let local = std_socket.local_addr().ok();
        let socket = {
            let _enter = runtime.enter();
            UdpSocket::from_std(std_socket)?
        };
        let shared = Arc::new(Mutex::new(TxShared {
            active: true,
            ..TxShared::default()
        }));
        let dest = SocketAddr::V4(spec.dest);
        let task = runtime.spawn(transmit(
            socket,
            dest,
            Mic::new(spec.mic),
            Arc::clone(&shared),
        ));
        Ok(TxHandle {
            shared,
            task: Some(task),
            dest,
            local,
        })
    }

    /// The address packets leave from.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The counters now.
    pub fn snapshot(&self) -> TxSnapshot {
        let s = lock(&self.shared);
        TxSnapshot {
            dest: Some(self.dest),
            packets: s.packets,
            octets: s.octets,
            active: s.active,
        }
    }

    /// Stop sending, return the final counters.
    pub fn stop(mut self) -> TxSnapshot {
        self.shutdown();
        self.snapshot()
    }

    fn shutdown(&mut self) {
        lock(&self.shared).stopped = true;
        if let Some(task) = self.task.take() {
            task.abort();
        }
        lock(&self.shared).active = false;
    }
}

impl Drop for TxHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The microphone's state: where the next frame comes from.
enum Mic {
    Silence,
    Tone(Tone),
    Samples { samples: Arc<[i16]>, pos: usize },
}

impl Mic {
    fn new(source: MicSignal) -> Self {
        match source {
            MicSignal::Silence => Mic::Silence,
            MicSignal::Tone { hz, dbfs } => Mic::Tone(Tone::new(hz as f32, dbfs as f32)),
            MicSignal::Samples(samples) if samples.is_empty() => Mic::Silence,
            MicSignal::Samples(samples) => Mic::Samples { samples, pos: 0 },
        }
    }

    /// The next 20 ms into `packet`'s payload, then the header.
    fn next_packet(&mut self, packetizer: &mut Packetizer, packet: &mut [u8; PACKET_LEN]) {
        let mut frame: Frame = [0; FRAME_SAMPLES];
        match self {
            Mic::Silence => {
                Packetizer::payload_mut(packet).fill(packetizer.law().silence());
                packetizer.write_header(packet);
                return;
            }
            Mic::Tone(tone) => {
                tone.next_frame(&mut frame);
            }
            Mic::Samples { samples, pos } => {
                for s in frame.iter_mut() {
                    *s = samples[*pos];
                    *pos = (*pos + 1) % samples.len();
                }
            }
        }
        packetizer.packetize_pcm(&frame, packet);
    }
}

/// The transmit task: one packet every 20 ms until aborted.
async fn transmit(socket: UdpSocket, dest: SocketAddr, mut mic: Mic, shared: Arc<Mutex<TxShared>>) {
    let _active = ActiveGuard(Arc::clone(&shared));
    let mut packetizer = Packetizer::random(Law::Ulaw);
    let mut packet = [0u8; PACKET_LEN];
    let mut interval = tokio::time::interval(TX_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        interval.tick().await;
        mic.next_packet(&mut packetizer, &mut packet);
        // Sent and counted under the lock `stop` takes: what `stop` reports is what left.
        let mut s = lock(&shared);
        if s.stopped {
            return;
        }
        match socket.try_send_to(&packet, dest) {
            Ok(_) => {
                s.packets += 1;
                s.octets += PAYLOAD_LEN as u64;
            }
            // A full buffer or an unreachable destination loses this packet, as on a network.
            Err(e) => tracing::debug!(error = %e, %dest, "phone transmit failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

    /// A unicast port free right now on 127.0.0.1 (the OS picks it).
    fn free_port() -> u16 {
        let s = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
        s.local_addr().unwrap().port()
    }

    fn rx_spec(bind: SocketAddrV4) -> RxSpec {
        RxSpec {
            bind,
            group: None,
            interface: LOCALHOST,
            drop_share: 0.0,
            seed: 1,
            wav: None,
            light: false,
            wideband: false,
        }
    }

    fn tone_to(dest: SocketAddrV4, hz: f64) -> TxHandle {
        TxHandle::open(TxSpec {
            dest,
            source: LOCALHOST,
            interface: LOCALHOST,
            mic: MicSignal::Tone { hz, dbfs: -12.0 },
        })
        .unwrap()
    }

    /// A group in 239.255/16 and an even port, both random, that two members can join.
    fn open_group_members(n: usize) -> (SocketAddrV4, Vec<RxHandle>) {
        for _ in 0..20 {
            let group = Ipv4Addr::new(239, 255, rand::random(), rand::random::<u8>().max(1));
            let port = 20480 + 2 * (rand::random::<u16>() % 6000);
            let bind = SocketAddrV4::new(group, port);
            let members: io::Result<Vec<_>> = (0..n)
                .map(|_| {
                    RxHandle::open(RxSpec {
                        group: Some(group),
                        ..rx_spec(bind)
                    })
                })
                .collect();
            if let Ok(members) = members {
                return (bind, members);
            }
        }
        panic!("no free multicast group/port found");
    }

    /// Frequency from zero crossings (enough for a WAV check; the analysis has its own).
    fn zero_crossing_hz(samples: &[i16]) -> f64 {
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        crossings as f64 / 2.0 / (samples.len() as f64 / 8000.0)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unicast_tone_is_heard_measured_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("heard.wav");
        let bind = SocketAddrV4::new(LOCALHOST, free_port());
        let rx = RxHandle::open(RxSpec {
            wav: Some(wav.clone()),
            light: false,
            ..rx_spec(bind)
        })
        .unwrap();
        assert_eq!(rx.local_addr(), Some(SocketAddr::V4(bind)));
        tokio::time::sleep(Duration::from_millis(30)).await;
        let tx = tone_to(bind, 800.0);
        let tx_local = tx.local_addr().unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let sent = tx.stop();
        assert!(!sent.active);
        assert!(sent.packets >= 20, "{sent:?}");
        assert_eq!(sent.octets, sent.packets * 160);
        assert_eq!(sent.dest, Some(SocketAddr::V4(bind)));
        tokio::time::sleep(Duration::from_millis(200)).await;

        let snap = rx.snapshot();
        assert!(snap.active);
        let s = &snap.summary;
        assert!(s.packets >= 20, "{snap:?}");
        assert_eq!(s.packets, sent.packets, "loopback loses nothing");
        assert_eq!((s.lost, s.sequence_errors, s.timestamp_errors), (0, 0, 0));
        assert_eq!(s.codec.as_deref(), Some("G.711u"));
        let f = s.frequency_hz.unwrap();
        assert!((f - 800.0).abs() < 5.0, "{f}");
        assert!(
            (s.level_dbfs.unwrap() - (-12.0 - 3.01)).abs() < 0.5,
            "{snap:?}"
        );
        assert_eq!(snap.remote, Some(tx_local));
        assert_eq!(snap.local, Some(SocketAddr::V4(bind)));
        let after = snap.first_packet_after_ms.unwrap();
        assert!((0.0..600.0).contains(&after), "{after}");

        let last = rx.stop();
        assert!(!last.active);
        assert_eq!(last.summary.packets, s.packets);

        let reader = hound::WavReader::open(&wav).unwrap();
        assert_eq!(reader.spec().sample_rate, 8000);
        assert_eq!(reader.spec().channels, 1);
        let samples: Vec<i16> = reader.into_samples().collect::<Result<_, _>>().unwrap();
        assert_eq!(samples.len() as u64, last.summary.decoded_samples);
        assert!(samples.len() >= 2400, "{} samples", samples.len());
        let hz = zero_crossing_hz(&samples);
        assert!((hz - 800.0).abs() < 10.0, "{hz}");
    }

    /// Wait until `done` holds, or 5 s (then the test's own assertions report what is missing).
    async fn settle(done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !done() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn multicast_group_reaches_every_member_in_the_process() {
        let (group, members) = open_group_members(2);
        let tx = tone_to(group, 1000.0);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = tx.stop();
        for m in members {
            // Under load the receive task may still be reading the last datagrams.
            settle(|| m.snapshot().summary.packets >= sent.packets).await;
            let snap = m.stop();
            assert!(snap.summary.packets >= 15, "{snap:?}");
            assert_eq!(snap.summary.packets, sent.packets, "{snap:?}");
            let f = snap.summary.frequency_hz.unwrap();
            assert!((f - 1000.0).abs() < 5.0, "{f}");
            assert!(snap.remote.is_some());
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn light_receiving_counts_every_packet_and_decodes_none() {
        let bind = SocketAddrV4::new(LOCALHOST, free_port());
        let rx = RxHandle::open(RxSpec {
            light: true,
            ..rx_spec(bind)
        })
        .unwrap();
        let tx = tone_to(bind, 500.0);
        tokio::time::sleep(Duration::from_millis(700)).await;
        let sent = tx.stop();
        assert!(sent.packets >= 10, "{sent:?}");
        // The light task drains every 500 ms: wait for it to have counted them all.
        settle(|| rx.snapshot().summary.packets >= sent.packets).await;
        let snap = rx.stop();
        assert_eq!(snap.summary.packets, sent.packets, "{snap:?}");
        assert_eq!(snap.summary.octets, 160 * sent.packets);
        assert!(snap.first_packet_after_ms.is_some());
        assert!(snap.remote.is_some());
        // Nothing was decoded: no level, no frequency.
        assert_eq!(snap.summary.level_dbfs, None, "{snap:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn light_group_members_share_one_socket_and_each_count_from_their_join() {
        let group = Ipv4Addr::new(239, 255, rand::random(), rand::random::<u8>().max(1));
        let port = 20480 + 2 * (rand::random::<u16>() % 6000);
        let bind = SocketAddrV4::new(group, port);
        let light = |deaf: bool| {
            RxHandle::open(RxSpec {
                group: Some(group),
                light: true,
                drop_share: if deaf { 1.0 } else { 0.0 },
                ..rx_spec(bind)
            })
            .unwrap()
        };
        let a = light(false);
        let deaf = light(true);
        let tx = tone_to(bind, 500.0);
        settle(|| a.snapshot().summary.packets >= 10).await;
        // A phone joining later counts from its join, and gets a first packet of its own.
        let b = light(false);
        settle(|| b.snapshot().summary.packets >= 5).await;
        let sent = tx.stop();
        settle(|| a.snapshot().summary.packets >= sent.packets).await;
        let (a, b, deaf) = (a.stop(), b.stop(), deaf.stop());
        assert_eq!(a.summary.packets, sent.packets, "{a:?}");
        assert!(
            b.summary.packets >= 5 && b.summary.packets < a.summary.packets,
            "{b:?}"
        );
        assert_eq!(a.summary.octets, 160 * a.summary.packets);
        assert!(a.first_packet_after_ms.is_some() && b.first_packet_after_ms.is_some());
        assert_eq!(
            deaf.summary.packets, 0,
            "no_multicast hears nothing: {deaf:?}"
        );
        assert_eq!(deaf.first_packet_after_ms, None);
        // One socket for the group in this process.
        assert_eq!(a.local, b.local);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn drop_share_drops_a_seeded_half() {
        let bind = SocketAddrV4::new(LOCALHOST, free_port());
        let rx = RxHandle::open(RxSpec {
            drop_share: 0.5,
            seed: 42,
            ..rx_spec(bind)
        })
        .unwrap();
        let tx = tone_to(bind, 500.0);
        tokio::time::sleep(Duration::from_millis(700)).await;
        let sent = tx.stop();
        settle(|| {
            let s = rx.snapshot();
            s.dropped_on_purpose + s.summary.packets >= sent.packets
        })
        .await;
        let snap = rx.stop();
        let arrived = snap.dropped_on_purpose + snap.summary.packets;
        assert_eq!(arrived, sent.packets, "{snap:?}");
        // The same seed draws the same decisions.
        let mut dice = DropDice::new(42, 0.5);
        let expected = (0..arrived).filter(|_| dice.roll()).count() as u64;
        assert_eq!(snap.dropped_on_purpose, expected);
        let share = expected as f64 / arrived as f64;
        assert!((0.25..=0.75).contains(&share), "{share}");
        // The phone sees the dropped ones as lost (all but any at the very end).
        assert!(
            snap.summary.lost + 1 >= snap.dropped_on_purpose.saturating_sub(1),
            "{snap:?}"
        );
    }

    #[test]
    fn drop_dice_edges() {
        let mut never = DropDice::new(7, 0.0);
        let mut always = DropDice::new(7, 1.0);
        assert!((0..1000).all(|_| !never.roll() && always.roll()));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unicast_port_in_use_is_refused() {
        let taken = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
        let Ok(SocketAddr::V4(addr)) = taken.local_addr() else {
            panic!("IPv4 bind");
        };
        let err = RxHandle::open(rx_spec(addr)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        // A second emulated phone on the same unicast address is refused as well.
        let port = free_port();
        let first = RxHandle::open(rx_spec(SocketAddrV4::new(LOCALHOST, port))).unwrap();
        assert!(RxHandle::open(rx_spec(SocketAddrV4::new(LOCALHOST, port))).is_err());
        drop(first);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dropping_handles_stops_tasks_and_frees_the_port() {
        let bind = SocketAddrV4::new(LOCALHOST, free_port());
        let rx = RxHandle::open(rx_spec(bind)).unwrap();
        let tx = TxHandle::open(TxSpec {
            dest: bind,
            source: LOCALHOST,
            interface: LOCALHOST,
            mic: MicSignal::Samples((0..80).map(|i| if i < 40 { 8000 } else { -8000 }).collect()),
        })
        .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let shared = Arc::clone(&tx.shared);
        drop(tx);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let snap = rx.snapshot();
        assert!(snap.summary.packets >= 8, "{snap:?}");
        // An 80-sample square wave is 100 Hz.
        let f = snap.summary.frequency_hz.unwrap();
        assert!((f - 100.0).abs() < 5.0, "{f}");
        assert!(!lock(&shared).active);
        drop(rx);
        tokio::time::sleep(Duration::from_millis(100)).await;
        std::net::UdpSocket::bind(bind).expect("the dropped receiver released its port");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn silence_mic_sends_quiet_packets() {
        let bind = SocketAddrV4::new(LOCALHOST, free_port());
        let rx = RxHandle::open(rx_spec(bind)).unwrap();
        let tx = TxHandle::open(TxSpec {
            dest: bind,
            source: LOCALHOST,
            interface: LOCALHOST,
            mic: MicSignal::Silence,
        })
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.stop();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let snap = rx.stop();
        assert!(snap.summary.packets >= 5, "{snap:?}");
        assert_eq!(snap.summary.frequency_hz, None);
        assert_eq!(
            snap.summary.peak_dbfs,
            Some(super::super::analysis::LEVEL_FLOOR_DBFS)
        );
    }
}
